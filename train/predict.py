"""Image-level batch inference with the ONNX model (no torch) or a checkpoint (torch).

Whole photos go through the runtime's path: MTCNN -> square native crop with the contract's
margin -> spectrum of the native crop + resized CNN input. ``crops=True`` treats each file as a
face crop already (the whole image is the crop).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from engine.classifier import mirror_near_threshold
from engine.errors import InputError, UsageError
from engine.features.spectral import radial_spectrum
from engine.io import IMAGE_SUFFIXES
from engine.preprocess import InputContract, prepare_crops

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "engine" / "models" / "classifier.onnx"


class Scorer(Protocol):
    """Anything with an input contract that maps prepared inputs to p_fake."""

    contract: InputContract

    def predict(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray: ...


class CheckpointScorer:
    """A training checkpoint run in torch (CPU), with the same interface as the ORT backend."""

    def __init__(self, path: str | Path) -> None:
        from train.checkpoint import build_model_from_checkpoint

        self.model, self.contract = build_model_from_checkpoint(path)
        self.name = "torch-cpu"

    def predict(self, crops: np.ndarray, spectrum: np.ndarray) -> np.ndarray:
        import torch

        with torch.no_grad():
            logits = self.model(torch.from_numpy(crops), torch.from_numpy(spectrum))
        return (1.0 / (1.0 + np.exp(-logits.numpy()[:, 0].astype(np.float64)))).astype(np.float32)


def open_scorer(model: str | Path | None = None, threads: int = 2) -> Scorer:
    """ONNX file -> ONNX Runtime backend (no torch); ``.pt`` checkpoint -> torch.

    Args:
        model: path; None means the shipped ``engine/models/classifier.onnx`` as ``screen``
            runs it on the CPU (its single-pass twin, engine/backends/factory.py).
        threads: ONNX Runtime intra-op threads.
    """
    if not model:  # what `screen` runs on the CPU: the shipped twin while it matches
        from engine.backends.factory import load_backend

        return load_backend("ort", None, threads=threads)
    path = Path(model)
    if not path.is_file():
        raise UsageError(f"model not found: {path}")
    if path.suffix == ".onnx":
        from engine.backends.ort import OrtBackend

        return OrtBackend(path, device="cpu", threads=threads)
    return CheckpointScorer(path)


def score_crops(scorer: Scorer, crops: list[np.ndarray], batch: int = 64) -> np.ndarray:
    """p_fake for native-resolution BGR face crops (the canonical pipeline, batched).

    A single-pass twin (``mirror_band`` in its metadata) gets its mirror pass near the
    threshold here as in the engine (:func:`engine.classifier.mirror_near_threshold`), so that
    evaluating the twin measures what ``screen`` runs."""
    c = scorer.contract
    traits = getattr(scorer, "traits", None)
    band = traits.mirror_band if traits is not None and not traits.flip_in_graph else 0.0
    out = []
    for i in range(0, len(crops), batch):
        chunk = crops[i : i + batch]
        x = prepare_crops(chunk, c)
        s = radial_spectrum(chunk, c.spectrum_bins).astype(np.float32)
        p = np.asarray(scorer.predict(x, s), np.float64).reshape(-1)
        if band > 0:
            p, _ = mirror_near_threshold(scorer.predict, p, x, s, c.threshold, band)
        out.append(p.astype(np.float32))
    return np.concatenate(out) if out else np.zeros(0, np.float32)


@dataclass(frozen=True)
class Prediction:
    """One face (or one crop file) and its score; ``face = -1`` marks a photo with no face."""

    path: str
    face: int
    box: tuple[float, float, float, float] | None
    p_fake: float | None
    verdict: str


def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files as given, folders expanded to their images (sorted, recursive)."""
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            files += sorted(f for f in p.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise UsageError(f"no such file or folder: {p}")
    if not files:
        raise UsageError("no image files in the inputs")
    return files


def predict_images(
    inputs: list[str | Path],
    scorer: Scorer,
    crops: bool = False,
    min_face: int = 40,
    all_faces: bool = True,
) -> list[Prediction]:
    """Score every face in the given images (or every file, if they are crops).

    Args:
        inputs: image files and/or folders.
        scorer: from :func:`open_scorer`.
        crops: the files are face crops already: no detection, the whole image is scored.
        min_face: detector's smallest face in pixels.
        all_faces: score every detected face (else only the largest).
    """
    from engine.crops import square_crop
    from engine.io import read_image

    files = expand_inputs(inputs)
    c = scorer.contract
    detector = None
    if not crops:
        from train.data import make_detector

        detector = make_detector(min_face)
    # (path, face index, box, native crop or None, status when there is no crop)
    items: list[tuple[str, int, tuple | None, np.ndarray | None, str]] = []
    for f in files:
        try:
            img = read_image(f)
        except InputError:
            items.append((str(f), -1, None, None, "unreadable"))
            continue
        if crops:
            items.append((str(f), 0, None, img, ""))
            continue
        dets = detector.detect(img)
        if not all_faces and dets:
            dets = [max(dets, key=lambda d: d.width * d.height)]
        if not dets:
            items.append((str(f), -1, None, None, "no-face"))
        for k, d in enumerate(dets):
            box = tuple(float(v) for v in d.box)
            items.append((str(f), k, box, square_crop(img, box, margin=c.margin), ""))
    scored = [it for it in items if it[3] is not None]
    p = score_crops(scorer, [it[3] for it in scored])
    by_id = {id(it): float(v) for it, v in zip(scored, p, strict=True)}
    out = []
    for it in items:
        prob = by_id.get(id(it))
        if prob is None:
            out.append(Prediction(it[0], it[1], None, None, it[4]))
        else:
            verdict = "fake" if prob >= c.threshold else "real"
            out.append(Prediction(it[0], it[1], it[2], prob, verdict))
    return out


def write_predictions_csv(rows: list[Prediction], path: str | Path) -> Path:
    """CSV with columns path,face,x1,y1,x2,y2,p_fake,verdict (empty box for crops)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "face", "x1", "y1", "x2", "y2", "p_fake", "verdict"])
        for r in rows:
            box = [f"{v:.1f}" for v in r.box] if r.box else ["", "", "", ""]
            prob = "" if r.p_fake is None else f"{r.p_fake:.6f}"
            w.writerow([r.path, r.face, *box, prob, r.verdict])
    return path
