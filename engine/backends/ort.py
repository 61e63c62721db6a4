"""ONNX Runtime backend: CPU everywhere, CUDA and TensorRT execution providers with onnxruntime-gpu.

ONNX Runtime silently falls back to the CPU when a GPU provider cannot load (missing CUDA or
cuDNN libraries, no driver). We therefore compare ``session.get_providers()`` with what was
asked for and refuse a session that did not get it, instead of running 50x slower unnoticed.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from engine.backends.base import INPUT_CROPS, INPUT_SPECTRUM, OUTPUT_LOGIT, Backend
from engine.backends.model_traits import ModelTraits, resolve_traits
from engine.errors import BackendUnavailable, ModelError
from engine.preprocess import InputContract

log = logging.getLogger(__name__)

PROVIDERS: dict[str, str] = {
    "cpu": "CPUExecutionProvider",
    "cuda": "CUDAExecutionProvider",
    "tensorrt": "TensorrtExecutionProvider",
}


def available_devices() -> list[str]:
    """Devices ("cpu", "cuda", "tensorrt") whose providers this ONNX Runtime build contains.

    A provider being compiled in does not prove it loads (that needs the CUDA libraries and a
    driver); :class:`OrtBackend` checks that when it opens a session.
    """
    import onnxruntime as ort

    have = set(ort.get_available_providers())
    return [dev for dev, prov in PROVIDERS.items() if prov in have]


def session_options(threads: int = 0):
    """Session options used for every ORT session of the engine.

    Spinning threads are disabled: on a few-core edge box the spin-waits steal the cores that
    decoding, detection and the FFT need (about 3x slower pipelines when left on).
    """
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    so.add_session_config_entry("session.inter_op.allow_spinning", "0")
    so.intra_op_num_threads = threads
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.log_severity_level = 3
    return so


def _provider_list(device: str, cache_dir: Path | None) -> list:
    if device == "cpu":
        return ["CPUExecutionProvider"]
    if device == "cuda":
        return [("CUDAExecutionProvider", {"device_id": 0}), "CPUExecutionProvider"]
    if device == "tensorrt":
        # The TensorRT EP builds an engine on first use; caching it (and its timing cache)
        # makes the second start take seconds instead of minutes. Precision comes from the
        # ONNX itself (FP16 weights, Q/DQ nodes), as TensorRT 10+ strongly typed networks want.
        opts: dict[str, object] = {"device_id": 0}
        if cache_dir is not None:
            cache_dir.mkdir(parents=True, exist_ok=True)
            opts.update(
                trt_engine_cache_enable=True,
                trt_engine_cache_path=str(cache_dir),
                trt_timing_cache_enable=True,
                trt_timing_cache_path=str(cache_dir),
            )
        return [
            ("TensorrtExecutionProvider", opts),
            ("CUDAExecutionProvider", {"device_id": 0}),
            "CPUExecutionProvider",
        ]
    raise BackendUnavailable(
        f"unknown ONNX Runtime device {device!r}; use one of {list(PROVIDERS)}"
    )


def _dims_match(got: list, want: list[int]) -> bool:
    """Whether ONNX Runtime's declared dims (ints, or str/None when symbolic) can be ``want``."""
    if len(got) != len(want):
        return False
    return all(not isinstance(g, int) or g == w for g, w in zip(got, want, strict=True))


class OrtBackend(Backend):
    """Classifier running in an ONNX Runtime session.

    Args:
        model: path to the classifier ONNX (FP32, FP16 or Q/DQ INT8).
        device: "cpu", "cuda" or "tensorrt" (the ORT execution provider to require).
        threads: intra-op threads; 0 lets ONNX Runtime choose.
        cache_dir: where the TensorRT EP keeps built engines (device="tensorrt" only).
    """

    def __init__(
        self,
        model: Path,
        device: str = "cpu",
        threads: int = 0,
        cache_dir: Path | None = None,
    ) -> None:
        import onnxruntime as ort

        model = Path(model)
        if not model.is_file():
            raise ModelError(f"classifier model not found: {model}")
        if device not in PROVIDERS:
            raise BackendUnavailable(
                f"unknown ONNX Runtime device {device!r}; use one of {list(PROVIDERS)}"
            )
        wanted = PROVIDERS[device]
        if wanted not in ort.get_available_providers():
            raise BackendUnavailable(
                f"ONNX Runtime {ort.__version__} has no {wanted} (available: "
                f"{', '.join(ort.get_available_providers())}); install onnxruntime-gpu "
                "instead of onnxruntime for CUDA/TensorRT"
            )
        if cache_dir is None and device == "tensorrt":
            cache_dir = model.parent / ".ort_trt_cache"
        try:
            self.session = ort.InferenceSession(
                os.fspath(model),
                sess_options=session_options(threads),
                providers=_provider_list(device, cache_dir),
            )
        except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types
            raise ModelError(f"ONNX Runtime cannot load {model}: {exc}".splitlines()[0]) from exc
        loaded = self.session.get_providers()
        if loaded[0] != wanted:
            raise BackendUnavailable(
                f"ONNX Runtime could not load {wanted} (the session fell back to "
                f"{', '.join(loaded)}); check the CUDA/cuDNN/TensorRT libraries and the driver "
                "(`deepscreen doctor`)"
            )
        self.providers = loaded
        self.device = device
        self.model_path = model
        self.name = f"ort-{device}"
        meta = self.session.get_modelmeta().custom_metadata_map
        try:
            self.contract = InputContract.from_metadata(meta)
        except (ValueError, TypeError) as exc:
            raise ModelError(f"{model}: unreadable deepscreen metadata ({exc})") from exc
        self._check_graph()
        try:
            self.traits: ModelTraits = resolve_traits(meta, self._run_logits, self.contract)
        except ValueError as exc:
            raise ModelError(f"{model}: {exc}") from exc
        except Exception as exc:  # ORT's own error types: the graph cannot run the contract
            raise ModelError(
                f"{model} does not run on its own input contract "
                f"({self.contract.input_size} px, {self.contract.spectrum_bins} bins): "
                + str(exc).splitlines()[0]
            ) from exc
        self.uses_spectrum = self.traits.uses_spectrum

    def _check_graph(self) -> None:
        names = {i.name for i in self.session.get_inputs()}
        outs = [o.name for o in self.session.get_outputs()]
        if names != {INPUT_CROPS, INPUT_SPECTRUM} or OUTPUT_LOGIT not in outs:
            raise ModelError(
                f"{self.model_path} is not a deepscreen classifier: inputs {sorted(names)}, "
                f"outputs {outs} (expected inputs crops, spectrum and output logit)"
            )
        for inp in self.session.get_inputs():
            if inp.type != "tensor(float)":
                raise ModelError(
                    f"{self.model_path}: input {inp.name} is {inp.type}; the engine feeds "
                    "float32 (FP16 models must keep float32 inputs and outputs)"
                )
        s, bins = self.contract.input_size, self.contract.spectrum_bins
        expected = {INPUT_CROPS: [3, s, s], INPUT_SPECTRUM: [bins]}
        for inp in self.session.get_inputs():
            if not _dims_match(inp.shape[1:], expected[inp.name]):
                raise ModelError(
                    f"{self.model_path}: input {inp.name} has shape {inp.shape}, but its "
                    f"metadata promises (N, {', '.join(map(str, expected[inp.name]))})"
                )
        out = next(o for o in self.session.get_outputs() if o.name == OUTPUT_LOGIT)
        if out.type != "tensor(float)" or not _dims_match(out.shape[1:], [1][: len(out.shape) - 1]):
            raise ModelError(
                f"{self.model_path}: output logit is {out.type} {out.shape}; the engine "
                "expects one float32 logit per face, (N,) or (N, 1)"
            )

    def _run_logits(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        (logit,) = self.session.run([OUTPUT_LOGIT], {INPUT_CROPS: crops, INPUT_SPECTRUM: spectrum})
        return logit

    def _predict_logits(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        return self._run_logits(crops, spectrum)
