"""Triton model repository: files in place, configs valid under Triton's ModelConfig schema."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from engine.errors import ModelError, UsageError
from tests.engine.backends.tiny_classifier import TINY_CONTRACT, write_tiny_classifier

pytest.importorskip("tritonclient")


def test_repository_for_onnx_is_valid(tmp_path: Path) -> None:
    from export.triton import TritonOptions, parse_config, write_repository

    onnx = write_tiny_classifier(tmp_path / "classifier.onnx")
    entries = write_repository(tmp_path / "repo", onnx, [], TritonOptions(max_batch=48))
    assert [e.name for e in entries] == ["deepscreen"]
    entry = entries[0]
    assert entry.model_file == tmp_path / "repo" / "deepscreen" / "1" / "model.onnx"
    assert entry.model_file.read_bytes() == onnx.read_bytes()
    config = parse_config(entry.config.read_text())
    assert config.platform == "onnxruntime_onnx" and config.max_batch_size == 48
    assert {i.name: list(i.dims) for i in config.input} == {
        "crops": [3, 64, 64],
        "spectrum": [TINY_CONTRACT.spectrum_bins],
    }
    assert [(o.name, list(o.dims)) for o in config.output] == [("logit", [1])]
    assert list(config.dynamic_batching.preferred_batch_size) == [8, 16, 32]
    assert config.parameters["deepscreen.threshold"].string_value == json.dumps(0.4)


def test_onnx_model_defaults_to_gpu_with_tensorrt_accelerator(tmp_path: Path) -> None:
    """The fleet's GPU must do the work: KIND_GPU and ONNX Runtime's TensorRT provider, its
    profile spanning the whole batch range (parsed with Triton's ModelConfig protobuf)."""
    from export.triton import TritonOptions, parse_config, write_repository

    onnx = write_tiny_classifier(tmp_path / "classifier.onnx")
    opts = TritonOptions(max_batch=32, trt_cache_dir="/models/.trt_cache")
    config = parse_config(write_repository(tmp_path / "repo", onnx, [], opts)[0].config.read_text())
    assert [g.kind for g in config.instance_group] == [config.instance_group[0].KIND_GPU]
    accs = config.optimization.execution_accelerators.gpu_execution_accelerator
    assert [a.name for a in accs] == ["tensorrt"]
    params = dict(accs[0].parameters)
    s, bins = TINY_CONTRACT.input_size, TINY_CONTRACT.spectrum_bins
    assert params["precision_mode"] == "FP16"
    assert params["trt_profile_min_shapes"] == f"crops:1x3x{s}x{s},spectrum:1x{bins}"
    assert params["trt_profile_max_shapes"] == f"crops:32x3x{s}x{s},spectrum:32x{bins}"
    assert params["trt_engine_cache_enable"] == "1"
    assert params["trt_engine_cache_path"] == "/models/.trt_cache"


def test_cpu_option_has_no_gpu_accelerator(tmp_path: Path) -> None:
    from export.triton import TritonOptions, parse_config, write_repository

    onnx = write_tiny_classifier(tmp_path / "classifier.onnx")
    entry = write_repository(tmp_path / "repo", onnx, [], TritonOptions(gpu=False))[0]
    config = parse_config(entry.config.read_text())
    assert config.instance_group[0].kind == config.instance_group[0].KIND_CPU
    assert not config.optimization.execution_accelerators.gpu_execution_accelerator
    with pytest.raises(UsageError, match="accelerator"):
        write_repository(tmp_path / "r2", onnx, [], TritonOptions(accelerator="openvino"))


def test_accelerator_errors_are_caught() -> None:
    """A GPU accelerator on a CPU instance, or a profile that stops short of max_batch_size."""
    from export.triton import config_text, parse_config, tensorrt_accelerator, validate_config

    opt = tensorrt_accelerator(TINY_CONTRACT, 8)
    on_cpu = parse_config(config_text("x", "onnxruntime_onnx", TINY_CONTRACT, 8, 100, False,
                                      optimization=opt))
    with pytest.raises(ModelError, match="KIND_GPU"):
        validate_config(on_cpu, TINY_CONTRACT)
    short = parse_config(config_text("x", "onnxruntime_onnx", TINY_CONTRACT, 16, 100, True,
                                     optimization=opt))
    with pytest.raises(ModelError, match="trt_profile_max_shapes"):
        validate_config(short, TINY_CONTRACT)
    with pytest.raises(UsageError, match="precision"):
        tensorrt_accelerator(TINY_CONTRACT, 8, "FP8")


def test_plan_models_take_their_profile_and_need_a_manifest(tmp_path: Path) -> None:
    from engine.backends.trt_manifest import EngineManifest, file_sha256, write_manifest
    from export.triton import TritonOptions, parse_config, write_repository

    onnx = write_tiny_classifier(tmp_path / "classifier.onnx")
    # The repository writer only copies the plan file; no TensorRT is involved or claimed.
    plan = tmp_path / "classifier.fp16.engine"
    plan.write_bytes(b"plan bytes are copied as they are")
    with pytest.raises(ModelError, match="no manifest"):
        write_repository(tmp_path / "repo", onnx, [plan])
    s, bins = TINY_CONTRACT.input_size, TINY_CONTRACT.spectrum_bins
    write_manifest(EngineManifest(
        "10.3.0", "Orin", "8.7", "Linux-aarch64", onnx.name, file_sha256(onnx), "fp16",
        {"crops": {"min": [1, 3, s, s], "opt": [8, 3, s, s], "max": [16, 3, s, s]},
         "spectrum": {"min": [1, bins], "opt": [8, bins], "max": [16, bins]}},
        1024, 3, "none", TINY_CONTRACT.to_metadata(), "deepscreen export trt ...",
    ), plan)
    # A plan built with another TensorRT than the server's would not load: refused up front.
    with pytest.raises(UsageError, match="TensorRT 10.3.0.*runs 10.13.3"):
        write_repository(tmp_path / "repo", onnx, [plan], TritonOptions(expect_tensorrt="10.13.3"))
    entries = write_repository(tmp_path / "repo", onnx, [plan],
                               TritonOptions(expect_tensorrt="10.3.0.26"))
    trt = entries[1]
    assert trt.name == "deepscreen_trt_fp16" and trt.model_file.name == "model.plan"
    config = parse_config(trt.config.read_text())
    assert config.platform == "tensorrt_plan" and config.max_batch_size == 16
    assert config.instance_group[0].kind == config.instance_group[0].KIND_GPU
    assert config.parameters["deepscreen.tensorrt_version"].string_value == "10.3.0"


def test_schema_and_semantic_errors_are_caught() -> None:
    from export.triton import config_text, parse_config, validate_config

    with pytest.raises(ModelError, match="invalid Triton config"):
        parse_config('name: "x" max_batch_size: 8 dynamic_batchin { }')
    text = config_text("x", "onnxruntime_onnx", TINY_CONTRACT, 8, 100, False)
    config = parse_config(text.replace("dims: [ 1 ]", "dims: [ 2 ]"))
    with pytest.raises(ModelError, match="logit"):
        validate_config(config, TINY_CONTRACT)


def test_cli_writes_repository(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from deepscreen_cli.app import app

    onnx = write_tiny_classifier(tmp_path / "classifier.onnx")
    result = CliRunner().invoke(
        app, ["export", "triton", "--out", str(tmp_path / "repo"), "--model", str(onnx)]
    )
    assert result.exit_code == 0, result.output
    assert "deepscreen: " in result.output and (tmp_path / "repo/deepscreen/config.pbtxt").is_file()
    assert 'name: "tensorrt"' in (tmp_path / "repo/deepscreen/config.pbtxt").read_text()
    cpu = CliRunner().invoke(app, ["export", "triton", "--out", str(tmp_path / "cpu"), "--model",
                                   str(onnx), "--cpu"])
    assert cpu.exit_code == 0, cpu.output
    assert "KIND_CPU" in (tmp_path / "cpu/deepscreen/config.pbtxt").read_text()
    with pytest.raises(UsageError):
        from export.triton import TritonOptions, write_repository

        write_repository(tmp_path / "r2", onnx, [], TritonOptions(max_batch=0))
