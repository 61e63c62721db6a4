"""A real classifier checkpoint from the model registry (fixed seed, untrained) and its ONNX.

Untrained weights are enough for export parity, FP16/INT8 plumbing and op-support checks; the
accuracy gate on a trained model uses the shipped ``engine/models/classifier.onnx`` instead.
The export runs once per test session (about 10 s) and is shared by every test module.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import pytest

from engine.preprocess import InputContract

MODEL_NAME = "spatial_spectral_tiny"
# Not the defaults, so the tests see that the checkpoint's contract really travels.
CONTRACT = InputContract(input_size=96, spectrum_bins=80, threshold=0.37, margin=0.2)
SHIPPED = Path(__file__).resolve().parents[2] / "engine" / "models" / "classifier.onnx"


def write_checkpoint(path: Path, seed: int = 0) -> Path:
    """Save a freshly initialised registered model as a deepscreen checkpoint."""
    torch = pytest.importorskip("torch")
    from train.checkpoint import save_checkpoint
    from train.models import config_to_dict, create_model, model_config

    torch.manual_seed(seed)
    config = config_to_dict(model_config(MODEL_NAME))
    model = create_model(MODEL_NAME, config)
    model.eval()
    return save_checkpoint(path, model, MODEL_NAME, config, CONTRACT)


@functools.cache
def _exported() -> tuple[Path, Path]:
    from export.onnx_export import export_classifier

    folder = Path(tempfile.mkdtemp(prefix="deepscreen-seeded-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    ckpt = write_checkpoint(folder / "seeded.pt")
    export_classifier(ckpt, folder / "classifier.onnx")
    return ckpt, folder / "classifier.onnx"


def seeded_classifier() -> tuple[Path, Path]:
    """(checkpoint, verified FP32 ONNX) of the seeded model, exported once per session."""
    pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    return _exported()
