"""Does a model's verdict on a photo depend on how large the face is in pixels?

Each image is shrunk by 1, 1/2, 1/4, 1/8 and 1/16 (INTER_AREA, as a camera of lower
resolution would see it), then goes through the runtime's own path (ONNX MTCNN, the largest
face, the canonical square crop, the classifier at its threshold). It prints the face's side
in pixels and p_fake per scale. Written for studio portraits of real people (the shared
``images/celebrities``: faces of ~1000 px, which v9 calls fake), to see whether the verdict
follows the face's resolution rather than the face.

``--sources N`` also prints, for N random faces of each shared source, the median sharpness of
what the network sees (variance of the Laplacian of the grey 224 px input crop; the images
above get the same figure at x1), to compare the portraits with the training sources.

A video file stands for its frame ``--frame`` (default 30).

Usage: .venv/bin/python research/resolution_probe.py MODEL.onnx IMAGE|VIDEO [...] [--sources 60]
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import cv2
import numpy as np

from train.data import face_crop, largest_face, load_faces, make_detector, read_bgr
from train.predict import open_scorer, score_crops

SCALES = (1.0, 0.5, 0.25, 0.125, 0.0625)
FACES_CACHE = Path("runs/cache/faces.npz")
VIDEO = {".mp4", ".avi", ".mov", ".mkv", ".webm"}


def read_frame(path: Path, index: int) -> np.ndarray:
    """Frame ``index`` of a video (SystemExit with the reason if it cannot be read)."""
    cap = cv2.VideoCapture(str(path))
    cap.set(cv2.CAP_PROP_POS_FRAMES, index)
    ok, frame = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"cannot read frame {index} of {path}")
    return frame


def input_sharpness(crop: np.ndarray, size: int) -> float:
    """Variance of the Laplacian of the grey crop resized as the runtime resizes it."""
    interp = cv2.INTER_AREA if crop.shape[0] > size else cv2.INTER_LINEAR
    grey = cv2.cvtColor(cv2.resize(crop, (size, size), interpolation=interp), cv2.COLOR_BGR2GRAY)
    return float(cv2.Laplacian(grey, cv2.CV_32F).var())


def source_sharpness(n: int, margin: float, size: int) -> dict[str, float]:
    """Median input sharpness of ``n`` random faces per shared source (cached detections)."""
    if not FACES_CACHE.is_file():
        raise SystemExit(f"--sources needs the detection cache {FACES_CACHE} (run a training)")
    faces = load_faces(FACES_CACHE)
    by_source: dict[str, list[str]] = {}
    for path in sorted(faces):
        if "/faces/" in path:
            source = "/".join(path.split("/faces/")[1].split("/")[:2])
            by_source.setdefault(source, []).append(path)
    rng = np.random.default_rng(0)
    out = {}
    for source, paths in sorted(by_source.items()):
        pick = rng.choice(paths, min(n, len(paths)), replace=False)
        out[source] = float(np.median([
            input_sharpness(face_crop(read_bgr(p), faces[p].box, margin), size) for p in pick]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("images", type=Path, nargs="+")
    ap.add_argument("--sources", type=int, default=0, metavar="N")
    ap.add_argument("--frame", type=int, default=30, help="the frame of a video that is used")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    scorer = open_scorer(args.model)
    detector = make_detector(20)  # small faces too: the 1/16 copies
    thr = scorer.contract.threshold
    size = scorer.contract.input_size
    print(f"model {args.model}, threshold {thr:.4f}; per scale: face side px / p_fake")
    print("image".ljust(28) + "".join(f"{f'x{s:g}':>16}" for s in SCALES) + "  sharpness x1")
    for path in args.images:
        img = read_frame(path, args.frame) if path.suffix.lower() in VIDEO else read_bgr(path)
        cells, sharp = [], float("nan")
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
            if s == 1.0:
                sharp = input_sharpness(crop, size)
            verdict = "F" if p >= thr else "R"
            cells.append(f"{max(x2 - x1, y2 - y1):4.0f} {p:.3f} {verdict}")
        print(path.name[:27].ljust(28) + "".join(f"{c:>16}" for c in cells) + f"  {sharp:9.0f}")
    if args.sources:
        print(f"\nmedian input sharpness of {args.sources} faces per shared source:")
        for source, value in source_sharpness(args.sources, scorer.contract.margin, size).items():
            print(f"  {source:30s} {value:7.0f}")


if __name__ == "__main__":
    main()
