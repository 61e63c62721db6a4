"""deploy/fleet/'s Triton as issue 33 needs it, checked on the real files by the same code CI
runs (scripts/lint_fleet.py): a bad model cannot take the server down, the repository is filled
by `deepscreen export triton` into a writable volume, the workers' model is the one loaded, the
image matches deploy/Dockerfile.server's TensorRT source, and cited DEPLOY.md / FLEET.md
sections exist."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts import lint_fleet

ROOT = Path(__file__).resolve().parents[2]
IMAGE = "nvcr.io/nvidia/tritonserver:25.10-py3"


def test_fleet_lint_passes_on_the_real_files() -> None:
    out = subprocess.run([sys.executable, "scripts/lint_fleet.py"], cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Triton set up to survive a bad model" in out.stdout


def test_the_old_triton_command_is_refused() -> None:
    """The command the fleet shipped before: default model control, exit on a failed model,
    a read-only repository nothing fills."""
    old = ["tritonserver", "--model-repository=/models", "--strict-readiness=true"]
    found = lint_fleet.triton_problems("old", old, IMAGE, True, False, "deepscreen", IMAGE)
    assert any("--exit-on-error=false" in f for f in found)
    assert any("--model-control-mode=explicit" in f for f in found)
    assert any("--load-model=deepscreen" in f for f in found)
    assert any("read-only" in f for f in found) and any("export triton" in f for f in found)
    mismatch = lint_fleet.triton_problems(
        "x", ["--exit-on-error=false", "--model-control-mode=explicit", "--load-model=site_a"],
        "nvcr.io/nvidia/tritonserver:24.08-py3", False, True, "site_b", IMAGE)
    assert any("--load-model=site_b" in f for f in mismatch)
    assert any("24.08" in f and "TRITON_IMAGE" in f for f in mismatch)


def test_helpers_read_the_real_files() -> None:
    text = (ROOT / "deploy" / "Dockerfile.server").read_text()
    assert lint_fleet.dockerfile_triton_image(text) == IMAGE
    assert lint_fleet.remote_model("model:\n  remote_model: site_a\n") == "site_a"
    assert lint_fleet.remote_model("streams: {}\n") == "deepscreen"
    sections = lint_fleet.doc_sections((ROOT / "docs" / "DEPLOY.md").read_text())
    assert {"5", "5.1", "6"} <= sections
    assert "5.7" not in sections
    fleet = lint_fleet.doc_sections((ROOT / "docs" / "FLEET.md").read_text())
    assert {"1", "2"} <= fleet
    assert "2.7" not in fleet
