"""A lightweight face tracker: stable track ids between detector runs.

The detector (MTCNN) is the expensive stage, so it runs only every k-th frame. In between, each
track carries its last detected box forward with a damped constant-velocity guess, and on the
next detection the tracker re-associates boxes with tracks: greedily by IoU first, then by
centre distance (relative to the face size) for faces that moved too far for their boxes to
overlap. A track that misses ``max_missed`` consecutive detections is dropped ("aged out").

Per-frame work without a detection is a few arithmetic operations per track, so the tracker
never bounds throughput.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.types import Detection

Box = tuple[float, float, float, float]


def iou(a: Box, b: Box) -> float:
    """Intersection over union of two (x1, y1, x2, y2) boxes; 0 when either is empty."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    area_a = max(0.0, a[2] - a[0]) * max(0.0, a[3] - a[1])
    area_b = max(0.0, b[2] - b[0]) * max(0.0, b[3] - b[1])
    union = area_a + area_b - inter
    return inter / union if union > 0 else 0.0


def centre_distance(a: Box, b: Box) -> float:
    """Distance between box centres divided by the mean side of the two boxes."""
    ca = ((a[0] + a[2]) / 2, (a[1] + a[3]) / 2)
    cb = ((b[0] + b[2]) / 2, (b[1] + b[3]) / 2)
    side = (a[2] - a[0] + a[3] - a[1] + b[2] - b[0] + b[3] - b[1]) / 4
    return float(np.hypot(ca[0] - cb[0], ca[1] - cb[1]) / max(side, 1e-6))


def _similar_size(a: Box, b: Box, ratio: float) -> bool:
    side_a = max(a[2] - a[0], a[3] - a[1], 1e-6)
    side_b = max(b[2] - b[0], b[3] - b[1], 1e-6)
    return max(side_a, side_b) / min(side_a, side_b) <= ratio


def _assign_greedy(pairs: list[tuple[float, int, int]], assign: dict[int, int],
                   used_t: set[int], used_d: set[int]) -> None:
    """Match each (score, track, detection) in the given order unless either is taken."""
    for _, ti, di in pairs:
        if ti in used_t or di in used_d:
            continue
        assign[ti] = di
        used_t.add(ti)
        used_d.add(di)


@dataclass
class Track:
    """One face followed across frames.

    Attributes:
        id: stable id, unique within one tracker (one stream), starting at 1.
        box: current box estimate in frame pixels.
        score: detector score of the last matched detection.
        landmarks: landmarks of the last matched detection, (5, 2).
        hits: number of detections matched to this track.
        missed: consecutive detector runs in which the track found no detection.
        last_detect_frame: frame index of the last matched detection.
        first_frame: frame index at which the track was created.
    """

    id: int
    box: Box
    score: float
    landmarks: np.ndarray = field(repr=False)
    hits: int = 1
    missed: int = 0
    last_detect_frame: int = 0
    first_frame: int = 0
    velocity: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    anchor: Box | None = None

    def __post_init__(self) -> None:
        # The last detected box: predictions between detections extrapolate from it.
        if self.anchor is None:
            self.anchor = self.box

    @property
    def fresh(self) -> bool:
        """True while the track was matched at the last detector run (its box is trusted)."""
        return self.missed == 0


@dataclass
class TrackerConfig:
    """Tracker options.

    Attributes:
        iou_threshold: minimum IoU for a detection to continue a track.
        max_centre_distance: fallback match when the boxes do not overlap enough: maximum
            centre distance in units of the face side (a walking person's face moves about
            one face width in three frames at 25 fps).
        max_size_ratio: the fallback also needs the two boxes' sides within this factor.
        max_missed: a track is dropped after this many consecutive detector runs without a
            match.
        velocity_damping: fraction of the estimated per-frame motion kept when extrapolating
            between detections (0 = hold the last box).
    """

    iou_threshold: float = 0.3
    max_centre_distance: float = 1.5
    max_size_ratio: float = 1.5
    max_missed: int = 2
    velocity_damping: float = 0.5


@dataclass
class TrackUpdate:
    """What one detector run changed.

    Attributes:
        matched: tracks that continued with a detection.
        created: tracks started by new detections.
        lost: tracks that missed this detection (still alive unless also in ``removed``).
        removed: tracks aged out by this update.
    """

    matched: list[Track]
    created: list[Track]
    lost: list[Track]
    removed: list[Track]


class Tracker:
    """IoU / centre-distance tracker for one stream."""

    def __init__(self, config: TrackerConfig | None = None) -> None:
        self.config = config or TrackerConfig()
        self._tracks: list[Track] = []
        self._next_id = 1

    @property
    def tracks(self) -> list[Track]:
        """Live tracks, oldest first."""
        return list(self._tracks)

    def update(self, detections: Sequence[Detection], frame_index: int) -> TrackUpdate:
        """Associate a detector run's faces with the existing tracks.

        Args:
            detections: faces found in the frame ``frame_index``.
            frame_index: index of the frame the detections come from.

        Returns:
            Which tracks matched, were created, missed and were removed.
        """
        cfg = self.config
        pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self._tracks):
            for di, det in enumerate(detections):
                overlap = iou(track.box, det.box)
                if overlap >= cfg.iou_threshold:
                    pairs.append((overlap, ti, di))
        # Greedy assignment, best overlap first; optimal (Hungarian) assignment buys nothing
        # for the handful of faces per frame this engine sees.
        pairs.sort(key=lambda p: -p[0])
        used_t: set[int] = set()
        used_d: set[int] = set()
        assign: dict[int, int] = {}
        _assign_greedy(pairs, assign, used_t, used_d)
        # Fast motion between sparse detections: fall back to the nearest centre.
        dist_pairs: list[tuple[float, int, int]] = []
        for ti, track in enumerate(self._tracks):
            if ti in used_t:
                continue
            for di, det in enumerate(detections):
                if di in used_d:
                    continue
                d = centre_distance(track.box, det.box)
                if d <= cfg.max_centre_distance and _similar_size(
                    track.box, det.box, cfg.max_size_ratio
                ):
                    dist_pairs.append((d, ti, di))
        dist_pairs.sort(key=lambda p: p[0])
        _assign_greedy(dist_pairs, assign, used_t, used_d)

        matched: list[Track] = []
        lost: list[Track] = []
        removed: list[Track] = []
        for ti, track in enumerate(self._tracks):
            if ti in assign:
                det = detections[assign[ti]]
                self._continue(track, det, frame_index)
                matched.append(track)
            else:
                track.missed += 1
                lost.append(track)
                if track.missed > cfg.max_missed:
                    removed.append(track)
        created = []
        for di, det in enumerate(detections):
            if di not in used_d:
                track = Track(
                    id=self._next_id,
                    box=tuple(float(v) for v in det.box),  # type: ignore[arg-type]
                    score=float(det.score),
                    landmarks=np.asarray(det.landmarks, dtype=np.float32),
                    last_detect_frame=frame_index,
                    first_frame=frame_index,
                )
                self._next_id += 1
                created.append(track)
        removed_ids = {t.id for t in removed}
        self._tracks = [t for t in self._tracks if t.id not in removed_ids] + created
        return TrackUpdate(matched=matched, created=created, lost=lost, removed=removed)

    def predict(self, frame_index: int, frame_shape: tuple[int, ...] | None = None) -> None:
        """Move every track's box to its estimate for ``frame_index`` (no detection this frame).

        Args:
            frame_index: the frame being processed.
            frame_shape: (H, W, ...) of that frame; boxes are clipped to it when given.
        """
        damping = self.config.velocity_damping
        for track in self._tracks:
            steps = frame_index - track.last_detect_frame
            if steps <= 0 or damping <= 0:
                continue
            vx1, vy1, vx2, vy2 = track.velocity
            base = track.anchor or track.box
            box = (
                base[0] + damping * vx1 * steps,
                base[1] + damping * vy1 * steps,
                base[2] + damping * vx2 * steps,
                base[3] + damping * vy2 * steps,
            )
            if frame_shape is not None:
                h, w = frame_shape[0], frame_shape[1]
                box = (
                    min(max(box[0], 0.0), w - 1.0),
                    min(max(box[1], 0.0), h - 1.0),
                    min(max(box[2], 1.0), float(w)),
                    min(max(box[3], 1.0), float(h)),
                )
            if box[2] - box[0] < 1.0 or box[3] - box[1] < 1.0:
                # The corners move independently, so a box that shrank between detections, or
                # one leaving the frame and clipped to its edge, extrapolates to nothing (seen
                # in the soak: x1 > x2). Hold the last real box; the next detection decides.
                continue
            track.box = box

    def _continue(self, track: Track, det: Detection, frame_index: int) -> None:
        new_box = tuple(float(v) for v in det.box)
        anchor = track.anchor or track.box
        steps = frame_index - track.last_detect_frame
        if steps > 0:
            track.velocity = tuple((n - o) / steps for n, o in zip(new_box, anchor, strict=True))
        track.box = new_box  # type: ignore[assignment]
        track.anchor = new_box  # type: ignore[assignment]
        track.score = float(det.score)
        track.landmarks = np.asarray(det.landmarks, dtype=np.float32)
        track.hits += 1
        track.missed = 0
        track.last_detect_frame = frame_index
