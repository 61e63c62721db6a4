"""Open a classifier backend by name: the one entry point the rest of the engine uses.

Names:

- ``ort`` / ``ort-cpu``: ONNX Runtime on the CPU (works everywhere; the default fallback).
  With no model given it runs the shipped classifier's single-pass twin
  (``classifier.single.onnx``, export/single_pass.py: the mirror image is scored only near
  the threshold, about half the cost per crop) while the twin was cut from the shipped file as
  it is now; ``--model engine/models/classifier.onnx`` runs the in-graph mirror on every crop.
- ``ort-cuda``, ``ort-tensorrt``: ONNX Runtime's CUDA / TensorRT execution providers
  (onnxruntime-gpu); refused when the provider does not really load.
- ``tensorrt``: a native TensorRT engine (``MODEL`` is the ``.engine`` file, or an ONNX file
  with a built ``<stem>.engine`` and its manifest beside it), run with pycuda.
- ``torch`` / ``torch-cpu`` / ``torch-cuda``: the PyTorch reference (needs the training extra
  and a checkpoint; registered by the export package under the ``deepscreen.backends``
  entry points).
- ``remote``: an Open Inference Protocol (KServe v2 / Triton) server, ``url=`` required.
- ``auto``: the fastest one that works here, said in the log.
"""

from __future__ import annotations

import hashlib
import importlib.util
import logging
from pathlib import Path

from engine.backends.base import Backend
from engine.errors import BackendUnavailable, DeepscreenError, ModelError, UsageError
from engine.paths import DEFAULT_CLASSIFIER

log = logging.getLogger(__name__)

DEFAULT_MODEL = DEFAULT_CLASSIFIER
ENGINE_SUFFIXES = (".engine", ".plan")
# Entry-point group through which upper layers add backends (see pyproject.toml).
PLUGIN_GROUP = "deepscreen.backends"

BACKEND_NAMES = (
    "auto",
    "ort",
    "ort-cpu",
    "ort-cuda",
    "ort-tensorrt",
    "tensorrt",
    "torch",
    "torch-cpu",
    "torch-cuda",
    "remote",
)


def engine_path_for(model: Path) -> Path:
    """Where ``deepscreen export trt`` puts the engine built from ``model`` (an ONNX file)."""
    return Path(model).with_suffix(".engine")


def single_pass_path(model: Path) -> Path:
    """Where ``deepscreen export single-pass`` puts the single-pass twin of ``model``."""
    return Path(model).with_suffix(".single.onnx")


def find_engine(model: Path) -> Path | None:
    """An engine for ``model``: the file itself, ``<stem>.engine``, or its FP16/INT8 builds."""
    model = Path(model)
    if model.suffix in ENGINE_SUFFIXES:
        return model if model.is_file() else None
    stem = model.with_suffix("")
    for suffix in (".engine", ".int8.engine", ".fp16.engine"):
        cand = stem.with_name(stem.name + suffix)
        if cand.is_file():
            return cand
    return None


def _resolve_model(model: Path | None) -> Path:
    path = Path(model) if model is not None else DEFAULT_MODEL
    if not path.is_file():
        hint = (
            " (the default classifier ships with the package: reinstall, or pass --model)"
            if model is None
            else ""
        )
        raise ModelError(f"classifier model not found: {path}{hint}")
    return path


def _open_tensorrt(model: Path, **opts) -> Backend:
    engine = find_engine(model)
    if engine is None:
        raise BackendUnavailable(
            f"no TensorRT engine for {model}; build it on this machine with "
            f"`deepscreen export trt {model} --precision fp16`"
        )
    from engine.backends.tensorrt import TensorRTBackend

    return TensorRTBackend(engine, **opts)


def _open_plugin(name: str, model: Path, **opts) -> Backend:
    """Open a backend that an upper layer provides through the ``deepscreen.backends`` entry
    points (the PyTorch reference lives with the training code, which the runtime never
    imports by name: the layers point one way)."""
    from importlib.metadata import entry_points

    found = {ep.name: ep for ep in entry_points(group=PLUGIN_GROUP)}
    hint = "pip install -e '.[train]'; the engine itself runs without it"
    if name not in found:
        raise BackendUnavailable(f"the {name} backend is not installed here ({hint})")
    try:
        # Heavy libraries are imported when the backend opens, not when the plugin loads.
        return found[name].load()(model, **opts)
    except ImportError as exc:
        raise BackendUnavailable(
            f"the {name} backend needs {exc.name or 'its libraries'} ({hint})"
        ) from exc


def _open_twin(flip_graph: Path, **opts) -> Backend | None:
    """The single-pass twin beside ``flip_graph``, opened on the CPU, when it was cut from
    ``flip_graph`` as it is now (its ``twin_of`` key); None otherwise, with a warning when a
    twin is there but stale or unreadable (the flip graph then runs: slower, never wrong)."""
    from engine.backends.ort import OrtBackend

    twin = single_pass_path(flip_graph)
    if not twin.is_file():
        return None
    remake = f"re-make it with `deepscreen export single-pass {flip_graph}`"
    try:
        backend = OrtBackend(twin, device="cpu", **opts)
    except DeepscreenError as exc:
        log.warning("ignoring %s (%s); %s", twin.name, exc, remake)
        return None
    if backend.traits.twin_of != hashlib.sha256(flip_graph.read_bytes()).hexdigest():
        log.warning("%s was not cut from %s as it is now; running %s with the mirror on every "
                    "crop (%s)", twin.name, flip_graph.name, flip_graph.name, remake)
        backend.close()
        return None
    log.info("classifier: %s, the single-pass twin of %s (mirror within %.2f of the threshold)",
             twin.name, flip_graph.name, backend.traits.mirror_band)
    return backend


def _open_one(name: str, model: Path | None, **opts) -> Backend:
    if name == "remote":
        from engine.backends.remote import RemoteBackend

        return RemoteBackend(model=model, **opts)
    path = _resolve_model(model)
    if name in ("ort", "ort-cpu"):
        from engine.backends.ort import OrtBackend

        # Only the default: a model named on the command line runs exactly as given.
        twin = _open_twin(path, **opts) if model is None else None
        return twin if twin is not None else OrtBackend(path, device="cpu", **opts)
    if name in ("ort-cuda", "ort-tensorrt"):
        from engine.backends.ort import OrtBackend

        return OrtBackend(path, device=name.split("-", 1)[1], **opts)
    if name == "tensorrt":
        return _open_tensorrt(path, **opts)
    if name in ("torch", "torch-cpu", "torch-cuda"):
        device = "cuda" if name == "torch-cuda" else "cpu"
        return _open_plugin("torch", path, device=device, **opts)
    raise UsageError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")


def _auto(model: Path | None, **opts) -> Backend:
    """Try the backends from fastest to slowest; the first that opens wins."""
    path = _resolve_model(model)
    candidates: list[str] = []
    has_engine = find_engine(path) is not None
    if has_engine and importlib.util.find_spec("tensorrt") is not None:
        candidates.append("tensorrt")
    if path.suffix == ".onnx":
        from engine.backends.ort import available_devices

        if "cuda" in available_devices():
            candidates.append("ort-cuda")
        candidates.append("ort-cpu")
    reasons: list[str] = []
    for name in candidates:
        try:
            backend = _open_one(name, model, **opts)
        except DeepscreenError as exc:
            reasons.append(f"{name}: {exc}")
            log.info("backend auto: %s unavailable: %s", name, exc)
            continue
        skipped = f" (skipped: {'; '.join(reasons)})" if reasons else ""
        used = Path(getattr(backend, "model_path", path)).name
        log.info("backend auto: using %s for %s%s", backend.name, used, skipped)
        return backend
    raise BackendUnavailable(
        f"no backend can run {path}: " + ("; ".join(reasons) or "no candidate for this file type")
    )


def load_backend(name: str = "auto", model: Path | None = None, **opts) -> Backend:
    """Open a classifier backend.

    Args:
        name: one of :data:`BACKEND_NAMES`; "auto" picks the fastest that works here and logs it.
        model: the model file (ONNX, TensorRT engine, or torch checkpoint for "torch"); defaults
            to the shipped ``engine/models/classifier.onnx`` (on the CPU its single-pass twin,
            see the module docstring). For "remote", an optional local ONNX whose input
            contract the server's model must match.
        **opts: backend options (e.g. ``threads`` for ORT, ``url``/``model_name`` for remote).

    Returns:
        A ready :class:`~engine.backends.base.Backend`.

    Raises:
        ModelError: the model file is missing or not a deepscreen classifier.
        BackendUnavailable: the backend cannot run on this machine (the message says why).
        UsageError: unknown backend name.
    """
    if name not in BACKEND_NAMES:
        raise UsageError(f"unknown backend {name!r}; choose one of {', '.join(BACKEND_NAMES)}")
    if name == "auto":
        return _auto(model, **opts)
    return _open_one(name, model, **opts)
