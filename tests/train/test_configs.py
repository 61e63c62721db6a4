"""Every committed training config parses: a typo in a key would otherwise only fail an hour
into someone's run (``load_config`` rejects unknown keys)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from train.config import load_config

ROOT = Path(__file__).resolve().parents[2] / "train" / "configs"
# The shipped, candidate and GPU configs beside default.yaml; older versions in archive/.
CONFIGS = sorted(ROOT.glob("*.y*ml")) + sorted((ROOT / "archive").glob("*.y*ml"))


def _config_path(name: str) -> Path:
    """A config by file name, in train/configs/ or its archive/."""
    return ROOT / name if (ROOT / name).is_file() else ROOT / "archive" / name


def test_there_are_configs() -> None:
    assert len(CONFIGS) >= 5


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_config_loads(path: Path) -> None:
    cfg = load_config(path)
    assert cfg.optim.epochs > 0 and cfg.run_dir


def _with_v9(name: str):
    """The shipped recipe's config and a candidate's, to compare field by field."""
    return load_config(ROOT / "detector_v9.yaml"), load_config(_config_path(name))


def test_v13_differs_from_v9_only_by_the_weight_average() -> None:
    v9, v13 = _with_v9("detector_v13.yaml")
    assert v13.optim.ema_decay == 0.998 and v9.optim.ema_decay == 0.0
    assert v13.augment == v9.augment and v13.cache == v9.cache and v13.seed == v9.seed
    assert v13.model_config == v9.model_config and v13.contract == v9.contract


def test_v14_differs_from_v9_only_by_the_number_of_views() -> None:
    v9, v14 = _with_v9("detector_v14.yaml")
    assert (v9.cache.views, v14.cache.views) == (6, 12)
    assert v14.cache.epoch_size == v9.cache.epoch_size == 0  # same steps per epoch
    assert v14.augment == v9.augment and v14.optim == v9.optim and v14.seed == v9.seed
    assert v14.model_config == v9.model_config and v14.contract == v9.contract


def test_v15_differs_from_v9_only_by_the_epochs() -> None:
    v9, v15 = _with_v9("detector_v15.yaml")
    assert (v9.optim.epochs, v15.optim.epochs) == (14, 20)
    assert replace(v15.optim, epochs=14) == v9.optim
    assert v15.augment == v9.augment and v15.cache == v9.cache and v15.seed == v9.seed
    assert v15.model_config == v9.model_config and v15.contract == v9.contract


def test_v16_differs_from_v9_only_by_the_twin_ranking_loss() -> None:
    v9, v16 = _with_v9("detector_v16.yaml")
    assert (v9.cache.pair_weight, v16.cache.pair_weight) == (0.0, 1.0)
    assert replace(v16.cache, pair_weight=0.0) == v9.cache  # same views: v9's cache is reused
    assert v16.augment == v9.augment and v16.optim == v9.optim and v16.seed == v9.seed
    assert v16.model_config == v9.model_config and v16.contract == v9.contract


@pytest.mark.parametrize(
    ("name", "key", "v9_value", "value"),
    [
        ("detector_v17.yaml", "last", "expanded_conv_13", "expanded_conv_16"),  # whole trunk
        ("detector_v19.yaml", "frozen", "expanded_conv_3", "expanded_conv_1"),  # 56x56 blocks
    ],
)
def test_trunk_candidates_differ_from_v9_by_one_block_name(
    name: str, key: str, v9_value: str, value: str
) -> None:
    v9, cand = _with_v9(name)
    assert (v9.model_config[key], cand.model_config[key]) == (v9_value, value)
    assert {**cand.model_config, key: v9_value} == v9.model_config
    assert cand.augment == v9.augment and cand.cache == v9.cache and cand.seed == v9.seed
    assert cand.optim == v9.optim and cand.contract == v9.contract and cand.model == v9.model


def test_gpu_config_is_v9_trained_on_the_fly_from_the_device_pack() -> None:
    v9, gpu = _with_v9("detector_gpu.yaml")
    assert gpu.cache.views == 0 and gpu.data.manifest.startswith(".devicepack/")
    assert {**gpu.model_config, "pretrained": None} == {**v9.model_config, "pretrained": None}
    assert gpu.model_config["pretrained"].endswith(".pt")  # the pack's dequantized trunk
    assert gpu.augment == v9.augment and gpu.contract == v9.contract and gpu.seed == v9.seed
    assert gpu.data.sample_power == v9.cache.sample_power
    assert gpu.optim.body_lr_scale == v9.cache.body_lr_scale
    same = ("epochs", "batch_size", "lr", "weight_decay", "warmup_epochs", "amp", "ema_decay")
    assert all(getattr(gpu.optim, k) == getattr(v9.optim, k) for k in same)
    assert gpu.sbi.fraction == 0 and v9.cache.sbi_views == 0


def test_v18_differs_from_v9_only_by_sharpened_real_views() -> None:
    v9, v18 = _with_v9("detector_v18.yaml")
    assert (v9.augment.p_sharpen_real, v18.augment.p_sharpen_real) == (0.0, 0.3)
    assert replace(v18.augment, p_sharpen_real=0.0) == v9.augment
    assert v18.cache == v9.cache and v18.optim == v9.optim and v18.seed == v9.seed
    assert v18.model_config == v9.model_config and v18.contract == v9.contract
