"""The training loop: seeded, resumable, best checkpoint by validation AUC, early stopping."""

from __future__ import annotations

import csv
import json
import logging
import math
import time
from pathlib import Path

import cv2
import numpy as np

from engine.errors import UsageError
from train.checkpoint import load_checkpoint, load_user_weights
from train.config import TrainConfig, config_to_dict
from train.data import detect_faces
from train.metrics import binary_metrics, eer_threshold, sigmoid
from train.run_common import (
    TrainResult,
    close_epoch,
    load_samples,
    seed_everything,
    weight_average,
)
from train.run_common import device_of as _device
from train.run_common import lr_at as _lr_at

log = logging.getLogger(__name__)


def predict_arrays(model, x: np.ndarray, spec: np.ndarray, device, batch: int = 128) -> np.ndarray:
    """Logits of a model on prepared arrays, in eval mode, no gradients."""
    import torch

    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            xb = torch.from_numpy(x[i : i + batch]).to(device)
            sb = torch.from_numpy(spec[i : i + batch]).to(device)
            out.append(model(xb, sb).float().cpu().numpy()[:, 0])
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def train(cfg: TrainConfig, resume: bool = False, stop_after: int | None = None) -> TrainResult:
    """Run one training job as configured; see docs/TRAINING.md.

    Args:
        cfg: the configuration.
        resume: continue from ``run_dir/last.pt`` (same config) instead of starting over.
        stop_after: stop after this many epochs of this call (simulates an interruption; the
            run can be continued with ``resume=True`` and ends exactly as an uninterrupted one).
    """
    if cfg.cache.views > 0:  # a frozen-stem model trained on cached views
        from train.cached_loop import train_cached

        return train_cached(cfg, resume=resume, stop_after=stop_after)
    import torch

    from train.dataset import TrainDataset, clean_spectra, eval_arrays
    from train.models import config_to_dict as model_cfg_dict
    from train.models import create_model, model_config

    run = Path(cfg.run_dir)
    run.mkdir(parents=True, exist_ok=True)
    (run / "config.json").write_text(json.dumps(config_to_dict(cfg), indent=2))
    torch.set_num_threads(cfg.optim.threads)
    cv2.setNumThreads(1)  # augmentation workers run in parallel already
    torch.use_deterministic_algorithms(True, warn_only=True)
    seed_everything(cfg.seed)
    device = _device(cfg.optim.device)
    use_amp = cfg.optim.amp and device.type == "cuda"

    samples = load_samples(cfg)
    cache = Path(cfg.data.cache_dir)
    faces = detect_faces(
        [s.path for s in samples], cache / "faces.npz", cfg.contract.margin, cfg.data.min_face
    )
    by_split = {k: [s for s in samples if s.split == k] for k in ("train", "val", "test")}
    log.info("samples: %s", {k: len(v) for k, v in by_split.items()})

    mcfg = model_config(cfg.model, {**cfg.model_config,
                                    "spectrum_bins": cfg.contract.spectrum_bins})
    model = create_model(cfg.model, model_cfg_dict(mcfg))
    if getattr(mcfg, "pretrained", None):  # as the cached loop does (train.cached_loop)
        n = model.load_backbone(mcfg.pretrained)
        log.info("initialised %d trunk tensors from %s", n, mcfg.pretrained)
    model.to(device)
    if cfg.weights:
        loaded = load_user_weights(model, cfg.weights)
        log.info("initialised %d tensors from %s", len(loaded), cfg.weights)

    x_val, s_val, y_val = eval_arrays(by_split["val"], faces, cfg.contract, cache)
    # Spectrum standardisation comes from clean training crops and lives in the model buffers.
    uses_spectrum = getattr(model, "spectral", ()) is not None  # False: the branch is dropped
    if uses_spectrum:
        s_train = clean_spectra(by_split["train"], faces, cfg.contract)
        model.set_spectrum_stats(torch.from_numpy(s_train.mean(0)),
                                 torch.from_numpy(s_train.std(0)))

    dataset = TrainDataset(by_split["train"], faces, cfg.contract, cfg.augment,
                           cfg.sbi if cfg.sbi.fraction > 0 else None, cfg.seed,
                           spectra=uses_spectrum, chain=cfg.degrade)
    opt = torch.optim.AdamW(_param_groups(model, cfg.optim.body_lr_scale), lr=cfg.optim.lr,
                            weight_decay=cfg.optim.weight_decay)
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    steps_per_epoch = math.ceil(len(dataset) / cfg.optim.batch_size)
    total_steps = steps_per_epoch * cfg.optim.epochs
    warmup = int(cfg.optim.warmup_epochs * steps_per_epoch)

    start_epoch, best_auc, best_epoch, bad_epochs = 0, -1.0, -1, 0
    last_path, best_path = run / "last.pt", run / "best.pt"
    if resume:
        ckpt = load_checkpoint(last_path)
        model.load_state_dict(ckpt["state_dict"])
        state = ckpt["train_state"]
        opt.load_state_dict(state["optimizer"])
        start_epoch = int(ckpt["epoch"]) + 1
        best_auc, best_epoch = float(state["best_auc"]), int(state["best_epoch"])
        bad_epochs = int(state["bad_epochs"])
        log.info("resuming after epoch %d (best AUC %.4f)", start_epoch - 1, best_auc)
    averaged = weight_average(model, cfg.optim.ema_decay, state if resume else None)

    writer = _tensorboard(run) if cfg.optim.tensorboard else None
    log_file = run / "log.csv"
    if not resume or not log_file.is_file():
        with log_file.open("w", newline="") as fh:
            csv.writer(fh).writerow(["epoch", "train_loss", "val_auc", "val_ap", "val_eer",
                                     "val_acc", "threshold", "lr", "seconds"])
    loss_fn = torch.nn.BCEWithLogitsLoss()
    for epoch in range(start_epoch, cfg.optim.epochs):
        if bad_epochs >= cfg.optim.patience:
            log.info("early stop: no validation AUC gain for %d epochs", bad_epochs)
            break
        if stop_after is not None and epoch - start_epoch >= stop_after:
            break
        t0 = time.perf_counter()
        torch.manual_seed(cfg.seed * 1000 + epoch)  # dropout masks: same per epoch on resume
        dataset.set_epoch(epoch)
        if cfg.data.sample_power > 0:
            dataset.set_draws(balanced_draws(dataset, cfg.data.sample_power,
                                             len(by_split["train"]), cfg.seed, epoch))
        order = torch.Generator().manual_seed(cfg.seed * 1000 + epoch)
        loader = torch.utils.data.DataLoader(
            dataset, batch_size=cfg.optim.batch_size, shuffle=True, generator=order,
            num_workers=cfg.optim.num_workers, drop_last=False,
            persistent_workers=False, worker_init_fn=_worker_init,
        )
        model.train()
        losses = []
        bar = _progress(loader, f"epoch {epoch + 1}/{cfg.optim.epochs}", cfg.optim.progress)
        for i, (xb, sb, yb) in enumerate(bar):
            step = epoch * steps_per_epoch + i
            lr = _lr_at(step, total_steps, warmup, cfg.optim.lr)
            for group in opt.param_groups:
                group["lr"] = lr * group.get("scale", 1.0)  # absent in older checkpoints
            xb, sb, yb = xb.to(device), sb.to(device), yb.to(device)
            with torch.autocast(device.type, enabled=use_amp):
                loss = loss_fn(model(xb, sb)[:, 0].float(), yb)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            if averaged is not None:
                averaged.update(model)
            losses.append(loss.item())
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        scored = averaged.model if averaged is not None else model
        p_val = sigmoid(predict_arrays(scored, x_val, s_val, device))
        _, thr = eer_threshold(y_val, p_val)
        m = binary_metrics(y_val, p_val, thr)
        secs = time.perf_counter() - t0
        row = [epoch, np.mean(losses), m.auc, m.ap, m.eer, m.accuracy, thr, lr, secs]
        if writer:
            for name, value in zip(["loss", "val_auc", "val_ap", "val_eer"], row[1:5],
                                   strict=True):
                writer.add_scalar(name, float(value), epoch)
        best_auc, best_epoch, bad_epochs = close_epoch(
            run, model, cfg.model, model_cfg_dict(mcfg), cfg.contract, opt, row, m, thr,
            (best_auc, best_epoch, bad_epochs), averaged)
    if writer:
        writer.close()
    return _finish(run, best_path, best_epoch, by_split, faces, cfg, device)


def _param_groups(model, body_lr_scale: float) -> list[dict]:
    """AdamW groups: a pretrained ``body`` at ``body_lr_scale`` x the rate, the rest at 1 x.

    With a scale of 1 it is one group of every parameter, as before the option existed (so
    older runs resume with their optimizer state).
    """
    if body_lr_scale == 1.0:
        return [{"params": list(model.parameters()), "scale": 1.0}]
    body = [p for n, p in model.named_parameters() if n.startswith("body.")]
    if not body:
        raise UsageError(f"optim.body_lr_scale={body_lr_scale} but model "
                         f"{type(model).__name__} has no pretrained 'body' blocks")
    rest = [p for n, p in model.named_parameters() if not n.startswith("body.")]
    return [{"params": body, "scale": body_lr_scale}, {"params": rest, "scale": 1.0}]


def balanced_draws(dataset, power: float, n: int, seed: int, epoch: int) -> np.ndarray:
    """``n`` item indices of ``dataset`` drawn with replacement, source-balanced.

    Each item's probability is :func:`train.registry.balanced_weights` of ``power`` (SBI items
    count as one more fake source, as in the cached loop), so DFDC, 8x larger than any other
    source, does not fill most of each epoch. Reproducible from (seed, epoch).
    """
    from train.registry import balanced_weights, with_sbi_source

    pseudo = with_sbi_source(dataset.samples, [it.sample for it in dataset.items],
                             [it.sbi for it in dataset.items])
    w = np.asarray(balanced_weights(pseudo, power), np.float64)
    rng = np.random.default_rng([seed, epoch, 104729])
    return rng.choice(len(pseudo), size=n, replace=True, p=w / w.sum())


def _finish(run, best_path, best_epoch, by_split, faces, cfg, device) -> TrainResult:
    """Score the held-out test split with the best checkpoint at its validation threshold."""
    from train.checkpoint import build_model_from_checkpoint
    from train.dataset import eval_arrays

    model, contract = build_model_from_checkpoint(best_path)
    model.to(device)
    test = {}
    if by_split["test"]:
        x, s, y = eval_arrays(by_split["test"], faces, cfg.contract, Path(cfg.data.cache_dir))
        p = sigmoid(predict_arrays(model, x, s, device))
        test = binary_metrics(y, p, contract.threshold).as_dict()
    val = load_checkpoint(best_path)["metrics"]
    (run / "result.json").write_text(json.dumps(
        {"best_epoch": best_epoch, "threshold": contract.threshold, "val": val, "test": test},
        indent=2))
    return TrainResult(run, best_path, best_epoch, val, test)


def _worker_init(_worker_id: int) -> None:
    cv2.setNumThreads(1)


def _progress(iterable, desc: str, enabled: bool):
    if not enabled:
        return iterable
    try:
        from tqdm import tqdm
    except ImportError:
        return iterable
    return tqdm(iterable, desc=desc, unit="batch", leave=False)


def _tensorboard(run: Path):
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        log.warning("tensorboard is not installed: CSV log only")
        return None
    return SummaryWriter(str(run / "tb"))
