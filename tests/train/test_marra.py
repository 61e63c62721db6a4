"""Marra-style fingerprints: float residuals (no uint8 wrap-around) and attribution."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from tests.conftest import shared_path
from train.marra import CanonicalPipeline, evaluate, fit_fingerprints, noise_residual


@pytest.fixture(scope="module")
def astronaut_bgr() -> np.ndarray:
    return np.ascontiguousarray(skdata.astronaut()[..., ::-1])


def test_residual_is_float_and_does_not_wrap(astronaut_bgr):
    img = astronaut_bgr[100:164, 200:264].copy()
    img[30:34, 30:34] = 0  # a dark spot on a bright face: its residual must be negative
    img[10:14, 10:14] = 255
    res = noise_residual(img)
    assert res.dtype == np.float64 and res.shape == (64, 64)
    assert res[31, 31] < -10 and res[11, 11] > 0
    # The same image given as float gives the same residual: nothing happened in uint8.
    np.testing.assert_allclose(res, noise_residual(img.astype(np.float64)), atol=1e-9)
    # What the uint8 bug would give: negative values wrapped to 256 - v.
    gray = cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
    wrapped = gray - cv2.GaussianBlur(gray, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
    assert wrapped.dtype == np.uint8 and wrapped[31, 31] > 200
    assert abs(res.mean()) < 2.0 and res.min() > -256


@pytest.mark.parametrize("denoiser", ["gaussian", "median", "bilateral"])
def test_each_denoiser_keeps_sign(astronaut_bgr, denoiser):
    img = astronaut_bgr[:48, :48].copy()
    img[20, 20] = 0
    assert noise_residual(img, denoiser)[20, 20] < 0


def _planted_tree(root: Path, img: np.ndarray, n: int = 20) -> dict[str, np.ndarray]:
    """Three sources, each adding its own fixed noise pattern (a PRNU-like fingerprint)."""
    rng = np.random.default_rng(1)
    patterns = {}
    for source, label in (("camA", "real"), ("ganB", "fake"), ("ganC", "fake")):
        pattern = rng.normal(0, 4.0, (64, 64, 1))
        patterns[f"{source}/{label}"] = pattern[..., 0]
        folder = root / source / label
        folder.mkdir(parents=True)
        for i in range(n):
            y, x = rng.integers(0, 512 - 64, 2)
            noisy = img[y : y + 64, x : x + 64].astype(np.float64) + pattern
            out = np.clip(noisy, 0, 255).astype(np.uint8)
            cv2.imwrite(str(folder / f"{source}_{i:02d}.png"), out)
    return patterns


def test_planted_fingerprints_are_recovered_and_attributed(tmp_path, astronaut_bgr):
    patterns = _planted_tree(tmp_path, astronaut_bgr)
    result = evaluate(tmp_path, CanonicalPipeline(size=64), test=0.3)
    assert set(result.sources) == set(patterns)
    assert all(n > 0 for n in result.n_test)
    assert min(result.accuracy) >= 0.9
    # The averaged residual correlates with the planted pattern's own residual.
    residuals = {}
    for s in patterns:
        files = sorted((tmp_path / s).glob("*.png"))
        residuals[s] = [noise_residual(cv2.imread(str(f))) for f in files]
    fp = fit_fingerprints(residuals)
    for i, s in enumerate(fp.sources):
        planted = noise_residual(patterns[s] + 128.0)
        centred = (planted - planted.mean()).ravel()
        corr = fp.prints @ (centred / np.linalg.norm(centred))
        assert int(np.argmax(corr)) == i and corr[i] > 0.5


def test_shared_faces_attribution_beats_chance():
    root = shared_path("faces")
    result = evaluate(root, CanonicalPipeline(size=128), limit=40)
    # One class per labelled folder (real*/fake*) below faces/: the count grows with the data.
    folders = sorted(
        f"{d.parent.name}/{d.name}"
        for d in root.glob("*/*")
        if d.is_dir() and d.name.lower().startswith(("real", "fake"))
    )
    assert list(result.sources) == folders
    assert result.balanced > 2.0 / len(folders)  # twice chance
