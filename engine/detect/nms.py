"""Non-maximum suppression in numpy, in the two flavours the MTCNN cascade uses.

facenet-pytorch uses torchvision's NMS (IoU, areas without the +1 pixel convention) in the first
two stages and the original MTCNN NMS (areas with +1, "Min" overlap) in the last one. Both are
reproduced exactly so that the cascade keeps the same boxes.
"""

from __future__ import annotations

import numpy as np


def nms_iou(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """torchvision.ops.nms: drop a box whose IoU with a kept, higher-scored box is > threshold.

    Args:
        boxes: (N, 4) x1, y1, x2, y2.
        scores: (N,).
        threshold: IoU above which the lower-scored box is suppressed.

    Returns:
        Indices of kept boxes, highest score first.
    """
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1) * (y2 - y1)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / (area[i] + area[rest] - inter)
        order = rest[~(iou > threshold)]
    return np.asarray(keep, dtype=np.int64)


def nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Original MTCNN "Min" NMS: overlap = intersection / smaller area, pixel areas with +1.

    Args:
        boxes: (N, 4) x1, y1, x2, y2.
        scores: (N,).
        threshold: overlap above which the lower-scored box is suppressed.

    Returns:
        Indices of kept boxes, highest score first.
    """
    if len(boxes) == 0:
        return np.empty(0, dtype=np.int64)
    x1, y1, x2, y2 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = np.argsort(scores)[::-1]
    keep = []
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        w = np.maximum(0.0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        overlap = (w * h) / np.minimum(area[i], area[rest])
        order = rest[overlap <= threshold]
    return np.asarray(keep, dtype=np.int64)
