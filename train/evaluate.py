"""Per-source evaluation of a checkpoint or an ONNX model on labelled folders and videos.

Every image goes through the canonical pipeline (detector -> native margin crop); video frames
are sampled evenly and their largest face is scored, as the engine would see them. The decision
threshold is the model's own (chosen on validation at training time), never 0.5 by assumption.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.io import VIDEO_SUFFIXES
from train.data import detect_faces, face_crop, read_bgr
from train.labelled import TEST_FRACTION, VAL_FRACTION, Sample, find_labelled
from train.metrics import binary_metrics
from train.predict import Scorer, score_crops


@dataclass(frozen=True)
class Scored:
    """Scores of one source (folder) with its label."""

    source: str
    label: int
    p_fake: np.ndarray


def in_domain_test(
    root: str | Path, val: float = VAL_FRACTION, test: float = TEST_FRACTION
) -> list[Sample]:
    """The held-out test split of a training folder (the registry's split, as in training)."""
    from train.sources import load_sources

    return [s for s in load_sources(root, None, val, test) if s.split == "test"]


def score_images(
    samples: list[Sample], scorer: Scorer, cache_dir: Path | None, min_face: int = 40
) -> list[Scored]:
    """Detect (cached), crop and score image samples, grouped by source."""
    margin = scorer.contract.margin
    cache = Path(cache_dir) / "faces.npz" if cache_dir else None
    faces = detect_faces([s.path for s in samples], cache, margin, min_face)
    crops = [face_crop(read_bgr(s.path), faces[s.path].box, margin) for s in samples]
    p = score_crops(scorer, crops)
    return _group([s.source for s in samples], [s.label for s in samples], p)


def video_face_crops(
    path: str, margin: float, frames: int, min_face: int = 40
) -> list[np.ndarray]:
    """Largest-face native crops of ``frames`` evenly spaced frames of a video."""
    import cv2

    from engine.io import iter_video_frames
    from train.data import largest_face, make_detector

    cap = cv2.VideoCapture(path)
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or 1
    cap.release()
    every = max(1, total // max(frames, 1))
    detector = make_detector(min_face)
    crops = []
    for _, _, frame in iter_video_frames(path, every=every):
        det = largest_face(detector.detect(frame))
        if det is not None:
            crops.append(face_crop(frame, det.box, margin))
        if len(crops) >= frames:
            break
    return crops


def score_videos(
    root: str | Path, scorer: Scorer, frames: int = 32, cache_dir: Path | None = None
) -> list[Scored]:
    """Score sampled frames of every labelled video under ``root``; one source per folder.

    Detected crops are cached per video (``cache_dir``) because decoding and detection dominate.

    Raises:
        UsageError: ``root`` is not a folder or holds no clip in a ``real*``/``fake*`` folder.
    """
    sources, labels, crops = [], [], []
    for clip in find_labelled(root, VIDEO_SUFFIXES):
        path = clip.path
        cached = None
        if cache_dir:
            margin = scorer.contract.margin
            key = f"video-{Path(path).parent.name}-{Path(path).stem}-{frames}-{margin}"
            cached = Path(cache_dir) / f"{key}.npz"
        if cached and cached.is_file():
            data = np.load(cached)
            video_crops = [data[k] for k in sorted(data.files, key=lambda k: int(k[1:]))]
        else:
            video_crops = video_face_crops(path, scorer.contract.margin, frames)
            if cached:
                cached.parent.mkdir(parents=True, exist_ok=True)
                np.savez(cached, **{f"c{i}": c for i, c in enumerate(video_crops)})
        crops += video_crops
        sources += [clip.source] * len(video_crops)
        labels += [clip.label] * len(video_crops)
    return _group(sources, labels, score_crops(scorer, crops))


def _group(sources: list[str], labels: list[int], p: np.ndarray) -> list[Scored]:
    out = []
    for src in dict.fromkeys(sources):
        idx = [i for i, s in enumerate(sources) if s == src]
        for label in sorted({labels[i] for i in idx}):
            sel = [i for i in idx if labels[i] == label]
            out.append(Scored(src, label, p[sel]))
    return out


def per_source_table(groups: list[Scored], threshold: float) -> list[dict]:
    """One row per source: n, label, rate (TPR for fakes, TNR for reals), mean p_fake."""
    rows = []
    for g in groups:
        fake_rate = float(np.mean(g.p_fake >= threshold)) if len(g.p_fake) else float("nan")
        rows.append({
            "source": g.source,
            "label": "fake" if g.label else "real",
            "n": len(g.p_fake),
            "metric": "TPR" if g.label else "TNR",
            "rate": fake_rate if g.label else 1.0 - fake_rate,
            "mean_p_fake": float(np.mean(g.p_fake)) if len(g.p_fake) else float("nan"),
        })
    return rows


def write_report(
    out_dir: str | Path,
    in_domain: list[Scored],
    groups: list[Scored],
    threshold: float,
    model_name: str,
) -> dict:
    """Write metrics.json, per_source.csv/.md, roc.png, pr.png, confusion.png; return metrics."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: dict = {"model": model_name, "threshold": threshold}
    for name, sel in (("in_domain_test", in_domain), ("all_sources", groups)):
        if not sel:
            continue
        y = np.concatenate([np.full(len(g.p_fake), g.label) for g in sel])
        p = np.concatenate([g.p_fake for g in sel])
        if len(set(y.tolist())) < 2:
            continue
        report[name] = binary_metrics(y, p, threshold).as_dict()
        if name == "in_domain_test" or not in_domain:
            _plots(out, y, p, threshold, report[name])
    rows = per_source_table(groups, threshold)
    report["per_source"] = rows
    # AUC of each fake source against the in-domain reals, and each real source against the
    # in-domain fakes: how separable that source is, independent of the threshold.
    ref_real = [g for g in in_domain if g.label == 0]
    ref_fake = [g for g in in_domain if g.label == 1]
    for row, g in zip(rows, groups, strict=True):
        ref = ref_real if g.label else ref_fake
        if ref:
            y = np.r_[np.full(len(g.p_fake), g.label), np.full(len(ref[0].p_fake), 1 - g.label)]
            p = np.r_[g.p_fake, ref[0].p_fake]
            row["auc_vs_in_domain"] = binary_metrics(y, p, threshold).auc
    with (out / "per_source.csv").open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    (out / "per_source.md").write_text(markdown_table(rows))
    (out / "metrics.json").write_text(json.dumps(report, indent=2))
    return report


def markdown_table(rows: list[dict]) -> str:
    """Per-source rows as a Markdown table."""
    lines = ["| source | label | n | metric | rate | mean p_fake | AUC vs in-domain |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: |"]
    for r in rows:
        auc = r.get("auc_vs_in_domain")
        auc_s = f"{auc:.3f}" if auc is not None and auc == auc else "-"
        lines.append(f"| {r['source']} | {r['label']} | {r['n']} | {r['metric']} | "
                     f"{r['rate']:.3f} | {r['mean_p_fake']:.3f} | {auc_s} |")
    return "\n".join(lines) + "\n"


def _plots(out: Path, y: np.ndarray, p: np.ndarray, threshold: float, m: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import precision_recall_curve, roc_curve

    fpr, tpr, _ = roc_curve(y, p)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(fpr, tpr, label=f"AUC {m['auc']:.3f}")
    ax.plot([0, 1], [0, 1], "k:", lw=0.8)
    ax.scatter([1 - m["tnr"]], [m["tpr"]], c="r", zorder=3, label=f"threshold {threshold:.3f}")
    ax.set(xlabel="false positive rate (real called fake)", ylabel="true positive rate",
           title="ROC (label 1 = fake)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "roc.png", dpi=110)
    plt.close(fig)
    prec, rec, _ = precision_recall_curve(y, p)
    fig, ax = plt.subplots(figsize=(4.5, 4.5))
    ax.plot(rec, prec, label=f"AP {m['ap']:.3f}")
    ax.set(xlabel="recall (fake)", ylabel="precision (fake)", title="Precision-recall")
    ax.legend(loc="lower left")
    fig.tight_layout()
    fig.savefig(out / "pr.png", dpi=110)
    plt.close(fig)
    cm = np.array([[m["tn"], m["fp"]], [m["fn"], m["tp"]]])
    fig, ax = plt.subplots(figsize=(3.6, 3.2))
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, int(v), ha="center", va="center",
                color="white" if v > cm.max() / 2 else "black")
    ax.set(xticks=[0, 1], yticks=[0, 1], xticklabels=["real", "fake"],
           yticklabels=["real", "fake"], xlabel="predicted", ylabel="true",
           title="Confusion at threshold")
    fig.tight_layout()
    fig.savefig(out / "confusion.png", dpi=110)
    plt.close(fig)
