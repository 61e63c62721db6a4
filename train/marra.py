"""Marra et al.'s GAN fingerprints as a baseline: per-source noise-residual averages.

Every image goes through one canonical pipeline (centre square crop, resize to a common side,
optional JPEG re-encode), becomes grayscale, and yields a noise residual ``r = x - denoise(x)``
computed in floating point. A source's fingerprint is the mean residual of its training images;
an image is attributed to the source whose fingerprint correlates best (Pearson) with its
residual. Accuracy is reported per source on a held-back split (a hash of the file name, see
:func:`train.splits.assign_split`).

The residual is never computed on uint8: ``img - blur(img)`` in uint8 wraps every negative
value around to 256 - v (a known bug in other implementations), which turns the residual into
mostly noise from the wrap-around. Here the input is cast to float64 first.

    .venv/bin/python -m train.marra ../shared/data/faces --size 128 --denoiser gaussian
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.errors import InputError, UsageError
from engine.features.spectral import centre_square, to_gray

DENOISERS = ("gaussian", "median", "bilateral")


@dataclass(frozen=True)
class CanonicalPipeline:
    """How every image is brought to one form before residuals are taken.

    Attributes:
        size: side of the square after resizing (INTER_AREA down, INTER_LINEAR up).
        jpeg_quality: re-encode at this JPEG quality (None: no re-encoding).
    """

    size: int = 128
    jpeg_quality: int | None = None

    def __call__(self, bgr: np.ndarray) -> np.ndarray:
        sq = centre_square(bgr)
        interp = cv2.INTER_AREA if sq.shape[0] >= self.size else cv2.INTER_LINEAR
        out = cv2.resize(sq, (self.size, self.size), interpolation=interp)
        if self.jpeg_quality is not None:
            ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
            if not ok:
                raise InputError("JPEG re-encoding failed")
            out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
        return out


def denoise(x: np.ndarray, denoiser: str = "gaussian") -> np.ndarray:
    """Denoised copy of a float image (2D, 0..255 scale), in float64."""
    if denoiser == "gaussian":
        return cv2.GaussianBlur(x, (0, 0), 1.0, borderType=cv2.BORDER_REFLECT)
    if denoiser == "median":
        return cv2.medianBlur(x.astype(np.float32), 3).astype(np.float64)  # float32: ksize 3/5
    if denoiser == "bilateral":
        # Edge-preserving: the residual keeps less scene content along edges than a blur's.
        return cv2.bilateralFilter(x.astype(np.float32), 5, 20.0, 2.0).astype(np.float64)
    raise UsageError(f"unknown denoiser {denoiser!r}; choose from {DENOISERS}")


def noise_residual(img: np.ndarray, denoiser: str = "gaussian") -> np.ndarray:
    """``x - denoise(x)`` of an (H, W) or BGR (H, W, 3) image, computed in float64.

    Returns:
        (H, W) float64 residual (negative values stay negative: no uint8 wrap-around).
    """
    x = np.asarray(img).astype(np.float64)  # before any arithmetic: uint8 would wrap
    if x.ndim == 3:
        x = to_gray(x, np.float64)
    return x - denoise(x, denoiser)


def _standardise(v: np.ndarray) -> np.ndarray:
    v = v.ravel() - v.mean()
    norm = np.linalg.norm(v)
    return v / norm if norm > 0 else v


@dataclass(frozen=True)
class Fingerprints:
    """Per-source mean residuals, standardised (zero mean, unit norm) for correlation."""

    sources: tuple[str, ...]
    prints: np.ndarray  # (n_sources, size * size)
    counts: tuple[int, ...]

    def correlations(self, residual: np.ndarray) -> np.ndarray:
        """Pearson correlation of one residual with every fingerprint."""
        return self.prints @ _standardise(residual)

    def attribute(self, residual: np.ndarray) -> str:
        return self.sources[int(np.argmax(self.correlations(residual)))]


def fit_fingerprints(residuals: dict[str, list[np.ndarray]]) -> Fingerprints:
    """Average the residuals of each source."""
    sources = tuple(sorted(residuals))
    prints = np.stack([_standardise(np.mean(residuals[s], axis=0)) for s in sources])
    return Fingerprints(sources, prints, tuple(len(residuals[s]) for s in sources))


@dataclass(frozen=True)
class AttributionResult:
    """Held-back attribution accuracy per source."""

    sources: tuple[str, ...]
    n_train: tuple[int, ...]
    n_test: tuple[int, ...]
    accuracy: tuple[float, ...]  # recall per true source
    confusion: np.ndarray  # rows: true source, columns: attributed source
    overall: float
    balanced: float


def evaluate(
    root: str | Path,
    pipeline: CanonicalPipeline = CanonicalPipeline(),
    denoiser: str = "gaussian",
    test: float = 0.3,
    limit: int | None = None,
    seed: int = 0,
) -> AttributionResult:
    """Fingerprints from the train part of every real*/fake* source below ``root``, attribution
    accuracy on the held-back part.

    Args:
        root: folder tree (e.g. ../shared/data/faces), sources = <parent>/<real*|fake*> folders.
        pipeline: the canonical pipeline applied to every image.
        denoiser: one of :data:`DENOISERS`.
        test: held-back fraction (by hash of the file name).
        limit: at most this many images per source (sorted order), for quick runs.
        seed: changes the held-back assignment.
    """
    from train.labelled import assign_split
    from train.splits import split_tree

    items = split_tree(root, val=0.0, test=0.0).items
    train: dict[str, list[np.ndarray]] = {}
    held: list[tuple[str, np.ndarray]] = []
    seen: dict[str, int] = {}
    for item in items:
        if limit is not None and seen.get(item.source, 0) >= limit:
            continue
        img = cv2.imread(str(item.path))
        if img is None:
            continue  # videos and undecodable files are not part of this baseline
        seen[item.source] = seen.get(item.source, 0) + 1
        residual = noise_residual(pipeline(img), denoiser)
        if assign_split(item.group, 0.0, test, seed) == "test":
            held.append((item.source, residual))
        else:
            train.setdefault(item.source, []).append(residual)
    if len(train) < 2:
        raise UsageError(f"need at least two sources with training images below {root}")
    fp = fit_fingerprints(train)
    index = {s: i for i, s in enumerate(fp.sources)}
    confusion = np.zeros((len(fp.sources), len(fp.sources)), np.int64)
    for source, residual in held:
        if source in index:
            confusion[index[source], index[fp.attribute(residual)]] += 1
    n_test = confusion.sum(axis=1)
    acc = np.divide(np.diag(confusion), n_test, out=np.zeros(len(n_test)), where=n_test > 0)
    return AttributionResult(
        fp.sources, fp.counts, tuple(int(n) for n in n_test), tuple(float(a) for a in acc),
        confusion, float(np.trace(confusion) / max(confusion.sum(), 1)),
        float(acc[n_test > 0].mean()) if (n_test > 0).any() else 0.0,
    )


def format_result(result: AttributionResult, title: str = "") -> str:
    """Markdown table: per-source attribution accuracy and the confusion matrix."""
    lines = [title, ""] if title else []
    lines += ["| source | train | held back | attributed correctly |", "| --- | --- | --- | --- |"]
    for s, ntr, nte, acc in zip(result.sources, result.n_train, result.n_test, result.accuracy,
                                strict=True):
        lines.append(f"| {s} | {ntr} | {nte} | {acc:.3f} |")
    lines.append(
        f"\noverall {result.overall:.3f}, balanced (mean per source) {result.balanced:.3f}"
    )
    lines.append("\nconfusion (rows: true source, columns: attributed):\n")
    lines.append("| true \\ attributed | " + " | ".join(result.sources) + " |")
    lines.append("| --- " * (len(result.sources) + 1) + "|")
    for s, row in zip(result.sources, result.confusion, strict=True):
        lines.append(f"| {s} | " + " | ".join(str(int(v)) for v in row) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Marra-style fingerprint attribution baseline.")
    parser.add_argument("root", type=Path, help="folder with <source>/real*|fake* image folders")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--jpeg", type=int, default=None, help="re-encode at this JPEG quality")
    parser.add_argument("--denoiser", choices=DENOISERS, default="gaussian")
    parser.add_argument("--test", type=float, default=0.3)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    pipeline = CanonicalPipeline(args.size, args.jpeg)
    result = evaluate(args.root, pipeline, args.denoiser, args.test, args.limit, args.seed)
    title = (f"Marra fingerprints: {args.root}, canonical {args.size}px"
             f"{f', JPEG q{args.jpeg}' if args.jpeg else ''}, denoiser {args.denoiser}, "
             f"held back {args.test:.0%} (seed {args.seed})")
    print(format_result(result, title))


if __name__ == "__main__":
    main()
