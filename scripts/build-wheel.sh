#!/usr/bin/env bash
# Build the one epochplan wheel (abi3: every CPython >= 3.11) into OUT_DIR and print its path.
#
#   scripts/build-wheel.sh OUT_DIR
#
# The glibc floor is manylinux_2_34 because that is what the host toolchain produces: Rust's std,
# linked against this machine's glibc (2.36, Debian 12), binds pthread_create, pthread_key_*,
# dlsym (GLIBC_2.34), stat64/fstat64 (2.33), pthread_getattr_np (2.32), gettid (2.30) and log
# (libm, 2.29), so maturin's manylinux_2_28 audit rejects the library. 2.34 is the oldest policy
# the build passes. The GPU image should meet it (its Python 3.12.3 is Ubuntu 24.04's, glibc
# 2.39; not yet read there): pip refuses the wheel with "not a supported wheel on this platform"
# if it does not. An older floor needs an older sysroot (a manylinux container, or `maturin --zig`).
# Override with WHEEL_COMPATIBILITY=manylinux_2_NN.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -ne 1 ]; then
    echo "usage: scripts/build-wheel.sh OUT_DIR" >&2
    exit 2
fi
out_dir=$1
compatibility=${WHEEL_COMPATIBILITY:-manylinux_2_34}

if command -v maturin >/dev/null 2>&1 && maturin --version >/dev/null 2>&1; then
    maturin=(maturin)
elif "${PYTHON:-python3}" -m maturin --version >/dev/null 2>&1; then
    maturin=("${PYTHON:-python3}" -m maturin)
else
    echo "build-wheel.sh: maturin not found on PATH nor as '${PYTHON:-python3} -m maturin'; install it: pip install 'maturin>=1.8,<2.0'" >&2
    exit 2
fi

# Build into an empty folder so that exactly one wheel comes out, whatever OUT_DIR held before.
build_dir=$(mktemp -d)
trap 'rm -rf "$build_dir"' EXIT
# --release: the workspace's `release` profile, as the issue asks (`dist` adds fat LTO, minutes more).
"${maturin[@]}" build --release --compatibility "$compatibility" --out "$build_dir" >&2
wheels=("$build_dir"/epochplan-*.whl)
if [ ${#wheels[@]} -ne 1 ] || [ ! -f "${wheels[0]}" ]; then
    echo "build-wheel.sh: expected one wheel in $build_dir, found: ${wheels[*]}" >&2
    exit 3
fi
name=$(basename "${wheels[0]}")
case $name in
    *-cp311-abi3-*"${compatibility}"_x86_64*.whl | *-cp311-abi3-*"${compatibility}"_aarch64*.whl) ;;
    *)
        echo "build-wheel.sh: $name is not a cp311-abi3 $compatibility wheel" >&2
        exit 3
        ;;
esac
mkdir -p "$out_dir"
mv -f "${wheels[0]}" "$out_dir/$name"
echo "$out_dir/$name"
