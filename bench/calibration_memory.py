"""Peak memory of INT8 min-max calibration for one batch size (why ArrayReader batches are small).

Runs ``calibration.ranges.calibrate`` on ``--samples`` random crops in batches of ``--batch``
and prints the process's peak RSS and the time. Random inputs are enough: memory and time do not
depend on the pixel values. Run one batch size per process (peak RSS never goes down):

    .venv/bin/python bench/calibration_memory.py engine/models/classifier.onnx --batch 64
    .venv/bin/python bench/calibration_memory.py engine/models/classifier.onnx --batch 8
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from calibration.ranges import ArrayReader, calibrate
from engine.backends.ort import OrtBackend


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("model", type=Path)
    ap.add_argument("--samples", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    args = ap.parse_args()
    c = OrtBackend(args.model).contract
    rng = np.random.default_rng(0)
    crops = rng.normal(size=(args.samples, 3, c.input_size, c.input_size)).astype(np.float32)
    spectrum = rng.normal(size=(args.samples, c.spectrum_bins)).astype(np.float32)
    t = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        calibrate(args.model, ArrayReader(crops, spectrum, batch=args.batch), "minmax",
                  Path(tmp) / "ranges.json")
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6  # ru_maxrss is KiB
    print(f"{args.model}: {args.samples} samples, batch {args.batch}: peak RSS {peak_gb:.1f} GB, "
          f"{time.perf_counter() - t:.1f} s")


if __name__ == "__main__":
    main()
