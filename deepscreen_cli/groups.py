"""Command groups shared by several command modules (e.g. `export mtcnn` and `export onnx`)."""

from __future__ import annotations

import typer

export_app = typer.Typer(
    help="Convert models: MTCNN and classifier to ONNX, FP16, TensorRT, Triton.",
    no_args_is_help=True,
)
faces_app = typer.Typer(
    help="Find and crop faces in images and videos.", no_args_is_help=True
)
data_app = typer.Typer(
    help="Dataset tooling: deterministic splits and manifests.", no_args_is_help=True
)
spectra_app = typer.Typer(
    help="Spectral (Durall) features: compute, fit, plot.", no_args_is_help=True
)

GROUPS: dict[str, typer.Typer] = {
    "export": export_app,
    "faces": faces_app,
    "data": data_app,
    "spectra": spectra_app,
}
