"""A box that leaves the image is an ordinary event for the pipeline, never the end of a run.

Regression: ``engine.crops.square_crop`` raises for a square entirely outside the image while
the scheduler expected ``None``; one tracker box that drifted off a real frame ended the whole
run as an error (exit 1).
"""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest

from engine.crops import square_crop, visible_square_crop
from engine.errors import UsageError
from engine.pipeline import PipelineConfig
from engine.pipeline.runner import open_sources
from engine.pipeline.scheduler import Pipeline
from engine.types import Detection
from tests.shared_data import shared_path


@pytest.fixture(scope="module")
def frame_path():
    return shared_path("images", "multiface.jpg")


def test_box_outside_a_real_frame(frame_path) -> None:
    image = cv2.imread(str(frame_path))
    h, w = image.shape[:2]
    outside = (w + 40.0, 10.0, w + 140.0, 110.0)
    assert visible_square_crop(image, outside, margin=0.25) is None
    with pytest.raises(UsageError):  # the strict form keeps its contract for callers
        square_crop(image, outside, margin=0.25)
    # Half outside: the full square, the missing part replicating the border.
    edge = (w - 50.0, 20.0, w + 50.0, 120.0)
    crop = visible_square_crop(image, edge, margin=0.25)
    assert crop is not None and crop.shape == (125, 125, 3)
    assert np.array_equal(crop[:, -1], crop[:, -2])


class DriftingDetector:
    """Finds one face on the first frame, then a box that has left the frame to the right."""

    def __init__(self, width: int) -> None:
        self.width = width
        self.calls = 0

    def detect(self, image: np.ndarray) -> list[Detection]:
        self.calls += 1
        x = 100.0 if self.calls == 1 else self.width + 60.0
        return [Detection((x, 100.0, x + 120.0, 220.0), 0.99, np.zeros((5, 2), np.float32))]


def test_pipeline_survives_a_box_outside_the_frame(tmp_path, frame_path, stack) -> None:
    backend, feature, _ = stack
    image = cv2.imread(str(frame_path))
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(4):
        shutil.copy(frame_path, folder / f"{i:02d}.jpg")
    detector = DriftingDetector(image.shape[1])
    sources = open_sources([str(folder)])
    # Every detection full-frame: the drifting box is what this detector returns for the frame.
    config = PipelineConfig(detect_every=1, min_frames=1, full_detect_every=0)
    summary = Pipeline(sources, config, detector, backend, feature).run()
    assert summary.error == ""
    assert detector.calls == 4
    (s,) = summary.streams
    assert s.processed == 4 and s.classified >= 1
