"""TensorRT readiness without TensorRT: every ONNX graph the project produces uses only ops that
TensorRT 10's ONNX parser supports (table in export/data/trt10_onnx_ops.json), INT8 graphs carry
only Q/DQ that TensorRT accepts, and the build path refuses clearly where TensorRT is missing.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from engine.errors import BackendUnavailable, UsageError
from export.trt_support import check_onnx_ops, op_table
from tests.export.seeded_model import seeded_classifier

MODELS = Path(__file__).resolve().parents[2] / "engine" / "models"


@pytest.fixture(scope="module")
def produced(tmp_path_factory) -> dict[str, Path]:
    """Every graph this project writes: classifier FP32/FP16/INT8 and the MTCNN nets."""
    from calibration.faces import parity_crops, prepare_images
    from calibration.ranges import ArrayReader
    from engine.backends.ort import OrtBackend
    from export.fp16 import convert_to_fp16
    from export.quantize import quantize_int8

    out = tmp_path_factory.mktemp("graphs")
    _, fp32 = seeded_classifier()
    contract = OrtBackend(fp32).contract
    crops, spectrum = prepare_images(parity_crops(16), contract)
    graphs = {
        "classifier-fp32": fp32,
        "classifier-fp16": convert_to_fp16(fp32, out / "c.fp16.onnx"),
        "classifier-int8": quantize_int8(fp32, out / "c.int8.onnx", ArrayReader(crops, spectrum)),
    }
    for name in ("pnet", "rnet", "onet"):
        if (MODELS / f"{name}.onnx").is_file():
            graphs[name] = MODELS / f"{name}.onnx"
    for shipped in sorted(MODELS.glob("classifier*.onnx")):
        graphs[f"shipped-{shipped.stem}"] = shipped
    return graphs


def test_op_table_has_its_source_and_known_gaps() -> None:
    table = op_table()
    assert "onnx-tensorrt" in table["source"] and "10." in table["source_version"]
    assert {"Conv", "Gemm", "QuantizeLinear", "DequantizeLinear", "Cast"} <= set(table["supported"])
    assert "DFT" in table["unsupported"] and "DFT" in table["refused_by_project"]
    assert not set(table["supported"]) & set(table["unsupported"])


def test_every_produced_graph_is_tensorrt_ready(produced: dict[str, Path]) -> None:
    assert {"classifier-fp32", "classifier-fp16", "classifier-int8"} <= set(produced)
    assert {"pnet", "rnet", "onet"} <= set(produced), "MTCNN ONNX files missing in engine/models"
    failures = {}
    for name, path in produced.items():
        report = check_onnx_ops(path)
        assert report.ops, name
        if not report.ok:
            failures[name] = report.problems
    assert not failures, f"graphs TensorRT 10 could not parse: {failures}"


def test_int8_graph_has_tensorrt_qdq_and_fp16_keeps_float_io(produced) -> None:
    from export.quantize import check_tensorrt_qdq
    from export.trt_build import onnx_precision

    assert check_tensorrt_qdq(produced["classifier-int8"])["per_channel"] > 0
    assert onnx_precision(produced["classifier-fp32"]) == "fp32"
    assert onnx_precision(produced["classifier-fp16"]) == "fp16"
    assert onnx_precision(produced["classifier-int8"]) == "int8"


def test_unsupported_ops_are_reported(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [
            helper.make_node("DFT", ["x"], ["f"]),
            helper.make_node("Unique", ["f"], ["u"]),
            helper.make_node("MyOp", ["u"], ["y"], domain="com.example"),
        ],
        "bad",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8, 1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)]
    )
    onnx.save(model, tmp_path / "bad.onnx")
    report = check_onnx_ops(tmp_path / "bad.onnx")
    assert not report.ok
    text = " | ".join(report.problems)
    assert "DFT" in text and "Unique: not supported" in text and "com.example::MyOp" in text


def test_fp16_is_produced_for_a_strongly_typed_build(produced, tmp_path: Path) -> None:
    from export.trt_build import onnx_for_precision, onnx_precision

    src = tmp_path / "classifier.onnx"
    src.write_bytes(produced["classifier-fp32"].read_bytes())
    fp16 = onnx_for_precision(src, "fp16")
    assert fp16.name == "classifier.fp16.onnx" and onnx_precision(fp16) == "fp16"
    assert onnx_for_precision(fp16, "fp16") == fp16
    with pytest.raises(UsageError, match="deepscreen export int8"):
        onnx_for_precision(src, "int8")


def test_build_options_and_profile() -> None:
    from engine.preprocess import InputContract
    from export.trt_build import BuildOptions, profile_shapes

    BuildOptions().validate()
    with pytest.raises(UsageError, match="min <= opt <= max"):
        BuildOptions(min_batch=4, opt_batch=2).validate()
    with pytest.raises(UsageError, match="precision"):
        BuildOptions(precision="int4").validate()
    shapes = profile_shapes(InputContract(input_size=96, spectrum_bins=80), BuildOptions())
    assert shapes["crops"] == {"min": [1, 3, 96, 96], "opt": [8, 3, 96, 96], "max": [32, 3, 96, 96]}
    assert shapes["spectrum"]["max"] == [32, 80]


def test_engine_build_without_tensorrt_is_a_clear_error(produced) -> None:
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("TensorRT is installed here: the real build is exercised on the GPU machine")
    from export.trt_build import build_engine

    with pytest.raises(BackendUnavailable, match="needs TensorRT"):
        build_engine(produced["classifier-fp32"], show_progress=False)
