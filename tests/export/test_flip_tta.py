"""Flip test-time augmentation inside the exported graph: the ONNX model's logit is the mean of
the crop's and its mirror image's, on real face crops, with only TensorRT-supported ops."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.preprocess import InputContract

CONTRACT = InputContract(input_size=96, spectrum_bins=80, margin=0.25, threshold=0.5)


def test_flip_tta_graph_averages_crop_and_mirror(tmp_path: Path) -> None:
    import torch

    from calibration.faces import parity_crops, prepare_images
    from export.onnx_export import export_classifier, onnx_logits
    from train.checkpoint import save_checkpoint
    from train.models import config_to_dict, create_model, model_config

    torch.manual_seed(0)
    cfg = model_config("mobilenet_detector", {"flip_tta": True, "neck_channels": 32})
    model = create_model("mobilenet_detector", config_to_dict(cfg)).eval()
    # Random weights everywhere (a fresh trunk waits for its ImageNet tensors and the head is
    # tiny), so that the image, and its mirroring, move the logit.
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.Conv2d):
                torch.nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, torch.nn.BatchNorm2d):
                m.weight.normal_(1.0, 0.2)
                m.bias.normal_(0.0, 0.2)
            elif isinstance(m, torch.nn.Linear):
                m.weight.normal_(0.0, 0.5)
    ckpt = save_checkpoint(tmp_path / "tta.pt", model, "mobilenet_detector", config_to_dict(cfg),
                           CONTRACT)
    report = export_classifier(ckpt, tmp_path / "tta.onnx", parity_n=4)
    assert report.max_abs_diff <= 1e-4
    table = Path(__file__).resolve().parents[2] / "export" / "data" / "trt10_onnx_ops.json"
    supported = set(json.loads(table.read_text())["supported"])
    assert set(report.ops) <= supported, set(report.ops) - supported

    crops, spectrum = prepare_images(parity_crops(6), CONTRACT)
    got = onnx_logits(report.path, crops, spectrum)
    plain = create_model("mobilenet_detector", config_to_dict(replace(cfg, flip_tta=False)))
    plain.load_state_dict(model.state_dict())
    plain.eval()
    with torch.no_grad():
        x, s = torch.from_numpy(crops), torch.from_numpy(spectrum)
        a = plain(x, s).numpy().reshape(-1)
        b = plain(torch.flip(x, dims=[3]), s).numpy().reshape(-1)
    np.testing.assert_allclose(got, (a + b) / 2, atol=1e-4)
    assert np.abs(a - b).max() > 1e-3  # mirroring changes the logit: the mean is not trivial
    # One crop at a time gives the same as the batch (the halves are split by batch size).
    one = np.concatenate([onnx_logits(report.path, crops[i : i + 1], spectrum[i : i + 1])
                          for i in range(len(crops))])
    np.testing.assert_allclose(one, got, atol=1e-5)
