"""ONNX Runtime backend and the backend factory, on a real ORT session."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from engine.backends import load_backend, sigmoid
from engine.backends.ort import OrtBackend, available_devices
from engine.errors import BackendUnavailable, InputError, ModelError, UsageError
from tests.engine.backends.tiny_classifier import TINY_CONTRACT, tiny_logits


def test_ort_cpu_matches_closed_form_on_real_crops(tiny_onnx: Path, hopper_batch) -> None:
    crops, spectrum = hopper_batch
    backend = load_backend("ort", tiny_onnx)
    assert backend.name == "ort-cpu"
    assert backend.contract == TINY_CONTRACT
    p = backend.predict(crops, spectrum)
    assert p.dtype == np.float32 and p.shape == (len(crops),)
    expected = sigmoid(tiny_logits(crops, spectrum))
    np.testing.assert_allclose(p, expected, atol=1e-6)
    # Different crops of the portrait really give different scores (the pixels reach the model).
    assert np.ptp(p) > 1e-3


def test_empty_batch_and_shape_errors(tiny_onnx: Path, hopper_batch) -> None:
    crops, spectrum = hopper_batch
    backend = OrtBackend(tiny_onnx)
    assert backend.predict(crops[:0], spectrum[:0]).shape == (0,)
    with pytest.raises(InputError, match=r"crops must be \(N, 3, 64, 64\)"):
        backend.predict(crops[:, :, :32, :32], spectrum)
    with pytest.raises(InputError, match="spectrum must be"):
        backend.predict(crops, spectrum[:, :5])
    with pytest.raises(InputError, match="9 crops but 2 spectra"):
        backend.predict(crops, spectrum[:2])


def test_missing_model_and_unknown_name(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not found"):
        load_backend("ort", tmp_path / "nope.onnx")
    with pytest.raises(UsageError, match="unknown backend"):
        load_backend("magic", tmp_path / "nope.onnx")


def test_non_classifier_onnx_is_refused(tmp_path: Path) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])],
    )
    path = tmp_path / "relu.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    with pytest.raises(ModelError, match="not a deepscreen classifier"):
        load_backend("ort", path)


def test_gpu_providers_refused_clearly_when_absent(tiny_onnx: Path) -> None:
    if "cuda" in available_devices():
        pytest.skip("onnxruntime-gpu is installed here")
    with pytest.raises(BackendUnavailable, match="onnxruntime-gpu"):
        load_backend("ort-cuda", tiny_onnx)


def test_auto_picks_a_working_backend_and_logs_it(tiny_onnx: Path, caplog) -> None:
    with caplog.at_level(logging.INFO, logger="engine.backends.factory"):
        backend = load_backend("auto", tiny_onnx)
    assert backend.name.startswith("ort-")
    assert f"using {backend.name}" in caplog.text


def test_tensorrt_without_engine_names_the_build_command(tiny_onnx: Path) -> None:
    with pytest.raises(BackendUnavailable, match="deepscreen export trt"):
        load_backend("tensorrt", tiny_onnx)


def test_threads_share_one_session(tiny_onnx: Path, hopper_batch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    crops, spectrum = hopper_batch
    backend = load_backend("ort", tiny_onnx, threads=1)
    ref = backend.predict(crops, spectrum)
    with ThreadPoolExecutor(4) as pool:
        outs = list(pool.map(lambda _: backend.predict(crops, spectrum), range(8)))
    for out in outs:
        np.testing.assert_array_equal(out, ref)
