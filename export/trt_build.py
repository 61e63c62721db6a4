"""Build a TensorRT engine from a classifier ONNX (TensorRT 10.x and 11.x, strongly typed).

TensorRT 11 removed the INT8 calibrators and the FP16/INT8 builder flags, and TensorRT 10
already supports the same path: the network is created STRONGLY_TYPED, so every tensor keeps
the type it has in the ONNX. FP16 therefore means an FP16 ONNX (:mod:`export.fp16`) and INT8
means a Q/DQ ONNX (:mod:`export.int8`); ``--precision`` selects or produces that ONNX and
records it in the manifest. The build uses ``parse_from_file`` (with the parser's errors
reported node by node), a persistent timing cache, one optimization profile over the batch
axis, an ``IProgressMonitor`` driving a progress bar, and ``build_serialized_network``.

TensorRT is imported inside functions only; nothing here runs without it.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path

from engine.backends.base import INPUT_CROPS, INPUT_SPECTRUM
from engine.backends.trt_manifest import (
    EngineManifest,
    build_command,
    file_sha256,
    gpu_identity,
    write_manifest,
)
from engine.errors import ModelError, UsageError
from engine.preprocess import InputContract

log = logging.getLogger(__name__)

PRECISIONS = ("fp32", "fp16", "int8")
HARDWARE_COMPAT = ("none", "ampere_plus")
DEFAULT_CACHE = Path.home() / ".cache" / "deepscreen" / "trt"


@dataclass(frozen=True)
class BuildOptions:
    """Engine build options. Defaults fit an 8 GB Jetson Orin (Nano/NX) sharing memory with the
    rest of the pipeline: 1 GiB workspace, batches up to 32 faces, optimization level 3.

    Attributes:
        precision: "fp32", "fp16" or "int8" (must match the ONNX; see :func:`onnx_precision`).
        min_batch / opt_batch / max_batch: the optimization profile over the batch axis.
        workspace_mb: workspace memory pool limit in MiB.
        opt_level: builder optimization level 0..5 (higher = longer build, maybe faster engine).
        hardware_compat: "none" (this GPU model only) or "ampere_plus" (any GPU with compute
            capability >= 8.0; not available on Jetson).
        timing_cache: timing cache file (shared by builds on the same GPU and TensorRT version).
    """

    precision: str = "fp16"
    min_batch: int = 1
    opt_batch: int = 8
    max_batch: int = 32
    workspace_mb: int = 1024
    opt_level: int = 3
    hardware_compat: str = "none"
    timing_cache: Path | None = None

    def validate(self) -> None:
        if self.precision not in PRECISIONS:
            raise UsageError(f"--precision must be one of {PRECISIONS}, got {self.precision!r}")
        if not 1 <= self.min_batch <= self.opt_batch <= self.max_batch:
            raise UsageError(
                "batch sizes must satisfy 1 <= min <= opt <= max, got "
                f"{self.min_batch}/{self.opt_batch}/{self.max_batch}"
            )
        if self.workspace_mb < 16:
            raise UsageError(f"--workspace-mb {self.workspace_mb} is too small (>= 16)")
        if not 0 <= self.opt_level <= 5:
            raise UsageError(f"--opt-level must be 0..5, got {self.opt_level}")
        if self.hardware_compat not in HARDWARE_COMPAT:
            raise UsageError(f"--hardware-compat must be one of {HARDWARE_COMPAT}")


@dataclass(frozen=True)
class BuildReport:
    """A finished build: the engine, its manifest and how long the build took."""

    engine: Path
    manifest: Path
    onnx: Path
    seconds: float
    size_bytes: int


def onnx_precision(path: Path) -> str:
    """"int8" when the graph has Q/DQ nodes, "fp16" when its weights are float16, else "fp32"."""
    import onnx

    model = onnx.load(str(path), load_external_data=False)
    ops = {n.op_type for n in model.graph.node}
    if {"QuantizeLinear", "DequantizeLinear"} & ops:
        return "int8"
    if any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer):
        return "fp16"
    return "fp32"


def onnx_for_precision(onnx_path: Path, precision: str) -> Path:
    """The ONNX whose own types give ``precision`` (strongly typed networks take it from there).

    FP32 -> FP16 is converted here (``<stem>.fp16.onnx`` beside the source). INT8 needs
    calibration data and an accuracy gate, so it must be made first with `deepscreen export int8`.

    Raises:
        UsageError: the ONNX has another precision that cannot be converted here.
    """
    have = onnx_precision(onnx_path)
    if have == precision:
        return onnx_path
    if have == "fp32" and precision == "fp16":
        from export.fp16 import convert_to_fp16

        dst = onnx_path.with_name(onnx_path.stem + ".fp16.onnx")
        log.info("converting %s to FP16 (%s) for a strongly typed FP16 engine", onnx_path, dst)
        return convert_to_fp16(onnx_path, dst)
    if precision == "int8":
        raise UsageError(
            f"{onnx_path} has no Q/DQ nodes; make the INT8 model first: `deepscreen export int8 "
            f"{onnx_path} --data DIR`, then build from the .int8.onnx it writes"
        )
    raise UsageError(f"{onnx_path} is {have}; --precision {precision} needs a {precision} ONNX")


def profile_shapes(contract: InputContract, opts: BuildOptions) -> dict[str, dict[str, list[int]]]:
    """min/opt/max shapes of both inputs for the batch profile."""
    s, bins = contract.input_size, contract.spectrum_bins
    per_item = {INPUT_CROPS: [3, s, s], INPUT_SPECTRUM: [bins]}
    return {
        name: {
            "min": [opts.min_batch, *rest],
            "opt": [opts.opt_batch, *rest],
            "max": [opts.max_batch, *rest],
        }
        for name, rest in per_item.items()
    }


def make_progress_monitor(trt, on_event):
    """An ``IProgressMonitor`` that forwards TensorRT's phases and steps to ``on_event``.

    ``on_event(kind, phase, parent, value)``: kind "start" (value = number of steps),
    "step" (value = step index) or "finish". TensorRT calls it from its own threads.
    """

    class _Monitor(trt.IProgressMonitor):
        def __init__(self) -> None:
            trt.IProgressMonitor.__init__(self)

        def phase_start(self, phase_name, parent_phase, num_steps):
            on_event("start", phase_name, parent_phase, num_steps)

        def step_complete(self, phase_name, step):
            on_event("step", phase_name, None, step)
            return True  # False would cancel the build

        def phase_finish(self, phase_name):
            on_event("finish", phase_name, None, 0)

    return _Monitor()


def _rich_progress():
    """A rich progress display and the event callback that drives one bar per phase."""
    import threading

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn())
    tasks: dict[str, int] = {}
    lock = threading.Lock()

    def on_event(kind: str, phase: str, parent: str | None, value: int) -> None:
        with lock:
            if kind == "start":
                label = f"  {phase}" if parent else phase
                tasks[phase] = progress.add_task(label, total=max(int(value), 1))
            elif kind == "step" and phase in tasks:
                progress.update(tasks[phase], completed=int(value) + 1)
            elif kind == "finish" and phase in tasks:
                task = tasks.pop(phase)
                progress.update(task, completed=progress.tasks[task].total)

    return progress, on_event


def _parser_errors(parser) -> str:
    lines = []
    for i in range(parser.num_errors):
        err = parser.get_error(i)
        node = getattr(err, "node_name", lambda: "")() or f"node #{err.node()}"
        op = getattr(err, "node_operator", lambda: "")()
        lines.append(f"{node}{f' ({op})' if op else ''}: {err.desc()} [{err.code()}]")
    return "; ".join(lines) or "no details from the parser"


def build_engine(onnx_path: Path, out: Path | None = None, opts: BuildOptions | None = None,
                 show_progress: bool = True) -> BuildReport:
    """Build and serialize a TensorRT engine for ``onnx_path``; write its manifest beside it.

    Args:
        onnx_path: classifier ONNX (any precision; converted to FP16 when asked for).
        out: engine path (default: ``<precision onnx stem>.engine`` beside it).
        opts: build options.
        show_progress: draw the builder's progress as bars on the terminal.

    Raises:
        UsageError: bad options or an ONNX of the wrong precision.
        BackendUnavailable: TensorRT or a GPU is missing.
        ModelError: the parser rejected the graph or the build failed.
    """
    from engine.backends.ort import OrtBackend
    from engine.backends.tensorrt import import_tensorrt

    opts = opts or BuildOptions()
    opts.validate()
    onnx_path = Path(onnx_path)
    if not onnx_path.is_file():
        raise UsageError(f"ONNX model not found: {onnx_path}")
    trt = import_tensorrt(
        "building a TensorRT engine", "the ONNX Runtime backend (or build on the target GPU)"
    )
    gpu_name, cc = gpu_identity()
    source = onnx_for_precision(onnx_path, opts.precision)
    contract = OrtBackend(source).contract
    default_out = source.with_suffix(".engine")
    out = Path(out) if out else default_out

    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    flags = 1 << int(trt.NetworkDefinitionCreationFlag.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(source)):
        raise ModelError(f"TensorRT's ONNX parser rejected {source}: {_parser_errors(parser)}")

    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, opts.workspace_mb << 20)
    config.builder_optimization_level = opts.opt_level
    if opts.hardware_compat == "ampere_plus":
        config.hardware_compatibility_level = trt.HardwareCompatibilityLevel.AMPERE_PLUS
    shapes = profile_shapes(contract, opts)
    profile = builder.create_optimization_profile()
    # A model without the spectral branch has an unused `spectrum` input; should the parser
    # leave it out of the network, a profile for it would be an error.
    inputs = {network.get_input(i).name for i in range(network.num_inputs)}
    for name, s in shapes.items():
        if name in inputs:
            profile.set_shape(name, s["min"], s["opt"], s["max"])
    config.add_optimization_profile(profile)

    safe_gpu = re.sub(r"[^A-Za-z0-9.-]+", "_", gpu_name)
    cache_name = f"timing-{safe_gpu}-trt{trt.__version__}.cache"
    cache_file = opts.timing_cache or DEFAULT_CACHE / cache_name
    blob = cache_file.read_bytes() if cache_file.is_file() else b""
    timing_cache = config.create_timing_cache(blob)
    config.set_timing_cache(timing_cache, ignore_mismatch=False)

    progress = None
    if show_progress:
        progress, on_event = _rich_progress()
        monitor = make_progress_monitor(trt, on_event)
        config.progress_monitor = monitor  # must outlive the build: kept in this frame
        progress.start()
    t0 = time.perf_counter()
    try:
        serialized = builder.build_serialized_network(network, config)
    finally:
        if progress is not None:
            progress.stop()
    seconds = time.perf_counter() - t0
    if serialized is None:
        raise ModelError(f"TensorRT could not build an engine from {source} (see its log above)")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(bytes(serialized))
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_bytes(bytes(config.get_timing_cache().serialize()))

    manifest = EngineManifest(
        tensorrt_version=trt.__version__,
        gpu_name=gpu_name,
        compute_capability=cc,
        platform=_platform(),
        onnx_file=source.name,
        onnx_sha256=file_sha256(source),
        precision=opts.precision,
        profile=shapes,
        workspace_mb=opts.workspace_mb,
        builder_optimization_level=opts.opt_level,
        hardware_compat=opts.hardware_compat,
        contract=contract.to_metadata(),
        build_command=build_command(
            source, opts.precision, (opts.min_batch, opts.opt_batch, opts.max_batch),
            opts.workspace_mb, opts.opt_level, opts.hardware_compat,
            out=None if out == default_out else out,
        ),
    )
    manifest_file = write_manifest(manifest, out)
    log.info("built %s in %.1f s (%s, %s)", out, seconds, gpu_name, trt.__version__)
    return BuildReport(out, manifest_file, source, seconds, out.stat().st_size)


def _platform() -> str:
    from engine.backends.trt_manifest import MachineInfo

    return MachineInfo("", "", "").platform
