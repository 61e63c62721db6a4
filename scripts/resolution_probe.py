"""Does a model's verdict on a photo depend on how large the face is in pixels?

Each image is shrunk by 1, 1/2, 1/4, 1/8 and 1/16 (INTER_AREA, as a camera of lower
resolution would see it), then goes through the runtime's own path (ONNX MTCNN, the largest
face, the canonical square crop, the classifier at its threshold). It prints the face's side
in pixels and p_fake per scale. Written for studio portraits of real people (the shared
``images/celebrities``: faces of ~1000 px, which v9 calls fake), to see whether the verdict
follows the face's resolution rather than the face.

Usage: .venv/bin/python scripts/resolution_probe.py MODEL.onnx IMAGE [IMAGE ...]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import cv2
import numpy as np

from train.data import face_crop, largest_face, make_detector, read_bgr
from train.predict import open_scorer, score_crops

SCALES = (1.0, 0.5, 0.25, 0.125, 0.0625)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("images", type=Path, nargs="+")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    scorer = open_scorer(args.model)
    detector = make_detector(20)  # small faces too: the 1/16 copies
    thr = scorer.contract.threshold
    print(f"model {args.model}, threshold {thr:.4f}; per scale: face side px / p_fake")
    print("image".ljust(28) + "".join(f"{f'x{s:g}':>16}" for s in SCALES))
    for path in args.images:
        img = read_bgr(path)
        cells = []
        for s in SCALES:
            small = img if s == 1.0 else cv2.resize(
                img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
            face = largest_face(detector.detect(small))
            if face is None:
                cells.append("no face")
                continue
            x1, y1, x2, y2 = face.box
            crop = face_crop(small, tuple(face.box), scorer.contract.margin)
            p = float(np.asarray(score_crops(scorer, [crop])).reshape(-1)[0])
            verdict = "F" if p >= thr else "R"
            cells.append(f"{max(x2 - x1, y2 - y1):4.0f} {p:.3f} {verdict}")
        print(path.name[:27].ljust(28) + "".join(f"{c:>16}" for c in cells))


if __name__ == "__main__":
    main()
