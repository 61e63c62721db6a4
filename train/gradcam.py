"""Grad-CAM (Selvaraju et al., 2017) heat maps of the spatial branch for one face."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine.errors import InputError


def gradcam(model, crop_bgr: np.ndarray, contract, layer=None) -> tuple[np.ndarray, float]:
    """Heat map of where the spatial branch looked to call this crop fake.

    Args:
        model: a :class:`train.models.spatial_spectral.SpatialSpectralNet` in eval mode.
        crop_bgr: native-resolution BGR face crop.
        contract: the model's input contract.
        layer: module whose activations are explained (default: the last residual stage).

    Returns:
        (heat map (S, S) float32 in [0, 1] at the crop's native size, p_fake).
    """
    import torch

    from engine.features.spectral import radial_spectrum
    from engine.preprocess import prepare_crops

    layer = layer if layer is not None else model.spatial.stages[-1]
    acts: dict[str, torch.Tensor] = {}

    def hook(_module, _inp, out):
        out.retain_grad()
        acts["a"] = out

    handle = layer.register_forward_hook(hook)
    try:
        x = torch.from_numpy(prepare_crops([crop_bgr], contract))
        s = torch.from_numpy(radial_spectrum([crop_bgr], contract.spectrum_bins))
        model.eval()
        model.zero_grad(set_to_none=True)
        logit = model(x, s)[0, 0]
        logit.backward()
    finally:
        handle.remove()
    a, g = acts["a"][0], acts["a"].grad[0]
    weights = g.mean(dim=(1, 2))
    cam = torch.relu((weights[:, None, None] * a).sum(0)).detach().numpy()
    if cam.max() > 0:
        cam = cam / cam.max()
    h, w = crop_bgr.shape[:2]
    cam = cv2.resize(cam.astype(np.float32), (w, h), interpolation=cv2.INTER_LINEAR)
    return cam, float(torch.sigmoid(logit).item())


def overlay(crop_bgr: np.ndarray, cam: np.ndarray, alpha: float = 0.45) -> np.ndarray:
    """Colour-mapped heat map blended over the crop (BGR uint8)."""
    heat = cv2.applyColorMap(np.uint8(np.clip(cam, 0, 1) * 255), cv2.COLORMAP_JET)
    return cv2.addWeighted(crop_bgr, 1 - alpha, heat, alpha, 0)


def gradcam_image(
    image_path: str | Path,
    checkpoint: str | Path,
    out_png: str | Path,
    crops: bool = False,
    min_face: int = 40,
) -> float:
    """Write crop | overlay side by side for the largest face of an image; return p_fake.

    Raises:
        InputError: no face found (and ``crops`` not set).
    """
    from engine.crops import square_crop
    from engine.io import read_image
    from train.checkpoint import build_model_from_checkpoint
    from train.data import largest_face, make_detector

    model, contract = build_model_from_checkpoint(checkpoint)
    img = read_image(image_path)
    if crops:
        crop = img
    else:
        det = largest_face(make_detector(min_face).detect(img))
        if det is None:
            raise InputError(f"no face found in {image_path} (use --crops for face crops)")
        crop = square_crop(img, det.box, margin=contract.margin)
    cam, p = gradcam(model, crop, contract)
    panel = np.hstack([crop, overlay(crop, cam)])
    side = 256
    panel = cv2.resize(panel, (2 * side, side), interpolation=cv2.INTER_AREA)
    verdict = "fake" if p >= contract.threshold else "real"
    cv2.putText(panel, f"p_fake {p:.3f} ({verdict})", (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                (255, 255, 255), 1, cv2.LINE_AA)
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_png), panel):
        raise InputError(f"cannot write {out_png}")
    return p
