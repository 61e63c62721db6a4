"""A crude but real face swap: landmark-aligned warp, elliptical mask, colour transfer, blend.

This is the "fake" in the built-in demo. It follows the classic pre-GAN face-swap recipe:

1. Align: a similarity transform (rotation, uniform scale, translation) that maps the five
   MTCNN landmarks of the source face onto those of the target face (least squares, Umeyama).
2. Mask: an ellipse over the target's inner face (brows to chin), oriented along the eye line,
   clipped to where the warped source has pixels, then feathered so there is no hard seam.
3. Colour: the warped source is shifted to the target's per-channel mean and spread inside the
   mask (Reinhard's transfer in Lab), so skin tones and lighting roughly agree.
4. Blend: feathered alpha blending (default) or OpenCV's Poisson ``seamlessClone``.

The result is the target's head, hair, clothes and background with the source's eyes, nose and
mouth: exactly the kind of blending boundary and resampling trace a deepfake detector should
notice. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import cv2
import numpy as np

from engine.errors import InputError
from engine.types import Detection

BlendMethod = Literal["alpha", "seamless"]


@dataclass(frozen=True)
class SwapResult:
    """A swapped image and what was done to make it.

    Attributes:
        image: HxWx3 BGR uint8, the target image with the source face blended in.
        mask: HxW float32 in [0, 1], the blending weight of the source (1 = pure source).
        transform: 2x3 float64 similarity matrix mapping source pixels to target pixels.
        source_landmarks_in_target: (5, 2) source landmarks after the transform; they should
            lie close to the target landmarks (see ``alignment_error``).
        alignment_error: mean landmark distance after alignment, in target pixels.
    """

    image: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    transform: np.ndarray = field(repr=False)
    source_landmarks_in_target: np.ndarray = field(repr=False)
    alignment_error: float


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity transform mapping ``src`` points onto ``dst`` (Umeyama 1991).

    Args:
        src: (N, 2) points, N >= 2.
        dst: (N, 2) corresponding points.

    Returns:
        2x3 float64 matrix ``M`` with ``dst ~= M[:, :2] @ src + M[:, 2]``.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    if src.shape != dst.shape or src.ndim != 2 or src.shape[1] != 2 or len(src) < 2:
        raise ValueError(f"need two matching (N>=2, 2) point sets, got {src.shape}, {dst.shape}")
    mu_s, mu_d = src.mean(axis=0), dst.mean(axis=0)
    s_c, d_c = src - mu_s, dst - mu_d
    var_s = (s_c**2).sum() / len(src)
    if var_s <= 1e-12:
        raise ValueError("source points are all identical")
    cov = d_c.T @ s_c / len(src)
    u, sig, vt = np.linalg.svd(cov)
    # Reflection guard: a face seen in a mirror is not the same face, so force det(R) = +1.
    d = np.ones(2)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[-1] = -1.0
    rot = u @ np.diag(d) @ vt
    scale = (sig * d).sum() / var_s
    m = np.empty((2, 3))
    m[:, :2] = scale * rot
    m[:, 2] = mu_d - scale * rot @ mu_s
    return m


def apply_transform(m: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Apply a 2x3 affine matrix to (N, 2) points."""
    pts = np.asarray(points, dtype=np.float64)
    return pts @ m[:, :2].T + m[:, 2]


def face_ellipse_mask(shape: tuple[int, int], landmarks: np.ndarray) -> np.ndarray:
    """Binary mask (uint8, 0/255) of an ellipse covering the inner face given 5 landmarks.

    The proportions are in units of the eye distance ``d``: the ellipse is centred a little
    above the mouth, 0.95 d wide on each side of the centre (cheek to cheek, inside the ears)
    and 1.2 d tall on each side (brows to chin), rotated with the eye line. Keeping it
    inside the face outline avoids carrying the source's hair and background across.
    """
    lm = np.asarray(landmarks, dtype=np.float64)
    left_eye, right_eye, _nose, mouth_l, mouth_r = lm
    eye_mid = (left_eye + right_eye) / 2
    mouth_mid = (mouth_l + mouth_r) / 2
    eye_vec = right_eye - left_eye
    d = float(np.hypot(*eye_vec))
    if d < 2:
        raise InputError(f"face too small to swap (eye distance {d:.1f} px)")
    angle = float(np.degrees(np.arctan2(eye_vec[1], eye_vec[0])))
    centre = eye_mid + 0.55 * (mouth_mid - eye_mid)
    axes = (int(round(0.95 * d)), int(round(1.2 * d)))
    mask = np.zeros(shape, dtype=np.uint8)
    cv2.ellipse(
        mask,
        (int(round(centre[0])), int(round(centre[1]))),
        axes,
        angle,
        0,
        360,
        255,
        thickness=-1,
        lineType=cv2.LINE_AA,
    )
    return mask


def transfer_colour(source: np.ndarray, target: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Shift ``source`` so its Lab mean and spread inside ``mask`` match ``target``'s.

    Args:
        source: HxWx3 BGR uint8 (already aligned to the target).
        target: HxWx3 BGR uint8.
        mask: HxW, non-zero where the statistics are measured.

    Returns:
        HxWx3 BGR uint8, the colour-corrected source.
    """
    sel = mask > 0
    if sel.sum() < 16:
        return source.copy()
    src_lab = cv2.cvtColor(source, cv2.COLOR_BGR2LAB).astype(np.float32)
    dst_lab = cv2.cvtColor(target, cv2.COLOR_BGR2LAB).astype(np.float32)
    s_mean, s_std = src_lab[sel].mean(axis=0), src_lab[sel].std(axis=0)
    d_mean, d_std = dst_lab[sel].mean(axis=0), dst_lab[sel].std(axis=0)
    # Clamp the gain: a near-flat source channel would otherwise be blown up into noise.
    gain = np.clip(d_std / np.maximum(s_std, 1e-3), 0.5, 2.0)
    out = (src_lab - s_mean) * gain + d_mean
    return cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR)


def swap_face(
    source: np.ndarray,
    source_face: Detection,
    target: np.ndarray,
    target_face: Detection,
    method: BlendMethod = "alpha",
    feather: float = 0.12,
) -> SwapResult:
    """Blend the face of ``source`` onto the face of ``target``.

    Args:
        source: HxWx3 BGR uint8 image that provides the face.
        source_face: detection (with 5 landmarks) of the face in ``source``.
        target: HxWx3 BGR uint8 image that receives the face (keeps its head and background).
        target_face: detection of the face in ``target``.
        method: "alpha" (feathered alpha blend) or "seamless" (Poisson blending).
        feather: width (Gaussian sigma) of the soft edge as a fraction of the target's eye
            distance; larger hides the seam better but keeps more of the target.

    Returns:
        A :class:`SwapResult`.

    Raises:
        InputError: when the images are not BGR uint8 or the face is too small.
    """
    for name, img in (("source", source), ("target", target)):
        if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
            raise InputError(f"{name} must be an HxWx3 uint8 BGR image, got {img.shape}")
    h, w = target.shape[:2]
    m = similarity_transform(source_face.landmarks, target_face.landmarks)
    warped = cv2.warpAffine(source, m, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
    # Only blend where the warped source actually has pixels.
    valid = cv2.warpAffine(
        np.full(source.shape[:2], 255, np.uint8), m, (w, h), flags=cv2.INTER_NEAREST
    )
    hard = cv2.bitwise_and(face_ellipse_mask((h, w), target_face.landmarks), valid)
    if cv2.countNonZero(hard) < 16:
        raise InputError("the aligned source face does not overlap the target face")
    # Colour statistics from an eroded core, so the edge of the ellipse (hair, jaw shadow)
    # does not bias them.
    eye_d = float(np.hypot(*np.subtract(target_face.landmarks[1], target_face.landmarks[0])))
    k = max(3, int(eye_d * 0.25) | 1)
    core = cv2.erode(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k)))
    corrected = transfer_colour(warped, target, core if cv2.countNonZero(core) else hard)

    sigma = max(1.0, feather * eye_d)
    # Erode before blurring so the soft edge lies inside the ellipse, not outside it.
    ek = max(3, int(2 * sigma) | 1)
    inner = cv2.erode(hard, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (ek, ek)))
    soft = cv2.GaussianBlur(inner.astype(np.float32) / 255.0, (0, 0), sigma)
    soft = np.clip(soft, 0.0, 1.0) * (valid > 0)

    if method == "seamless":
        x, y, bw, bh = cv2.boundingRect(hard)
        centre = (x + bw // 2, y + bh // 2)
        out = cv2.seamlessClone(corrected, target, hard, centre, cv2.NORMAL_CLONE)
    elif method == "alpha":
        a = soft[..., None]
        out = (corrected.astype(np.float32) * a + target.astype(np.float32) * (1 - a)).round()
        out = out.astype(np.uint8)
    else:
        raise InputError(f"unknown blend method {method!r} (use 'alpha' or 'seamless')")

    moved = apply_transform(m, source_face.landmarks)
    err = float(np.linalg.norm(moved - np.asarray(target_face.landmarks), axis=1).mean())
    return SwapResult(
        image=out,
        mask=soft.astype(np.float32),
        transform=m,
        source_landmarks_in_target=moved,
        alignment_error=err,
    )
