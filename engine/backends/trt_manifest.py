"""The manifest beside every TensorRT engine, and the check that refuses a mismatched engine.

A serialized TensorRT engine only runs with the TensorRT version and the GPU model it was built
for. The manifest (``<engine>.json``) records both, plus the SHA-256 of the ONNX it came from,
the optimization profile and the precision, so loading can say exactly what differs and print
the command that rebuilds the engine on this machine. Nothing here imports TensorRT: the machine
side is passed in (:class:`MachineInfo`), found by :func:`current_machine` where TensorRT exists.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import platform
import shlex
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from engine.errors import BackendUnavailable, ModelError

FORMAT = "deepscreen.trt-manifest/1"


@dataclass(frozen=True)
class MachineInfo:
    """What an engine is tied to on the machine that runs it."""

    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    platform: str = field(default_factory=lambda: f"{platform.system()}-{platform.machine()}")


@dataclass(frozen=True)
class EngineManifest:
    """Everything needed to decide whether an engine may run here, and how to rebuild it.

    Attributes:
        tensorrt_version: ``tensorrt.__version__`` at build time.
        gpu_name: CUDA device name the engine was built on.
        compute_capability: "major.minor" of that GPU.
        platform: OS and CPU architecture (an x86 engine never runs on a Jetson).
        onnx_file: name of the ONNX the engine was built from.
        onnx_sha256: its SHA-256.
        precision: "fp32", "fp16" or "int8" (what the strongly typed ONNX contains).
        profile: per input ``{"min": shape, "opt": shape, "max": shape}``.
        workspace_mb: workspace memory pool limit.
        builder_optimization_level: 0..5.
        hardware_compat: "none" or "ampere_plus".
        contract: the InputContract metadata (``deepscreen.*`` keys) of the ONNX.
        build_command: the `deepscreen export trt` command line that rebuilds this engine.
        built_at: UTC ISO time.
        format: manifest format tag.
    """

    tensorrt_version: str
    gpu_name: str
    compute_capability: str
    platform: str
    onnx_file: str
    onnx_sha256: str
    precision: str
    profile: dict[str, dict[str, list[int]]]
    workspace_mb: int
    builder_optimization_level: int
    hardware_compat: str
    contract: dict[str, str]
    build_command: str
    built_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    format: str = FORMAT

    @property
    def max_batch(self) -> int:
        return min(shapes["max"][0] for shapes in self.profile.values())


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def manifest_path(engine: Path) -> Path:
    """``classifier.fp16.engine`` -> ``classifier.fp16.engine.json``."""
    engine = Path(engine)
    return engine.with_name(engine.name + ".json")


def write_manifest(manifest: EngineManifest, engine: Path) -> Path:
    """Write the manifest beside ``engine``; returns its path."""
    path = manifest_path(engine)
    path.write_text(json.dumps(asdict(manifest), indent=2, sort_keys=True) + "\n")
    return path


def read_manifest(engine: Path) -> EngineManifest:
    """Read the manifest of ``engine``.

    Raises:
        ModelError: missing, unreadable or of another format (an engine without a manifest
            cannot be checked, so it is refused).
    """
    path = manifest_path(engine)
    if not path.is_file():
        raise ModelError(
            f"{engine} has no manifest ({path.name}); rebuild it with `deepscreen export trt`"
        )
    try:
        data = json.loads(path.read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r} != {FORMAT!r}")
        return EngineManifest(**data)
    except (ValueError, TypeError) as exc:
        raise ModelError(f"unreadable engine manifest {path}: {exc}") from exc


def build_command(onnx: Path, precision: str, profile_batches: tuple[int, int, int],
                  workspace_mb: int, opt_level: int, hardware_compat: str,
                  out: Path | None = None) -> str:
    """The exact `deepscreen export trt` command that (re)builds an engine with these options."""
    lo, opt, hi = profile_batches
    args = [
        "deepscreen", "export", "trt", str(onnx), "--precision", precision,
        "--min-batch", str(lo), "--opt-batch", str(opt), "--max-batch", str(hi),
        "--workspace-mb", str(workspace_mb), "--opt-level", str(opt_level),
    ]
    if hardware_compat != "none":
        args += ["--hardware-compat", hardware_compat]
    if out is not None:
        args += ["--out", str(out)]
    return shlex.join(args)


def differences(manifest: EngineManifest, machine: MachineInfo) -> list[str]:
    """What about this machine differs from the one the engine was built for (empty = fine).

    An engine built with hardware compatibility "ampere_plus" runs on any GPU of compute
    capability 8.0 or newer; otherwise the GPU model must match exactly.
    """
    out = []
    if manifest.tensorrt_version != machine.tensorrt_version:
        out.append(
            f"TensorRT {manifest.tensorrt_version} built it, this machine has "
            f"{machine.tensorrt_version}"
        )
    if manifest.platform != machine.platform:
        out.append(f"built on {manifest.platform}, this machine is {machine.platform}")
    if manifest.hardware_compat == "ampere_plus":
        if _cc(machine.compute_capability) < (8, 0):
            out.append(
                f"hardware-compatible engines need compute capability >= 8.0, this GPU "
                f"({machine.gpu_name}) has {machine.compute_capability}"
            )
    else:
        if manifest.compute_capability != machine.compute_capability:
            out.append(
                f"built for compute capability {manifest.compute_capability} "
                f"({manifest.gpu_name}), this GPU ({machine.gpu_name}) has "
                f"{machine.compute_capability}"
            )
        elif manifest.gpu_name != machine.gpu_name:
            out.append(f"built on {manifest.gpu_name}, this GPU is {machine.gpu_name}")
    return out


def _cc(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    return int(major), int(minor or 0)


def check_engine(
    engine: Path, machine: MachineInfo, onnx_sha256: str | None = None
) -> EngineManifest:
    """Refuse an engine that does not fit this machine (or is older than its ONNX).

    Args:
        engine: the ``.engine`` file.
        machine: this machine's TensorRT version and GPU.
        onnx_sha256: hash of the ONNX the caller expects the engine to come from, if known.

    Returns:
        The manifest, when the engine may run here.

    Raises:
        ModelError: naming every difference and the command that rebuilds the engine.
    """
    manifest = read_manifest(engine)
    problems = differences(manifest, machine)
    if onnx_sha256 is not None and onnx_sha256 != manifest.onnx_sha256:
        problems.append(f"{manifest.onnx_file} changed since the engine was built (new SHA-256)")
    if problems:
        raise ModelError(
            f"TensorRT engine {engine} does not fit this machine: {'; '.join(problems)}. "
            f"Rebuild it here with: {manifest.build_command}"
        )
    return manifest


# CUDA driver API attribute ids (cuda.h): compute capability major / minor.
_CC_MAJOR, _CC_MINOR = 75, 76


def gpu_identity(device: int = 0) -> tuple[str, str]:
    """(name, "major.minor") of a CUDA device through the driver API (no CUDA Python package).

    Raises:
        BackendUnavailable: no driver or no such device.
    """
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError as exc:
        raise BackendUnavailable("no NVIDIA driver (libcuda.so.1 not found)") from exc
    if cuda.cuInit(0) != 0:
        raise BackendUnavailable("cuInit failed: no usable NVIDIA GPU")
    dev = ctypes.c_int()
    if cuda.cuDeviceGet(ctypes.byref(dev), device) != 0:
        raise BackendUnavailable(f"CUDA device {device} not found")
    name = ctypes.create_string_buffer(256)
    cuda.cuDeviceGetName(name, 256, dev)
    major, minor = ctypes.c_int(), ctypes.c_int()
    cuda.cuDeviceGetAttribute(ctypes.byref(major), _CC_MAJOR, dev)
    cuda.cuDeviceGetAttribute(ctypes.byref(minor), _CC_MINOR, dev)
    return name.value.decode(errors="replace"), f"{major.value}.{minor.value}"


def current_machine(device: int = 0) -> MachineInfo:
    """This machine's TensorRT version and GPU.

    Raises:
        BackendUnavailable: TensorRT is not installed or there is no GPU.
    """
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailable(
            "TensorRT is not installed (pip install tensorrt, or JetPack's python3-libnvinfer on "
            f"a Jetson); use the ONNX Runtime backend instead: {exc}"
        ) from exc
    name, cc = gpu_identity(device)
    return MachineInfo(trt.__version__, name, cc)
