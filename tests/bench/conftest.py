"""Fixtures for the benchmark tests: a short real clip and a classifier ONNX."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "engine" / "models" / "classifier.onnx"


@pytest.fixture(scope="session")
def portrait_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """12 frames of 640x480 with Grace Hopper's portrait (shipped in the package) drifting."""
    face = cv2.imread(str(REPO / "engine" / "assets" / "grace_hopper_512x512.jpg"))
    face = cv2.resize(face, (300, 300), interpolation=cv2.INTER_AREA)
    path = tmp_path_factory.mktemp("clip") / "hopper.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (640, 480))
    assert writer.isOpened()
    for i in range(12):
        frame = np.full((480, 640, 3), 90, dtype=np.uint8)
        x, y = 150 + 4 * i, 90 + 2 * i
        frame[y : y + 300, x : x + 300] = face
        writer.write(frame)
    writer.release()
    return path


@pytest.fixture(scope="session")
def classifier_onnx(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped classifier, or (before it exists) a small default-init one exported here."""
    if SHIPPED.is_file():
        return SHIPPED
    torch = pytest.importorskip("torch")
    onnx = pytest.importorskip("onnx")
    from engine.preprocess import InputContract
    from train.models import create_model

    contract = InputContract()
    net = create_model("spatial_spectral_tiny").eval()
    path = tmp_path_factory.mktemp("model") / "classifier.onnx"
    s = contract.input_size
    torch.onnx.export(net, (torch.rand(1, 3, s, s), torch.rand(1, contract.spectrum_bins)),
                      str(path), dynamo=False, opset_version=18,
                      input_names=["crops", "spectrum"], output_names=["logit"],
                      dynamic_axes={"crops": {0: "b"}, "spectrum": {0: "b"}, "logit": {0: "b"}})
    model = onnx.load(str(path))
    meta = {**contract.to_metadata(), "deepscreen.model_name": '"spatial_spectral_tiny"'}
    for key, value in meta.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))
    return path
