"""ONNX Runtime intra-op threads when the detector's and the classifier's sessions share 2 cores.

The engine runs its sessions one at a time from the scheduler thread (P-, R-, O-Net, then the
classifier), beside the decoder threads of the sources. This times, on real frames and crops,
one 640x480 detection and one classifier batch of 8 with 1 and with 2 intra-op threads per
session, in ABBA order (1, 2, 2, 1) so a drifting load weighs on both alike::

    .venv/bin/python bench/ort_threads.py --rounds 20
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.micro import collect_crops  # noqa: E402
from bench.onset import TTFV_CLIP  # noqa: E402


def measure(rounds: int, clip: Path = TTFV_CLIP) -> dict:
    """Median milliseconds per detection and per classifier batch of 8, per thread count."""
    from engine.backends import load_backend
    from engine.classifier import Classifier
    from engine.detect import MTCNNDetector
    from engine.features.spectral import SpectralFeature

    cap = cv2.VideoCapture(str(clip))
    ok, frame = cap.read()
    cap.release()
    if not ok:
        raise SystemExit(f"cannot read {clip}")
    parts = {}
    for threads in (1, 2):
        det = MTCNNDetector(min_face=40, threads=threads)
        backend = load_backend("ort", None, threads=threads)
        clf = Classifier(backend, SpectralFeature(backend.contract.spectrum_bins, "cpu"))
        parts[threads] = (det, clf)
    crops = collect_crops(clip, parts[1][0], 8, parts[1][1].contract.margin, 10)
    times: dict[int, dict[str, list[float]]] = {1: {"detect": [], "classify8": []},
                                                2: {"detect": [], "classify8": []}}
    for threads in (1, 2, 2, 1):
        det, clf = parts[threads]
        det.detect(frame)
        clf.classify(crops)  # warm
        for _ in range(max(rounds // 2, 1)):
            t0 = time.perf_counter()
            det.detect(frame)
            t1 = time.perf_counter()
            clf.classify(crops)
            t2 = time.perf_counter()
            times[threads]["detect"].append((t1 - t0) * 1000)
            times[threads]["classify8"].append((t2 - t1) * 1000)
    return {f"threads_{n}": {k: statistics.median(v) for k, v in d.items()}
            for n, d in times.items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args(argv)
    from bench.machine import load_avg_1m

    before = load_avg_1m()
    result = measure(args.rounds)
    print(f"load 1m {before} -> {load_avg_1m()}")
    for name, row in result.items():
        print(f"{name}: detect 640x480 {row['detect']:.1f} ms, classifier batch 8 "
              f"{row['classify8']:.1f} ms (medians)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
