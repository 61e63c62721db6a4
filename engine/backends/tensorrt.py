"""Native TensorRT backend (TensorRT 10/11 API), with pycuda buffers and streams.

Written against the documented TensorRT 10+ runtime API: ``deserialize_cuda_engine``, one
``IExecutionContext`` per thread, ``set_input_shape``, ``infer_shapes``, ``set_tensor_address``
and ``execute_async_v3`` (bindings and ``execute_async_v2`` are gone since 10.0). Each thread
gets its own context, CUDA stream and device/pinned buffers sized for the profile's maximum
batch; larger batches are split. The engine's manifest is checked against this machine first.

TensorRT and pycuda are imported only when a backend is created: this module imports on
machines without them (and without a GPU), and then says clearly why it cannot run.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np

from engine.backends.base import INPUT_CROPS, INPUT_SPECTRUM, OUTPUT_LOGIT, Backend
from engine.backends.trt_manifest import (
    check_engine,
    current_machine,
    file_sha256,
    read_manifest,
)
from engine.errors import BackendUnavailable, ModelError
from engine.preprocess import InputContract

log = logging.getLogger(__name__)


def import_tensorrt(purpose: str = "the tensorrt backend", instead: str = "--backend ort"):
    """``tensorrt`` module, or BackendUnavailable saying how to get it."""
    try:
        import tensorrt as trt
    except ImportError as exc:
        raise BackendUnavailable(
            f"{purpose} needs TensorRT (pip install tensorrt on an x86 GPU machine; JetPack's "
            f"python3-libnvinfer on a Jetson); use {instead} instead: {exc}"
        ) from exc
    return trt


def import_pycuda():
    """``pycuda.driver`` initialised, or BackendUnavailable."""
    try:
        import pycuda.driver as cuda

        cuda.init()
    except Exception as exc:  # ImportError, or pycuda's LogicError without a driver
        raise BackendUnavailable(
            f"the tensorrt backend needs pycuda and a working NVIDIA driver: {exc}"
        ) from exc
    return cuda


def engine_inputs(names: set[str]) -> tuple[str, ...]:
    """The inputs to bind, from an engine's I/O tensor names; ModelError when they are wrong.

    An engine has ``crops``, ``spectrum`` and ``logit``, or only ``crops`` and ``logit``: a model
    without the spectral branch (the shipped one) keeps ``spectrum`` as an unused ONNX input, and
    TensorRT may remove an unused network input from the engine (whether it does has varied
    between releases). The spectrum is then not bound at all.
    """
    if names == {INPUT_CROPS, INPUT_SPECTRUM, OUTPUT_LOGIT}:
        return (INPUT_CROPS, INPUT_SPECTRUM)
    if names == {INPUT_CROPS, OUTPUT_LOGIT}:
        return (INPUT_CROPS,)
    raise ModelError(f"engine tensors {sorted(names)} are not crops, spectrum, logit")


class _ThreadState:
    """Per-thread execution context, stream and buffers (TensorRT contexts are not shareable)."""

    def __init__(self, engine, cuda, max_batch: int, shapes: dict[str, tuple[int, ...]]):
        self.context = engine.create_execution_context()
        if self.context is None:
            raise ModelError("TensorRT could not create an execution context (out of GPU memory?)")
        self.stream = cuda.Stream()
        self.host: dict[str, np.ndarray] = {}
        self.device: dict[str, object] = {}
        for name, per_item in shapes.items():
            self.host[name] = cuda.pagelocked_empty((max_batch, *per_item), np.float32)
            self.device[name] = cuda.mem_alloc(self.host[name].nbytes)
            self.context.set_tensor_address(name, int(self.device[name]))


class TensorRTBackend(Backend):
    """Classifier running as a serialized TensorRT engine.

    Args:
        engine_path: the ``.engine`` file (its ``.json`` manifest must sit beside it).
        device: CUDA device ordinal.

    The ONNX named in the manifest, when it sits beside the engine, must still have the hash
    the engine was built from (a re-exported model makes the engine stale).
    """

    def __init__(self, engine_path: Path, device: int = 0) -> None:
        trt = import_tensorrt()
        cuda = import_pycuda()
        engine_path = Path(engine_path)
        source = engine_path.parent / read_manifest(engine_path).onnx_file
        expected = file_sha256(source) if source.is_file() else None
        self.manifest = check_engine(engine_path, current_machine(device), expected)
        self.contract = InputContract.from_metadata(self.manifest.contract)
        self.name = f"tensorrt-{self.manifest.precision}"
        self._cuda = cuda
        self._cu_context = cuda.Device(device).retain_primary_context()
        self._trt_logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._trt_logger)
        self._cu_context.push()
        try:
            self.engine = self._runtime.deserialize_cuda_engine(engine_path.read_bytes())
        finally:
            cuda.Context.pop()
        if self.engine is None:
            raise ModelError(f"TensorRT could not deserialize {engine_path} (see its log above)")
        self._inputs = self._check_io(trt)
        self.uses_spectrum = INPUT_SPECTRUM in self._inputs
        self.max_batch = min(
            int(self.engine.get_tensor_profile_shape(name, 0)[2][0]) for name in self._inputs
        )
        s, bins = self.contract.input_size, self.contract.spectrum_bins
        shapes = {INPUT_CROPS: (3, s, s), INPUT_SPECTRUM: (bins,), OUTPUT_LOGIT: (1,)}
        self._shapes = {name: shapes[name] for name in (*self._inputs, OUTPUT_LOGIT)}
        self._local = threading.local()
        self._states: list[_ThreadState] = []
        self._lock = threading.Lock()

    def _check_io(self, trt) -> tuple[str, ...]:
        names = {self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)}
        inputs = engine_inputs(names)
        for name in names:
            dtype = trt.nptype(self.engine.get_tensor_dtype(name))
            if dtype != np.float32:
                raise ModelError(f"engine tensor {name} is {dtype}, the engine feeds float32")
        if self.engine.get_tensor_mode(OUTPUT_LOGIT) != trt.TensorIOMode.OUTPUT:
            raise ModelError("engine tensor logit is not an output")
        return inputs

    def _state(self) -> _ThreadState:
        state = getattr(self._local, "state", None)
        if state is None:
            state = _ThreadState(self.engine, self._cuda, self.max_batch, self._shapes)
            self._local.state = state
            with self._lock:
                self._states.append(state)
        return state

    def _predict_logits(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        cuda = self._cuda
        out = np.empty((len(crops),), np.float32)
        self._cu_context.push()
        arrays = {INPUT_CROPS: crops, INPUT_SPECTRUM: spectrum}
        try:
            st = self._state()
            for start in range(0, len(crops), self.max_batch):
                stop = min(start + self.max_batch, len(crops))
                n = stop - start
                for name in self._inputs:
                    arr = arrays[name]
                    shape = (n, *self._shapes[name])
                    if not st.context.set_input_shape(name, shape):
                        raise ModelError(f"TensorRT rejected {name} shape {shape} (profile)")
                    st.host[name][:n] = arr[start:stop]
                    cuda.memcpy_htod_async(st.device[name], st.host[name][:n], st.stream)
                missing = st.context.infer_shapes()
                if missing:
                    raise ModelError(f"TensorRT could not infer shapes of {missing}")
                if not st.context.execute_async_v3(st.stream.handle):
                    raise ModelError("TensorRT execute_async_v3 failed (see its log above)")
                logit = st.host[OUTPUT_LOGIT]
                cuda.memcpy_dtoh_async(logit[:n], st.device[OUTPUT_LOGIT], st.stream)
                st.stream.synchronize()
                out[start:stop] = st.host[OUTPUT_LOGIT][:n, 0]
        finally:
            cuda.Context.pop()
        return out

    def close(self) -> None:
        """Free every thread's buffers and contexts, then the engine."""
        if not hasattr(self, "_states"):
            return
        self._cu_context.push()
        try:
            with self._lock:
                for st in self._states:
                    for buf in st.device.values():
                        buf.free()
                    del st.context
                self._states.clear()
            self.engine = None
        finally:
            self._cuda.Context.pop()
