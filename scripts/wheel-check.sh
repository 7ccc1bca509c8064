#!/usr/bin/env bash
# Prove the one abi3 wheel works on every Python it claims: build it, then for each interpreter
# make a fresh venv, `pip install` the wheel (its dependencies as binary wheels from PyPI) and run
# scripts/wheel_smoke.py in an empty folder with `python -I`, so that neither the source tree nor
# an editable install can stand in for the wheel.
#
#   scripts/wheel-check.sh                       # Python 3.11 and 3.12 required, 3.13 when found
#   WHEEL_CHECK_PYTHONS="/path/python3.12 ..." scripts/wheel-check.sh
#
# Interpreters are looked up as $PYENV_ROOT/versions/X.Y.*/bin/pythonX.Y, then pythonX.Y on PATH.
# Prints one "python X.Y.Z: ok" line per interpreter; exits non-zero on the first failure.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

find_python() {  # find_python X.Y -> path of a working interpreter, or nothing
    local version=$1 candidate
    for candidate in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python"$version" "$(command -v "python$version" || true)"; do
        if [ -n "$candidate" ] && [ -x "$candidate" ] && "$candidate" -c 'import sys, venv' >/dev/null 2>&1; then
            echo "$candidate"
            return
        fi
    done
}

pythons=()
if [ -n "${WHEEL_CHECK_PYTHONS:-}" ]; then
    read -r -a pythons <<<"$WHEEL_CHECK_PYTHONS"
else
    for version in 3.11 3.12; do
        found=$(find_python "$version")
        if [ -z "$found" ]; then
            echo "wheel-check: Python $version not found (looked in ${PYENV_ROOT:-$HOME/.pyenv}/versions and PATH); install it or set WHEEL_CHECK_PYTHONS" >&2
            exit 2
        fi
        pythons+=("$found")
    done
    found=$(find_python 3.13)
    if [ -n "$found" ]; then
        pythons+=("$found")
    else
        echo "wheel-check: Python 3.13 not found: not checked (3.11 and 3.12 are the required ones)"
    fi
fi

wheel=$("$repo/scripts/build-wheel.sh" "$work/dist")
echo "wheel: $(basename "$wheel") ($(stat -c %s "$wheel") bytes)"

mkdir -p "$work/run"
cp "$repo/examples/data/sample.parquet" "$work/run/sample.parquet"
for python in "${pythons[@]}"; do
    version=$("$python" -c 'import platform; print(platform.python_version())')
    venv="$work/venv-$version"
    "$python" -m venv "$venv"
    # --only-binary: dependencies come as wheels, nothing is compiled here; quiet unless it fails.
    if ! install_log=$("$venv/bin/python" -m pip install --disable-pip-version-check --no-compile --only-binary=:all: "$wheel" 2>&1); then
        echo "$install_log" >&2
        echo "wheel-check: python $version: pip install of $(basename "$wheel") failed" >&2
        exit 1
    fi
    (cd "$work/run" && env -u PYTHONPATH -u PYTHONHOME "$venv/bin/python" -I "$repo/scripts/wheel_smoke.py" sample.parquet "$venv/bin/epochplan")
    echo "python $version: ok"
done
