#!/usr/bin/env bash
# Issue 29's evaluations of one classifier ONNX, into one folder (the figures of the model
# card's v3 tables): the quality-independent checks that the older probes do not cover.
#   scales/       every shared source's test split at scales 1, 0.5, 0.25 (rates, AUC, flips)
#   dfl-frames/   the held-back DeepFaceLive demos, frame level (both halves, per source + AUC)
#   clips/        clip-level verdicts of the streaming engine: the held-back DeepFaceLive demos
#                 and the FF++ c23 clips (every stream rule)
#   bins/         AUC per face-size x sharpness bin on rescaled validation faces
#   sources/      every shared source's test split beside MesoNet-4 (the model card's table)
# Usage: bash scripts/evaluate_v3.sh MODEL.onnx OUT
# QUICK=1 skips scales/ and bins/ (about 8 of the 20 minutes on the 2-core box): the ablation
# arms, whose question is answered by the per-source, DeepFaceLive and clip tables.
set -euo pipefail
cd "$(dirname "$0")/.."
model=${1:?usage: evaluate_v3.sh MODEL.onnx OUT}
out=${2:?usage: evaluate_v3.sh MODEL.onnx OUT}
ds=.venv/bin/deepscreen
dfl=../shared/data/videos/deepfacelive
frames=runs/cache/frames
mkdir -p "$out"
step() { echo "== $(date +%T) $*"; }
step "DeepFaceLive frames (every 2nd, split by demo) and the held-back clips"
$ds data frames "$dfl" --out "$frames" --every 2
$ds data clips "$dfl" --split test --out "$out/dfl_test_clips.csv"
step "held-back DeepFaceLive demos, frame level"
$ds evaluate --model "$model" --sources "$frames" --out "$out/dfl-frames"
step "clip level: held-back DeepFaceLive demos and FF++ c23"
$ds evaluate --model "$model" --videos ../shared/data/videos/ffpp-c23 \
    --video-labels "$out/dfl_test_clips.csv" --out "$out/clips"
step "per-source test table beside MesoNet-4"
peer=../shared/weights/mesonet/Meso4_DF.h5
peer_args=()
[ -f "$peer" ] && peer_args=(--peer "$peer")
$ds evaluate --model "$model" --sources ../shared/data/faces "${peer_args[@]}" --out "$out/sources"
if [ "${QUICK:-0}" = 1 ]; then
    step "done (QUICK: no scales, no bins): $out"
    exit 0
fi
step "scales 1, 0.5, 0.25 on every shared source's test split"
$ds evaluate --model "$model" --sources ../shared/data/faces --scales 1,0.5,0.25 \
    --out "$out/scales"
step "AUC per face-size x sharpness bin (validation faces at 1, 0.5, 0.25, 0.15)"
$ds evaluate --model "$model" --sources ../shared/data/faces --quality-bins 1,0.5,0.25,0.15 \
    --limit 150 --out "$out/bins"
step "done: $out"
