#!/usr/bin/env bash
# Every accuracy figure the model card reports for a trained checkpoint, in one run, into one
# folder: the FP32 ONNX (parity-checked against PyTorch), FP16 and INT8 siblings through their
# gates, the per-source test table beside MesoNet-4 on the same crops, and the clip-level video
# evaluation of the streaming engine (every stream rule), and the probes of research/: grayscale
# (does the model key on colour: research/grayscale_probe.py), framing (does it key on the
# border streaks of pre-cropped face images: research/framing_probe.py), sharpness (does it
# call soft faces fake: research/sharpness_probe.py), age (whom does it call fake:
# research/age_probe.py) and twins (does it rank each DFDC fake above its own real twin:
# research/twin_probe.py); then research/issue12_targets.py lists the targets met. Speed
# is measured separately on a quiet machine (`deepscreen bench --model OUT/classifier.onnx`,
# docs/BENCHMARKS.md).
# Nothing here replaces the shipped model: copy OUT/classifier.onnx to engine/models/ yourself.
# Several checkpoints, comma-separated, make a logit ensemble: each is exported to OUT/members/
# and `deepscreen export ensemble` merges them (threshold: EER on the validation split).
# Usage: bash scripts/ship_detector.sh CHECKPOINT[,CHECKPOINT...] [OUT]   (default OUT: runs/ship)
# ACCURACY_ONLY=1 stops before the FP16/INT8 gates (for a run that is a measurement, not a
# candidate to ship, such as a second seed of a recipe).
set -euo pipefail
cd "$(dirname "$0")/.."
ckpt=${1:?usage: ship_detector.sh CHECKPOINT [OUT]}
out=${2:-runs/ship}
faces=../shared/data/faces
peer=../shared/weights/mesonet/Meso4_DF.h5
ds=.venv/bin/deepscreen
mkdir -p "$out"
step() { echo "== $(date +%T) $*"; }

IFS=, read -r -a ckpts <<< "$ckpt"
if [ "${#ckpts[@]}" -eq 1 ]; then
    step "export onnx $ckpt"
    $ds export onnx "$ckpt" --out "$out/classifier.onnx"
else
    members=()
    for c in "${ckpts[@]}"; do
        m="$out/members/$(basename "$(dirname "$c")").onnx"
        step "export onnx $c -> $m"
        $ds export onnx "$c" --out "$m"
        members+=("$m")
    done
    step "export ensemble of ${#members[@]} (threshold on the validation split)"
    $ds export ensemble "${members[@]}" --out "$out/classifier.onnx" --cache-dir runs/cache
fi
step "per-source test table beside MesoNet-4"
peer_args=()
[ -f "$peer" ] && peer_args=(--peer "$peer")
$ds evaluate --model "$out/classifier.onnx" --sources "$faces" "${peer_args[@]}" \
    --out "$out/eval"
step "grayscale probe (per-source rates on colour and grayscale test crops)"
.venv/bin/python research/grayscale_probe.py "$out/classifier.onnx" | tee "$out/grayscale.md"
step "framing probe (canonical vs fitted crops: does the model key on border streaks)"
.venv/bin/python research/framing_probe.py "$out/classifier.onnx" | tee "$out/framing.md"
step "sharpness probe (does the model call soft faces fake)"
.venv/bin/python research/sharpness_probe.py "$out/classifier.onnx" | tee "$out/sharpness.md"
step "age probe (UTKFace TNR per age bracket, both framings)"
.venv/bin/python research/age_probe.py "$out/classifier.onnx" | tee "$out/age.md"
step "twin probe (DFDC test pairs: each fake against its own real twin)"
.venv/bin/python research/twin_probe.py "$out/classifier.onnx" | tee "$out/twins.md"
step "clip-level video evaluation (every stream rule)"
.venv/bin/python bench/video_accuracy.py --model "$out/classifier.onnx" --out "$out/video-eval"
step "issue 12's targets (read from the evaluation and the clips above)"
.venv/bin/python research/issue12_targets.py --intervals "$out" | tee "$out/targets.md"
if [ "${ACCURACY_ONLY:-0}" = 1 ]; then
    step "done (ACCURACY_ONLY: no FP16/INT8 gates): $out"
    exit 0
fi
# The precision gates last: INT8's per-layer sensitivity search is the slowest step (31 min for
# the two-network ensemble here), and every accuracy figure above is already on disk by then.
step "export single-pass (the CPU twin: mirror only near the threshold, docs/EXPORT.md)"
$ds export single-pass "$out/classifier.onnx"
step "export fp16 (AUC check on 256 validation faces)"
$ds export fp16 "$out/classifier.onnx" --samples 256
step "export int8 (min-max, sensitivity fallback, gate 0.005)"
$ds export int8 "$out/classifier.onnx" --method minmax 2>&1 | tee "$out/int8.log"
step "done: $out"
sha256sum "$out"/classifier*.onnx
