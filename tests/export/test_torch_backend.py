"""PyTorch reference backend, opened by name through the engine's factory."""

from __future__ import annotations

import numpy as np
import pytest

from engine.backends import load_backend
from engine.errors import BackendUnavailable
from tests.export.seeded_model import CONTRACT, seeded_classifier


def test_torch_backend_matches_onnx_runtime_on_real_faces() -> None:
    from calibration.faces import parity_crops, prepare_images

    ckpt, onnx = seeded_classifier()
    torch_backend = load_backend("torch", ckpt)
    assert torch_backend.name == "torch-cpu" and torch_backend.contract == CONTRACT
    crops, spectrum = prepare_images(parity_crops(6), CONTRACT)
    p_torch = torch_backend.predict(crops, spectrum)
    p_ort = load_backend("ort", onnx).predict(crops, spectrum)
    assert p_torch.shape == (6,) and p_torch.dtype == np.float32
    np.testing.assert_allclose(p_torch, p_ort, atol=1e-5)


def test_torch_backend_refuses_onnx_and_missing_cuda() -> None:
    import torch

    ckpt, onnx = seeded_classifier()
    with pytest.raises(BackendUnavailable, match="checkpoint"):
        load_backend("torch", onnx)
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailable, match="no CUDA device"):
            load_backend("torch-cuda", ckpt)
