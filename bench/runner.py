"""`deepscreen bench` end to end: inputs, backends x batch sizes, baseline, scaling, limits.

Everything one invocation measures lands in one JSON document (see
:mod:`bench.report` for the files and the table). The order of the runs is fixed:
classifier and spectral micro-benchmarks, the single-stream pipeline per backend and batch
size, then (in a child process, see :mod:`bench.isolated`) the PyTorch rows and
the baseline on the same frames, then the stream scaling, then the device rates. On a shared
machine, compare only figures of one run.
"""

from __future__ import annotations

import logging
import statistics
import tempfile
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path

from bench.inputs import as_640x480, default_videos, video_info
from bench.machine import machine_stamp
from bench.measure import MeasureConfig, RunResult, combine_runs, measure_pipeline, run_dict
from bench.micro import classifier_bench, collect_crops, spectral_bench
from bench.options import REALTIME_FPS, BenchOptions, make_detector
from bench.scaling import scaling_summary
from bench.variants import OpenedBackend, open_bench_backend
from engine.classifier import Classifier
from engine.errors import DeepscreenError, UsageError
from engine.features.spectral import SpectralFeature
from engine.pipeline import PipelineConfig
from engine.timing import StageTimer

log = logging.getLogger(__name__)

__all__ = ["REALTIME_FPS", "BenchOptions", "make_detector", "run_bench"]


def run_bench(opts: BenchOptions, say: Callable[[str], None] = print) -> dict:
    """Run every measurement of ``opts`` and return the results document (not yet written).

    Args:
        opts: validated options.
        say: progress printer (one line per step).

    Raises:
        DeepscreenError: no backend could run, or the inputs are unusable.
    """
    from engine.backends.factory import DEFAULT_MODEL

    opts.validate()
    model = Path(opts.model) if opts.model else DEFAULT_MODEL
    work = Path(tempfile.mkdtemp(prefix="deepscreen-bench-"))
    if opts.videos:
        videos, source = [Path(v) for v in opts.videos], "given on the command line"
    else:
        videos, source = default_videos(work)
    say(f"inputs: {', '.join(v.name for v in videos)} ({source})")

    detector = make_detector(opts)
    spectral_backend = opts.spectral_backend
    mconf = MeasureConfig(detect_every=opts.detect_every, min_face=opts.min_face,
                          budget=opts.budget())
    doc: dict = {"unavailable": {}, "classifier": [], "spectral": [], "pipeline": []}

    opened: list[OpenedBackend] = []
    for name in opts.backends:
        if name == "torch":
            continue  # measured in a child process, see bench.isolated
        try:
            ob = open_bench_backend(name, model, opts.device, opts.checkpoint, opts.model_fp16,
                                    opts.model_int8, opts.cuda_graphs, shipped=not opts.model)
        except DeepscreenError as exc:
            doc["unavailable"][name] = str(exc)
            say(f"  {name}: unavailable: {exc}")
            continue
        opened.append(ob)
        say(f"  {name}: {ob.detail}")
    if opened:
        contract = opened[0].backend.contract
    else:
        from bench.torch_model import onnx_architecture

        contract = onnx_architecture(model if model.is_file() else None)[2]
    spectral = SpectralFeature(contract.spectrum_bins, backend=spectral_backend)
    classifiers = {ob.name: Classifier(ob.backend, spectral) for ob in opened}
    margin = PipelineConfig().resolve(contract).margin
    crops = collect_crops(videos[0], detector, max(opts.batch_sizes), margin, opts.detect_every)
    sides = [c.shape[0] for c in crops]

    say("classifier and spectral micro-benchmarks (real crops from the clip)")
    for b in opts.batch_sizes:
        doc["spectral"].append(spectral_bench(spectral, crops, b, opts.warmup, opts.iterations))
        for ob in opened:
            doc["classifier"].append(
                classifier_bench(ob, crops, spectral, b, opts.warmup, opts.iterations))

    # ABBA order against the drift of a shared machine's load: the grid runs forward with half
    # the frames, then the torch child (baseline) runs, then the grid runs again in reverse.
    # Each configuration's two halves are merged (frames and wall time add up), so a load that
    # rises or falls linearly during the run weighs equally on every configuration.
    halves = _halves(opts)
    part_frames = -(-opts.iterations // len(halves))
    grid = [(ob, b) for ob in opened for b in opts.batch_sizes]
    acc: dict[tuple[str, int], tuple[StageTimer, list[RunResult]]] = {
        (ob.name, b): (StageTimer(), []) for ob, b in grid}

    def grid_pass(order: list) -> None:
        for ob, b in order:
            timer, parts = acc[(ob.name, b)]
            cfg = replace(mconf, max_batch=b)
            r = measure_pipeline([videos[0]], 1, part_frames, opts.warmup, detector,
                                 classifiers[ob.name], cfg, timer=timer)
            parts.append(r)
            say(f"  {ob.name} batch {b}: {r.fps:.1f} fps, {r.faces_per_s:.1f} faces/s "
                f"(load {r.load_avg_1m})")

    say(f"pipeline, 1 stream, {len(halves)} x {part_frames} frames after {opts.warmup} warm-up")
    grid_pass(grid)

    run_torch = "torch" in opts.backends
    torch_detail = None
    if run_torch or opts.baseline:
        from bench.isolated import run_torch_section

        say("child process: " + " and ".join(
            (["torch backend"] if run_torch else []) + (["baseline (facenet-pytorch MTCNN "
             "every frame + PyTorch eager per face)"] if opts.baseline else [])))
        part = run_torch_section(opts.as_dict(), videos, model, run_torch, opts.baseline)
        doc["classifier"] += part["classifier"]
        doc["unavailable"].update(part["unavailable"])
        torch_detail = part["backends"].get("torch")
        if "baseline" in part:
            doc["baseline"] = part["baseline"]
            say(f"  baseline: {part['baseline']['fps']:.2f} fps, "
                f"{part['baseline']['faces_per_s']:.2f} faces/s")
        for r in part["pipeline"]:
            say(f"  {r['bench_backend']} batch {r['max_batch']}: {r['fps']:.1f} fps")
        for k, v in part["unavailable"].items():
            say(f"  {k}: unavailable: {v}")
    else:
        part = {"pipeline": []}
    if len(halves) > 1:
        say("pipeline, second half (reverse order)")
        grid_pass(grid[::-1])
    for ob, b in grid:
        timer, parts = acc[(ob.name, b)]
        doc["pipeline"].append(run_dict(combine_runs(parts, timer), ob.name, ob.precision))
    doc["pipeline"] += part["pipeline"]

    if opts.streams and not opened:
        doc["unavailable"]["scaling"] = "no ONNX Runtime / TensorRT backend opened"
    elif opts.streams:
        pick = opts.scaling_backend or next(
            (n for n in ("ort-int8", "ort", "tensorrt", "torch") if n in [o.name for o in opened]),
            opened[0].name)
        chosen = next((o for o in opened if o.name == pick), None)
        if chosen is None:
            raise UsageError(f"--scaling-backend {pick} is not among the backends that opened")
        clips = as_640x480(videos, work, max_frames=opts.warmup + opts.iterations)
        batch = max(opts.batch_sizes)
        say(f"scaling: {chosen.name}, max batch {batch}, 640x480 clips, streams {opts.streams}")
        cfg = replace(mconf, max_batch=batch)
        s_acc: dict[int, tuple[StageTimer, list[RunResult]]] = {
            n: (StageTimer(), []) for n in opts.streams}
        for half in halves:
            for n in (opts.streams if half == 0 else opts.streams[::-1]):
                timer, parts = s_acc[n]
                r = measure_pipeline(clips, n, part_frames, opts.warmup, detector,
                                     classifiers[chosen.name], cfg, timer=timer)
                parts.append(r)
                line = f"  {n} stream(s): {r.fps:.1f} fps total after warm-up"
                if opts.engine and r.engine:
                    line += f"; whole run {r.engine['fps']:.1f} fps"
                say(line + f" (load {r.load_avg_1m})")
        combined = [combine_runs(s_acc[n][1], s_acc[n][0]) for n in opts.streams]
        runs = [run_dict(c, chosen.name, chosen.precision) for c in combined]
        for r in runs:
            r.pop("engine", None)  # reported once, below, as engine_runs
        # The same runs seen whole (warm-up and reader start-up included), as `screen` runs.
        engine_runs = [c.engine for c in combined if c.engine] if opts.engine else []
        doc["scaling"] = scaling_summary(runs, REALTIME_FPS, engine_runs)
        doc["scaling"]["clips"] = [str(c) for c in clips]

    if opts.street_frames:
        if not opened:
            doc["unavailable"]["street"] = "no ONNX Runtime / TensorRT backend opened"
        else:
            doc["street"] = _street(opts, classifiers[opened[0].name], detector, say)

    if opts.budget_check:
        if not opened:
            doc["unavailable"]["budget_check"] = "no ONNX Runtime / TensorRT backend opened"
        else:
            doc["budget_check"] = _budget_check(opts, classifiers[opened[0].name], detector, say)

    base_fps = doc.get("baseline", {}).get("fps")
    if base_fps:
        for r in doc["pipeline"] + doc.get("scaling", {}).get("runs", []):
            r["speedup_vs_baseline"] = r["fps"] / base_fps

    if opts.limits:
        # The MACs of the file the ort row ran (the single-pass twin by default: its mirror
        # pass on the crops near the threshold is not counted).
        ran = next((ob.model_file for ob in opened if ob.name == "ort" and ob.model_file), model)
        doc["limits"] = _limits(opts, ran, doc, sides, contract.spectrum_bins,
                                spectral.backend_name)

    files = {"classifier_fp32": model}
    for ob in opened:
        if ob.model_file is not None:
            files[f"model_{ob.name}"] = ob.model_file
    files.update({f"mtcnn_{n}": p for n, p in _mtcnn_files().items()})
    doc["machine"] = machine_stamp(files).as_dict()
    doc["inputs"] = {"videos": [str(v) for v in videos], "source": source,
                     "video_info": [list(video_info(v)) for v in videos],
                     "crop_side_median": statistics.median(sides)}
    doc["options"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(opts).items()}
    doc["options"]["budget"] = asdict(opts.budget())
    doc["options"]["videos"] = [str(v) for v in opts.videos]
    doc["spectral_backend"] = {"name": spectral.backend_name, "reason": spectral.reason}
    doc["backends"] = {o.name: o.detail for o in opened}
    if torch_detail:
        doc["backends"]["torch"] = torch_detail
    for o in opened:
        o.backend.close()
    return doc


def _budget_check(opts: BenchOptions, classifier: Classifier, detector, say) -> dict:
    """Verdicts, time to first verdict and onset latency with the budget off and on."""
    from bench.onset import budget_check, demo_pairs, shared_clips
    from engine.budget import BudgetConfig

    clips, pairs = shared_clips(), demo_pairs()
    if not clips:
        return {"error": "the shared clips are not here (../shared/data/videos)"}
    budget = opts.budget()
    if not budget.per_track:  # screen's default is off: check the rate it would switch on
        budget = BudgetConfig(settled_hz=5.0)
    say(f"budget check: {len(clips)} clips and {len(pairs)} chained demos, budget off then "
        f"{budget.settled_hz:g} Hz")
    config = PipelineConfig(detect_every=opts.detect_every, min_face=opts.min_face,
                            max_frames=opts.budget_check_frames)
    return budget_check(clips, pairs, config, classifier, detector, budget, say).as_dict()


def _street(opts: BenchOptions, classifier: Classifier, detector, say) -> dict:
    """street.mp4 looped: full-frame detection, then detection around the tracks."""
    from bench.street import STREET, screen_street

    if not STREET.is_file():
        return {"error": f"{STREET} is not here"}
    runs = []
    for full in dict.fromkeys((0, opts.full_detect_every)):
        config = PipelineConfig(detect_every=opts.detect_every, min_face=opts.min_face,
                                budget=opts.budget(), full_detect_every=full)
        r = screen_street(config, classifier, detector, opts.street_frames)
        say(f"  street.mp4 looped, full detection every {full or opts.detect_every} frames: "
            f"{r.fps:.1f} fps ({r.classified} crops, {r.mirrored} mirrored, {r.skipped} "
            "skipped)")
        runs.append(asdict(r))
    return {"clip": str(STREET), "frames": opts.street_frames, "runs": runs}


def _halves(opts: BenchOptions) -> list[int]:
    return [0, 1] if opts.abba and opts.iterations >= 2 else [0]


def _mtcnn_files() -> dict[str, Path]:
    from engine.paths import MODELS_DIR

    models = MODELS_DIR
    paths = {n: models / f"{n}.onnx" for n in ("pnet", "rnet", "onet")}
    return {n: p for n, p in paths.items() if p.is_file()}


def _limits(opts: BenchOptions, model: Path, doc: dict, sides: list[int], bins: int,
            spectral_name: str) -> dict:
    from bench.flops import count_macs, spectral_bytes
    from bench.limits import device_rates

    out: dict = {}
    try:
        macs = count_macs(model)
        out["classifier_macs_per_crop"] = macs.total_macs
        out["classifier_flops_per_crop"] = macs.flops
        out["classifier_macs_by_op"] = macs.by_op
    except DeepscreenError as exc:
        out["classifier_macs_error"] = str(exc)
    try:
        rates = device_rates(opts.device)
    except ImportError as exc:  # --device cuda without torch: no way to time the GPU here
        out["rates_error"] = f"cannot measure {opts.device} rates: {exc}"
        return out
    out["rates"] = rates.as_dict()
    if "classifier_flops_per_crop" in out and doc["classifier"]:
        best = max(doc["classifier"], key=lambda r: r["crops_per_s"])
        achieved = best["crops_per_s"] * out["classifier_flops_per_crop"] / 1e9
        out["classifier_best"] = {
            "bench_backend": best["bench_backend"], "batch": best["batch"],
            "crops_per_s": best["crops_per_s"], "achieved_gflops": achieved,
            "fraction_of_matmul_rate": achieved / rates.matmul_gflops,
            "crops_per_s_at_matmul_rate":
                rates.matmul_gflops * 1e9 / out["classifier_flops_per_crop"],
        }
    if doc["spectral"]:
        side = int(statistics.median(sides))
        cpu = spectral_name == "cpu"
        per_crop = spectral_bytes(side, bins, 8 if cpu else 4, 16 if cpu else 8)
        best = max(doc["spectral"], key=lambda r: r["crops_per_s"])
        achieved = best["crops_per_s"] * per_crop / 1e9
        out["spectral_best"] = {
            "crop_side": side, "bytes_per_crop_min": per_crop, "batch": best["batch"],
            "crops_per_s": best["crops_per_s"], "achieved_gbs_lower_bound": achieved,
            "fraction_of_bandwidth": achieved / rates.bandwidth_gbs,
            "crops_per_s_at_bandwidth": rates.bandwidth_gbs * 1e9 / per_crop,
            "precision": "float64 (CPU path)" if cpu else "float32 (CUDA extension)",
        }
    return out
