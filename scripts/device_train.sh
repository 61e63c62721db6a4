#!/usr/bin/env bash
# Train on the GPU machine (the `device` tool's `run`): runs THERE, in the repository root, with
# the device pack (train/device_pack.py) carried into .devicepack/ over one or more calls.
#
#   bash scripts/device_train.sh status          which parts of the pack have arrived intact
#   bash scripts/device_train.sh train [--set k=v ...]
#        verify + unpack the pack (once per machine), train $CONFIG (default
#        train/configs/detector_gpu.yaml; resumes from its last.pt if a call was cut short),
#        then copy best.pt, last.pt, log.csv, result.json and the log to $OUT (what comes back).
#
# The whole sequence, from this machine, is in docs/TRAINING.md ("On a GPU: the device pack").
# Works on a CPU box too (CONFIG with optim.device auto): that is how the tests run it.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
pack=${PACK:-.devicepack}
cmd=${1:-train}
[ $# -gt 0 ] && shift

case "$cmd" in
status)
    exec "$py" -m train.device_pack status "$pack"
    ;;
train)
    config=${CONFIG:-train/configs/detector_gpu.yaml}
    run_dir=$(awk '/^run_dir:/ {print $2}' "$config")
    for arg in "$@"; do  # a --set run_dir=... moves the run
        case "$arg" in run_dir=*) run_dir=${arg#run_dir=} ;; esac
    done
    out=${OUT:-runs/device_out}
    mkdir -p "$out"
    "$py" -m train.device_pack unpack "$pack"
    command -v nvidia-smi > /dev/null && nvidia-smi -L
    resume=()
    [ -f "$run_dir/last.pt" ] && resume=(--resume)
    set +e
    "$py" -c 'import sys; from deepscreen_cli.app import main; sys.argv[0] = "deepscreen"; main()' \
        train --config "$config" "${resume[@]}" "$@" 2>&1 | tee "$out/train.log"
    rc=${PIPESTATUS[0]}
    set -e
    for f in best.pt last.pt log.csv result.json config.json; do
        if [ -f "$run_dir/$f" ]; then cp "$run_dir/$f" "$out/"; fi
    done
    echo "exit $rc; in $out: $(ls "$out" | tr '\n' ' ')"
    exit "$rc"
    ;;
*)
    echo "usage: $0 status | train [--set key=value ...]" >&2
    exit 2
    ;;
esac
