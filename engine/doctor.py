"""What can this machine run? Collected without importing torch and without failing.

Every probe returns a :class:`Check`; a probe that raises is reported as a failed check, so
`deepscreen doctor` always completes, on a Jetson, a GPU server or a laptop without CUDA.
"""

from __future__ import annotations

import ctypes
import importlib
import importlib.util
import platform
from collections.abc import Callable
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Check:
    """One line of the doctor report.

    Attributes:
        name: what was checked ("onnxruntime", "gpu", ...).
        ok: whether it is usable here.
        detail: version, providers or the reason it is unavailable.
    """

    name: str
    ok: bool
    detail: str


def _python() -> Check:
    return Check("python", True, f"{platform.python_version()} on {platform.machine()}")


def _numpy() -> Check:
    import numpy as np

    return Check("numpy", True, np.__version__)


def _onnxruntime() -> Check:
    import onnxruntime as ort

    providers = ", ".join(ort.get_available_providers())
    return Check("onnxruntime", True, f"{ort.__version__}; providers: {providers}")


def _opencv() -> Check:
    import cv2

    backends: list[str] = []
    try:
        registry = cv2.videoio_registry
        backends = [registry.getBackendName(b) for b in registry.getStreamBackends()]
    except Exception:  # older OpenCV builds lack the registry
        pass
    return Check("opencv", True, f"{cv2.__version__}; video backends: {', '.join(backends) or '?'}")


def cuda_device_count() -> tuple[int, str]:
    """Count CUDA devices through the driver API, without any CUDA Python package.

    Returns:
        (count, reason): count is 0 when there is no driver or no device, and reason says why.
    """
    try:
        libcuda = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return 0, "no NVIDIA driver (libcuda.so.1 not found)"
    rc = libcuda.cuInit(0)
    if rc != 0:
        return 0, f"cuInit failed with CUDA error {rc}"
    count = ctypes.c_int(0)
    rc = libcuda.cuDeviceGetCount(ctypes.byref(count))
    if rc != 0:
        return 0, f"cuDeviceGetCount failed with CUDA error {rc}"
    return count.value, f"{count.value} device(s)"


def _gpu() -> Check:
    count, reason = cuda_device_count()
    return Check("gpu", count > 0, reason)


def _module_version(module: str, label: str | None = None) -> Check:
    """Import a module for real (some, like pycuda.autoinit, fail only at import time)."""
    label = label or module
    try:
        mod = importlib.import_module(module)
    except Exception as exc:  # ImportError, or a driver error raised while importing
        return Check(label, False, f"not importable: {type(exc).__name__}: {exc}".splitlines()[0])
    return Check(label, True, str(getattr(mod, "__version__", "importable")))


# On a Jetson, TensorRT's bindings load libraries (libnvdla_compiler.so, libcuda.so.1, ...)
# that the L4T image holds only as placeholders: the NVIDIA container runtime mounts the real
# ones when the container RUNS. So TensorRT is checked here, at run time, never in `docker build`.
_RUNTIME_HINT = (
    " -- a shared library is missing: in a container, run it with the NVIDIA runtime "
    "(`docker run --runtime nvidia` on a Jetson, `--gpus all` on a server); natively, install "
    "JetPack's TensorRT (apt python3-libnvinfer) or the tensorrt-cu13 wheel"
)


def _tensorrt() -> Check:
    check = _module_version("tensorrt")
    if not check.ok and (".so" in check.detail or "shared object" in check.detail):
        return Check(check.name, False, check.detail + _RUNTIME_HINT)
    return check


def _onnxruntime_packages() -> Check:
    """``onnxruntime`` and ``onnxruntime-gpu`` install into one directory: with both, whichever
    was installed last wins file by file and the CUDA provider can vanish without an error."""
    from importlib import metadata

    found = []
    for dist in ("onnxruntime", "onnxruntime-gpu"):
        try:
            found.append(f"{dist} {metadata.version(dist)}")
        except metadata.PackageNotFoundError:
            continue
    if len(found) > 1:
        return Check("onnxruntime packages", False,
                     f"{' and '.join(found)} are both installed: they overwrite each other; "
                     "`pip uninstall -y onnxruntime onnxruntime-gpu` then install exactly one")
    return Check("onnxruntime packages", bool(found), found[0] if found else "none installed")


def _pycuda() -> Check:
    return _module_version("pycuda.driver", "pycuda")


def _spectral_backend() -> Check:
    try:
        from engine.features.spectral import describe_backend
    except ImportError as exc:
        return Check("spectral feature", False, f"unavailable: {exc}")
    name, reason = describe_backend()
    return Check("spectral feature", True, f"{name} ({reason})")


def _torch_installed() -> Check:
    # Read the installed distributions' metadata: the runtime never imports torch, not even
    # to find its module (tests/engine/test_layers.py reads the source to hold that line).
    from importlib import metadata

    try:
        detail = f"installed ({metadata.version('torch')})"
    except metadata.PackageNotFoundError:
        return Check("torch (training extra)", False, "not installed")
    return Check("torch (training extra)", True, detail)


PROBES: tuple[Callable[[], Check], ...] = (
    _python,
    _numpy,
    _opencv,
    _onnxruntime,
    _onnxruntime_packages,
    _gpu,
    _tensorrt,
    _pycuda,
    _spectral_backend,
    _torch_installed,
)


def run_checks() -> list[Check]:
    """Run every probe; a probe that raises becomes a failed check naming the error."""
    results: list[Check] = []
    for probe in PROBES:
        try:
            results.append(probe())
        except Exception as exc:
            name = probe.__name__.lstrip("_")
            results.append(Check(name, False, f"{type(exc).__name__}: {exc}"))
    return results


def missing(checks: list[Check], required: list[str]) -> list[str]:
    """Names in ``required`` whose check failed or does not exist (``deepscreen doctor
    --require``: a container's start-up check, e.g. ``gpu,tensorrt`` on a Jetson).

    Raises:
        ValueError: a name that is no check of the report.
    """
    by_name = {c.name: c for c in checks}
    unknown = [n for n in required if n not in by_name]
    if unknown:
        raise ValueError(f"unknown check(s) {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [n for n in required if not by_name[n].ok]


def as_dicts(checks: list[Check]) -> list[dict]:
    """JSON-friendly form of the report."""
    return [asdict(c) for c in checks]
