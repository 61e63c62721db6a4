"""Whom does a model call fake? UTKFace TNR per age bracket, in the canonical and the fitted
framing (research/framing_probe.py), each ONNX classifier at its own threshold.

UTKFace file names start with the person's age (``age_gender_race_date.jpg.chip.jpg``), and
UTKFace is the held-out real population. Why: a detector that calls children fake is a false
alarm generator wherever families are on camera. Comparing the two framings separates the
person (both framings low) from the border streaks of UTKFace's tight crops (only the
canonical framing low).

Usage: .venv/bin/python research/age_probe.py MODEL.onnx [MODEL.onnx ...] [--faces DIR]
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from probe_common import markdown_table, print_footer, probe_inputs

from train.augment import image_fraction
from train.data import read_bgr, square_region

BRACKETS = ((0, 3), (3, 10), (10, 20), (20, 40), (40, 60), (60, 200))
SOURCE = "utkface/real"
FRACTION = "median image share of the canonical square"


def age_of(path: str) -> int | None:
    """The age a UTKFace file name starts with, or None for any other name."""
    head = Path(path).name.split("_", 1)[0]
    return int(head) if head.isdigit() else None


def main() -> None:
    inputs = probe_inputs(__doc__.split("\n\n")[0])
    detectors = inputs.detectors()
    test = [s for s in inputs.samples if s.source == SOURCE and age_of(s.path) is not None]
    if not test:
        raise SystemExit(f"no {SOURCE} test images with an age in their name")
    ages = np.array([age_of(s.path) for s in test])
    # How much of each canonical square is image (the rest is border streaks).
    faces = inputs.faces(test)
    image = np.array([image_fraction(*square_region(faces[s.path].box, inputs.margin),
                                     read_bgr(s.path).shape) for s in test])
    table: dict[str, dict[str, str]] = {}
    columns = []
    for column, d, p in inputs.framing_columns(test, detectors):
        columns.append(column)
        real = p < d.threshold
        for lo, hi in BRACKETS:
            idx = (ages >= lo) & (ages < hi)
            if idx.any():
                span = f"{lo:02d}+" if hi >= 200 else f"{lo:02d}-{hi - 1:02d}"
                key = f"{SOURCE} TNR, age {span} (n={idx.sum()})"
                table.setdefault(key, {})[column] = f"{real[idx].mean():.3f}"
                table[key][FRACTION] = f"{np.median(image[idx]):.2f}"
        key = f"{SOURCE} TNR, all ages (n={len(test)})"
        table.setdefault(key, {})[column] = f"{real.mean():.3f}"
        table[key][FRACTION] = f"{np.median(image):.2f}"
    print(markdown_table(table, columns + [FRACTION]))
    print_footer(detectors)


if __name__ == "__main__":
    main()
