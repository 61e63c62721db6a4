#!/usr/bin/env bash
# The exact commands behind docs/BENCHMARKS.md. Run from the repository root.
#
#   bench/run_bench.sh cpu [ARGS...]  # this project's 2-core dev box (the figures in the docs)
#   bench/run_bench.sh gpu [ARGS...]  # an NVIDIA GPU box (onnxruntime-gpu, torch CUDA, cpp_ext)
#
# ARGS go to `deepscreen bench` as they are (e.g. --model M.onnx --checkpoint C.pt --out DIR).
# Results land in docs/bench/<mode>/ (bench.json, bench.csv, bench.md, scaling.png); the
# scaling plot is copied to docs/img/bench_scaling_<mode>.png for the docs.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-cpu}"
shift || true
out="docs/bench/${mode}"
case "$mode" in
  cpu)
    .venv/bin/deepscreen bench \
      --backends ort,ort-fp16,ort-int8,torch,tensorrt \
      --batch-sizes 1,8,32 --warmup 10 --iterations 100 --streams 1,2,4,8 \
      --baseline-frames 60 --out "$out" "$@"
    ;;
  gpu)
    .venv/bin/deepscreen bench --device cuda \
      --backends ort,ort-fp16,ort-int8,torch,tensorrt,ort-tensorrt \
      --batch-sizes 1,8,32,128 --warmup 20 --iterations 300 --streams 1,2,4,8 \
      --baseline-frames 100 --out "$out" "$@"
    ;;
  *)
    echo "usage: $0 cpu|gpu" >&2
    exit 2
    ;;
esac
mkdir -p docs/img
if [ -f "$out/scaling.png" ]; then cp "$out/scaling.png" "docs/img/bench_scaling_${mode}.png"; fi
echo "results in $out"
