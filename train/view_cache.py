"""Cached views: the frozen stem's output for a few augmented views of every image, on disk.

A frozen stem gives the same output for the same input, so running it once per (image, view)
instead of once per (image, epoch) removes most of a training step's cost on a CPU. Each
training image contributes ``views`` augmented views (augmentations of
:func:`train.dataset.augmented_crop`, Wang et al.'s blur + JPEG among them) and, for real faces
with landmarks, ``sbi_views`` self-blended pseudo-fakes; validation and test images contribute
one clean canonical crop (and, with ``mirror``, its mirror image too, for a model that averages
the two at inference: flip test-time augmentation). The spectrum of each view is computed from
its native-resolution crop, as at run time.

Layout of a cache folder (``np.lib.format`` files, memory-mapped when read):

- ``stem.npy``: float16 (M, C, H, W) stem outputs;
- ``spectrum.npy``: float32 (M, bins);
- ``meta.npz``: ``label`` (M,), ``sample`` (M,) index into the sample list, ``sbi`` (M,) bool;
- ``progress.json``: entries done so far and the cache key. A build that is interrupted resumes
  where it stopped (each view's randomness depends only on (seed, sample, view)).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from engine.features.spectral import radial_spectrum
from engine.preprocess import InputContract, prepare_crops
from train.augment import AugmentConfig
from train.data import Face, read_bgr
from train.dataset import augmented_crop
from train.degrade import DegradeConfig
from train.labelled import Sample
from train.sbi import SBIConfig, self_blend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ViewPlan:
    """Which views one cache holds.

    Attributes:
        views: augmented views per image (0 = one clean canonical crop per image).
        sbi_views: self-blended pseudo-fakes per real image with landmarks (training only).
        augment: augmentation settings (ignored when ``views`` is 0).
        sbi: self-blending settings.
        seed: base seed of every view's randomness.
        mirror: with ``views == 0``: a second entry per image, the clean crop mirrored
            (its spectrum is the unmirrored crop's, as the exported graph uses it).
        degrade: the label-blind degradation chain of augmented views (off when its ``p``
            is 0; ignored when ``views`` is 0).
    """

    views: int
    sbi_views: int
    augment: AugmentConfig
    sbi: SBIConfig
    seed: int = 0
    mirror: bool = False
    degrade: DegradeConfig = DegradeConfig()


@dataclass(frozen=True)
class ViewCache:
    """An opened cache: arrays of M entries (memory-mapped)."""

    stem: np.ndarray
    spectrum: np.ndarray
    label: np.ndarray
    sample: np.ndarray
    sbi: np.ndarray

    def __len__(self) -> int:
        return len(self.label)


@dataclass(frozen=True)
class _Entry:
    sample: int
    view: int
    sbi: bool


def _entries(samples: Sequence[Sample], faces: dict[str, Face], plan: ViewPlan) -> list[_Entry]:
    out = []
    per_image = plan.views if plan.views > 0 else (2 if plan.mirror else 1)
    for i, s in enumerate(samples):
        for v in range(per_image):
            out.append(_Entry(i, v, False))
        if s.label == 0 and faces[s.path].detected:
            out += [_Entry(i, 1000 + v, True) for v in range(plan.sbi_views)]
    return out


# Augmentations added after caches existed: (probability field, its range fields).
LATER_AUGMENTATIONS = (("p_gray",), ("p_fit",), ("p_soften_real", "soften_size"),
                       ("p_precrop", "precrop_side"),
                       ("p_sharpen_real", "sharpen_amount", "sharpen_sigma"))
# Likewise for the self-blending settings.
LATER_SBI = (("p_render", "render_side"),)


def cache_key(
    samples: Sequence[Sample],
    faces: dict[str, Face],
    contract: InputContract,
    plan: ViewPlan,
    stem_id: str,
) -> str:
    """Digest of everything a cache's content depends on."""
    h = hashlib.sha256()
    for s in samples:
        h.update(s.path.encode())
        h.update(np.asarray(faces[s.path].box, np.float32).tobytes())
    fields = asdict(plan)
    if not fields["mirror"]:
        del fields["mirror"]  # caches built before the field existed keep their keys
    # Likewise each augmentation added later, while it is off (with its range fields).
    for switch, *ranges in LATER_AUGMENTATIONS:
        if not fields["augment"].get(switch):
            for name in (switch, *ranges):
                del fields["augment"][name]
    if not fields["degrade"]["p"]:
        del fields["degrade"]
    for switch, *ranges in LATER_SBI:
        if not fields["sbi"].get(switch):
            for name in (switch, *ranges):
                del fields["sbi"][name]
    h.update(json.dumps([asdict(contract), fields, stem_id], sort_keys=True).encode())
    return h.hexdigest()[:20]


def _view(
    img: np.ndarray,
    face: Face,
    entry: _Entry,
    contract: InputContract,
    plan: ViewPlan,
    sample_label: int,
) -> tuple[np.ndarray, int]:
    rng = np.random.default_rng([plan.seed, entry.sample, entry.view])
    label = None
    if entry.sbi:
        img, _ = self_blend(img, face.landmarks, plan.sbi, rng)
        label = 1
    aug = plan.augment if plan.views > 0 else None
    view_label = sample_label if label is None else label
    degrade = plan.degrade if plan.views > 0 else None
    return augmented_crop(img, face, contract.margin, aug, rng, view_label, degrade), label


def build_cache(
    folder: str | Path,
    samples: Sequence[Sample],
    faces: dict[str, Face],
    contract: InputContract,
    plan: ViewPlan,
    stem: Callable[[np.ndarray], np.ndarray],
    stem_shape: tuple[int, int, int],
    stem_id: str,
    batch: int = 64,
) -> ViewCache:
    """Build (or resume, or reuse) the cache of ``samples`` in ``folder``.

    Args:
        folder: cache folder (created).
        samples: images of one split.
        faces: detections of every sample (:func:`train.data.detect_faces`).
        contract: crop size, margin, spectrum bins.
        plan: how many views of which kind.
        stem: NCHW float32 batch -> (N, C, H, W) stem outputs.
        stem_shape: (C, H, W) of one stem output.
        stem_id: identifies the stem's weights (a changed stem never reuses a cache).
        batch: views per stem call.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    key = cache_key(samples, faces, contract, plan, stem_id)
    entries = _entries(samples, faces, plan)
    m = len(entries)
    progress_file = folder / "progress.json"
    done = 0
    if progress_file.is_file():
        progress = json.loads(progress_file.read_text())
        if progress.get("key") == key and progress.get("entries") == m:
            done = int(progress["done"])
        stem_file = folder / "stem.npy"
        if done and (not stem_file.is_file()
                     or np.load(stem_file, mmap_mode="r").shape != (m, *stem_shape)):
            log.warning("view cache %s does not match its progress record: rebuilding", folder)
            done = 0
    mode = "r+" if done else "w+"
    stem_arr = np.lib.format.open_memmap(folder / "stem.npy", mode, np.float16, (m, *stem_shape))
    spec_arr = np.lib.format.open_memmap(
        folder / "spectrum.npy", mode, np.float32, (m, contract.spectrum_bins)
    )
    labels = np.array([1 if e.sbi else samples[e.sample].label for e in entries], np.int8)
    np.savez(folder / "meta.npz", label=labels,
             sample=np.array([e.sample for e in entries], np.int32),
             sbi=np.array([e.sbi for e in entries], bool))
    if done < m:
        log.info("view cache %s: %d of %d entries to build", folder, m - done, m)
    t0, last_log = time.perf_counter(), time.perf_counter()
    decoded: tuple[int, np.ndarray] | None = None
    for start in range(done, m, batch):
        chunk = entries[start : start + batch]
        crops, inputs = [], []
        for e in chunk:
            if decoded is None or decoded[0] != e.sample:
                decoded = (e.sample, read_bgr(samples[e.sample].path))
            s = samples[e.sample]
            crop, _ = _view(decoded[1], faces[s.path], e, contract, plan, s.label)
            crops.append(crop)
            mirrored = plan.views == 0 and e.view == 1
            inputs.append(np.ascontiguousarray(crop[:, ::-1]) if mirrored else crop)
        stem_arr[start : start + len(chunk)] = stem(prepare_crops(inputs, contract))
        spec_arr[start : start + len(chunk)] = radial_spectrum(crops, contract.spectrum_bins)
        end = start + len(chunk)
        if end % (batch * 16) < batch or end == m:
            stem_arr.flush()
            spec_arr.flush()
            progress_file.write_text(json.dumps({"key": key, "entries": m, "done": end}))
        if time.perf_counter() - last_log > 60:
            rate = (end - done) / (time.perf_counter() - t0)
            log.info("view cache %s: %d/%d (%.0f views/s)", folder.name, end, m, rate)
            last_log = time.perf_counter()
    stem_arr.flush()
    spec_arr.flush()
    progress_file.write_text(json.dumps({"key": key, "entries": m, "done": m}))
    del stem_arr, spec_arr
    return open_cache(folder)


def open_cache(folder: str | Path) -> ViewCache:
    """Open a finished cache read-only (memory-mapped)."""
    folder = Path(folder)
    meta = np.load(folder / "meta.npz")
    return ViewCache(
        np.load(folder / "stem.npy", mmap_mode="r"),
        np.load(folder / "spectrum.npy", mmap_mode="r"),
        meta["label"].astype(np.int64),
        meta["sample"].astype(np.int64),
        meta["sbi"],
    )
