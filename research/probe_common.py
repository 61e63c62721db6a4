"""What the per-source probes (``scripts/grayscale_probe.py``, ``scripts/framing_probe.py``,
``scripts/sharpness_probe.py``, ``scripts/age_probe.py``) share: their command line, the models
and the test split they score, their detectors, the two framings and the table they print.

A probe scores one or more ONNX classifiers on the registry's test split under some change of
the input (grayscale, another framing) and prints one markdown row per source and metric.
``scripts/ensemble_search.py`` loads its models the same way, on the validation split.
"""

from __future__ import annotations

import argparse
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from train.data import face_crop, fitted_crop
from train.predict import Scorer, open_scorer, score_crops
from train.registry import Sample, split_samples
from train.source_eval import Detector, score_samples

FACES = Path("../shared/data/faces")
# The two framings of a face the probes compare: the runtime's crop (border streaks where the
# square reaches past the image) and the same square pulled inside it (real pixels only).
FRAMINGS = {"canonical": face_crop, "fitted": fitted_crop}


@dataclass(frozen=True)
class ProbeInputs:
    """The models a probe scores, their common crop margin and the split's samples."""

    scorers: dict[Path, Scorer]
    margin: float
    samples: list[Sample]
    cache_dir: Path

    def detectors(self) -> list[Detector]:
        """One :class:`Detector` per model, as it is (canonical pipeline), at its own threshold,
        named by :func:`model_names`."""
        names = model_names(list(self.scorers))
        return [Detector(names[p], lambda crops, sc=sc: score_crops(sc, crops),
                         float(sc.contract.threshold)) for p, sc in self.scorers.items()]

    def score_framings(
        self, samples: list[Sample], detectors: list[Detector]
    ) -> dict[str, dict[str, np.ndarray]]:
        """p_fake of each detector on ``samples`` in each of :data:`FRAMINGS`:
        ``result[framing][detector name]``."""
        return {framing: score_samples(samples, detectors, self.margin, self.cache_dir, crop=crop)
                for framing, crop in FRAMINGS.items()}


def probe_inputs(
    description: str, argv: list[str] | None = None, split: str = "test"
) -> ProbeInputs:
    """Parse ``MODEL.onnx [...] [--faces DIR] [--cache-dir DIR]`` and load what it names.

    ``split`` with the registry defaults: the test split is the one of ``deepscreen evaluate
    --sources``, the validation split the one training picks thresholds on.

    Raises:
        SystemExit: the models crop with different margins (their crops would differ).
    """
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("models", type=Path, nargs="+")
    ap.add_argument("--faces", type=Path, default=FACES)
    ap.add_argument("--cache-dir", type=Path, default=Path("runs/cache"))
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    scorers = {m: open_scorer(m) for m in args.models}
    margins = {s.contract.margin for s in scorers.values()}
    if len(margins) != 1:
        raise SystemExit(f"models disagree on the crop margin: {sorted(margins)}")
    return ProbeInputs(scorers, margins.pop(), split_samples(args.faces, split), args.cache_dir)


def model_names(paths: list[Path]) -> dict[Path, str]:
    """A column name per model: the file name, or more of its path where file names repeat
    (``runs/ship_v4/classifier.onnx`` beside ``engine/models/classifier.onnx``). Scores are
    collected per name, so two models must never share one."""
    names: dict[Path, str] = {}
    for p in paths:
        depth = 1
        while sum(q.parts[-depth:] == p.parts[-depth:] for q in paths) > 1 and depth < len(p.parts):
            depth += 1
        names[p] = "/".join(p.parts[-depth:])
    return names


def markdown_table(table: dict[str, dict[str, str]], columns: list[str]) -> str:
    """Rows ``table[row][column]`` under a ``source`` column, sorted by row; ``-`` if missing."""
    lines = ["| source | " + " | ".join(columns) + " |", "| --- |" + " ---: |" * len(columns)]
    for key in sorted(table):
        lines.append(f"| {key} | " + " | ".join(table[key].get(c, "-") for c in columns) + " |")
    return "\n".join(lines)
