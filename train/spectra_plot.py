"""Mean 1D spectrum per class with a band: the check Durall's README asks for before trusting
the method (if the real and fake curves and their bands overlap, a linear classifier on the
spectrum has nothing to work with)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import UsageError
from train.durall import SpectraSet

BANDS = ("std", "p10-90", "p25-75")


@dataclass(frozen=True)
class ClassCurve:
    """Summary of one class: the mean curve and the lower/upper edge of its band."""

    label: str
    count: int
    mean: np.ndarray
    low: np.ndarray
    high: np.ndarray


def class_curves(data: SpectraSet, band: str = "std") -> list[ClassCurve]:
    """Mean and band per class (real first), band = mean +- std or a percentile range."""
    if band not in BANDS:
        raise UsageError(f"unknown band {band!r}; choose from {BANDS}")
    curves = []
    for value, label in ((0, "real"), (1, "fake")):
        rows = data.spectra[data.is_fake == value]
        if len(rows) == 0:
            continue
        mean = rows.mean(axis=0)
        if band == "std":
            std = rows.std(axis=0)
            low, high = mean - std, mean + std
        else:
            lo_q, hi_q = (10, 90) if band == "p10-90" else (25, 75)
            low, high = np.percentile(rows, [lo_q, hi_q], axis=0)
        curves.append(ClassCurve(label, len(rows), mean, low, high))
    if not curves:
        raise UsageError("no spectra to plot")
    return curves


def plot_spectra(data: SpectraSet, out: str | Path, band: str = "std", title: str | None = None,
                 dpi: int = 120) -> Path:
    """Draw the per-class mean spectra with their bands and save a PNG.

    Returns:
        The path written.
    """
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on servers and CI
    import matplotlib.pyplot as plt

    curves = class_curves(data, band)
    bins = data.spectra.shape[1]
    x = np.arange(bins)
    fig, ax = plt.subplots(figsize=(7, 4.2))
    colours = {"real": "tab:blue", "fake": "tab:red"}
    for c in curves:
        ax.plot(x, c.mean, color=colours[c.label], lw=1.8, label=f"{c.label} (n={c.count})")
        ax.fill_between(x, c.low, c.high, color=colours[c.label], alpha=0.2)
    band_text = "mean +- 1 std" if band == "std" else f"mean, band {band} percentiles"
    ax.set_title(title or f"{data.name}: 1D power spectrum per class ({band_text})")
    ax.set_xlabel("spatial frequency (resampled radius bin)")
    ax.set_ylabel("normalised 20 ln(|F| + eps), azimuthal mean")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out = Path(out)
    if out.suffix.lower() != ".png":
        raise UsageError(f"--out must be a .png file, got {out}")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    return out
