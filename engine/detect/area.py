"""Area ("box filter") resampling that matches ``torch.nn.functional.interpolate(mode="area")``.

facenet-pytorch resamples with PyTorch's area mode, i.e. adaptive average pooling: output cell i
along an axis of length ``n_in -> n_out`` is the plain mean of input cells
``floor(i * n_in / n_out) .. ceil((i + 1) * n_in / n_out) - 1``. OpenCV's INTER_AREA weights
partial pixels instead, which shifts P-Net's scores enough to move borderline boxes, so parity
needs the exact rule. Every window mean is read from one integral image of the frame, computed
once per frame and shared by the whole pyramid and by all R-Net / O-Net crops. Window sums of
integer pixels are exact, so the means equal PyTorch's up to float rounding.

Tables and outputs keep OpenCV's channels-last layout: the interleaved integral image is ~8x
cheaper than a planar one, and transposing the small resampled outputs costs little.
"""

from __future__ import annotations

import cv2
import numpy as np


def integral_image(image: np.ndarray) -> np.ndarray:
    """Summed-area table of an HxWxC (or HxW) uint8 image, shape (H+1, W+1, C).

    int32 holds exact sums up to ~8.4 Mpixel frames; larger frames use float64 (exact to 2**53).
    """
    h, w = image.shape[:2]
    depth = cv2.CV_32S if h * w * 255 < 2**31 else cv2.CV_64F
    table = cv2.integral(image, sdepth=depth)
    return table[:, :, None] if table.ndim == 2 else table


def pool_bounds(start: np.ndarray, length: np.ndarray, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Window edges of adaptive average pooling for segments ``[start, start + length)``.

    Args:
        start: (N,) int segment starts (absolute pixel index).
        length: (N,) int segment lengths (> 0).
        n_out: number of output cells per segment.

    Returns:
        (lo, hi): (N, n_out) int64 absolute window edges, half-open.
    """
    i = np.arange(n_out, dtype=np.int64)[None, :]
    length = np.asarray(length, dtype=np.int64)[:, None]
    start = np.asarray(start, dtype=np.int64)[:, None]
    lo = (i * length) // n_out
    hi = ((i + 1) * length + n_out - 1) // n_out
    return start + lo, start + hi


def area_resize(table: np.ndarray, out_h: int, out_w: int) -> np.ndarray:
    """Resample the whole frame behind ``table`` to (out_h, out_w, C) float32 means.

    Separable: the rectangle sums are differences of row-gathered then column-gathered table
    entries, two contiguous ``take`` calls instead of four 2D fancy-index gathers.
    """
    h, w = table.shape[0] - 1, table.shape[1] - 1
    r_lo, r_hi = (a[0] for a in pool_bounds(np.array([0]), np.array([h]), out_h))
    c_lo, c_hi = (a[0] for a in pool_bounds(np.array([0]), np.array([w]), out_w))
    rows = np.take(table, r_hi, axis=0) - np.take(table, r_lo, axis=0)
    sums = np.take(rows, c_hi, axis=1) - np.take(rows, c_lo, axis=1)
    counts = (r_hi - r_lo)[:, None, None] * (c_hi - c_lo)[None, :, None]
    return (sums / counts).astype(np.float32)


def area_resize_regions(
    table: np.ndarray, regions: np.ndarray, out_h: int, out_w: int
) -> np.ndarray:
    """Resample many rectangles of one frame to a common size, torch "area" semantics.

    Args:
        table: integral image from :func:`integral_image`, (H+1, W+1, C).
        regions: (N, 4) int array of (x0, y0, x1, y1), half-open, non-empty, inside the frame.
        out_h: output height.
        out_w: output width.

    Returns:
        (N, out_h, out_w, C) float32 window means.
    """
    regions = np.asarray(regions, dtype=np.int64).reshape(-1, 4)
    r_lo, r_hi = pool_bounds(regions[:, 1], regions[:, 3] - regions[:, 1], out_h)
    c_lo, c_hi = pool_bounds(regions[:, 0], regions[:, 2] - regions[:, 0], out_w)
    # Flat indices into the (rows * cols, C) view: one contiguous `take` per corner is several
    # times faster than 2D fancy indexing. (N, out_h, 1) + (N, 1, out_w) -> (N, out_h, out_w).
    cols = table.shape[1]
    flat = table.reshape(-1, table.shape[2])
    top, bottom = (r_lo * cols)[:, :, None], (r_hi * cols)[:, :, None]
    left, right = c_lo[:, None, :], c_hi[:, None, :]
    # int32 wrap-around cancels: every window sum itself fits (see integral_image).
    sums = (
        np.take(flat, bottom + right, axis=0)
        - np.take(flat, top + right, axis=0)
        - np.take(flat, bottom + left, axis=0)
        + np.take(flat, top + left, axis=0)
    )
    counts = ((r_hi - r_lo)[:, :, None] * (c_hi - c_lo)[:, None, :])[..., None]
    return (sums / counts).astype(np.float32)
