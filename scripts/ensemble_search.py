"""Which candidates to average? Scores ONNX classifiers on the registry's validation split (never
the test split) and prints, for every single model and every combination of them, the mean-logit
ensemble's validation AUC per two-class source in two framings, their mean, and the pooled AUC.

The framings are those of ``scripts/framing_probe.py``: the canonical crop, and the same square
pulled inside the image (``fitted``). DFDC's tight crops are mostly border streaks in the
canonical framing, a cue no video frame has, so a model is judged on both.

The criterion (docs/TRAINING.md, "Ensemble"): the best mean of the per-source, per-framing AUCs
(per source, as the project reports accuracy, not pooled: DFDC is two thirds of the faces),
preferring fewer members unless a larger set gains at least 0.002 (each member costs one more
network per face). Then build it with ``deepscreen export ensemble A.onnx B.onnx`` or
``scripts/ship_detector.sh A.pt,B.pt``.

Usage: .venv/bin/python scripts/ensemble_search.py A.onnx B.onnx [...] [--faces DIR]
"""

from __future__ import annotations

import argparse
import itertools
import logging
from pathlib import Path

import numpy as np

from train.data import face_crop, fitted_crop
from train.metrics import binary_metrics
from train.predict import open_scorer, score_crops
from train.probe import FACES, markdown_table
from train.registry import load_sources
from train.source_eval import Detector, score_samples

MIN_GAIN = 0.002  # validation AUC a larger ensemble must add to be preferred


def logit(p: np.ndarray) -> np.ndarray:
    """Inverse sigmoid, clipped away from 0 and 1."""
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return np.log(p / (1 - p))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", type=Path, nargs="+")
    ap.add_argument("--faces", type=Path, default=FACES)
    ap.add_argument("--cache-dir", type=Path, default=Path("runs/cache"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    val = [s for s in load_sources(args.faces, None, 0.1, 0.2, 0) if s.split == "val"]
    names = [str(m) for m in args.models]
    scorers = {n: open_scorer(m) for n, m in zip(names, args.models, strict=True)}
    margins = {s.contract.margin for s in scorers.values()}
    if len(margins) != 1:
        raise SystemExit(f"models disagree on the crop margin: {sorted(margins)}")
    dets = [Detector(n, lambda c, sc=sc: score_crops(sc, c), 0.5) for n, sc in scorers.items()]
    margin = margins.pop()
    p = {framing: score_samples(val, dets, margin, args.cache_dir, crop=crop)
         for framing, crop in (("canonical", face_crop), ("fitted", fitted_crop))}
    labels = np.array([s.label for s in val])
    family = np.array([s.source.split("/")[0] for s in val])
    two_class = [f for f in sorted(set(family)) if len(set(labels[family == f])) == 2]
    columns = [f"{f} {framing}" for f in two_class for framing in p]
    table: dict[str, dict[str, str]] = {}
    best: tuple[float, tuple[str, ...]] = (-1.0, ())
    for k in range(1, len(names) + 1):
        for combo in itertools.combinations(names, k):
            row = {"members": str(k)}
            aucs = []
            for framing, got in p.items():
                score = np.mean([logit(got[n]) for n in combo], axis=0)
                if framing == "canonical":
                    row["pooled canonical"] = f"{binary_metrics(labels, score, 0.0).auc:.4f}"
                for f in two_class:
                    sel = family == f
                    aucs.append(binary_metrics(labels[sel], score[sel], 0.0).auc)
                    row[f"{f} {framing}"] = f"{aucs[-1]:.4f}"
            mean = float(np.mean(aucs))
            row["mean"] = f"{mean:.4f}"
            table[" + ".join(combo)] = row
            if mean > best[0] + (MIN_GAIN if best[1] and k > len(best[1]) else 0.0):
                best = (mean, combo)
    print(markdown_table(table, ["members", *columns, "mean", "pooled canonical"]))
    print(f"\nvalidation faces: {len(val)}; chosen (best mean per-source AUC over both framings, "
          f"a larger set only for >= {MIN_GAIN} more): {' + '.join(best[1])} ({best[0]:.4f})")


if __name__ == "__main__":
    main()
