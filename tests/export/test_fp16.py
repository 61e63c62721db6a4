"""FP16 ONNX: float32 interface kept, float16 inside, close to FP32 on real faces."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from engine.backends import load_backend
from tests.conftest import shared_path
from tests.export.seeded_model import CONTRACT, seeded_classifier


def test_fp16_keeps_float32_io_and_halves_weights(tmp_path: Path) -> None:
    import onnx

    from calibration.faces import parity_crops, prepare_images
    from export.fp16 import convert_to_fp16

    _, fp32 = seeded_classifier()
    fp16 = convert_to_fp16(fp32, tmp_path / "c.fp16.onnx")
    model = onnx.load(str(fp16))
    io = list(model.graph.input) + list(model.graph.output)
    assert all(v.type.tensor_type.elem_type == onnx.TensorProto.FLOAT for v in io)
    big = [t for t in model.graph.initializer if np.prod(t.dims) > 64]
    assert big and all(t.data_type == onnx.TensorProto.FLOAT16 for t in big)
    assert "Cast" in {n.op_type for n in model.graph.node}
    assert fp16.stat().st_size < 0.65 * fp32.stat().st_size
    b32, b16 = load_backend("ort", fp32), load_backend("ort", fp16)
    assert b16.contract == CONTRACT
    crops, spectrum = prepare_images(parity_crops(8), CONTRACT)
    p32, p16 = b32.predict(crops, spectrum), b16.predict(crops, spectrum)
    assert np.abs(p32 - p16).max() < 5e-3
    assert not np.array_equal(p32, p16)  # really computed in half precision


def test_export_fp16_reports_auc_and_prob_diff_on_labelled_faces(tmp_path: Path) -> None:
    from export.fp16 import MAX_PROB_DIFF, export_fp16

    faces = shared_path("faces", "ffhq-vs-stylegan1")
    _, fp32 = seeded_classifier()
    report = export_fp16(fp32, tmp_path / "c.fp16.onnx", data=[faces], n=64)
    assert report.labelled and report.samples == 64
    assert 0.0 < report.agreement.max_prob_diff < MAX_PROB_DIFF
    assert abs(report.agreement.auc_drop) < 0.01
