"""The epoch runner both training loops share: resume, schedule, early stop, validation,
``log.csv``, ``best.pt``/``last.pt``, weight averaging and ``result.json``.

:mod:`train.loop` (on-the-fly augmentation) and :mod:`train.cached_loop` (cached frozen-stem
views) differ only in how an epoch's steps are fed and how a model is scored; each hands those
to :class:`Epochs` as callables, so the two keep one contract: seeded, resumable from
``last.pt`` to exactly the weights of an uninterrupted run, best checkpoint by validation AUC.
"""

from __future__ import annotations

import csv
import json
import logging
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from engine.errors import UsageError
from train.checkpoint import load_checkpoint, save_checkpoint
from train.config import TrainConfig, config_to_dict
from train.metrics import binary_metrics, eer_threshold
from train.run_common import TrainResult, device_of, lr_at, seed_everything

log = logging.getLogger(__name__)

LOG_COLUMNS = ["epoch", "train_loss", "val_auc", "val_ap", "val_eer", "val_acc", "threshold",
               "lr", "seconds"]

# (mean training loss, learning rate of the epoch's last step) for one epoch.
TrainEpoch = Callable[[int], tuple[float, float]]
# (labels, p_fake) of the validation split under the model being scored.
Validate = Callable[[Any], tuple[np.ndarray, np.ndarray]]
# (test metrics, extra result.json keys) of the best model at its validation threshold.
ScoreTest = Callable[[Any, float], tuple[dict, dict]]


def start_run(cfg: TrainConfig):
    """Create the run folder with its ``config.json``, seed every stream; returns (run, device)."""
    import torch

    run = Path(cfg.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps(config_to_dict(cfg), indent=2))
    torch.set_num_threads(cfg.optim.threads)
    seed_everything(cfg.seed)
    return run, device_of(cfg.optim.device)


def build_model(cfg: TrainConfig, frozen_stem: bool = False):
    """The configured model, its pretrained trunk loaded; returns (model, model config).

    With ``frozen_stem`` a model that cannot train on cached stem outputs is refused before
    anything is loaded.
    """
    from train.models import config_to_dict as model_cfg_dict
    from train.models import create_model, model_config

    mcfg = model_config(cfg.model, {**cfg.model_config,
                                    "spectrum_bins": cfg.contract.spectrum_bins})
    model = create_model(cfg.model, model_cfg_dict(mcfg))
    if frozen_stem and not hasattr(model, "forward_cached"):
        raise ValueError(f"model {cfg.model} has no frozen stem: set cache.views to 0")
    if getattr(mcfg, "pretrained", None):
        n = model.load_backbone(mcfg.pretrained)
        log.info("initialised %d trunk tensors from %s", n, mcfg.pretrained)
    return model, mcfg


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


class Epochs:
    """The epochs of one run, resumed from ``last.pt`` when asked.

    Args:
        cfg: the run's configuration.
        run: the run folder.
        model: the model being trained (on its device), its ``model_cfg`` the checkpoint's dict.
        optimizer: its optimizer; each group's ``scale`` multiplies the scheduled rate.
        steps_per_epoch: optimizer steps per epoch (for the warm-up and cosine schedule).
        resume: continue after the last finished epoch in ``last.pt``.
        missing_ok: with ``resume``, start over when there is no ``last.pt`` instead of failing.
    """

    def __init__(self, cfg: TrainConfig, run: Path, model, model_cfg: dict, optimizer,
                 steps_per_epoch: int, resume: bool, missing_ok: bool = False) -> None:
        self.cfg, self.run, self.model, self.model_cfg = cfg, run, model, model_cfg
        self.optimizer = optimizer
        self.steps_per_epoch = steps_per_epoch
        self.total_steps = steps_per_epoch * cfg.optim.epochs
        self.warmup = int(cfg.optim.warmup_epochs * steps_per_epoch)
        # (best AUC, best epoch, epochs without improvement)
        self.progress: tuple[float, int, int] = (-1.0, -1, 0)
        self.start = 0
        state = None
        last = run / "last.pt"
        if resume and (last.is_file() or not missing_ok):
            ckpt = load_checkpoint(last)
            model.load_state_dict(ckpt["state_dict"])
            state = ckpt["train_state"]
            optimizer.load_state_dict(state["optimizer"])
            self.start = int(ckpt["epoch"]) + 1
            self.progress = (float(state["best_auc"]), int(state["best_epoch"]),
                             int(state["bad_epochs"]))
            log.info("resuming after epoch %d (best AUC %.4f)", self.start - 1, self.progress[0])
        self.averaged = weight_average(model, cfg.optim.ema_decay, state)
        log_file = run / "log.csv"
        if self.start == 0 or not log_file.is_file():
            with log_file.open("w", newline="") as fh:
                csv.writer(fh).writerow(LOG_COLUMNS)

    @property
    def scored(self):
        """The weights validation scores and ``best.pt`` holds: the average when there is one."""
        return self.averaged.model if self.averaged is not None else self.model

    def step_lr(self, epoch: int, step: int) -> float:
        """Set the scheduled rate of ``step`` (within ``epoch``) on every group; returns it."""
        lr = lr_at(epoch * self.steps_per_epoch + step, self.total_steps, self.warmup,
                   self.cfg.optim.lr)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("scale", 1.0)  # absent in older checkpoints
        return lr

    def after_step(self) -> None:
        """Fold the step's weights into the average, when the run keeps one."""
        if self.averaged is not None:
            self.averaged.update(self.model)

    def run_epochs(self, train_epoch: TrainEpoch, validate: Validate,
                   stop_after: int | None = None,
                   on_row: Callable[[list], None] | None = None) -> int:
        """Train the remaining epochs (at most ``stop_after`` of them); returns the best epoch.

        ``on_row`` sees each epoch's ``log.csv`` row before it is written (e.g. TensorBoard).
        """
        import torch

        o = self.cfg.optim
        for epoch in range(self.start, o.epochs):
            if self.progress[2] >= o.patience:
                log.info("early stop: no validation AUC gain for %d epochs", self.progress[2])
                break
            if stop_after is not None and epoch - self.start >= stop_after:
                break
            t0 = time.perf_counter()
            torch.manual_seed(self.cfg.seed * 1000 + epoch)  # dropout masks: same on resume
            loss, lr = train_epoch(epoch)
            y_val, p_val = validate(self.scored)
            _, thr = eer_threshold(y_val, p_val)
            m = binary_metrics(y_val, p_val, thr)
            secs = time.perf_counter() - t0
            row = [epoch, loss, m.auc, m.ap, m.eer, m.accuracy, thr, lr, secs]
            if on_row is not None:
                on_row(row)
            self.progress = close_epoch(self.run, self.model, self.cfg.model, self.model_cfg,
                                        self.cfg.contract, self.optimizer, row, m, thr,
                                        self.progress, self.averaged)
        return self.progress[1]

    def finish(self, device, score_test: ScoreTest) -> TrainResult:
        """Score the test split with ``best.pt`` at its validation threshold; ``result.json``."""
        from train.checkpoint import build_model_from_checkpoint

        best = self.run / "best.pt"
        model, contract = build_model_from_checkpoint(best)
        model.to(device)
        test, extra = score_test(model, contract.threshold)
        val = load_checkpoint(best)["metrics"]
        best_epoch = self.progress[1]
        (self.run / "result.json").write_text(json.dumps(
            {"best_epoch": best_epoch, "threshold": contract.threshold, "val": val,
             "test": test, **extra}, indent=2))
        return TrainResult(self.run, best, best_epoch, val, test)


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
    """End-of-epoch bookkeeping: log row, best and resumable checkpoints.

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
