"""Detection in regions around the tracked faces, between full-frame detections.

On a 1080p street camera the MTCNN pyramid over the whole frame is the most expensive stage
(hundreds of milliseconds per detection on a 2-core box; docs/DETECTION.md), yet between two
full detections the faces that matter are where the tracker already has them. Searching only
a window around each track (the face box grown by ``grow`` face sides on every side, windows
that overlap merged) costs a few percent of the frame's pixels and keeps every tracked face's
box, score and landmarks as fresh as a full detection would. New faces are found by the full
detection that still runs every ``full_every`` frames (`--full-detect-every`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from engine.protocols import FaceDetector
from engine.track import iou
from engine.types import Detection

Box = tuple[float, float, float, float]


def track_regions(boxes: Sequence[Box], width: int, height: int,
                  grow: float = 1.0) -> list[tuple[int, int, int, int]]:
    """Integer windows (x1, y1, x2, y2) to search: each box grown by ``grow`` sides, clipped
    to the frame, overlapping windows merged into their bounding box (until none overlap)."""
    regions = []
    for x1, y1, x2, y2 in boxes:
        side = max(x2 - x1, y2 - y1, 1.0)
        regions.append([max(0, int(x1 - grow * side)), max(0, int(y1 - grow * side)),
                        min(width, int(np.ceil(x2 + grow * side))),
                        min(height, int(np.ceil(y2 + grow * side)))])
    merged = True
    while merged:  # a handful of faces: the quadratic merge costs nothing
        merged = False
        for i in range(len(regions)):
            for j in range(i + 1, len(regions)):
                a, b = regions[i], regions[j]
                if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]:
                    regions[i] = [min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]),
                                  max(a[3], b[3])]
                    del regions[j]
                    merged = True
                    break
            if merged:
                break
    return [tuple(r) for r in regions if r[2] > r[0] and r[3] > r[1]]  # type: ignore[misc]


class RegionDetector:
    """A detector run on windows around known boxes, its results in frame coordinates.

    Args:
        detector: the full-frame detector (its smallest face size applies in each window).
        grow: how many face sides each window extends beyond its box on every side (default:
            1.0 for the pyramid, 0.5 for ``refine``, whose candidates reach a third of a side
            beyond the box).
        refine: with a detector that has ``refine_many`` (MTCNN): find each tracked face again
            from candidate boxes around it (R- and O-Net only) instead of scanning the window's
            pyramid with P-Net; on the 1080p street clip several times cheaper (docs/
            BENCHMARKS_BUDGET.md). Other detectors scan the window.
    """

    def __init__(self, detector: FaceDetector, grow: float | None = None,
                 refine: bool = False) -> None:
        self.refine = refine and callable(getattr(detector, "refine_many", None))
        grow = (0.5 if self.refine else 1.0) if grow is None else grow
        if grow < 0:
            raise ValueError("grow must be >= 0")
        self.detector = detector
        self.grow = grow

    def detect(self, image: np.ndarray, boxes: Sequence[Box]) -> list[Detection]:
        """Faces inside the windows around ``boxes`` (highest score first, duplicates that
        two windows both saw removed)."""
        h, w = image.shape[:2]
        windows = track_regions(boxes, w, h, self.grow)
        # Views, not copies: the detector reads each once into its own integral image.
        views = [image[y1:y2, x1:x2] for x1, y1, x2, y2 in windows]
        if self.refine:  # every window's candidates through R- and O-Net in one pass each
            per_window = self.detector.refine_many([  # type: ignore[attr-defined]
                (view, [(a - x1, b - y1, c - x1, d - y1) for a, b, c, d in boxes
                        if x1 <= (a + c) / 2 < x2 and y1 <= (b + d) / 2 < y2])
                for view, (x1, y1, x2, y2) in zip(views, windows, strict=True)])
        else:
            per_window = [self.detector.detect(view) for view in views]
        found: list[Detection] = []
        for (x1, y1, _, _), dets in zip(windows, per_window, strict=True):
            for det in dets:
                b = det.box
                found.append(Detection(
                    box=(b[0] + x1, b[1] + y1, b[2] + x1, b[3] + y1), score=det.score,
                    landmarks=np.asarray(det.landmarks, np.float64) + np.array([x1, y1])))
        found.sort(key=lambda d: -d.score)
        kept: list[Detection] = []
        for det in found:
            if all(iou(det.box, k.box) < 0.5 for k in kept):
                kept.append(det)
        return kept
