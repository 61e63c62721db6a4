"""Triton Inference Server model repository for the classifier (ONNX + TensorRT plans).

Layout written::

    REPO/<name>/config.pbtxt            platform onnxruntime_onnx (GPU + TensorRT accelerator)
    REPO/<name>/1/model.onnx
    REPO/<name>_trt_<precision>/config.pbtxt   platform tensorrt_plan (one per --plan)
    REPO/<name>_trt_<precision>/1/model.plan

Every ``config.pbtxt`` is parsed back with Triton's own ``ModelConfig`` protobuf schema (shipped
as ``model_config_pb2`` in ``tritonclient``), so a typo or a wrong field fails here, not when the
server starts. The InputContract travels in the config's ``parameters``, where a remote client
reads it back through the model-config endpoint.

The ONNX model runs on the GPU by default, through ONNX Runtime's TensorRT execution provider
(``gpu_execution_accelerator: tensorrt``): the engine is then built by the TensorRT inside the
Triton image when the model loads, so it can never be of another TensorRT version than the
server's (a ``--plan`` built elsewhere can, and is checked against ``expect_tensorrt``).
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

from engine.backends.base import INPUT_CROPS, INPUT_SPECTRUM, OUTPUT_LOGIT
from engine.errors import BackendUnavailable, ModelError, UsageError
from engine.preprocess import InputContract

TRT_PRECISIONS = ("FP32", "FP16", "INT8")
ACCELERATORS = ("tensorrt", "none")


@dataclass(frozen=True)
class TritonOptions:
    """Repository options.

    Attributes:
        name: model name of the ONNX model (plans get ``<name>_trt_<precision>``).
        max_batch: ``max_batch_size`` of the ONNX model (plans use their profile's maximum).
        max_queue_delay_us: how long dynamic batching waits to fill a batch.
        gpu: instance group kind of the ONNX model (KIND_GPU, the default, vs KIND_CPU).
        instances: instances per model.
        accelerator: "tensorrt" (ONNX Runtime's TensorRT provider, CUDA for what it cannot
            run) or "none" (CUDA provider only); ignored on the CPU.
        trt_precision: precision_mode of the TensorRT accelerator: FP32, FP16 or INT8 (INT8
            only for a Q/DQ ONNX).
        trt_cache_dir: where the server keeps the TensorRT engines it builds (a writable path
            inside the Triton container, e.g. on the repository volume); None = no cache, the
            engine is rebuilt at every load.
        expect_tensorrt: the server's TensorRT version ("10.13.3"); a --plan built with
            another one is refused (it would not load). None skips the check.
    """

    name: str = "deepscreen"
    max_batch: int = 64
    max_queue_delay_us: int = 2000
    gpu: bool = True
    instances: int = 1
    accelerator: str = "tensorrt"
    trt_precision: str = "FP16"
    trt_cache_dir: str | None = None
    expect_tensorrt: str | None = None


@dataclass(frozen=True)
class RepoEntry:
    """One model written to the repository."""

    name: str
    platform: str
    config: Path
    model_file: Path
    max_batch: int


def model_config_pb2():
    """Triton's ``model_config_pb2`` module from tritonclient (without needing grpcio)."""
    spec = importlib.util.find_spec("tritonclient")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailable(
            "validating Triton configs needs tritonclient (pip install 'tritonclient[http]')"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "grpc" / "model_config_pb2.py"
    # Loaded by path: importing tritonclient.grpc would also require grpcio.
    mod_spec = importlib.util.spec_from_file_location("deepscreen_triton_model_config_pb2", path)
    module = importlib.util.module_from_spec(mod_spec)
    mod_spec.loader.exec_module(module)
    return module


def _preferred(max_batch: int) -> list[int]:
    sizes = [b for b in (4, 8, 16, 32, 64) if b <= max_batch]
    return sizes[-3:] or [max_batch]


def config_text(
    name: str,
    platform: str,
    contract: InputContract,
    max_batch: int,
    max_queue_delay_us: int,
    gpu: bool,
    instances: int = 1,
    extra_params: dict[str, str] | None = None,
    optimization: str = "",
) -> str:
    """``config.pbtxt`` text (batch dimension implicit: dims exclude it, max_batch_size > 0).

    ``optimization`` is an ``optimization { ... }`` block (see :func:`tensorrt_accelerator`).
    """
    s, bins = contract.input_size, contract.spectrum_bins
    params = dict(contract.to_metadata())
    params.update(extra_params or {})
    param_text = "\n".join(
        f'parameters {{ key: "{k}" value {{ string_value: {_quote(v)} }} }}'
        for k, v in sorted(params.items())
    )
    preferred = ", ".join(str(b) for b in _preferred(max_batch))
    return f"""name: "{name}"
platform: "{platform}"
max_batch_size: {max_batch}
input [
  {{ name: "{INPUT_CROPS}" data_type: TYPE_FP32 dims: [ 3, {s}, {s} ] }},
  {{ name: "{INPUT_SPECTRUM}" data_type: TYPE_FP32 dims: [ {bins} ] }}
]
output [
  {{ name: "{OUTPUT_LOGIT}" data_type: TYPE_FP32 dims: [ 1 ] }}
]
dynamic_batching {{
  preferred_batch_size: [ {preferred} ]
  max_queue_delay_microseconds: {max_queue_delay_us}
}}
instance_group [ {{ kind: {"KIND_GPU" if gpu else "KIND_CPU"} count: {instances} }} ]
{optimization}{param_text}
"""


def tensorrt_accelerator(contract: InputContract, max_batch: int, precision: str = "FP16",
                         cache_dir: str | None = None) -> str:
    """The ``optimization`` block that runs an ONNX model through ONNX Runtime's TensorRT
    provider inside Triton (keys: onnxruntime_backend's README, "ONNX Runtime with TensorRT
    optimization").

    One optimization profile spans batch 1..max_batch, so a new batch size never triggers an
    engine rebuild at serving time.
    """
    if precision not in TRT_PRECISIONS:
        raise UsageError(f"TensorRT precision must be one of {', '.join(TRT_PRECISIONS)}")
    s, bins = contract.input_size, contract.spectrum_bins

    def shapes(batch: int) -> str:
        return f"{INPUT_CROPS}:{batch}x3x{s}x{s},{INPUT_SPECTRUM}:{batch}x{bins}"

    params = {
        "precision_mode": precision,
        "max_workspace_size_bytes": str(1 << 30),
        "trt_profile_min_shapes": shapes(1),
        "trt_profile_opt_shapes": shapes(min(8, max_batch)),
        "trt_profile_max_shapes": shapes(max_batch),
    }
    if cache_dir:
        params.update(trt_engine_cache_enable="1", trt_engine_cache_path=cache_dir)
    body = "\n".join(f"      parameters {{ key: {_quote(k)} value: {_quote(v)} }}"
                     for k, v in params.items())
    return ("optimization { execution_accelerators {\n"
            "  gpu_execution_accelerator: [ {\n"
            '      name: "tensorrt"\n'
            f"{body}\n"
            "  } ]\n"
            "} }\n")


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def parse_config(text: str):
    """Parse ``config.pbtxt`` text with Triton's ModelConfig schema.

    Raises:
        ModelError: the text is not a valid ModelConfig.
    """
    from google.protobuf import text_format

    pb2 = model_config_pb2()
    try:
        return text_format.Parse(text, pb2.ModelConfig())
    except text_format.ParseError as exc:
        raise ModelError(f"invalid Triton config: {exc}") from exc


def validate_config(config, contract: InputContract) -> None:
    """Semantic checks beyond the schema: shapes, batching, platform.

    Raises:
        ModelError: naming the first problem.
    """
    pb2 = model_config_pb2()
    s, bins = contract.input_size, contract.spectrum_bins
    want = {INPUT_CROPS: [3, s, s], INPUT_SPECTRUM: [bins]}
    got = {i.name: list(i.dims) for i in config.input}
    if got != want:
        raise ModelError(f"{config.name}: inputs {got} != {want}")
    if [(o.name, list(o.dims)) for o in config.output] != [(OUTPUT_LOGIT, [1])]:
        raise ModelError(f"{config.name}: output must be logit [1]")
    fp32 = pb2.DataType.Value("TYPE_FP32")
    if any(t.data_type != fp32 for t in [*config.input, *config.output]):
        raise ModelError(f"{config.name}: every tensor must be TYPE_FP32")
    if config.max_batch_size < 1:
        raise ModelError(f"{config.name}: max_batch_size must be >= 1 for dynamic batching")
    if not config.HasField("dynamic_batching"):
        raise ModelError(f"{config.name}: dynamic_batching missing")
    if any(b > config.max_batch_size for b in config.dynamic_batching.preferred_batch_size):
        raise ModelError(f"{config.name}: a preferred batch size exceeds max_batch_size")
    if config.platform not in ("onnxruntime_onnx", "tensorrt_plan"):
        raise ModelError(f"{config.name}: unexpected platform {config.platform!r}")
    _validate_accelerators(config, contract)


def _validate_accelerators(config, contract: InputContract) -> None:
    """A GPU accelerator needs a GPU instance; TensorRT's profile must cover max_batch_size."""
    gpu_acc = list(config.optimization.execution_accelerators.gpu_execution_accelerator)
    kinds = {g.kind for g in config.instance_group}
    gpu_kind = config.instance_group[0].KIND_GPU if config.instance_group else None
    if gpu_acc and kinds != {gpu_kind}:
        raise ModelError(f"{config.name}: a GPU accelerator needs instance_group KIND_GPU")
    for acc in gpu_acc:
        if acc.name not in ("tensorrt", "cuda"):
            raise ModelError(f"{config.name}: unknown GPU accelerator {acc.name!r}")
        if acc.name != "tensorrt":
            continue
        params = dict(acc.parameters)
        if params.get("precision_mode", "FP32") not in TRT_PRECISIONS:
            raise ModelError(f"{config.name}: precision_mode {params['precision_mode']!r}")
        top = params.get("trt_profile_max_shapes", "")
        s, bins = contract.input_size, contract.spectrum_bins
        want = (f"{INPUT_CROPS}:{config.max_batch_size}x3x{s}x{s},"
                f"{INPUT_SPECTRUM}:{config.max_batch_size}x{bins}")
        if top and top != want:
            raise ModelError(f"{config.name}: trt_profile_max_shapes {top!r} != {want!r}")


def _write_model(repo: Path, name: str, platform: str, source: Path, filename: str,
                 text: str, contract: InputContract) -> RepoEntry:
    config = parse_config(text)
    validate_config(config, contract)
    folder = repo / name
    (folder / "1").mkdir(parents=True, exist_ok=True)
    target = folder / "1" / filename
    shutil.copyfile(source, target)
    (folder / "config.pbtxt").write_text(text)
    return RepoEntry(name, platform, folder / "config.pbtxt", target, config.max_batch_size)


def write_repository(
    repo: Path, onnx: Path, plans: list[Path], opts: TritonOptions | None = None
) -> list[RepoEntry]:
    """Write (or update) a Triton model repository; every config is validated first.

    Args:
        repo: repository root.
        onnx: the classifier ONNX (its metadata gives the shapes).
        plans: TensorRT engines built by `deepscreen export trt` (manifests beside them).
        opts: names and batching.

    Raises:
        UsageError: bad options or a plan without its manifest.
        ModelError: a config fails validation.
    """
    from engine.backends.ort import OrtBackend
    from engine.backends.trt_manifest import read_manifest

    opts = opts or TritonOptions()
    if opts.max_batch < 1 or opts.instances < 1:
        raise UsageError("--max-batch and instances must be >= 1")
    if opts.accelerator not in ACCELERATORS:
        raise UsageError(f"--accelerator must be one of {', '.join(ACCELERATORS)}")
    contract = OrtBackend(Path(onnx)).contract
    optimization = ""
    if opts.gpu and opts.accelerator == "tensorrt":
        optimization = tensorrt_accelerator(contract, opts.max_batch, opts.trt_precision,
                                            opts.trt_cache_dir)
    entries = [
        _write_model(
            Path(repo), opts.name, "onnxruntime_onnx", Path(onnx), "model.onnx",
            config_text(opts.name, "onnxruntime_onnx", contract, opts.max_batch,
                        opts.max_queue_delay_us, opts.gpu, opts.instances,
                        optimization=optimization),
            contract,
        )
    ]
    for plan in plans:
        plan = Path(plan)
        if not plan.is_file():
            raise UsageError(f"TensorRT engine not found: {plan}")
        manifest = read_manifest(plan)
        _check_plan_version(plan, manifest.tensorrt_version, opts.expect_tensorrt)
        plan_contract = InputContract.from_metadata(manifest.contract)
        if plan_contract != contract:
            raise UsageError(f"{plan} was built for another input contract than {onnx}")
        name = f"{opts.name}_trt_{manifest.precision}"
        extra = {
            "deepscreen.tensorrt_version": manifest.tensorrt_version,
            "deepscreen.gpu": f"{manifest.gpu_name} (sm {manifest.compute_capability})",
        }
        text = config_text(name, "tensorrt_plan", contract, manifest.max_batch,
                           opts.max_queue_delay_us, True, opts.instances, extra)
        entries.append(_write_model(Path(repo), name, "tensorrt_plan", plan, "model.plan",
                                    text, contract))
    return entries


def _check_plan_version(plan: Path, built_with: str, server: str | None) -> None:
    """A plan loads only in the TensorRT release that built it: compare major.minor.patch."""
    if not server:
        return
    if built_with.split(".")[:3] != server.split(".")[:3]:
        raise UsageError(
            f"{plan} was built with TensorRT {built_with}, the Triton server runs {server}: "
            "it would fail to load. Rebuild it with that TensorRT (deploy/Dockerfile.server "
            "installs the Triton image's version; docs/FLEET.md section 2) or serve the ONNX "
            "model, whose engine the server builds itself"
        )
