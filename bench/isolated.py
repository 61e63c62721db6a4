"""The torch half of the benchmark, run in a child process.

torch's OpenMP pool and ONNX Runtime's thread pool fight for the cores when both live in one
process (``DESIGN.md``: about 3x slower on few cores), which would slow whichever side runs
second and make the comparison unfair. A user's baseline script would never load ONNX Runtime,
and our engine never loads torch; so the PyTorch rows and the baseline run in a fresh child
process (``spawn``) within the same invocation, on the same frames, one after the other with
the parent idle. Both children run with ``OMP_WAIT_POLICY=PASSIVE`` (see :func:`torch_section`)
unless the caller's environment sets another policy.
"""

from __future__ import annotations

import multiprocessing as mp
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from pathlib import Path

from engine.errors import DeepscreenError

# Each child imports only what its half needs: the baseline's never imports onnxruntime.


def torch_section(opts_dict: dict, videos: list[str], model: str, run_torch: bool,
                  run_base: bool) -> dict:
    """Measure the ``torch`` backend rows and/or the baseline (called in the child)."""
    import os
    import sys

    # Before torch loads libgomp: OpenMP workers that spin after each parallel region are
    # descheduled mid-spin on a loaded machine, which made eager PyTorch several times slower
    # and erratic on the shared 2-core dev box. The baseline and the torch rows get the passive
    # policy, the better setting there.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

    from bench.options import BenchOptions

    opts = BenchOptions(**opts_dict)
    out: dict = {"classifier": [], "pipeline": [], "unavailable": {}, "backends": {}}
    vids = [Path(v) for v in videos]
    if run_torch:
        from bench.measure import MeasureConfig, measure_pipeline, run_dict
        from bench.micro import classifier_bench, collect_crops
        from bench.options import make_detector
        from bench.variants import open_bench_backend
        from engine.classifier import Classifier
        from engine.features.spectral import SpectralFeature
        from engine.pipeline import PipelineConfig

        try:
            ob = open_bench_backend("torch", Path(model), opts.device, opts.checkpoint,
                                    cuda_graphs=opts.cuda_graphs)
        except DeepscreenError as exc:
            out["unavailable"]["torch"] = str(exc)
        else:
            out["backends"]["torch"] = ob.detail
            detector = make_detector(opts)
            spectral = SpectralFeature(ob.backend.contract.spectrum_bins,
                                       backend=opts.spectral_backend)
            classifier = Classifier(ob.backend, spectral)
            margin = PipelineConfig().resolve(classifier.contract).margin
            crops = collect_crops(vids[0], detector, max(opts.batch_sizes), margin,
                                  opts.detect_every)
            for b in opts.batch_sizes:
                out["classifier"].append(
                    classifier_bench(ob, crops, spectral, b, opts.warmup, opts.iterations))
            for b in opts.batch_sizes:
                cfg = MeasureConfig(detect_every=opts.detect_every, min_face=opts.min_face,
                                    max_batch=b, budget=opts.budget())
                r = measure_pipeline([vids[0]], 1, opts.iterations, opts.warmup, detector,
                                     classifier, cfg)
                out["pipeline"].append(run_dict(r, ob.name, ob.precision))
    if run_base:
        from bench.baseline import run_baseline

        try:
            base = run_baseline([vids[0]], opts.baseline_frames or opts.iterations,
                                min(opts.warmup, 3), opts.min_face, opts.checkpoint,
                                Path(model) if Path(model).is_file() else None,
                                device=opts.device)
        except DeepscreenError as exc:
            out["unavailable"]["baseline"] = str(exc)
        else:
            b = asdict(base)
            b["stages"] = {k: v.as_dict() for k, v in base.stages.items()}
            b["process_loaded_onnxruntime"] = "onnxruntime" in sys.modules
            out["baseline"] = b
    return out


def run_torch_section(opts_dict: dict, videos: list[Path], model: Path, run_torch: bool,
                      run_base: bool) -> dict:
    """Run the torch rows and the baseline, each in its own spawned child process.

    The torch rows share their process with the ONNX Runtime MTCNN, as a pipeline with the
    torch backend would; the baseline's process never loads ONNX Runtime.
    """
    ctx = mp.get_context("spawn")
    merged: dict = {"classifier": [], "pipeline": [], "unavailable": {}, "backends": {}}
    for flags in ((run_torch, False), (False, run_base)):
        if not any(flags):
            continue
        with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
            part = pool.submit(torch_section, opts_dict, [str(v) for v in videos], str(model),
                               *flags).result()
        for key in ("classifier", "pipeline"):
            merged[key] += part[key]
        for key in ("unavailable", "backends"):
            merged[key].update(part[key])
        if "baseline" in part:
            merged["baseline"] = part["baseline"]
    return merged
