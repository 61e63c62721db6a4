"""Calibration and validation sets: deterministic, balanced, disjoint, runtime preprocessing."""

from __future__ import annotations

import numpy as np
import pytest

from calibration.faces import balanced_sample, prepare_images, read_crop
from calibration.splits import by_split, calibration_sample, split_of, validation_sample
from engine.errors import UsageError
from engine.preprocess import InputContract, prepare_crops
from tests.conftest import shared_path
from train.labelled import find_labelled

CONTRACT = InputContract(input_size=64, spectrum_bins=40)


def test_balanced_deterministic_sample_from_shared_faces() -> None:
    items = find_labelled(shared_path("faces", "ffhq-vs-stylegan1"))
    a = balanced_sample(items, 40, salt="calibration")
    b = balanced_sample(list(reversed(items)), 40, salt="calibration")
    assert [it.path for it in a] == [it.path for it in b]
    assert sum(it.label for it in a) == 20
    c = balanced_sample(items, 40, salt="validation", exclude=[it.path for it in a])
    assert not {it.path for it in a} & {it.path for it in c}


def test_calibration_and_validation_come_from_disjoint_splits() -> None:
    items = find_labelled(shared_path("faces", "ffhq-vs-stylegan1"))
    calib = calibration_sample(items, CONTRACT, n=16, detect=False)
    val = validation_sample(items, CONTRACT, n=16, detect=False)
    assert {split_of(p) for p in calib.paths} == {"train"}
    assert {split_of(p) for p in val.paths} == {"test"}
    assert int(calib.labels.sum()) == 8 and int(val.labels.sum()) == 8
    assert calib.crops.shape == (16, 3, 64, 64) and calib.spectrum.shape == (16, 40)
    assert len(by_split(items, ("test",))) < len(items) / 5


def test_preparation_is_the_runtime_code() -> None:
    from engine.features.spectral import radial_spectrum

    path = shared_path("images", "grace_hopper_512x512.jpg")
    crop = read_crop(path)
    crops, spectrum = prepare_images([crop], CONTRACT)
    np.testing.assert_array_equal(crops, prepare_crops([crop], CONTRACT))
    # The spectrum comes from the native 512 px crop, not from the 64 px resized one.
    np.testing.assert_array_equal(spectrum, radial_spectrum([crop], 40))
    assert not np.allclose(spectrum, radial_spectrum([crop[::8, ::8]], 40))


def test_one_class_only_is_a_usage_error(tmp_path) -> None:
    real = shared_path("faces", "utkface")
    with pytest.raises(UsageError, match="both classes"):
        balanced_sample(find_labelled(real), 10, salt="x")
    with pytest.raises(UsageError, match="not found"):
        find_labelled(tmp_path / "missing")


def test_split_matches_the_training_split() -> None:
    from pathlib import Path

    from train.config import DataConfig
    from train.labelled import TEST_FRACTION, VAL_FRACTION
    from train.sources import load_sources

    # The training config's defaults and calibration's fractions are one split.
    assert (DataConfig().val_fraction, DataConfig().test_fraction) == (VAL_FRACTION, TEST_FRACTION)
    root = shared_path("faces")
    samples = load_sources(root, ["dfdc-faces", "ffhq-vs-stylegan1"], VAL_FRACTION, TEST_FRACTION)
    assert all(split_of(Path(s.path)) == s.split for s in samples[::7])
