"""Track confirmation, one regression test per criterion on real frames (skipped without the
shared clips): a real face passes; the same face fails each check for the check's reason."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engine.detect import MTCNNDetector
from engine.judge.confirm import Confirmation, ConfirmConfig, check_detection
from engine.judge.quality import crop_quality
from tests.shared_data import shared_path


@pytest.fixture(scope="module")
def frame_and_face():
    cap = cv2.VideoCapture(str(shared_path("videos", "ffpp-c23", "real", "519.mp4")))
    ok, frame = cap.read()
    cap.release()
    assert ok
    faces = MTCNNDetector(min_face=20).detect(frame)
    face = max(faces, key=lambda d: d.score * (d.box[2] - d.box[0]))
    return frame, face


def test_the_subject_passes_every_check(frame_and_face) -> None:
    frame, face = frame_and_face
    assert check_detection(ConfirmConfig(), face.box, face.score, face.landmarks) == ""
    q = crop_quality(frame, face.box, face.landmarks, face.score)
    assert q.landmarks_ok and q.frontal > 0.5 and q.side > 60 and 0 < q.value <= 1


def test_detector_score(frame_and_face) -> None:
    _, face = frame_and_face
    strict = ConfirmConfig(min_score=min(0.999, face.score + 1e-4)) if face.score < 0.999 \
        else None
    if strict is None:
        # A near-certain detection: the check must still reject a weaker score.
        assert check_detection(ConfirmConfig(), face.box, 0.8, face.landmarks) == \
            "low detector score"
    else:
        assert check_detection(strict, face.box, face.score, face.landmarks) == \
            "low detector score"


def test_minimum_face_size(frame_and_face) -> None:
    frame, _ = frame_and_face
    small = cv2.resize(frame, None, fx=0.3, fy=0.3, interpolation=cv2.INTER_AREA)
    faces = MTCNNDetector(min_face=12).detect(small)
    assert faces, "the subject is still found at 30 %"
    face = max(faces, key=lambda d: d.score)
    assert check_detection(ConfirmConfig(), face.box, face.score, face.landmarks) == \
        "face too small"


def test_landmark_geometry(frame_and_face) -> None:
    _, face = frame_and_face
    lm = np.asarray(face.landmarks, dtype=np.float64).copy()
    upside_down = lm.copy()
    upside_down[:, 1] = face.box[1] + face.box[3] - lm[:, 1]  # mouth above the eyes
    assert check_detection(ConfirmConfig(), face.box, face.score, upside_down) == \
        "eyes, nose, mouth out of order"
    squeezed = lm.copy()
    centre = lm[:2, 0].mean()
    squeezed[0, 0], squeezed[1, 0] = centre - 1, centre + 1  # eyes 2 px apart
    assert check_detection(ConfirmConfig(), face.box, face.score, squeezed) == \
        "eye distance does not fit the box"
    assert check_detection(ConfirmConfig(landmarks=False), face.box, face.score, upside_down) \
        == ""


def test_hits_in_a_row(frame_and_face) -> None:
    _, face = frame_and_face
    cfg = ConfirmConfig(min_hits=3)
    conf = Confirmation()
    for _ in range(2):
        conf.add(cfg, face.box, face.score, face.landmarks)
    assert not conf.confirmed and "in a row" in conf.why_not(cfg)
    conf.add(cfg, face.box, 0.5, face.landmarks)  # a bad detection restarts the run
    conf.add(cfg, face.box, face.score, face.landmarks)
    conf.add(cfg, face.box, face.score, face.landmarks)
    assert not conf.confirmed and conf.why_not(cfg) == "low detector score"
    conf.add(cfg, face.box, face.score, face.landmarks)
    assert conf.confirmed and conf.hits == 6
