"""`deepscreen doctor` as a run-time start-up check (issue 33): `--require` fails the command
when a needed piece is missing (the Jetson image no longer imports TensorRT during `docker
build`, where the NVIDIA runtime's libraries are absent), and both ONNX Runtime packages
installed side by side are reported."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def _doctor(*args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "deepscreen_cli.app", "doctor", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_require_passes_and_fails_with_the_checks() -> None:
    report = {c["name"]: c for c in json.loads(_doctor("--json").stdout)}
    ok = _doctor("--json", "--require", "onnxruntime,opencv")
    assert ok.returncode == 0, ok.stderr
    out = _doctor("--json", "--require", "gpu,tensorrt")
    failing = [n for n in ("gpu", "tensorrt") if not report[n]["ok"]]
    assert out.returncode == (1 if failing else 0), out.stderr
    for name in failing:  # one line each, naming the check and why
        assert f"required check {name} failed: {report[name]['detail']}" in out.stderr
    assert json.loads(out.stdout)  # the report is still printed in full
    unknown = _doctor("--require", "warp-drive")
    assert unknown.returncode == 2 and "unknown check(s) warp-drive" in unknown.stderr


def test_both_onnxruntime_packages_installed_are_reported(tmp_path: Path) -> None:
    """A second ONNX Runtime distribution record, as pip writes it (a .dist-info folder), on
    the path of a fresh interpreter: the installed-distribution metadata then lists both."""
    info = tmp_path / "onnxruntime_gpu-1.23.2.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: onnxruntime-gpu\n"
                                   "Version: 1.23.2\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    checks = {c["name"]: c for c in json.loads(_doctor("--json", env=env).stdout)}
    both = checks["onnxruntime packages"]
    assert both["ok"] is False
    assert "onnxruntime-gpu 1.23.2" in both["detail"] and "overwrite each other" in both["detail"]
    alone = {c["name"]: c for c in json.loads(_doctor("--json").stdout)}["onnxruntime packages"]
    assert alone["ok"] is True and "onnxruntime-gpu" not in alone["detail"]
