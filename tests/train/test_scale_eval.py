"""`deepscreen evaluate --scales`: the same test faces seen from further away (real data)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.shared_data import SHARED_DATA

LONDON = SHARED_DATA / "faces" / "london-studio"


@pytest.mark.skipif(not LONDON.is_dir(), reason="../shared/data/faces/london-studio is absent")
def test_scale_rows_on_studio_portraits(tmp_path: Path) -> None:
    from train.predict import open_scorer, score_crops
    from train.scale_eval import evaluate_scales, write_scale_table

    scorer = open_scorer(None)
    scales = [1.0, 0.25, 0.02]
    rows = evaluate_scales(LONDON, lambda c: score_crops(scorer, c), scorer.contract.threshold,
                           scorer.contract.margin, scales, tmp_path, limit=6)
    by_scale = {r.scale: r for r in rows}
    assert set(by_scale) == set(scales) and all(r.metric == "TNR" for r in rows)
    assert by_scale[1.0].total == 6 and by_scale[1.0].n == 6      # 1024 px portraits
    assert by_scale[0.25].n == 6                                  # faces still ~100 px
    assert by_scale[0.02].n == 0 and math.isnan(by_scale[0.02].rate)  # 20 px: below min_face
    # No image has a face at every scale, so no flip can be measured.
    assert by_scale[1.0].flip_n == 0 and math.isnan(by_scale[1.0].flip_rate)
    again = evaluate_scales(LONDON, lambda c: score_crops(scorer, c), scorer.contract.threshold,
                            scorer.contract.margin, [1.0, 0.25], tmp_path, limit=6)
    first = {r.scale: r for r in again}[1.0]
    assert first.flip_n == 6 and 0.0 <= first.flip_rate <= 1.0
    assert (tmp_path / "scale-faces-40.json").is_file()  # detections cached for reruns
    md = write_scale_table(tmp_path / "out", again, [1.0, 0.25]).read_text()
    assert "london-studio/real" in md and "x0.25 rate" in md


def test_bad_scales_are_a_usage_error() -> None:
    out = subprocess.run([sys.executable, "-m", "deepscreen_cli.app", "evaluate", "--scales",
                          "1,zero", "--sources", str(Path(__file__).parent)],
                         capture_output=True, text=True)
    assert out.returncode == 2 and "--scales" in out.stderr and "Traceback" not in out.stderr


@pytest.mark.skipif(not LONDON.is_dir(), reason="../shared/data/faces/london-studio is absent")
def test_quality_bins_measure_faces_as_the_engine_does() -> None:
    from train.predict import open_scorer, score_crops
    from train.quality_bins import bin_table, measure_faces
    from train.sources import load_sources

    scorer = open_scorer(None)
    samples = [s for s in load_sources(LONDON) if s.split == "val"][:3]
    faces = measure_faces(samples, lambda c: score_crops(scorer, c), [1.0, 0.1],
                          scorer.contract.margin)
    # 1024 px portraits: a large face at scale 1, a ~45 px one at 0.1; both measured.
    assert len(faces) == 2 * len(samples)
    big = [f for f in faces if f.side > 300]
    small = [f for f in faces if f.side < 80]
    assert len(big) == len(small) == len(samples)
    assert min(f.sharpness for f in small) >= 0 and all(f.label == 0 for f in faces)
    rows = bin_table(faces)
    # One class only: every bin's AUC is undefined, and every face is counted in one bin.
    assert sum(r.n_real for r in rows) == len(faces)
    assert all(math.isnan(r.auc) for r in rows)


def test_two_class_rows_and_bins_have_aucs() -> None:
    """The aggregation of a two-class source: rates, AUC per scale, flips; AUC per bin."""
    import numpy as np

    from train.labelled import Sample
    from train.quality_bins import FaceMeasure, bin_table
    from train.scale_eval import scale_rows

    samples = [Sample(f"/x/{i}.jpg", i % 2, f"pairs/{'fake' if i % 2 else 'real'}", "test")
               for i in range(8)]
    # Scale 1 separates perfectly; at 0.5 one fake drops below the threshold (a flip) and one
    # real has no face.
    scores = np.array([[0.1, 0.2], [0.9, 0.8], [0.2, np.nan], [0.8, 0.3],
                       [0.3, 0.4], [0.7, 0.9], [0.1, 0.1], [0.95, 0.6]])
    rows = {(r.source, r.scale): r for r in scale_rows(samples, scores, [1.0, 0.5], 0.5)}
    fake1, fake05 = rows[("pairs/fake", 1.0)], rows[("pairs/fake", 0.5)]
    assert (fake1.rate, fake05.rate) == (1.0, 0.75) and fake1.auc == 1.0
    assert fake05.auc < 1.0 and rows[("pairs/real", 0.5)].n == 3
    assert fake1.flip_n == 4 and fake1.flip_rate == 0.25
    assert rows[("pairs/real", 1.0)].flip_rate == 0.0
    faces = [FaceMeasure(i % 2, 0.9 if i % 2 else 0.1, 100.0, 50.0, "s") for i in range(12)]
    (full,) = [r for r in bin_table(faces) if r.n_real]
    assert (full.n_real, full.n_fake, full.auc) == (6, 6, 1.0)
