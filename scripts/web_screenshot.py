"""Screenshot the live page on a real run (for docs/img/): screen CLIP with --web in real time,
open the page in headless chromium after DELAY seconds, save the PNG.

    .venv/bin/python scripts/web_screenshot.py runs/demo/demo_clip.mp4 docs/img/live_page.png
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.engine.alerts.servers import free_port, wait_port  # noqa: E402
from tests.engine.web.browser import chromium  # noqa: E402


def main(clip: str, out: str, delay: float = 9.0) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "deepscreen_cli.app", "screen", clip,
                             "--realtime", "--loop", "--duration", str(delay + 15), "-q",
                             "--web", f"127.0.0.1:{port}"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    driver = chromium()
    try:
        wait_port(port, timeout=60)
        driver.get(f"http://127.0.0.1:{port}/")
        time.sleep(delay)
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(out)
    finally:
        driver.quit()
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], *(float(a) for a in sys.argv[3:]))
