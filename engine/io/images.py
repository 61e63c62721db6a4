"""Decode still images to BGR uint8."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine.errors import InputError

# The one list of still-image suffixes the runtime reads (sources, face extraction).
IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff", ".ppm", ".pgm", ".pbm", ".jp2"}
)


def read_image(path: str | Path) -> np.ndarray:
    """Read an image file as HxWx3 BGR uint8 (grayscale, 16-bit and alpha are converted).

    Args:
        path: image file.

    Returns:
        The decoded image.

    Raises:
        InputError: the file is missing, unreadable or not a decodable image.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"image not found: {path}")
    try:
        # imdecode on the bytes (not imread) so non-ASCII paths work on every platform.
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise InputError(f"cannot read image {path}: {exc.strerror or exc}") from exc
    image = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if image is None:
        raise InputError(f"cannot decode image {path} (corrupt or unsupported format)")
    return image
