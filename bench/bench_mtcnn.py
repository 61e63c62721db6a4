"""CPU latency of engine's ONNX MTCNN against facenet-pytorch's torch MTCNN, same frames, same run.

Usage: .venv/bin/python bench/bench_mtcnn.py [--repeats 15] [--min-face 40] [--threads 2]
       [--json out.json]

Frames: frame 0 of ../shared/data/videos/multiface/street.mp4 (several faces), resized to
1280x720 and centre-cropped + resized to 640x480; without the shared data, skimage's astronaut
resized to those sizes. Each detector runs ``warmup`` untimed calls, then ``repeats`` timed
calls per frame; the median and the 90th percentile are reported. Both detectors are given the
same number of threads (torch.set_num_threads and ONNX Runtime intra-op threads). The two
detectors' calls alternate (ours, torch, ours, torch, ...) so that on a shared machine both see
the same background load; the 1-minute load average before and after is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

SIZES = ((640, 480), (1280, 720))
VIDEO = Path(__file__).resolve().parents[1].parent / "shared/data/videos/multiface/street.mp4"


def base_frame() -> tuple[np.ndarray, str]:
    cap = cv2.VideoCapture(str(VIDEO))
    ok, frame = cap.read()
    cap.release()
    if ok:
        return frame, f"{VIDEO.name} frame 0"
    import skimage.data

    return np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1]), "skimage astronaut"


def fit(frame: np.ndarray, width: int, height: int) -> np.ndarray:
    """Centre-crop to the target aspect ratio, then resize (INTER_AREA)."""
    h, w = frame.shape[:2]
    target = width / height
    if w / h > target:
        new_w = round(h * target)
        frame = frame[:, (w - new_w) // 2 : (w - new_w) // 2 + new_w]
    else:
        new_h = round(w / target)
        frame = frame[(h - new_h) // 2 : (h - new_h) // 2 + new_h]
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)


def timed(fns: list, repeats: int, warmup: int) -> list[list[float]]:
    """Milliseconds per call of each function, calls interleaved round-robin."""
    for _ in range(warmup):
        for fn in fns:
            fn()
    out: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for fn, times in zip(fns, out, strict=True):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return out


def summarise(ms: list[float]) -> dict[str, float]:
    ms = sorted(ms)
    return {
        "median_ms": round(statistics.median(ms), 1),
        "p90_ms": round(ms[min(len(ms) - 1, int(0.9 * len(ms)))], 1),
        "min_ms": round(ms[0], 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--min-face", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--no-torch", action="store_true", help="Time only the ONNX detector.")
    parser.add_argument("--json", type=Path, help="Also write the results as JSON here.")
    args = parser.parse_args()

    from engine.detect import MTCNNDetector

    ours = MTCNNDetector(min_face=args.min_face, threads=args.threads)
    reference = None
    if not args.no_torch:
        import torch
        from facenet_pytorch import MTCNN

        torch.set_num_threads(args.threads)
        reference = MTCNN(min_face_size=args.min_face, keep_all=True, device="cpu")

    frame, origin = base_frame()
    load_before = os.getloadavg()[0]
    rows = []
    for width, height in SIZES:
        bgr = fit(frame, width, height)
        rgb = np.ascontiguousarray(bgr[:, :, ::-1])
        faces = len(ours.detect(bgr))
        row = {"size": f"{width}x{height}", "faces": faces}
        fns = [lambda b=bgr: ours.detect(b)]
        if reference is not None:
            fns.append(lambda r=rgb: reference.detect(r))
        times = timed(fns, args.repeats, args.warmup)
        row["onnx"] = summarise(times[0])
        if reference is not None:
            row["torch"] = summarise(times[1])
            row["speedup"] = round(row["torch"]["median_ms"] / row["onnx"]["median_ms"], 2)
        rows.append(row)

    import onnxruntime

    info = {
        "frame": origin,
        "min_face": args.min_face,
        "threads": args.threads,
        "repeats": args.repeats,
        "machine": f"{platform.machine()}, {platform.processor() or '?'}",
        "onnxruntime": onnxruntime.__version__,
        "torch": None if reference is None else torch.__version__,
        "load_avg_1min": [round(load_before, 1), round(os.getloadavg()[0], 1)],
        "cpus": os.cpu_count(),
        "results": rows,
    }
    print(
        f"frame: {origin}; min_face {args.min_face}; {args.threads} threads; "
        f"{args.repeats} runs after {args.warmup} warm-up; {os.cpu_count()} CPUs, 1-min load "
        f"average {info['load_avg_1min'][0]} before, {info['load_avg_1min'][1]} after"
    )
    print(
        f"{'size':>10} {'faces':>5} {'onnx median':>12} {'p90':>7} {'torch median':>13} "
        f"{'p90':>7} {'speed-up':>8}"
    )
    for r in rows:
        t = r.get("torch", {})
        print(
            f"{r['size']:>10} {r['faces']:>5} {r['onnx']['median_ms']:>10.1f}ms "
            f"{r['onnx']['p90_ms']:>5.1f}ms {t.get('median_ms', float('nan')):>11.1f}ms "
            f"{t.get('p90_ms', float('nan')):>5.1f}ms {r.get('speedup', float('nan')):>7.2f}x"
        )
    if args.json:
        args.json.write_text(json.dumps(info, indent=2) + "\n")


if __name__ == "__main__":
    main()
