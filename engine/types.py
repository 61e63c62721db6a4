"""Small typed records that flow between pipeline stages."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Detection:
    """One face found by the detector, in the pixel coordinates of the frame it came from.

    Attributes:
        box: (x1, y1, x2, y2) in pixels, float; x2/y2 are exclusive edges as in MTCNN.
        score: detector confidence in [0, 1] (O-Net probability of "face").
        landmarks: (5, 2) float array of (x, y): left eye, right eye, nose, left and right
            mouth corner (left/right as seen in the image).
    """

    box: tuple[float, float, float, float]
    score: float
    landmarks: np.ndarray = field(repr=False)

    @property
    def width(self) -> float:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> float:
        return self.box[3] - self.box[1]
