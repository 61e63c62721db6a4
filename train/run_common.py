"""What both training loops share below the epoch runner: the run result, sample loading,
seeding, schedule, device.

:mod:`train.loop` (on-the-fly augmentation), :mod:`train.cached_loop` (cached frozen-stem
views) and their epoch runner :mod:`train.epochs` build on this; it imports none of them.
"""

from __future__ import annotations

import logging
import math
import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.errors import UsageError
from train.config import TrainConfig
from train.labelled import Sample
from train.splits import read_manifest


@dataclass(frozen=True)
class TrainResult:
    """What a finished run produced."""

    run_dir: Path
    best_checkpoint: Path
    best_epoch: int
    val: dict[str, float]
    test: dict[str, float]


def load_samples(cfg: TrainConfig) -> list[Sample]:
    """Train/val/test samples from the manifest or the registry's group split of ``data.root``.

    Held-out sources are dropped: they are for evaluation (``deepscreen evaluate``).
    """
    from train.sources import load_sources, trainable

    d = cfg.data
    if d.manifest:
        samples = read_manifest(d.manifest)
    else:
        names = list(d.sources) if d.sources else None
        samples = trainable(load_sources(d.root, names, d.val_fraction, d.test_fraction,
                                         d.split_seed))
        if d.video_sources:
            from train.video_frames import extract_frames

            frames = Path(d.cache_dir) / "frames"
            for videos in d.video_sources:
                extract_frames(videos, frames, d.frames_every)
            samples += trainable(load_sources(frames, [Path(v).name for v in d.video_sources],
                                              d.val_fraction, d.test_fraction, d.split_seed))
    if d.limit_per_class:
        kept, count = [], {}
        for s in samples:
            key = (s.split, s.label)
            limit = d.limit_per_class if s.split == "train" else max(1, d.limit_per_class // 2)
            if count.get(key, 0) < limit:
                kept.append(s)
                count[key] = count.get(key, 0) + 1
        samples = kept
    for split in ("train", "val"):
        labels = {s.label for s in samples if s.split == split}
        if labels != {0, 1}:
            raise UsageError(f"the {split} split needs real and fake images, has labels {labels}")
    return samples


def split_samples(cfg: TrainConfig) -> tuple[list[Sample], dict[str, list[Sample]]]:
    """:func:`load_samples`, and the same samples by split (train, val, test), logged."""
    samples = load_samples(cfg)
    by_split = {k: [s for s in samples if s.split == k] for k in ("train", "val", "test")}
    logging.getLogger(__name__).info("samples: %s", {k: len(v) for k, v in by_split.items()})
    return samples, by_split


def seed_everything(seed: int) -> None:
    import torch

    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def lr_at(step: int, total: int, warmup: int, base: float) -> float:
    if step < warmup:
        return base * (step + 1) / warmup
    t = (step - warmup) / max(1, total - warmup)
    return base * 0.5 * (1.0 + math.cos(math.pi * min(1.0, t)))


def device_of(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UsageError("device cuda requested but no CUDA GPU is available")
    return torch.device(name)
