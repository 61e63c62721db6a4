"""What the pipeline needs from its detector and its classifier, as typed protocols.

The pipeline depends on these shapes, not on MTCNN or ONNX Runtime: tests and the benchmark
can hand it any object that fits (a fake detector, a classifier with another backend).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from engine.preprocess import InputContract
from engine.timing import StageTimer
from engine.types import Detection


@runtime_checkable
class FaceDetector(Protocol):
    """Finds faces in one BGR frame."""

    def detect(self, image: np.ndarray) -> list[Detection]:
        """Faces in ``image`` (HxWx3 BGR uint8), in its pixel coordinates."""
        ...


@runtime_checkable
class FaceClassifier(Protocol):
    """Turns native-resolution face crops into fake probabilities (see
    :class:`engine.classifier.Classifier`)."""

    @property
    def contract(self) -> InputContract: ...

    @property
    def name(self) -> str: ...

    @property
    def spectral_name(self) -> str: ...

    def classify(
        self, crops: Sequence[np.ndarray], timer: StageTimer | None = None
    ) -> np.ndarray:
        """(N,) float64 p_fake for N BGR crops."""
        ...
