"""The machine stamp written into every benchmark result.

A latency figure means little without the machine it came from, so each result carries the CPU
model and core counts (from /proc/cpuinfo), the GPU and its compute capability (through the CUDA
driver API, no CUDA Python package needed), library versions (read from package metadata, so
torch is never imported just to report its version), ONNX Runtime's providers, the load average
at the time (this project's dev box is shared) and the sha256 of every model file used.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import hashlib
import os
import platform
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

import engine

LIBRARIES: tuple[str, ...] = (
    "deepscreen",
    "numpy",
    "opencv-python-headless",
    "opencv-python",
    "onnxruntime",
    "onnxruntime-gpu",
    "onnx",
    "torch",
    "facenet-pytorch",
    "tensorrt",
    "pycuda",
)

# CUdevice_attribute values from cuda.h (stable since CUDA 5).
_CU_ATTR_CC_MAJOR = 75
_CU_ATTR_CC_MINOR = 76


@dataclass(frozen=True)
class GpuInfo:
    """One CUDA device: name, compute capability "major.minor", total memory in MiB."""

    index: int
    name: str
    compute_capability: str
    memory_mib: int


@dataclass
class MachineStamp:
    """Where and when a benchmark ran. Every field is JSON-serialisable.

    Attributes:
        timestamp_utc: ISO 8601 time the stamp was taken.
        hostname, os, python: platform description.
        cpu_model: "model name" of /proc/cpuinfo (or platform.processor()).
        logical_cpus: CPUs the kernel lists; usable_cpus: those this process may run on.
        physical_cores: distinct (physical id, core id) pairs, when /proc/cpuinfo says.
        load_average: 1/5/15-minute load when the stamp was taken (others' jobs included).
        gpus: CUDA devices; empty when there is no driver or no device.
        gpu_note: why there are no GPUs, when there are none.
        libraries: installed version of each library in LIBRARIES (absent ones omitted).
        ort_providers: ONNX Runtime's available execution providers.
        files: sha256 of each model / engine file used, keyed by a role name.
    """

    timestamp_utc: str
    hostname: str
    os: str
    python: str
    cpu_model: str
    logical_cpus: int
    usable_cpus: int
    physical_cores: int | None
    load_average: tuple[float, float, float] | None
    gpus: list[GpuInfo] = field(default_factory=list)
    gpu_note: str = ""
    libraries: dict[str, str] = field(default_factory=dict)
    ort_providers: list[str] = field(default_factory=list)
    files: dict[str, dict[str, str]] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)

    def one_line(self) -> str:
        """Short human description, e.g. for the table caption."""
        gpu = ", ".join(f"{g.name} (sm {g.compute_capability})" for g in self.gpus) or "no GPU"
        return f"{self.cpu_model}, {self.usable_cpus} CPU(s), {gpu}"


def parse_cpuinfo(text: str) -> tuple[str, int, int | None]:
    """Extract (model name, logical CPU count, physical core count) from /proc/cpuinfo text.

    Physical cores are counted as distinct (physical id, core id) pairs; None when the file
    does not list them (some VMs and ARM kernels).
    """
    model = ""
    logical = 0
    cores: set[tuple[str, str]] = set()
    physical_id = core_id = None
    for line in text.splitlines() + [""]:
        if not line.strip():
            if physical_id is not None and core_id is not None:
                cores.add((physical_id, core_id))
            physical_id = core_id = None
            continue
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "processor":
            logical += 1
        elif key in ("model name", "Model", "Hardware") and not model:
            model = value
        elif key == "physical id":
            physical_id = value
        elif key == "core id":
            core_id = value
    return model, logical, (len(cores) or None)


def list_gpus() -> tuple[list[GpuInfo], str]:
    """CUDA devices through libcuda (driver API): works without any CUDA Python package.

    Returns:
        (gpus, note): note says why the list is empty.
    """
    try:
        cuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return [], "no NVIDIA driver (libcuda.so.1 not found)"
    if cuda.cuInit(0) != 0:
        return [], "cuInit failed (driver present, no usable device)"
    count = ctypes.c_int(0)
    if cuda.cuDeviceGetCount(ctypes.byref(count)) != 0 or count.value == 0:
        return [], "no CUDA device"
    gpus = []
    for index in range(count.value):
        dev = ctypes.c_int(0)
        cuda.cuDeviceGet(ctypes.byref(dev), index)
        name = ctypes.create_string_buffer(256)
        cuda.cuDeviceGetName(name, 256, dev)
        major, minor = ctypes.c_int(0), ctypes.c_int(0)
        cuda.cuDeviceGetAttribute(ctypes.byref(major), _CU_ATTR_CC_MAJOR, dev)
        cuda.cuDeviceGetAttribute(ctypes.byref(minor), _CU_ATTR_CC_MINOR, dev)
        mem = ctypes.c_size_t(0)
        total_mem = getattr(cuda, "cuDeviceTotalMem_v2", None) or cuda.cuDeviceTotalMem
        total_mem(ctypes.byref(mem), dev)
        gpus.append(
            GpuInfo(
                index=index,
                name=name.value.decode(errors="replace"),
                compute_capability=f"{major.value}.{minor.value}",
                memory_mib=int(mem.value // (1 << 20)),
            )
        )
    return gpus, ""


def library_versions(names: tuple[str, ...] = LIBRARIES) -> dict[str, str]:
    """Installed versions from package metadata (nothing is imported)."""
    versions = {}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    versions.setdefault("deepscreen", engine.__version__)
    return versions


def sha256_file(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _ort_providers() -> list[str]:
    try:
        import onnxruntime as ort
    except ImportError:
        return []
    return list(ort.get_available_providers())


def machine_stamp(files: dict[str, str | os.PathLike[str]] | None = None) -> MachineStamp:
    """Describe this machine now, and hash the given files.

    Args:
        files: role name -> path of each model or engine file used (missing ones are noted).
    """
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:
        cpuinfo = ""
    model, logical, physical = parse_cpuinfo(cpuinfo)
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 1
    try:
        load = tuple(round(x, 2) for x in os.getloadavg())
    except OSError:
        load = None
    gpus, note = list_gpus()
    hashed: dict[str, dict[str, str]] = {}
    for role, path in (files or {}).items():
        p = Path(path)
        if p.is_file():
            size = str(p.stat().st_size)
            hashed[role] = {"path": str(p), "sha256": sha256_file(p), "bytes": size}
        else:
            hashed[role] = {"path": str(p), "sha256": "", "bytes": "0"}
    return MachineStamp(
        timestamp_utc=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        hostname=platform.node(),
        os=f"{platform.system()} {platform.release()} {platform.machine()}",
        python=platform.python_version(),
        cpu_model=model or platform.processor() or platform.machine(),
        logical_cpus=logical or (os.cpu_count() or 1),
        usable_cpus=usable,
        physical_cores=physical,
        load_average=load,  # type: ignore[arg-type]
        gpus=gpus,
        gpu_note=note,
        libraries=library_versions(),
        ort_providers=_ort_providers(),
        files=hashed,
    )


def load_avg_1m() -> float | None:
    """The 1-minute load average now (other users' jobs included), or None."""
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None
