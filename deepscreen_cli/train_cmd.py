"""`deepscreen train`, `deepscreen evaluate`, `deepscreen predict`.

Only `train` and Grad-CAM need torch; `evaluate` and `predict` run an ONNX model through ONNX
Runtime (the shipped ``engine/models/classifier.onnx`` by default), or a ``.pt`` checkpoint.
Heavy imports happen inside the commands, so `deepscreen --help` stays fast and torch-free.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from engine.errors import BackendUnavailable, UsageError

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
# The standard evaluation set (used when no source is named): the registry's test split of every
# shared face source (held-out sources whole) with the published peer on the same crops, and
# face-swap videos.
STANDARD_SOURCES = SHARED / "faces"
STANDARD_PEER = REPO.parent / "shared" / "weights" / "mesonet" / "Meso4_DF.h5"
STANDARD_VIDEOS = (SHARED / "videos" / "ffpp-c23",)


def _need_torch(what: str) -> None:
    try:
        import torch  # noqa: F401
    except ImportError:
        raise BackendUnavailable(f"{what} needs torch: pip install 'deepscreen[train]'") from None


def _parse_sets(items: list[str]) -> dict:
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--set expects KEY=VALUE, got {item!r}")
        try:
            overrides[key] = json.loads(value)
        except json.JSONDecodeError:
            overrides[key] = value
    return overrides


def train_command(
    config: Annotated[Path, typer.Option("--config", "-c", help="YAML or JSON training config.")],
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from RUN_DIR/last.pt.")
    ] = False,
    run_dir: Annotated[str | None, typer.Option("--run-dir", help="Override run_dir.")] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config key: --set sbi.fraction=0 (JSON value)."),
    ] = None,
) -> None:
    """Train a classifier; writes best.pt, last.pt, log.csv and result.json to the run folder."""
    _need_torch("training")
    from train.config import load_config
    from train.loop import train

    # A run lasts minutes to hours: its progress (view cache, steps, epochs) is the command's
    # output, so the training loggers speak at INFO even without --verbose.
    train_log = logging.getLogger("train")
    if train_log.getEffectiveLevel() > logging.INFO:
        train_log.setLevel(logging.INFO)
    overrides = _parse_sets(set_ or [])
    if run_dir:
        overrides["run_dir"] = run_dir
    result = train(load_config(config, overrides), resume=resume)
    val_auc = result.val.get("val_auc", float("nan"))
    test_auc = result.test.get("auc", float("nan"))
    typer.echo(f"best epoch {result.best_epoch}: val AUC {val_auc:.4f}, test AUC {test_auc:.4f}"
               f" -> {result.best_checkpoint}")


def evaluate_command(
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="ONNX model or .pt checkpoint [default: shipped ONNX]."),
    ] = None,
    in_domain: Annotated[
        Path | None,
        typer.Option("--in-domain", help="Training folder: its registry test split is scored."),
    ] = None,
    sources: Annotated[
        Path | None,
        typer.Option("--sources", help="Faces root: every source's test split, per source, "
                     "beside the peers (train/sources.py)."),
    ] = None,
    peer: Annotated[
        list[Path] | None,
        typer.Option("--peer", help="Peer detector weights (MesoNet .h5) scored on the same "
                     "crops as --sources. Repeatable. Needs torch."),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="At most N test images per source.")
    ] = None,
    manifest: Annotated[
        Path | None,
        typer.Option("--manifest", help="`deepscreen data split` CSV: its test split is scored."),
    ] = None,
    data: Annotated[
        list[Path] | None,
        typer.Option("--data", help="Labelled folder (real*/fake* subfolders). Repeatable."),
    ] = None,
    videos: Annotated[
        list[Path] | None,
        typer.Option("--videos", help="Folder with real*/fake* subfolders of videos. Repeatable."),
    ] = None,
    video_labels: Annotated[
        Path | None,
        typer.Option("--video-labels", help="CSV path,label[,source] of more clips for the "
                     "streaming clip-level evaluation (--videos)."),
    ] = None,
    frames: Annotated[int, typer.Option("--frames", help="Frames sampled per video.")] = 32,
    scales: Annotated[
        str | None,
        typer.Option("--scales", help="With --sources: rescale each test image by these "
                     "factors (e.g. 1,0.5,0.25), detect again, and report the rates per scale "
                     "and the verdict flips between scales (scales.md)."),
    ] = None,
    quality_bins: Annotated[
        str | None,
        typer.Option("--quality-bins", help="With --sources: score the validation split at "
                     "these scales (e.g. 1,0.5,0.25,0.15) and report the AUC per face-size x "
                     "sharpness bin, measured as the engine measures them (quality_bins.md)."),
    ] = None,
    bin_sides: Annotated[
        str | None,
        typer.Option("--bin-sides", help="With --quality-bins: face-side bin edges in pixels "
                     "(e.g. 20,32,40,48,64,96,160) instead of 48,64,96,160, and a table per "
                     "side bin with an AUC interval and TPR/TNR at the threshold "
                     "(quality_sides.md): the data a vote floor is chosen from."),
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Report folder.")] = Path("runs/eval"),
    cache_dir: Annotated[
        Path, typer.Option("--cache-dir", help="Face detection cache.")
    ] = Path("runs/cache"),
) -> None:
    """AUC, AP, EER, accuracy, TPR/TNR at the model's threshold, per-source table and plots.

    With no source given, scores the standard set from ../shared/data: the test split of every
    face source (train/sources.py) beside MesoNet-4 when its weights and torch are present,
    and the ffpp-c23 videos.
    """
    from train.evaluate import in_domain_test as test_split
    from train.evaluate import score_images, score_videos, write_report
    from train.labelled import find_labelled
    from train.predict import open_scorer
    from train.splits import read_manifest

    data, videos, peers = list(data or []), list(videos or []), list(peer or [])
    if videos or video_labels:
        # Clip-level verdicts of the streaming engine itself, every stream rule
        # (docs/CLIP_EVALUATION.md).
        from deepscreen_cli.video_eval_cmd import evaluate_streams

        evaluate_streams(videos, video_labels, model, out)
    if in_domain is None and manifest is None and sources is None and not data and not videos:
        if not STANDARD_SOURCES.is_dir():
            raise UsageError(f"no source given and the standard set is absent ({SHARED})")
        sources = STANDARD_SOURCES
        videos = [p for p in STANDARD_VIDEOS if p.is_dir()]
        if not peers and STANDARD_PEER.is_file():
            peers = [STANDARD_PEER]
    scorer = open_scorer(model)
    if quality_bins is not None:
        _evaluate_bins(sources or STANDARD_SOURCES, scorer, quality_bins, out, limit, bin_sides)
        if scales is None:
            return
    if scales is not None:
        _evaluate_scales(sources or STANDARD_SOURCES, scorer, scales, out, cache_dir, limit)
        if in_domain is None and manifest is None and not data and not videos:
            return
    if sources is not None:
        _evaluate_sources(sources, scorer, peers, out, cache_dir, limit)
        if in_domain is None and manifest is None and not data and not videos:
            return
    in_groups = score_images(test_split(in_domain), scorer, cache_dir) if in_domain else []
    if manifest is not None:
        test = [s for s in read_manifest(manifest) if s.split == "test"]
        if not test:
            raise UsageError(f"{manifest} has no test split")
        in_groups += score_images(test, scorer, cache_dir)
    groups = list(in_groups)
    for folder in data:
        groups += score_images(find_labelled(folder), scorer, cache_dir)
    for folder in videos:
        groups += score_videos(folder, scorer, frames, cache_dir)
    report = write_report(out, in_groups, groups, scorer.contract.threshold,
                          str(model or getattr(scorer, "model_path", "")))
    typer.echo((out / "per_source.md").read_text())
    for key in ("in_domain_test", "all_sources"):
        if key in report:
            m = report[key]
            typer.echo(f"{key}: AUC {m['auc']:.4f} AP {m['ap']:.4f} EER {m['eer']:.4f} "
                       f"acc {m['accuracy']:.4f} TPR {m['tpr']:.4f} TNR {m['tnr']:.4f} "
                       f"(threshold {m['threshold']:.4f}, n={int(m['n'])})")
    typer.echo(f"report: {out}")


def _factors(text: str, option: str) -> list[float]:
    try:
        factors = [float(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise UsageError(f"{option} takes comma-separated factors, got {text!r}") from exc
    if not factors or any(not 0 < f <= 4 for f in factors):
        raise UsageError(f"{option} factors must lie in (0, 4], got {text!r}")
    return factors


def _evaluate_bins(root: Path, scorer, scales: str, out: Path, limit: int | None,
                   sides: str | None = None) -> None:
    """AUC per face-size x sharpness bin on the validation split (quality_bins.md); with
    ``sides``, those side edges and the per-side table (quality_sides.md)."""
    from train import quality_bins as qb
    from train.predict import score_crops
    from train.sources import load_sources

    factors = _factors(scales, "--quality-bins")
    try:
        side_edges = qb.parse_edges(sides) if sides is not None else qb.SIDE_EDGES
    except ValueError as exc:
        raise UsageError(f"--bin-sides: {exc}") from exc
    samples = [s for s in load_sources(root) if s.split == "val"]
    if limit:
        kept, counts = [], {}
        for s in samples:
            counts[s.source] = counts.get(s.source, 0) + 1
            if counts[s.source] <= limit:
                kept.append(s)
        samples = kept
    faces = qb.measure_faces(samples, lambda crops: score_crops(scorer, crops), factors,
                             scorer.contract.margin)
    md = qb.write_bins(out, qb.bin_table(faces, side_edges), faces)
    typer.echo(md.read_text())
    typer.echo(f"quality bins: {md}")
    if sides is not None:
        threshold = scorer.contract.threshold
        md = qb.write_sides(out, qb.side_table(faces, side_edges, threshold), threshold)
        typer.echo(md.read_text())
        typer.echo(f"per face side: {md}")


def _evaluate_scales(root: Path, scorer, scales: str, out: Path, cache_dir: Path,
                     limit: int | None) -> None:
    """The per-source table at several scales (scales.md)."""
    from train.predict import score_crops
    from train.scale_eval import evaluate_scales, write_scale_table

    factors = _factors(scales, "--scales")
    rows = evaluate_scales(root, lambda crops: score_crops(scorer, crops),
                           scorer.contract.threshold, scorer.contract.margin, factors,
                           cache_dir, limit)
    md = write_scale_table(out, rows, factors)
    typer.echo(md.read_text())
    typer.echo(f"scale table: {md}")


def _evaluate_sources(root: Path, scorer, peers: list[Path], out: Path, cache_dir: Path,
                      limit: int | None) -> None:
    """The per-source table of our model and the peers on the same crops (sources.md)."""
    from train.predict import score_crops
    from train.source_eval import Detector, evaluate_sources, mesonet_detector, write_comparison

    detectors = [Detector("ours", lambda crops: score_crops(scorer, crops),
                          scorer.contract.threshold)]
    for path in peers:
        try:
            detectors.append(mesonet_detector(path))
        except ImportError:
            typer.echo(f"peer {path} skipped: MesoNet runs in torch (pip install "
                       "'deepscreen[train]')", err=True)
    rows = evaluate_sources(root, detectors, scorer.contract.margin, cache_dir, limit=limit)
    md = write_comparison(out, rows)
    typer.echo(md.read_text())
    typer.echo(f"per-source comparison: {md}")


def predict_command(
    inputs: Annotated[list[Path], typer.Argument(help="Image files or folders.")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help="Write results here.")] = None,
    crops: Annotated[
        bool, typer.Option("--crops", help="Inputs are face crops: no detection.")
    ] = False,
    model: Annotated[
        Path | None,
        typer.Option("--model", "-m", help="ONNX model or .pt checkpoint [default: shipped ONNX]."),
    ] = None,
    largest: Annotated[
        bool, typer.Option("--largest", help="Only the largest face per photo.")
    ] = False,
    gradcam: Annotated[
        Path | None,
        typer.Option("--gradcam", help="Grad-CAM PNG of the single input (needs --checkpoint)."),
    ] = None,
    checkpoint: Annotated[
        Path | None, typer.Option("--checkpoint", help="Checkpoint for --gradcam (torch).")
    ] = None,
    min_face: Annotated[int, typer.Option("--min-face", help="Smallest face searched, px.")] = 40,
) -> None:
    """p_fake and verdict per face (columns path,face,x1,y1,x2,y2,p_fake,verdict)."""
    if gradcam is not None:
        if checkpoint is None:
            raise UsageError("--gradcam needs --checkpoint CKPT (Grad-CAM runs in torch)")
        if len(inputs) != 1 or not inputs[0].is_file():
            raise UsageError("--gradcam takes exactly one image file")
        _need_torch("Grad-CAM")
        from train.gradcam import gradcam_image

        p = gradcam_image(inputs[0], checkpoint, gradcam, crops=crops, min_face=min_face)
        typer.echo(f"{inputs[0]}: p_fake {p:.4f} -> {gradcam}")
        return
    from train.predict import open_scorer, predict_images, write_predictions_csv

    scorer = open_scorer(model)
    rows = predict_images(inputs, scorer, crops=crops, min_face=min_face, all_faces=not largest)
    if csv_out:
        write_predictions_csv(rows, csv_out)
        n_fake = sum(r.verdict == "fake" for r in rows)
        typer.echo(f"{len(rows)} rows ({n_fake} fake) -> {csv_out}")
        return
    for r in rows:
        prob = "-" if r.p_fake is None else f"{r.p_fake:.4f}"
        typer.echo(f"{r.path}\t{r.face}\t{prob}\t{r.verdict}")


def register(app: typer.Typer) -> None:
    """Add `train`, `evaluate` and `predict` to the root CLI."""
    app.command("train")(train_command)
    app.command("evaluate")(evaluate_command)
    app.command("predict")(predict_command)
