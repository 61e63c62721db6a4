"""Clip-level evaluation of the streaming engine: every stream rule, weighting and confirmation.

Runs the real engine (:func:`engine.pipeline.build_pipeline`) over labelled clips (all of
them as concurrent streams, crops batched across them as `deepscreen screen` does) and records
every classified crop with its track, quality, confirmation state and span. The recorded crops
are then replayed through :class:`engine.judge.stream_vote.StreamJudge`, the engine's own stream
verdict, once per stream rule x weighting x confirmation (on = the run's settings, off = every
track votes). Under the classification budget (:mod:`engine.budget`) which crops are
classified depends on the track verdicts, and so on the weighting (not on the stream rule or
the confirmation, which never touch a track's voter): the engine then runs once per weighting
and each variant replays the crops of the run that `screen` with that weighting would have
made. Each variant reports:

* clip accuracy (a clip left without a decision counts as wrong) and ``undecided`` clips;
* ROC AUC of the final stream score over clips;
* time to verdict: seconds of video until the first ``fake`` stream verdict on fake clips;
* false alarms per hour on real clips (times a real clip's stream verdict turned ``fake``);

overall and per source (the clip's folder). Frame level: accuracy and AUC over crops.

Labels: the project's one rule (:mod:`train.labelled`): the nearest folder above the clip, the
folder given included, named ``real*`` or ``fake*`` (``fake-deepfakes/x.mp4``), which also names
the clip's source; or a CSV ``path,label[,source]`` (paths relative to the CSV). Used by
`deepscreen evaluate --videos DIR` and, as a script, for the tables in docs/CLIP_EVALUATION.md::

    .venv/bin/python bench/video_accuracy.py --out runs/video-eval   # shared clips + street.mp4
    .venv/bin/python bench/video_accuracy.py --videos DIR --labels labels.csv --out OUT
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import math
import sys
import time
from collections import defaultdict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from engine.io import VIDEO_SUFFIXES  # noqa: E402
from engine.judge.confirm import ConfirmConfig  # noqa: E402
from engine.judge.stream_vote import STREAM_RULES, WEIGHTINGS, StreamJudge  # noqa: E402
from engine.judge.verdicts import FAKE, UNCERTAIN  # noqa: E402
from engine.judge.vote import VoteConfig  # noqa: E402
from engine.pipeline import ClassifierSpec, PipelineConfig, build_classifier, build_pipeline  # noqa: E402,E501
from engine.sinks.base import Sink  # noqa: E402
from train.labelled import (  # noqa: E402
    LABEL_NAMES,
    Sample,
    label_of_folder,
    label_of_name,
    labelled_files,
)

SHARED_VIDEOS = REPO.parent / "shared" / "data" / "videos"
DEFAULT_DIRS = (SHARED_VIDEOS / "ffpp-c23",)
STREET = SHARED_VIDEOS / "multiface" / "street.mp4"  # 4-7 real faces a frame


@dataclass
class Recorder(Sink):
    """Every classified crop, per stream, in classification order."""

    crops: dict = field(default_factory=lambda: defaultdict(list))

    def on_crop(self, stream, item, p_fake, confirmed, hits) -> None:
        q = item.quality
        self.crops[stream].append({
            "track": item.track, "frame": item.frame_index, "t": item.t, "p": float(p_fake),
            "confirmed": confirmed, "hits": hits, "span": item.span,
            **(q.as_dict() if q is not None else {"value": 1.0}),
        })


def find_clips(roots: list[Path], labels_csv: Path | None = None) -> list[Sample]:
    """Labelled clips under ``roots`` (real*/fake* folders) and in ``labels_csv``.

    A clip's source is its label folder's name (``fake-deepfakes``), or the CSV's ``source``
    column (default: the clip's folder). Roots that are not folders hold no clip.
    """
    out: list[Sample] = []
    for root in roots:
        if Path(root).is_dir():
            pairs, _ = labelled_files(root, VIDEO_SUFFIXES)
            out += [Sample(str(path), int(label_of_folder(folder.name)), folder.name)
                    for path, folder in pairs]
    if labels_csv is not None:
        with open(labels_csv, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                try:
                    label = label_of_name(row["label"])
                except ValueError as exc:
                    raise ValueError(f"{labels_csv}: {exc}") from None
                path = Path(row["path"])
                path = path if path.is_absolute() else labels_csv.parent / path
                out.append(Sample(str(path), label, row.get("source") or path.parent.name))
    return out


def auc(scores, labels) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney) formula; ties count half."""
    s, y = np.asarray(scores, float), np.asarray(labels, int)
    pos, neg = s[y == 1], s[y == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


def replay(crops: list[dict], vote: VoteConfig, rule: str, weighting: str, gate: float,
           confirm: bool, min_face: float = 0.0) -> dict:
    """One stream's crops through a fresh judge: final verdict, score, alarms, first fake t.

    ``min_face``: the vote floor the engine ran with (engine/judge/face_floor.py)."""
    judge = StreamJudge("replay", vote, rule, weighting, gate, min_face)
    per_frame: dict[int, int] = defaultdict(int)
    for c in crops:
        per_frame[c["frame"]] += 1
    seen_frames: set[int] = set()
    state: dict[int, bool] = {}
    first_fake, alarms = None, 0
    for c in crops:
        confirmed = c["confirmed"] if confirm else True
        events = []
        if state.get(c["track"]) != confirmed:
            state[c["track"]] = confirmed
            events += judge.status(c["track"], confirmed, c["hits"])
        if c["frame"] not in seen_frames:
            seen_frames.add(c["frame"])
            for _ in range(per_frame[c["frame"]]):
                judge.expect(c["frame"], c["t"])
        events += judge.crop(c["track"], c["frame"], c["t"], c["p"], c.get("value", 1.0),
                             c.get("span"), c.get("side", math.inf))
        for e in events:
            if e.track is None and e.verdict == FAKE:
                alarms += 1
                first_fake = e.t if first_fake is None else first_fake
    judge.finish()
    return {"verdict": judge.verdict, "score": judge.score, "first_fake": first_fake,
            "alarms": alarms, "reason": judge.reason()}


def summarise(rows: list[dict]) -> dict:
    """Accuracy, AUC, time to verdict and false alarms/hour over some clips' replays."""
    n = len(rows)
    correct = sum(r["verdict"] == r["label"] for r in rows)
    scores = [(-1.0 if math.isnan(r["score"]) else r["score"]) for r in rows]
    fakes = [r for r in rows if r["label"] == "fake"]
    reals = [r for r in rows if r["label"] == "real"]
    ttv = [r["first_fake"] for r in fakes if r["first_fake"] is not None]
    real_hours = sum(r["duration_s"] for r in reals) / 3600
    return {
        "clips": n, "correct": correct, "accuracy": correct / n if n else float("nan"),
        "undecided": sum(r["verdict"] == UNCERTAIN for r in rows),
        "auc": auc(scores, [r["label"] == "fake" for r in rows]),
        "fakes_caught": f"{len(ttv)}/{len(fakes)}",
        "ttv_median_s": float(np.median(ttv)) if ttv else float("nan"),
        "false_alarms": sum(r["alarms"] for r in reals),
        "false_alarms_per_h": (sum(r["alarms"] for r in reals) / real_hours
                               if real_hours else float("nan")),
    }


def model_id(path: Path | None) -> str:
    """sha256 prefix of the classifier file (the shipped one when None)."""
    from engine.backends.factory import DEFAULT_MODEL

    target = Path(path) if path is not None else Path(DEFAULT_MODEL)
    return hashlib.sha256(target.read_bytes()).hexdigest()[:16]


def _screen(clips: list[Sample], config: PipelineConfig, classifier) -> tuple:
    """One engine run over ``clips``: (stream names, summary, recorder, wall seconds)."""
    recorder = Recorder()
    pipeline = build_pipeline([c.path for c in clips], config, classifier=classifier,
                              sinks=[recorder])
    names = [st.source.name for st in pipeline.states]
    t0 = time.perf_counter()
    summary = pipeline.run()
    if summary.error:
        raise RuntimeError(f"run failed: {summary.error}")
    return names, summary, recorder, time.perf_counter() - t0


def evaluate_videos(clips: list[Sample], config: PipelineConfig, spec: ClassifierSpec,
                    gate: float = 0.2) -> dict:
    """Run the engine over ``clips`` (once, or once per weighting under a budget) and replay
    every variant; the full report."""
    classifier = build_classifier(spec)
    # Under a budget the classified crops depend on the weighting: one run per weighting.
    runs = ({w: _screen(clips, replace(config, weighting=w), classifier) for w in WEIGHTINGS}
            if config.budget.per_track else {None: _screen(clips, config, classifier)})
    names, summary, recorder, _ = runs.get(config.weighting, runs.get(None))
    wall = sum(r[3] for r in runs.values())
    own = config.resolve(classifier.contract, classifier.traits)
    thr, floor = own.threshold, own.vote_min_face
    vote = VoteConfig(rule=config.rule, threshold=thr, window=config.window,
                      min_frames=config.min_frames, hysteresis=config.hysteresis)
    by_name = {s.stream: s for s in summary.streams}
    variants: dict[str, dict] = {}
    per_clip = []
    for name, clip in zip(names, clips, strict=True):
        crops = recorder.crops.get(name, [])
        s = by_name[name]
        tracks: dict[int, dict] = {}
        for c in crops:
            tr = tracks.setdefault(c["track"], {"crops": 0, "hits": 0, "confirmed": False,
                                                "p": [], "score": [], "side": [], "q": []})
            tr["crops"] += 1
            tr["hits"] = max(tr["hits"], c["hits"])
            tr["confirmed"] |= c["confirmed"]
            for k, v in (("p", c["p"]), ("score", c.get("score")), ("side", c.get("side")),
                         ("q", c.get("value"))):
                if v is not None:
                    tr[k].append(v)
        per_clip.append({
            "clip": name, "label": LABEL_NAMES[clip.label], "source": clip.source,
            "frames": s.processed,
            "duration_s": s.last_t, "crops": len(crops), "engine_verdict": s.verdict,
            "engine_reason": s.reason,
            "tracks": {tid: {"crops": tr["crops"], "hits": tr["hits"],
                             "confirmed": tr["confirmed"],
                             "mean_p": float(np.mean(tr["p"])),
                             "min_score": float(np.min(tr["score"])) if tr["score"] else None,
                             "median_side": float(np.median(tr["side"])) if tr["side"] else None,
                             "mean_q": float(np.mean(tr["q"])) if tr["q"] else None}
                       for tid, tr in tracks.items()},
        })
        for rule in STREAM_RULES:
            for weighting in WEIGHTINGS:
                run_crops = runs[weighting][2].crops.get(name, []) if None not in runs else crops
                for confirm in (True, False):
                    key = f"{rule}|{weighting}|{'on' if confirm else 'off'}"
                    r = replay(run_crops, vote, rule, weighting, gate, confirm, floor)
                    r.update(clip=name, label=LABEL_NAMES[clip.label], source=clip.source,
                             duration_s=s.last_t)
                    variants.setdefault(key, []).append(r)
    all_p = [c["p"] for c in per_clip for c in recorder.crops.get(c["clip"], [])]
    all_y = [clip["label"] == "fake" for clip in per_clip
             for _ in recorder.crops.get(clip["clip"], [])]
    confirmed_p = [(c["p"], clip["label"] == "fake") for clip in per_clip
                   for c in recorder.crops.get(clip["clip"], []) if c["confirmed"]]
    return {
        "model_sha256": model_id(getattr(classifier.backend, "model_path", spec.model)),
        "backend": summary.backend, "threshold": thr,
        "config": {"detect_every": config.detect_every, "rule": config.rule,
                   "window": config.window, "min_frames": config.min_frames,
                   "hysteresis": config.hysteresis, "confirm": vars(config.confirm),
                   "quality_gate": gate, "vote_min_face": floor,
                   "budget": asdict(config.budget),
                   "engine_runs": len(runs)},
        "wall_s": wall, "fps": summary.fps, "clips": per_clip,
        "frame_level": {
            "crops": len(all_p), "auc": auc(all_p, all_y),
            "accuracy": float(np.mean((np.array(all_p) >= thr) == np.array(all_y))),
            "confirmed_crops": len(confirmed_p),
            "confirmed_auc": auc([p for p, _ in confirmed_p], [y for _, y in confirmed_p]),
        },
        "variants": {k: {"overall": summarise(rows),
                         "per_source": {src: summarise([r for r in rows if r["source"] == src])
                                        for src in dict.fromkeys(r["source"] for r in rows)},
                         "clips": rows}
                     for k, rows in variants.items()},
    }


def _f(v, fmt="{:.3f}") -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else fmt.format(v)


def markdown(report: dict) -> str:
    """The tables: variants overall, per source (confirmation on, no weighting), per clip."""
    lines = [f"model sha256 `{report['model_sha256']}...`, threshold "
             f"{report['threshold']:.3f}, backend {report['backend']}, "
             f"track rule `{report['config']['rule']}`, k={report['config']['detect_every']}, "
             f"settled rate {report['config'].get('budget', {}).get('settled_hz', 0):g} Hz "
             f"({report['config'].get('engine_runs', 1)} engine run(s))",
             "", "| stream rule | weighting | confirm | correct | undecided | AUC | fakes caught "
             "| median time to fake verdict (s) | false alarms (per hour) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for key, v in report["variants"].items():
        rule, weighting, confirm = key.split("|")
        o = v["overall"]
        lines.append(f"| {rule} | {weighting} | {confirm} | {o['correct']}/{o['clips']} | "
                     f"{o['undecided']} | {_f(o['auc'])} | {o['fakes_caught']} | "
                     f"{_f(o['ttv_median_s'], '{:.1f}')} | {o['false_alarms']} "
                     f"({_f(o['false_alarms_per_h'], '{:.0f}')}) |")
    lines += ["", "Per source (weighting none, confirmation on): correct/clips, false alarms",
              "", "| source | " + " | ".join(STREAM_RULES) + " |",
              "| --- |" + " --- |" * len(STREAM_RULES)]
    sources = list(report["variants"][f"{STREAM_RULES[0]}|none|on"]["per_source"])
    for src in sources:
        cells = []
        for rule in STREAM_RULES:
            o = report["variants"][f"{rule}|none|on"]["per_source"][src]
            cells.append(f"{o['correct']}/{o['clips']}, {o['false_alarms']}")
        lines.append(f"| {src} | " + " | ".join(cells) + " |")
    lines += ["", "Per clip (weighting none, confirmation on): final verdict (score)", "",
              "| clip | label | tracks confirmed/all | " + " | ".join(STREAM_RULES) + " |",
              "| --- | --- | --- |" + " --- |" * len(STREAM_RULES)]
    for i, clip in enumerate(report["clips"]):
        conf = sum(t["confirmed"] for t in clip["tracks"].values())
        cells = []
        for rule in STREAM_RULES:
            r = report["variants"][f"{rule}|none|on"]["clips"][i]
            cells.append(f"{r['verdict']} ({_f(r['score'])})")
        lines.append(f"| {clip['clip']} | {clip['label']} | {conf}/{len(clip['tracks'])} | "
                     + " | ".join(cells) + " |")
    fl = report["frame_level"]
    lines += ["", f"Frame level: {fl['crops']} crops, AUC {_f(fl['auc'])}, accuracy "
              f"{_f(fl['accuracy'])}; crops of confirmed tracks only: {fl['confirmed_crops']}, "
              f"AUC {_f(fl['confirmed_auc'])}. Run: {report['wall_s']:.0f} s, "
              f"{report['fps']:.1f} frames/s."]
    return "\n".join(lines) + "\n"


def plot(report: dict, path: Path) -> bool:
    """Accuracy and AUC per variant (confirmation on/off) as a PNG; False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    keys = list(report["variants"])
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, metric in zip(axes, ("accuracy", "auc"), strict=True):
        vals = [report["variants"][k]["overall"][metric] for k in keys]
        colours = ["tab:blue" if k.endswith("on") else "tab:gray" for k in keys]
        ax.barh(range(len(keys)), [0 if math.isnan(v) else v for v in vals], color=colours)
        ax.set_yticks(range(len(keys)), [k.replace("|", " / ") for k in keys], fontsize=7)
        ax.set_xlim(0, 1)
        ax.set_title(f"clip {metric} (blue: confirmation on)")
        ax.invert_yaxis()
    fig.suptitle(f"model {report['model_sha256'][:12]}: {len(report['clips'])} clips")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_report(report: dict, out: Path) -> Path:
    """videos.json, videos.md and videos.png in ``out``; returns the markdown path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "videos.json").write_text(json.dumps(report, indent=1, default=str))
    md = out / "videos.md"
    md.write_text(markdown(report))
    plot(report, out / "videos.png")
    return md


def build_arg_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--videos", type=Path, action="append", default=None,
                    help="folder of real*/fake* subfolders (repeatable; default: shared ffpp-c23"
                         " clips plus multiface/street.mp4 as real)")
    ap.add_argument("--labels", type=Path, default=None, help="CSV path,label[,source]")
    ap.add_argument("--model", type=Path, default=None, help="classifier ONNX (default: shipped)")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--detect-every", type=int, default=5)
    ap.add_argument("--max-frames", type=int, default=0, help="per clip (0 = all)")
    ap.add_argument("--confirm-hits", type=int, default=ConfirmConfig.min_hits)
    ap.add_argument("--confirm-score", type=float, default=ConfirmConfig.min_score)
    ap.add_argument("--confirm-side", type=float, default=ConfirmConfig.min_side)
    ap.add_argument("--no-confirm-landmarks", action="store_true")
    ap.add_argument("--quality-gate", type=float, default=0.2)
    ap.add_argument("--out", type=Path, default=Path("runs/video-eval"))
    return ap


def main(argv: list[str] | None = None) -> int:
    args = build_arg_parser().parse_args(argv)
    clips = find_clips(args.videos or [d for d in DEFAULT_DIRS if d.is_dir()], args.labels)
    if args.videos is None and args.labels is None and STREET.is_file():
        clips.append(Sample(str(STREET), 0, "multiface"))
    if not clips:
        print("no labelled clips found", file=sys.stderr)
        return 2
    confirm = ConfirmConfig(min_hits=args.confirm_hits, min_score=args.confirm_score,
                            min_side=args.confirm_side, landmarks=not args.no_confirm_landmarks)
    config = PipelineConfig(detect_every=args.detect_every, max_frames=args.max_frames,
                            confirm=confirm, quality_gate=args.quality_gate)
    report = evaluate_videos(clips, config, ClassifierSpec(backend=args.backend,
                                                           model=args.model),
                             gate=args.quality_gate)
    md = write_report(report, args.out)
    print(md.read_text())
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
