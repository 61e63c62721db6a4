"""Is the mirror pass needed? The flip graph against its single-pass twin, on real crops.

For every crop (faces detected on every ``--every``-th frame of the shared clips, cut as the
pipeline cuts them) three scores: the shipped graph's (crop and mirror averaged inside the
graph), the single pass of the twin (export/single_pass.py), and the twin with the mirror
pass near the threshold, for a range of bands. Reported: how far the single pass moves p_fake,
how many crops change side of the threshold, the frame AUC of each, and the share of crops a
band sends through the mirror pass. The smallest band with no crop changing side is what
``deepscreen.mirror_band`` should say::

    .venv/bin/python bench/flip_check.py --out runs/flip-check

``--sources DIR`` does the same on the test split of every face source below DIR (the crops of
``deepscreen evaluate --sources``): per band, each source's rate at the threshold and AUC, the
model card's figures, beside the flip graph's::

    .venv/bin/python bench/flip_check.py --sources ../shared/data/faces --out runs/flip-sources
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.micro import collect_crops  # noqa: E402
from bench.onset import shared_clips  # noqa: E402
from bench.video_accuracy import auc  # noqa: E402
from engine.classifier import mean_logit_probability  # noqa: E402
from engine.errors import InputError  # noqa: E402
from engine.preprocess import prepare_crops  # noqa: E402
from train.labelled import label_of_path  # noqa: E402

BANDS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 1.0)
SOURCE_BANDS = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 1.0)


def flip_check_sources(model: Path, root: Path, cache_dir: Path | None) -> dict:
    """Per band: every source's rate and AUC (test split), mirrored share, side changes."""
    from engine.backends import load_backend
    from export.single_pass import strip_flip
    from train.predict import score_crops
    from train.source_eval import Detector, score_samples, source_rows
    from train.sources import load_sources

    flip = load_backend("ort", model)
    work = Path(tempfile.mkdtemp())
    # The twin scored as the engine scores it: alone (band 0) and with the mirror on every
    # crop (band 1); any band in between picks one of the two per crop.
    single = load_backend("ort", strip_flip(model, work / "single.onnx", 0.0))
    mirrored = load_backend("ort", strip_flip(model, work / "mirrored.onnx", 1.0))
    thr = flip.contract.threshold
    test = [s for s in load_sources(root, None, 0.1, 0.2) if s.split == "test"]
    dets = [Detector("flip", lambda c: score_crops(flip, c), thr),
            Detector("one", lambda c: score_crops(single, c), thr),
            Detector("both", lambda c: score_crops(mirrored, c), thr)]
    p = score_samples(test, dets, flip.contract.margin, cache_dir)
    both = p["both"]
    rows = [{"band": "flip graph", "mirrored_share": 1.0, "side_changes": 0,
             "cells": [r.__dict__ for r in source_rows(test, p["flip"], "flip", thr)]}]
    for band in SOURCE_BANDS:
        near = np.abs(p["one"] - thr) < band
        pb = np.where(near, both, p["one"])
        rows.append({"band": band, "mirrored_share": float(near.mean()),
                     "side_changes": int(((pb >= thr) != (p["flip"] >= thr)).sum()),
                     "cells": [r.__dict__ for r in source_rows(test, pb, f"band {band}", thr)]})
    return {"model": str(model), "threshold": thr, "crops": len(test), "rows": rows}


def sources_markdown(report: dict) -> str:
    """One row per band: mirrored share, side changes, then each source's rate / AUC."""
    cells = report["rows"][0]["cells"]
    names = [f"{c['source']} {c['metric']}" for c in cells]
    lines = [f"{report['crops']} test faces, threshold {report['threshold']:.4f}; rate at the "
             "threshold / AUC per source", "",
             "| mirror band | mirrored | side changes | " + " | ".join(names) + " |",
             "| --- | --- | --- | " + " | ".join("---" for _ in names) + " |"]
    for r in report["rows"]:
        band = r["band"] if isinstance(r["band"], str) else f"{r['band']:g}"
        vals = [f"{c['auc']:.3f}" if c["metric"] == "AUC" else f"{c['rate']:.3f} / {c['auc']:.3f}"
                for c in r["cells"]]
        lines.append(f"| {band} | {100 * r['mirrored_share']:.1f} % | {r['side_changes']} | "
                     + " | ".join(vals) + " |")
    return "\n".join(lines) + "\n"


def flip_check(model: Path, clips: list[Path], per_clip: int, every: int) -> dict:
    """Scores of every crop under the flip graph, the single pass and each band."""
    from engine.backends import load_backend
    from engine.detect import MTCNNDetector
    from export.single_pass import strip_flip

    flip = load_backend("ort", model)
    if not flip.traits.flip_in_graph:
        raise SystemExit(f"{model}: no flip in its graph, nothing to compare")
    twin_path = strip_flip(model, Path(tempfile.mkdtemp()) / "single.onnx", 0.0)
    single = load_backend("ort", twin_path)
    contract = flip.contract
    detector = MTCNNDetector(min_face=40)
    p_flip, p_one, p_mirror, labels = [], [], [], []
    for clip in clips:
        try:
            crops = collect_crops(clip, detector, per_clip, contract.margin, every)
        except InputError:
            continue
        pixels = prepare_crops(crops, contract)
        zeros = np.zeros((len(crops), contract.spectrum_bins), np.float32)
        p_flip += list(flip.predict(pixels, zeros))
        p_one += list(single.predict(pixels, zeros))
        p_mirror += list(single.predict(np.ascontiguousarray(pixels[..., ::-1]), zeros))
        # The project's labelling rule; a clip outside any real*/fake* folder counts as real.
        labels += [int(label_of_path(clip) == 1)] * len(crops)
    f, one, m = (np.asarray(v, np.float64) for v in (p_flip, p_one, p_mirror))
    y = np.asarray(labels)
    thr = contract.threshold
    both = mean_logit_probability(one, m)
    rows = []
    for band in BANDS:
        near = np.abs(one - thr) < band
        p = np.where(near, both, one)
        rows.append({"band": band, "mirrored_share": float(near.mean()),
                     "side_changes": int(((p >= thr) != (f >= thr)).sum()),
                     "max_abs_dp": float(np.abs(p - f).max()), "auc": auc(p, y)})
    ok = [r["band"] for r in rows if r["side_changes"] == 0]
    return {"model": str(model), "threshold": thr, "crops": int(len(f)), "clips": len(clips),
            "auc_flip_graph": auc(f, y), "single_vs_flip_abs_dp": {
                "p50": float(np.median(np.abs(one - f))), "p99": float(np.quantile(
                    np.abs(one - f), 0.99)), "max": float(np.abs(one - f).max())},
            "bands": rows, "smallest_safe_band": min(ok) if ok else None}


def markdown(report: dict) -> str:
    lines = [f"{report['crops']} crops from {report['clips']} clips, threshold "
             f"{report['threshold']:.3f}; flip graph frame AUC {report['auc_flip_graph']:.3f}; "
             f"|p single - p flip|: median {report['single_vs_flip_abs_dp']['p50']:.3f}, p99 "
             f"{report['single_vs_flip_abs_dp']['p99']:.3f}, max "
             f"{report['single_vs_flip_abs_dp']['max']:.3f}", "",
             "| mirror band | crops mirrored | crops changing side | max abs dp | frame AUC |",
             "| --- | --- | --- | --- | --- |"]
    for r in report["bands"]:
        lines.append(f"| {r['band']:g} | {100 * r['mirrored_share']:.1f} % | {r['side_changes']}"
                     f" | {r['max_abs_dp']:.3f} | {r['auc']:.3f} |")
    lines += ["", f"Smallest band with no crop changing side: {report['smallest_safe_band']}"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    from engine.backends.factory import DEFAULT_MODEL

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    ap.add_argument("--per-clip", type=int, default=12, help="crops per clip")
    ap.add_argument("--every", type=int, default=10, help="detect on every n-th frame")
    ap.add_argument("--clip", type=Path, action="append", default=[],
                    help="another clip beside the shared ones (repeatable), e.g. street.mp4")
    ap.add_argument("--out", type=Path, default=Path("runs/flip-check"))
    ap.add_argument("--sources", type=Path, default=None,
                    help="face sources root: the per-source test-split table instead")
    ap.add_argument("--cache-dir", type=Path, default=Path("runs/cache"))
    args = ap.parse_args(argv)
    if args.sources is not None:
        report = flip_check_sources(args.model, args.sources, args.cache_dir)
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "sources.json").write_text(json.dumps(report, indent=1))
        (args.out / "sources.md").write_text(sources_markdown(report))
        print(sources_markdown(report))
        return 0
    report = flip_check(args.model, shared_clips() + args.clip, args.per_clip, args.every)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "flip.json").write_text(json.dumps(report, indent=1))
    (args.out / "flip.md").write_text(markdown(report))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
