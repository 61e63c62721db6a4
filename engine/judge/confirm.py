"""Track confirmation: which face tracks are real faces, and so may vote.

MTCNN also fires on hands, ears, patterns in the background; on the FaceForensics++ clips it
opened 3-9 such tracks per clip, some for dozens of frames. A track is *confirmed* once
``min_hits`` detections *in a row* each passed every check below (a false
positive passes now and then, a face passes run after run); only confirmed tracks vote for
the stream. Unconfirmed tracks are still classified and reported (their events say
``"confirmed": false``), so nothing is hidden, but they never decide a stream.

Checks on one detection (:func:`check_detection`):

* detector score >= ``min_score`` (O-Net's face probability);
* face side >= ``min_side`` native pixels;
* plausible landmark geometry (:func:`engine.judge.quality.landmark_check`: eyes above nose above
  mouth, sane inter-ocular distance for the box), unless ``landmarks`` is off.

Once confirmed, a track stays confirmed: a real face turning away for a moment is still a real
face (per-crop quality weighting is the tool for its worse crops).
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.judge.quality import landmark_check


@dataclass(frozen=True)
class ConfirmConfig:
    """When a face track counts as a face (defaults measured, see docs/STREAMING.md).

    Attributes:
        min_hits: consecutive detections that passed every check, needed to confirm (0 =
            every track is confirmed at once: confirmation off).
        min_score: smallest detector score of a passing detection.
        min_side: smallest face side (native pixels) of a passing detection.
        landmarks: require plausible landmark geometry.
    """

    min_hits: int = 3
    min_score: float = 0.95
    min_side: float = 40.0
    landmarks: bool = True

    def __post_init__(self) -> None:
        if self.min_hits < 0 or not 0.0 <= self.min_score < 1.0 or self.min_side < 0:
            raise ValueError("min_hits >= 0, min_score in [0, 1) and min_side >= 0 required")


def check_detection(config: ConfirmConfig, box, score: float, landmarks) -> str:
    """"" when one detection passes every check, else the first reason it does not."""
    if score < config.min_score:
        return "low detector score"
    if max(box[2] - box[0], box[3] - box[1]) < config.min_side:
        return "face too small"
    if config.landmarks:
        why = landmark_check(box, landmarks)
        if why:
            return why
    return ""


@dataclass
class Confirmation:
    """Confirmation state of one track, fed one detection at a time.

    Attributes:
        hits: detections matched to the track.
        good_hits: the current run of consecutive detections that passed every check.
        confirmed: ``good_hits`` reached ``min_hits`` at some point.
        reject: why the latest failing detection failed ("" when none failed yet).
    """

    hits: int = 0
    good_hits: int = 0
    confirmed: bool = False
    reject: str = ""

    def add(self, config: ConfirmConfig, box, score: float, landmarks) -> None:
        self.hits += 1
        why = check_detection(config, box, score, landmarks)
        if why:
            self.reject = why
            self.good_hits = 0
        else:
            self.good_hits += 1
        if self.good_hits >= config.min_hits:
            self.confirmed = True

    def why_not(self, config: ConfirmConfig) -> str:
        """Why the track is not confirmed (for the no-decision reason)."""
        if self.confirmed:
            return ""
        if self.reject:
            return self.reject
        return f"fewer than {config.min_hits} good detections in a row"
