"""What both training loops share: the run result, sample loading, seeding, schedule, device.

:mod:`train.loop` (on-the-fly augmentation) and :mod:`train.cached_loop` (cached frozen-stem
views) both build on this; it imports neither, so they never import each other.
"""

from __future__ import annotations

import csv
import logging
import math
import random
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from engine.errors import UsageError
from train.checkpoint import save_checkpoint
from train.config import TrainConfig
from train.data import Sample, read_manifest


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
    from train.registry import load_sources, trainable

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


def weight_average(model, decay: float, resumed_state: dict | None):
    """The run's :class:`train.weight_average.WeightAverage` (None when ``decay`` is 0).

    ``resumed_state`` is the ``train_state`` of the ``last.pt`` being resumed, if any.
    """
    if decay <= 0:
        return None
    from train.weight_average import WeightAverage

    averaged = WeightAverage(model, decay)
    if resumed_state is not None:
        if "weight_average" not in resumed_state:
            raise UsageError("optim.ema_decay is set but the run being resumed did not average "
                             "its weights: resume with the same config")
        averaged.load_state_dict(resumed_state["weight_average"])
    return averaged


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


def close_epoch(
    run: Path,
    model,
    model_name: str,
    model_cfg: dict,
    contract,
    optimizer,
    row: list,
    val_metrics,
    threshold: float,
    progress: tuple[float, int, int],
    averaged=None,
) -> tuple[float, int, int]:
    """End-of-epoch bookkeeping shared by both loops: log row, best and resumable checkpoints.

    Args:
        row: (epoch, loss, auc, ap, eer, accuracy, threshold, lr, seconds) for ``log.csv``.
        val_metrics: the epoch's validation :class:`train.metrics.BinaryMetrics`.
        progress: (best AUC, best epoch, epochs without improvement) before this epoch.
        averaged: a :class:`train.weight_average.WeightAverage` when the run averages its
            weights: the validation scored its weights, so ``best.pt`` holds them, and
            ``last.pt`` holds the trained weights plus the average's state (to resume both).

    Returns:
        The updated progress.
    """
    epoch = int(row[0])
    with (run / "log.csv").open("a", newline="") as fh:
        csv.writer(fh).writerow([f"{v:.6g}" if isinstance(v, float) else v for v in row])
    logging.getLogger("train").info("epoch %d loss %.4f val AUC %.4f EER %.4f (%.0fs)", epoch,
                                    row[1], val_metrics.auc, val_metrics.eer, row[-1])
    contract = replace(contract, threshold=float(threshold))
    metrics = {f"val_{k}": v for k, v in val_metrics.as_dict().items()}
    best_auc, best_epoch, bad = progress
    if val_metrics.auc > best_auc:
        best_auc, best_epoch, bad = val_metrics.auc, epoch, 0
        scored = averaged.model if averaged is not None else model
        save_checkpoint(run / "best.pt", scored, model_name, model_cfg, contract, metrics, epoch)
    else:
        bad += 1
    state = {"optimizer": optimizer.state_dict(), "best_auc": best_auc,
             "best_epoch": best_epoch, "bad_epochs": bad}
    if averaged is not None:
        state["weight_average"] = averaged.state_dict()
    save_checkpoint(run / "last.pt", model, model_name, model_cfg, contract, metrics, epoch,
                    train_state=state)
    return best_auc, best_epoch, bad
