"""How much a face crop can be trusted: detector facts and image facts, measured per crop.

A crop carries a :class:`CropQuality`: the face's side in native pixels, its sharpness, how
frontal it is (from the detector's five landmarks), the detector score, and whether the
landmarks look like a face at all. :func:`landmark_check` is shared with track confirmation
(:mod:`engine.judge.confirm`), so "a plausible face" means one thing.

``value`` folds the four continuous facts into one number in [0, 1] (the product of four
ramps, so any one bad fact pulls it down); the voters can weight a crop's p_fake by it or drop
crops below a gate (``PipelineConfig.weighting``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

# Ramps: the value of each fact is 0 at LO and 1 at HI (linear in between, clipped).
SIDE_LO, SIDE_HI = 32.0, 112.0  # native face side, pixels (the classifier sees >= ~100 px crops)
SHARP_LO, SHARP_HI = 10.0, 200.0  # variance of the Laplacian on the grey face box
FRONTAL_LO, FRONTAL_HI = 0.0, 0.6  # 1 - nose offset from the eye/mouth midline (see frontalness)
SCORE_LO, SCORE_HI = 0.90, 0.995
# Inter-ocular distance relative to the box width: MTCNN boxes put it near 0.4 on frontal
# faces, down to about 0.2 on a strong profile; outside this range the "eyes" are not eyes.
IOD_RANGE = (0.15, 0.8)


def _ramp(x: float, lo: float, hi: float) -> float:
    return float(min(1.0, max(0.0, (x - lo) / (hi - lo))))


@dataclass(frozen=True)
class CropQuality:
    """Quality facts of one face crop.

    Attributes:
        side: face box side in native frame pixels (the larger of width and height).
        sharpness: variance of the Laplacian of the grey face box (higher = sharper).
        frontal: 1 for a frontal face, towards 0 in profile (see :func:`frontalness`).
        score: detector score of the track's latest detection.
        landmarks_ok: the landmarks pass :func:`landmark_check`.
        value: combined quality in [0, 1].
    """

    side: float
    sharpness: float
    frontal: float
    score: float
    landmarks_ok: bool
    value: float

    def as_dict(self) -> dict:
        return {"side": round(self.side, 1), "sharpness": round(self.sharpness, 1),
                "frontal": round(self.frontal, 3), "score": round(self.score, 4),
                "landmarks_ok": self.landmarks_ok, "value": round(self.value, 3)}


def landmark_check(box, landmarks) -> str:
    """Plausible face geometry from MTCNN's five landmarks; "" when plausible, else why not.

    Eyes above the nose above the mouth corners, left eye left of the right eye, the points
    inside the (slightly widened) box, and an inter-ocular distance that fits the box width.
    """
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if pts.shape[0] != 5 or not np.all(np.isfinite(pts)):
        return "no landmarks"
    x1, y1, x2, y2 = (float(v) for v in box)
    w, h = max(x2 - x1, 1e-6), max(y2 - y1, 1e-6)
    le, re, nose, ml, mr = pts
    if not (x1 - 0.1 * w <= pts[:, 0].min() and pts[:, 0].max() <= x2 + 0.1 * w
            and y1 - 0.1 * h <= pts[:, 1].min() and pts[:, 1].max() <= y2 + 0.1 * h):
        return "landmarks outside the box"
    if re[0] <= le[0] or mr[0] <= ml[0]:
        return "eyes or mouth corners swapped"
    eye_y, mouth_y = (le[1] + re[1]) / 2, (ml[1] + mr[1]) / 2
    if not eye_y < nose[1] < mouth_y:
        return "eyes, nose, mouth out of order"
    iod = float(np.hypot(*(re - le))) / w
    if not IOD_RANGE[0] <= iod <= IOD_RANGE[1]:
        return "eye distance does not fit the box"
    return ""


def frontalness(landmarks) -> float:
    """1 - |nose offset from the eyes' and mouth's midline| / half the inter-ocular distance.

    1 for a frontal face; about 0 when the nose sits over an eye (a near profile); < 0 is
    clipped to 0.
    """
    pts = np.asarray(landmarks, dtype=np.float64).reshape(-1, 2)
    if pts.shape[0] != 5:
        return 0.0
    le, re, nose, ml, mr = pts
    half_iod = max(abs(re[0] - le[0]) / 2, 1e-6)
    mid = (le[0] + re[0] + ml[0] + mr[0]) / 4
    return float(max(0.0, 1.0 - abs(nose[0] - mid) / half_iod))


def sharpness(image: np.ndarray, box) -> float:
    """Variance of the Laplacian of the grey face box (native pixels, nothing resized)."""
    h, w = image.shape[:2]
    x1, y1 = max(0, int(box[0])), max(0, int(box[1]))
    x2, y2 = min(w, int(np.ceil(box[2]))), min(h, int(np.ceil(box[3])))
    if x2 - x1 < 3 or y2 - y1 < 3:
        return 0.0
    face = image[y1:y2, x1:x2]
    grey = cv2.cvtColor(face, cv2.COLOR_BGR2GRAY) if face.ndim == 3 else face
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def crop_quality(image: np.ndarray, box, landmarks, score: float) -> CropQuality:
    """Measure one face (``box`` and ``landmarks`` in the pixels of ``image``)."""
    side = float(max(box[2] - box[0], box[3] - box[1]))
    sharp = sharpness(image, box)
    frontal = frontalness(landmarks)
    ok = landmark_check(box, landmarks) == ""
    value = (_ramp(side, SIDE_LO, SIDE_HI) * _ramp(sharp, SHARP_LO, SHARP_HI)
             * _ramp(frontal, FRONTAL_LO, FRONTAL_HI) * _ramp(score, SCORE_LO, SCORE_HI))
    return CropQuality(side=side, sharpness=sharp, frontal=frontal, score=float(score),
                       landmarks_ok=ok, value=value if ok else 0.0)
