#!/usr/bin/env bash
# Install everything the test suite needs into .venv and run it: the habits (lint, format, layering,
# clippy, the .pyi against the binary), then the Rust core tests, then pytest.
# Used by the README and by .ci/run. Safe to re-run: installs are incremental.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip

# PyTorch: the CPU wheel shipped beside the repo (plain `pip install torch` pulls GBs of CUDA),
# the one built for this interpreter (cp311 for Python 3.11).
PY_TAG=$(python -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
TORCH_WHEEL=$(ls ../shared/wheels/torch-*+cpu-"$PY_TAG"-*.whl 2>/dev/null | head -n 1 || true)
if [ -n "$TORCH_WHEEL" ]; then
    python -m pip install --quiet "$TORCH_WHEEL"
elif ls ../shared/wheels/torch-*+cpu-*.whl >/dev/null 2>&1; then
    echo "no CPU torch wheel for $PY_TAG in ../shared/wheels ($(cd ../shared/wheels && ls torch-*+cpu-*.whl | tr '\n' ' '));" \
        "remove .venv and run with PYTHON= an interpreter one fits (e.g. rm -rf .venv && PYTHON=python3.11 bash scripts/test.sh)" >&2
    exit 1
fi

# The Ray extra too: tests/test_ray_engine.py starts a two-node Ray cluster on loopback.
python -m pip install --quiet -e '.[test,ray]'

# The HTML report's browser test (tests/test_html_browser.py) renders it in Debian's chromium.
# CI runs this script as root; elsewhere install it yourself (the test skips without it, and
# fails under CI=true).
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        apt-get update && apt-get install -y chromium
    else
        echo "chromium not found: the browser test will be skipped (sudo apt-get install -y chromium)" >&2
    fi
fi

echo "== ruff check"
ruff check .
echo "== ruff format --check"
ruff format --check .
echo "== lint-imports (layers, no cycles; contract in pyproject.toml)"
lint-imports
echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy"
cargo clippy --all-targets --locked -- -D warnings
echo "== stubtest (python/epochplan/_epochplan.pyi against the built extension)"
python -m mypy.stubtest epochplan._epochplan

echo "== cargo test (Rust core)"
cargo test --locked -p epochplan-core --release

echo "== pytest"
# The package's bytecode compiled once, as `pip install` of a wheel does: the editable install
# leaves it to each run, and under PYTHONDONTWRITEBYTECODE=1 every CLI subprocess of the suite
# would compile some hundred modules again (0.15 s each).
python -m compileall -q python/epochplan
# On every core (pytest-xdist), a test file to a worker: the suite is mostly CLI subprocesses,
# one core each, and a file's module fixtures (a Ray cluster, an S3 server) start once. Give
# PYTEST_WORKERS=0 to run in this process (or arguments of your own after the script's).
set +e
python -m pytest -n "${PYTEST_WORKERS:-auto}" --dist loadfile "$@"
status=$?
set -e
if [ "$status" -eq 5 ]; then
    echo "pytest collected no tests" >&2
    exit 1
fi
exit "$status"
