"""Which candidates to average? Scores ONNX classifiers on the registry's validation split (never
the test split) and prints, for every single model and every combination of them, the mean-logit
ensemble's validation AUC per two-class source in two framings, their mean, and the pooled AUC.

The framings are those of ``research/framing_probe.py``: the canonical crop, and the same square
pulled inside the image (``fitted``). DFDC's tight crops are mostly border streaks in the
canonical framing, a cue no video frame has, so a model is judged on both.

The criterion (docs/experiments/2026-11-30-v8-ensemble-v5-v7.md): the best mean of the
per-source, per-framing AUCs (per source, as the project reports accuracy, not pooled: DFDC is
two thirds of the faces), preferring fewer members unless a larger set gains at least 0.002
(each member costs one more network per face). Then build it with ``deepscreen export ensemble
A.onnx B.onnx`` or ``scripts/ship_detector.sh A.pt,B.pt``.

Usage: .venv/bin/python research/ensemble_search.py A.onnx B.onnx [...] [--faces DIR]
"""

from __future__ import annotations

import itertools

import numpy as np
from probe_common import markdown_table, probe_inputs

from train.metrics import binary_metrics, logit
from train.predict import score_crops
from train.source_eval import Detector

MIN_GAIN = 0.002  # validation AUC a larger ensemble must add to be preferred


def main() -> None:
    inputs = probe_inputs(__doc__.split("\n\n")[0], split="val")
    val = inputs.samples
    names = [str(m) for m in inputs.scorers]
    dets = [Detector(str(m), lambda c, sc=sc: score_crops(sc, c), 0.5)
            for m, sc in inputs.scorers.items()]
    p = inputs.score_framings(val, dets)
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
