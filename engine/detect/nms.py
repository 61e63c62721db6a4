"""Non-maximum suppression in numpy, in the two flavours the MTCNN cascade uses.

facenet-pytorch uses torchvision's NMS (IoU, areas without the +1 pixel convention) in the first
two stages and the original MTCNN NMS (areas with +1, "Min" overlap) in the last one. Both are
reproduced exactly so that the cascade keeps the same boxes.

Both take ``boxes`` (N, 4) as x1, y1, x2, y2, ``scores`` (N,) and a ``threshold`` of overlap
above which the lower-scored box is suppressed, and return the indices of the kept boxes,
highest score first.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def nms_iou(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """torchvision.ops.nms: drop a box whose IoU with a kept, higher-scored box is > threshold."""

    def suppressed(inter: np.ndarray, area_kept: float, area_rest: np.ndarray) -> np.ndarray:
        return inter / (area_kept + area_rest - inter) > threshold  # NaN (empty boxes): kept

    return _greedy(boxes, np.argsort(-scores, kind="stable"), 0, suppressed)


def nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Original MTCNN "Min" NMS: overlap = intersection / smaller area, pixel areas with +1."""

    def suppressed(inter: np.ndarray, area_kept: float, area_rest: np.ndarray) -> np.ndarray:
        # Written as "not <=": a NaN overlap suppresses here, as in the original code.
        return ~(inter / np.minimum(area_kept, area_rest) <= threshold)

    return _greedy(boxes, np.argsort(scores)[::-1], 1, suppressed)


def _greedy(
    boxes: np.ndarray,
    order: np.ndarray,
    pixel: int,
    suppressed: Callable[[np.ndarray, float, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Keep the best remaining box of ``order``, drop the boxes it suppresses, repeat.

    ``pixel`` is added to every width and height (1: MTCNN's inclusive pixel convention);
    ``suppressed(intersection, kept box's area, other areas)`` says which of the rest go.
    """
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1 + pixel) * (y2 - y1 + pixel)
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + pixel)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + pixel)
        order = rest[~suppressed(w * h, area[i], area[rest])]
    return np.asarray(keep, dtype=np.int64)
