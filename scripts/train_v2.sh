#!/usr/bin/env bash
# Train detector v2 in the background, resumably: rerun this script after an interruption and
# it continues from RUN_DIR/last.pt (the view cache resumes where it stopped too).
# Config: $CONFIG, default train/configs/archive/detector_v4.yaml (the v4 recipe; the shipped
# model's is CONFIG=train/configs/detector_v9.yaml).
# Log: runs/<run_dir name>.log. Usage: bash scripts/train_v2.sh [extra --set key=value ...]
set -euo pipefail
cd "$(dirname "$0")/.."
config=${CONFIG:-train/configs/archive/detector_v4.yaml}
run_dir=$(grep '^run_dir:' "$config" | awk '{print $2}')
log="runs/$(basename "$run_dir").log"
resume=()
[ -f "$run_dir/last.pt" ] && resume=(--resume)
mkdir -p runs
nohup .venv/bin/deepscreen train --config "$config" "${resume[@]}" "$@" >> "$log" 2>&1 &
echo "training in the background (pid $!): tail -f $log"
