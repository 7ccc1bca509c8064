"""examples/train_with_plan.py, run as a user runs it, on small samples of the real datasets:
it trains for exactly plan.total_steps optimizer steps (or stops early by the plan's rule).

Needs PyTorch (in CI: the CPU wheel installed by scripts/test.sh; importorskip only protects
users without it).
"""

from __future__ import annotations

import math
import re
import subprocess
import sys

import pytest

from conftest import REPO

pytest.importorskip("torch", reason="PyTorch not installed (pip install 'epochplan[torch]')")

EXAMPLE = REPO / "examples" / "train_with_plan.py"


def _run(*args: str) -> dict[str, str]:
    """The example's `key: value` lines (the first of each key; all plan warnings joined)."""
    proc = subprocess.run([sys.executable, str(EXAMPLE), *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    facts = {}
    for line in proc.stdout.splitlines():
        key, _, value = line.partition(": ")
        facts.setdefault(key, value)
    facts["plan warnings"] = "\n".join(line for line in proc.stdout.splitlines() if line.startswith("plan warning: "))
    return facts


def _int(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    assert match, (pattern, text)
    return int(match.group(1))


def test_example_trains_exactly_the_planned_steps(shared_data):
    facts = _run(
        str(shared_data / "gpteacher_codegen-instruct.parquet"),
        "--text",
        "prompt",
        "--rows",
        "300",
        "--batch",
        "8",
        "--grad-accum",
        "3",
        "--epochs",
        "2",
        "--seq-len",
        "48",
        "--scheduler",
        "linear",
        "--no-early-stopping",
        "--device",
        "cpu",
    )
    assert facts["device"] == "cpu"
    unique = _int(r"= (\d+) (?:near|exact)-unique samples", facts["data"])
    planned = _int(r"(\d+) optimizer steps", facts["plan"])
    # Plain-torch rounding: ceil(batches / grad_accum) steps per epoch, 2 epochs.
    assert planned == 2 * math.ceil(math.ceil(unique / 8) / 3)
    assert facts["optimizer steps"] == f"{planned} / {planned} planned"
    assert facts["epochs over unique samples"].startswith("2.0000")
    assert float(facts["final lr"]) == 0.0  # the schedule ends on the last planned step
    assert facts["stopped early"] == "no"
    assert "wall time" in facts


def test_example_classifier_with_inverse_size_sampling_and_early_stopping(shared_data):
    facts = _run(
        str(shared_data / "chatterbot_english.parquet"),
        "--text",
        "text",
        "--label",
        "file",
        "--rows",
        "600",
        "--batch",
        "16",
        "--grad-accum",
        "2",
        "--mode",
        "inverse_size",
        "--scheduler",
        "onecycle",
        "--device",
        "cpu",
    )
    planned = _int(r"(\d+) optimizer steps", facts["plan"])
    eval_steps = _int(r"eval every (\d+)", facts["plan"])
    done = _int(r"^(\d+) / ", facts["optimizer steps"])
    assert facts["optimizer steps"].endswith(f"/ {planned} planned")
    if facts["stopped early"] == "no":
        assert done == planned
    else:  # the plan's rule fired at an evaluation
        assert facts["stopped early"].startswith("yes") and done < planned and done % eval_steps == 0
    assert re.search(r"are (near|exact) duplicates", facts["plan warnings"])  # chatterbot repeats utterances
