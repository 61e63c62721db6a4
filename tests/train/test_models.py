"""Registered models: forward shapes, registry errors, and TensorRT-safe ONNX graphs."""

from __future__ import annotations

import onnx
import pytest
import torch

from engine.errors import UsageError
from train.models import create_model, list_models, model_config

# Ops the TensorRT ONNX parser runs natively; anything else in a classifier graph is suspect.
TRT_SAFE_OPS = {
    "Conv", "BatchNormalization", "Relu", "Add", "Sub", "Mul", "Div", "Sigmoid", "Concat",
    "ReduceMean", "Gemm", "MatMul", "GlobalAveragePool", "Reshape", "Flatten", "Identity",
    "Constant", "Shape", "Gather", "Unsqueeze", "Squeeze", "Transpose",
    # MobileNet: ReLU6 is Clip; TF "SAME" padding of strided convs is an explicit Pad whose
    # pads torch builds from constants (ConstantOfShape/Slice/Cast, folded by TensorRT).
    "Clip", "Pad", "ConstantOfShape", "Slice", "Cast",
}


def _trt_supported() -> list[str]:
    import json
    from pathlib import Path

    table = Path(__file__).resolve().parents[2] / "export" / "data" / "trt10_onnx_ops.json"
    return json.loads(table.read_text())["supported"]


@pytest.mark.parametrize("name", list_models())
def test_forward_shape_and_range(name: str) -> None:
    model = create_model(name).eval()
    bins = model_config(name).spectrum_bins
    with torch.no_grad():
        out = model(torch.randn(3, 3, 128, 128), torch.rand(3, bins) + 0.5)
    assert out.shape == (3, 1)
    assert torch.isfinite(out).all()


def test_other_input_size_works() -> None:
    model = create_model("spatial_spectral_tiny").eval()
    with torch.no_grad():
        assert model(torch.randn(2, 3, 96, 96), torch.rand(2, 80)).shape == (2, 1)


def test_registry_rejects_unknown_names_and_keys() -> None:
    with pytest.raises(UsageError):
        create_model("no_such_model")
    with pytest.raises(UsageError):
        create_model("spatial_spectral", {"no_such_key": 1})


def test_spectrum_stats_change_the_output() -> None:
    model = create_model("spatial_spectral_tiny").eval()
    x, s = torch.randn(2, 3, 64, 64), torch.rand(2, 80) + 0.5
    with torch.no_grad():
        before = model(x, s).clone()
        model.set_spectrum_stats(torch.full((80,), 0.5), torch.full((80,), 0.1))
        after = model(x, s)
    assert not torch.allclose(before, after)


@pytest.mark.parametrize("name", list_models())
def test_onnx_export_has_only_safe_ops(name: str, tmp_path) -> None:
    model = create_model(name).eval()
    path = tmp_path / f"{name}.onnx"
    with torch.no_grad():
        torch.onnx.export(
            model,
            (torch.randn(2, 3, 64, 64), torch.rand(2, 80) + 0.5),
            str(path),
            input_names=["crops", "spectrum"],
            output_names=["logit"],
            dynamic_axes={"crops": {0: "n"}, "spectrum": {0: "n"}, "logit": {0: "n"}},
            opset_version=18,
            dynamo=False,
        )
    graph = onnx.load(str(path)).graph
    ops = {n.op_type for n in graph.node}
    assert ops <= TRT_SAFE_OPS, f"unexpected ops {ops - TRT_SAFE_OPS}"
    assert ops <= set(_trt_supported()), f"not in TensorRT's list: {ops - set(_trt_supported())}"
    assert not ops & {"DFT", "STFT"}
    assert [i.name for i in graph.input] == ["crops", "spectrum"]


@pytest.mark.parametrize(
    ("last", "channels", "params"),
    [("expanded_conv_13", 160, 0.73), ("expanded_conv_16", 320, 1.88)],
)
def test_mobilenet_detector_trunk_cut(last: str, channels: int, params: float) -> None:
    """Where the default trunk ends (the docs and model card quote these shapes)."""
    overrides = {"frozen": "expanded_conv_3", "last": last, "spectral_hidden": 0}
    model = create_model("mobilenet_detector", overrides).eval()
    with torch.no_grad():
        stem = model.stem_features(torch.zeros(1, 3, 224, 224))
        body = model.body(stem)
    assert tuple(stem.shape[1:]) == (32, 28, 28)
    assert tuple(body.shape[1:]) == (channels, 7, 7)
    assert round(sum(p.numel() for p in model.parameters()) / 1e6, 2) == params


@pytest.mark.parametrize(
    ("frozen", "stem_shape"),
    [("expanded_conv_3", (32, 28, 28)), ("expanded_conv_1", (24, 56, 56))],
)
def test_mobilenet_detector_stem_cut(frozen: str, stem_shape: tuple[int, int, int]) -> None:
    """What the view cache stores per view for v9's cut and v19's, and what is left to train."""
    overrides = {"frozen": frozen, "last": "expanded_conv_13", "spectral_hidden": 0}
    model = create_model("mobilenet_detector", overrides).eval()
    with torch.no_grad():
        stem = model.stem_features(torch.zeros(1, 3, 224, 224))
    assert tuple(stem.shape[1:]) == stem_shape
    assert all(not p.requires_grad for p in model.stem.parameters())
    assert all(p.requires_grad for p in model.body.parameters())
    assert len(model.body) == {"expanded_conv_3": 10, "expanded_conv_1": 12}[frozen]
