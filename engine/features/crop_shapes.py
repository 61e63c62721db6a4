"""Grouping crops of mixed sizes by their centre square: shared by the CPU and CUDA paths.

Lives below :mod:`engine.features.spectral` and :mod:`engine.features.cuda_backend` so that
neither has to import the other for it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def centre_square(crop: np.ndarray) -> np.ndarray:
    """Centre-crop an (H, W[, C]) array to (S, S[, C]) with S = min(H, W); a view, no copy."""
    h, w = crop.shape[:2]
    s = min(h, w)
    top, left = (h - s) // 2, (w - s) // 2
    return crop[top : top + s, left : left + s]


def squeeze_channel(crop: np.ndarray) -> np.ndarray:
    """(H, W, 1) -> (H, W); other shapes unchanged."""
    return crop[..., 0] if crop.ndim == 3 and crop.shape[2] == 1 else crop


def group_by_side(items: Sequence[np.ndarray]) -> dict[tuple, list[int]]:
    """Indices of crops that share a square shape after centre-cropping (one batch each)."""
    groups: dict[tuple, list[int]] = {}
    for i, c in enumerate(items):
        groups.setdefault(centre_square(squeeze_channel(c)).shape, []).append(i)
    return groups
