"""The quality-only check: it catches a recipe that plants a quality cue, and passes one that
draws quality the same way for both classes (real shared faces)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tests.shared_data import SHARED_DATA

FFHQ = SHARED_DATA / "faces" / "ffhq-vs-stylegan1"


def test_blockiness_sees_jpeg_grids() -> None:
    import cv2
    from skimage import data

    from train.quality_check import blockiness

    gray = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2GRAY)[40:296, 120:376]
    ok, buf = cv2.imencode(".jpg", gray[3:, 5:], [cv2.IMWRITE_JPEG_QUALITY, 20])
    heavy = cv2.imdecode(buf, cv2.IMREAD_GRAYSCALE)
    # Found at any phase (the grid starts at the cut, not at the crop's origin).
    assert blockiness(heavy[2:, 7:]) > 1.3 > blockiness(gray) * 1.05 - 0.05


@pytest.mark.skipif(not FFHQ.is_dir(), reason="../shared/data/faces/ffhq-vs-stylegan1 is absent")
def test_check_flags_softened_reals_and_passes_the_symmetric_chain(tmp_path: Path) -> None:
    from train.config import load_config
    from train.degrade import DegradeConfig
    from train.quality_check import check_views, recipe_views

    base = load_config(Path(__file__).resolve().parents[2] / "train/configs/detector_v9.yaml")
    data = replace(base.data, root=str(SHARED_DATA / "faces"), sources=("ffhq-vs-stylegan1",),
                   cache_dir=str(tmp_path), limit_per_class=120)
    # Both classes of this source went through one JPEG pipeline: softening every real view
    # (v9's habit, at full strength) is then the only quality difference.
    confounded = replace(base, data=data, augment=replace(base.augment, p_soften_real=1.0))
    chained = replace(base, data=data,
                      augment=replace(base.augment, p_soften_real=0.0, p_blur=0.0, p_jpeg=0.0),
                      degrade=DegradeConfig(p=0.9))
    planted = check_views(*recipe_views(confounded, 240)[:2])
    blind = check_views(*recipe_views(chained, 240)[:2])
    assert planted.auc > 0.75, planted
    assert blind.auc < 0.65, blind
    assert planted.views[0] > 60 and planted.views[1] > 60
    assert np.isfinite(list(blind.per_feature.values())).all()
