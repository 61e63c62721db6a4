"""Training configuration: one YAML or JSON file -> typed dataclasses (unknown keys are errors)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from engine.errors import UsageError
from engine.preprocess import InputContract
from train.augment import AugmentConfig
from train.degrade import DegradeConfig
from train.labelled import TEST_FRACTION, VAL_FRACTION
from train.sbi import SBIConfig


@dataclass(frozen=True)
class DataConfig:
    """Where the training data comes from and how it is split.

    Attributes:
        root: a faces root (``faces/`` with one folder per source), one source folder with
            ``real*``/``fake*`` subfolders, or one label folder. Sources, their grouping and
            their splits come from :mod:`train.sources`.
        sources: train on these source folders only (None = every trainable source found).
            Held-out sources (``stylegan2-tpdne``, ``utkface``) never train.
        manifest: optional ``deepscreen data split`` CSV; overrides the registry split.
        val_fraction: fraction of groups for validation.
        test_fraction: fraction of groups for the held-out test.
        split_seed: changes the group-hash assignment (keep 0 to share splits with calibration).
        cache_dir: face detections and clean eval arrays (shared between runs on one data set).
        min_face: smallest face the detector looks for, in pixels.
        limit_per_class: use at most this many train images per class (tiny test configs).
        video_sources: folders of labelled clips (``real*``/``fake*`` subfolders), e.g.
            ``../shared/data/videos/deepfacelive``: their frames are written once below
            ``<cache_dir>/frames`` (:mod:`train.video_frames`) and join the samples as a source
            named after the folder (split by clip name through the registry).
        frames_every: keep every n-th frame of those clips.
        sample_power: on-the-fly training only: > 0 draws each epoch's items with
            :func:`train.sources.balanced_weights` of this power (what ``cache.sample_power``
            does for cached views); 0 (default) shows every training image once per epoch.
    """

    root: str = "../shared/data/faces"
    sources: tuple[str, ...] | None = None
    manifest: str | None = None
    val_fraction: float = VAL_FRACTION
    test_fraction: float = TEST_FRACTION
    split_seed: int = 0
    cache_dir: str = "runs/cache"
    min_face: int = 40
    limit_per_class: int | None = None
    sample_power: float = 0.0
    video_sources: tuple[str, ...] = ()
    frames_every: int = 2


@dataclass(frozen=True)
class OptimConfig:
    """Optimisation and run-control settings."""

    epochs: int = 12
    batch_size: int = 32
    lr: float = 2e-3
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.5
    patience: int = 4
    num_workers: int = 1
    threads: int = 1
    device: str = "auto"
    amp: bool = True
    tensorboard: bool = False
    progress: bool = True
    # > 0: validate, keep and ship an exponential moving average of the trained weights
    # (train.weight_average), e.g. 0.998; 0 keeps the weights of the epoch's last step.
    ema_decay: float = 0.0
    # On-the-fly training only: learning rate of a model's pretrained ``body`` blocks relative
    # to ``lr`` (``cache.body_lr_scale`` does this for cached training); 1.0 = one rate for all.
    body_lr_scale: float = 1.0


@dataclass(frozen=True)
class CacheConfig:
    """Training on cached stem outputs (models with a frozen stem, e.g. ``mobilenet_detector``).

    Attributes:
        views: augmented views cached per training image; 0 trains on the fly (no cache).
        sbi_views: self-blended pseudo-fake views per real training image with landmarks.
        sample_power: source balancing of :func:`train.sources.balanced_weights`.
        epoch_size: views drawn per epoch (0 = the number of training images).
        body_lr_scale: learning rate of the pretrained blocks relative to ``optim.lr``.
        dir: cache folder (default ``<data.cache_dir>/views``).
        exclude_sources: never draw training views of these sources (ablations that share
            one cache); ``sbi`` names the self-blended views, ``sbi:SOURCE`` those made from
            SOURCE's images. Validation is unchanged.
        pair_weight: weight of the twin ranking loss (:mod:`train.pairs`): each batch pairs
            its DFDC draws with their real/fake twins and adds ``pair_weight`` times the mean
            ``softplus(z_real - z_fake)`` (included in log.csv's ``train_loss``). 0 (default)
            draws and trains exactly as before.
    """

    views: int = 0
    sbi_views: int = 1
    sample_power: float = 0.5
    epoch_size: int = 0
    body_lr_scale: float = 0.3
    dir: str | None = None
    exclude_sources: tuple[str, ...] = ()
    pair_weight: float = 0.0


@dataclass(frozen=True)
class TrainConfig:
    """Everything one ``deepscreen train`` run needs."""

    run_dir: str = "runs/default"
    seed: int = 0
    model: str = "spatial_spectral"
    model_config: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    contract: InputContract = field(default_factory=InputContract)
    data: DataConfig = field(default_factory=DataConfig)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    degrade: DegradeConfig = field(default_factory=DegradeConfig)
    sbi: SBIConfig = field(default_factory=SBIConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)


def _build(cls: type, values: dict[str, Any] | None, where: str) -> Any:
    values = values or {}
    known = {f.name for f in fields(cls)}
    unknown = set(values) - known
    if unknown:
        raise UsageError(f"unknown key(s) in {where}: {sorted(unknown)} (known: {sorted(known)})")
    return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def config_from_dict(raw: dict[str, Any]) -> TrainConfig:
    """Nested dict (as read from YAML/JSON) -> TrainConfig."""
    raw = dict(raw)
    nested = {
        "contract": InputContract,
        "data": DataConfig,
        "augment": AugmentConfig,
        "degrade": DegradeConfig,
        "sbi": SBIConfig,
        "optim": OptimConfig,
        "cache": CacheConfig,
    }
    parts = {k: _build(cls, raw.pop(k, None), k) for k, cls in nested.items()}
    top = _build(TrainConfig, raw, "the config's top level")
    return replace(top, **parts)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read a YAML (``.yaml``/``.yml``) or JSON config file.

    Args:
        path: config file.
        overrides: dotted keys to replace, e.g. ``{"sbi.fraction": 0, "run_dir": "runs/x"}``.

    Raises:
        UsageError: missing file, bad syntax, unknown keys.
    """
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"config not found: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            import yaml

            raw = yaml.safe_load(text) or {}
        else:
            raw = json.loads(text)
    except ImportError:
        raise UsageError("YAML configs need PyYAML (pip install pyyaml); or use JSON") from None
    except Exception as exc:
        raise UsageError(f"cannot parse {path}: {exc}") from exc
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return config_from_dict(raw)


def config_to_dict(cfg: TrainConfig) -> dict[str, Any]:
    """TrainConfig -> JSON-ready dict (saved in the run folder)."""
    from dataclasses import asdict

    return json.loads(json.dumps(asdict(cfg)))
