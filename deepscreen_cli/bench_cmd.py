"""`deepscreen bench`: latency and throughput of the pipeline, its baseline and stream scaling."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from deepscreen_cli import options as o
from engine.errors import UsageError

Opt = typer.Option


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)


def _ints(text: str, flag: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise UsageError(f"{flag} takes comma-separated integers, got {text!r}") from None


def bench(
    video: Annotated[list[Path] | None, Opt(
        "--video", help="Clip(s) to read (repeatable). Default: shared FF++ c23 640x480 clips, "
        "else the built-in demo clip.")] = None,
    backends: Annotated[str, Opt(
        "--backends", help="Comma-separated: ort, ort-fp16, ort-int8, torch, tensorrt, "
        "ort-tensorrt. Those that cannot run here are reported with the reason.")
    ] = "ort,ort-fp16,ort-int8,torch,tensorrt",
    batch_sizes: Annotated[str, Opt("--batch-sizes", help="Max crops per classifier call.")
                           ] = "1,8,32",
    warmup: Annotated[int, Opt("--warmup", help="Untimed frames (and calls) first.")] = 10,
    iterations: Annotated[int, Opt("--iterations", help="Timed frames per stream (and calls).")
                          ] = 100,
    streams: Annotated[str, Opt("--streams", help="Stream counts for scaling; '' skips it.")
                       ] = "1,2,4,8",
    out: Annotated[Path, Opt("--out", help="Folder for bench.json, bench.csv, scaling.png.")
                   ] = Path("bench-results"),
    device: Annotated[str, Opt("--device", help="cpu, or cuda (ORT CUDA, torch FP16 + CUDA "
                                                "graphs, CUDA spectral extension).")] = "cpu",
    model: Annotated[Path | None, Opt("--model", help="FP32 classifier ONNX "
                                         "(default: the shipped one).")] = None,
    model_fp16: Annotated[Path | None, Opt("--model-fp16", help="FP16 ONNX "
                                              "(default: <model>.fp16.onnx beside it).")] = None,
    model_int8: Annotated[Path | None, Opt("--model-int8", help="INT8 Q/DQ ONNX "
                                              "(default: <model>.int8.onnx beside it).")] = None,
    checkpoint: Annotated[Path | None, Opt(
        "--checkpoint", help="Training checkpoint: same weights for the torch backend and the "
        "baseline (default: the ONNX's architecture, default init).")] = None,
    baseline: Annotated[bool, Opt("--baseline/--no-baseline", help="Measure the baseline.")
                        ] = True,
    baseline_frames: Annotated[int, Opt("--baseline-frames", help="0 = --iterations.")] = 0,
    detect_every: o.DetectEvery = 5,
    min_face: o.MinFace = 40,
    scaling_backend: Annotated[str | None, Opt(
        "--scaling-backend", help="Backend of the scaling run (default: ort-int8, else ort).")
    ] = None,
    cuda_graphs: Annotated[bool, Opt("--cuda-graphs/--no-cuda-graphs",
                                     help="CUDA graphs for torch on --device cuda.")] = True,
    limits: Annotated[bool, Opt("--limits/--no-limits", help="Count classifier FLOPs, measure "
                                "matmul rate and memory bandwidth.")] = True,
    engine: Annotated[bool, Opt("--engine/--no-engine", help="Also run the threaded engine "
                                "(deepscreen screen's pipeline) in the scaling run.")] = True,
    abba: Annotated[bool, Opt("--abba/--no-abba", help="Measure each configuration in two "
                              "halves, forward then reverse order, so load drift on a shared "
                              "machine weighs on all configurations alike.")] = True,
    settled_hz: Annotated[float | None, Opt(
        "--settled-hz", help="Settled rate of the classification budget in every run (default: "
        "deepscreen screen's; 0 = every face on every frame).")] = None,
    budget_check: Annotated[bool, Opt("--budget-check/--no-budget-check", help="Screen every "
                                      "shared clip with the budget off and on: verdicts, time "
                                      "to first verdict on 519_515.mp4, onset latency on the "
                                      "DeepFaceLive demos (real half then swap half).")
                            ] = False,
    budget_check_frames: Annotated[int, Opt(
        "--budget-check-frames", help="At most this many frames per clip in the budget check "
        "(0 = whole clips; a chained demo cut short never reaches its swap half).")] = 0,
    street_frames: Annotated[int, Opt(
        "--street-frames", help="Screen the shared 1080p street.mp4 looped for this many "
        "frames, with full-frame detection and with detection around the tracks (0 = skip).")
    ] = 0,
    full_detect_every: Annotated[int, Opt(
        "--full-detect-every", help="Frames between full-frame detections in the street run's "
        "second configuration.")] = 20,
    from_json: Annotated[Path | None, Opt("--from-json", help="Re-write the tables, CSV, "
                                          "Markdown and plot of a finished run's bench.json "
                                          "into --out, measuring nothing.")] = None,
) -> None:
    """Benchmark the pipeline per stage, backend and batch size, against the baseline."""
    from rich.console import Console

    from bench.report import print_report, write_results
    from bench.runner import BenchOptions, run_bench

    if from_json is not None:  # re-render a finished run: no measurement
        import json

        try:
            doc = json.loads(Path(from_json).read_text())
        except (OSError, ValueError) as exc:
            raise UsageError(f"cannot read {from_json}: {exc}") from None
        paths = write_results(doc, out)
        print_report(doc, Console(width=None if sys.stdout.isatty() else 160))
        Console(stderr=True).print("wrote " + ", ".join(str(p) for p in paths.values()))
        return

    opts = BenchOptions(
        videos=list(video or []),
        backends=[b.strip() for b in backends.split(",") if b.strip()],
        batch_sizes=_ints(batch_sizes, "--batch-sizes"),
        warmup=warmup,
        iterations=iterations,
        streams=_ints(streams, "--streams"),
        out=out,
        device=device,
        model=model,
        model_fp16=model_fp16,
        model_int8=model_int8,
        checkpoint=checkpoint,
        baseline=baseline,
        baseline_frames=baseline_frames,
        detect_every=detect_every,
        min_face=min_face,
        scaling_backend=scaling_backend,
        cuda_graphs=cuda_graphs,
        limits=limits,
        engine=engine,
        abba=abba,
        settled_hz=settled_hz,
        budget_check=budget_check,
        street_frames=street_frames,
        budget_check_frames=budget_check_frames,
        full_detect_every=full_detect_every,
    ).validate()
    progress = Console(stderr=True, highlight=False)
    doc = run_bench(opts, say=progress.print)
    paths = write_results(doc, out)
    # Tables are wide: do not squeeze them to 80 columns when stdout is a file or a pipe.
    print_report(doc, Console(width=None if sys.stdout.isatty() else 160))
    progress.print("wrote " + ", ".join(str(p) for p in paths.values()))
