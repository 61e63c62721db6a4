"""Does flip test-time augmentation help a model? Scores an ONNX classifier on the registry's
validation and test crops as it is, and as the mean logit of each crop and its mirror image
(what ``model_config.flip_tta`` builds into the graph), then prints per-source AUCs and the
rates at each variant's own validation (EER) threshold.

Usage: .venv/bin/python scripts/compare_tta.py MODEL.onnx [--faces DIR] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from train.metrics import binary_metrics, eer_threshold, logit, sigmoid
from train.predict import open_scorer, score_crops
from train.registry import load_sources
from train.source_eval import Detector, score_samples, source_rows

FACES = Path("../shared/data/faces")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--faces", type=Path, default=FACES)
    ap.add_argument("--cache-dir", type=Path, default=Path("runs/cache"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    scorer = open_scorer(args.model)
    detectors = [
        Detector("crop", lambda crops: score_crops(scorer, crops), None),
        Detector("mirror", lambda crops: score_crops(
            scorer, [np.ascontiguousarray(c[:, ::-1]) for c in crops]), None),
    ]
    samples = load_sources(args.faces, None, 0.1, 0.2, 0)
    p: dict[str, dict[str, np.ndarray]] = {}
    for split in ("val", "test"):
        part = [s for s in samples if s.split == split]
        got = score_samples(part, detectors, scorer.contract.margin, args.cache_dir)
        tta = sigmoid((logit(got["crop"]) + logit(got["mirror"])) / 2)
        p[split] = {"as is": got["crop"], "flip TTA": tta}
    val = [s for s in samples if s.split == "val"]
    test = [s for s in samples if s.split == "test"]
    y_val = np.array([s.label for s in val])
    print(f"model {args.model}: {len(val)} validation, {len(test)} test images")
    for name in ("as is", "flip TTA"):
        thr = float(eer_threshold(y_val, p["val"][name])[1])
        auc = binary_metrics(y_val, p["val"][name], thr).auc
        print(f"\n{name}: validation AUC {auc:.4f}, threshold {thr:.4f}")
        for r in source_rows(test, p["test"][name], name, thr):
            print(f"  {r.source:28s} n={r.n:5d} {r.metric} {r.rate:.3f}  AUC {r.auc:.3f}")


if __name__ == "__main__":
    main()
