"""The face classifier as the pipeline sees it: one object, assembled once.

A :class:`Classifier` owns the three things that turn native-resolution face crops into fake
probabilities and that must agree with each other: the backend (ONNX Runtime, TensorRT, a
remote server, a plugin), the spectral feature (CUDA extension or CPU, with the model's number
of bins) and the crop preparation of the model's input contract (resize, RGB, normalise).
Everything that classifies faces (the streaming pipeline, the benchmark, the scripts) calls
:meth:`Classifier.classify`, so none of them can pair a backend with the wrong feature.

The mirror pass: a model trained with flip test-time augmentation averages the logits of each
crop and its mirror image. Exported as one graph the mirror doubles every classification; the
single-pass twin (export/single_pass.py, ``flip_in_graph`` false) leaves it to this class,
which runs it only for the crops whose p_fake lies within the model's ``mirror_band`` of the
threshold, where it can change a decision, and averages the logits exactly as the graph did.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext

import numpy as np

from engine.backends.base import Backend
from engine.errors import UsageError
from engine.preprocess import InputContract, prepare_crops
from engine.timing import StageTimer


def mirror_near_threshold(
    predict: Callable[[np.ndarray, np.ndarray], np.ndarray], p: np.ndarray,
    pixels: np.ndarray, spectrum: np.ndarray, threshold: float, band: float,
) -> tuple[np.ndarray, int]:
    """Average in the mirror pass for the crops whose single-pass p_fake is within ``band``.

    Args:
        predict: the single-pass network (prepared pixels, spectrum -> p_fake).
        p: (N,) its p_fake for ``pixels``.
        pixels: (N, 3, S, S) prepared crops; spectrum: (N, bins) their spectra.
        threshold: the model's threshold; band: the half-width around it.

    Returns:
        (p_fake with the mirror averaged in where it was run, how many crops were mirrored).
        The logits are averaged, as the flip graph averages them.
    """
    near = np.flatnonzero(np.abs(p - threshold) < band)
    if near.size == 0:
        return p, 0
    # The radial spectrum of a mirror image is the crop's own: only the pixels flip.
    mirror = np.ascontiguousarray(pixels[near][..., ::-1])
    pm = np.asarray(predict(mirror, spectrum[near]), dtype=np.float64).reshape(-1)
    out = np.array(p, dtype=np.float64, copy=True)
    out[near] = mean_logit_probability(out[near], pm)
    return out, int(near.size)


def mean_logit_probability(p: np.ndarray, pm: np.ndarray) -> np.ndarray:
    """The probability of the mean of two logits given as probabilities: how the flip graph
    combines a crop's score ``p`` with its mirror image's ``pm``."""
    eps = 1e-7
    q = np.clip(np.asarray(p, np.float64), eps, 1 - eps)
    qm = np.clip(np.asarray(pm, np.float64), eps, 1 - eps)
    logit = (np.log(q) - np.log1p(-q) + np.log(qm) - np.log1p(-qm)) / 2
    return 1.0 / (1.0 + np.exp(-logit))


class Classifier:
    """Backend + spectral feature + crop preparation behind one call.

    Args:
        backend: a loaded backend (``predict(pixels, spectrum)``, ``contract``, ``name``).
        feature: the spectral feature callable (``crops -> (N, bins)``, ``backend_name``).

    Raises:
        UsageError: the feature's number of bins differs from the model's contract.
    """

    def __init__(self, backend: Backend, feature) -> None:
        bins = getattr(feature, "bins", None)
        if bins is not None and bins != backend.contract.spectrum_bins:
            raise UsageError(
                f"spectral feature has {bins} bins, the model expects "
                f"{backend.contract.spectrum_bins}"
            )
        self.backend = backend
        self.feature = feature
        traits = getattr(backend, "traits", None)
        # The band where the mirror pass can change a decision (0 = never, the graph has it).
        self.mirror_band = float(getattr(traits, "mirror_band", 0.0)) \
            if traits is not None and not traits.flip_in_graph else 0.0
        self.mirrored = 0  # crops scored with their mirror image by this class

    @property
    def contract(self) -> InputContract:
        """The model's input contract (crop size, bins, threshold, margin)."""
        return self.backend.contract

    @property
    def traits(self):
        """The backend's :class:`~engine.backends.model_traits.ModelTraits` (None when it has
        none: a remote server, a TensorRT engine)."""
        return getattr(self.backend, "traits", None)

    @property
    def name(self) -> str:
        """The backend that runs the network (e.g. ``ort-cpu``)."""
        return getattr(self.backend, "name", "")

    @property
    def uses_spectrum(self) -> bool:
        """Whether the network reads the spectrum (False: it is not computed)."""
        return bool(getattr(self.backend, "uses_spectrum", True))

    @property
    def spectral_name(self) -> str:
        """The spectral backend actually used (``cuda`` or ``cpu``; ``none``: not computed)."""
        if not self.uses_spectrum:
            return "none"
        return getattr(self.feature, "backend_name", "")

    def classify(
        self, crops: Sequence[np.ndarray], timer: StageTimer | None = None
    ) -> np.ndarray:
        """Fake probabilities of a batch of native-resolution BGR face crops.

        Args:
            crops: square crops of any size (the spectrum needs the face's own pixels).
            timer: stage clock to record ``spectral``, ``preprocess`` and ``classify`` into.

        Returns:
            (N,) float64 p_fake in [0, 1].
        """
        def stage(name: str):
            return timer.time(name) if timer is not None else nullcontext()

        with stage("spectral"):
            if self.uses_spectrum:
                spectrum = np.asarray(self.feature(crops), dtype=np.float32)
            else:  # the network ignores it: zeros give the same logits without an FFT per face
                spectrum = np.zeros((len(crops), self.contract.spectrum_bins), np.float32)
        with stage("preprocess"):
            pixels = prepare_crops(crops, self.contract)
        with stage("classify"):
            p = np.asarray(self.backend.predict(pixels, spectrum), dtype=np.float64)
            if self.mirror_band > 0:
                p, n = mirror_near_threshold(self.backend.predict, p, pixels, spectrum,
                                             self.contract.threshold, self.mirror_band)
                self.mirrored += n
            return p

    def close(self) -> None:
        """Release the backend's resources (sessions, engines, connections)."""
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()

    def __repr__(self) -> str:
        return f"Classifier({self.name!r}, spectral={self.spectral_name!r})"
