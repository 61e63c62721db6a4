"""`deepscreen verify`: every available backend and precision on one labelled face set, gated."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli import options as o
from engine.errors import UsageError
from engine.paths import DEFAULT_CLASSIFIER

DEFAULT_MODEL = DEFAULT_CLASSIFIER


def register(app: typer.Typer) -> None:
    app.command("verify")(verify)


def _fmt(value: float, spec: str) -> str:
    return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(
        value, spec
    )


def run_verify(
    data: Sequence[Path],
    model: Path,
    checkpoint: Path | None = None,
    samples: int = 64,
    url: str | None = None,
    include_gpu: bool = True,
    detect: bool = True,
):
    """Gather a class-balanced labelled face set from ``data`` and verify every backend on it.

    Raises:
        UsageError: no labelled data.
        ModelError: the model is missing.
    """
    from calibration.splits import validation_sample
    from engine.backends.factory import load_backend
    from engine.backends.verify import verify_faces
    from train.labelled import find_labelled

    if not data:
        raise UsageError("verify needs labelled faces: pass --data DIR (real*/fake* subfolders)")
    contract = load_backend("ort-cpu", model).contract
    faces = validation_sample(find_labelled(list(data)), contract, samples, detect=detect)
    return verify_faces(faces, model, checkpoint, url, include_gpu)


def verify(
    data: o.LabelledData = None,
    model: Annotated[Path, typer.Option(help="FP32 classifier ONNX (FP16/INT8 siblings are "
                                        "picked up: <stem>.fp16.onnx, <stem>.int8.onnx).")
                     ] = DEFAULT_MODEL,
    checkpoint: Annotated[
        Path | None,  # noqa: UP007
        typer.Option(help="Training checkpoint: makes FP32 PyTorch the reference."),
    ] = None,
    samples: Annotated[int, typer.Option(help="Faces in the set (class-balanced).")] = 64,
    url: Annotated[
        str | None,  # noqa: UP007
        typer.Option(help="Also verify a remote Open Inference Protocol server (host:port)."),
    ] = None,
    cpu_only: Annotated[bool, typer.Option("--cpu-only", help="Skip GPU backends.")] = False,
    no_detect: Annotated[
        bool, typer.Option("--no-detect", help="Use whole images as crops (aligned faces).")
    ] = False,
) -> None:
    """Check every backend/precision against the FP32 reference; exit 1 when a gate fails."""
    from rich.console import Console
    from rich.table import Table

    from calibration.faces import DEFAULT_FACES
    from engine.backends.verify import GATES, gate_text

    roots = data or ([DEFAULT_FACES] if DEFAULT_FACES.is_dir() else [])
    result = run_verify(roots, model, checkpoint, samples, url, not cpu_only, not no_detect)
    table = Table(title=f"deepscreen verify: {result.samples} faces, reference {result.reference}")
    for col in ("backend", "precision", "model", "max |p - ref|", "AUC",
                f"acc@{result.threshold:g}", "ms/crop", "gate"):
        table.add_column(col)
    notes = []
    for r in result.rows:
        status = {True: "[green]pass[/green]", False: "[red]FAIL[/red]", None: "skipped"}[r.passed]
        if r.note and r.note != "reference":
            notes.append(f"{r.backend} {r.precision}: {r.note}")
            status += f" [{len(notes)}]"
        table.add_row(
            r.backend, r.precision, r.model, _fmt(r.max_abs_diff, ".2e"), _fmt(r.auc, ".4f"),
            _fmt(r.accuracy, ".3f"), _fmt(r.ms_per_crop, ".3f"), status,
        )
    console = Console(width=max(Console().width, 110))
    console.print(table)
    for i, note in enumerate(notes, 1):
        console.print(f"[{i}] {note}", markup=False, highlight=False)
    gates = "; ".join(f"{p}: {gate_text(p)}" for p in GATES)
    console.print(f"gates: {gates}")
    if not result.ok:
        raise typer.Exit(1)
