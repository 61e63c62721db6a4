"""Baseline: how much do low-level noise residuals alone separate ffhq-vs-stylegan1?

Steganalysis-style GAN detectors (Nataraj et al. 2019; Marra et al. 2018) look at pixel
residuals. This script measures that signal on our data with no deep learning: per colour
channel, first-order horizontal/vertical and second-order horizontal residuals are quantised
to 5 levels, and the horizontal and vertical co-occurrences of neighbouring levels (25 bins
each) form a 270-value feature; a standardised logistic regression is fitted on the training
split and scored on validation and test (same hash split and face crops as training).

Usage::

    .venv/bin/python bench/residual_baseline.py            # face crops (the engine's input)
    .venv/bin/python bench/residual_baseline.py --whole    # whole 256 px images
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from train.data import detect_faces, face_crop, read_bgr  # noqa: E402
from train.sources import load_sources  # noqa: E402

LEVELS = 2  # residuals clipped to [-2, 2] after dividing by 2: 5 levels


def cooccurrence_features(img: np.ndarray) -> np.ndarray:
    """270 co-occurrence frequencies of quantised residuals of a BGR uint8 image."""
    side = 2 * LEVELS + 1
    feats = []
    for c in range(3):
        ch = img[:, :, c].astype(np.float32)
        residuals = (ch[:, 1:] - ch[:, :-1], ch[1:, :] - ch[:-1, :],
                     ch[:, 2:] - 2 * ch[:, 1:-1] + ch[:, :-2])
        for r in residuals:
            q = np.clip(np.round(r / 2), -LEVELS, LEVELS).astype(np.int64) + LEVELS
            for a, b in ((q[:, :-1], q[:, 1:]), (q[:-1, :], q[1:, :])):
                hist = np.bincount((a * side + b).ravel(), minlength=side * side)
                feats.append(hist / hist.sum())
    return np.concatenate(feats)


def main() -> int:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.preprocessing import StandardScaler

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=str(REPO.parent / "shared/data/faces/ffhq-vs-stylegan1"))
    ap.add_argument("--cache", default="runs/cache/faces.npz")
    ap.add_argument("--whole", action="store_true", help="whole images instead of face crops")
    args = ap.parse_args()

    samples = load_sources(args.root)  # the registry's group split, as in training
    faces = detect_faces([s.path for s in samples], args.cache, 0.25)
    x: dict[str, list] = {"train": [], "val": [], "test": []}
    y: dict[str, list] = {"train": [], "val": [], "test": []}
    for s in samples:
        img = read_bgr(s.path)
        if not args.whole:
            img = face_crop(img, faces[s.path].box, 0.25)
        x[s.split].append(cooccurrence_features(img))
        y[s.split].append(s.label)
    scaler = StandardScaler().fit(x["train"])
    print(f"{'crops' if not args.whole else 'whole images'}: train {len(y['train'])}, "
          f"val {len(y['val'])}, test {len(y['test'])}")
    for c in (0.01, 0.1, 1.0):
        model = LogisticRegression(C=c, max_iter=3000).fit(scaler.transform(x["train"]),
                                                           y["train"])
        aucs = [roc_auc_score(y[k], model.predict_proba(scaler.transform(x[k]))[:, 1])
                for k in ("val", "test")]
        print(f"C={c:<5} val AUC {aucs[0]:.3f}  test AUC {aucs[1]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
