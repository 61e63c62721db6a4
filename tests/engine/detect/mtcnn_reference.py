"""Helpers comparing our detections with facenet-pytorch's (the torch reference)."""

from __future__ import annotations

import numpy as np

from engine.types import Detection


def reference_detect(mtcnn, image_bgr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """facenet-pytorch's detections for a BGR image: boxes (N,4), scores (N,), landmarks (N,5,2).

    facenet-pytorch takes RGB, and with numpy 2 returns object arrays (or None): cast them.
    """
    rgb = np.ascontiguousarray(image_bgr[:, :, ::-1])
    boxes, probs, points = mtcnn.detect(rgb, landmarks=True)
    if boxes is None:
        return np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2))
    return (
        np.asarray(boxes, dtype=np.float64).reshape(-1, 4),
        np.asarray(probs, dtype=np.float64).reshape(-1),
        np.asarray(points, dtype=np.float64).reshape(-1, 5, 2),
    )


def assert_same_faces(
    ours: list[Detection], ref: tuple[np.ndarray, np.ndarray, np.ndarray], tol_px: float = 2.0
) -> None:
    """Same number of faces; each reference face has one of ours within tol_px (box, landmarks)."""
    boxes, scores, points = ref
    assert len(ours) == len(boxes), f"ours found {len(ours)} faces, facenet-pytorch {len(boxes)}"
    if not len(ours):
        return
    our_boxes = np.array([d.box for d in ours])
    used: set[int] = set()
    for box, score, pts in zip(boxes, scores, points, strict=True):
        j = int(np.argmin(np.abs(our_boxes - box).max(axis=1)))
        assert j not in used, "two reference faces matched the same detection"
        used.add(j)
        assert np.abs(our_boxes[j] - box).max() <= tol_px, (our_boxes[j], box)
        assert np.abs(ours[j].landmarks - pts).max() <= tol_px, (ours[j].landmarks, pts)
        assert abs(ours[j].score - score) < 1e-3
