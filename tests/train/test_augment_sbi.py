"""Augmentations change images as promised; SBI blends only inside its mask."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from tests.train.view_keys import key_of, reference_plan
from train.augment import (
    AugmentConfig,
    augment_crop,
    fit_square,
    gaussian_blur,
    image_fraction,
    jpeg_recompress,
    precrop,
    rotate,
    soften,
    to_gray,
)
from train.sbi import SBIConfig, blend_mask, face_polygon, self_blend


@pytest.fixture(scope="module")
def astronaut_bgr() -> np.ndarray:
    return cv2.cvtColor(skdata.astronaut(), cv2.COLOR_RGB2BGR)


@pytest.fixture(scope="module")
def astronaut_landmarks(astronaut_bgr) -> np.ndarray:
    from engine.detect import MTCNNDetector

    dets = MTCNNDetector(min_face=60, threads=1).detect(astronaut_bgr)
    assert dets, "the detector should find the astronaut's face"
    best = max(dets, key=lambda d: d.width * d.height)
    return np.asarray(best.landmarks, np.float32)


def _high_freq_energy(img: np.ndarray) -> float:
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.abs(cv2.Laplacian(gray, cv2.CV_32F)).mean())


def test_blur_removes_high_frequencies(astronaut_bgr) -> None:
    out = gaussian_blur(astronaut_bgr, 2.0)
    assert out.shape == astronaut_bgr.shape and out.dtype == np.uint8
    assert _high_freq_energy(out) < 0.5 * _high_freq_energy(astronaut_bgr)


def test_jpeg_recompression_changes_pixels_more_at_low_quality(astronaut_bgr) -> None:
    err = {q: np.abs(jpeg_recompress(astronaut_bgr, q).astype(int) - astronaut_bgr).mean()
           for q in (20, 95)}
    assert err[95] > 0
    assert err[20] > 2 * err[95]


def test_rotate_keeps_shape_and_moves_pixels(astronaut_bgr) -> None:
    out = rotate(astronaut_bgr, 8.0)
    assert out.shape == astronaut_bgr.shape
    assert np.abs(out.astype(int) - astronaut_bgr).mean() > 5


def test_zero_probabilities_disable_every_augmentation(astronaut_bgr) -> None:
    off = AugmentConfig(p_blur=0, p_jpeg=0, p_flip=0, p_rotate=0, p_rescale=0, p_color=0)
    for seed in range(5):
        out = augment_crop(astronaut_bgr.copy(), off, np.random.default_rng(seed))
        assert np.array_equal(out, astronaut_bgr)


def test_probability_one_always_applies(astronaut_bgr) -> None:
    flip_only = AugmentConfig(p_blur=0, p_jpeg=0, p_flip=1, p_rotate=0, p_rescale=0, p_color=0)
    out = augment_crop(astronaut_bgr.copy(), flip_only, np.random.default_rng(0))
    assert np.array_equal(out, astronaut_bgr[:, ::-1])
    jpeg_only = replace(flip_only, p_flip=0, p_jpeg=1, jpeg_quality=(30, 30))
    out = augment_crop(astronaut_bgr.copy(), jpeg_only, np.random.default_rng(0))
    assert np.array_equal(out, jpeg_recompress(astronaut_bgr, 30))


def test_grayscale_view_has_equal_channels_and_keeps_luma(astronaut_bgr) -> None:
    gray_only = AugmentConfig(p_blur=0, p_jpeg=0, p_flip=0, p_rotate=0, p_rescale=0, p_color=0,
                              p_gray=1.0)
    out = augment_crop(astronaut_bgr.copy(), gray_only, np.random.default_rng(0))
    assert out.shape == astronaut_bgr.shape and out.dtype == np.uint8
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    luma = cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY)
    assert np.array_equal(out[..., 0], luma)
    assert np.array_equal(to_gray(astronaut_bgr), out)


def test_same_rng_seed_same_augmentation(astronaut_bgr) -> None:
    cfg = AugmentConfig(p_blur=0.5, p_jpeg=0.5, p_rotate=0.5, p_color=0.5)
    a = augment_crop(astronaut_bgr.copy(), cfg, np.random.default_rng(3))
    b = augment_crop(astronaut_bgr.copy(), cfg, np.random.default_rng(3))
    assert np.array_equal(a, b)


def test_face_polygon_surrounds_the_landmarks(astronaut_landmarks) -> None:
    poly = face_polygon(astronaut_landmarks)
    hull = cv2.convexHull(poly)
    for point in astronaut_landmarks:
        assert cv2.pointPolygonTest(hull, (float(point[0]), float(point[1])), False) >= 0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_sbi_changes_only_inside_the_mask(astronaut_bgr, astronaut_landmarks, seed) -> None:
    out, mask = self_blend(astronaut_bgr, astronaut_landmarks, SBIConfig(),
                           np.random.default_rng(seed))
    assert out.shape == astronaut_bgr.shape and out.dtype == np.uint8
    outside = mask == 0
    assert outside.any() and (~outside).any()
    assert np.array_equal(out[outside], astronaut_bgr[outside])
    diff = np.abs(out.astype(int) - astronaut_bgr).sum(axis=2)
    assert diff[mask > 0.5].mean() > 1.0  # visibly blended inside
    # The mask covers the face: every landmark lies inside it.
    for x, y in astronaut_landmarks.round().astype(int):
        assert mask[y, x] > 0


def test_sbi_mask_is_soft_and_bounded(astronaut_bgr, astronaut_landmarks) -> None:
    mask = blend_mask(astronaut_bgr.shape[:2], astronaut_landmarks, SBIConfig(),
                      np.random.default_rng(5))
    assert mask.dtype == np.float32 and mask.min() >= 0 and mask.max() <= 1
    assert ((mask > 0.05) & (mask < 0.95)).any(), "edges must be feathered"
    assert (mask > 0).mean() < 0.5, "the mask must stay around the face"


def test_grayscale_option_keys_the_view_cache_only_when_enabled() -> None:
    # Caches (and the shipped model's reproduction) built before p_gray existed keep their key;
    # a plan that converts views to grayscale never reuses a colour-only cache.
    plan = reference_plan()
    key = key_of(plan)
    assert key == "926543cde2331d8b6431"  # computed by the code before p_gray was added
    gray = replace(plan, augment=replace(plan.augment, p_gray=0.15))
    assert key_of(gray) != key
    fit = replace(plan, augment=replace(plan.augment, p_fit=0.5))
    assert key_of(fit) != key
    soft = replace(plan, augment=replace(plan.augment, p_soften_real=0.3))
    assert key_of(soft) != key
    pre = replace(plan, augment=replace(plan.augment, p_precrop=0.3))
    assert key_of(pre) != key
    sharp = replace(plan, augment=replace(plan.augment, p_sharpen_real=0.3))
    assert key_of(sharp) != key


def test_fit_square_pulls_a_square_inside_the_image() -> None:
    # Inside already: unchanged.
    assert fit_square(100.0, 80.0, 50.0, (200, 300, 3)) == (100.0, 80.0, 50.0)
    # A dfdc-like square (face box larger than the 224x224 image): shrunk to the image.
    assert fit_square(82.0, 91.0, 375.0, (224, 224, 3)) == (112.0, 112.0, 224.0)
    # Fits by size but hangs over the left/top edges: moved, not shrunk.
    cx, cy, side = fit_square(20.0, 10.0, 100.0, (200, 300, 3))
    assert (cx, cy, side) == (50.0, 50.0, 100.0)


def _only_fit(p_fit: float) -> AugmentConfig:
    return AugmentConfig(p_blur=0, p_jpeg=0, p_flip=0, p_rotate=0, p_rescale=0, p_color=0,
                         box_jitter=0.0, p_fit=p_fit)


def test_fitted_view_is_image_only_where_the_canonical_one_is_mostly_border(
    astronaut_bgr,
) -> None:
    from train.data import Face
    from train.dataset import augmented_crop

    # A tight face crop, as the pre-cropped sources ship: the detector box reaches past it.
    tight = np.ascontiguousarray(astronaut_bgr[20:220, 150:350])
    face = Face((-20.0, -40.0, 220.0, 230.0), None, True)
    canonical = augmented_crop(tight, face, 0.25, _only_fit(0.0), np.random.default_rng(0))
    fitted = augmented_crop(tight, face, 0.25, _only_fit(1.0), np.random.default_rng(0))
    assert canonical.shape[0] > tight.shape[0]  # the square reaches past the image...
    rows = canonical[:, canonical.shape[1] // 2]
    assert (np.abs(np.diff(rows.astype(int), axis=0)).sum(axis=1) == 0).sum() > 60  # ...streaks
    assert fitted.shape == tight.shape and np.array_equal(fitted, tight)  # only real pixels


def _only_soften(p: float) -> AugmentConfig:
    return AugmentConfig(p_blur=0, p_jpeg=0, p_flip=0, p_rotate=0, p_rescale=0, p_color=0,
                         box_jitter=0.0, p_soften_real=p, soften_size=(80, 80))


def test_soften_resamples_through_a_smaller_square_and_keeps_small_crops(astronaut_bgr) -> None:
    out = soften(astronaut_bgr, 80)
    assert out.shape == astronaut_bgr.shape
    assert _high_freq_energy(out) < 0.5 * _high_freq_energy(astronaut_bgr)
    small = np.ascontiguousarray(astronaut_bgr[:64, :64])
    assert soften(small, 80) is small  # already below the camera's resolution


def test_soften_applies_to_real_views_only(astronaut_bgr) -> None:
    # Label-aware on purpose: softening only reals is what breaks "soft means fake".
    cfg = _only_soften(1.0)
    real = augment_crop(astronaut_bgr.copy(), cfg, np.random.default_rng(0), label=0)
    fake = augment_crop(astronaut_bgr.copy(), cfg, np.random.default_rng(0), label=1)
    unknown = augment_crop(astronaut_bgr.copy(), cfg, np.random.default_rng(0))
    assert _high_freq_energy(real) < 0.5 * _high_freq_energy(astronaut_bgr)
    assert np.array_equal(fake, astronaut_bgr) and np.array_equal(unknown, astronaut_bgr)
    off = augment_crop(astronaut_bgr.copy(), _only_soften(0.0), np.random.default_rng(0), label=0)
    assert np.array_equal(off, astronaut_bgr)


def test_cached_real_views_are_softened_and_fake_views_are_not(astronaut_bgr) -> None:
    # The view cache passes each sample's label down to the augmentation.
    from engine.preprocess import InputContract
    from train.data import Face
    from train.view_cache import ViewPlan, _Entry, _view

    face = Face((180.0, 60.0, 330.0, 250.0), None, True)
    plan = ViewPlan(views=1, sbi_views=0, augment=_only_soften(1.0), sbi=SBIConfig())
    entry = _Entry(sample=0, view=0, sbi=False)
    real, _ = _view(astronaut_bgr, face, entry, InputContract(), plan, 0)
    fake, _ = _view(astronaut_bgr, face, entry, InputContract(), plan, 1)
    assert real.shape == fake.shape
    assert _high_freq_energy(real) < 0.6 * _high_freq_energy(fake)


def _only_precrop(p: float) -> AugmentConfig:
    return AugmentConfig(p_blur=0, p_jpeg=0, p_flip=0, p_rotate=0, p_rescale=0, p_color=0,
                         box_jitter=0.0, p_precrop=p, precrop_side=(0.7, 0.7))


def _border_rows(crop: np.ndarray) -> int:
    """Whole rows that repeat their neighbour exactly (a replicated border)."""
    rows = crop.reshape(crop.shape[0], -1).astype(int)
    return int((np.abs(np.diff(rows, axis=0)).sum(axis=1) == 0).sum())


def test_image_fraction_of_a_square() -> None:
    assert image_fraction(50.0, 50.0, 20.0, (100, 100, 3)) == 1.0
    assert image_fraction(0.0, 50.0, 20.0, (100, 100, 3)) == pytest.approx(0.5)
    assert image_fraction(0.0, 0.0, 20.0, (100, 100, 3)) == pytest.approx(0.25)
    assert image_fraction(500.0, 500.0, 20.0, (100, 100, 3)) == 0.0


def test_precrop_cuts_a_tight_square_and_moves_the_centre_with_it(astronaut_bgr) -> None:
    cut, cx, cy = precrop(astronaut_bgr, 255.0, 155.0, 100.0)
    assert cut.shape == (100, 100, 3)
    assert (cx, cy) == (50.0, 50.0)
    assert np.array_equal(cut, astronaut_bgr[105:205, 205:305])
    # Clipped to the image near an edge: the centre keeps pointing at the same pixel.
    cut, cx, cy = precrop(astronaut_bgr, 20.0, 30.0, 100.0)
    assert cut.shape == (80, 70, 3) and (cx, cy) == (20.0, 30.0)


def test_precropped_view_of_a_face_with_context_is_streaked_like_dfdc(astronaut_bgr) -> None:
    from train.data import Face
    from train.dataset import augmented_crop

    face = Face((180.0, 60.0, 330.0, 250.0), None, True)  # astronaut(): context all round
    canonical = augmented_crop(astronaut_bgr, face, 0.25, _only_precrop(0.0),
                               np.random.default_rng(0), label=0)
    cut = augmented_crop(astronaut_bgr, face, 0.25, _only_precrop(1.0),
                         np.random.default_rng(0), label=1)  # both labels get it
    assert cut.shape == canonical.shape  # same square, same face scale
    assert _border_rows(canonical) < 5
    # Cut side 0.7 of the box side, square side 1.25 of it: about 44 % of the rows are border.
    assert _border_rows(cut) > 0.3 * cut.shape[0]
    middle = slice(cut.shape[0] // 2 - 20, cut.shape[0] // 2 + 20)
    assert np.array_equal(cut[middle, middle], canonical[middle, middle])  # the face is kept


def test_precrop_leaves_an_already_tight_face_crop_alone(astronaut_bgr) -> None:
    from train.data import Face
    from train.dataset import augmented_crop

    # A dfdc-like image: the box reaches past it, so under half of the square is image.
    tight = np.ascontiguousarray(astronaut_bgr[20:220, 150:350])
    face = Face((-20.0, -40.0, 220.0, 230.0), None, True)
    a = augmented_crop(tight, face, 0.25, _only_precrop(0.0), np.random.default_rng(0))
    b = augmented_crop(tight, face, 0.25, _only_precrop(1.0), np.random.default_rng(0))
    assert np.array_equal(a, b)


def _only_sharpen(p: float) -> AugmentConfig:
    return AugmentConfig(p_blur=0, p_jpeg=0, p_flip=0, p_rotate=0, p_rescale=0, p_color=0,
                         box_jitter=0.0, p_sharpen_real=p)


def test_sharpen_adds_detail_to_real_views_only(astronaut_bgr) -> None:
    from train.augment import unsharp

    assert _high_freq_energy(unsharp(astronaut_bgr, 1.0, 1.0)) > 1.5 * _high_freq_energy(
        astronaut_bgr)
    assert np.array_equal(unsharp(astronaut_bgr, 0.0, 1.0), astronaut_bgr)
    cfg = _only_sharpen(1.0)
    real = augment_crop(astronaut_bgr.copy(), cfg, np.random.default_rng(0), label=0)
    fake = augment_crop(astronaut_bgr.copy(), cfg, np.random.default_rng(0), label=1)
    unknown = augment_crop(astronaut_bgr.copy(), cfg, np.random.default_rng(0))
    assert _high_freq_energy(real) > 1.2 * _high_freq_energy(astronaut_bgr)
    assert np.array_equal(fake, astronaut_bgr) and np.array_equal(unknown, astronaut_bgr)
    # Off by default: no draw is taken, so every older config keeps its views and caches.
    off = augment_crop(astronaut_bgr.copy(), _only_sharpen(0.0), np.random.default_rng(0), 0)
    assert np.array_equal(off, astronaut_bgr)
