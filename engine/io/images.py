"""Decode still images to BGR uint8, with a bounded pixel count.

A decoder allocates the whole image before anyone sees its size, and the face detector's
pyramid multiplies that: a 12000x12000 JPEG once took 7.4 GB. So the size is read from the
header first (:mod:`engine.io.image_header`) and:

- up to :data:`MAX_IMAGE_PIXELS`: decoded as is;
- a larger JPEG: decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself (``IMREAD_REDUCED_*``),
  which never holds the full-size image;
- another format up to :data:`MAX_DECODE_PIXELS`: decoded, then shrunk to the limit;
- anything larger: :class:`~engine.errors.InputError` naming the image and its size, so a
  folder source skips that one image and goes on.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import cv2
import numpy as np

from engine.errors import InputError
from engine.io.image_header import image_dimensions

log = logging.getLogger("engine.io")

# The one list of still-image suffixes the runtime reads (sources, face extraction).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".jp2"}
)
# Largest image handed to the pipeline: 4096 x 4096 (a 4K camera frame is 8.3 MP).
MAX_IMAGE_PIXELS = 4096 * 4096
# Largest non-JPEG decoded at full size before shrinking (about 190 MB as BGR uint8).
MAX_DECODE_PIXELS = 64_000_000
_REDUCED = {
    cv2.IMREAD_COLOR: {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                       8: cv2.IMREAD_REDUCED_COLOR_8},
    cv2.IMREAD_GRAYSCALE: {2: cv2.IMREAD_REDUCED_GRAYSCALE_2, 4: cv2.IMREAD_REDUCED_GRAYSCALE_4,
                           8: cv2.IMREAD_REDUCED_GRAYSCALE_8},
}


def _reduced_flag(width: int, height: int, flags: int, max_pixels: int) -> int | None:
    """The smallest JPEG scale-down flag that brings the image under ``max_pixels``."""
    # IMREAD_UNCHANGED reads a JPEG as 8-bit colour or gray anyway: colour is the same pixels,
    # and like IMREAD_UNCHANGED it must not apply the EXIF orientation.
    table = _REDUCED.get(flags)
    extra = 0
    if table is None:
        table, extra = _REDUCED[cv2.IMREAD_COLOR], cv2.IMREAD_IGNORE_ORIENTATION
    for factor, flag in table.items():
        if math.ceil(width / factor) * math.ceil(height / factor) <= max_pixels:
            return flag | extra
    return None


def _shrink(image: np.ndarray, max_pixels: int) -> np.ndarray:
    h, w = image.shape[:2]
    scale = math.sqrt(max_pixels / float(w * h))
    size = (max(1, int(w * scale)), max(1, int(h * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def decode_image(data: np.ndarray, name: str, flags: int = cv2.IMREAD_COLOR, *,
                 max_pixels: int = MAX_IMAGE_PIXELS,
                 max_decode_pixels: int = MAX_DECODE_PIXELS) -> np.ndarray:
    """Decode an encoded image (the file's bytes as uint8) with at most ``max_pixels`` pixels.

    Args:
        data: the encoded bytes.
        name: how error messages name the image (a file name).
        flags: ``cv2.imdecode`` flags (``IMREAD_UNCHANGED`` keeps 16-bit and alpha).
        max_pixels: larger images are scaled down to fit (aspect ratio kept).
        max_decode_pixels: a non-JPEG larger than this is refused before decoding.

    Raises:
        InputError: empty, undecodable, or too large to decode within the bounds.
    """
    if data.size == 0:
        raise InputError(f"cannot decode image {name}: empty file")
    dims = image_dimensions(data)
    image = None
    if dims is not None and dims[0] * dims[1] > max_pixels:
        w, h = dims
        is_jpeg = bytes(data[:2]) == b"\xff\xd8"
        reduced = _reduced_flag(w, h, flags, max_pixels) if is_jpeg else None
        if reduced is not None:
            image = cv2.imdecode(data, reduced)
        elif not is_jpeg and w * h <= max_decode_pixels:
            image = cv2.imdecode(data, flags)
        else:
            limit = max_decode_pixels if not is_jpeg else max_pixels * 64
            raise InputError(
                f"image {name} is {w}x{h} ({w * h / 1e6:.0f} megapixels), more than the "
                f"{limit / 1e6:.0f} this engine decodes: scale it down first")
        if image is not None:
            log.info("image %s is %dx%d: screened at %dx%d", name, w, h,
                     image.shape[1], image.shape[0])
    else:
        image = cv2.imdecode(data, flags)
    if image is None or image.size == 0:
        raise InputError(f"cannot decode image {name} (corrupt or unsupported format)")
    if image.shape[0] * image.shape[1] > max_pixels:  # a non-JPEG, or a header that lied
        image = _shrink(image, max_pixels)
    return image


def read_image(path: str | Path, flags: int = cv2.IMREAD_COLOR, *,
               max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read an image file as HxWx3 BGR uint8 (grayscale, 16-bit and alpha are converted).

    Args:
        path: image file.
        flags: ``cv2.imdecode`` flags; the default converts to BGR uint8.
        max_pixels: larger images are scaled down (see :func:`decode_image`).

    Returns:
        The decoded image.

    Raises:
        InputError: the file is missing, unreadable, not a decodable image, or too large.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image not found: {path}")
    try:
        # imdecode on the bytes (not imread) so non-ASCII paths work on every platform.
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    return decode_image(data, str(path), flags, max_pixels=max_pixels)
