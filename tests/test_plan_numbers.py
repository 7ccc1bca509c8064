"""How the planner reads the numbers people type and pass: thousands separators, decimal commas,
the 2^63 ceiling, exact decimals, numpy integers. Each case was read wrongly once; the command
line runs as a subprocess, as a user runs it."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest

import epochplan
from conftest import assert_clean_error, run_cli
from epochplan.errors import InputError
from epochplan.planning import Setup, parse_count, plan


def plan_json(*args: str) -> dict:
    proc = run_cli("plan", *args, "-f", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# --- commas and underscores: thousands separators only -------------------------------------------


@pytest.mark.parametrize(
    "args, fragment",
    [
        # Each was read with the comma dropped: 25 epochs, a 13B model, 10 GPUs.
        (("--samples", "1000", "--epochs", "2,5"), "--epochs 2,5: use a dot for decimals (2.5)"),
        (("--samples", "1000", "--params", "1,3B"), "--params 1,3B: use a dot for decimals (1.3B)"),
        (("--samples", "1000", "--gpus", "1,0"), "use a dot for decimals (1.0)"),
        (("--samples", "1,00,000"), "groups of three digits (1,000,000 or 1_000_000)"),
        (("--samples", "10_00"), "groups of three digits"),
        (("--samples", "1,000_000"), "groups of three digits"),
        (("--samples", "1.000.000"), "write thousands without dots (1000000 or 1,000,000)"),
        # A whole-number option refuses a dot before three digits: German for a thousand, read as 1.
        (("--samples", "1.000"), "--samples 1.000: ambiguous"),
        (("--samples", "100", "--batch", "2.048"), "write 2048 or 2,048 for thousands, 2 for a single one"),
    ],
)
def test_a_comma_or_a_dot_that_is_not_what_it_seems_is_refused_naming_the_spelling(args, fragment):
    assert_clean_error(run_cli("plan", *args), fragment)


def test_thousands_separators_in_groups_of_three_are_read():
    d = plan_json("--samples", "1,000,000", "--batch", "1_000", "--seq-len", "2,048", "--epochs", "1.5")
    assert (d["unique_samples"], d["setup"]["batch"], d["seq_len"], d["epochs"]["planned"]) == (1_000_000, 1000, 2048, 1.5)
    assert plan_json("--samples", "1.5k", "--epochs", "1.000")["unique_samples"] == 1500  # a dot in a decimal option is a decimal
    assert parse_count("1,300,000,000", "--params") == parse_count("1.3B", "--params") == 1.3e9


# --- the ceiling: every count at most 2^63 - 1, read exactly ---------------------------------------


@pytest.mark.parametrize(
    "args, fragment",
    [
        # Were exit 3, an OverflowError from the core's shard_size (u64).
        (("--samples", "1e30", "--gpus", "2", "--framework", "torch"), "--samples: 1e30 is too large"),
        (("--samples", "1e30", "--gpus", "2", "--framework", "composer"), "--samples: 1e30 is too large"),
        (("--samples", "2e19", "--gpus", "2", "--framework", "lightning"), "--samples: 2e19 is too large"),
        # Were accepted.
        (("--samples", "100", "--batch", "9e30"), "--batch (per-device batch size): 9e30 is too large"),
        (("--samples", "100", "--epochs", "1e30"), "--epochs: 1e30 is too large"),
        (("--samples", "9223372036854775808"), "at most 9,223,372,036,854,775,807"),
        (("--samples", "100", "--batch", "1e18", "--gpus", "100"), "global batch"),
        (("--samples", "9e18", "--epochs", "1e15"), "total optimizer steps would be"),
        # Were planned as one epoch less: a float holds only every other whole number past 2^53.
        (("--samples", "100", "--epochs", "9007199254740993"), "--epochs: 9007199254740993 is more than 9,007,199,254,740,991"),
        (
            ("--tokens", "9e18", "--seq-len", "1", "--packing-efficiency", "1e-9", "--gpus", "2", "--framework", "torch"),
            "samples per epoch",
        ),
    ],
)
def test_counts_past_the_ceiling_are_refused_in_one_line(args, fragment):
    assert_clean_error(run_cli("plan", *args), fragment)


def test_counts_are_read_exactly_up_to_the_ceiling():
    # 1e30 was read as the float 1000000000000000019884624838656; the largest count now plans,
    # sharded on two ranks by the core, each number exact.
    top = 2**63 - 1
    d = plan_json("--samples", str(top), "--gpus", "2", "--batch", "1", "--epochs", "1", "--framework", "torch")
    assert d["unique_samples"] == top and d["steps_per_epoch"] == d["total_steps"] == 2**62
    assert plan_json("--samples", "1.5e3")["unique_samples"] == 1500
    with pytest.raises(InputError, match="too large"):
        Setup(steps=1e30)


#: 2^53 + 1: the first whole number a float64 cannot hold (it reads 9,007,199,254,740,992).
PAST_FLOAT = 9_007_199_254_740_993


def test_token_counts_past_2_53_are_planned_to_the_last_unit():
    """--tokens and --token-budget went through a float: 2^53 + 1 tokens packed into
    2^53 sequences, one step short, and every token figure was one token short."""
    one_each = ("--seq-len", "1", "--batch", "1")
    d = plan_json("--tokens", str(PAST_FLOAT), *one_each)
    assert d["unique_tokens"] == d["tokens_per_epoch"] == d["tokens_total"] == PAST_FLOAT
    assert d["samples_per_epoch"] == d["steps_per_epoch"] == d["total_steps"] == PAST_FLOAT
    d = plan_json("--tokens", str(PAST_FLOAT), *one_each, "--packing-efficiency", "0.5", "--epochs", "1")
    assert d["samples_per_epoch"] == d["total_steps"] == 2 * PAST_FLOAT
    # the budget read exactly: 2^53 + 1 tokens of 100,000 a epoch, 125 steps each
    d = plan_json("--samples", "1000", "--tokens", "100000", "--seq-len", "128", "--token-budget", str(PAST_FLOAT))
    assert d["tokens_total"] == PAST_FLOAT and d["total_steps"] == -(-PAST_FLOAT * 125 // 100_000)
    # steps given: the tokens they see, exactly (were 800 tokens short)
    d = plan_json("--samples", "1000", "--tokens", "100000", "--seq-len", "128", "--steps", str(PAST_FLOAT))
    assert d["total_steps"] == PAST_FLOAT and d["tokens_total"] == PAST_FLOAT * 100_000 // 125
    # --drop-last: the tokens of the whole batches, exactly
    d = plan_json("--samples", "3", "--tokens", str(PAST_FLOAT), "--batch", "2", "--drop-last", "--epochs", "1")
    assert d["tokens_per_epoch"] == d["tokens_total"] == round(Fraction(PAST_FLOAT * 2, 3))
    # an audit's token count, which it writes as an integer
    assert plan(samples=1000, tokens=PAST_FLOAT, seq_len=1, batch=1, regime="pretrain").total_steps == PAST_FLOAT


@pytest.mark.parametrize(
    "flag",
    [
        "--samples",
        "--tokens",
        "--params",
        "--batch",
        "--grad-accum",
        "--gpus",
        "--seq-len",
        "--packing-efficiency",
        "--sample-overhead",
        "--epochs",
        "--steps",
        "--token-budget",
    ],
)
@pytest.mark.parametrize("value", ["0", "-1", "1e30", "nan", "inf", "-inf"])
def test_absurd_numbers_exit_2_in_one_line(flag, value):
    base = {"--samples": [], "--tokens": ["--samples", "1000", "--seq-len", "128"]}.get(
        flag, ["--samples", "1000", "--tokens", "1e5", "--seq-len", "128"]
    )
    if flag == "--packing-efficiency":
        base = [*base, "--packing"]
    proc = run_cli("plan", *base, f"{flag}={value}", "--format", "json")
    if flag == "--sample-overhead" and value == "0":
        assert proc.returncode == 0 and json.loads(proc.stdout)["sample_overhead"] == 0
        return
    assert_clean_error(proc, flag)


# --- numpy numbers --------------------------------------------------------------------------------


def test_numpy_integers_are_whole_numbers():
    # Each raised "expected a whole number": np.int64 is no `int`.
    setup = Setup(batch=np.int64(8), gpus=np.int32(2), grad_accum=np.uint8(2), seq_len=np.int64(512), steps=np.int16(40))
    assert (setup.batch, setup.gpus, setup.grad_accum, setup.seq_len, setup.steps) == (8, 2, 2, 512, 40)
    assert all(type(v) is int for v in (setup.batch, setup.gpus, setup.grad_accum, setup.seq_len, setup.steps))
    p = plan(samples=np.int64(100), batch=np.int64(10), epochs=np.float32(1.5))
    assert (p.unique_samples, p.steps_per_epoch, p.total_steps) == (100, 10, 15)
    assert epochplan.plan(samples=np.int64(100)).to_json()  # and the JSON holds plain ints
    for bad in (np.float64(8.5), np.bool_(True), True):
        with pytest.raises(InputError, match="^batch"):
            Setup(batch=bad)


# --- total steps: ceil(epochs x steps per epoch) on the decimal as given ---------------------------


@pytest.mark.parametrize(
    "args, total",
    [
        # Each was one step too many: 1.1 x 100 is 110.00000000000001 in floats.
        (("--samples", "800", "--batch", "8", "--epochs", "1.1"), 110),
        (("--samples", "800", "--batch", "8", "--epochs", "0.07"), 7),
        (("--tokens", "1e6", "--seq-len", "100", "--batch", "10", "--token-budget", "2.007e6"), 2007),
    ],
)
def test_total_steps_are_not_rounded_up_by_float_error(args, total):
    d = plan_json(*args)
    assert d["total_steps"] == total
    assert any(r["field"] == "total_steps" and f"= {total:,} " in r["detail"] for r in d["rationale"])


def test_total_steps_sweep_matches_integer_arithmetic():
    # epochs k/100 at s steps per epoch is ceil(k x s / 100) steps, in integers.
    for samples, batch in ((800, 8), (700, 7), (300, 10), (1000, 9)):
        spe = -(-samples // batch)
        for k in range(1, 301):
            p = plan(samples=samples, batch=batch, epochs=k / 100)
            assert p.total_steps == max(1, -(-(k * spe) // 100)), (samples, batch, k / 100)
    # A token budget of k thousand tokens over 10^6 tokens an epoch of 1000 steps is k steps.
    for k in range(1, 3001, 7):
        assert plan(tokens=1e6, seq_len=100, batch=10, token_budget=float(f"{k}e3")).total_steps == k, k
