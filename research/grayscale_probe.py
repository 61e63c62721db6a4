"""Does a model key on colour? Scores an ONNX classifier on the registry's test crops as they are
and converted to grayscale (luma in all three channels: what a camera in night/IR mode delivers),
at the model's own threshold, and prints TPR/TNR per source for both.

Why: ``lfw`` is the only grayscale source in ``../shared/data/faces`` and it is all real, so a
model can learn "grayscale means real"; then a grayscale fake (or any face on an IR camera) is
waved through. A model without that shortcut keeps its fake-source TPRs on grayscale crops.

Usage: .venv/bin/python research/grayscale_probe.py MODEL.onnx [MODEL.onnx ...] [--faces DIR]
"""

from __future__ import annotations

from probe_common import markdown_table, model_names, print_footer, probe_inputs

from train.augment import to_gray
from train.predict import score_crops
from train.source_eval import Detector, score_samples, source_rows


def main() -> None:
    inputs = probe_inputs(__doc__.split("\n\n")[0])
    detectors, thresholds = [], {}
    names = model_names(list(inputs.scorers))
    for path, sc in inputs.scorers.items():
        for mode in ("colour", "gray"):
            name = f"{names[path]} {mode}"
            conv = (lambda crops: crops) if mode == "colour" else (
                lambda crops: [to_gray(c) for c in crops])
            detectors.append(Detector(name, lambda crops, sc=sc, conv=conv:
                                      score_crops(sc, conv(crops)), sc.contract.threshold))
            thresholds[name] = float(sc.contract.threshold)
    test = inputs.samples
    got = score_samples(test, detectors, inputs.margin, inputs.cache_dir)
    table: dict[str, dict[str, str]] = {}
    for d in detectors:
        for row in source_rows(test, got[d.name], d.name, thresholds[d.name]):
            if row.metric in ("TPR", "TNR"):
                table.setdefault(f"{row.source} {row.metric}", {})[d.name] = f"{row.rate:.3f}"
    print(markdown_table(table, [d.name for d in detectors]))
    print_footer([d for d in detectors if d.name.endswith("colour")], test)


if __name__ == "__main__":
    main()
