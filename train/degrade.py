"""One degradation chain for both classes, so that image quality carries no label.

In the shared data every sharp face is synthetic (StyleGAN at 1024 px, Stable Diffusion at
768 px) and every real source soft (DFDC, LFW, IMFDB, UTKFace). A detector trained on it learns
"sharp means fake", and softening only the real views (``augment.p_soften_real``) teaches "soft
means real" on top (the shipped v9 calls 70 % of studio portraits of real people fake and lets
live face swaps through). The cure (Wang et al. 2020; Shiohara and Yamasaki's SBI
augmentations) is to draw the same quality degradations for real and fake views alike: the
face resampled through a random capture size, blur or sharpening, sensor noise, gamma and
colour, and a JPEG or H.264 round trip, each with its own probability and range, none of them
looking at the label. :mod:`train.quality_check` measures that the cue is gone (a logistic
regression on quality features alone must not predict the label).

Every function takes an explicit ``numpy.random.Generator``: a view depends only on its seed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from train.augment import gaussian_blur, jpeg_recompress, soften, unsharp


@dataclass(frozen=True)
class DegradeConfig:
    """Probabilities and ranges of the label-blind degradation chain (see module docstring).

    Attributes:
        p: probability that the chain runs on a training view at all (0 disables it, and
            configs without it keep their random draws and view caches).
        p_resample: probability of resampling the crop as if its square had been captured
            with a side drawn log-uniformly from ``capture_side`` pixels (down with INTER_AREA,
            back up with INTER_LINEAR; a crop already smaller is left alone).
        capture_side: (min, max) side of that capture in pixels.
        p_blur: probability of a Gaussian blur (sigma from ``blur_sigma``), exclusive with
            sharpening.
        blur_sigma: (min, max) sigma in pixels of the crop.
        p_sharpen: probability of an unsharp mask (a camera's or an editor's sharpening).
        sharpen_amount: (min, max) strength of the unsharp mask.
        sharpen_sigma: (min, max) radius of the unsharp mask.
        p_noise: probability of Gaussian sensor noise, luma-weighted, sigma from ``noise_sigma``
            (0-255 units).
        noise_sigma: (min, max) noise standard deviation.
        p_gamma: probability of a gamma curve with exponent from ``gamma``.
        gamma: (min, max) exponent.
        p_jpeg: probability of a JPEG round trip at a quality from ``jpeg_quality``.
        jpeg_quality: (min, max) JPEG quality, inclusive.
        p_h264: probability of an H.264 intra-frame round trip (libx264 through PyAV) at a CRF
            from ``h264_crf``, after any JPEG: what a video call or a camera stream does.
        h264_crf: (min, max) constant rate factor, inclusive (higher is worse).
    """

    p: float = 0.0
    p_resample: float = 0.6
    capture_side: tuple[float, float] = (32.0, 512.0)
    p_blur: float = 0.25
    blur_sigma: tuple[float, float] = (0.3, 2.0)
    p_sharpen: float = 0.25
    sharpen_amount: tuple[float, float] = (0.3, 1.5)
    sharpen_sigma: tuple[float, float] = (0.8, 2.0)
    p_noise: float = 0.25
    noise_sigma: tuple[float, float] = (1.0, 8.0)
    p_gamma: float = 0.25
    gamma: tuple[float, float] = (0.7, 1.4)
    p_jpeg: float = 0.5
    jpeg_quality: tuple[int, int] = (30, 95)
    p_h264: float = 0.25
    h264_crf: tuple[int, int] = (18, 40)


def add_noise(img: np.ndarray, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise, stronger in the dark (a sensor's shot noise is relatively larger there)."""
    x = img.astype(np.float32)
    weight = 1.25 - 0.5 * (x.mean(axis=2, keepdims=True) / 255.0)
    noisy = x + rng.standard_normal(x.shape, dtype=np.float32) * (sigma * weight)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def apply_gamma(img: np.ndarray, gamma: float) -> np.ndarray:
    """Pixel values raised to ``gamma`` (on [0, 1]) through a lookup table."""
    lut = np.clip(np.rint(255.0 * (np.arange(256) / 255.0) ** gamma), 0, 255).astype(np.uint8)
    return cv2.LUT(img, lut)


def h264_roundtrip(img: np.ndarray, crf: int) -> np.ndarray:
    """Encode one BGR frame with libx264 (intra, yuv420p) at ``crf`` and decode it again.

    Odd sides are padded by reflection to the even sizes 4:2:0 chroma needs, then cropped back.

    Raises:
        RuntimeError: PyAV (the ``av`` wheel, which bundles libx264) is not installed.
    """
    try:
        import av
    except ImportError as exc:  # train extra
        raise RuntimeError("the H.264 round trip needs PyAV: pip install av") from exc
    h, w = img.shape[:2]
    ph, pw = h + (h % 2), w + (w % 2)
    src = cv2.copyMakeBorder(img, 0, ph - h, 0, pw - w, cv2.BORDER_REFLECT_101)
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = pw, ph, "yuv420p"
    enc.options = {"crf": str(int(crf)), "preset": "ultrafast", "tune": "zerolatency"}
    packets = list(enc.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(src),
                                                         format="bgr24")))
    packets += list(enc.encode(None))
    dec = av.CodecContext.create("h264", "r")
    frames = []
    for packet in packets:
        frames += dec.decode(packet)
    frames += dec.decode(None)
    if not frames:
        raise RuntimeError("libx264 produced no decodable frame")
    return frames[0].to_ndarray(format="bgr24")[:h, :w].copy()


def degrade(img: np.ndarray, cfg: DegradeConfig, rng: np.random.Generator) -> np.ndarray:
    """Run the chain on a BGR uint8 crop: resample, blur or sharpen, noise, gamma, JPEG, H.264.

    Each step's parameters are drawn whether or not the step runs, so that changing one
    probability reshuffles few of the other draws.
    """
    do = rng.random(7)
    side = math.exp(rng.uniform(math.log(cfg.capture_side[0]), math.log(cfg.capture_side[1])))
    if do[0] < cfg.p_resample:
        img = soften(img, side)
    blur_sigma = rng.uniform(*cfg.blur_sigma)
    amount, radius = rng.uniform(*cfg.sharpen_amount), rng.uniform(*cfg.sharpen_sigma)
    if do[1] < cfg.p_blur:
        img = gaussian_blur(img, blur_sigma)
    elif do[1] < cfg.p_blur + cfg.p_sharpen:
        img = unsharp(img, amount, radius)
    noise = rng.uniform(*cfg.noise_sigma)
    if do[2] < cfg.p_noise:
        img = add_noise(img, noise, rng)
    gamma = rng.uniform(*cfg.gamma)
    if do[3] < cfg.p_gamma:
        img = apply_gamma(img, gamma)
    quality = int(rng.integers(cfg.jpeg_quality[0], cfg.jpeg_quality[1] + 1))
    if do[4] < cfg.p_jpeg:
        img = jpeg_recompress(img, quality)
    crf = int(rng.integers(cfg.h264_crf[0], cfg.h264_crf[1] + 1))
    if do[5] < cfg.p_h264:
        img = h264_roundtrip(img, crf)
    return img
