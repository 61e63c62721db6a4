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


@dataclass(frozen=True)
class Frame:
    """One decoded video frame as it leaves a source.

    Attributes:
        stream: display id of the source (never contains credentials).
        index: 0-based position in the stream, counting every frame read (dropped ones too),
            so gaps in ``index`` show where frames were dropped.
        t: seconds; the media timestamp for files, time since the source started for live ones.
        image: HxWx3 BGR uint8 (sources convert grayscale and BGRA frames).
        decode_s: seconds the source's reader thread spent reading and decoding this frame
            (0 when unknown); the pipeline records it as its ``decode`` stage.
    """

    stream: str
    index: int
    t: float
    image: np.ndarray = field(repr=False)
    decode_s: float = 0.0
