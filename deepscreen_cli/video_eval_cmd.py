"""`deepscreen evaluate --videos DIR`: clip-level evaluation of the streaming engine.

The logic is :mod:`bench.video_accuracy` (one engine run, replayed per stream rule x weighting
x confirmation); this only turns the command's options into that call and prints the table.
"""

from __future__ import annotations

from pathlib import Path

import typer

from engine.errors import UsageError


def evaluate_streams(videos: list[Path], labels: Path | None, model: Path | None,
                     out: Path) -> None:
    """Screen every labelled clip under ``videos`` (and in ``labels``); write out/videos.*."""
    from bench.video_accuracy import evaluate_videos, find_clips, write_report
    from engine.pipeline import ClassifierSpec, PipelineConfig

    if model is not None and Path(model).suffix != ".onnx":
        typer.echo(f"streaming evaluation skipped: the engine runs ONNX models, not {model}",
                   err=True)
        return
    clips = find_clips(list(videos), labels)
    if not clips:
        raise UsageError("no labelled clips: put them in real*/fake* folders or list them in "
                         "--video-labels")
    report = evaluate_videos(clips, PipelineConfig(), ClassifierSpec(model=model))
    md = write_report(report, out)
    typer.echo(md.read_text())
    typer.echo(f"streaming evaluation: {md} (+ videos.json, videos.png)")
