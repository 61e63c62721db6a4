"""The MTCNN cascade (Zhang et al. 2016) in numpy + ONNX Runtime.

It reproduces ``facenet_pytorch.MTCNN.detect`` step by step (same pyramid, same resampling, same
NMS flavours and thresholds, same box arithmetic in float32), so the two find the same faces;
tests/engine/detect checks it. Differences, all deliberate:

- input is BGR (OpenCV's convention) or grayscale, not RGB;
- one image per call; results are :class:`engine.types.Detection` sorted by score, highest first
  (facenet-pytorch sorts by box area);
- a proposal whose crop would be empty is dropped (facenet-pytorch then misaligns its arrays).
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np

from engine.detect.area import area_resize, area_resize_regions, integral_image
from engine.detect.nets import MTCNNNets
from engine.detect.nms import nms_iou, nms_min
from engine.errors import InputError, UsageError
from engine.types import Detection

# MTCNN's P-Net sees 12x12 windows at stride 2 on each pyramid level.
CELL = 12
STRIDE = 2
# R-Net and O-Net batches are split so memory stays bounded on crowded frames. ONNX Runtime's
# CPU arena grows to the largest batch it has ever run and never shrinks: measured on the dev
# box, O-Net needs about 65 MiB of arena at 64 crops, 670 MiB at 256 and 1.2 GiB at 512;
# R-Net about 31 MiB at 128 and 130 MiB at 512. A crowded frame late in a long run used to
# grow the process by tens of MiB at a time (the soak's "steps", docs/SOURCES.md). With
# 64/16 and the warm-up below the three sessions hold about 67 MiB (C heap in use after
# loading), flat whatever the frames. Speed: on frames of the 1080p street clip (up to 512
# R-Net candidates each) chunks of 16 were not slower than 512 (loaded 2-core box).
RNET_BATCH = 64
ONET_BATCH = 16


def _net_input(x: np.ndarray) -> np.ndarray:
    """(..., H, W, C) float32 BGR (or gray) means -> (..., 3, H, W) RGB in ``(x - 127.5) / 128``.

    One copy does the channel flip, the transpose to planar layout and the scaling.
    """
    if x.shape[-1] == 1:
        x = np.broadcast_to(x, (*x.shape[:-1], 3))
    else:
        x = x[..., ::-1]
    out = np.ascontiguousarray(np.moveaxis(x, -1, -3))
    out -= np.float32(127.5)
    out *= np.float32(0.0078125)
    return out


def _batched(run, crops: np.ndarray, size: int) -> tuple[np.ndarray, ...]:
    """Run a net over crops in chunks of ``size`` and concatenate each output."""
    outs = [run(crops[i : i + size]) for i in range(0, len(crops), size)]
    return tuple(np.concatenate(parts) for parts in zip(*outs, strict=True))


def _rerec(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square around its centre (in place on a copy)."""
    boxes = boxes.copy()
    h = boxes[:, 3] - boxes[:, 1]
    w = boxes[:, 2] - boxes[:, 0]
    side = np.maximum(w, h)
    boxes[:, 0] = boxes[:, 0] + w * np.float32(0.5) - side * np.float32(0.5)
    boxes[:, 1] = boxes[:, 1] + h * np.float32(0.5) - side * np.float32(0.5)
    boxes[:, 2] = boxes[:, 0] + side
    boxes[:, 3] = boxes[:, 1] + side
    return boxes


def _bbreg(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Apply R/O-Net box regression (offsets relative to the +1 pixel box size)."""
    out = boxes.copy()
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    out[:, 0] = boxes[:, 0] + reg[:, 0] * w
    out[:, 1] = boxes[:, 1] + reg[:, 1] * h
    out[:, 2] = boxes[:, 2] + reg[:, 2] * w
    out[:, 3] = boxes[:, 3] + reg[:, 3] * h
    return out


def _crop_regions(boxes: np.ndarray, width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Integer crop rectangles clipped to the frame, as facenet-pytorch's ``pad``.

    Returns:
        (regions, valid): (N, 4) half-open x0, y0, x1, y1 and a mask of non-empty ones.
    """
    b = np.trunc(boxes[:, :4]).astype(np.int64)
    x0 = np.maximum(b[:, 0], 1) - 1
    y0 = np.maximum(b[:, 1], 1) - 1
    x1 = np.minimum(b[:, 2], width)
    y1 = np.minimum(b[:, 3], height)
    regions = np.stack([x0, y0, x1, y1], axis=1)
    valid = (x1 > x0) & (y1 > y0) & (x0 < width) & (y0 < height)
    return regions, valid


# Candidate squares per known box for :meth:`MTCNNDetector.refine`: the box itself, shifted by
# REFINE_SHIFT of its side in the eight directions, and scaled by each of REFINE_SCALES. R-Net
# learnt its box regression from crops of IoU >= 0.4 with a face, so candidates this close
# pull a moved face back into place (measured on street.mp4, tests/engine/detect).
REFINE_SHIFT = 0.2
REFINE_SCALES = (0.8, 1.25)
REFINE_NMS = 0.5


def refine_candidates(boxes: np.ndarray) -> np.ndarray:
    """(N, 4) known boxes -> (N * 11, 5) candidate squares (score column 1) around each."""
    squares = _rerec(np.concatenate([boxes, np.ones((len(boxes), 1), np.float32)], axis=1))
    side = (squares[:, 2] - squares[:, 0])[:, None]
    cx = (squares[:, 0] + squares[:, 2])[:, None] / 2
    cy = (squares[:, 1] + squares[:, 3])[:, None] / 2
    steps = np.array([-REFINE_SHIFT, 0.0, REFINE_SHIFT], np.float32)
    dx, dy = (a.ravel() for a in np.meshgrid(steps, steps))
    half = np.concatenate([np.full(9, 0.5), np.asarray(REFINE_SCALES) / 2]).astype(np.float32)
    dx = np.concatenate([dx, np.zeros(len(REFINE_SCALES), np.float32)])
    dy = np.concatenate([dy, np.zeros(len(REFINE_SCALES), np.float32)])
    x = cx + dx * side
    y = cy + dy * side
    h = half * side
    out = np.stack([x - h, y - h, x + h, y + h, np.ones_like(x)], axis=2)
    return out.reshape(-1, 5).astype(np.float32)


def _fewer(boxes: np.ndarray) -> np.ndarray:
    """R-Net's survivors around known faces, thinned for O-Net (its cost is per crop): around
    one face the eleven candidates leave several boxes that overlap by more than R-Net's NMS
    lets through; O-Net needs one or two of them (REFINE_NMS)."""
    return boxes[nms_iou(boxes[:, :4], boxes[:, 4], REFINE_NMS)]


def _detections(boxes: np.ndarray, points: np.ndarray) -> list[Detection]:
    return [
        Detection(
            box=(float(b[0]), float(b[1]), float(b[2]), float(b[3])),
            score=float(b[4]),
            landmarks=p.astype(np.float64),
        )
        for b, p in zip(boxes, points, strict=True)
    ]


class MTCNNDetector:
    """Face detector: MTCNN's P-, R- and O-Net in ONNX Runtime, everything else in numpy.

    Args:
        min_face: smallest face side (pixels) searched for; smaller is slower.
        thresholds: score thresholds of P-Net, R-Net and O-Net.
        scale_factor: ratio between successive pyramid levels, in (0, 1).
        model_dir: folder with pnet.onnx, rnet.onnx, onet.onnx (default: the bundled ones).
        providers: ONNX Runtime execution providers (default: CPU).
        threads: ONNX Runtime intra-op threads (default: ONNX Runtime's choice).

    Raises:
        UsageError: a parameter is out of range.
        ModelError: a model file is missing or corrupt.
    """

    def __init__(
        self,
        min_face: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7),
        scale_factor: float = 0.709,
        model_dir: Path | None = None,
        providers: list[str] | None = None,
        threads: int | None = None,
    ) -> None:
        if min_face < 1:
            raise UsageError(f"min_face must be >= 1 pixel, got {min_face}")
        if not 0.0 < scale_factor < 1.0:
            raise UsageError(f"scale_factor must be in (0, 1), got {scale_factor}")
        thresholds = tuple(float(t) for t in thresholds)
        if len(thresholds) != 3 or not all(0.0 <= t <= 1.0 for t in thresholds):
            raise UsageError(f"thresholds must be three values in [0, 1], got {thresholds}")
        self.min_face = int(min_face)
        self.thresholds = thresholds
        self.scale_factor = float(scale_factor)
        self.nets = MTCNNNets.load(model_dir, providers, threads)
        self._warm_up()

    def with_min_face(self, min_face: int) -> MTCNNDetector:
        """This detector for another smallest face size, sharing its networks (and sessions)."""
        if min_face < 1:
            raise UsageError(f"min_face must be >= 1 pixel, got {min_face}")
        other = copy.copy(self)
        other.min_face = int(min_face)
        return other

    def _warm_up(self) -> None:
        """Run R-Net and O-Net once at their largest chunk size.

        ONNX Runtime sizes its arena on the first run of each shape; doing the largest one now
        puts that memory in the start-up footprint instead of a step in the middle of a run
        (and keeps the first crowded frame from paying for the allocation). Twice, because ONNX
        Runtime records a shape's memory pattern on the first run and allocates it as one block
        on the second.
        """
        for _ in range(2):
            self.nets.run_rnet(np.zeros((RNET_BATCH, 3, 24, 24), np.float32))
            self.nets.run_onet(np.zeros((ONET_BATCH, 3, 48, 48), np.float32))

    def pyramid_scales(self, height: int, width: int) -> list[float]:
        """Scales at which P-Net scans a frame of this size (largest first)."""
        scale = CELL / self.min_face
        min_side = min(height, width) * scale
        scales = []
        while min_side >= CELL:
            scales.append(scale)
            scale *= self.scale_factor
            min_side *= self.scale_factor
        return scales

    def detect(self, image_bgr: np.ndarray) -> list[Detection]:
        """Find faces in one image.

        Args:
            image_bgr: HxWx3 BGR uint8 (OpenCV's order) or HxW grayscale uint8.

        Returns:
            Detections in pixel coordinates of ``image_bgr``, highest score first.

        Raises:
            InputError: the array is not an image.
        """
        image = self._checked(image_bgr)
        height, width = image.shape[:2]
        table = integral_image(image)
        boxes = self._stage_pnet(table, height, width)
        if len(boxes):
            boxes = self._stage_rnet(table, boxes, height, width)
        if not len(boxes):
            return []
        return _detections(*self._stage_onet(table, boxes, height, width))

    def refine(self, image_bgr: np.ndarray, boxes: np.ndarray | list) -> list[Detection]:
        """Find again the faces near known boxes with R-Net and O-Net alone (no P-Net pyramid).

        Between two full detections a tracked face is where its track says, give or take a
        fraction of its size: instead of scanning the pyramid for every size from
        ``min_face`` up (the cost of :meth:`detect`), the cascade's last two stages are run on
        a few candidate squares around each box (:func:`refine_candidates`), with
        :meth:`detect`'s thresholds, box regression and NMS. A face that has left its box or
        turned away scores below the thresholds and is not returned.

        Args:
            image_bgr: HxWx3 BGR uint8 or HxW grayscale uint8.
            boxes: (N, 4) x1, y1, x2, y2 of the known faces, in pixels of ``image_bgr``.

        Returns:
            Detections in pixel coordinates of ``image_bgr``, highest score first.
        """
        return self.refine_many([(image_bgr, boxes)])[0]

    def refine_many(self, windows: list[tuple[np.ndarray, np.ndarray | list]]
                    ) -> list[list[Detection]]:
        """:meth:`refine` on several images (windows of one frame) with one R-Net and one
        O-Net pass over all their candidates: the networks' per-call cost is most of a small
        window's."""
        items = []
        for image_bgr, known in windows:
            image = self._checked(image_bgr)
            known = np.asarray(known, np.float32).reshape(-1, 4)
            table = integral_image(image) if len(known) else None
            items.append((table, image.shape[0], image.shape[1], refine_candidates(known)))
        none = np.empty((0, 5), np.float32)
        rnet = self._across(items, 24, self.nets.run_rnet, RNET_BATCH)
        items = [(t, h, w, _fewer(self._rnet_post(*out)) if out else none)
                 for (t, h, w, _), out in zip(items, rnet, strict=True)]
        onet = self._across(items, 48, self.nets.run_onet, ONET_BATCH)
        return [_detections(*self._onet_post(*out)) if out else [] for out in onet]

    def _across(self, items, size, run, chunk) -> list[tuple]:
        """Each item's (table, height, width, boxes) cropped and one net run over all the
        crops in shared chunks; per item (its valid boxes, *the net's outputs for them), or
        () when it has none."""
        crops, kept = [], []
        for table, height, width, boxes in items:
            if len(boxes):
                c, valid = self._crops(table, boxes, height, width, size)
                boxes = boxes[valid]
            else:
                c = np.empty((0, 3, size, size), np.float32)
            crops.append(c)
            kept.append(boxes)
        sizes = [len(b) for b in kept]
        if not sum(sizes):
            return [() for _ in items]
        outs = _batched(run, np.concatenate(crops), chunk)
        split = [np.split(o, np.cumsum(sizes)[:-1]) for o in outs]
        return [(b, *(part[i] for part in split)) if len(b) else ()
                for i, b in enumerate(kept)]

    @staticmethod
    def _checked(image: np.ndarray) -> np.ndarray:
        if not isinstance(image, np.ndarray) or image.size == 0:
            raise InputError("detect() needs a non-empty numpy image")
        if image.dtype != np.uint8:
            raise InputError(f"detect() needs a uint8 image, got {image.dtype}")
        if image.ndim == 2 or (image.ndim == 3 and image.shape[2] == 3):
            return np.ascontiguousarray(image)
        raise InputError(f"detect() needs HxWx3 BGR or HxW grayscale, got shape {image.shape}")

    def _stage_pnet(self, table: np.ndarray, height: int, width: int) -> np.ndarray:
        """Dense proposals over the pyramid -> (N, 5) x1, y1, x2, y2, score (float32)."""
        per_scale = []
        for scale in self.pyramid_scales(height, width):
            level = area_resize(table, int(height * scale + 1), int(width * scale + 1))
            reg, prob = self.nets.run_pnet(_net_input(level)[None])
            ys, xs = np.nonzero(prob[0, 1] >= self.thresholds[0])
            if not len(ys):
                continue
            cells = np.stack([xs, ys], axis=1).astype(np.float32)
            scale32 = np.float32(scale)
            q1 = np.floor((STRIDE * cells + 1) / scale32)
            q2 = np.floor((STRIDE * cells + CELL) / scale32)
            found = np.concatenate(
                [q1, q2, prob[0, 1, ys, xs, None], reg[0][:, ys, xs].T], axis=1
            ).astype(np.float32)
            per_scale.append(found[nms_iou(found[:, :4], found[:, 4], 0.5)])
        if not per_scale:
            return np.empty((0, 5), dtype=np.float32)
        boxes = np.concatenate(per_scale)
        boxes = boxes[nms_iou(boxes[:, :4], boxes[:, 4], 0.7)]
        w = boxes[:, 2] - boxes[:, 0]
        h = boxes[:, 3] - boxes[:, 1]
        refined = np.stack(
            [
                boxes[:, 0] + boxes[:, 5] * w,
                boxes[:, 1] + boxes[:, 6] * h,
                boxes[:, 2] + boxes[:, 7] * w,
                boxes[:, 3] + boxes[:, 8] * h,
                boxes[:, 4],
            ],
            axis=1,
        )
        return _rerec(refined)

    def _crops(self, table, boxes, height, width, size) -> tuple[np.ndarray, np.ndarray]:
        regions, valid = _crop_regions(boxes, width, height)
        crops = area_resize_regions(table, regions[valid], size, size)
        return _net_input(crops), valid

    def _stage_rnet(self, table, boxes, height, width) -> np.ndarray:
        crops, valid = self._crops(table, boxes, height, width, 24)
        return self._rnet_post(boxes[valid], *_batched(self.nets.run_rnet, crops, RNET_BATCH))

    def _rnet_post(self, boxes: np.ndarray, reg: np.ndarray, prob: np.ndarray) -> np.ndarray:
        """R-Net's threshold, NMS and box regression over its outputs for ``boxes``."""
        score = prob[:, 1]
        keep = score > self.thresholds[1]
        boxes = np.concatenate([boxes[keep, :4], score[keep, None]], axis=1)
        reg = reg[keep]
        pick = nms_iou(boxes[:, :4], boxes[:, 4], 0.7)
        return _rerec(_bbreg(boxes[pick], reg[pick]))

    def _stage_onet(self, table, boxes, height, width) -> tuple[np.ndarray, np.ndarray]:
        crops, valid = self._crops(table, boxes, height, width, 48)
        return self._onet_post(boxes[valid], *_batched(self.nets.run_onet, crops, ONET_BATCH))

    def _onet_post(self, boxes: np.ndarray, reg: np.ndarray, marks: np.ndarray,
                   prob: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """O-Net's threshold, landmarks, box regression and NMS over its outputs for ``boxes``."""
        score = prob[:, 1]
        keep = score > self.thresholds[2]
        boxes = np.concatenate([boxes[keep, :4], score[keep, None]], axis=1)
        reg, marks = reg[keep], marks[keep]
        w = (boxes[:, 2] - boxes[:, 0] + 1)[:, None]
        h = (boxes[:, 3] - boxes[:, 1] + 1)[:, None]
        points = np.stack(
            [w * marks[:, :5] + boxes[:, :1] - 1, h * marks[:, 5:] + boxes[:, 1:2] - 1], axis=2
        )
        boxes = _bbreg(boxes, reg)
        pick = nms_min(boxes[:, :4], boxes[:, 4], 0.7)
        return boxes[pick], points[pick]
