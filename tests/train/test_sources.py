"""The source registry (train/sources.py): group-aware splits on the real shared faces, and
balanced sampling."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from engine.errors import UsageError
from tests.shared_data import shared_path
from train.sources import (
    balanced_weights,
    describe,
    load_sources,
    person_of,
    split_of_path,
    trainable,
)


@pytest.fixture(scope="module")
def faces() -> Path:
    return shared_path("faces")


@pytest.fixture(scope="module")
def samples(faces):
    return load_sources(faces)


def _splits_per_group(samples, source_prefix: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = defaultdict(set)
    for s in samples:
        if s.source.startswith(source_prefix):
            out[s.group].add(s.split)
    return out


def test_dfdc_real_and_fake_of_one_video_share_a_split(samples, faces) -> None:
    groups = _splits_per_group(samples, "dfdc-faces/")
    assert len(groups) > 1000
    assert all(len(splits) == 1 for splits in groups.values())
    # Every group holds its real crop and its fake (the manifest pairs them).
    labels = defaultdict(set)
    for s in samples:
        if s.source.startswith("dfdc-faces/"):
            labels[s.group].add(s.label)
    assert sum(1 for v in labels.values() if v == {0, 1}) == len(labels)


def test_people_never_straddle_splits(samples) -> None:
    for source in ("lfw/", "imfdb/"):
        groups = _splits_per_group(samples, source)
        assert groups and all(len(splits) == 1 for splits in groups.values())
        # LFW has at most 3 photos per person: there are many more files than groups.
        n_files = sum(1 for s in samples if s.source.startswith(source))
        assert len(groups) < n_files


def test_heldout_sources_are_test_only_and_never_trainable(samples) -> None:
    held = [s for s in samples if s.source.split("/")[0] in ("stylegan2-tpdne", "utkface")]
    assert held and {s.split for s in held} == {"test"}
    assert not {s.source for s in trainable(samples)} & {s.source for s in held}


def test_split_is_deterministic_and_per_file_lookup_agrees(samples, faces) -> None:
    again = load_sources(faces)
    assert [(s.path, s.split) for s in again] == [(s.path, s.split) for s in samples]
    for s in samples[::401]:
        assert split_of_path(s.path) == s.split


def test_proportions_roughly_match_the_fractions(samples) -> None:
    rows = {r["source"]: r for r in describe(samples)}
    dfdc = rows["dfdc-faces/real"]
    n = dfdc["train"] + dfdc["val"] + dfdc["test"]
    assert abs(dfdc["test"] / n - 0.2) < 0.03 and abs(dfdc["val"] / n - 0.1) < 0.03


def test_selecting_sources_and_unknown_names(faces) -> None:
    only = load_sources(faces, ["sd21-sdfd"])
    assert {s.source for s in only} == {"sd21-sdfd/fake"}
    with pytest.raises(UsageError, match="no-such-source"):
        load_sources(faces, ["no-such-source"])


def test_unregistered_folder_is_grouped_by_file(tmp_path) -> None:
    import cv2
    import numpy as np

    for label in ("real", "fake"):
        folder = tmp_path / "newset" / label
        folder.mkdir(parents=True)
        for i in range(6):
            cv2.imwrite(str(folder / f"{i}.png"), np.full((8, 8, 3), i, np.uint8))
    samples = load_sources(tmp_path)
    assert len(samples) == 12
    assert {s.group for s in samples} == {f"newset/{lab}/{i}.png" for lab in ("real", "fake")
                                         for i in range(6)}


def test_person_of() -> None:
    assert person_of("Abdul_Rahman_0001.jpg") == "Abdul_Rahman"
    assert person_of("Avinash_10.jpg") == "Avinash"
    assert person_of("solo.jpg") == "solo"


def test_balanced_weights_equalise_classes_and_temper_sources(samples) -> None:
    train = [s for s in trainable(samples) if s.split == "train"]
    w = balanced_weights(train, power=0.5)
    mass = defaultdict(float)
    per_source = defaultdict(list)
    for s, wi in zip(train, w, strict=True):
        mass[s.label] += wi
        per_source[s.source].append(wi)
    assert mass[0] == pytest.approx(0.5) and mass[1] == pytest.approx(0.5)
    # A small source's images are drawn more often than DFDC's, but DFDC keeps the most mass.
    assert per_source["sd21-sdfd/fake"][0] > per_source["dfdc-faces/fake"][0]
    assert sum(per_source["dfdc-faces/fake"]) > sum(per_source["sd21-sdfd/fake"])
