"""The PyTorch eager backend of the benchmark agrees with ONNX Runtime on the same network."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("train.models")

from bench.torch_model import build_torch_model, onnx_architecture  # noqa: E402
from engine.backends.factory import load_backend  # noqa: E402
from engine.errors import BackendUnavailable  # noqa: E402
from engine.features.spectral import radial_spectrum  # noqa: E402
from engine.preprocess import prepare_crops  # noqa: E402
from export.torch_backend import TorchBackend  # noqa: E402


def _real_crops() -> list[np.ndarray]:
    from skimage import data

    rgb = data.astronaut()
    bgr = np.ascontiguousarray(rgb[..., ::-1])
    return [bgr[0:200, 120:320], bgr[20:180, 150:310], bgr[250:500, 250:500]]


def test_architecture_read_from_onnx_metadata(classifier_onnx: Path) -> None:
    name, _config, contract = onnx_architecture(classifier_onnx)
    from train.models import list_models

    assert name in list_models()  # a registered architecture the benchmark can rebuild
    assert contract.input_size > 0 and contract.spectrum_bins > 0


def test_torch_backend_matches_onnx_runtime(tmp_path: Path) -> None:
    """Same weights on both sides: export the eager model, compare probabilities on real crops."""
    model, contract, spec = build_torch_model(None, None)
    assert spec.weights.startswith("default init")
    onnx_path = tmp_path / "m.onnx"
    s = contract.input_size
    torch.onnx.export(model, (torch.rand(1, 3, s, s), torch.rand(1, contract.spectrum_bins)),
                      str(onnx_path), dynamo=False, opset_version=18,
                      input_names=["crops", "spectrum"], output_names=["logit"],
                      dynamic_axes={"crops": {0: "b"}, "spectrum": {0: "b"}, "logit": {0: "b"}})
    crops = _real_crops()
    x = prepare_crops(crops, contract)
    spectrum = radial_spectrum(crops, contract.spectrum_bins).astype(np.float32)
    eager = TorchBackend(model, contract).predict(x, spectrum)
    ort = load_backend("ort", onnx_path).predict(x, spectrum)
    assert eager.shape == (3,)
    np.testing.assert_allclose(eager, ort, atol=1e-5)
    # Without a checkpoint or a name in the metadata, the architecture is recognised from the
    # ONNX graph's MACs per crop.
    _, _, found = build_torch_model(None, onnx_path)
    assert found.model_name == "spatial_spectral" and "MACs" in found.how


def test_cuda_without_gpu_is_a_clear_error() -> None:
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    model, contract, _ = build_torch_model(None, None)
    with pytest.raises(BackendUnavailable, match="CUDA"):
        TorchBackend(model, contract, device="cuda", half=True, cuda_graphs=True)
    with pytest.raises(BackendUnavailable):
        TorchBackend(model, contract, device="cpu", half=True)


@pytest.mark.gpu
def test_cuda_graphs_replay_matches_eager_fp16() -> None:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    model, contract, _ = build_torch_model(None, None)
    crops = _real_crops()
    x = prepare_crops(crops, contract)
    spectrum = radial_spectrum(crops, contract.spectrum_bins).astype(np.float32)
    eager = TorchBackend(model, contract, device="cuda", half=True).predict(x, spectrum)
    graphs = TorchBackend(model, contract, device="cuda", half=True, cuda_graphs=True)
    first = graphs.predict(x, spectrum)  # 3 crops run in the graph captured for 4
    again = graphs.predict(x[:2], spectrum[:2])  # a smaller batch reuses a captured bucket
    np.testing.assert_allclose(first, eager, atol=2e-3)
    np.testing.assert_allclose(again, eager[:2], atol=2e-3)
