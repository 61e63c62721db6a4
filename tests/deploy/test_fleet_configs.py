"""The fleet's and the service's config files, checked as CI checks them (scripts/lint_fleet.sh
runs `deepscreen config check`; scripts/lint_fleet.py the same checks on the ConfigMap)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts import lint_fleet

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "deploy" / "fleet" / "workers" / "worker-1.yaml"
ENV = lint_fleet.env_file(WORKER.with_suffix(".env"))


def test_config_check_passes_on_the_shipped_files() -> None:
    for config, env in ((WORKER, WORKER.with_suffix(".env")),
                        (ROOT / "deploy" / "deepscreen.yaml",
                         ROOT / "deploy" / "deepscreen.env.example")):
        out = subprocess.run([sys.executable, "-m", "deepscreen_cli.app", "config", "check",
                              str(config), "--env-file", str(env)],
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert out.returncode == 0, out.stderr


def test_a_broken_worker_config_is_reported_with_key_and_line() -> None:
    text = WORKER.read_text().replace("  port: 9108", "  port: 91080")
    problems: list[str] = []
    lint_fleet.check_worker(text, ENV, "worker-1.yaml", problems)
    line = text.splitlines().index("  port: 91080") + 1
    assert problems == [f"worker-1.yaml:{line}: metrics.port: Input should be less than or "
                        "equal to 65535"]


def test_a_worker_cut_off_from_the_fleet_is_reported() -> None:
    text = WORKER.read_text().replace("  mqtt: mqtt://mosquitto:1883/deepscreen\n", "")
    problems: list[str] = []
    lint_fleet.check_worker(text, ENV, "w", problems)
    assert problems == ["w: the worker publishes no alerts (alerts.mqtt)"]
    problems = []
    lint_fleet.check_worker(WORKER.read_text(), {}, "w", problems)  # secrets missing
    assert problems and all("is not set in the environment" in p for p in problems)
