"""Self-blended images (Shiohara and Yamasaki, "Detecting Deepfakes with Self-Blended Images",
CVPR 2022): pseudo-fakes made from a real face alone.

A real face is blended with a slightly altered copy of itself (colour and sharpness shifted,
scaled and moved by a few pixels) inside a soft, randomly deformed mask around the inner face.
The result carries exactly the traces a face swap leaves (a blending boundary, a colour and
sharpness mismatch, a small misalignment) and nothing else, so a detector trained on it learns
those traces instead of one generator's fingerprint.

Our detector gives five landmarks (eyes, nose, mouth corners), not the 68 of the paper: the mask
is the convex hull of those points pushed out to the cheeks, forehead and chin.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from train.augment import color_jitter, gaussian_blur


@dataclass(frozen=True)
class SBIConfig:
    """Strength of the self-blending transformations.

    Attributes:
        fraction: self-blended fakes added per real training image and epoch (0 disables SBI).
        hull_scale: (min, max) scale of the face polygon around its centre.
        point_jitter: largest random displacement of each polygon point, in eye distances.
        blur_frac: (min, max) mask blur sigma as a fraction of the eye distance.
        max_shift: largest translation of the source copy, in eye distances.
        scale: (min, max) scale of the source copy.
        color: largest per-channel colour shift of the source copy, as a fraction of 255.
        p_full_blend: probability of blend ratio 1 (else uniform in ``blend_ratio``).
        blend_ratio: (min, max) blend ratio when not fully blended.
        p_render: probability that the altered copy is also resampled as if its face had been
            rendered at a width drawn from ``render_side`` pixels and pasted back: the trace of
            one-shot and live swappers (inswapper 128 px, SimSwap 224 px, DeepFaceLive), whose
            inner face is softer than the frame around it. 0 keeps the original SBI (and the
            view caches of configs without it).
        render_side: (min, max) width in pixels of that rendered face (a face already narrower
            is left alone).
    """

    fraction: float = 0.5
    hull_scale: tuple[float, float] = (0.85, 1.15)
    point_jitter: float = 0.12
    blur_frac: tuple[float, float] = (0.05, 0.25)
    max_shift: float = 0.05
    scale: tuple[float, float] = (0.95, 1.05)
    color: float = 0.08
    p_full_blend: float = 0.5
    blend_ratio: tuple[float, float] = (0.4, 1.0)
    p_render: float = 0.0
    render_side: tuple[float, float] = (64.0, 256.0)


def face_polygon(landmarks: np.ndarray) -> np.ndarray:
    """Twelve points around the inner face, derived from the five MTCNN landmarks.

    Args:
        landmarks: (5, 2) left eye, right eye, nose, left mouth corner, right mouth corner.

    Returns:
        (12, 2) float32 polygon (not necessarily convex; the mask takes its hull).
    """
    le, re, nose, ml, mr = (np.asarray(p, np.float32) for p in landmarks)
    across = re - le  # eye to eye
    eye_c = (le + re) / 2
    down = (ml + mr) / 2 - eye_c  # eyes to mouth
    return np.stack(
        [
            eye_c - 0.9 * down - 0.35 * across,
            eye_c - 0.9 * down + 0.35 * across,
            le - 0.45 * across - 0.3 * down,
            re + 0.45 * across - 0.3 * down,
            le - 0.5 * across + 0.4 * down,
            re + 0.5 * across + 0.4 * down,
            ml - 0.4 * across + 0.3 * down,
            mr + 0.4 * across + 0.3 * down,
            ml + 0.6 * down,
            mr + 0.6 * down,
            nose,
            eye_c,
        ]
    ).astype(np.float32)


def blend_mask(
    shape: tuple[int, int], landmarks: np.ndarray, cfg: SBIConfig, rng: np.random.Generator
) -> np.ndarray:
    """A soft, randomly deformed face mask in [0, 1], (H, W) float32, exactly 0 far outside."""
    h, w = shape
    le, re = np.asarray(landmarks[0], np.float32), np.asarray(landmarks[1], np.float32)
    eye_dist = max(float(np.linalg.norm(re - le)), 4.0)
    pts = face_polygon(landmarks)
    centre = pts.mean(axis=0)
    pts = centre + (pts - centre) * rng.uniform(*cfg.hull_scale)
    pts = pts + rng.uniform(-1, 1, pts.shape).astype(np.float32) * cfg.point_jitter * eye_dist
    mask = np.zeros((h, w), np.uint8)
    hull = cv2.convexHull(np.round(pts).astype(np.int32))
    cv2.fillConvexPoly(mask, hull, 255)
    # Random erosion or dilation deforms the outline beyond what the hull jitter does.
    k = int(rng.integers(1, max(2, int(0.15 * eye_dist))))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * k + 1, 2 * k + 1))
    mask = cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel)
    soft = mask.astype(np.float32) / 255.0
    sigma = rng.uniform(*cfg.blur_frac) * eye_dist
    soft = gaussian_blur(soft, max(sigma, 0.5))
    ratio = 1.0 if rng.random() < cfg.p_full_blend else rng.uniform(*cfg.blend_ratio)
    soft = soft * ratio
    soft[soft < 1e-3] = 0.0  # exact zero outside: the rest of the image stays untouched
    return soft


def source_copy(
    img: np.ndarray, landmarks: np.ndarray, cfg: SBIConfig, rng: np.random.Generator
) -> np.ndarray:
    """The altered copy: rendered at a lower resolution (``p_render``), colour shift, blur or
    sharpen, then a small scale and translation."""
    if cfg.p_render > 0 and rng.random() < cfg.p_render:
        img = render_at(img, landmarks, rng.uniform(*cfg.render_side))
    out = img.astype(np.float32) + rng.uniform(-cfg.color, cfg.color, 3).astype(np.float32) * 255
    out = np.clip(out, 0, 255).astype(np.uint8)
    out = color_jitter(out, 0.0, rng.uniform(0.9, 1.1), rng.uniform(0.85, 1.15))
    if rng.random() < 0.5:
        out = gaussian_blur(out, rng.uniform(0.5, 1.5))
    else:
        soft = gaussian_blur(out, 1.0).astype(np.float32)
        amount = rng.uniform(0.3, 1.0)
        out = np.clip(out.astype(np.float32) * (1 + amount) - soft * amount, 0, 255)
        out = out.astype(np.uint8)
    le, re = np.asarray(landmarks[0], np.float32), np.asarray(landmarks[1], np.float32)
    eye_dist = max(float(np.linalg.norm(re - le)), 4.0)
    centre = np.asarray(landmarks, np.float32).mean(axis=0)
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), 0.0, rng.uniform(*cfg.scale))
    m[:, 2] += rng.uniform(-cfg.max_shift, cfg.max_shift, 2) * eye_dist
    h, w = img.shape[:2]
    return cv2.warpAffine(out, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def render_at(img: np.ndarray, landmarks: np.ndarray, face_width: float) -> np.ndarray:
    """The image resampled so that its face is ``face_width`` pixels wide, then back to size.

    The face's width is taken as 2.2 eye distances (cheek to cheek for a frontal face). A face
    already narrower than ``face_width`` is returned unchanged.
    """
    le, re = np.asarray(landmarks[0], np.float32), np.asarray(landmarks[1], np.float32)
    width = 2.2 * max(float(np.linalg.norm(re - le)), 4.0)
    if width <= face_width:
        return img
    f = face_width / width
    h, w = img.shape[:2]
    small = cv2.resize(img, (max(8, round(w * f)), max(8, round(h * f))),
                       interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def self_blend(
    img: np.ndarray, landmarks: np.ndarray, cfg: SBIConfig, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Make one self-blended pseudo-fake.

    Args:
        img: (H, W, 3) BGR uint8 real face image.
        landmarks: (5, 2) MTCNN landmarks in ``img`` pixel coordinates.
        cfg: SBI strengths.
        rng: random generator (the only source of randomness).

    Returns:
        (blended uint8 image, mask (H, W) float32 in [0, 1]); pixels where the mask is 0 are
        identical to ``img``.
    """
    src = source_copy(img, landmarks, cfg, rng)
    mask = blend_mask(img.shape[:2], landmarks, cfg, rng)
    m = mask[..., None]
    out = src.astype(np.float32) * m + img.astype(np.float32) * (1.0 - m)
    out = np.clip(np.round(out), 0, 255).astype(np.uint8)
    outside = mask == 0
    out[outside] = img[outside]
    return out, mask
