#!/usr/bin/env bash
# arm64 smoke test: install and run the deepscreen runtime on a Debian bookworm arm64 root
# under qemu-user emulation (binfmt), the way docs/DEPLOY.md section 3.1 tells a Jetson user
# (a venv, `pip install ./deepscreen "numpy<2"`: the runtime alone, no onnx, no torch), and compare what it does with
# the same commands run on this x86-64 machine.
#
# Checks (each PASS, FAIL or SKIP; the summary lists all of them):
#   version   `deepscreen --version` runs on arm64 and equals the x86-64 one
#   doctor    `deepscreen doctor --json`: aarch64, CPUExecutionProvider, torch not installed;
#             and `import torch` fails in the venv
#   screen    `deepscreen screen CLIP --max-frames N` on a shared FF++ clip: verdict and exit
#             code equal to x86-64's (stream p_fake difference printed)
#   predict   `deepscreen predict` on shared images: every face matched, |p_fake difference|
#             <= ARM64_SMOKE_TOL (scripts/compare_predictions.py prints the table)
#   corrupt   a corrupt video (screen) and a corrupt image (predict): same error line / row and
#             same exit code on both
# screen, predict and corrupt need the x86-64 `deepscreen` (default .venv/bin/deepscreen, made
# by `make install` or `make test`); screen and predict also need ../shared/data.
#
# The arm64 root is built once with debootstrap and kept in $ARM64_SMOKE_CACHE (default
# /var/cache/deepscreen), named by a hash of what goes into it (suite, mirror, packages), so a
# change of recipe builds a new one. The venv is made fresh on every run; pip's download cache
# inside the root is kept.
#
# Usage: scripts/arm64_smoke.sh [--rebuild] [--keep-work]
#   --rebuild     build the arm64 root again even when a cached one exists
#   --keep-work   keep the work folder (CSV, JSON, logs) and print its path
# Env: ARM64_SMOKE_CACHE, ARM64_SMOKE_MIRROR (Debian mirror), ARM64_SMOKE_FRAMES (default 40),
#      ARM64_SMOKE_TOL (default 0.001), ARM64_SMOKE_PINS (jetson: pin the versions pip picks
#      for a JetPack 6 Python 3.10, the default; none: whatever pip picks for the root's 3.11),
#      DEEPSCREEN_X86 (x86-64 deepscreen command),
#      DEEPSCREEN_SHARED (default ../shared), ARM64_SMOKE_REQUIRE=1 (a skip of the whole smoke
#      exits 1 instead of 77).
# Exit: 0 every check passed or was skipped for missing data (the summary says which), 1 a check
# failed, 2 usage error, 77 the whole smoke was SKIPPED (binfmt, debootstrap or root unusable).
# Needs root (debootstrap, chroot, mount) and network access to the Debian mirror and PyPI.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO="$(pwd)"

REBUILD=0
KEEP_WORK=0
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rebuild) REBUILD=1; shift ;;
        --keep-work) KEEP_WORK=1; shift ;;
        -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
        *) echo "arm64_smoke: unknown argument $1" >&2; exit 2 ;;
    esac
done

SUITE=bookworm
MIRROR="${ARM64_SMOKE_MIRROR:-http://deb.debian.org/debian}"
# python3-venv/-pip: what DEPLOY.md's venv needs. libgl1/libglib2.0-0: what a JetPack image
# has and some OpenCV wheels load. ca-certificates: pip over https.
INCLUDE="python3,python3-venv,python3-pip,libgl1,libglib2.0-0,ca-certificates"
RECIPE="suite=$SUITE arch=arm64 variant=minbase mirror=$MIRROR include=$INCLUDE v1"
KEY="$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)"
CACHE="${ARM64_SMOKE_CACHE:-/var/cache/deepscreen}"
ROOT="$CACHE/arm64-root-$KEY"
FRAMES="${ARM64_SMOKE_FRAMES:-40}"
TOL="${ARM64_SMOKE_TOL:-0.001}"
SHARED="${DEEPSCREEN_SHARED:-$REPO/../shared}"
X86="${DEEPSCREEN_X86:-$REPO/.venv/bin/deepscreen}"
VENV=/opt/deepscreen/venv

T0=$SECONDS
say() { echo "arm64_smoke: $*"; }
banner() {
    echo "======================================================================"
    echo "arm64_smoke: $*"
    echo "======================================================================"
}
skip_all() {
    banner "SKIP (the arm64 smoke did NOT run; nothing was verified): $*"
    if [[ "${ARM64_SMOKE_REQUIRE:-0}" == 1 ]]; then exit 1; fi
    exit 77
}

RESULTS=()
FAILED=0
SKIPPED=0
record() {  # record STATUS NAME DETAIL
    RESULTS+=("$(printf '%-4s  %-8s %s' "$1" "$2" "$3")")
    say "$1 $2: $3"
    [[ "$1" == FAIL ]] && FAILED=$((FAILED + 1))
    [[ "$1" == SKIP ]] && SKIPPED=$((SKIPPED + 1))
    return 0
}

# ---------------------------------------------------------------------------------------------
# Preconditions: root, tools, binfmt. Anything missing here is a SKIP of the whole smoke.
[[ $(id -u) -eq 0 ]] || skip_all "needs root (debootstrap, chroot and mount)"
HOST_ARCH="$(uname -m)"
if ! command -v debootstrap >/dev/null || { [[ $HOST_ARCH != aarch64 ]] && [[ ! -e /usr/libexec/qemu-binfmt/aarch64-binfmt-P && ! -x /usr/bin/qemu-aarch64-static ]]; }; then
    if command -v apt-get >/dev/null; then
        say "installing debootstrap, qemu-user-static, binfmt-support"
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
            debootstrap qemu-user-static binfmt-support >/dev/null 2>&1 \
            || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive \
                 apt-get install -y -qq --no-install-recommends \
                 debootstrap qemu-user-static binfmt-support >/dev/null 2>&1; } \
            || skip_all "apt-get could not install debootstrap qemu-user-static binfmt-support"
    else
        skip_all "debootstrap or qemu-user-static missing and no apt-get to install them"
    fi
fi
if [[ $HOST_ARCH != aarch64 ]]; then
    BINFMT=/proc/sys/fs/binfmt_misc
    if [[ ! -e $BINFMT/status ]]; then
        mount -t binfmt_misc binfmt_misc "$BINFMT" 2>/dev/null \
            || skip_all "binfmt_misc is not mounted and cannot be mounted (a container without privileges?)"
    fi
    if [[ ! -e $BINFMT/qemu-aarch64 ]] && command -v update-binfmts >/dev/null; then
        update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
    fi
    [[ -e $BINFMT/qemu-aarch64 ]] || skip_all "no qemu-aarch64 binfmt handler is registered"
    grep -qx enabled "$BINFMT/qemu-aarch64" || skip_all "the qemu-aarch64 binfmt handler is disabled"
    # F (fix binary): the kernel opens the interpreter at registration, so it works inside a
    # chroot that does not contain it.
    grep -q '^flags:.*F' "$BINFMT/qemu-aarch64" \
        || skip_all "the qemu-aarch64 binfmt handler lacks the F flag (needed to run it in a chroot)"
fi

# ---------------------------------------------------------------------------------------------
# One run at a time per cache (a second CI job on the same machine waits).
mkdir -p "$CACHE"
exec 9>"$CACHE/arm64-smoke.lock"
flock 9

MOUNTS=()
WORK_HOST=""
cleanup() {
    local i
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[$i]}" 2>/dev/null || umount -l "${MOUNTS[$i]}" 2>/dev/null \
            || echo "arm64_smoke: WARNING: could not unmount ${MOUNTS[$i]}" >&2
    done
    MOUNTS=()
    if [[ -n $WORK_HOST && $KEEP_WORK -eq 0 ]]; then rm -rf "$WORK_HOST"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A run killed without its trap leaves mounts in the root; removing the root then would reach
# through a bind mount into ../shared. Unmount whatever is still mounted below the cache first.
unmount_stale() {
    local m
    for m in $(awk -v c="$CACHE/" 'index($2, c) == 1 {print $2}' /proc/self/mounts | sort -r); do
        say "unmounting a leftover mount $m"
        umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
    if awk -v c="$CACHE/" 'index($2, c) == 1 {f=1} END {exit !f}' /proc/self/mounts; then
        banner "FAIL: mounts below $CACHE remain; refusing to touch the arm64 root"
        exit 1
    fi
}
unmount_stale

# ---------------------------------------------------------------------------------------------
# The arm64 root: reuse or build.
T_ROOT=$SECONDS
if [[ $REBUILD -eq 1 && -d $ROOT ]]; then
    say "--rebuild: removing $ROOT"
    rm -rf --one-file-system "$ROOT"
fi
if [[ -f $ROOT/.deepscreen-root-ok ]]; then
    ROOT_HOW="reused"
    say "reusing the arm64 root $ROOT"
else
    ROOT_HOW="built"
    say "building the arm64 root ($RECIPE) in $ROOT (a few minutes under emulation)"
    rm -rf --one-file-system "$ROOT.tmp"
    if ! debootstrap --arch=arm64 --variant=minbase --include="$INCLUDE" \
            "$SUITE" "$ROOT.tmp" "$MIRROR" >"$CACHE/debootstrap.log" 2>&1; then
        tail -n 15 "$CACHE/debootstrap.log" >&2 || true
        tail -n 15 "$ROOT.tmp/debootstrap/debootstrap.log" >&2 2>/dev/null || true
        rm -rf --one-file-system "$ROOT.tmp"
        skip_all "debootstrap could not build the arm64 root (log above; mirror $MIRROR)"
    fi
    printf '%s\n' "$RECIPE" >"$ROOT.tmp/.deepscreen-root-ok"
    rm -rf --one-file-system "$ROOT"
    mv "$ROOT.tmp" "$ROOT"
    # Roots of older recipes are dead weight.
    for old in "$CACHE"/arm64-root-*; do
        [[ $old == "$ROOT" || ! -d $old ]] && continue
        say "removing the outdated root $old"
        rm -rf --one-file-system "$old"
    done
fi
ROOT_S=$((SECONDS - T_ROOT))
ARCH_IN_ROOT="$(chroot "$ROOT" /usr/bin/uname -m 2>/dev/null || true)"
[[ $ARCH_IN_ROOT == aarch64 ]] \
    || skip_all "the arm64 root does not execute (uname -m gave '${ARCH_IN_ROOT}'); binfmt/qemu is not working"

mount_into() {  # mount_into TARGET MOUNT-ARGS...
    local target="$ROOT$1"; shift
    mkdir -p "$target"
    mount "$@" "$target"
    MOUNTS+=("$target")
}
# Without /sys, onnxruntime's cpuinfo warns about every CPU it cannot read.
mount_into /proc -t proc proc
mount_into /sys --bind /sys
mount_into /dev/shm -t tmpfs -o size=256m tmpfs
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The host's CA bundle, for pip inside the root: where the network re-signs TLS (a proxy with
# its own CA), Debian's bundle in the root would not verify PyPI.
HOST_CA=""
for v in PIP_CERT SSL_CERT_FILE REQUESTS_CA_BUNDLE; do
    [[ -n ${!v:-} && -f ${!v} ]] && { HOST_CA="${!v}"; break; }
done
[[ -z $HOST_CA && -f /etc/ssl/certs/ca-certificates.crt ]] && HOST_CA=/etc/ssl/certs/ca-certificates.crt
ROOT_CA=""
if [[ -n $HOST_CA ]]; then
    cp -L "$HOST_CA" "$ROOT/etc/ssl/certs/deepscreen-host-ca.crt"
    ROOT_CA=/etc/ssl/certs/deepscreen-host-ca.crt
fi

# Work folder shared by both sides: the same relative paths give the same output lines.
WORK_IN=/tmp/deepscreen-arm64-smoke
WORK_HOST="$ROOT$WORK_IN"
rm -rf "$WORK_HOST"
mkdir -p "$WORK_HOST"
HAVE_DATA=0
if [[ -d $SHARED/data/videos/ffpp-c23 && -d $SHARED/data/images ]]; then
    HAVE_DATA=1
    mount_into /mnt/shared --bind "$SHARED"
    mount -o remount,bind,ro "$ROOT/mnt/shared" 2>/dev/null || true
fi

# Run a shell command in the root with a clean environment (the host's pip settings point at
# folders the root does not have; a proxy or an http(s) index is passed through).
in_root() {
    local pass=() v
    [[ -n $ROOT_CA ]] && pass+=("PIP_CERT=$ROOT_CA")
    for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY PIP_INDEX_URL; do
        [[ -n ${!v:-} ]] && [[ $v != PIP_INDEX_URL || ${!v} == http* ]] && pass+=("$v=${!v}")
    done
    env -i HOME=/root LANG=C.UTF-8 TERM=dumb COLUMNS=200 PIP_DISABLE_PIP_VERSION_CHECK=1 \
        PATH="$VENV/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" \
        "${pass[@]}" chroot "$ROOT" /bin/sh -c "$1"
}
run_x86() {  # run_x86 DIR ARGS...: the x86-64 deepscreen in DIR, like in_root's run
    local dir="$1"; shift
    (cd "$dir" && env COLUMNS=200 TERM=dumb "$X86" "$@")
}

# ---------------------------------------------------------------------------------------------
# Install exactly as docs/DEPLOY.md 3.1 says (minus python3-dev/build-essential, which only
# pycuda and the CUDA extension need, and JetPack's python3-libnvinfer, which Debian lacks).
T_INSTALL=$SECONDS
say "copying the checkout into the root and installing the runtime (fresh venv)"
rm -rf "$ROOT/opt/deepscreen"
mkdir -p "$ROOT/opt/deepscreen/src/deepscreen"
if git -C "$REPO" rev-parse --git-dir >/dev/null 2>&1; then
    # Tracked and untracked-but-not-ignored files: what a checkout has, without .venv or runs/.
    git -C "$REPO" ls-files -z -co --exclude-standard \
        | tar -C "$REPO" --null -T - --ignore-failed-read -cf - 2>/dev/null \
        | tar -xf - -C "$ROOT/opt/deepscreen/src/deepscreen"
else
    tar -C "$REPO" --exclude=./.venv --exclude=./.venv-serve --exclude=./.git --exclude=./build \
        --exclude=./runs -cf - . | tar -xf - -C "$ROOT/opt/deepscreen/src/deepscreen"
fi
# The root's Python is Debian's 3.11; a Jetson on JetPack 6 has 3.10, for which pip resolves
# older wheels (onnxruntime stopped publishing cp310 wheels after 1.23). Unless
# ARM64_SMOKE_PINS=none, the install is constrained to exactly the versions pip picks for
# linux-aarch64 cp310 (resolved here, on the host, like scripts/check_aarch64.sh does), so the
# root runs the Jetson's onnxruntime, OpenCV and NumPy builds, only for cp311.
PINS="${ARM64_SMOKE_PINS:-jetson}"
PIP_C=""
if [[ $PINS == jetson ]]; then
    mkdir -p "$WORK_HOST/resolve"
    if PIP_CONSTRAINT="" PIP_DISABLE_PIP_VERSION_CHECK=1 python3 -m pip install --dry-run \
            --ignore-installed --quiet --report "$WORK_HOST/resolve/report.json" \
            --target "$WORK_HOST/resolve/target" --platform manylinux2014_aarch64 \
            --platform manylinux_2_17_aarch64 --platform manylinux_2_28_aarch64 \
            --python-version 3.10 --implementation cp --abi cp310 --only-binary=:all: \
            "$REPO" 'numpy<2' >"$WORK_HOST/resolve/pip.log" 2>&1; then
        python3 - "$WORK_HOST/resolve/report.json" >"$WORK_HOST/jetson-constraints.txt" <<'EOF'
import json, sys
for item in json.load(open(sys.argv[1]))["install"]:
    meta = item["metadata"]
    if meta["name"].lower() != "deepscreen":
        print(f"{meta['name']}=={meta['version']}")
EOF
        PIP_C="PIP_CONSTRAINT=$WORK_IN/jetson-constraints.txt "
        say "pinned to the cp310 (JetPack 6) resolution: $(tr '\n' ' ' <"$WORK_HOST/jetson-constraints.txt")"
    else
        tail -n 10 "$WORK_HOST/resolve/pip.log" >&2
        record FAIL install "could not resolve the runtime for linux-aarch64 cp310 (to pin the Jetson's versions)"
    fi
fi
INSTALL_CMD="python3 -m venv --system-site-packages $VENV && cd /opt/deepscreen/src && ${PIP_C}$VENV/bin/pip install ./deepscreen 'numpy<2'"
if ! in_root "$INSTALL_CMD" >"$WORK_HOST/install.log" 2>&1; then
    tail -n 25 "$WORK_HOST/install.log" >&2
    record FAIL install "$INSTALL_CMD failed in the arm64 root (log tail above)"
    INSTALL_OK=0
else
    INSTALL_OK=1
    record PASS install "$(grep -E '^Successfully installed' "$WORK_HOST/install.log" | cut -c1-400)"
fi
INSTALL_S=$((SECONDS - T_INSTALL))

T_CHECKS=$SECONDS
HAVE_X86=0
if [[ -x $X86 ]] && "$X86" --version >/dev/null 2>&1; then HAVE_X86=1; fi
[[ $HAVE_X86 -eq 1 ]] || say "no working x86-64 deepscreen at $X86 (set DEEPSCREEN_X86 or run make install): the x86 comparisons are SKIPPED"

if [[ $INSTALL_OK -eq 1 ]]; then
    # --- version ------------------------------------------------------------------------------
    arm_v="$(in_root 'deepscreen --version' 2>&1)" && arm_rc=0 || arm_rc=$?
    if [[ $arm_rc -ne 0 ]]; then
        record FAIL version "deepscreen --version exited $arm_rc: $arm_v"
    elif [[ $HAVE_X86 -eq 1 ]]; then
        x86_v="$("$X86" --version 2>&1)"
        if [[ "$arm_v" == "$x86_v" ]]; then record PASS version "$arm_v (same as x86-64)"
        else record FAIL version "arm64 '$arm_v' != x86-64 '$x86_v'"; fi
    else
        record PASS version "$arm_v (x86-64 comparison SKIPPED)"
    fi

    # --- doctor -------------------------------------------------------------------------------
    in_root 'deepscreen doctor --json' >"$WORK_HOST/doctor.json" 2>"$WORK_HOST/doctor.err" || true
    torch_import="$(in_root 'python -c "import torch" 2>&1 | tail -n 1' || true)"
    doctor_msg="$(python3 - "$WORK_HOST/doctor.json" "$torch_import" <<'EOF'
import json, sys
try:
    rows = {r["name"]: r for r in json.load(open(sys.argv[1]))}
except Exception as exc:  # noqa: BLE001
    print(f"FAIL doctor --json gave no report ({exc})"); sys.exit()
py, ort = rows.get("python", {}), rows.get("onnxruntime", {})
torch = next((r for n, r in rows.items() if n.startswith("torch")), {})
problems = []
if "aarch64" not in py.get("detail", ""): problems.append(f"python: {py.get('detail')!r} (no aarch64)")
if not ort.get("ok") or "CPUExecutionProvider" not in ort.get("detail", ""):
    problems.append(f"onnxruntime: {ort.get('detail')!r}")
if torch.get("ok") or "not installed" not in torch.get("detail", "not installed"):
    problems.append(f"torch row: {torch.get('detail')!r}")
if "No module named 'torch'" not in sys.argv[2]:
    problems.append(f"import torch did not fail as expected: {sys.argv[2]!r}")
cv = rows.get("opencv", {}).get("detail", "?").split(";")[0]
np_ = rows.get("numpy", {}).get("detail", "?")
summary = f"{py.get('detail')}; numpy {np_}; opencv {cv}; onnxruntime {ort.get('detail')}; torch not importable"
print(("FAIL " + "; ".join(problems)) if problems else ("PASS " + summary))
EOF
)"
    record "${doctor_msg%% *}" doctor "${doctor_msg#* }"

    # --- screen -------------------------------------------------------------------------------
    CLIP_DIR=data/videos/ffpp-c23/fake-deepfakes
    if [[ $HAVE_DATA -eq 0 ]]; then
        record SKIP screen "no $SHARED/data (the shared FF++ clips)"
    elif [[ $HAVE_X86 -eq 0 ]]; then
        record SKIP screen "no x86-64 deepscreen to compare with"
    else
        clip="$(cd "$SHARED/$CLIP_DIR" && ls -1 *.mp4 | sort | head -n 1)"
        args="screen $clip --max-frames $FRAMES --no-live --quiet --json"
        t=$SECONDS
        in_root "cd /mnt/shared/$CLIP_DIR && deepscreen $args" >"$WORK_HOST/screen.arm64.json" \
            2>"$WORK_HOST/screen.arm64.err" && arm_rc=0 || arm_rc=$?
        arm_s=$((SECONDS - t))
        run_x86 "$SHARED/$CLIP_DIR" $args >"$WORK_HOST/screen.x86.json" \
            2>"$WORK_HOST/screen.x86.err" && x86_rc=0 || x86_rc=$?
        screen_msg="$(python3 - "$WORK_HOST" "$arm_rc" "$x86_rc" "$arm_s" "$clip" <<'EOF'
import json, sys
work, arm_rc, x86_rc, arm_s, clip = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
def load(side):
    try:
        return json.load(open(f"{work}/screen.{side}.json"))["streams"][0]
    except Exception as exc:  # noqa: BLE001
        return {"verdict": f"<no JSON: {exc}>", "p_fake": float("nan"), "frames": 0}
a, x = load("arm64"), load("x86")
diff = abs(a["p_fake"] - x["p_fake"]) if a["p_fake"] is not None and x["p_fake"] is not None else float("nan")
text = (f"{clip}, {a['frames']} frames: arm64 verdict {a['verdict']} exit {arm_rc} p_fake {a['p_fake']:.4f}"
        f" ({arm_s} s); x86-64 verdict {x['verdict']} exit {x86_rc} p_fake {x['p_fake']:.4f}; |diff| {diff:.1e}")
ok = a["verdict"] == x["verdict"] and arm_rc == x86_rc and arm_rc not in (1, 2) and a["frames"] == x["frames"]
print(("PASS " if ok else "FAIL ") + text)
EOF
)"
        record "${screen_msg%% *}" screen "${screen_msg#* }"
        [[ ${screen_msg%% *} == PASS ]] || tail -n 5 "$WORK_HOST/screen.arm64.err" >&2 || true
    fi

    # --- predict ------------------------------------------------------------------------------
    IMG_DIR=data/images
    if [[ $HAVE_DATA -eq 0 ]]; then
        record SKIP predict "no $SHARED/data (the shared images)"
    elif [[ $HAVE_X86 -eq 0 ]]; then
        record SKIP predict "no x86-64 deepscreen to compare with"
    else
        imgs="grace_hopper_512x512.jpg multiface.jpg celebrities"
        in_root "cd /mnt/shared/$IMG_DIR && deepscreen predict $imgs --csv $WORK_IN/predict.arm64.csv" \
            >"$WORK_HOST/predict.arm64.out" 2>&1 && arm_rc=0 || arm_rc=$?
        run_x86 "$SHARED/$IMG_DIR" predict $imgs --csv "$WORK_HOST/predict.x86.csv" \
            >"$WORK_HOST/predict.x86.out" 2>&1 && x86_rc=0 || x86_rc=$?
        if [[ $arm_rc -ne 0 || $x86_rc -ne 0 ]]; then
            tail -n 5 "$WORK_HOST/predict.arm64.out" "$WORK_HOST/predict.x86.out" >&2
            record FAIL predict "exit codes: arm64 $arm_rc, x86-64 $x86_rc"
        else
            python3 scripts/compare_predictions.py "$WORK_HOST/predict.x86.csv" \
                "$WORK_HOST/predict.arm64.csv" --tol "$TOL" | tee "$WORK_HOST/predict.table" \
                && cmp_rc=0 || cmp_rc=$?
            if [[ $cmp_rc -eq 0 ]]; then record PASS predict "$(tail -n 1 "$WORK_HOST/predict.table")"
            else record FAIL predict "$(tail -n 1 "$WORK_HOST/predict.table")"; fi
        fi
    fi

    # --- corrupt input ------------------------------------------------------------------------
    if [[ $HAVE_X86 -eq 0 ]]; then
        record SKIP corrupt "no x86-64 deepscreen to compare with"
    else
        printf 'this is not a video, just bytes with an .mp4 name\n' >"$WORK_HOST/corrupt.mp4"
        printf 'this is not an image\n' >"$WORK_HOST/corrupt.jpg"
        corrupt_fail=""
        corrupt_detail=""
        for cmd in "screen corrupt.mp4 --no-live --quiet" "predict corrupt.jpg"; do
            arm_out="$(in_root "cd $WORK_IN && deepscreen $cmd" 2>&1)" && arm_rc=0 || arm_rc=$?
            x86_out="$(run_x86 "$WORK_HOST" $cmd 2>&1)" && x86_rc=0 || x86_rc=$?
            # OpenCV's own "[ WARN:..." lines differ in timestamps; the line that matters is
            # deepscreen's `error: ...` (screen) or the row for the file (predict).
            arm_line="$(printf '%s\n' "$arm_out" | grep -E '^(error:|corrupt)' | head -n 1 || true)"
            x86_line="$(printf '%s\n' "$x86_out" | grep -E '^(error:|corrupt)' | head -n 1 || true)"
            corrupt_detail+="${cmd%% *}: exit $arm_rc, '$arm_line'; "
            if [[ $arm_rc -ne $x86_rc || "$arm_line" != "$x86_line" || -z $arm_line ]]; then
                corrupt_fail+="${cmd%% *}: arm64 exit $arm_rc '$arm_line' vs x86-64 exit $x86_rc '$x86_line'; "
            fi
        done
        if [[ -z $corrupt_fail ]]; then record PASS corrupt "same on both: ${corrupt_detail%; }"
        else record FAIL corrupt "${corrupt_fail%; }"; fi
    fi
fi
CHECKS_S=$((SECONDS - T_CHECKS))

# ---------------------------------------------------------------------------------------------
cleanup
trap - EXIT
TOTAL_S=$((SECONDS - T0))
echo "----------------------------------------------------------------------"
echo "arm64 smoke summary (Debian $SUITE arm64 under $([[ $HOST_ARCH == aarch64 ]] && echo 'native aarch64' || echo 'qemu-user emulation'))"
for line in "${RESULTS[@]}"; do echo "  $line"; done
echo "  time: root ${ROOT_HOW} ${ROOT_S} s, install ${INSTALL_S} s, checks ${CHECKS_S} s, total ${TOTAL_S} s"
[[ $KEEP_WORK -eq 1 ]] && echo "  work folder kept: $WORK_HOST"
if [[ $FAILED -gt 0 ]]; then
    banner "FAIL: $FAILED check(s) failed"
    exit 1
elif [[ $SKIPPED -gt 0 ]]; then
    banner "passed, but $SKIPPED check(s) SKIPPED (see above): those were NOT verified"
else
    banner "PASS: all ${#RESULTS[@]} checks passed"
fi
