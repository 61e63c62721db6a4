"""What the runtime must know about a classifier beyond its input contract.

Two facts change what the engine computes around the network:

- ``uses_spectrum``: whether the ``spectrum`` input reaches ``logit``. A model trained without
  the spectral branch keeps the input (one interface for every artefact) but ignores it; the
  engine then feeds zeros instead of computing an FFT per face (bit-identical scores).
- ``flip_in_graph``: whether the graph already averages each crop with its mirror image (test-
  time augmentation inside the export). Throughput work needs to know it before adding or
  skipping a mirror pass of its own.

Export writes both into the ONNX ``metadata_props`` under the keys below (the one place that
names them); the runtime reads them through ONNX Runtime's ``custom_metadata_map``, so it needs
nothing beyond ONNX Runtime. A model written before the keys existed is probed at load, with
ONNX Runtime alone: zeros against random spectra for the first, a random batch against its
mirror image for the second.

One more fact changes what the engine *decides*: ``min_face_px``, the smallest face side
(native pixels) on which the model was validated. Smaller faces are classified and reported but
do not vote (:mod:`engine.judge.face_floor`). It cannot be probed: a model without the key gets
the documented default there.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from engine.preprocess import META_PREFIX, InputContract

KEY_USES_SPECTRUM = META_PREFIX + "uses_spectrum"
KEY_FLIP_IN_GRAPH = META_PREFIX + "flip_in_graph"
# Written by export/single_pass.py on a graph without the flip: the band of p_fake around the
# threshold inside which the runtime scores the mirror image too (engine/classifier.py).
KEY_MIRROR_BAND = META_PREFIX + "mirror_band"
# Also written there: the sha256 (hex) of the flip graph the twin was cut from. The runtime
# runs a shipped twin in place of the shipped flip graph only while the two still match
# (engine/backends/factory.py), so a re-exported classifier never runs with a stale twin.
KEY_TWIN_OF = META_PREFIX + "twin_of"
# The vote floor, measured per model (`deepscreen evaluate --quality-bins --bin-sides`): faces
# with a smaller side (native pixels) get no vote (engine/judge/face_floor.py).
KEY_MIN_FACE_PX = META_PREFIX + "min_face_px"

# A mirror-averaging graph is symmetric up to float summation order (measured on the shipped
# model: ~1e-6); a network without the flip differs from its mirror by orders of magnitude more.
_FLIP_RTOL = 1e-4
_FLIP_ATOL = 1e-4

LogitFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ModelTraits:
    """Facts about a classifier graph that the runtime acts on.

    Attributes:
        uses_spectrum: the ``spectrum`` input reaches ``logit``.
        flip_in_graph: the graph scores each crop with its mirror image and averages them.
        source: "metadata" when both were read from the file, "probe" when at least one was
            measured at load (a model exported before the keys existed).
        mirror_band: for a graph without the flip, the band of p_fake around the threshold in
            which the runtime adds the mirror pass (0 = never; 1 = always).
        min_face_px: the smallest face side (native pixels) whose crops vote, from the file;
            None when the file does not say (the runtime then uses its default).
        twin_of: for a single-pass twin, the sha256 of the flip graph it was cut from.
    """

    uses_spectrum: bool
    flip_in_graph: bool
    source: str = "metadata"
    mirror_band: float = 0.0
    min_face_px: float | None = None
    twin_of: str | None = None

    def to_metadata(self) -> dict[str, str]:
        """Key/value strings for ONNX ``metadata_props`` (``source`` is not stored)."""
        return {
            KEY_USES_SPECTRUM: json.dumps(self.uses_spectrum),
            KEY_FLIP_IN_GRAPH: json.dumps(self.flip_in_graph),
        }


def _read_bool(meta: Mapping[str, str], key: str) -> bool | None:
    raw = meta.get(key)
    if raw is None:
        return None
    value = json.loads(raw)
    if not isinstance(value, bool):
        raise ValueError(f"metadata {key}={raw!r} is not true/false")
    return value


def read_min_face(meta: Mapping[str, str]) -> float | None:
    """The model's vote floor from its metadata (None when the key is absent).

    Raises:
        ValueError: the key is present but is not a number >= 0.
    """
    raw = meta.get(KEY_MIN_FACE_PX)
    if raw is None:
        return None
    value = json.loads(raw)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e5:
        raise ValueError(f"metadata {KEY_MIN_FACE_PX}={raw!r} is not a face side in pixels")
    return float(value)


def _probe_batch(contract: InputContract, n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    # Fixed seed: a load-time probe must give the same answer every time.
    rng = np.random.default_rng(20261207)
    s, bins = contract.input_size, contract.spectrum_bins
    crops = rng.uniform(-1.0, 1.0, (n, 3, s, s)).astype(np.float32)
    spectrum = rng.uniform(0.5, 1.5, (n, bins)).astype(np.float32)
    return crops, spectrum


def probe_uses_spectrum(logits: LogitFn, contract: InputContract) -> bool:
    """Whether changing the ``spectrum`` input changes the logits (two random spectra and zeros).

    Args:
        logits: runs the model on (crops, spectrum) and returns its raw logits.
        contract: the model's input contract (shapes of the probe batch).
    """
    crops, spectrum = _probe_batch(contract)
    base = np.asarray(logits(crops, np.zeros_like(spectrum))).reshape(-1)
    for spec in (spectrum, spectrum[::-1].copy() * 2.0):
        if not np.array_equal(base, np.asarray(logits(crops, spec)).reshape(-1), equal_nan=True):
            return True
    return False


def probe_flip_in_graph(logits: LogitFn, contract: InputContract) -> bool:
    """Whether the logits of a random batch equal those of its mirror image (to float error)."""
    crops, spectrum = _probe_batch(contract)
    plain = np.asarray(logits(crops, spectrum), dtype=np.float64).reshape(-1)
    mirrored = np.asarray(logits(np.ascontiguousarray(crops[..., ::-1]), spectrum),
                          dtype=np.float64).reshape(-1)
    if not (np.isfinite(plain).all() and np.isfinite(mirrored).all()):
        return False
    return bool(np.allclose(plain, mirrored, rtol=_FLIP_RTOL, atol=_FLIP_ATOL))


def resolve_traits(
    meta: Mapping[str, str], logits: LogitFn, contract: InputContract
) -> ModelTraits:
    """The traits stored in ``meta``, probing through ``logits`` for any key that is missing.

    Raises:
        ValueError: a key is present but does not hold a value of its kind.
    """
    uses = _read_bool(meta, KEY_USES_SPECTRUM)
    flip = _read_bool(meta, KEY_FLIP_IN_GRAPH)
    source = "metadata" if uses is not None and flip is not None else "probe"
    if uses is None:
        uses = probe_uses_spectrum(logits, contract)
    if flip is None:
        flip = probe_flip_in_graph(logits, contract)
    band = 0.0
    if not flip and meta.get(KEY_MIRROR_BAND) is not None:
        band = json.loads(meta[KEY_MIRROR_BAND])
        if not isinstance(band, (int, float)) or isinstance(band, bool) or not 0 <= band <= 1:
            raise ValueError(f"metadata {KEY_MIRROR_BAND}={meta[KEY_MIRROR_BAND]!r} is not a "
                             "number in [0, 1]")
    return ModelTraits(uses_spectrum=uses, flip_in_graph=flip, source=source,
                       mirror_band=float(band), min_face_px=read_min_face(meta),
                       twin_of=meta.get(KEY_TWIN_OF))
