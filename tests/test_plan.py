"""The epoch planner (`epochplan.plan`): published numbers, framework rounding, rules, contract.

Each test names the source of the number it checks.
"""

from __future__ import annotations

import json
import math

import numpy as np
import polars as pl
import pytest

import epochplan
from conftest import REPO
from epochplan.defaults import PLAN_SCHEMA
from epochplan.errors import EpochplanError, InputError
from epochplan.planning import (
    LengthQuantiles,
    Setup,
    effective_data_ratio,
    ffd_efficiency,
    openai_epochs,
    parse_count,
    plan,
    steps_per_epoch,
    synthetic_lengths,
)
from epochplan.planning.exports import to_composer, to_hf, to_lightning, to_torch
from epochplan.render.plan_text import render
from epochplan.render.yaml_text import to_yaml

CONTRACT_KEYS = {
    "schema",
    "regime",
    "unique_samples",
    "unique_tokens",
    "epochs",
    "global_batch_size",
    "steps_per_epoch",
    "total_steps",
    "warmup_steps",
    "eval_steps",
    "save_steps",
    "early_stopping_patience",
    "tokens_per_epoch",
    "tokens_total",
    "effective_data_ratio",
    "flops",
    "warnings",
    "rationale",
}


def audit_dict(rows: int, unique: int, *, top=(), near: dict | None = None, chars_mean: float = 200.0) -> dict:
    """A minimal `epochplan.audit/1` dict (issue 2 contract; `near` as in issue 3)."""
    lengths = {
        "chars": {"mean": chars_mean, "p50": chars_mean * 0.8, "p90": chars_mean * 2, "p99": chars_mean * 4, "max": chars_mean * 8},
        "words": {"mean": chars_mean / 5, "p50": 30, "p90": 80, "p99": 160, "max": 320},
        "tokens_estimate": int(rows * chars_mean / 4),
        "total_bytes": int(rows * chars_mean),
    }
    exact = {
        "unique": unique,
        "duplicate_rows": rows - unique,
        "duplicate_fraction": (rows - unique) / rows,
        "clusters": len(top),
        "largest_cluster": max(top, default=1),
        "top": [{"row": i, "count": k, "preview": f"text {i}"} for i, k in enumerate(top)],
    }
    d = {
        "schema": "epochplan.audit/1",
        "source": {"paths": ["x.parquet"], "text_columns": ["text"], "label_column": None, "normalize": "default"},
        "rows": rows,
        "null_rows": 0,
        "empty_rows": 0,
        "exact": exact,
        "lengths": lengths,
        "labels": None,
        "diversity": {"vocabulary": 10, "distinct_1": 0.5, "distinct_2": 0.5, "estimated": False},
    }
    if near is not None:
        d["near"] = near
    return d


# --- Published numbers ------------------------------------------------------------------------
@pytest.mark.parametrize("epochs, ratio", [(1, 1.00), (2, 1.97), (4, 3.73), (8, 6.62), (16, 10.58), (40, 15.17)])
def test_muennighoff_effective_data(epochs, ratio):
    """Muennighoff et al. 2023 (arXiv:2305.16264), D' = U + U R* (1 - e^(-R/R*)), R* = 15.39."""
    assert round(effective_data_ratio(epochs), 2) == ratio


def test_effective_data_ratio_is_reported_at_planned_epochs():
    """Muennighoff et al. 2023: 4 epochs are worth 3.73 x the unique data (issue 4 contract)."""
    p = plan(samples=1000, batch=10, epochs=4)
    assert p.to_dict()["effective_data_ratio"] == pytest.approx(3.73, abs=0.005)


def test_bert_pretraining_epochs():
    """Devlin et al. 2019 (BERT): 1 M steps x 256 sequences x 512 tokens over 3.3 B words = 39.7
    epochs (the paper says "approximately 40")."""
    p = plan(tokens=3.3e9, seq_len=512, batch=256, steps=1_000_000)
    assert round(p.epochs.planned, 1) == 39.7
    assert p.total_steps == 1_000_000
    # Each epoch's last batch is short (6,445,313 sequences, batch 256): the run reads the epochs'
    # tokens, a hair under steps x batch x length.
    assert p.tokens_total == pytest.approx(p.epochs.planned * 3.3e9, rel=1e-9)
    assert p.tokens_total == pytest.approx(1_000_000 * 256 * 512, rel=1e-4)
    assert any("16 epochs" in w for w in p.warnings)


def test_bert_tutorial_rounded_batch():
    """A widely read tutorial rounds BERT's batch to 128 000 tokens: 1 M x 128 000 / 3.3e9 = 38.8."""
    p = plan(tokens=3.3e9, seq_len=512, batch=256, token_budget=1_000_000 * 128_000)
    assert round(p.epochs.planned, 1) == 38.8


def test_bert_warmup_is_one_percent():
    """Devlin et al. 2019: 10 000 warm-up steps in 1 M pre-training steps (1 %)."""
    p = plan(tokens=3.3e9, regime="pretrain", seq_len=512, batch=256, steps=1_000_000)
    assert p.warmup_steps == 10_000


@pytest.mark.parametrize("samples, batch, expected", [(10_000, 100, 100), (2_000, 200, 10)])
def test_steps_per_epoch_worked_examples(samples, batch, expected):
    """S * B = N * E worked examples from issue 4: 10 000 / 100 -> 100, 2 000 / 200 -> 10."""
    p = plan(samples=samples, batch=batch, epochs=3)
    assert p.steps_per_epoch == expected
    assert p.total_steps == 3 * expected


def test_duplicated_dataset_is_planned_on_unique_rows():
    """Issue 4: 1 000 rows = 100 unique x 10 copies is planned on 100 unique samples, with a
    duplicate warning (Hernandez et al. 2022 on repeated data)."""
    p = plan(audit_dict(1000, 100, top=(10,) * 10), batch=10)
    assert p.unique_samples == 100
    assert p.samples_per_epoch == 100
    assert p.steps_per_epoch == 10
    assert p.exposure is not None and p.exposure.raw_steps_per_epoch == 100
    assert any("900 of 1,000 non-null rows" in w and "duplicates" in w for w in p.warnings)


def test_duplicated_dataset_through_the_real_audit():
    """Same 100 x 10 dataset, through `epochplan.audit` (issue 2 exact clusters)."""
    import epochplan

    texts = [f"sample number {i} about topic {i * 7}" for i in range(100)] * 10
    result = epochplan.audit(pl.DataFrame({"text": texts}), text="text")
    p = plan(result, Setup(batch=10))
    assert p.unique_samples == 100
    assert any("duplicates" in w for w in p.warnings)


def test_chinchilla_compute_optimal():
    """Hoffmann et al. 2022 (Chinchilla): 70 B parameters on 1.4 T tokens = 20 tokens/parameter,
    so E* = 1 epoch; training FLOPs = 6 N D (5.88e23)."""
    p = plan(tokens=1.4e12, regime="pretrain", params="70B", seq_len=2048, batch=16, gpus=8)
    assert p.epochs.recommended == pytest.approx(1.0)
    assert p.flops == pytest.approx(6 * 70e9 * 1.4e12, rel=1e-6)


def test_pretrain_data_constrained_caps_at_four_and_sixteen():
    """Muennighoff et al. 2023: repeats up to ~4 epochs are nearly as good as new data; past 16
    mostly wasted. 7 B params x 20 / 7 B tokens = E* 20 -> recommended 4, max 16."""
    p = plan(tokens=7e9, regime="pretrain", params=7e9, seq_len=2048, batch=8)
    assert (p.epochs.min, p.epochs.recommended, p.epochs.max) == (1.0, 4.0, 16.0)
    assert any("data-constrained" in w for w in p.warnings)


def test_pretrain_warns_past_40_epochs():
    """Muennighoff et al. 2023: repeated tokens are worth ~nothing past ~40 epochs."""
    p = plan(tokens=1e8, regime="pretrain", seq_len=1024, batch=8, epochs=50)
    assert any("40 epochs" in w for w in p.warnings)


@pytest.mark.parametrize("n, epochs", [(2, 25), (20, 5), (34, 3), (1000, 3), (8333, 3), (10_000, 2), (30_000, 1)])
def test_openai_data_prep_rule(n, epochs):
    """OpenAI cookbook Chat_finetuning_data_prep.ipynb: 3 epochs, examples x epochs in
    [100, 25 000], epochs in [1, 25]."""
    assert openai_epochs(n) == epochs
    assert plan(samples=n, batch=1).epochs.recommended == epochs


def test_lima_small_set_range():
    """Zhou et al. 2023 (LIMA): 1 000 curated examples trained 15 epochs; small sets 3-15."""
    p = plan(samples=1000, batch=8)
    assert (p.epochs.min, p.epochs.max) == (3.0, 15.0)


@pytest.mark.parametrize("regime", ["finetune", "lora"])
def test_epoch_range_holds_the_recommendation_for_every_small_set(regime):
    """min <= recommended <= max for every sample count, also where 100 / n is not whole (6
    samples: the cookbook recommends 100 // 6 = 16, and the range once began at 17) and below 4
    samples (ceil(100 / n) passes the 25-epoch ceiling)."""
    for n in [*range(1, 1200), 5000, 5001, 8333, 8334, 25_000, 30_000]:
        e = plan(samples=n, batch=8, regime=regime).epochs
        assert 1 <= e.min <= e.recommended <= e.max <= 25, (n, e)


def test_lora_lower_on_large_sets():
    """Raschka 2023 (LoRA tips): a second epoch over 50k Alpaca made results worse."""
    full, lora = plan(samples=6000, batch=8), plan(samples=6000, batch=8, regime="lora")
    assert full.epochs.recommended == 3 and lora.epochs.recommended == 2 and lora.epochs.max == 2


@pytest.mark.parametrize("n, expected", [(500, (10, 20, 50)), (5000, (5, 10, 20)), (50_000, (1, 3, 10))])
def test_classifier_table(n, expected):
    """DESIGN.md small-data classifier table: <1k 10-50, 1k-10k 5-20, >10k 1-10."""
    e = plan(samples=n, regime="classifier", batch=8).epochs
    assert (e.min, e.recommended, e.max) == expected


# --- Framework rounding ----------------------------------------------------------------------
@pytest.mark.parametrize("framework", ["hf", "lightning", "torch", "composer"])
def test_last_partial_accumulation_window_is_a_step(framework):
    """100 samples, batch 10, grad accumulation 3: 10 micro-batches = 3 full windows + 1 partial.
    HF (trainer.py set_initial_training_values: len // ga + int(len % ga > 0)), Lightning
    (training_epoch_loop.py: "Lightning steps on the final batch"), Composer (one step per
    30-sample device batch, the last one partial) and epochplan's torch loop all take 4 steps."""
    assert steps_per_epoch(framework, 100, 10, 3, 1) == 4


@pytest.mark.parametrize("framework, expected", [("hf", 4), ("lightning", 4), ("torch", 4), ("composer", 3)])
def test_drop_last_differs_for_composer(framework, expected):
    """drop_last drops partial *batches*: HF/Lightning/torch still step on the 1-batch window;
    Composer's device batch is batch x grad_accum, so its partial 10-sample batch is dropped
    (torch sampler.py BatchSampler.__len__ = N // batch)."""
    assert steps_per_epoch(framework, 100, 10, 3, 1, drop_last=True) == expected


def test_data_parallel_padding():
    """torch distributed.py DistributedSampler pads to ceil(N / replicas) per rank; accelerate
    BatchSamplerShard evens batches to ceil(batches / processes): 1 003 samples, batch 16, 8 GPUs
    -> 126 samples per rank -> 8 batches."""
    assert steps_per_epoch("torch", 1003, 16, 1, 8) == 8
    assert steps_per_epoch("hf", 1003, 16, 1, 8) == 8
    assert steps_per_epoch("torch", 1003, 16, 1, 8, drop_last=True) == 7


def test_fractional_epochs_round_like_hf():
    """transformers trainer.py: max_steps = ceil(num_train_epochs * num_update_steps_per_epoch);
    100 samples, batch 7, ga 3 -> 15 batches -> 5 steps/epoch -> 1.5 epochs = 8 steps."""
    assert plan(samples=100, batch=7, grad_accum=3, epochs=1.5).total_steps == 8


def test_steps_match_real_frameworks():
    """Against the frameworks' own code (runs where torch/transformers are installed, e.g. issue 5's CI)."""
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, DistributedSampler

    data = list(range(1003))
    for g, b, ga, dl in [(1, 16, 4, False), (3, 16, 3, False), (8, 3, 2, True)]:
        shards = DistributedSampler(data, num_replicas=g, rank=0, drop_last=dl) if g > 1 else None
        batches = len(DataLoader(data, batch_size=b, sampler=shards, drop_last=dl))
        assert steps_per_epoch("torch", 1003, b, ga, g, dl) == math.ceil(batches / ga)
    accelerate = pytest.importorskip("accelerate.data_loader")
    for g, b, dl in [(3, 16, False), (8, 3, True)]:
        sampler = DataLoader(data, batch_size=b, shuffle=True, drop_last=dl).batch_sampler
        per_rank = len(accelerate.BatchSamplerShard(sampler, num_processes=g, process_index=0))
        assert steps_per_epoch("hf", 1003, b, 2, g, dl) == math.ceil(per_rank / 2)
    del torch


# --- Steps, warm-up, evaluation ----------------------------------------------------------------
def test_warmup_eval_save_patience_rules():
    """DESIGN.md Planning: warm-up 3-10 % (6 %, >= 10), 10-30 evaluations and >= 1 per epoch,
    save a multiple of eval, patience in evaluations."""
    p = plan(samples=50_000, batch=32, epochs=3)
    assert isinstance(p.warmup_steps, int) and p.warmup_steps == round(0.06 * p.total_steps)
    evals = p.total_steps // p.eval_steps
    assert 10 <= evals <= 30 and p.eval_steps <= p.steps_per_epoch
    assert p.save_steps % p.eval_steps == 0
    assert 3 <= p.early_stopping_patience <= evals


def test_eval_at_least_once_per_epoch_wins_over_30_evaluations():
    """DESIGN.md: at least once per epoch, even if that means more than 30 evaluations."""
    p = plan(samples=200, batch=10, epochs=40)
    assert p.eval_steps <= p.steps_per_epoch


def test_short_run_warmup_floor():
    """Issue 4: warm-up >= 10 steps (never more than half of a very short run)."""
    assert plan(samples=2000, batch=200, epochs=3).warmup_steps == 10
    assert plan(samples=100, batch=100, epochs=6).warmup_steps == 3
    why = {e.field: e.detail for e in plan(samples=100, batch=100, epochs=6).rationale}
    assert why["warmup_steps"] == "min(max(10, round(0.06 x 6)), 6 // 2) = 3"


# --- Counts from the audit ----------------------------------------------------------------------
def test_near_unique_preferred_over_exact():
    """Issue 4 scope 2: unique samples = near-unique when the audit has it (issue 3)."""
    near = {
        "unique": 700,
        "duplicate_rows": 300,
        "duplicate_fraction": 0.3,
        "clusters": 50,
        "largest_cluster": 9,
        "top": [{"row": 0, "count": 9, "preview": "x"}],
    }
    p = plan(audit_dict(1000, 950, near=near), batch=10)
    assert p.unique_samples == 700 and p.unique_level == "near"
    assert p.unique_tokens == round(1000 * 200 / 4 * 700 / 1000)


def test_unique_tokens_are_labelled_as_estimate():
    """Issue 2: tokens_estimate = UTF-8 bytes / 4 is an estimate; the rationale says so."""
    p = plan(audit_dict(1000, 1000), batch=10)
    entry = next(r for r in p.rationale if r.field == "unique_tokens")
    assert "estimate" in entry.detail


def test_hernandez_warning_on_concentrated_repeats():
    """Hernandez et al. 2022: a small repeated subset hurts; 5 texts x 200 copies in 10 000 rows."""
    p = plan(audit_dict(10_000, 9005, top=(200,) * 5), batch=10)
    assert any("Hernandez" in w for w in p.warnings)


def test_packing_efficiency_first_fit_decreasing():
    """FFD on known lengths: items of half a sequence pack perfectly; 0.6 L items waste 40 %."""
    assert ffd_efficiency(np.full(100, 256), 512) == pytest.approx(1.0)
    assert ffd_efficiency(np.full(100, 300), 500) == pytest.approx(0.6)
    assert ffd_efficiency(np.array([1200]), 512) == pytest.approx(1200 / 1536)


def test_synthetic_lengths_follow_the_quantiles():
    q = LengthQuantiles(mean=60.0, p50=40.0, p90=120.0, p99=300.0, max=900.0)
    sample = synthetic_lengths(q, 4000)
    assert np.quantile(sample, 0.5) == pytest.approx(40, abs=1)
    assert np.quantile(sample, 0.9) == pytest.approx(120, abs=2)
    assert sample.max() <= 900 and sample.mean() == pytest.approx(60, rel=0.05)


def test_packing_from_audit_lengths():
    """Issue 4: sequences = ceil(unique tokens / (L x efficiency)), efficiency by FFD on the audit's lengths."""
    p = plan(audit_dict(10_000, 10_000), batch=8, seq_len=512, packing=True)
    assert p.packing and 0.5 < p.packing_efficiency <= 1.0
    assert p.samples_per_epoch == math.ceil(p.unique_tokens / (512 * p.packing_efficiency))
    assert any(r.field == "packing_efficiency" and "first-fit-decreasing" in r.rule for r in p.rationale)


# --- Contract and errors ----------------------------------------------------------------------
def test_json_contract_and_rationale_for_every_number():
    """Issue 4 output contract: exact keys, schema, and a rationale entry per number."""
    p = plan(audit_dict(5000, 4000, top=(20, 10)), regime="lora", params="7B", batch=8, grad_accum=4, gpus=8, seq_len=2048)
    d = json.loads(p.to_json())
    assert CONTRACT_KEYS <= set(d) and d["schema"] == PLAN_SCHEMA
    assert set(d["epochs"]) >= {"min", "recommended", "max"}
    assert all(set(r) >= {"rule", "detail", "source"} and r["source"] for r in d["rationale"])
    explained = {r["field"] for r in d["rationale"]}
    for key in CONTRACT_KEYS - {"schema", "regime", "warnings", "rationale"}:
        if d[key] is not None:
            assert key in explained, key
    assert (
        p.to_json()
        == plan(audit_dict(5000, 4000, top=(20, 10)), regime="lora", params="7B", batch=8, grad_accum=4, gpus=8, seq_len=2048).to_json()
    )


@pytest.mark.parametrize("text, value", [("7B", 7e9), ("350M", 350e6), ("7e9", 7e9), ("1.3b", 1.3e9), (7e9, 7e9), ("2_000", 2000)])
def test_parse_count(text, value):
    assert parse_count(text, "--params") == value


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"batch": 0}, "batch (per-device batch size): must be at least 1"),
        ({"batch": -4}, "batch (per-device batch size)"),
        ({"grad_accum": 0}, "grad_accum: must be at least 1"),
        ({"gpus": 0}, "gpus (data-parallel size)"),
        ({"regime": "rlhf"}, "unknown regime"),
        ({"framework": "jax"}, "unknown framework"),
        ({"epochs": 3, "steps": 100}, "contradict"),
        ({"steps": 10, "token_budget": 1e6}, "contradict"),
        ({"packing_efficiency": 1.5}, "(0, 1]"),
        ({"params": "seven"}, "params"),
        ({"epochs": 0}, "epochs: must be greater than 0"),
    ],
)
def test_setup_errors(kwargs, fragment):
    with pytest.raises(InputError, match=None) as info:
        Setup(**kwargs)
    assert fragment in str(info.value) and "--" not in str(info.value)  # the keyword argument, not the flag
    assert isinstance(info.value, ValueError) and isinstance(info.value, EpochplanError)


def test_more_gpus_than_samples():
    with pytest.raises(InputError, match="more than the 4 samples"):
        plan(samples=4, gpus=8)


def test_drop_last_leaving_no_steps():
    with pytest.raises(InputError, match="0 steps"):
        plan(samples=10, batch=16, drop_last=True)


def test_unknown_setup_fields_and_data_objects():
    """An unknown keyword was a raw TypeError without a Setup (an InputError with one), and a
    polars DataFrame was taken for an audit (it has `to_dict`): "audit schema is None"."""
    for setup in (None, Setup(batch=8)):
        with pytest.raises(InputError, match="unknown setup field 'foo'; the fields are regime"):
            plan(samples=100, setup=setup, foo=1)
    frame = pl.DataFrame({"text": [f"row {i} of the data" for i in range(300)] + ["row 0 of the data"] * 100})
    assert plan(frame, batch=10).total_steps == plan(epochplan.audit(frame), batch=10).total_steps
    assert plan(frame.lazy(), batch=10).total_steps == plan(frame.to_arrow(), batch=10).total_steps


@pytest.mark.parametrize("kind", ["path", "frame"])
def test_a_setup_wrong_whatever_the_data_fails_before_the_audit(monkeypatch, shared_data, kind):
    """`plan(DATA, packing=True)` audited the whole dataset, then raised "--packing needs
    --seq-len"; the command line checks the setup first, and so does the library now."""
    from epochplan.planning import builder

    def no_audit(*args, **kwargs):
        raise AssertionError("the data was audited before the setup was checked")

    monkeypatch.setattr(builder, "audit", no_audit)
    data = shared_data / "chatterbot_english.parquet"
    source = str(data) if kind == "path" else pl.read_parquet(data)
    with pytest.raises(InputError, match=r"packing=True needs seq_len=\.\.\."):
        plan(source, packing=True)


def test_steps_given_count_epochs_as_the_trainer_does():
    """--steps 20 at 2 steps an epoch (100 samples, batch 64: the second batch short) is 10
    epochs, as --epochs 10 plans it: it was 20 x 64 / 100 = 12.8, with 28 % more tokens and FLOPs."""
    by_steps = plan(samples=100, tokens=1e4, batch=64, params=1e8, steps=20)
    by_epochs = plan(samples=100, tokens=1e4, batch=64, params=1e8, epochs=10)
    assert by_steps.total_steps == by_epochs.total_steps == 20
    assert by_steps.epochs.planned == by_epochs.epochs.planned == 10
    assert by_steps.to_dict()["tokens_total"] == by_epochs.to_dict()["tokens_total"] == 100_000
    assert by_steps.to_dict()["flops"] == by_epochs.to_dict()["flops"]
    # HF's epoch at step 17 with 4 steps an epoch (37 samples, batch 5, accumulation 2) is 4.25.
    assert plan(samples=37, batch=5, grad_accum=2, steps=17).epochs.planned == pytest.approx(17 / 4)


def test_packed_plan_counts_raw_rows_in_packed_sequences():
    """With --packing the duplicate warning compared packed steps with unpacked raw rows: "an
    epoch over raw rows is 50 steps, not 8" where the raw rows pack into about 11 steps."""
    audit = epochplan.audit(str(REPO / "examples" / "data" / "sample.parquet")).to_dict()
    p = plan(audit, packing=True, seq_len=64)
    rows, unique = audit["rows"], audit["near"]["unique"]
    raw_sequences = math.ceil(p.samples_per_epoch * rows / unique)
    assert p.exposure.raw_steps_per_epoch == math.ceil(raw_sequences / p.setup.global_batch) < 20


def test_tiny_epochs_and_huge_flops_stay_valid_numbers():
    """A 10^18-token corpus planned 1.4e-07 epochs, written 0.0; 10^300 x 10^300 FLOPs were
    written as Infinity, which strict JSON parsers refuse. Counts now stop at 2^63 - 1, so
    10^300 is refused, and the largest allowed counts give finite FLOPs."""
    tiny = plan(samples=1e15, tokens=1e18, regime="pretrain", seq_len=4096, params=7e9).to_dict()
    assert 0 < tiny["epochs"]["planned"] < 1e-6
    with pytest.raises(InputError, match="tokens: 1e\\+300 is too large"):
        plan(tokens=1e300, params=7e9)
    huge = json.loads(plan(tokens=9e18, params=9e18, seq_len=1, batch=1, epochs=1).to_json())
    assert math.isfinite(huge["flops"]) and huge["flops"] > 1e38


def test_nothing_to_plan():
    with pytest.raises(InputError, match="nothing to plan"):
        plan()


# --- Exports --------------------------------------------------------------------------------------
def test_exports_run_exactly_total_steps():
    """Issue 5 exports: HF num_train_epochs only when it gives exactly total_steps, else max_steps;
    Lightning max_steps; Composer "<N>ba"."""
    p = plan(samples=1003, batch=16, grad_accum=4, epochs=3)
    hf = to_hf(p)
    assert hf["num_train_epochs"] == 3 and "max_steps" not in hf
    assert hf["save_steps"] % hf["eval_steps"] == 0 and hf["load_best_model_at_end"]
    assert isinstance(hf["warmup_steps"], int)
    assert to_hf(plan(samples=1003, batch=16, epochs=2.5))["max_steps"] == math.ceil(2.5 * 63)
    lightning = to_lightning(p)
    assert lightning["max_steps"] == p.total_steps and lightning["val_check_interval"] == p.eval_steps * 4
    assert to_composer(p)["max_duration"] == f"{p.total_steps}ba"
    assert to_torch(p)["total_steps"] == p.total_steps == p.to_torch()["total_steps"]


def test_rendered_formats():
    p = plan(samples=2000, batch=200, epochs=3)
    compile(render(p, "hf"), "hf", "exec")
    compile(render(p, "lightning"), "lightning", "exec")
    compile(render(p, "composer"), "composer", "exec")
    compile(render(p, "torch"), "torch", "exec")
    assert 'max_duration="30ba"' in render(p, "composer")
    # Composer stops when batch - best batch > patience (strictly): P evaluations E batches apart
    # are P x E - 1 batches, as many evaluations without improvement as HF and Lightning wait.
    patience, every = p.early_stopping_patience, p.eval_steps
    assert f'patience="{patience * every - 1}ba"' in render(p, "composer")
    stops_at = next(k for k in range(1, 100) if k * every > patience * every - 1)
    assert stops_at == patience
    # What a trainer does with the text as pasted (found by loading each in the real library):
    # Composer saves only into a folder (save_interval alone saved nothing) and fails at the
    # first evaluation on a metric the model lacks (the name is the user's, said at the top);
    # Lightning's saves follow save_steps, and its warm-up is said.
    composer = render(p, "composer")
    assert 'save_folder="checkpoints"' in composer and "save_folder" not in to_composer(p)  # the caller's own, in the API
    assert composer.count("METRIC") == 2 and "monitor=METRIC" in composer
    lightning = render(p, "lightning")
    assert f"ModelCheckpoint(every_n_train_steps={p.save_steps})" in lightning
    assert f"Warm-up ({p.warmup_steps} steps)" in lightning and "build_scheduler(opt, plan)" in lightning
    assert json.loads(render(p, "json")) == p.to_dict()


def test_yaml_is_the_json_content():
    yaml = pytest.importorskip("yaml")
    p = plan(audit_dict(1000, 100, top=(10,) * 10), batch=10)
    assert yaml.safe_load(render(p, "yaml")) == json.loads(p.to_json())
    assert yaml.safe_load(to_yaml({"a": [], "b": {}, "c": [{"x": 1}], "null": "y: z"})) == {
        "a": [],
        "b": {},
        "c": [{"x": 1}],
        "null": "y: z",
    }
    # Floats read back as floats, large and small ones too (PyYAML takes `6e+20` for a string).
    floats = {"flops": 6e20, "params": 1e30, "lr": 1e-05, "x": 2.5e-7, "big": 1.5e300, "n": -3e22, "inf": float("inf")}
    assert yaml.safe_load(to_yaml(floats)) == floats


# --- Real data --------------------------------------------------------------------------------------
def test_real_dataset_end_to_end(shared_data):
    """ChatterBot English `text` (../shared/data README): one utterance appears 121 times, so the plan
    counts unique rows and warns about the heavily repeated subset (Hernandez et al. 2022)."""
    import epochplan

    result = epochplan.audit(str(shared_data / "chatterbot_english.parquet"), text="text")
    d = result.to_dict()
    p = plan(result, Setup(regime="finetune", batch=16))
    level = "near" if d.get("near") else "exact"
    assert p.unique_samples == d[level]["unique"] < d["rows"]
    assert p.steps_per_epoch == math.ceil(p.unique_samples / 16)
    assert any("Hernandez" in w for w in p.warnings)
    assert p.exposure is not None and p.exposure.largest_cluster >= 121


@pytest.mark.parametrize("samples", [8, 16, 24, 32, 40, 100, 1_000, 10_000])
@pytest.mark.parametrize("epochs", [1, 2, 3])
def test_early_stopping_patience_can_fire_within_the_run(samples, epochs):
    """The first evaluation sets the best, so a patience equal to the number of evaluations
    could never fire (3 evaluations, patience 3). A run with 3 or fewer has none."""
    import epochplan
    from epochplan.torch import EarlyStopping

    p = epochplan.plan(samples=samples, batch=8, epochs=epochs)
    evals = p.total_steps // p.eval_steps
    if evals <= 3:
        assert p.early_stopping_patience is None, (evals, p.early_stopping_patience)
        return
    stop = EarlyStopping(p.early_stopping_patience)
    fired = [stop.step(1.0) for _ in range(evals)]  # never improves after the first
    assert fired[-1] and fired.index(True) == p.early_stopping_patience, (evals, p.early_stopping_patience)
