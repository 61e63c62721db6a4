"""docs/DEPLOY.md's versions table (section 1) matches the files it names: base images, the
Triton image, CUDA versions, the Jetson AI Lab index. A Dockerfile bumped without the table (or
the reverse) fails here."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _rows() -> dict[str, list[str]]:
    text = (ROOT / "docs" / "DEPLOY.md").read_text()
    table = text[text.index("| target | file | base image |"):]
    table = table[: table.index("\n\n")]
    rows = {}
    for line in table.splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[cells[1].strip("`")] = cells
    return rows


def _arg(path: str, name: str) -> str:
    match = re.search(rf"^ARG {name}=(\S+)", (ROOT / path).read_text(), re.M)
    assert match, f"{path}: no ARG {name}"
    return match.group(1).strip('"')


def test_every_dockerfile_has_a_row_with_its_base_image() -> None:
    rows = _rows()
    assert _arg("deploy/Dockerfile.jetson", "L4T_IMAGE") in rows["deploy/Dockerfile.jetson"][2]
    assert _arg("deploy/Dockerfile.jetson7", "BASE_IMAGE") in rows["deploy/Dockerfile.jetson7"][2]
    server = rows["deploy/Dockerfile.server"]
    cuda, ubuntu = _arg("deploy/Dockerfile.server", "CUDA_VERSION"), _arg(
        "deploy/Dockerfile.server", "UBUNTU")
    assert f"nvidia/cuda:{cuda}-devel-{ubuntu}" in server[2]
    assert server[4] == cuda
    assert _arg("deploy/Dockerfile.server", "TRITON_IMAGE") in server[5]
    dockerfiles = {f"deploy/{p.name}" for p in (ROOT / "deploy").glob("Dockerfile.*")
                   if not p.name.endswith(".dockerignore")}
    assert dockerfiles <= set(rows), f"no table row for {sorted(dockerfiles - set(rows))}"


def test_fleet_row_names_the_fleet_image() -> None:
    compose = (ROOT / "deploy" / "fleet" / "docker-compose.yml").read_text()
    image = re.search(r"image: (nvcr\.io/nvidia/tritonserver:\S+)", compose).group(1)
    assert image in _rows()["deploy/fleet/"][2]


def test_jetson_ort_index_is_documented_in_the_dockerfile() -> None:
    """ONNX Runtime GPU for Jetson comes from the Jetson AI Lab index, never PyPI."""
    row = _rows()["deploy/Dockerfile.jetson"]
    index = re.search(r"https://pypi\.jetson-ai-lab\.io/\S+?(?=`)", row[6]).group(0)
    jetson = (ROOT / "deploy" / "Dockerfile.jetson").read_text()
    assert index in jetson and "ORT_GPU_INDEX" in jetson
    assert "/usr/lib/aarch64-linux-gnu/nvidia" in jetson and "/tegra" not in jetson
    # No `import tensorrt` during the build: the L4T image's libraries are placeholders then.
    assert "import tensorrt" not in jetson
