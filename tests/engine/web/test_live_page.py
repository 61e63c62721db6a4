"""The live page in a real headless chromium, on a real `deepscreen screen` run."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.engine.alerts.servers import free_port, wait_for, wait_port
from tests.engine.web.browser import chromium
from tests.shared_data import shared_path

pytestmark = pytest.mark.slow


def test_page_shows_the_stream_and_follows_the_verdict(tmp_path) -> None:
    clip = shared_path("videos", "ffpp-c23", "fake-deepfakes", "519_515.mp4")
    driver = chromium()  # started first: the page must be up before the first verdict
    port = free_port()
    # A long minimum (120 classified frames, ~5 s of faces in real time) keeps the stream
    # "uncertain" long enough for the page to show it before the verdict changes.
    cmd = [sys.executable, "-m", "deepscreen_cli.app", "screen", str(clip), "--realtime",
           "--loop", "--duration", "25", "-q", "--window", "0", "--min-frames", "120",
           "--web", f"127.0.0.1:{port}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_port(port, timeout=60)
        driver.get(f"http://127.0.0.1:{port}/")
        css = '.stream[data-stream="519_515.mp4"]'

        def card_attr(name):
            cards = driver.find_elements("css selector", css)
            return cards[0].get_attribute(name) if cards else None

        assert wait_for(lambda: card_attr("data-verdict") is not None, timeout=20)
        first = card_attr("data-verdict")
        assert first == "uncertain", "the page came up after the first verdict"
        assert driver.find_element("id", "conn").get_attribute("data-state") == "live"
        # ... and updates live when the verdict changes
        assert wait_for(lambda: card_attr("data-verdict") in ("real", "fake"), timeout=40)
        card = driver.find_element("css selector", css)
        assert card.find_element("css selector", ".verdict").text.lower() in ("real", "fake")
        stats = card.find_element("css selector", ".stats").text
        assert "fps" in stats and "dropped" in stats
        # a track with its face crop, loaded from this server
        assert wait_for(lambda: driver.execute_script(
            "const i = document.querySelector('.track img');"
            "return !!i && i.complete && i.naturalWidth > 0;"), timeout=20)
        t0 = float(driver.execute_script(
            "return document.querySelector('.stream').dataset.verdict ? "
            "parseFloat(document.getElementById('run').textContent.split(' ')[1]) : 0"))
        time.sleep(2.5)
        t1 = float(driver.execute_script(
            "return parseFloat(document.getElementById('run').textContent.split(' ')[1])"))
        assert t1 > t0  # still receiving
        driver.save_screenshot(str(tmp_path / "live.png"))
        # nothing was requested from anywhere but this server
        urls = driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)")
        assert all(u.startswith(f"http://127.0.0.1:{port}/") for u in urls), urls
        proc.wait(timeout=60)
    finally:
        driver.quit()
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode in (0, 3, 4), proc.stderr.read()
