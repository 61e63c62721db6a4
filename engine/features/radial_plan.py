"""Per-size precomputation for the fast spectral path: radius bins over the rfft half-plane.

A real image's spectrum is point-symmetric (``F(-u, -v) = conj F(u, v)``), so ``|F|`` over the
full centred plane is known from the ``rfft2`` half-plane (columns ``kx = 0 .. S // 2``). Each
half-plane element stands for itself and, for interior columns, its mirror, which lies at the
same radius: it enters the radial sums with weight 2 (columns ``kx = 0`` and, for even S, the
Nyquist column ``kx = S / 2`` with weight 1). The weights, the bin of every element and the
two-tap resampling onto the output grid depend only on (side, bins), so they are computed once
and cached.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


def signed_frequencies(side: int) -> np.ndarray:
    """Frequency indices of the centred (fftshifted) axis: ``-(side//2) .. side - 1 - side//2``."""
    return np.arange(side, dtype=np.int64) - side // 2


def radius_bins_from_r2(r2: np.ndarray) -> np.ndarray:
    """Integer radius ``floor(sqrt(r2))`` computed exactly on integers (no float boundary cases)."""
    r = np.floor(np.sqrt(r2.astype(np.float64))).astype(np.int64)
    # sqrt in float64 is exact to well below 0.5 for r2 < 2**52; fix the rare off-by-one anyway.
    r -= (r * r > r2).astype(np.int64)
    r += ((r + 1) * (r + 1) <= r2).astype(np.int64)
    return r


def max_radius(side: int) -> int:
    """Largest integer radius of a ``side x side`` centred spectrum: ``isqrt(2 * (side//2)**2)``."""
    return math.isqrt(2 * (side // 2) ** 2)


def resampling_taps(
    radii: np.ndarray, r_max: int, bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two-tap linear interpolation from profile nodes ``radii`` onto ``bins`` points of [0, r_max].

    Equivalent to ``np.interp(np.linspace(0, r_max, bins), radii, profile)``.

    Returns:
        (left, right, frac): node indices and weight of the right node for every output point.
    """
    targets = np.linspace(0.0, float(r_max), bins)
    right = np.searchsorted(radii, targets, side="right").clip(1, len(radii) - 1)
    left = right - 1
    span = (radii[right] - radii[left]).astype(np.float64)
    frac = np.where(span > 0, (targets - radii[left]) / np.where(span > 0, span, 1.0), 0.0)
    frac = frac.clip(0.0, 1.0)
    return left.astype(np.int64), right.astype(np.int64), frac


@dataclass(frozen=True)
class RadialPlan:
    """Everything the fast path needs for one (side, bins) pair.

    Attributes:
        side: crop side S.
        bins: output length N.
        n_radii: number of integer radius bins (``max_radius(side) + 1``).
        bin_of: (S * (S // 2 + 1),) radius bin of every rfft2 half-plane element, row-major.
        weight: same shape, 1 or 2 (how many full-plane elements the half-plane element stands for).
        count: (n_radii,) full-plane elements per radius bin.
        nonempty: indices of radius bins that hold at least one element (the profile's nodes).
        left, right, frac: two-tap resampling from the non-empty nodes onto the output grid.
    """

    side: int
    bins: int
    n_radii: int
    bin_of: np.ndarray
    weight: np.ndarray
    count: np.ndarray
    nonempty: np.ndarray
    left: np.ndarray
    right: np.ndarray
    frac: np.ndarray


@lru_cache(maxsize=32)
def radial_plan(side: int, bins: int) -> RadialPlan:
    """Build (once per size) the half-plane bin map, weights and resampling taps."""
    half = side // 2 + 1
    ky = np.fft.fftfreq(side, d=1.0 / side).astype(np.int64)  # rfft2 row order: 0, 1, .., -1
    kx = np.arange(half, dtype=np.int64)
    r2 = ky[:, None] ** 2 + kx[None, :] ** 2
    bin_of = radius_bins_from_r2(r2).ravel()
    weight = np.full((side, half), 2.0)
    weight[:, 0] = 1.0
    if side % 2 == 0:
        weight[:, -1] = 1.0  # Nyquist column: the full plane holds kx = -S/2 once
    weight = weight.ravel()
    n_radii = max_radius(side) + 1
    count = np.bincount(bin_of, weights=weight, minlength=n_radii)
    nonempty = np.flatnonzero(count > 0)
    left, right, frac = resampling_taps(nonempty, n_radii - 1, bins)
    for arr in (bin_of, weight, count, nonempty, left, right, frac):
        arr.setflags(write=False)
    return RadialPlan(side, bins, n_radii, bin_of, weight, count, nonempty, left, right, frac)
