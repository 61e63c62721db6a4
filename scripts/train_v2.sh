#!/usr/bin/env bash
# Train detector v2 in the background, resumably: rerun this script after an interruption and
# it continues from runs/detector_v2/last.pt (the view cache resumes where it stopped too).
# Log: runs/detector_v2.log. Usage: bash scripts/train_v2.sh [extra --set key=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
run_dir=$(grep '^run_dir:' train/configs/detector_v2.yaml | awk '{print $2}')
resume=()
[ -f "$run_dir/last.pt" ] && resume=(--resume)
mkdir -p runs
nohup .venv/bin/deepscreen --verbose train --config train/configs/detector_v2.yaml "${resume[@]}" "$@" \
    >> runs/detector_v2.log 2>&1 &
echo "training in the background (pid $!): tail -f runs/detector_v2.log"
