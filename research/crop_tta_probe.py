"""Does averaging over more framings of each face help a model, beyond the flip in its graph?

Scores an ONNX classifier on the registry's validation and test faces framed several ways
(the canonical margin, a tighter and a looser one, the square shifted by a few percent of its
side) and prints, for each combination of framings averaged in logit space, the validation
AUC and every source's rate and AUC at the combination's own validation (EER) threshold, as
``deepscreen evaluate`` reports them. Each framing is a native crop of the image (what the
runtime's ``square_crop`` would cut with that margin or offset), so a combination that helps
could be served by cutting more crops per face; its cost is one classifier pass per framing.

Usage: .venv/bin/python scripts/crop_tta_probe.py MODEL.onnx [--faces DIR] [--cache-dir DIR]
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np

from train.data import face_crop
from train.metrics import binary_metrics, eer_threshold, logit, sigmoid
from train.predict import open_scorer, score_crops
from train.registry import load_sources
from train.source_eval import Detector, score_samples, source_rows

FACES = Path("../shared/data/faces")
CropFn = Callable[[np.ndarray, tuple[float, ...], float], np.ndarray]


def framing(margin_delta: float = 0.0, dx: float = 0.0, dy: float = 0.0) -> CropFn:
    """A crop function: the canonical crop with its margin changed and its box shifted.

    ``dx``/``dy`` move the face box by that fraction of its width/height.
    """

    def crop(img: np.ndarray, box: tuple[float, ...], margin: float) -> np.ndarray:
        x0, y0, x1, y1 = (float(v) for v in box[:4])
        ox, oy = dx * (x1 - x0), dy * (y1 - y0)
        return face_crop(img, (x0 + ox, y0 + oy, x1 + ox, y1 + oy), margin + margin_delta)

    return crop


FRAMINGS: dict[str, CropFn] = {
    "canonical": framing(),
    "tight": framing(margin_delta=-0.1),
    "loose": framing(margin_delta=+0.1),
    "left": framing(dx=-0.05),
    "right": framing(dx=+0.05),
    "up": framing(dy=-0.05),
    "down": framing(dy=+0.05),
}
COMBOS: dict[str, tuple[str, ...]] = {
    "canonical (shipped)": ("canonical",),
    "tight": ("tight",),
    "loose": ("loose",),
    "canonical+tight": ("canonical", "tight"),
    "canonical+loose": ("canonical", "loose"),
    "canonical+tight+loose": ("canonical", "tight", "loose"),
    "canonical+4 shifts": ("canonical", "left", "right", "up", "down"),
    "all 7": tuple(FRAMINGS),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--faces", type=Path, default=FACES)
    ap.add_argument("--cache-dir", type=Path, default=Path("runs/cache"))
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    scorer = open_scorer(args.model)
    margin = scorer.contract.margin
    detector = Detector("p", lambda crops: score_crops(scorer, crops), None)
    samples = load_sources(args.faces, None, 0.1, 0.2, 0)
    splits = {k: [s for s in samples if s.split == k] for k in ("val", "test")}
    # logits[split][framing]
    z = {k: {name: logit(score_samples(part, [detector], margin, args.cache_dir, crop=fn)["p"])
             for name, fn in FRAMINGS.items()} for k, part in splits.items()}
    y_val = np.array([s.label for s in splits["val"]])
    print(f"model {args.model}: {len(y_val)} validation, {len(splits['test'])} test images")
    for combo, names in COMBOS.items():
        p_val = sigmoid(np.mean([z["val"][n] for n in names], axis=0))
        p_test = sigmoid(np.mean([z["test"][n] for n in names], axis=0))
        thr = float(eer_threshold(y_val, p_val)[1])
        auc = binary_metrics(y_val, p_val, thr).auc
        print(f"\n{combo} ({len(names)} passes): validation AUC {auc:.4f}, threshold {thr:.4f}")
        for r in source_rows(splits["test"], p_test, combo, thr):
            print(f"  {r.source:28s} n={r.n:5d} {r.metric} {r.rate:.3f}  AUC {r.auc:.3f}")


if __name__ == "__main__":
    main()
