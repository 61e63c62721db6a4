"""Training augmentations on BGR uint8 images, each with its own probability in the config.

Blur + JPEG re-compression follow Wang et al. ("CNN-generated images are surprisingly easy to
spot... for now", CVPR 2020): they are what makes a CNN detector survive the blur and codecs of
real footage. Every function takes an explicit ``numpy.random.Generator`` so that a sample's
augmentation depends only on (seed, epoch, index): runs are reproducible with any worker count.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class AugmentConfig:
    """Probabilities and ranges of the crop-level augmentations (p = 0 disables one).

    Attributes:
        p_blur: probability of a Gaussian blur with sigma drawn from ``blur_sigma``.
        blur_sigma: (min, max) Gaussian sigma in pixels of the native crop.
        p_jpeg: probability of a JPEG re-compression with quality drawn from ``jpeg_quality``.
        jpeg_quality: (min, max) JPEG quality, inclusive.
        p_flip: probability of a horizontal flip.
        p_rotate: probability of a rotation by an angle drawn from +-``max_rotate_deg``.
        max_rotate_deg: largest rotation in degrees.
        p_rescale: probability of rescaling the whole image before cropping (changes the native
            crop resolution, so neither branch can key on one resolution).
        rescale: (min, max) scale factor.
        p_color: probability of a brightness/contrast/saturation jitter.
        brightness: largest additive brightness change, as a fraction of 255.
        contrast: largest relative contrast change.
        saturation: largest relative saturation change.
        box_jitter: largest relative shift/scale of the face box (detector noise).
        p_gray: probability of converting the crop to grayscale (kept as 3 channels). Without
            it a source that is all grayscale (``lfw``) teaches "grayscale means real", and a
            camera in night (IR) mode, or a grayscale fake, would pass as real.
        p_fit: probability of pulling a crop square that reaches past the image back inside it
            (same centre where possible, side at most the image's). Pre-cropped face sources
            (``dfdc-faces``, ``utkface``: 28-40 % of the canonical square is image) otherwise
            train only on crops that are mostly replicated border streaks, while a face in a
            video frame always has real context around it.
        p_soften_real: probability that a *real* view is resampled as if its face square had
            been captured at a side drawn from ``soften_size`` (downscaled, then upscaled back).
            DFDC's swapped faces are softer than their real twins (a generator upsampled them):
            without this the model learns "soft means fake" and calls real faces from a
            low-resolution or defocused camera fake (the ensemble shipped before v9: DFDC real
            TNR 0.713 on the softest third of the test faces, 0.855 on the sharpest;
            ``research/sharpness_probe.py``, docs/experiments/2026-11-30-v9-softened-real-views.md).
            Fakes are never softened by it, so softness alone stops predicting the label.
        soften_size: (min, max) side in pixels of the face square when softened; a square
            already smaller is left alone.
        p_sharpen_real: probability that a *real* view is sharpened by an unsharp mask
            (:func:`unsharp`; amount and radius drawn from ``sharpen_amount`` and
            ``sharpen_sigma``), after any softening, as a camera's or an editor's sharpening
            would. At the network's input the real training sources are soft (variance of the
            Laplacian at 224 px: DFDC 23, LFW 23, IMFDB 11) except FFHQ (309), and the
            synthetic ones sharp (StyleGAN 323, Stable Diffusion 1031), so the shipped v9 calls
            sharp studio portraits of real people fake (``research/resolution_probe.py``).
        sharpen_amount: (min, max) strength of the unsharp mask (1.0 adds the full detail once).
        sharpen_sigma: (min, max) Gaussian radius of the unsharp mask, in pixels of the crop.
        p_precrop: probability that a view of a face with real context all round (at least
            half of its crop square is image) is first cut out of its image the way the
            pre-cropped face sources ship theirs (:func:`precrop`), so that its crop square is
            mostly ``BORDER_REPLICATE`` streaks. Both labels get it. Without it only
            ``dfdc-faces`` (half fakes) trains on streaked framing, the model ties "streaks" to
            DFDC and its prior, and the held-out UTKFace reals (streaked the same way, 40 %
            image) are false alarms: TNR 0.780 canonical, 0.94 with real pixels only
            (``research/framing_probe.py``, docs/experiments/2026-11-30-v6-v7-fitted-framing.md).
            Tried at 0.3 on v9's recipe (v11): UTKFace TNR 0.780 -> 0.824, but DFDC real TNR 0.813
            -> 0.784, so the shipped recipe does not use it
            (docs/experiments/2026-11-30-v11-precropped-framing.md).
        precrop_side: (min, max) side of that cut as a multiple of the face box's longer side;
            DFDC's 224 px crops are about 0.68 of theirs, UTKFace's about 0.76.
    """

    p_blur: float = 0.25
    blur_sigma: tuple[float, float] = (0.2, 2.0)
    p_jpeg: float = 0.4
    jpeg_quality: tuple[int, int] = (40, 95)
    p_flip: float = 0.5
    p_rotate: float = 0.3
    max_rotate_deg: float = 10.0
    p_rescale: float = 0.5
    rescale: tuple[float, float] = (0.5, 1.5)
    p_color: float = 0.4
    brightness: float = 0.1
    contrast: float = 0.2
    saturation: float = 0.2
    box_jitter: float = 0.06
    p_gray: float = 0.0
    p_fit: float = 0.0
    p_soften_real: float = 0.0
    soften_size: tuple[int, int] = (80, 160)
    p_sharpen_real: float = 0.0
    sharpen_amount: tuple[float, float] = (0.5, 1.5)
    sharpen_sigma: tuple[float, float] = (0.8, 2.0)
    p_precrop: float = 0.0
    precrop_side: tuple[float, float] = (0.6, 0.85)


def gaussian_blur(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur with the kernel size OpenCV derives from ``sigma``."""
    return cv2.GaussianBlur(img, (0, 0), sigmaX=float(sigma), borderType=cv2.BORDER_REFLECT_101)


def unsharp(img: np.ndarray, amount: float, sigma: float) -> np.ndarray:
    """Unsharp mask: ``img + amount * (img - blur(img, sigma))``, clipped to uint8."""
    blurred = gaussian_blur(img, sigma).astype(np.float32)
    out = img.astype(np.float32) * (1.0 + amount) - blurred * amount
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def jpeg_recompress(img: np.ndarray, quality: int) -> np.ndarray:
    """Encode to JPEG at ``quality`` and decode again (BGR uint8 in, BGR uint8 out)."""
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("OpenCV could not JPEG-encode an augmentation sample")
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)


def rotate(img: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate about the centre, reflecting the border (no black corners to key on)."""
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), float(degrees), 1.0)
    return cv2.warpAffine(img, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)


def color_jitter(
    img: np.ndarray, brightness: float, contrast: float, saturation: float
) -> np.ndarray:
    """Apply the given brightness offset (fraction of 255) and contrast/saturation factors."""
    out = img.astype(np.float32)
    mean = out.mean()
    out = (out - mean) * contrast + mean + brightness * 255.0
    gray = out @ np.array([0.114, 0.587, 0.299], np.float32)
    out = gray[..., None] + (out - gray[..., None]) * saturation
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def to_gray(img: np.ndarray) -> np.ndarray:
    """The luma of a BGR image, repeated in the three channels (what an IR camera delivers)."""
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)


def fit_square(
    cx: float, cy: float, side: float, shape: tuple[int, ...]
) -> tuple[float, float, float]:
    """The square (cx, cy, side) shrunk to fit the image, then moved inside it.

    A square that already lies inside the image is returned unchanged.
    """
    h, w = shape[:2]
    side = min(side, float(w), float(h))
    cx = min(max(cx, side / 2.0), w - side / 2.0)
    cy = min(max(cy, side / 2.0), h - side / 2.0)
    return cx, cy, side


def image_fraction(cx: float, cy: float, side: float, shape: tuple[int, ...]) -> float:
    """The fraction of the square (cx, cy, side) that lies inside an image of ``shape``."""
    h, w = shape[:2]
    half = side / 2.0
    iw = max(0.0, min(cx + half, float(w)) - max(cx - half, 0.0))
    ih = max(0.0, min(cy + half, float(h)) - max(cy - half, 0.0))
    return iw * ih / max(side * side, 1e-9)


def precrop(
    img: np.ndarray, cx: float, cy: float, cut: float, dx: float = 0.0, dy: float = 0.0
) -> tuple[np.ndarray, float, float]:
    """Cut a square of side ``cut`` around (cx + dx, cy + dy) out of ``img`` (clipped to it).

    What a pre-cropped face dataset ships: a tight crop of the face. Returns the cut and the
    point (cx, cy) in its coordinates, so the caller's crop square can follow it; the part of
    that square outside the cut is then filled by edge replication, as for ``dfdc-faces``.
    """
    h, w = img.shape[:2]
    half = cut / 2.0
    x0 = max(0, int(round(cx + dx - half)))
    y0 = max(0, int(round(cy + dy - half)))
    x1 = min(w, max(x0 + 8, int(round(cx + dx + half))))
    y1 = min(h, max(y0 + 8, int(round(cy + dy + half))))
    return img[y0:y1, x0:x1].copy(), cx - x0, cy - y0


def rescale(img: np.ndarray, factor: float) -> np.ndarray:
    """Resize by ``factor`` (INTER_AREA down, INTER_LINEAR up), as a different camera would."""
    h, w = img.shape[:2]
    size = (max(8, round(w * factor)), max(8, round(h * factor)))
    interp = cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR
    return cv2.resize(img, size, interpolation=interp)


def soften(img: np.ndarray, side: float) -> np.ndarray:
    """The square crop as a camera with ``side`` pixels across it would have seen it.

    INTER_AREA down (a sensor pixel integrates its area), INTER_LINEAR back up (what
    ``engine.preprocess`` does to a crop smaller than the input); a crop already at most
    ``side`` pixels wide is returned unchanged.
    """
    h, w = img.shape[:2]
    if max(h, w) <= side:
        return img
    f = side / max(h, w)
    small = cv2.resize(img, (max(1, round(w * f)), max(1, round(h * f))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def augment_crop(
    img: np.ndarray, cfg: AugmentConfig, rng: np.random.Generator, label: int | None = None
) -> np.ndarray:
    """Crop-level augmentations in a fixed order: flip, rotate, colour, grayscale, soften,
    sharpen, blur, JPEG.

    Blur and JPEG come last because they model what happens to a finished image on its way to
    the detector (re-encoding, soft focus). ``label`` (0 = real) enables ``p_soften_real`` and
    ``p_sharpen_real``; None (unknown) never softens or sharpens.
    """
    if rng.random() < cfg.p_flip:
        img = img[:, ::-1].copy()
    if rng.random() < cfg.p_rotate:
        img = rotate(img, rng.uniform(-cfg.max_rotate_deg, cfg.max_rotate_deg))
    if rng.random() < cfg.p_color:
        img = color_jitter(
            img,
            rng.uniform(-cfg.brightness, cfg.brightness),
            rng.uniform(1 - cfg.contrast, 1 + cfg.contrast),
            rng.uniform(1 - cfg.saturation, 1 + cfg.saturation),
        )
    # Drawn only when enabled, so configs without it keep every later draw (and their caches).
    if cfg.p_gray > 0 and rng.random() < cfg.p_gray:
        img = to_gray(img)
    # Drawn only for real views and only when enabled: older configs keep their caches.
    if cfg.p_soften_real > 0 and label == 0 and rng.random() < cfg.p_soften_real:
        img = soften(img, int(rng.integers(cfg.soften_size[0], cfg.soften_size[1] + 1)))
    if cfg.p_sharpen_real > 0 and label == 0 and rng.random() < cfg.p_sharpen_real:
        img = unsharp(img, rng.uniform(*cfg.sharpen_amount), rng.uniform(*cfg.sharpen_sigma))
    if rng.random() < cfg.p_blur:
        img = gaussian_blur(img, rng.uniform(*cfg.blur_sigma))
    if rng.random() < cfg.p_jpeg:
        img = jpeg_recompress(img, int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1)))
    return img
