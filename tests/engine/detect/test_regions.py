"""Detection around the tracks between full detections (engine/detect/regions.py), on street.mp4.

The 1080p street clip has 4-7 faces a frame: a full-frame MTCNN finds them, and a search of
only the windows around those faces on a later frame finds the same faces again, in frame
coordinates; a face outside every window is not searched for.
"""

from __future__ import annotations

import cv2
import pytest

from engine.detect import MTCNNDetector
from engine.detect.regions import RegionDetector, track_regions
from engine.pipeline import ClassifierSpec, PipelineConfig, build_pipeline
from engine.track import iou
from tests.shared_data import shared_path
from tests.shipped import shipped_model


@pytest.fixture(scope="module")
def street_frames():
    cap = cv2.VideoCapture(str(shared_path("videos", "multiface", "street.mp4")))
    frames = []
    for i in range(11):
        ok, frame = cap.read()
        assert ok
        if i in (0, 10):
            frames.append(frame)
    cap.release()
    return frames


@pytest.fixture(scope="module")
def detector():
    return MTCNNDetector(min_face=40)


def test_windows_grow_clip_and_merge() -> None:
    regions = track_regions([(100, 100, 140, 140), (150, 100, 190, 140), (900, 10, 950, 60)],
                            1000, 500, grow=1.0)
    # The first two windows overlap and merge; the third is clipped at the top and right.
    assert sorted(regions) == [(60, 60, 230, 180), (850, 0, 1000, 110)]


@pytest.mark.parametrize("refine", [False, True], ids=["pyramid", "refine"])
def test_regions_find_the_tracked_faces_again(street_frames, detector, refine) -> None:
    """Ten frames on, the windows' pyramid and the R-/O-Net refinement from candidate boxes
    around the tracks both find every face the full detection finds near a track."""
    first, later = street_frames
    tracked = [d.box for d in detector.detect(first)]
    assert len(tracked) >= 3
    full = detector.detect(later)
    regions = RegionDetector(detector, refine=refine)
    assert regions.refine is refine
    regional = regions.detect(later, tracked)
    h, w = later.shape[:2]
    searched = sum((x2 - x1) * (y2 - y1)
                   for x1, y1, x2, y2 in track_regions(tracked, w, h, regions.grow))
    assert searched < 0.5 * h * w  # the point: a fraction of the frame
    # Every face the full detection finds near a tracked face is found by the regions, at
    # the same place (frame coordinates, landmarks inside the box).
    near = [d for d in full if max(iou(d.box, t) for t in tracked) > 0.3]
    assert near
    for d in near:
        best = max(regional, key=lambda r: iou(r.box, d.box))
        assert iou(best.box, d.box) > 0.7
        x1, y1, x2, y2 = best.box
        assert ((best.landmarks[:, 0] >= x1) & (best.landmarks[:, 0] <= x2)).all()
        assert ((best.landmarks[:, 1] >= y1) & (best.landmarks[:, 1] <= y2)).all()


def test_a_face_outside_every_window_is_not_searched(street_frames, detector) -> None:
    first, _ = street_frames
    faces = detector.detect(first)
    one = faces[0].box
    regional = RegionDetector(detector, grow=0.5).detect(first, [one])
    assert all(iou(d.box, f.box) < 0.3 for d in regional for f in faces[1:]
               if iou(f.box, one) == 0 and f.box[0] > one[2] + one[2] - one[0])
    assert any(iou(d.box, one) > 0.7 for d in regional)


def test_refine_finds_nothing_where_there_is_no_face(street_frames, detector) -> None:
    """A box on a patch no full detection finds a face in gives no detection: the refinement
    keeps MTCNN's thresholds instead of trusting the track."""
    first, _ = street_frames
    faces = [d.box for d in detector.detect(first)]
    h, w = first.shape[:2]
    empty = next((x, y, x + 80, y + 80) for y in range(0, h - 80, 80) for x in range(0, w - 80, 80)
                 if all(iou((x - 80, y - 80, x + 160, y + 160), f) == 0 for f in faces))
    assert detector.refine(first, [empty]) == []
    assert detector.refine(first, []) == []


def test_refine_many_is_refine_per_window(street_frames, detector) -> None:
    """One R-Net and one O-Net pass over several windows' candidates gives each window what
    refining it alone gives (a window without boxes gives nothing)."""
    first, _ = street_frames
    tracked = [d.box for d in detector.detect(first)][:3]
    windows = []
    for x1, y1, x2, y2 in tracked:
        side = x2 - x1
        a, b = int(max(0, x1 - side)), int(max(0, y1 - side))
        view = first[b:int(y2 + side), a:int(x2 + side)]
        windows.append((view, [(x1 - a, y1 - b, x2 - a, y2 - b)]))
    windows.append((first[:100, :100], []))
    together = detector.refine_many(windows)
    assert len(together) == 4 and together[3] == []
    for (view, boxes), found in zip(windows[:3], together[:3], strict=True):
        alone = detector.refine(view, boxes)
        assert alone  # each face is found again where the full detection put it
        assert len(found) == len(alone)
        for a, b in zip(found, alone, strict=True):
            assert a.box == pytest.approx(b.box, abs=1e-3)
        assert [d.score for d in found] == pytest.approx([d.score for d in alone], abs=1e-5)


def test_pipeline_runs_full_detections_less_often(detector) -> None:
    clip = shared_path("videos", "multiface", "street.mp4")
    config = PipelineConfig(full_detect_every=20, max_frames=41)
    pipeline = build_pipeline([str(clip)], config, detector=detector,
                              classifier=ClassifierSpec(backend="ort", model=shipped_model(),
                                                        spectral="cpu"))
    summary = pipeline.run()
    stages = summary.stages
    # Frame 0 and the first detection at least 20 frames after the last full one search the
    # whole frame (2 or 3 in 41 frames); the detections between search around the tracks.
    assert 2 <= stages["detect"].count <= 3
    assert stages["detect_regions"].count >= 4
    assert summary.streams[0].detections > 3 * 4
    assert not summary.error


def test_screen_flag_and_config_key_reach_the_pipeline() -> None:
    """`screen --full-detect-every N` (a flag over the config file) and the file's own
    ``pipeline.full_detect_every`` both set the pipeline's option; the budget flags too."""
    from engine.config import apply_flags, parse_screen_file
    from engine.config.build import pipeline_config

    text = "streams:\n  cam:\n    source: cam.mp4\npipeline:\n  full_detect_every: 25\n"
    screen = parse_screen_file(text, "screen.yaml", {}).file
    assert pipeline_config(screen).full_detect_every == 25
    over = apply_flags(screen, {"full_detect_every": 40, "settled_hz": 4.0})
    config = pipeline_config(over)
    assert config.full_detect_every == 40 and config.budget.settled_hz == 4.0


def test_region_detection_is_what_screen_runs_by_default() -> None:
    """The library, the config file and `screen` agree: full-frame detection every 20 frames,
    detection around the tracks between; 0 turns it off, and a detector interval above it is
    valid (every scheduled detection then searches the whole frame)."""
    import inspect

    from deepscreen_cli.screen_cmd import screen
    from engine.config import parse_screen_file
    from engine.config.build import pipeline_config
    from engine.pipeline.config import DEFAULT_FULL_DETECT_EVERY

    assert DEFAULT_FULL_DETECT_EVERY == 20
    assert PipelineConfig().full_detect_every == DEFAULT_FULL_DETECT_EVERY
    screen_file = parse_screen_file("streams:\n  cam:\n    source: cam.mp4\n", "s.yaml", {}).file
    assert pipeline_config(screen_file).full_detect_every == DEFAULT_FULL_DETECT_EVERY
    flag = inspect.signature(screen).parameters["full_detect_every"].default
    assert flag == DEFAULT_FULL_DETECT_EVERY
    assert PipelineConfig(detect_every=30).validate().full_detect_every == 20
    assert PipelineConfig(full_detect_every=0).validate().full_detect_every == 0
