"""The device pack: real shared faces packed into size-limited parts, verified, unpacked
elsewhere with their detections, and trained on by the script that runs on the GPU machine
(here on the CPU, with a tiny version of its config)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from engine.errors import UsageError
from tests.shared_data import REPO, SHARED_DATA, shared_path
from train import device_pack
from train.data import detect_faces
from train.labelled import Sample
from train.sources import load_sources
from train.splits import read_manifest

WEIGHTS = SHARED_DATA.parent / "weights" / "mobilenet-imagenet-int8" / (
    "mobilenet_v2_1.0_224_quant.tflite")


def _few(root: Path, per_cell: int) -> list[Sample]:
    """``per_cell`` samples of each (source, split) among train/val/test, two sources."""
    samples = load_sources(root, ["ffhq-vs-stylegan1", "dfdc-faces"], 0.1, 0.2, 0)
    kept, count = [], {}
    for s in samples:
        key = (s.source, s.split)
        if count.get(key, 0) < per_cell:
            kept.append(s)
            count[key] = count.get(key, 0) + 1
    return kept


def _sha(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def small_pack(tmp_path_factory) -> tuple[Path, list[Sample], Path, dict]:
    root = shared_path("faces")
    if not WEIGHTS.is_file():
        pytest.skip(f"shared weights not present: {WEIGHTS}")
    from train.models.mobilenet_detector import save_trunk

    tmp = tmp_path_factory.mktemp("pack")
    samples = _few(root, 6)
    home = REPO / "runs" / "cache" / "faces.npz"  # this checkout's detections, when present
    faces = detect_faces([s.path for s in samples], home if home.is_file() else tmp / "f.npz",
                         0.25)
    trunk = save_trunk(WEIGHTS, tmp / "w" / "mobilenet_v2_1.0_224_quant.pt")
    # Parts of 0.25 MiB: several parts from ~48 small files.
    device_pack.pack(samples, faces, root, [trunk], tmp / "pack", part_mib=0.25)
    return tmp / "pack", samples, root, faces


def test_pack_splits_train_and_val_into_parts_under_the_limit(small_pack) -> None:
    folder, samples, _, _ = small_pack
    index = device_pack.PackIndex.read(folder)
    assert len(index.parts) >= 2
    assert all(p.bytes <= 0.25 * 2**20 for p in index.parts)
    expected = [s for s in samples if s.split in ("train", "val")]
    assert index.samples == len(expected) == sum(p.files for p in index.parts)
    assert index.splits == {k: sum(s.split == k for s in expected) for k in ("train", "val")}
    assert device_pack.status(folder).complete


def test_missing_or_corrupt_parts_are_named_and_refused(small_pack, tmp_path) -> None:
    folder, _, _, _ = small_pack
    copy = tmp_path / "pack"
    copy.mkdir()
    for f in folder.iterdir():
        if f.is_file():
            (copy / f.name).write_bytes(f.read_bytes())
    (copy / "part-01.tar").unlink()
    raw = bytearray((copy / "part-00.tar").read_bytes())
    raw[5000] ^= 0xFF
    (copy / "part-00.tar").write_bytes(bytes(raw))
    st = device_pack.status(copy)
    assert st.missing == ("part-01.tar",) and st.corrupt == ("part-00.tar",)
    with pytest.raises(UsageError, match=r"missing \['part-01.tar'\], corrupt \['part-00.tar'\]"):
        device_pack.unpack(copy, tmp_path / "data")
    assert not (tmp_path / "data").exists()
    rc = device_pack._cli(["status", str(copy)])
    assert rc == 3
    with pytest.raises(UsageError, match="pack.json"):
        device_pack.status(tmp_path / "nothing")


def test_unpack_restores_the_files_byte_for_byte_with_their_detections(
    small_pack, tmp_path, monkeypatch
) -> None:
    folder, samples, root, packed_faces = small_pack
    manifest = device_pack.unpack(folder, tmp_path / "data")
    items = read_manifest(manifest)
    by_rel = {Path(s.path).resolve().relative_to(root.resolve()).as_posix(): s
              for s in samples if s.split in ("train", "val")}
    assert len(items) == len(by_rel)
    for it in items:
        original = by_rel[Path(it.path).relative_to(tmp_path / "data" / "faces").as_posix()]
        assert (it.label, it.source, it.group, it.split) == (
            original.label, original.source, original.group, original.split)
        assert _sha(it.path) == _sha(Path(original.path))
    # The detections travel: no detector runs there (it would raise here).
    import train.data

    monkeypatch.setattr(train.data, "make_detector", lambda *_: pytest.fail("detector ran"))
    faces = detect_faces([str(it.path) for it in items],
                         tmp_path / "data" / "cache" / "faces.npz", 0.25)
    for it in items:
        original = by_rel[Path(it.path).relative_to(tmp_path / "data" / "faces").as_posix()]
        a, b = faces[str(it.path)], packed_faces[original.path]
        assert np.allclose(a.box, b.box) and a.detected == b.detected
        if a.detected:
            assert np.allclose(a.landmarks, b.landmarks)
    # A second unpack of the same pack is a no-op (a later call of the same lease).
    stamp = (tmp_path / "data" / "unpacked.json").stat().st_mtime_ns
    device_pack.unpack(folder, tmp_path / "data")
    assert (tmp_path / "data" / "unpacked.json").stat().st_mtime_ns == stamp


@pytest.mark.slow
def test_device_script_trains_from_the_pack_and_returns_the_checkpoint(small_pack, tmp_path):
    folder, _, _, _ = small_pack
    cfg = yaml.safe_load((REPO / "train" / "configs" / "detector_gpu.yaml").read_text())
    data = folder / "data"
    cfg["run_dir"] = str(tmp_path / "run")
    cfg["model_config"]["pretrained"] = str(data / "weights" / "mobilenet_v2_1.0_224_quant.pt")
    cfg["data"].update(manifest=str(data / "manifest.csv"), cache_dir=str(data / "cache"))
    cfg["contract"]["input_size"] = 96
    cfg["optim"].update(epochs=1, batch_size=8, num_workers=0, threads=1, device="auto")
    config = tmp_path / "gpu_tiny.yaml"
    config.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out"
    env = {**os.environ, "CONFIG": str(config), "PACK": str(folder), "OUT": str(out),
           "PYTHON": sys.executable}
    proc = subprocess.run(["bash", str(REPO / "scripts" / "device_train.sh"), "train"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert {"best.pt", "last.pt", "log.csv", "result.json", "train.log"} <= {
        p.name for p in out.iterdir()}
    log = (out / "train.log").read_text()
    assert "initialised" in log and "trunk tensors" in log  # ImageNet trunk, not random
    from train.checkpoint import build_model_from_checkpoint

    model, contract = build_model_from_checkpoint(out / "best.pt")
    assert contract.input_size == 96 and 0.0 < contract.threshold < 1.0
