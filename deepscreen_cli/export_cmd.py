"""`deepscreen export ...`: model conversion commands (one function per command).

torch and the exporters are imported inside each command, so `deepscreen --help` stays fast and
the runtime never needs torch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli.groups import export_app
from engine.paths import MODELS_DIR

DEFAULT_MODEL_DIR = MODELS_DIR


def register(app: typer.Typer) -> None:
    """Attach the export commands to the `export` group (the group itself is added by app.py)."""
    export_app.command("mtcnn")(export_mtcnn_cmd)


def export_mtcnn_cmd(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for pnet.onnx, rnet.onnx and onet.onnx.")
    ] = DEFAULT_MODEL_DIR,
) -> None:
    """Convert facenet-pytorch's MTCNN weights to ONNX and check them against torch."""
    from export.mtcnn import export_mtcnn

    for result in export_mtcnn(out):
        typer.echo(
            f"{result.name}: {result.path} ({result.size_bytes / 1e3:.0f} kB, "
            f"max |torch - onnxruntime| = {result.max_abs_diff:.1e})"
        )
