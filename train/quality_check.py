"""Does image quality alone predict the label of a recipe's training views?

A detector learns whatever separates its classes most cheaply. If the training views of real
and fake faces differ in sharpness, size or compression, a network can score quality instead of
manipulation (the shipped v9 did: sharp studio portraits of real people called fake, soft live
swaps called real). The check: draw training views exactly as the view cache draws them (same
augmentations, degradation chain and pseudo-swaps), measure three quality features of each, and
fit a logistic regression on those features alone. Its cross-validated AUC should be near 0.5;
issue 29 asks for <= 0.60.

Features, per view:
- ``sharpness``: log variance of the Laplacian of the grey crop at the network's input size
  (what the network sees);
- ``face_size``: log side of the native crop in pixels (how large the face was captured);
- ``blockiness``: JPEG block-boundary contrast, the largest over the 8x8 grid's 64 phases (a
  crop is rarely aligned with the grid of the JPEG it came from): the estimate of how heavily
  the view was compressed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

FEATURES = ("sharpness", "face_size", "blockiness")


@dataclass(frozen=True)
class QualityCheck:
    """The check's result for one recipe.

    Attributes:
        auc: cross-validated AUC of the logistic regression on all three features.
        per_feature: cross-validated AUC of each feature alone (oriented, >= 0.5).
        views: views measured (real, fake).
        means: per feature, (mean over real views, mean over fake views).
        per_source: views per training source (``source/label``), for the report.
    """

    auc: float
    per_feature: dict[str, float]
    views: tuple[int, int]
    means: dict[str, tuple[float, float]]
    per_source: dict[str, int] = field(default_factory=dict)


def blockiness(gray: np.ndarray) -> float:
    """Mean |step| across 8-px block boundaries over the mean |step| elsewhere (max over
    phases, rows and columns together); 1.0 for an image without block structure."""
    g = gray.astype(np.float32)
    dx = np.abs(np.diff(g, axis=1)).mean(axis=0)  # per column boundary
    dy = np.abs(np.diff(g, axis=0)).mean(axis=1)  # per row boundary
    if len(dx) < 16 or len(dy) < 16:
        return 1.0
    best = 1.0
    for px in range(8):
        for py in range(8):
            on = np.concatenate([dx[px::8], dy[py::8]]).mean()
            off_x = np.delete(dx, np.s_[px::8]).mean()
            off_y = np.delete(dy, np.s_[py::8]).mean()
            best = max(best, float(on / max((off_x + off_y) / 2.0, 1e-6)))
    return best


def quality_features(crop: np.ndarray, input_size: int) -> np.ndarray:
    """(sharpness, face_size, blockiness) of one native-resolution BGR crop."""
    gray = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    side = max(gray.shape[:2])
    interp = cv2.INTER_AREA if side > input_size else cv2.INTER_LINEAR
    small = cv2.resize(gray, (input_size, input_size), interpolation=interp)
    sharp = float(cv2.Laplacian(small, cv2.CV_64F).var())
    return np.array([math.log1p(sharp), math.log(side), blockiness(gray)], np.float64)


def cv_auc(x: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> float:
    """Stratified k-fold AUC of a standardised logistic regression on ``x``."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    scores = np.empty(len(y), np.float64)
    for train, test in StratifiedKFold(folds, shuffle=True, random_state=seed).split(x, y):
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
        model.fit(x[train], y[train])
        scores[test] = model.predict_proba(x[test])[:, 1]
    return float(roc_auc_score(y, scores))


def check_views(features: np.ndarray, labels: np.ndarray,
                sources: list[str] | None = None) -> QualityCheck:
    """The check on measured features (rows = views, columns = :data:`FEATURES`)."""
    y = np.asarray(labels, np.int64)
    per = {}
    for j, name in enumerate(FEATURES):
        auc = cv_auc(features[:, [j]], y)
        per[name] = max(auc, 1.0 - auc)
    means = {name: (float(features[y == 0, j].mean()), float(features[y == 1, j].mean()))
             for j, name in enumerate(FEATURES)}
    counts: dict[str, int] = {}
    for s in sources or []:
        counts[s] = counts.get(s, 0) + 1
    return QualityCheck(cv_auc(features, y), per, (int((y == 0).sum()), int((y == 1).sum())),
                        means, counts)


def recipe_views(cfg, n_views: int = 3000, seed: int = 0):
    """Draw ``n_views`` training views of a config the way its view cache draws them.

    Returns (features (N, 3), labels (N,), sources). Views are drawn from the cache's entries
    (augmented views and, with ``cache.sbi_views``, pseudo-swaps) with the probabilities the
    training loop draws them with (source-balanced, excluded sources never), so the check sees
    the mix the network is trained on.
    """
    from pathlib import Path
    from types import SimpleNamespace

    from train.cached_loop import _draw_weights
    from train.data import detect_faces, read_bgr
    from train.run_common import load_samples
    from train.view_cache import ViewPlan, _entries, _view

    samples = [s for s in load_samples(cfg) if s.split == "train"]
    faces = detect_faces([s.path for s in samples], Path(cfg.data.cache_dir) / "faces.npz",
                         cfg.contract.margin, cfg.data.min_face)
    views = max(cfg.cache.views, 1)
    plan = ViewPlan(views, cfg.cache.sbi_views, cfg.augment, cfg.sbi, cfg.seed,
                    degrade=cfg.degrade)
    entries = _entries(samples, faces, plan)
    index = SimpleNamespace(sample=np.array([e.sample for e in entries]),
                            sbi=np.array([e.sbi for e in entries]))
    probs = _draw_weights(samples, index, cfg.cache.sample_power,
                          tuple(cfg.cache.exclude_sources))
    rng = np.random.default_rng(seed)
    n = min(n_views, int((probs > 0).sum()))
    chosen = sorted(rng.choice(len(entries), size=n, replace=False, p=probs))
    feats, labels, sources = [], [], []
    for k in chosen:
        e = entries[k]
        s = samples[e.sample]
        crop, label = _view(read_bgr(s.path), faces[s.path], e, cfg.contract, plan, s.label)
        feats.append(quality_features(crop, cfg.contract.input_size))
        labels.append(s.label if label is None else label)
        sources.append("sbi/fake" if e.sbi else s.source)
    return np.array(feats), np.array(labels), sources
