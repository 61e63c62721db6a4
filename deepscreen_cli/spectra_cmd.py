"""`deepscreen spectra compute|fit|plot`: Durall's spectral features from the command line.

The feature itself lives in :mod:`engine.features.spectral`; fitting and plotting need the
``train`` extra (scikit-learn, matplotlib, onnx), imported inside the commands only.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli.groups import spectra_app
from engine.errors import BackendUnavailable, UsageError

Inputs = Annotated[
    list[Path],
    typer.Argument(help="NPZ files (spectra, is_fake) and/or folders with real*/fake* folders."),
]
Bins = Annotated[int, typer.Option("--bins", help="Spectrum length for folders (80 or 300).")]
Limit = Annotated[
    int | None, typer.Option("--limit", help="At most this many images per source folder.")
]


def register(app: typer.Typer) -> None:
    """Commands are attached to the shared `spectra` group (deepscreen_cli/groups.py)."""
    spectra_app.command("compute")(compute)
    spectra_app.command("fit")(fit)
    spectra_app.command("plot")(plot)


def _train_modules():
    try:
        import sklearn  # noqa: F401

        from train import durall
    except ImportError as exc:
        raise BackendUnavailable(
            f"this command needs the training extra ({exc}); pip install -e '.[train]'"
        ) from exc
    return durall


def compute(
    folders: Annotated[list[Path], typer.Argument(help="Folders with real*/fake* folders.")],
    out: Annotated[Path, typer.Option("--out", help="NPZ to write (spectra, is_fake, source).")],
    bins: Bins = 80,
    limit: Limit = None,
) -> None:
    """Compute our spectral feature for labelled image folders and save it as an NPZ."""
    import numpy as np

    from train.durall import load_inputs  # numpy + OpenCV only

    if out.suffix != ".npz":
        raise UsageError(f"--out must end in .npz, got {out}")
    data = load_inputs(folders, bins, limit)
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, spectra=data.spectra, is_fake=data.is_fake,
                        source=np.asarray(data.sources))
    typer.echo(f"wrote {out}: {len(data.is_fake)} spectra ({int(data.is_fake.sum())} fake), "
               f"{data.spectra.shape[1]} bins")


def fit(
    inputs: Inputs,
    bins: Bins = 80,
    limit: Limit = None,
    runs: Annotated[int, typer.Option("--runs", help="Random splits to average.")] = 10,
    test_size: Annotated[float, typer.Option("--test-size", help="Test fraction per split.")] = 0.2,
    classifiers: Annotated[
        str, typer.Option("--classifiers", help="Comma list of lr,svm_linear,svm_rbf,kmeans.")
    ] = "lr,svm_linear,svm_rbf,kmeans",
    seed: Annotated[int, typer.Option("--seed")] = 0,
    export: Annotated[
        Path | None, typer.Option("--export", help="Also fit on all data and write this ONNX.")
    ] = None,
    export_model: Annotated[
        str, typer.Option("--export-model", help="Model to export: lr or svm_linear.")
    ] = "lr",
    divide_by_first: Annotated[
        bool,
        typer.Option("--divide-by-first", help="Re-normalise each spectrum by its first value "
                     "(the paper's normalisation) before fitting."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Durall's protocol: LR, linear/RBF SVM and k-means, random 80/20 splits, mean accuracy."""
    durall = _train_modules()
    kinds = [k.strip() for k in classifiers.split(",") if k.strip()]
    unknown = [k for k in kinds if k not in durall.CLASSIFIERS]
    if unknown or not kinds:
        raise UsageError(f"unknown classifier(s) {unknown}; choose from {durall.CLASSIFIERS}")
    if runs < 1:
        raise UsageError("--runs must be >= 1")
    data = durall.load_inputs(inputs, bins, limit)
    if divide_by_first:
        data = durall.divide_by_first(data)
    result = durall.evaluate_protocol(data, kinds, runs, test_size, seed)
    if as_json:
        typer.echo(json.dumps(asdict(result), indent=2))
    else:
        typer.echo(durall.format_result(result))
    if export is not None:
        model = durall.fit_linear(data, export_model)
        path = durall.export_onnx(model, export)
        typer.echo(f"wrote {path} ({export_model}, {data.spectra.shape[1]} bins, fitted on all "
                   f"{len(data.is_fake)} spectra)", err=as_json)


def plot(
    inputs: Inputs,
    out: Annotated[Path, typer.Option("--out", help="PNG to write.")],
    bins: Bins = 80,
    limit: Limit = None,
    band: Annotated[str, typer.Option("--band", help="std, p10-90 or p25-75.")] = "std",
    title: Annotated[str | None, typer.Option("--title")] = None,
) -> None:
    """Mean 1D spectrum per class with a band, as a PNG."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:
        raise BackendUnavailable("plotting needs matplotlib: pip install -e '.[train]'") from exc
    from train.durall import load_inputs
    from train.spectra_plot import plot_spectra

    data = load_inputs(inputs, bins, limit)
    path = plot_spectra(data, out, band, title)
    typer.echo(f"wrote {path}")
