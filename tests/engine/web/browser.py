"""A real headless browser for the page tests: Debian's chromium driven by selenium."""

from __future__ import annotations

import os
import shutil
import tempfile

import pytest

CHROMIUM = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
DRIVER = "/usr/bin/chromedriver"


def chromium():
    """A headless chromium session (skips when chromium, its driver or selenium is missing)."""
    webdriver = pytest.importorskip("selenium.webdriver")
    binary = next((b for b in CHROMIUM if os.path.exists(b)), None)
    if binary is None or not os.path.exists(DRIVER):
        pytest.skip("chromium / chromium-driver not installed (apt-get install chromium "
                    "chromium-driver)")
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="ds-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    # Root in CI needs --no-sandbox; the rest keeps a headless run quiet and offline.
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", f"--user-data-dir={profile}",
                "--window-size=1100,760"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(DRIVER), options=opts)
    driver.set_page_load_timeout(30)
    original_quit = driver.quit

    def quit_and_clean() -> None:
        try:
            original_quit()
        finally:
            shutil.rmtree(profile, ignore_errors=True)

    driver.quit = quit_and_clean
    return driver
