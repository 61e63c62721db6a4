"""No extra may pull in both ONNX Runtime packages (issue 33).

``onnxruntime`` and ``onnxruntime-gpu`` install into one ``onnxruntime/`` directory: with both,
whichever was installed last wins file by file and the CUDA provider can vanish without an
error. pyproject.toml is read with the real TOML parser and every requirement is evaluated with
``packaging``'s marker logic for x86-64 and aarch64 Linux, as pip would.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]
ORT = {"onnxruntime", "onnxruntime-gpu"}
MACHINES = ("x86_64", "aarch64")


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(reqs: list[str], extra: str, machine: str) -> set[str]:
    env = {"platform_machine": machine, "sys_platform": "linux", "extra": extra}
    return {Requirement(r).name.lower() for r in reqs
            if Requirement(r).marker is None or Requirement(r).marker.evaluate(env)}


@pytest.mark.parametrize("machine", MACHINES)
def test_no_extra_installs_both_onnxruntime_packages(machine: str) -> None:
    project = _project()
    base = project["dependencies"]
    extras = project["optional-dependencies"]
    for extra, reqs in {"": [], **extras}.items():
        names = _names(base, extra, machine) | _names(reqs, extra, machine)
        assert not ORT <= names, f"[{extra}] installs both {sorted(ORT)} on {machine}"
    everything = [r for reqs in extras.values() for r in reqs]
    assert not ORT <= (_names(base, "", machine) | _names(everything, "", machine)), (
        f"all extras together install both ONNX Runtime packages on {machine}")


def test_gpu_extra_is_x86_only() -> None:
    """PyPI has no aarch64 onnxruntime-gpu, and a Jetson builds pycuda against JetPack's CUDA."""
    gpu = _project()["optional-dependencies"]["gpu"]
    assert gpu, "the gpu extra is empty"
    assert _names(gpu, "gpu", "x86_64"), "the gpu extra installs nothing on x86-64"
    assert _names(gpu, "gpu", "aarch64") == set(), "the gpu extra must be x86-64 only"
