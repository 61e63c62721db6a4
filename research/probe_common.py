"""What the probes in ``research/`` share: their command line, the models and the split they
score, their detectors, the two framings, the face detections and sharpness they read, and the
tables and lines they print.

A per-source probe (``grayscale_probe.py``, ``framing_probe.py``, ``sharpness_probe.py``,
``age_probe.py``, ``twin_probe.py``) scores one or more ONNX classifiers on the registry's test
split under some change of the input (grayscale, another framing) and prints one markdown row
per source and metric. ``ensemble_search.py`` loads its models the same way, on the validation
split. The one-model probes (``compare_tta.py``, ``crop_tta_probe.py``) and ``threshold_rules.py``
score the validation and test splits and set thresholds on validation.

The probes import this module as a sibling (``from probe_common import ...``): run them as
``python research/NAME.py`` from the repository root.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.judge.quality import sharpness
from train.data import Face, detect_faces, face_crop, fitted_crop, read_bgr
from train.labelled import Sample
from train.metrics import binary_metrics, eer_threshold
from train.predict import Scorer, open_scorer, score_crops
from train.source_eval import Detector, score_samples, source_rows
from train.sources import load_sources, split_samples

FACES = Path("../shared/data/faces")
# The two framings of a face the probes compare: the runtime's crop (border streaks where the
# square reaches past the image) and the same square pulled inside it (real pixels only).
FRAMINGS = {"canonical": face_crop, "fitted": fitted_crop}
SPLIT_NOTE = "(the split of `deepscreen evaluate --sources`)"


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

    def framing_columns(
        self, samples: list[Sample], detectors: list[Detector]
    ) -> list[tuple[str, Detector, np.ndarray]]:
        """:meth:`score_framings` as table columns: ``("<detector> <framing>", detector,
        p_fake)``, framing by framing, each framing's detectors in order."""
        return [(f"{d.name} {framing}", d, got[d.name])
                for framing, got in self.score_framings(samples, detectors).items()
                for d in detectors]

    def faces(self, samples: list[Sample]) -> dict[str, Face]:
        """The face detections of ``samples``, from the cache training and ``evaluate`` share."""
        return detect_faces([s.path for s in samples], Path(self.cache_dir) / "faces.npz",
                            self.margin, 40)

    def sharpness(self, samples: list[Sample], real_only: bool = False) -> np.ndarray:
        """The runtime's sharpness of each sample's face box (``engine.judge.quality.sharpness``,
        native pixels); NaN for the fakes with ``real_only``."""
        faces = self.faces(samples)
        return np.array([sharpness(read_bgr(s.path), faces[s.path].box)
                         if not real_only or s.label == 0 else np.nan for s in samples])


def add_data_args(ap: argparse.ArgumentParser, faces: Path = FACES) -> None:
    """``--faces DIR`` (a faces root) and ``--cache-dir DIR`` (the face-detection cache)."""
    ap.add_argument("--faces", type=Path, default=faces)
    ap.add_argument("--cache-dir", type=Path, default=Path("runs/cache"))


def common_margin(scorers: Iterable[Scorer]) -> float:
    """The crop margin every model uses.

    Raises:
        SystemExit: the models crop with different margins (their crops would differ).
    """
    margins = {s.contract.margin for s in scorers}
    if len(margins) != 1:
        raise SystemExit(f"models disagree on the crop margin: {sorted(margins)}")
    return margins.pop()


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
    add_data_args(ap)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    scorers = {m: open_scorer(m) for m in args.models}
    margin = common_margin(scorers.values())
    return ProbeInputs(scorers, margin, split_samples(args.faces, split), args.cache_dir)


def one_model_args(
    description: str, argv: list[str] | None = None
) -> tuple[argparse.Namespace, Scorer]:
    """Parse ``MODEL.onnx [--faces DIR] [--cache-dir DIR]`` and open the model."""
    ap = argparse.ArgumentParser(description=description)
    ap.add_argument("model", type=Path)
    add_data_args(ap)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    return args, open_scorer(args.model)


def val_test(faces: Path) -> dict[str, list[Sample]]:
    """The registry's validation and test samples below ``faces`` (default fractions, seed 0)."""
    samples = load_sources(faces)
    return {split: [s for s in samples if s.split == split] for split in ("val", "test")}


def report_at_validation_eer(
    label: str, name: str, splits: dict[str, list[Sample]], p_val: np.ndarray, p_test: np.ndarray
) -> None:
    """Print the validation AUC and EER threshold of ``p_val``, then every test source's rate
    and AUC at that threshold (the rows of ``deepscreen evaluate``)."""
    y_val = np.array([s.label for s in splits["val"]])
    thr = float(eer_threshold(y_val, p_val)[1])
    auc = binary_metrics(y_val, p_val, thr).auc
    print(f"\n{label}: validation AUC {auc:.4f}, threshold {thr:.4f}")
    for r in source_rows(splits["test"], p_test, name, thr):
        print(f"  {r.source:28s} n={r.n:5d} {r.metric} {r.rate:.3f}  AUC {r.auc:.3f}")


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


def threshold_list(detectors: Iterable[Detector]) -> str:
    """``name: threshold, ...`` of the detectors, as the probes print it."""
    return ", ".join(f"{d.name}: {d.threshold:.4f}" for d in detectors)


def print_footer(detectors: Iterable[Detector], test: list[Sample] | None = None) -> None:
    """The lines under a probe's table: the thresholds and, given, the test split's size."""
    print("\nthresholds: " + threshold_list(detectors))
    if test is not None:
        print(f"test images: {len(test)} {SPLIT_NOTE}")
