"""Classifier cost per face crop in ONNX Runtime on this CPU, for every registered model variant.

Usage: .venv/bin/python bench/classifier_latency.py [--threads 1] [--batch 1 8] [--size 128]

Latency does not depend on the weights, so each variant is exported with random weights.
Prints ms per crop (median of repeated runs) for the network alone, and for the two
preprocessing steps the engine runs per crop (resize/normalise, radial spectrum of a 180 px
native crop). Shares the machine with whatever else runs: quote the machine and the load.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np


def _median_ms(fn, reps: int) -> float:
    fn()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--config", action="append", default=[],
                    help="extra variant NAME:key=value,... e.g. spatial_spectral:stage0_stride=1")
    args = ap.parse_args()

    import onnxruntime as ort
    import torch

    from engine.features.spectral import radial_spectrum
    from engine.preprocess import InputContract, prepare_crops
    from train.models import create_model, list_models

    variants = [(n, {}) for n in list_models()]
    for item in args.config:
        name, _, kv = item.partition(":")
        cfg = {}
        for pair in filter(None, kv.split(",")):
            k, _, v = pair.partition("=")
            cfg[k] = [int(x) for x in v.split("/")] if "/" in v else int(v)
        variants.append((name, cfg))
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads
    so.inter_op_num_threads = 1
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    s = args.size
    print(f"cpu cores {os.cpu_count()}, ORT threads {args.threads}, input {s}x{s}, "
          f"load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        for name, cfg in variants:
            model = create_model(name, cfg).eval()
            params = sum(p.numel() for p in model.parameters())
            path = Path(tmp) / f"{name}.onnx"
            with torch.no_grad():
                torch.onnx.export(model, (torch.randn(1, 3, s, s), torch.rand(1, 80)), str(path),
                                  input_names=["crops", "spectrum"], output_names=["logit"],
                                  dynamic_axes={"crops": {0: "n"}, "spectrum": {0: "n"}},
                                  opset_version=18, dynamo=False)
            sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
            row = [f"{name}{cfg or ''}", f"{params / 1e6:.2f}M", f"{path.stat().st_size/1e6:.1f}MB"]
            for b in args.batch:
                feed = {"crops": np.random.randn(b, 3, s, s).astype(np.float32),
                        "spectrum": np.random.rand(b, 80).astype(np.float32)}
                ms = _median_ms(lambda feed=feed, sess=sess: sess.run(None, feed), args.reps) / b
                row.append(f"b{b}: {ms:.2f} ms/crop")
            print("  ".join(row))
    crop = np.random.default_rng(0).integers(0, 255, (180, 180, 3), dtype=np.uint8)
    contract = InputContract(input_size=s)
    print(f"prepare_crops: {_median_ms(lambda: prepare_crops([crop], contract), args.reps):.2f}"
          f" ms/crop; radial_spectrum(180 px): "
          f"{_median_ms(lambda: radial_spectrum([crop], 80), args.reps):.2f} ms/crop")


if __name__ == "__main__":
    main()
