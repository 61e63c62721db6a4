"""Square face crops around detector boxes, at native resolution unless a size is asked for.

The spectral features must see the face's own pixels, so by default a crop is never resampled;
only the CNN input is resized (``size``). Pixels of the square that fall outside the frame are
filled by replicating the nearest border pixel (``cv2.BORDER_REPLICATE``): zero padding would put
a hard black edge into the crop, which shows up as a strong line in its Fourier spectrum.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from engine.errors import UsageError


def square_region(
    box: tuple[float, float, float, float], margin: float = 0.25
) -> tuple[int, int, int]:
    """Integer square (x0, y0, side) centred on ``box`` with side ``max(w, h) * (1 + margin)``.

    Args:
        box: (x1, y1, x2, y2) in pixels.
        margin: relative margin added to the longer side of the box (0.25 = 25 %).

    Returns:
        (x0, y0, side): top-left corner and side in whole pixels; may extend outside the image.
    """
    x1, y1, x2, y2 = (float(v) for v in box)
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)) or x2 <= x1 or y2 <= y1:
        raise UsageError(f"invalid box {box}: need finite x1 < x2 and y1 < y2")
    if margin < 0:
        raise UsageError(f"margin must be >= 0, got {margin}")
    side = max(1, round(max(x2 - x1, y2 - y1) * (1.0 + margin)))
    x0 = math.floor((x1 + x2) / 2 - side / 2 + 0.5)
    y0 = math.floor((y1 + y2) / 2 - side / 2 + 0.5)
    return x0, y0, side


def visible_square_crop(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    margin: float = 0.25,
    size: int | None = None,
) -> np.ndarray | None:
    """:func:`square_crop`, or None when the square does not overlap the image at all.

    For boxes that are guesses rather than measurements (a tracker extrapolating a face that
    leaves the frame): "nothing to see" is an ordinary outcome there, not a caller's error,
    and must not end a screening run.

    Raises:
        UsageError: the box is degenerate, the margin negative or the size not positive.
    """
    if size is not None and size < 1:
        raise UsageError(f"crop size must be a positive number of pixels, got {size}")
    x0, y0, side = square_region(box, margin)
    h, w = image.shape[:2]
    # Clip to the image, then pad back to the full square.
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + side, w), min(y0 + side, h)
    if cx1 <= cx0 or cy1 <= cy0:
        return None
    crop = image[cy0:cy1, cx0:cx1]
    pads = (cy0 - y0, y0 + side - cy1, cx0 - x0, x0 + side - cx1)
    if any(pads):
        crop = cv2.copyMakeBorder(crop, *pads, borderType=cv2.BORDER_REPLICATE)
    else:
        crop = crop.copy()
    if size is not None and size != side:
        interp = cv2.INTER_AREA if size < side else cv2.INTER_LINEAR
        crop = cv2.resize(crop, (size, size), interpolation=interp)
    return crop


def square_crop(
    image: np.ndarray,
    box: tuple[float, float, float, float],
    margin: float = 0.25,
    size: int | None = None,
) -> np.ndarray:
    """Cut a square region centred on a face box out of an image.

    Args:
        image: HxWx3 (BGR) or HxW uint8 image.
        box: (x1, y1, x2, y2) face box in pixels (e.g. ``Detection.box``).
        margin: relative margin: the square's side is ``max(w, h) * (1 + margin)``.
        size: output side in pixels; None keeps the native resolution (no resampling).
            Downscaling uses INTER_AREA, upscaling INTER_LINEAR.

    Returns:
        A (side, side[, 3]) array of the image's dtype; parts outside the image replicate the
        nearest border pixel.

    Raises:
        UsageError: the box is degenerate or lies outside the image, the margin is negative
            or the size not positive (use :func:`visible_square_crop` where a box outside the
            image is an ordinary event).
    """
    crop = visible_square_crop(image, box, margin, size)
    if crop is None:
        h, w = image.shape[:2]
        raise UsageError(f"box {box} lies outside the {w}x{h} image")
    return crop
