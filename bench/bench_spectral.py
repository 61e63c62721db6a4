"""CPU speed of the spectral feature: fast path vs the float64 reference (docs/SPECTRAL.md).

Runs the two implementations interleaved, several rounds, and reports the best and median
wall time and process CPU time per batch (CPU time is the fairer figure on a shared machine:
both paths are single-threaded). Also checks that they agree to 1e-6 relative.

    .venv/bin/python bench/bench_spectral.py                 # 32 crops of 256x256
    .venv/bin/python bench/bench_spectral.py --sizes 64 256 512 --batch 32 --rounds 7
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

import cv2
import numpy as np

from engine.features import radial_spectrum, radial_spectrum_reference

FACES = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "faces"


def load_crops(side: int, batch: int) -> tuple[np.ndarray, str]:
    """Real face crops when the shared data is present (tiled up to `side`), else astronaut."""
    files = sorted(FACES.glob("ffhq-vs-stylegan1/*/*.jpg"))[:batch]
    if len(files) == batch:
        imgs = [cv2.imread(str(f)) for f in files]
        source = "FFHQ/StyleGAN1 faces"
    else:
        from skimage import data as skdata

        imgs = [np.ascontiguousarray(skdata.astronaut()[..., ::-1])] * batch
        source = "astronaut"
    out = []
    for i, img in enumerate(imgs):
        reps = -(-side // min(img.shape[:2]))
        big = np.tile(img, (reps, reps, 1)) if reps > 1 else img
        y = (i * 7) % (big.shape[0] - side + 1)
        out.append(big[y : y + side, :side])
    return np.ascontiguousarray(np.stack(out)), source


def _time(fn) -> tuple[float, float]:
    w, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - w, time.process_time() - c


def bench(side: int, batch: int, rounds: int, bins: int) -> dict:
    crops, source = load_crops(side, batch)
    fast = radial_spectrum(crops, bins)  # warm the per-size plan cache
    ref = np.stack([radial_spectrum_reference(c, bins) for c in crops])
    rel = float(np.max(np.abs(fast - ref) / np.maximum(np.abs(ref), 1e-12)))
    times: dict[str, list[tuple[float, float]]] = {"ref": [], "fast": []}
    for _ in range(rounds):
        times["ref"].append(_time(lambda: [radial_spectrum_reference(c, bins) for c in crops]))
        times["fast"].append(_time(lambda: radial_spectrum(crops, bins)))
    res = {"side": side, "batch": batch, "bins": bins, "rel_err": rel, "source": source}
    for name, ts in times.items():
        arr = np.array(ts) * 1e3
        res[name] = {"wall_min": arr[:, 0].min(), "wall_med": float(np.median(arr[:, 0])),
                     "cpu_min": arr[:, 1].min(), "cpu_med": float(np.median(arr[:, 1]))}
    return res


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--bins", type=int, default=80)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    print(f"machine: {_cpu_name()} ({os.cpu_count()} logical CPUs), numpy {np.__version__}, "
          f"python {platform.python_version()}")
    print("\n| crops | bins | reference ms (CPU best / median) | fast ms (CPU best / median) "
          "| speed-up (CPU best) | speed-up (wall best) | max rel err |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for side in args.sizes:
        r = bench(side, args.batch, args.rounds, args.bins)
        ref, fast = r["ref"], r["fast"]
        print(f"| {r['batch']} x {side}x{side} ({r['source']}) | {r['bins']} "
              f"| {ref['cpu_min']:.1f} / {ref['cpu_med']:.1f} "
              f"| {fast['cpu_min']:.1f} / {fast['cpu_med']:.1f} "
              f"| {ref['cpu_min'] / fast['cpu_min']:.1f}x "
              f"| {ref['wall_min'] / fast['wall_min']:.1f}x | {r['rel_err']:.1e} |")


if __name__ == "__main__":
    main()
