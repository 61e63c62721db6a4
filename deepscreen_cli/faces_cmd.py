"""`deepscreen faces extract`: square face crops and a manifest from images, folders, videos."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli.groups import faces_app
from engine.errors import InputError, UsageError


def register(app: typer.Typer) -> None:
    """Attach the faces commands to the `faces` group."""
    faces_app.command("extract")(extract_cmd)


def _parse_thresholds(text: str) -> tuple[float, float, float]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != 3:
        raise UsageError(f"--thresholds needs three comma-separated numbers, got {text!r}")
    return values  # type: ignore[return-value]


def extract_cmd(
    inputs: Annotated[
        list[Path], typer.Argument(help="Images, videos, or folders of them (recursive).")
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")],
    every: Annotated[int, typer.Option(help="Use every n-th video frame.")] = 1,
    margin: Annotated[float, typer.Option(help="Margin around the face box (0.25 = 25 %).")] = 0.25,
    size: Annotated[
        int | None, typer.Option(help="Resize crops to SIZE px (default: native resolution).")
    ] = None,
    max_faces: Annotated[
        int | None, typer.Option(help="Keep at most N faces per frame (highest scores).")
    ] = None,
    min_face: Annotated[int, typer.Option(help="Smallest face to find, in pixels.")] = 20,
    thresholds: Annotated[
        str, typer.Option(help="P-, R-, O-Net score thresholds, comma-separated.")
    ] = "0.6,0.7,0.7",
    scale_factor: Annotated[float, typer.Option(help="Image pyramid scale factor.")] = 0.709,
    manifest: Annotated[
        Path | None, typer.Option(help="Manifest CSV path (default: OUT/manifest.csv).")
    ] = None,
    threads: Annotated[int | None, typer.Option(help="ONNX Runtime threads.")] = None,
) -> None:
    """Detect faces and write square crops (PNG) plus a manifest CSV; bad files are skipped."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from engine.faces_extract import ExtractOptions, FaceExtractor, discover_inputs

    options = ExtractOptions(
        every=every,
        margin=margin,
        size=size,
        max_faces=max_faces,
        min_face=min_face,
        thresholds=_parse_thresholds(thresholds),
        scale_factor=scale_factor,
        threads=threads,
    )
    items = discover_inputs(inputs)
    extractor = FaceExtractor(out, options, manifest)
    console = Console(stderr=True)
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[current]}"),
    )
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("faces", total=len(items), current="")

        def on_progress(item, frames: int) -> None:
            if frames < 0:
                progress.advance(task)
            else:
                label = item.path.name + (f" frame {frames}" if item.kind == "video" else "")
                progress.update(task, current=label)

        summary = extractor.run(items, on_progress)
    for failure in summary.failed:
        console.print(f"[yellow]skipped[/yellow] {failure['source']}: {failure['error']}")
    typer.echo(
        f"{summary.faces} faces from {summary.images} images and {summary.videos} videos "
        f"({summary.frames} frames, {summary.frames_without_face} without a face); "
        f"{summary.failed_count} inputs failed; manifest: {extractor.manifest}"
    )
    if summary.failed_count == len(items):
        raise InputError("no input could be read")
