"""The on-the-fly training loop: each step decodes, augments and runs the whole model.

Its epochs (seeding, resume, best checkpoint by validation AUC, early stopping) run in
:class:`train.epochs.Epochs`, as the cached-view loop's do (:mod:`train.cached_loop`).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import cv2
import numpy as np

from engine.errors import UsageError
from train.checkpoint import load_user_weights
from train.config import TrainConfig
from train.data import detect_faces
from train.epochs import Epochs, build_model, start_run
from train.metrics import binary_metrics, sigmoid
from train.run_common import TrainResult, split_samples

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

    cv2.setNumThreads(1)  # augmentation workers run in parallel already
    torch.use_deterministic_algorithms(True, warn_only=True)
    run, device = start_run(cfg)
    use_amp = cfg.optim.amp and device.type == "cuda"

    samples, by_split = split_samples(cfg)
    cache = Path(cfg.data.cache_dir)
    faces = detect_faces(
        [s.path for s in samples], cache / "faces.npz", cfg.contract.margin, cfg.data.min_face
    )
    model, mcfg = build_model(cfg)
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
    epochs = Epochs(cfg, run, model, model_cfg_dict(mcfg), opt,
                    math.ceil(len(dataset) / cfg.optim.batch_size), resume)
    writer = _tensorboard(run) if cfg.optim.tensorboard else None
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def train_epoch(epoch: int) -> tuple[float, float]:
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
            lr = epochs.step_lr(epoch, i)
            xb, sb, yb = xb.to(device), sb.to(device), yb.to(device)
            with torch.autocast(device.type, enabled=use_amp):
                loss = loss_fn(model(xb, sb)[:, 0].float(), yb)
            opt.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
            epochs.after_step()
            losses.append(loss.item())
            if hasattr(bar, "set_postfix"):
                bar.set_postfix(loss=f"{np.mean(losses[-20:]):.3f}")
        return float(np.mean(losses)), lr

    def validate(scored) -> tuple[np.ndarray, np.ndarray]:
        return y_val, sigmoid(predict_arrays(scored, x_val, s_val, device))

    def tensorboard_row(row: list) -> None:
        for name, value in zip(["loss", "val_auc", "val_ap", "val_eer"], row[1:5], strict=True):
            writer.add_scalar(name, float(value), row[0])

    def score_test(best, threshold: float) -> tuple[dict, dict]:
        if not by_split["test"]:
            return {}, {}
        x, s, y = eval_arrays(by_split["test"], faces, cfg.contract, cache)
        p = sigmoid(predict_arrays(best, x, s, device))
        return binary_metrics(y, p, threshold).as_dict(), {}

    epochs.run_epochs(train_epoch, validate, stop_after, tensorboard_row if writer else None)
    if writer:
        writer.close()
    return epochs.finish(device, score_test)


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

    Each item's probability is :func:`train.sources.balanced_weights` of ``power`` (SBI items
    count as one more fake source, as in the cached loop), so DFDC, 8x larger than any other
    source, does not fill most of each epoch. Reproducible from (seed, epoch).
    """
    from train.sources import balanced_weights, with_sbi_source

    pseudo = with_sbi_source(dataset.samples, [it.sample for it in dataset.items],
                             [it.sbi for it in dataset.items])
    w = np.asarray(balanced_weights(pseudo, power), np.float64)
    rng = np.random.default_rng([seed, epoch, 104729])
    return rng.choice(len(pseudo), size=n, replace=True, p=w / w.sum())


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
