"""Does a model key on softness? Scores ONNX classifiers on the registry's test crops and prints,
per source, the rate at the model's own threshold on the softest and the sharpest third of the
faces, and the rank correlation of p_fake with sharpness.

Why: DFDC's swapped faces are softer than their real twins (the generator's output was upscaled
into the frame), so a model can learn "soft means fake"; then every real face from a
low-resolution or defocused camera is a false alarm. A model without that shortcut has about the
same TNR on the softest and the sharpest third of a real source and a correlation near 0.
Sharpness is the runtime's own measure (``engine.judge.quality.sharpness``: variance of the
Laplacian of the grey face box, native pixels), so the thirds are comparable within a source only.

Usage: .venv/bin/python research/sharpness_probe.py MODEL.onnx [MODEL.onnx ...] [--faces DIR]
"""

from __future__ import annotations

import numpy as np
from probe_common import markdown_table, print_footer, probe_inputs
from scipy.stats import spearmanr

from train.source_eval import score_samples


def main() -> None:
    inputs = probe_inputs(__doc__.split("\n\n")[0])
    detectors = inputs.detectors()
    test = inputs.samples
    got = score_samples(test, detectors, inputs.margin, inputs.cache_dir)
    sharp = inputs.sharpness(test)
    sources = np.array([s.source for s in test])
    labels = np.array([s.label for s in test])
    table: dict[str, dict[str, str]] = {}
    for source in sorted(set(sources)):
        idx = np.flatnonzero(sources == source)
        order = idx[np.argsort(sharp[idx], kind="stable")]
        third = len(order) // 3
        thirds = {"softest third": order[:third], "sharpest third": order[-third:]}
        metric = "TPR" if labels[idx[0]] == 1 else "TNR"
        for d in detectors:
            p = got[d.name]
            for name, part in thirds.items():
                flagged = p[part] >= d.threshold
                rate = flagged.mean() if metric == "TPR" else 1.0 - flagged.mean()
                table.setdefault(f"{source} {metric}, {name}", {})[d.name] = f"{rate:.3f}"
            rho = spearmanr(p[idx], sharp[idx]).statistic
            table.setdefault(f"{source} rank corr(p_fake, sharpness)", {})[d.name] = f"{rho:+.3f}"
        table.setdefault(f"{source} median sharpness soft / sharp third", {})["faces"] = (
            f"{np.median(sharp[order[:third]]):.0f} / {np.median(sharp[order[-third:]]):.0f}")
    print(markdown_table(table, [d.name for d in detectors] + ["faces"]))
    print_footer(detectors, test)


if __name__ == "__main__":
    main()
