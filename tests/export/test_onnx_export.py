"""Classifier export: single file, dynamic batch, contract metadata, parity with PyTorch."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from engine.backends import load_backend
from engine.errors import ModelError
from tests.export.seeded_model import CONTRACT, MODEL_NAME, seeded_classifier, write_checkpoint


def test_export_is_single_file_with_contract_and_dynamic_batch() -> None:
    import onnx

    from calibration.faces import parity_crops, prepare_images
    from export.onnx_export import OPSET, check_graph

    _, path = seeded_classifier()
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith("classifier")) == [
        "classifier.onnx"
    ]
    model = onnx.load(str(path))
    assert all(t.data_location != onnx.TensorProto.EXTERNAL for t in model.graph.initializer)
    meta = {p.key: p.value for p in model.metadata_props}
    assert json.loads(meta["deepscreen.model_name"]) == MODEL_NAME
    assert json.loads(meta["deepscreen.model_config"])["widths"] == [8, 16, 32, 64]
    opset, ops = check_graph(path, CONTRACT)
    assert opset == OPSET >= 17
    assert "DFT" not in ops and "Conv" in ops
    backend = load_backend("ort", path)
    assert backend.contract == CONTRACT
    crops, spectrum = prepare_images(parity_crops(7), CONTRACT)
    p_all = backend.predict(crops, spectrum)
    p_one = np.concatenate([
        backend.predict(crops[i : i + 1], spectrum[i : i + 1])
        for i in range(7)
    ])
    np.testing.assert_allclose(p_all, p_one, atol=1e-6)


def test_export_matches_torch_on_real_faces() -> None:
    import torch

    from calibration.faces import parity_crops, prepare_images
    from export.onnx_export import onnx_logits
    from train.checkpoint import build_model_from_checkpoint

    ckpt, path = seeded_classifier()
    # Independent re-check on other real crops than the exporter compared.
    model, contract = build_model_from_checkpoint(ckpt)
    crops, spectrum = prepare_images(parity_crops(24)[-8:], contract)
    with torch.no_grad():
        ref = model(torch.from_numpy(crops), torch.from_numpy(spectrum)).numpy().reshape(-1)
    got = onnx_logits(path, crops, spectrum)
    assert np.abs(got - ref).max() <= 1e-4
    assert np.ptp(ref) > 0  # the crops differ, so the comparison is not of constants


@pytest.mark.slow
def test_parity_failure_writes_nothing(tmp_path: Path) -> None:
    from export.onnx_export import export_classifier

    ckpt = write_checkpoint(tmp_path / "seed2.pt", seed=2)
    out = tmp_path / "bad.onnx"
    with pytest.raises(ModelError, match="differs from PyTorch"):
        export_classifier(ckpt, out, parity_n=2, tolerance=-1.0)
    assert not out.exists() and not list(tmp_path.glob("*.partial"))
    # The same checkpoint with the real tolerance passes and reports its figures.
    report = export_classifier(ckpt, out, parity_n=4, min_face_px=52)
    assert report.max_abs_diff <= 1e-4 and report.parity_crops == 4 and len(report.sha256) == 64
    # The vote floor given at export travels in the metadata; the runtime reads it back.
    from engine.backends.ort import OrtBackend

    assert OrtBackend(out).traits.min_face_px == 52.0


def test_graph_with_dft_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    from export.onnx_export import check_graph

    s, bins = CONTRACT.input_size, CONTRACT.spectrum_bins
    nodes = [
        helper.make_node("DFT", ["spectrum"], ["f"], onesided=0),
        helper.make_node("ReduceMean", ["crops"], ["c"], axes=[1, 2, 3], keepdims=0),
        helper.make_node("ReduceMean", ["f"], ["logit"], axes=[1, 2], keepdims=1),
    ]
    graph = helper.make_graph(
        nodes,
        "dft",
        [
            helper.make_tensor_value_info("crops", TensorProto.FLOAT, ["n", 3, s, s]),
            helper.make_tensor_value_info("spectrum", TensorProto.FLOAT, ["n", bins, 1]),
        ],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["n", 1])],
    )
    path = tmp_path / "dft.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises(ModelError):
        check_graph(path, CONTRACT)


def test_missing_checkpoint_is_a_model_error(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from export.onnx_export import export_classifier

    with pytest.raises(ModelError, match="not found"):
        export_classifier(tmp_path / "nope.pt", tmp_path / "x.onnx")
