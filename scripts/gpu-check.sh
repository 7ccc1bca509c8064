#!/usr/bin/env bash
# The PyTorch handoff checked on a GPU machine that cannot install anything: prepare here, run there.
#
#   scripts/gpu-check.sh prepare [--dir .device]
#       here: build the epochplan wheel, download the polars wheel(s) for CPython 3.12 manylinux
#       x86_64 (the device image's Python), sample the training data and compute the plan, all
#       into DIR (git-ignored, carried to the device; must stay under 64 MiB with the tree).
#   scripts/gpu-check.sh run [--device cuda|cpu] [--dir .device] [--model tiny|small]
#       there (or here on CPU): install the carried wheels with --no-deps into a temporary folder,
#       then scripts/gpu_check.py trains with the plan and writes the report to $OUT/report.json
#       ($OUT set on the device), else DIR/report.json. Exit 1 when a check fails. The model is
#       `small` on cuda and `tiny` on cpu unless --model says otherwise.
#   scripts/gpu-check.sh [--device cuda|cpu] [--dir .device]
#       both halves; CI runs `scripts/gpu-check.sh --device cpu`.
#
# PYTHON picks the interpreter (default: .venv/bin/python if present, else python3); it must have
# torch and transformers for `run`, pip for both. DEVICE_PYTHON_VERSION (3.12) and POLARS_VERSION
# (default: the polars that PYTHON has, i.e. the one the test suite ran with) choose the download.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

usage() { sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; }
fail() { echo "gpu-check: $*" >&2; exit 2; }

command=all
case "${1:-}" in
    prepare | run) command=$1; shift ;;
esac
device=cuda
dir=.device
model=()
while [ $# -gt 0 ]; do
    case $1 in
        --device) [ $# -ge 2 ] || fail "--device needs cuda or cpu"; device=$2; shift 2 ;;
        --dir) [ $# -ge 2 ] || fail "--dir needs a folder"; dir=$2; shift 2 ;;
        --model) [ $# -ge 2 ] || fail "--model needs tiny or small"; model=(--model "$2"); shift 2 ;;
        -h | --help) usage; exit 0 ;;
        *) fail "unknown argument '$1' (see scripts/gpu-check.sh --help)" ;;
    esac
done
case $device in cuda | cpu) ;; *) fail "--device $device: use cuda or cpu" ;; esac

if [ -z "${PYTHON:-}" ]; then
    if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi
fi
LIMIT_BYTES=$((64 * 1024 * 1024))  # what travels to the device: working tree + carried paths
pip_quiet=(--disable-pip-version-check --quiet)

install_wheels() {  # install_wheels SITE: the carried wheels, nothing else, no index
    if "$PYTHON" -m pip --version >/dev/null 2>&1; then
        "$PYTHON" -m pip install "${pip_quiet[@]}" --no-index --no-deps --no-compile --no-cache-dir \
            --target "$1" "$dir"/*.whl
    else
        # No pip in the image: these wheels are plain zips of importable files (no .data, no build).
        echo "gpu-check: $PYTHON has no pip; unpacking the wheels into $1 instead" >&2
        for wheel in "$dir"/*.whl; do "$PYTHON" -m zipfile -e "$wheel" "$1"; done
    fi
}

prepare() {
    mkdir -p "$dir"
    local built version
    built=$(mktemp -d)
    PYTHON=$PYTHON scripts/build-wheel.sh "$built" >/dev/null
    rm -f "$dir"/epochplan-*.whl
    mv "$built"/epochplan-*.whl "$dir"/
    rmdir "$built"

    version=${POLARS_VERSION:-$("$PYTHON" -c 'import polars; print(polars.__version__)' 2>/dev/null)} ||
        fail "no polars in $PYTHON to match; set POLARS_VERSION or PYTHON"
    # One version of each package: two would stop the install on the device.
    for wheel in "$dir"/polars-*.whl "$dir"/polars_*.whl; do
        [ -f "$wheel" ] || continue
        [ "$(basename "$wheel" | cut -d- -f2)" = "$version" ] || rm -f "$wheel"
    done
    # With its dependencies: polars >= 1.34 is `polars` + a `polars-runtime-32` binary wheel.
    "$PYTHON" -m pip download "${pip_quiet[@]}" --only-binary=:all: --implementation cp \
        --python-version "${DEVICE_PYTHON_VERSION:-3.12}" \
        --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_24_x86_64 \
        --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
        -d "$dir" "polars==$version"

    # Sample the data and plan it with the wheels just gathered (the code the device will run).
    local site
    site=$(mktemp -d)
    install_wheels "$site"
    PYTHONPATH=$site "$PYTHON" scripts/gpu_prepare.py --dir "$dir"
    rm -rf "$site"

    local dir_bytes tree_bytes
    dir_bytes=$(find "$dir" -type f -printf '%s\n' | awk '{s += $1} END {print s + 0}')
    tree_bytes=$(git ls-files -z --cached --others --exclude-standard | xargs -0 -r stat -c %s -- 2>/dev/null | awk '{s += $1} END {print s + 0}')
    mib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1048576}'; }
    for wheel in "$dir"/*.whl; do
        printf 'prepare: %-80s %6s MiB\n' "$(basename "$wheel")" "$(mib "$(stat -c %s "$wheel")")"
    done
    echo "prepare: $dir holds $(mib "$dir_bytes") MiB; with the working tree ($(mib "$tree_bytes") MiB)" \
        "$(mib $((dir_bytes + tree_bytes))) MiB travel to the device (limit 64 MiB)"
    if [ $((dir_bytes + tree_bytes)) -gt $LIMIT_BYTES ]; then
        echo "gpu-check: $dir and the working tree are over the device's 64 MiB limit" >&2
        exit 1
    fi
}

run() {
    local missing=()
    for file in train.parquet eval.parquet plan.json plan-hf.json prepare.json; do
        [ -f "$dir/$file" ] || missing+=("$file")
    done
    compgen -G "$dir/epochplan-*.whl" >/dev/null || missing+=("epochplan wheel")
    compgen -G "$dir/polars-*.whl" >/dev/null || missing+=("polars wheel")
    [ ${#missing[@]} -eq 0 ] || fail "$dir lacks ${missing[*]}: run 'scripts/gpu-check.sh prepare' first"

    echo "run: $("$PYTHON" -c 'import platform, sys; print(sys.executable, platform.python_version(), "glibc", platform.libc_ver()[1])')"
    local site status
    site=$(mktemp -d)
    install_wheels "$site"
    # PYTHONPATH replaced, not extended: only the carried wheels stand for epochplan and polars.
    set +e
    PYTHONPATH=$site "$PYTHON" scripts/gpu_check.py --dir "$dir" --device "$device" "${model[@]}"
    status=$?
    set -e
    rm -rf "$site"
    return $status
}

case $command in
    prepare) prepare ;;
    run) run ;;
    all) prepare && run ;;
esac
