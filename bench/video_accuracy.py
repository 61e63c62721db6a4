"""Per-clip verdicts and frame-level vs video-level figures for each voting rule.

Runs the streaming engine once over the FaceForensics++ c23 clips in ../shared/data (all clips
as concurrent streams, so crops are batched across them exactly as `deepscreen screen` does),
records every face crop's probability, and reports:

* frame level: accuracy of the per-crop decision at the model's threshold, and ROC AUC over
  crops (real vs fake clips);
* video level, for each voting rule (mean, majority, confident): the one-shot verdict over the
  whole clip (per-frame value = the most suspicious face of the frame, as the stream voter
  sees it) and the streaming verdict at the end of the clip (sliding window + hysteresis +
  min_frames, replayed from the same frame sequence), plus the live engine's own final verdict
  for the rule it ran with.

The clips are few (3 real, 3 fake): these numbers describe behaviour, they are not an accuracy
estimate, and nothing is tuned on them.

Usage::

    .venv/bin/python bench/video_accuracy.py                      # all frames, k=5
    .venv/bin/python bench/video_accuracy.py --max-frames 150 --json out.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from engine.pipeline import (  # noqa: E402
    ClassifierSpec,
    PipelineConfig,
    build_classifier,
    build_pipeline,
)
from engine.sinks.base import Sink  # noqa: E402
from engine.vote import RULES, VoteConfig, Voter, decide  # noqa: E402

DEFAULT_ROOT = REPO.parent / "shared" / "data" / "videos" / "ffpp-c23"


class Recorder(Sink):
    """Keeps every crop probability and the final stream events."""

    def __init__(self) -> None:
        self.crops: dict[str, list[tuple[int, int, float, float]]] = defaultdict(list)
        self.final: dict[str, dict] = {}

    def on_prediction(self, stream, track, frame_index, t, p_fake) -> None:
        self.crops[stream].append((frame_index, track, t, p_fake))

    def on_event(self, event) -> None:
        if event.track is None and event.final:
            self.final[event.stream] = {"verdict": event.verdict, "p_fake": event.p_fake}


def frame_sequence(crops: list[tuple[int, int, float, float]]) -> list[float]:
    """One value per frame, in frame order: the highest p_fake among its faces."""
    best: dict[int, float] = {}
    for frame_index, _, _, p in crops:
        best[frame_index] = max(best.get(frame_index, -1.0), p)
    return [best[k] for k in sorted(best)]


def streaming_verdict(seq: list[float], cfg: VoteConfig) -> str:
    voter = Voter(cfg, "replay")
    for i, p in enumerate(seq):
        voter.add(p, float(i))
    return voter.verdict


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula; ties get average ranks."""
    pos, neg = scores[labels == 1], scores[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    order = np.argsort(np.concatenate([pos, neg]), kind="mergesort")
    allv = np.concatenate([pos, neg])[order]
    ranks = np.empty(len(allv))
    i = 0
    while i < len(allv):
        j = i
        while j + 1 < len(allv) and allv[j + 1] == allv[i]:
            j += 1
        ranks[i:j + 1] = (i + j) / 2 + 1
        i = j + 1
    r = np.empty(len(allv))
    r[order] = ranks
    return float((r[: len(pos)].sum() - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg)))


def clips(root: Path) -> list[tuple[Path, str]]:
    out = [(p, "real") for p in sorted((root / "real").glob("*.mp4"))]
    for folder in sorted(root.glob("fake-*")):
        out += [(p, "fake") for p in sorted(folder.glob("*.mp4"))]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", type=Path, default=DEFAULT_ROOT)
    ap.add_argument("--model", type=Path, default=None, help="classifier ONNX (default: shipped)")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--detect-every", type=int, default=5)
    ap.add_argument("--classify-every", type=int, default=1)
    ap.add_argument("--max-frames", type=int, default=0, help="per clip (0 = all)")
    ap.add_argument("--rule", default="confident", choices=RULES, help="rule the engine runs")
    ap.add_argument("--window", type=int, default=64)
    ap.add_argument("--min-frames", type=int, default=8)
    ap.add_argument("--hysteresis", type=float, default=0.05)
    ap.add_argument("--json", type=Path, default=None, help="write the full report here")
    args = ap.parse_args(argv)

    items = clips(args.root)
    if not items:
        print(f"no clips under {args.root}", file=sys.stderr)
        return 2
    classifier = build_classifier(ClassifierSpec(backend=args.backend, model=args.model))
    config = PipelineConfig(
        detect_every=args.detect_every, classify_every=args.classify_every,
        max_frames=args.max_frames, rule=args.rule, window=args.window,
        min_frames=args.min_frames, hysteresis=args.hysteresis,
    )
    recorder = Recorder()
    pipeline = build_pipeline([str(p) for p, _ in items], config, classifier=classifier,
                              sinks=[recorder])
    sources = [st.source for st in pipeline.states]
    t0 = time.perf_counter()
    summary = pipeline.run()
    wall = time.perf_counter() - t0
    if summary.error:
        print(f"run failed: {summary.error}", file=sys.stderr)
        return 1
    thr = config.resolve(classifier.contract).threshold
    labels = {src.name: label for src, (_, label) in zip(sources, items, strict=True)}
    rows = []
    all_p, all_y = [], []
    for s in summary.streams:
        y = 1 if labels[s.stream] == "fake" else 0
        probs = np.array([c[3] for c in recorder.crops[s.stream]], dtype=np.float64)
        seq = frame_sequence(recorder.crops[s.stream])
        # Crops per face track, largest first: the subject's track and the detector's false
        # positives (which vote too) side by side.
        per_track = Counter(c[1] for c in recorder.crops[s.stream])
        all_p.append(probs)
        all_y.append(np.full(len(probs), y))
        row = {
            "clip": s.stream, "label": labels[s.stream], "frames": s.processed,
            "crops": int(len(probs)),
            "track_crops": "/".join(str(n) for _, n in per_track.most_common()),
            "frame_acc": float(np.mean((probs >= thr) == bool(y))) if len(probs) else None,
            "mean_p": float(probs.mean()) if len(probs) else None,
            "engine_rule": args.rule, "engine_verdict": recorder.final.get(s.stream, {}).get(
                "verdict", s.verdict),
        }
        for rule in RULES:
            row[f"video_{rule}"] = decide(seq, rule, thr) if seq else "uncertain"
            cfg = VoteConfig(rule=rule, threshold=thr, window=args.window,
                             min_frames=args.min_frames, hysteresis=args.hysteresis)
            row[f"stream_{rule}"] = streaming_verdict(seq, cfg)
        rows.append(row)
    p, y = np.concatenate(all_p), np.concatenate(all_y)
    report = {
        "model": str(args.model or "shipped"), "backend": summary.backend,
        "threshold": thr, "config": {k: getattr(config, k) for k in (
            "detect_every", "classify_every", "max_frames", "window", "min_frames",
            "hysteresis", "rule")},
        "wall_s": wall, "frames_per_s": summary.fps, "clips": rows,
        "frame_level": {"crops": int(len(p)), "accuracy": float(np.mean((p >= thr) == (y == 1))),
                        "auc": auc(p, y)},
        "video_level": {},
    }
    for rule in RULES:
        for kind in ("video", "stream"):
            correct = [r[f"{kind}_{rule}"] == r["label"] for r in rows]
            report["video_level"][f"{kind}_{rule}"] = f"{sum(correct)}/{len(correct)}"
    print_report(report)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0


def print_report(report: dict) -> None:
    cols = ["clip", "label", "frames", "crops", "track_crops", "frame_acc", "mean_p"] + [
        f"{k}_{r}" for r in RULES for k in ("video", "stream")] + ["engine_verdict"]
    print("track_crops: crops classified per face track, largest first\n")
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for r in report["clips"]:
        cells = []
        for c in cols:
            v = r[c]
            cells.append(f"{v:.3f}" if isinstance(v, float) else str(v))
        print("| " + " | ".join(cells) + " |")
    fl = report["frame_level"]
    print(f"\nframe level: {fl['crops']} crops, accuracy {fl['accuracy']:.3f}, "
          f"AUC {fl['auc']:.3f} (threshold {report['threshold']:.3f})")
    print("video level (correct/clips): " + ", ".join(
        f"{k} {v}" for k, v in report["video_level"].items()))
    print(f"wall {report['wall_s']:.1f} s, {report['frames_per_s']:.1f} frames/s, "
          f"backend {report['backend']}")


if __name__ == "__main__":
    sys.exit(main())
