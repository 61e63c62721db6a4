"""The ONNX MAC counter, on hand-built graphs and on real exported networks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from bench.flops import count_macs, spectral_bytes  # noqa: E402
from engine.errors import ModelError  # noqa: E402

MODELS = Path(__file__).resolve().parents[2] / "engine" / "models"


def _init(name: str, shape: tuple[int, ...]):
    return numpy_helper.from_array(np.zeros(shape, dtype=np.float32), name)


def small_graph():
    """x (N,3,16,16) -> Conv 3->8 k3 pad1 -> grouped Conv 8->8 k3 stride2 group 4 -> Flatten
    -> Gemm (transB) 512->10 -> MatMul with (10, 6)."""
    nodes = [
        helper.make_node("Conv", ["x", "w1"], ["c1"], pads=[1, 1, 1, 1], name="conv1"),
        helper.make_node("Conv", ["c1", "w2"], ["c2"], strides=[2, 2], pads=[1, 1, 1, 1],
                         group=4, name="conv2"),
        helper.make_node("Flatten", ["c2"], ["f"]),
        helper.make_node("Gemm", ["f", "wg", "bg"], ["g"], transB=1, name="fc"),
        helper.make_node("MatMul", ["g", "wm"], ["y"], name="mm"),
    ]
    graph = helper.make_graph(
        nodes, "small",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3, 16, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 6])],
        [_init("w1", (8, 3, 3, 3)), _init("w2", (8, 2, 3, 3)), _init("wg", (10, 512)),
         _init("bg", (10,)), _init("wm", (10, 6))],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def test_counts_conv_grouped_conv_gemm_matmul() -> None:
    count = count_macs(small_graph())
    conv1 = 8 * 16 * 16 * 3 * 3 * 3  # every output element: C_in * k * k
    conv2 = 8 * 8 * 8 * 2 * 3 * 3  # group 4: C_in / group = 2 per output element
    gemm = 512 * 10
    matmul = 10 * 6
    assert dict((n, m) for n, _, m in count.nodes) == {
        "conv1": conv1, "conv2": conv2, "fc": gemm, "mm": matmul}
    assert count.total_macs == conv1 + conv2 + gemm + matmul
    assert count.flops == 2 * count.total_macs
    assert count.uncounted == []


def test_count_is_per_sample_and_file_paths_work(tmp_path: Path) -> None:
    path = tmp_path / "small.onnx"
    onnx.save(small_graph(), str(path))
    assert count_macs(path).total_macs == count_macs(small_graph()).total_macs


def test_unreadable_file_is_a_model_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"not an onnx file")
    with pytest.raises(ModelError):
        count_macs(bad)


def _torch_macs(module, *inputs) -> int:
    """MACs of nn.Conv2d / nn.Linear layers, counted by forward hooks in PyTorch."""
    pytest.importorskip("torch")
    from bench.torch_model import torch_macs

    return torch_macs(module, *inputs)


@pytest.mark.parametrize("name,size", [("rnet", 24), ("onet", 48)])
def test_matches_pytorch_on_the_shipped_mtcnn_nets(name: str, size: int) -> None:
    torch = pytest.importorskip("torch")
    mtcnn = pytest.importorskip("facenet_pytorch.models.mtcnn")
    path = MODELS / f"{name}.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not built")
    net = {"rnet": mtcnn.RNet, "onet": mtcnn.ONet}[name](pretrained=False).eval()
    expected = _torch_macs(net, torch.zeros(1, 3, size, size))
    assert count_macs(path).total_macs == expected


def test_matches_pytorch_on_the_classifier(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    models = pytest.importorskip("train.models")
    net = models.create_model("spatial_spectral_tiny").eval()
    crops, spectrum = torch.rand(1, 3, 128, 128), torch.rand(1, 80)
    path = tmp_path / "tiny.onnx"
    torch.onnx.export(net, (crops, spectrum), str(path), dynamo=False, opset_version=18,
                      input_names=["crops", "spectrum"], output_names=["logit"],
                      dynamic_axes={"crops": {0: "b"}, "spectrum": {0: "b"}, "logit": {0: "b"}})
    assert count_macs(path).total_macs == _torch_macs(net, crops, spectrum)


def test_fp16_and_qdq_int8_graphs_count_like_fp32(tmp_path: Path) -> None:
    path = MODELS / "rnet.onnx"
    if not path.is_file():
        pytest.skip(f"{path} not built")
    float16 = pytest.importorskip("onnxconverter_common.float16")
    from onnxruntime.quantization import QuantFormat, quantize_static

    expected = count_macs(path).total_macs
    fp16 = float16.convert_float_to_float16(onnx.load(str(path)), keep_io_types=True)
    assert count_macs(fp16).total_macs == expected

    class Reader:  # a few real-valued inputs (normalised image patches)
        def __init__(self) -> None:
            from skimage import data

            img = (data.astronaut()[:240, 100:340].astype(np.float32) - 127.5) / 128
            patches = [img[i:i + 24, i:i + 24].transpose(2, 0, 1) for i in range(0, 200, 40)]
            self.items = iter([{"image": p[None].copy()} for p in patches])

        def get_next(self):
            return next(self.items, None)

    q = tmp_path / "rnet_int8.onnx"
    quantize_static(str(path), str(q), Reader(), quant_format=QuantFormat.QDQ)
    qdq = onnx.load(str(q))
    assert any(n.op_type == "DequantizeLinear" for n in qdq.graph.node)
    assert count_macs(qdq).total_macs == expected


def test_spectral_bytes_model() -> None:
    s, bins = 256, 80
    half_plane = s * (s // 2 + 1)
    assert spectral_bytes(s, bins) == s * s * 4 + 2 * half_plane * 8 + bins * 4
    assert spectral_bytes(s, bins, 8, 16) > spectral_bytes(s, bins)
