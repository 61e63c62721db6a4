"""Does flip test-time augmentation help a model? Scores an ONNX classifier on the registry's
validation and test crops as it is, and as the mean logit of each crop and its mirror image
(what ``model_config.flip_tta`` builds into the graph), then prints per-source AUCs and the
rates at each variant's own validation (EER) threshold.

Usage: .venv/bin/python research/compare_tta.py MODEL.onnx [--faces DIR] [--cache-dir DIR]
"""

from __future__ import annotations

import numpy as np
from probe_common import one_model_args, report_at_validation_eer, val_test

from train.metrics import logit, sigmoid
from train.predict import score_crops
from train.source_eval import Detector, score_samples


def main() -> None:
    args, scorer = one_model_args(__doc__.split("\n\n")[0])
    detectors = [
        Detector("crop", lambda crops: score_crops(scorer, crops), None),
        Detector("mirror", lambda crops: score_crops(
            scorer, [np.ascontiguousarray(c[:, ::-1]) for c in crops]), None),
    ]
    splits = val_test(args.faces)
    p: dict[str, dict[str, np.ndarray]] = {}
    for split, part in splits.items():
        got = score_samples(part, detectors, scorer.contract.margin, args.cache_dir)
        tta = sigmoid((logit(got["crop"]) + logit(got["mirror"])) / 2)
        p[split] = {"as is": got["crop"], "flip TTA": tta}
    print(f"model {args.model}: {len(splits['val'])} validation, {len(splits['test'])} test images")
    for name in ("as is", "flip TTA"):
        report_at_validation_eer(name, name, splits, p["val"][name], p["test"][name])


if __name__ == "__main__":
    main()
