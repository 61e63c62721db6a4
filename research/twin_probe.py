"""Does a model rank each DFDC fake above its own real twin? Scores ONNX classifiers on the
test split's real/fake twin pairs (same source video, same scene, face swapped) and prints, per
model, the pair accuracy (fake above its twin), the AUC over the same faces, the median logit
gap, of the reals called fake the share whose fake twin is called fake too (beside the share of
all fakes called fake, which it would be were the two verdicts unrelated), and how sharp the
reals called fake are (median ``engine.judge.quality.sharpness`` of the face box, native pixels)
against the reals called real.

Why: the usual AUC compares every fake with every real, so it mixes two skills, telling the
swapped face from the real one and not letting the scene move the score. A pair accuracy well
above the AUC means the scene is what costs ranking; reals flagged together with their fakes
more often than fakes are flagged at all are scene-wide false alarms. The twin ranking loss
(``cache.pair_weight``, train/pairs.py) trains the first skill directly.

Usage: .venv/bin/python research/twin_probe.py MODEL.onnx [MODEL.onnx ...] [--faces DIR]
"""

from __future__ import annotations

import numpy as np
from probe_common import markdown_table, probe_inputs, threshold_list

from train.pairs import twin_index, twin_ranking
from train.source_eval import score_samples


def main() -> None:
    inputs = probe_inputs(__doc__.split("\n\n")[0])
    detectors = inputs.detectors()
    twins = twin_index(inputs.samples)
    paired = [s for s, t in zip(inputs.samples, twins, strict=True) if t >= 0]
    if not paired:
        raise SystemExit("no real/fake twin pairs in the test split (dfdc-faces has them)")
    got = score_samples(paired, detectors, inputs.margin, inputs.cache_dir)
    real = np.array([s.label == 0 for s in paired])
    sharp = inputs.sharpness(paired, real_only=True)
    table: dict[str, dict[str, str]] = {}
    for d in detectors:
        r = twin_ranking(paired, got[d.name], d.threshold)
        flagged = real & (got[d.name] >= d.threshold)
        passed = real & ~flagged
        table.setdefault("real twin sharpness (median): called fake / called real", {})[
            d.name] = (f"{np.median(sharp[flagged]):.0f} / {np.median(sharp[passed]):.0f}"
                       if flagged.any() and passed.any() else "-")
        for row, value in (
            ("pair accuracy (fake above its own real twin)", f"{r.pair_accuracy:.3f}"),
            ("AUC, every fake against every real of these pairs", f"{r.auc:.3f}"),
            ("median logit gap, fake - real twin", f"{r.median_gap:+.2f}"),
            ("reals called fake whose twin is called fake too",
             f"{r.real_flagged_with_fake:.3f}"),
            ("reals called fake whose twin is called fake too, expected were the verdicts "
             "unrelated (= fakes called fake)",
             f"{r.fake_flagged:.3f}"),
        ):
            table.setdefault(row, {})[d.name] = value
    print(markdown_table(table, [d.name for d in detectors]))
    sources = sorted({s.source.split("/")[0] for s in paired})
    print(f"\npairs: {len(paired) // 2} ({', '.join(sources)}; test split); thresholds: "
          + threshold_list(detectors))


if __name__ == "__main__":
    main()
