"""Engine manifests: written, read back, compared with a machine; mismatches say what and how.

These tests exercise the real manifest code with machine descriptions as data; they do not
need (or pretend to have) TensorRT. Building and running engines is only verified on a GPU.
"""

from __future__ import annotations

import importlib.util
import json
import shlex
from dataclasses import replace
from pathlib import Path

import pytest

from engine.backends import load_backend
from engine.backends.trt_manifest import (
    EngineManifest,
    MachineInfo,
    build_command,
    check_engine,
    differences,
    file_sha256,
    manifest_path,
    read_manifest,
    write_manifest,
)
from engine.errors import BackendUnavailable, ModelError
from engine.preprocess import InputContract

ORIN = MachineInfo("10.3.0", "Orin", "8.7", "Linux-aarch64")


def _manifest(onnx: Path, **kw) -> EngineManifest:
    contract = InputContract(input_size=64, spectrum_bins=16)
    base = EngineManifest(
        tensorrt_version="10.3.0",
        gpu_name="Orin",
        compute_capability="8.7",
        platform="Linux-aarch64",
        onnx_file=onnx.name,
        onnx_sha256=file_sha256(onnx),
        precision="fp16",
        profile={"crops": {"min": [1, 3, 64, 64], "opt": [8, 3, 64, 64], "max": [32, 3, 64, 64]},
                 "spectrum": {"min": [1, 16], "opt": [8, 16], "max": [32, 16]}},
        workspace_mb=1024,
        builder_optimization_level=3,
        hardware_compat="none",
        contract=contract.to_metadata(),
        build_command=build_command(onnx, "fp16", (1, 8, 32), 1024, 3, "none"),
    )
    return replace(base, **kw)


def test_round_trip_and_match(tiny_onnx: Path, tmp_path: Path) -> None:
    engine = tmp_path / "classifier.fp16.engine"
    engine.write_bytes(b"not used: only the manifest is read")
    written = _manifest(tiny_onnx)
    path = write_manifest(written, engine)
    assert path == manifest_path(engine) and path.name == "classifier.fp16.engine.json"
    assert read_manifest(engine) == written
    assert written.max_batch == 32
    assert check_engine(engine, ORIN, file_sha256(tiny_onnx)) == written
    assert json.loads(path.read_text())["format"] == "deepscreen.trt-manifest/1"


def test_every_difference_is_named_with_the_rebuild_command(tiny_onnx: Path, tmp_path) -> None:
    engine = tmp_path / "c.engine"
    write_manifest(_manifest(tiny_onnx), engine)
    laptop = MachineInfo("10.8.0", "NVIDIA GeForce RTX 4070 Laptop GPU", "8.9", "Linux-x86_64")
    with pytest.raises(ModelError) as info:
        check_engine(engine, laptop, onnx_sha256="0" * 64)
    msg = str(info.value)
    assert "TensorRT 10.3.0 built it, this machine has 10.8.0" in msg
    assert "Linux-aarch64" in msg and "Linux-x86_64" in msg
    assert "compute capability 8.7 (Orin)" in msg and "has 8.9" in msg
    assert "changed since the engine was built" in msg
    command = msg.split("Rebuild it here with: ", 1)[1]
    assert shlex.split(command)[:4] == ["deepscreen", "export", "trt", str(tiny_onnx)]
    assert "--precision fp16 --min-batch 1 --opt-batch 8 --max-batch 32" in command


def test_same_capability_other_gpu_and_hardware_compat(tiny_onnx: Path) -> None:
    a100 = MachineInfo("10.3.0", "NVIDIA A100", "8.0", "Linux-x86_64")
    l4 = MachineInfo("10.3.0", "NVIDIA L4", "8.9", "Linux-x86_64")
    rtx = MachineInfo("10.3.0", "NVIDIA RTX 4000 Ada", "8.9", "Linux-x86_64")
    t4 = MachineInfo("10.3.0", "Tesla T4", "7.5", "Linux-x86_64")
    exact = _manifest(tiny_onnx, gpu_name="NVIDIA L4", compute_capability="8.9",
                      platform="Linux-x86_64")
    assert differences(exact, l4) == []
    assert differences(exact, rtx) == ["built on NVIDIA L4, this GPU is NVIDIA RTX 4000 Ada"]
    portable = replace(exact, hardware_compat="ampere_plus")
    assert differences(portable, a100) == [] and differences(portable, rtx) == []
    assert "need compute capability >= 8.0" in differences(portable, t4)[0]


def test_missing_or_foreign_manifest_is_refused(tmp_path: Path, tiny_onnx: Path) -> None:
    engine = tmp_path / "x.engine"
    with pytest.raises(ModelError, match="has no manifest"):
        read_manifest(engine)
    manifest_path(engine).write_text(json.dumps({"format": "other"}))
    with pytest.raises(ModelError, match="unreadable engine manifest"):
        read_manifest(engine)


def test_tensorrt_backend_without_tensorrt_says_so(tiny_onnx: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("TensorRT is installed here")
    model = tmp_path / "classifier.onnx"
    model.write_bytes(tiny_onnx.read_bytes())
    engine = tmp_path / "classifier.engine"
    engine.write_bytes(b"\0" * 16)
    write_manifest(_manifest(model), engine)
    with pytest.raises(BackendUnavailable, match="needs TensorRT"):
        load_backend("tensorrt", model)
    # auto skips TensorRT when it cannot be imported and still runs the model.
    assert load_backend("auto", model).name == "ort-cpu"


def test_engine_inputs_accept_a_dropped_unused_spectrum() -> None:
    # The shipped model ignores its spectrum input; TensorRT may remove such an input from the
    # engine, and the backend must then bind only the crops (not refuse the engine).
    from engine.backends.tensorrt import engine_inputs

    assert engine_inputs({"crops", "spectrum", "logit"}) == ("crops", "spectrum")
    assert engine_inputs({"crops", "logit"}) == ("crops",)
    for wrong in ({"crops"}, {"spectrum", "logit"}, {"crops", "spectrum", "logit", "x"}):
        with pytest.raises(ModelError, match="not crops, spectrum, logit"):
            engine_inputs(wrong)
