"""Torch datasets over the canonical pipeline: augmented training items, cached eval arrays."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.features.spectral import radial_spectrum
from engine.preprocess import InputContract, prepare_crops
from train.augment import AugmentConfig, augment_crop, fit_square, image_fraction, precrop, rescale
from train.data import (
    Face,
    crop_square,
    face_crop,
    read_bgr,
    square_region,
)
from train.degrade import DegradeConfig, degrade
from train.labelled import Sample
from train.sbi import SBIConfig, self_blend


def sample_rng(seed: int, epoch: int, index: int) -> np.random.Generator:
    """The only randomness of one training item: depends on (seed, epoch, index) alone."""
    return np.random.default_rng([seed, epoch, index])


@dataclass(frozen=True)
class Item:
    """Position in the sample list and whether this item is a self-blended pseudo-fake."""

    sample: int
    sbi: bool


class TrainDataset(torch.utils.data.Dataset):
    """Training items: every sample, plus SBI pseudo-fakes from real faces with landmarks.

    Call :meth:`set_epoch` before each epoch: it redraws which reals are self-blended and
    changes every item's augmentation, reproducibly.
    """

    def __init__(
        self,
        samples: list[Sample],
        faces: dict[str, Face],
        contract: InputContract,
        augment: AugmentConfig | None,
        sbi: SBIConfig | None,
        seed: int,
        spectra: bool = True,
        chain: DegradeConfig | None = None,
    ) -> None:
        self.samples, self.faces, self.contract = samples, faces, contract
        self.augment, self.sbi, self.seed = augment, sbi, seed
        self.chain = chain
        # False for a model without the spectral branch: its spectrum input is unused, and the
        # FFT of each native-resolution crop would cost a few ms per view for nothing.
        self.spectra = spectra
        # Decoded once: workers fork after this, so they share the pixels copy-on-write.
        self.images = [read_bgr(s.path) for s in samples]
        self.blendable = [
            i for i, s in enumerate(samples) if s.label == 0 and faces[s.path].detected
        ]
        self.set_epoch(0)

    def set_epoch(self, epoch: int) -> None:
        """Redraw SBI items and augmentations for ``epoch``; every item is served once."""
        self.epoch = epoch
        self.draws: np.ndarray | None = None
        items = [Item(i, False) for i in range(len(self.samples))]
        if self.sbi is not None and self.sbi.fraction > 0 and self.blendable:
            rng = np.random.default_rng([self.seed, epoch, 7919])
            n = int(round(self.sbi.fraction * len(self.blendable)))
            chosen = rng.choice(self.blendable, size=n, replace=n > len(self.blendable))
            items += [Item(int(i), True) for i in chosen]
        self.items = items

    def set_draws(self, draws: np.ndarray) -> None:
        """Serve these item indices in this epoch instead (e.g. a source-balanced draw with
        repeats). Position ``j`` serves item ``draws[j]`` with its own augmentation (the rng is
        keyed by the position, so an item drawn twice gives two different views)."""
        self.draws = np.asarray(draws, np.int64)

    def __len__(self) -> int:
        return len(self.items) if self.draws is None else len(self.draws)

    def labels(self) -> np.ndarray:
        return np.array([1 if it.sbi else self.samples[it.sample].label for it in self.items])

    def __getitem__(self, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        item = self.items[k if self.draws is None else int(self.draws[k])]
        sample = self.samples[item.sample]
        face = self.faces[sample.path]
        rng = sample_rng(self.seed, self.epoch, k)
        img = self.images[item.sample]
        label = sample.label
        if item.sbi:
            img, _ = self_blend(img, face.landmarks, self.sbi, rng)
            label = 1
        crop = self._crop(img, face, rng, label)
        bins = self.contract.spectrum_bins
        spectrum = (radial_spectrum([crop], bins)[0] if self.spectra
                    else np.zeros(bins, np.float32))
        x = prepare_crops([crop], self.contract)[0]
        return torch.from_numpy(x), torch.from_numpy(spectrum), torch.tensor(float(label))

    def _crop(
        self, img: np.ndarray, face: Face, rng: np.random.Generator, label: int
    ) -> np.ndarray:
        return augmented_crop(img, face, self.contract.margin, self.augment, rng, label,
                              self.chain)


def augmented_crop(
    img: np.ndarray,
    face: Face,
    margin: float,
    aug: AugmentConfig | None,
    rng: np.random.Generator,
    label: int | None = None,
    chain: DegradeConfig | None = None,
) -> np.ndarray:
    """One training view of a face: rescale, box jitter, native crop, crop-level augmentations,
    then (``chain``, with its probability) the label-blind degradation chain.

    ``aug=None`` gives the clean canonical crop. ``label`` (1 fake, 0 real) is the view's label:
    the label-aware ``p_soften_real`` needs it. Shared by the on-the-fly dataset and the
    cached views of :mod:`train.view_cache`, so both train on the same distribution.
    """
    if aug is None:
        return face_crop(img, face.box, margin)
    box = np.asarray(face.box, np.float64)
    if rng.random() < aug.p_rescale:
        factor = rng.uniform(*aug.rescale)
        img = rescale(img, factor)
        box = box * factor
    cx, cy, side = square_region(tuple(box), margin)
    j = aug.box_jitter
    cx += rng.uniform(-j, j) * side
    cy += rng.uniform(-j, j) * side
    side *= 1.0 + rng.uniform(-j, j)
    # Drawn only when enabled, so configs without it keep every later draw (and their caches).
    if aug.p_precrop > 0 and rng.random() < aug.p_precrop:
        # Only faces with context to cut away: a pre-cropped source is streaked already.
        if image_fraction(cx, cy, side, img.shape) >= 0.5:
            cut = rng.uniform(*aug.precrop_side) * side / (1.0 + margin)
            # Such crops are not centred on the detector's box: shift the cut a little.
            dx, dy = rng.uniform(-0.08, 0.08, size=2) * cut
            img, cx, cy = precrop(img, cx, cy, cut, dx, dy)
    if aug.p_fit > 0 and rng.random() < aug.p_fit:
        cx, cy, side = fit_square(cx, cy, side, img.shape)
    crop = augment_crop(crop_square(img, cx, cy, side), aug, rng, label)
    # Drawn only when enabled, so configs without it keep every draw (and their caches).
    if chain is not None and chain.p > 0 and rng.random() < chain.p:
        crop = degrade(crop, chain, rng)
    return crop


def clean_spectra(
    samples: list[Sample], faces: dict[str, Face], contract: InputContract
) -> np.ndarray:
    """Radial spectra (N, bins) of the clean canonical crops: what :func:`eval_arrays` gives
    as its second array, without keeping N full-size crops in memory (12k training crops at
    224 px would be 7 GB)."""
    spec = np.empty((len(samples), contract.spectrum_bins), np.float32)
    for i, s in enumerate(samples):
        crop = face_crop(read_bgr(s.path), faces[s.path].box, contract.margin)
        spec[i] = radial_spectrum([crop], contract.spectrum_bins)[0]
    return spec


def eval_arrays(
    samples: list[Sample], faces: dict[str, Face], contract: InputContract, cache_dir: Path | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(crops NCHW float32, spectra (N, bins) float32, labels) through the clean pipeline.

    Cached in ``cache_dir`` keyed by the paths, boxes and contract (so a changed detection or
    contract never reuses stale arrays).
    """
    key = hashlib.sha1()
    for s in samples:
        key.update(s.path.encode())
        key.update(np.asarray(faces[s.path].box, np.float32).tobytes())
    key.update(repr((contract.input_size, contract.spectrum_bins, contract.margin,
                     contract.mean, contract.std)).encode())
    file = Path(cache_dir) / f"eval-{key.hexdigest()[:16]}.npz" if cache_dir else None
    if file and file.is_file():
        data = np.load(file)
        return data["x"], data["spectrum"], data["labels"]
    x = np.empty((len(samples), 3, contract.input_size, contract.input_size), np.float32)
    spec = np.empty((len(samples), contract.spectrum_bins), np.float32)
    for i, s in enumerate(samples):
        crop = face_crop(read_bgr(s.path), faces[s.path].box, contract.margin)
        x[i] = prepare_crops([crop], contract)[0]
        spec[i] = radial_spectrum([crop], contract.spectrum_bins)[0]
    labels = np.array([s.label for s in samples], np.int64)
    if file:
        file.parent.mkdir(parents=True, exist_ok=True)
        np.savez(file, x=x, spectrum=spec, labels=labels)
    return x, spec, labels
