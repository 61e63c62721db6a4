"""engine's ONNX MTCNN finds the same faces as facenet-pytorch's torch MTCNN on real images."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import skimage.data

from engine.detect import MTCNNDetector
from tests.conftest import SHARED_DATA, shared_path
from tests.engine.detect.mtcnn_reference import assert_same_faces, reference_detect

# The celebrity photos are ~2000 px; the torch reference needs seconds per image at full size, so
# images are scaled so that the longer side is at most MAX_SIDE (still real, JPEG-decoded faces).
MAX_SIDE = 640


def _fit(image: np.ndarray, max_side: int = MAX_SIDE) -> np.ndarray:
    scale = max_side / max(image.shape[:2])
    if scale >= 1:
        return image
    size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _shared_images() -> list[str]:
    names = ["grace_hopper_512x512.jpg", "multiface.jpg"]
    folder = SHARED_DATA / "images" / "celebrities"
    if folder.is_dir():
        names += [f"celebrities/{p.name}" for p in sorted(folder.glob("*.jpg"))]
    return names


@pytest.fixture(scope="module")
def detector() -> MTCNNDetector:
    return MTCNNDetector()


@pytest.fixture(scope="module")
def detector40() -> MTCNNDetector:
    return MTCNNDetector(min_face=40)


def test_astronaut_default_parameters(detector, facenet_mtcnn) -> None:
    bgr = np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1])
    ours = detector.detect(bgr)
    assert len(ours) == 1
    assert_same_faces(ours, reference_detect(facenet_mtcnn(), bgr))


@pytest.mark.parametrize("name", _shared_images())
def test_shared_images(name, detector40, facenet_mtcnn) -> None:
    bgr = _fit(cv2.imread(str(shared_path("images", *name.split("/")))))
    ours = detector40.detect(bgr)
    assert len(ours) >= 1
    assert_same_faces(ours, reference_detect(facenet_mtcnn(min_face_size=40), bgr))


VIDEOS = ["ffpp-c23/real/004.mp4", "ffpp-c23/fake-deepfakes/519_515.mp4", "multiface/street.mp4"]


@pytest.mark.parametrize("video", VIDEOS)
def test_video_frames(video, detector40, facenet_mtcnn) -> None:
    cap = cv2.VideoCapture(str(shared_path("videos", *video.split("/"))))
    cap.set(cv2.CAP_PROP_POS_FRAMES, 30)
    ok, frame = cap.read()
    cap.release()
    assert ok, f"could not decode {video}"
    frame = _fit(frame, 960)
    ours = detector40.detect(frame)
    assert len(ours) >= 1
    assert_same_faces(ours, reference_detect(facenet_mtcnn(min_face_size=40), frame))


def test_grayscale_matches_reference(detector40, facenet_mtcnn) -> None:
    gray = cv2.cvtColor(skimage.data.astronaut(), cv2.COLOR_RGB2GRAY)
    ours = detector40.detect(gray)
    assert len(ours) == 1
    as_bgr = np.repeat(gray[:, :, None], 3, axis=2)
    assert_same_faces(ours, reference_detect(facenet_mtcnn(min_face_size=40), as_bgr))
