"""The label-blind degradation chain, the pseudo-swap rendering, and the video-frame source."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from tests.shared_data import SHARED_DATA
from tests.train.view_keys import key_of, reference_plan
from train.augment import AugmentConfig, soften
from train.degrade import DegradeConfig, degrade, h264_roundtrip
from train.sbi import render_at


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    from skimage import data

    return np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)[0:300, 120:420])


def _sharpness(img: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())


def test_h264_roundtrip_is_lossy_and_keeps_odd_sizes(face: np.ndarray) -> None:
    odd = face[:211, :199]
    good, bad = h264_roundtrip(odd, 18), h264_roundtrip(odd, 45)
    assert good.shape == bad.shape == odd.shape and good.dtype == np.uint8
    err = [float(np.abs(x.astype(int) - odd).mean()) for x in (good, bad)]
    assert 0 < err[0] < err[1]  # a higher CRF loses more


def test_resample_softens_only_crops_larger_than_the_capture(face: np.ndarray) -> None:
    assert soften(face, 400) is face
    soft = soften(face, 48)
    assert soft.shape == face.shape and _sharpness(soft) < 0.3 * _sharpness(face)


def test_chain_is_deterministic_and_label_blind(face: np.ndarray) -> None:
    cfg = DegradeConfig(p=1.0)
    a = degrade(face, cfg, np.random.default_rng(5))
    b = degrade(face, cfg, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)  # the view depends on its seed alone (no label input)
    outs = [degrade(face, cfg, np.random.default_rng(i)) for i in range(12)]
    sharp = [_sharpness(o) for o in outs]
    # Both directions occur: some views softer, some sharper than the input.
    assert min(sharp) < 0.5 * _sharpness(face) < _sharpness(face) < max(sharp) * 1.5


def test_chain_off_keeps_old_caches_and_draws(face: np.ndarray) -> None:
    """A config without the chain draws exactly what it drew before (same view, same key)."""
    from train.data import Face
    from train.dataset import augmented_crop

    box = (60.0, 40.0, 240.0, 260.0)
    f = Face(box, None, False)
    off = augmented_crop(face, f, 0.25, AugmentConfig(), np.random.default_rng(3), 0)
    again = augmented_crop(face, f, 0.25, AugmentConfig(), np.random.default_rng(3), 0,
                           DegradeConfig())
    np.testing.assert_array_equal(off, again)
    on = augmented_crop(face, f, 0.25, AugmentConfig(), np.random.default_rng(3), 0,
                        DegradeConfig(p=1.0, p_noise=1.0))
    assert not np.array_equal(off, on)
    plan = reference_plan()
    key = key_of(plan)
    assert key == "926543cde2331d8b6431"  # the key before the chain and p_render existed
    chained = replace(plan, degrade=DegradeConfig(p=0.9))
    rendered = replace(plan, sbi=replace(plan.sbi, p_render=0.7))
    assert len({key, key_of(chained), key_of(rendered)}) == 3


def test_render_at_softens_the_face_like_a_low_resolution_swap(face: np.ndarray) -> None:
    # Eyes 100 px apart: a 220 px wide face, rendered at 64 px and pasted back.
    landmarks = np.array([[100, 120], [200, 120], [150, 170], [115, 220], [185, 220]], np.float32)
    low = render_at(face, landmarks, 64.0)
    assert low.shape == face.shape and _sharpness(low) < 0.5 * _sharpness(face)
    assert render_at(face, landmarks, 400.0) is face  # already smaller: untouched


@pytest.mark.skipif(not (SHARED_DATA / "videos" / "deepfacelive").is_dir(),
                    reason="../shared/data/videos/deepfacelive is absent")
def test_deepfacelive_frames_split_by_demo(tmp_path: Path) -> None:
    from train.sources import load_sources
    from train.video_frames import extract_frames

    videos = SHARED_DATA / "videos" / "deepfacelive"
    out = extract_frames(videos, tmp_path, every=25)
    assert out.clips == 22 and out.frames > 44
    again = extract_frames(videos, tmp_path, every=25)  # markers: nothing decoded twice
    assert again.frames == out.frames
    samples = load_sources(tmp_path, ["deepfacelive"])
    demo_split: dict[str, set[str]] = {}
    for s in samples:
        demo_split.setdefault(s.group, set()).add(s.split)
    assert len(demo_split) == 11  # one group per demo, real and fake halves together
    assert all(len(splits) == 1 for splits in demo_split.values())
    labels = {(s.group, s.label) for s in samples}
    assert len(labels) == 22


@pytest.mark.skipif(not (SHARED_DATA / "faces" / "london-studio").is_dir(),
                    reason="../shared/data/faces/london-studio is absent")
def test_london_studio_splits_by_person() -> None:
    from train.sources import load_sources

    samples = load_sources(SHARED_DATA / "faces", ["london-studio"])
    by_person: dict[str, set[str]] = {}
    for s in samples:
        by_person.setdefault(s.group, set()).add(s.split)
    assert len(samples) == 150 and len(by_person) == 75
    assert all(len(v) == 1 for v in by_person.values())
    assert {s.split for s in samples} == {"train", "val", "test"}


@pytest.mark.skipif(not (SHARED_DATA / "videos" / "deepfacelive").is_dir(),
                    reason="../shared/data/videos/deepfacelive is absent")
def test_held_back_clips_match_the_frame_split(tmp_path: Path) -> None:
    """`deepscreen data clips --split test` lists exactly the demos whose frames are test."""
    import csv
    import subprocess
    import sys

    from train.sources import load_sources
    from train.video_frames import extract_frames

    videos = SHARED_DATA / "videos" / "deepfacelive"
    extract_frames(videos, tmp_path / "frames", every=50)
    test_demos = {Path(s.group).name for s in load_sources(tmp_path / "frames", ["deepfacelive"])
                  if s.split == "test"}
    out = tmp_path / "clips.csv"
    run = subprocess.run([sys.executable, "-m", "deepscreen_cli.app", "data", "clips",
                          str(videos), "--out", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rows = list(csv.DictReader(out.open()))
    assert {Path(r["path"]).stem for r in rows} == test_demos and len(rows) == 2 * len(test_demos)
    assert {r["label"] for r in rows} == {"real", "fake"}
