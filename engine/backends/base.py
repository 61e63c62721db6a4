"""The one interface every classifier backend implements.

A backend takes the two prepared inputs of the classifier (see :mod:`engine.preprocess`) and
returns the probability that each face is fake. Everything that differs between ONNX Runtime,
TensorRT, PyTorch and a remote inference server stays behind :meth:`Backend.predict`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

from engine.errors import InputError, ModelError
from engine.preprocess import InputContract

# Graph interface shared by every classifier artefact (ONNX, TensorRT plan, Triton model).
INPUT_CROPS = "crops"
INPUT_SPECTRUM = "spectrum"
OUTPUT_LOGIT = "logit"


def sigmoid(logits: np.ndarray) -> np.ndarray:
    """Numerically stable logistic function in float32 (no overflow warning for |x| > 88)."""
    x = np.asarray(logits, dtype=np.float32)
    out = np.empty_like(x)
    pos = x >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-x[pos]))
    ex = np.exp(x[~pos])
    out[~pos] = ex / (1.0 + ex)
    return out


class Backend(ABC):
    """A loaded classifier that turns prepared inputs into p_fake.

    Attributes:
        name: short label shown to users ("ort-cpu", "tensorrt", "torch-cpu", "remote", ...).
        contract: how the inputs must be prepared (crop size, spectrum bins, threshold).
        uses_spectrum: False when the network's output does not depend on its ``spectrum``
            input (a model without the spectral branch); the classifier then feeds zeros
            instead of computing the spectrum. True unless a backend has checked.
    """

    name: str
    contract: InputContract
    uses_spectrum: bool = True

    @abstractmethod
    def _predict_logits(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        """Run the model on validated inputs; returns (N,) or (N, 1) logits."""

    def predict(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        """Probability that each face is fake.

        Args:
            crops: (N, 3, S, S) float32, from :func:`engine.preprocess.prepare_crops`.
            spectrum: (N, bins) float32, from :func:`engine.features.spectral.radial_spectrum`.

        Returns:
            (N,) float32 p_fake in [0, 1].

        Raises:
            InputError: the arrays do not match the model's input contract.
        """
        crops, spectrum = self.check_inputs(crops, spectrum)
        if crops.shape[0] == 0:
            return np.zeros((0,), dtype=np.float32)
        logits = np.asarray(self._predict_logits(crops, spectrum), dtype=np.float32).reshape(-1)
        if logits.shape[0] != crops.shape[0]:
            raise ModelError(
                f"{self.name}: the model returned {logits.shape[0]} logits for "
                f"{crops.shape[0]} faces"
            )
        bad = ~np.isfinite(logits)
        if bad.any():
            # Fail closed: sigmoid(NaN) would be NaN, compared with the threshold it reads as
            # "real", and -inf would be written as p_fake 0. A broken model is an error.
            raise ModelError(
                f"{self.name}: the model returned non-finite scores (NaN/inf) for "
                f"{int(bad.sum())} of {len(logits)} faces; refusing to call them real or fake"
            )
        return sigmoid(logits)

    def check_inputs(
        self, crops: np.ndarray, spectrum: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Validate shapes against the contract; returns C-contiguous float32 copies if needed."""
        crops = np.ascontiguousarray(crops, dtype=np.float32)
        spectrum = np.ascontiguousarray(spectrum, dtype=np.float32)
        s = self.contract.input_size
        bins = self.contract.spectrum_bins
        if crops.ndim != 4 or crops.shape[1:] != (3, s, s):
            raise InputError(
                f"{self.name}: crops must be (N, 3, {s}, {s}) float32, got {tuple(crops.shape)}"
            )
        if spectrum.ndim != 2 or spectrum.shape[1] != bins:
            raise InputError(
                f"{self.name}: spectrum must be (N, {bins}) float32, got {tuple(spectrum.shape)}"
            )
        if crops.shape[0] != spectrum.shape[0]:
            raise InputError(
                f"{self.name}: {crops.shape[0]} crops but {spectrum.shape[0]} spectra"
            )
        return crops, spectrum

    def close(self) -> None:  # noqa: B027 - optional hook, most backends hold nothing
        """Release device memory or connections (no-op by default)."""

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} size={self.contract.input_size}>"
