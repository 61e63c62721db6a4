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


# What a candidate shares with v9 when it "differs only by" one thing (run_dir and the data's
# paths are the candidate's own).
COMPARED = (
    "seed", "model", "model_config", "contract", "augment", "degrade", "sbi", "cache", "optim",
)


def _differs_only_by(name: str, section: str, base: str = "detector_v9.yaml",
                     **changes: tuple) -> None:
    """The candidate ``name`` is ``base`` (v9) but for ``changes`` (field: (base's value, the
    candidate's)) in ``section``: it holds those values, and it equals base once they are set
    back."""
    v9, cand = load_config(_config_path(base)), load_config(_config_path(name))
    ours, theirs = getattr(v9, section), getattr(cand, section)
    get = dict.get if isinstance(ours, dict) else getattr
    assert {k: (get(ours, k), get(theirs, k)) for k in changes} == changes
    undone = {k: old for k, (old, _new) in changes.items()}
    assert ({**theirs, **undone} if isinstance(theirs, dict) else replace(theirs, **undone)) == ours
    for other in COMPARED:
        assert other == section or getattr(cand, other) == getattr(v9, other), other


def test_v13_differs_only_by_the_weight_average() -> None:
    _differs_only_by("detector_v13.yaml", "optim", ema_decay=(0.0, 0.998))


def test_v14_differs_only_by_the_number_of_views() -> None:
    # epoch_size stays 0 in both: the same steps per epoch.
    _differs_only_by("detector_v14.yaml", "cache", views=(6, 12))


def test_v15_differs_only_by_the_epochs() -> None:
    _differs_only_by("detector_v15.yaml", "optim", epochs=(14, 20))


def test_v16_differs_only_by_the_twin_ranking_loss() -> None:
    # Same views: v9's cache is reused.
    _differs_only_by("detector_v16.yaml", "cache", pair_weight=(0.0, 1.0))


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
    _differs_only_by(name, "model_config", **{key: (v9_value, value)})


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


def test_v18_differs_only_by_sharpened_real_views() -> None:
    _differs_only_by("detector_v18.yaml", "augment", p_sharpen_real=(0.0, 0.3))


def test_v23_differs_from_v21_only_by_the_last_block() -> None:
    _differs_only_by("detector_v23.yaml", "model_config", base="detector_v21.yaml",
                     last=("expanded_conv_13", "expanded_conv_16"))


def test_v24_differs_from_v21_only_by_leaving_london_studio_out() -> None:
    _differs_only_by(
        "detector_v24.yaml", "cache", base="detector_v21.yaml",
        exclude_sources=(("sbi:deepfacelive",),
                         ("sbi:deepfacelive", "london-studio", "sbi:london-studio")))


def test_v25_differs_from_v21_only_by_a_half_strength_chain() -> None:
    _differs_only_by("detector_v25.yaml", "degrade", base="detector_v21.yaml",
                     p=(0.9, 0.5))


def test_v26_differs_from_v21_only_by_leaving_every_pseudo_swap_out() -> None:
    _differs_only_by("detector_v26.yaml", "cache", base="detector_v21.yaml",
                     exclude_sources=(("sbi:deepfacelive",), ("sbi",)))


def test_v27_differs_from_v26_only_by_a_half_strength_chain() -> None:
    # v26's "no pseudo-swaps" with v25's chain: the two ablations that each lifted DFDC.
    _differs_only_by("detector_v27.yaml", "degrade", base="detector_v26.yaml",
                     p=(0.9, 0.5))


def test_v28_differs_from_v27_only_by_its_schedule() -> None:
    # v27 trained as long as v9 (14 epochs): is the DFDC gap the shorter schedule?
    _differs_only_by("detector_v28.yaml", "optim", base="detector_v27.yaml",
                     epochs=(10, 14))


def test_v29_differs_from_v28_only_by_leaving_deepfacelive_out() -> None:
    # The 14-epoch "DeepFaceLive frames in/out" ablation: at v21's recipe the frames cost DFDC.
    _differs_only_by("detector_v29.yaml", "cache", base="detector_v28.yaml",
                     exclude_sources=(("sbi",), ("sbi", "deepfacelive")))


def test_v30_differs_from_v28_only_by_its_seed() -> None:
    # The seed twin of v28: how much one v3 run varies (its own view cache, the same split).
    v28, v30 = load_config(_config_path("detector_v28.yaml")), load_config(
        _config_path("detector_v30.yaml"))
    assert (v28.seed, v30.seed) == (0, 1)
    assert replace(v30, seed=0, run_dir=v28.run_dir) == v28


def test_v31_differs_from_v28_only_by_its_schedule() -> None:
    # v28 trained 20 epochs: its validation AUC still rose at epochs 10-13.
    _differs_only_by("detector_v31.yaml", "optim", base="detector_v28.yaml",
                     epochs=(14, 20))
