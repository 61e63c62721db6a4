"""`deepscreen export onnx|ensemble|single-pass|fp16|int8|trt|triton`: the classifier's
deployment artefacts.

Each command imports its exporter inside the function (torch, onnx, TensorRT stay out of
`deepscreen --help` and out of the runtime).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli import options as o
from deepscreen_cli.groups import export_app
from engine.paths import MODELS_DIR

MODEL_DIR = MODELS_DIR
DEFAULT_CLASSIFIER = MODEL_DIR / "classifier.onnx"


def register(app: typer.Typer) -> None:
    """Attach the classifier export commands to the `export` group."""
    export_app.command("onnx")(export_onnx_cmd)
    export_app.command("ensemble")(export_ensemble_cmd)
    export_app.command("single-pass")(export_single_pass_cmd)
    export_app.command("fp16")(export_fp16_cmd)
    export_app.command("int8")(export_int8_cmd)
    export_app.command("trt")(export_trt_cmd)
    export_app.command("triton")(export_triton_cmd)


def _need(path: Path, what: str) -> Path:
    from engine.errors import UsageError

    if not path.is_file():
        raise UsageError(f"{what} not found: {path}")
    return path


def _sibling(model: Path, tag: str) -> Path:
    """classifier.onnx -> classifier.<tag>.onnx"""
    return model.with_name(f"{model.stem}.{tag}.onnx")


def refresh_twin(model: Path) -> str:
    """Re-cut the single-pass twin beside ``model`` after it was rewritten
    (:func:`export.single_pass.recut_twin`) and say so.

    Returns:
        a line for the command's output ("" when there was no twin).
    """
    from engine.backends.factory import single_pass_path
    from engine.errors import ModelError
    from export.single_pass import recut_twin

    name = single_pass_path(model).name
    try:
        band = recut_twin(model)
    except ModelError:
        return f"\n  removed {name}: the new graph has no in-graph mirror to cut"
    return "" if band is None else f"\n  re-cut the single-pass twin {name} (mirror band {band:g})"


def export_onnx_cmd(
    checkpoint: Annotated[Path, typer.Argument(help="Training checkpoint (.pt).")],
    out: Annotated[Path, typer.Option("--out", help="ONNX file to write.")] = DEFAULT_CLASSIFIER,
    parity_crops: Annotated[int, typer.Option(help="Real face crops compared with PyTorch.")] = 16,
    vote_min_face: Annotated[float | None, typer.Option(
        "--vote-min-face", min=0.0, help="The model's vote floor in face pixels, written into "
        "its metadata (measured with `evaluate --quality-bins ... --bin-sides ...`; default: "
        "no key, the runtime's default floor).")] = None,
) -> None:
    """Export a classifier checkpoint to one ONNX file, verified against PyTorch."""
    from export.onnx_export import PARITY_TOLERANCE, export_classifier

    _need(checkpoint, "checkpoint")
    r = export_classifier(checkpoint, out, parity_n=parity_crops, min_face_px=vote_min_face)
    c = r.contract
    typer.echo(
        f"{r.path}: opset {r.opset}, {r.size_bytes / 1e6:.2f} MB, sha256 {r.sha256[:16]}\n"
        f"  inputs crops (N,3,{c.input_size},{c.input_size}) + spectrum (N,{c.spectrum_bins}) "
        f"-> logit (N,1); threshold {c.threshold:g}"
        + (f"; vote floor {vote_min_face:g} px\n" if vote_min_face is not None else "\n") +
        f"  parity vs PyTorch on {r.parity_crops} real face crops: max |logit diff| = "
        f"{r.max_abs_diff:.2e} (limit {PARITY_TOLERANCE:g})\n"
        f"  ops: {', '.join(r.ops)}" + refresh_twin(Path(r.path))
    )


def export_ensemble_cmd(
    models: Annotated[list[Path], typer.Argument(help="Two or more classifier ONNX files.")],
    out: Annotated[Path, typer.Option("--out", help="ONNX file to write.")] = DEFAULT_CLASSIFIER,
    threshold: Annotated[
        float | None,
        typer.Option(help="Decision threshold; default: EER on the validation split of --faces."),
    ] = None,
    faces: Annotated[
        Path | None, typer.Option(help="Face registry root (default ../shared/data/faces).")
    ] = None,
    cache_dir: Annotated[
        Path | None, typer.Option(help="Face-detection cache, e.g. runs/cache.")
    ] = None,
) -> None:
    """Merge classifiers into one ONNX that averages their logits (threshold on validation)."""
    from export.ensemble import export_ensemble
    from export.onnx_export import PARITY_TOLERANCE

    for m in models:
        _need(m, "ONNX model")
    r = export_ensemble(models, out, threshold=threshold, faces=faces, cache_dir=cache_dir)
    auc = f", validation AUC {r.val_auc:.4f}" if r.val_auc is not None else ""
    typer.echo(
        f"{r.path}: {len(r.members)} members, {r.size_bytes / 1e6:.2f} MB, sha256 "
        f"{r.sha256[:16]}\n"
        + "".join(f"  member {m.path} (sha256 {m.sha256[:8]}, own threshold {m.threshold:.4f})\n"
                  for m in r.members)
        + f"  threshold {r.contract.threshold:.4f} ({r.threshold_from}{auc})\n"
        f"  parity vs the members' mean logit on {r.parity_crops} real face crops: "
        f"max |diff| = {r.max_abs_diff:.2e} (limit {PARITY_TOLERANCE:g})"
        + refresh_twin(Path(r.path))
    )


def export_single_pass_cmd(
    model: Annotated[Path, typer.Argument(help="Classifier ONNX with the flip in its graph.")
                     ] = DEFAULT_CLASSIFIER,
    out: Annotated[Path | None, typer.Option("--out", help="Default: <stem>.single.onnx (the "
                                             "shipped twin's place).")] = None,
    band: Annotated[float | None, typer.Option(
        "--band", min=0.0, max=1.0, help="Score the mirror too when |p_fake - threshold| < "
        "this (default: the measured band of export/single_pass.py).")] = None,
) -> None:
    """Cut the in-graph mirror pass out of a classifier (docs/EXPORT.md, "The mirror pass")."""
    import hashlib

    from engine.backends.factory import single_pass_path
    from export.single_pass import DEFAULT_MIRROR_BAND, strip_flip

    _need(model, "ONNX model")
    b = DEFAULT_MIRROR_BAND if band is None else band
    path = strip_flip(model, out or single_pass_path(model), b)
    typer.echo(f"{path}: single-pass twin of {model.name} (sha256 "
               f"{hashlib.sha256(model.read_bytes()).hexdigest()[:16]}), mirror band {b:g}, "
               f"sha256 {hashlib.sha256(path.read_bytes()).hexdigest()[:16]}")


def export_fp16_cmd(
    model: Annotated[Path, typer.Argument(help="FP32 classifier ONNX.")] = DEFAULT_CLASSIFIER,
    out: Annotated[Path | None, typer.Option("--out", help="Default: <stem>.fp16.onnx.")] = None,
    data: o.LabelledData = None,
    samples: Annotated[int, typer.Option(help="Validation faces compared.")] = 256,
) -> None:
    """Convert to FP16 (float32 inputs/outputs kept) and compare with the FP32 model."""
    from export.fp16 import export_fp16

    _need(model, "ONNX model")
    r = export_fp16(model, out or _sibling(model, "fp16"), data=data, n=samples)
    a = r.agreement
    auc = f"AUC {a.auc_ref:.4f} -> {a.auc:.4f} (diff {a.auc_drop:+.4f}); " if r.labelled else ""
    typer.echo(
        f"{r.path}: {r.size_bytes / 1e6:.2f} MB; on {r.samples} faces: {auc}"
        f"max |p16 - p32| = {a.max_prob_diff:.2e}, verdict flips {a.flips}"
    )


def export_int8_cmd(
    model: Annotated[Path, typer.Argument(help="FP32 classifier ONNX.")] = DEFAULT_CLASSIFIER,
    data: o.LabelledData = None,
    out: Annotated[Path | None, typer.Option("--out", help="Default: <stem>.int8.onnx.")] = None,
    method: Annotated[str, typer.Option(help="minmax, entropy or percentile.")] = "minmax",
    calibration_samples: Annotated[int, typer.Option(help="Calibration faces.")] = 512,
    validation_samples: Annotated[int, typer.Option(help="Gate faces.")] = 400,
    max_auc_drop: Annotated[float, typer.Option(help="The accuracy gate.")] = 0.005,
    no_detect: Annotated[
        bool, typer.Option("--no-detect", help="Use whole images as crops (aligned faces).")
    ] = False,
    cache_dir: Annotated[
        Path | None,
        typer.Option(help="Calibration cache root (default ~/.cache/deepscreen)."),
    ] = None,
) -> None:
    """Calibrate and quantize to INT8 Q/DQ (TensorRT-ready), gated on validation AUC."""
    from calibration.faces import DEFAULT_FACES
    from export.int8 import export_int8

    _need(model, "ONNX model")
    roots = data or ([DEFAULT_FACES] if DEFAULT_FACES.is_dir() else [])
    r = export_int8(
        model, out or _sibling(model, "int8"), roots, method=method,
        calibration_n=calibration_samples, validation_n=validation_samples,
        max_auc_drop=max_auc_drop, detect=not no_detect, cache_dir=cache_dir,
    )
    if r.sensitivity:
        typer.echo("per-layer sensitivity (mean |logit change| when quantized alone):")
        for s in r.sensitivity[:8]:
            typer.echo(f"  {s.node:40s} {s.mean_abs_logit_diff:.4f}  AUC drop {s.auc_drop:+.4f}")
    tries = ", ".join(f"{k} layer(s) in float: drop {d:+.4f}" for k, d in r.attempts)
    typer.echo(f"attempts: {tries}")
    kept = f"; kept in float: {', '.join(r.excluded)}" if r.excluded else ""
    typer.echo(
        f"{r.path}: {r.method}, {r.calibration_samples} calibration / {r.validation_samples} "
        f"validation faces; AUC {r.auc_fp32:.4f} -> {r.auc_int8:.4f} (drop {r.auc_drop:+.4f}, "
        f"gate {max_auc_drop}); max |p8 - p32| = {r.max_prob_diff:.3f}{kept}"
        f"{' (from cache)' if r.cached else ''}"
    )


def export_trt_cmd(
    model: Annotated[Path, typer.Argument(help="Classifier ONNX (FP32, FP16 or INT8 Q/DQ).")],
    precision: Annotated[str, typer.Option(help="fp16, int8 or fp32.")] = "fp16",
    out: Annotated[Path | None, typer.Option("--out", help="Default: <onnx>.engine.")] = None,
    min_batch: Annotated[int, typer.Option(help="Profile minimum batch.")] = 1,
    opt_batch: Annotated[int, typer.Option(help="Profile optimum batch.")] = 8,
    max_batch: Annotated[int, typer.Option(help="Profile maximum batch.")] = 32,
    workspace_mb: Annotated[int, typer.Option(help="Workspace pool limit, MiB.")] = 1024,
    opt_level: Annotated[int, typer.Option(help="Builder optimization level 0..5.")] = 3,
    hardware_compat: Annotated[
        str, typer.Option(help="none, or ampere_plus (any GPU >= sm_80; not on Jetson).")
    ] = "none",
    timing_cache: Annotated[Path | None, typer.Option(help="Timing cache file.")] = None,
) -> None:
    """Build a strongly typed TensorRT engine (+ manifest) on this machine's GPU."""
    from export.trt_build import BuildOptions, build_engine

    _need(model, "ONNX model")
    opts = BuildOptions(
        precision=precision, min_batch=min_batch, opt_batch=opt_batch, max_batch=max_batch,
        workspace_mb=workspace_mb, opt_level=opt_level, hardware_compat=hardware_compat,
        timing_cache=timing_cache,
    )
    r = build_engine(model, out, opts)
    typer.echo(
        f"{r.engine}: {r.size_bytes / 1e6:.2f} MB from {r.onnx.name} in {r.seconds:.1f} s; "
        f"manifest {r.manifest.name}"
    )


def export_triton_cmd(
    out: Annotated[Path, typer.Option("--out", help="Model repository folder.")] = Path(
        "triton_repo"
    ),
    model: Annotated[Path, typer.Option(help="Classifier ONNX.")] = DEFAULT_CLASSIFIER,
    plan: Annotated[
        list[Path] | None,
        typer.Option("--plan", help="TensorRT engine(s) (with manifests) to add as plan models."),
    ] = None,
    name: Annotated[str, typer.Option(help="Model name in the repository.")] = "deepscreen",
    max_batch: Annotated[int, typer.Option(help="max_batch_size of the ONNX model.")] = 64,
    max_queue_delay_us: Annotated[int, typer.Option(help="Dynamic batching delay.")] = 2000,
    gpu: Annotated[
        bool, typer.Option("--gpu/--cpu", help="Instance group on the GPU (default) or the CPU.")
    ] = True,
    accelerator: Annotated[
        str,
        typer.Option(help="GPU accelerator of the ONNX model: tensorrt (ONNX Runtime's "
                     "TensorRT provider, engine built by the server's TensorRT) or none (CUDA)."),
    ] = "tensorrt",
    trt_precision: Annotated[
        str, typer.Option(help="precision_mode of the TensorRT accelerator: FP32, FP16, INT8.")
    ] = "FP16",
    trt_cache_dir: Annotated[
        str | None,
        typer.Option(help="Writable path INSIDE the Triton container where it caches the "
                     "engines it builds (e.g. /models/.trt_cache); default: no cache."),
    ] = None,
    expect_tensorrt: Annotated[
        str | None,
        typer.Option(help="The Triton server's TensorRT version (e.g. 10.13.3): refuse a "
                     "--plan built with another."),
    ] = None,
) -> None:
    """Write a Triton model repository (ONNX, TensorRT plans, config.pbtxt), validated."""
    from export.triton import TritonOptions, write_repository

    _need(model, "ONNX model")
    opts = TritonOptions(
        name=name, max_batch=max_batch, max_queue_delay_us=max_queue_delay_us, gpu=gpu,
        accelerator=accelerator, trt_precision=trt_precision.upper(),
        trt_cache_dir=trt_cache_dir, expect_tensorrt=expect_tensorrt,
    )
    for entry in write_repository(out, model, plan or [], opts):
        typer.echo(f"{entry.name}: {entry.config} ({entry.platform}, max_batch {entry.max_batch})")
