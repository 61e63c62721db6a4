"""Does a model key on the border streaks of pre-cropped face images? Scores ONNX classifiers on
the registry's test crops in two framings and prints TPR/TNR per source (own threshold) and the
AUC of each two-class source for both:

- ``canonical``: the runtime's crop, the square ``max(w, h) * (1 + margin)`` around the face box,
  with the part outside the image filled by edge replication;
- ``fitted``: the same square pulled inside the image (``train.data.fitted_crop``): real pixels
  only, the face larger in the crop.

Why: ``dfdc-faces`` and ``utkface`` ship tight 224/200 px face crops whose detector box reaches
past the image, so only 28-40 % of their canonical square is image and the rest is streaks. A
face in a video frame has real context there. A model that only works on the streaked framing
will not carry over to video; one that scores both framings alike has not learnt the streaks.

Usage: .venv/bin/python research/framing_probe.py MODEL.onnx [MODEL.onnx ...] [--faces DIR]
"""

from __future__ import annotations

from probe_common import markdown_table, print_footer, probe_inputs

from train.source_eval import source_rows


def main() -> None:
    inputs = probe_inputs(__doc__.split("\n\n")[0])
    detectors = inputs.detectors()
    test = inputs.samples
    table: dict[str, dict[str, str]] = {}
    columns = []
    for column, d, p in inputs.framing_columns(test, detectors):
        columns.append(column)
        for row in source_rows(test, p, d.name, float(d.threshold)):
            key = f"{row.source} {row.metric}"
            value = row.auc if row.metric == "AUC" else row.rate
            table.setdefault(key, {})[column] = f"{value:.3f}"
    print(markdown_table(table, columns))
    print_footer(detectors, test)


if __name__ == "__main__":
    main()
