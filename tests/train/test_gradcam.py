"""Grad-CAM on a real face with a real (randomly initialised) checkpoint."""

from __future__ import annotations

import cv2
import numpy as np
import torch
from skimage import data as skdata

from engine.preprocess import InputContract
from train.checkpoint import save_checkpoint
from train.gradcam import gradcam, gradcam_image
from train.models import config_to_dict, create_model, model_config


def test_gradcam_map_and_png(tmp_path) -> None:
    torch.manual_seed(0)
    name = "spatial_spectral_tiny"
    model = create_model(name).eval()
    contract = InputContract(input_size=64, threshold=0.5)
    ckpt = save_checkpoint(tmp_path / "m.pt", model, name, config_to_dict(model_config(name)),
                           contract)
    face = cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)[20:220, 150:350]
    cam, p = gradcam(model, face, contract)
    assert cam.shape == face.shape[:2] and cam.dtype == np.float32
    assert 0.0 <= cam.min() and cam.max() <= 1.0
    assert 0.0 <= p <= 1.0
    image = tmp_path / "astronaut.png"
    cv2.imwrite(str(image), cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR))
    out = tmp_path / "cam.png"
    p_file = gradcam_image(image, ckpt, out)
    panel = cv2.imread(str(out))
    assert panel is not None and panel.shape == (256, 512, 3)
    assert 0.0 <= p_file <= 1.0
