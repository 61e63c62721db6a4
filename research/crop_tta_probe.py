"""Does averaging over more framings of each face help a model, beyond the flip in its graph?

Scores an ONNX classifier on the registry's validation and test faces framed several ways
(the canonical margin, a tighter and a looser one, the square shifted by a few percent of its
side) and prints, for each combination of framings averaged in logit space, the validation
AUC and every source's rate and AUC at the combination's own validation (EER) threshold, as
``deepscreen evaluate`` reports them. Each framing is a native crop of the image (what the
runtime's ``square_crop`` would cut with that margin or offset), so a combination that helps
could be served by cutting more crops per face; its cost is one classifier pass per framing.

Usage: .venv/bin/python research/crop_tta_probe.py MODEL.onnx [--faces DIR] [--cache-dir DIR]
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from probe_common import one_model_args, report_at_validation_eer, val_test

from train.data import face_crop
from train.metrics import logit, sigmoid
from train.predict import score_crops
from train.source_eval import Detector, score_samples

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
    args, scorer = one_model_args(__doc__.split("\n\n")[0])
    margin = scorer.contract.margin
    detector = Detector("p", lambda crops: score_crops(scorer, crops), None)
    splits = val_test(args.faces)
    # logits[split][framing]
    z = {k: {name: logit(score_samples(part, [detector], margin, args.cache_dir, crop=fn)["p"])
             for name, fn in FRAMINGS.items()} for k, part in splits.items()}
    print(f"model {args.model}: {len(splits['val'])} validation, {len(splits['test'])} test images")
    for combo, names in COMBOS.items():
        p_val = sigmoid(np.mean([z["val"][n] for n in names], axis=0))
        p_test = sigmoid(np.mean([z["test"][n] for n in names], axis=0))
        report_at_validation_eer(f"{combo} ({len(names)} passes)", combo, splits, p_val, p_test)


if __name__ == "__main__":
    main()
