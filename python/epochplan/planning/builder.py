"""Epoch planning: from the true unique counts to an epoch range and a step budget.

Every number in a `Plan` carries a rationale entry (rule, detail, source), so a user can see why
the planner chose it. The planner consumes an audit (`epochplan.audit/1`, as a dict, a JSON file
or an object with `to_dict()`), or plain counts (`samples=`, `tokens=`).
"""

from __future__ import annotations

import dataclasses
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from ..errors import InputError, api_words, keyword_errors, switches, warn_at_caller
from .audit_input import AuditFile, DataCounts, counts_from_audit, counts_from_numbers, is_audit_json
from .audited import audit, audit_switches, is_audit_result, uncovered  # the audit's modules load when data is planned, not for counts
from .citations import (
    SRC_ARITH,
    SRC_AUDIT,
    SRC_CHINCHILLA,
    SRC_EVAL,
    SRC_FLOPS,
    SRC_HERNANDEZ,
    SRC_HF,
    SRC_MUENNIGHOFF,
    SRC_PATIENCE,
    SRC_SAVE,
    SRC_WARMUP_FT,
    SRC_WARMUP_PT,
)
from .counts import within_ceiling
from .geometry import DEFAULT_PRETRAIN_SEQ_LEN as DEFAULT_PRETRAIN_SEQ_LEN  # its former home
from .geometry import add_overhead, check_setup, geometry
from .model import EpochRange, Exposure, Plan, RationaleEntry, approx, epochs_text, fmt, percent
from .refusals import DataCannotFill, NothingToPlan
from .rounding import FRAMEWORK_SOURCES, ceil_div, exact, samples_trained, steps_per_epoch
from .rules import (
    EVALS_MAX,
    EVALS_MIN,
    EVALS_TARGET,
    FINETUNE_WARMUP,
    MIN_WARMUP,
    PRETRAIN_WARMUP,
    TOKENS_PER_PARAM,
    effective_data_ratio,
    epoch_rule,
)
from .setup import DEDUP_EVAL, DEDUPED_OUTPUT, DEFAULT_BATCH, Setup, check_fields, plan_phrases


@dataclass
class _Builder:
    """Collects rationale and warnings while the plan's numbers are computed."""

    setup: Setup
    counts: DataCounts
    rationale: list[RationaleEntry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    truncated: tuple[int, int] | None = None  # (samples, tokens) cut at seq_len

    def why(self, field_name: str, rule: str, detail: str, source: str) -> None:
        self.rationale.append(RationaleEntry(field_name, rule, detail, source))


@keyword_errors(lambda: switches(Setup) | audit_switches(), plan_phrases)  # the audit's options too: in what `plan(data)` says of it
def plan(
    source: Any = None,
    setup: Setup | None = None,
    *,
    samples: Any = None,
    tokens: Any = None,
    infer_regime: bool | None = None,
    **setup_fields: Any,
) -> Plan:  # noqa: E501
    """Plan epochs and steps for an audit (result, dict or JSON path) or for `samples`/`tokens`.

    A path is read as an audit JSON when the file is one JSON object with the audit's keys
    (whatever its name), else audited as data first, as data objects (polars, pyarrow) are.

    `setup_fields` (regime=, batch=, ...) build a Setup or override fields of `setup`. A token
    count alone (no audit, no samples) describes a pre-training corpus: unless a regime is given
    (`infer_regime` False; by default, when neither `setup` nor `regime=` is passed) it is
    planned as `pretrain`, and the rationale says so.
    """
    if infer_regime is None:
        infer_regime = setup is None and "regime" not in setup_fields
    inferred = infer_regime and source is None and samples is None and tokens is not None
    if inferred:
        setup_fields = {**setup_fields, "regime": "pretrain"}
    setup = _resolve_setup(setup, setup_fields)
    counts = _resolve_counts(source, samples, tokens, setup)
    b = _Builder(setup, counts)
    if inferred:
        detail = "--tokens given without --samples, an audit or --regime: planned as pretrain (pass --regime to choose another)"
        b.why("regime", "a token count alone describes a pre-training corpus", detail, "inferred")
    return _build(b)


def _resolve_setup(setup: Setup | None, fields: dict[str, Any]) -> Setup:
    check_fields(fields)
    if setup is None:
        return Setup(**fields)
    return dataclasses.replace(setup, **fields) if fields else setup


def _resolve_counts(source: Any, samples: Any, tokens: Any, setup: Setup) -> DataCounts:
    if source is None:
        return counts_from_numbers(samples, tokens)
    if samples is not None or tokens is not None:
        raise InputError("an audit and --samples/--tokens contradict each other; give one source of counts")
    # A path is an audit by content, not by name: an audit may be saved under any name, and
    # `rows.json` may be JSON lines of data (the command line's --audit passes an AuditFile:
    # always an audit). Any other object that is no audit is data (a polars or pyarrow table,
    # a datasets.Dataset), audited first as a data path is.
    if isinstance(source, (str, os.PathLike)):
        is_data = not is_audit_json(source)
    else:
        is_data = not isinstance(source, (AuditFile, Mapping)) and not is_audit_result(source)
    if is_data:
        # What the setup lacks whatever the data holds (--packing without --seq-len) fails now,
        # not after the whole audit, as on the command line; an audit has samples and tokens.
        check_setup(setup)
        source = audit(source)
        # What the audit says of its input, which the plan does not return: at the caller, as
        # `dedup` gives them (`eval-split-left-out` the audit gave already).
        for w in uncovered(source, setup.sample_overhead):  # less the special tokens --sample-overhead counts
            if w.id != "eval-split-left-out":
                warn_at_caller(w.message)
    return counts_from_audit(source)


def _build(b: _Builder) -> Plan:
    s, raw = b.setup, b.counts
    check_setup(s, samples=raw.unique_samples is not None, tokens=raw.unique_tokens is not None)
    _explain_counts(b)
    if raw.leaked_unique:
        b.warnings.append(
            f"{fmt(raw.unique_samples or 0)} unique samples, of which {_leaking(raw)}. The plan counts the leaking ones as "
            f"training data: to plan on the rows you will train on, {DEDUPED_OUTPUT}"
        )
    add_overhead(b)
    c = b.counts
    seq_len, packing, efficiency, n_items, tokens_epoch = geometry(b)
    if n_items == 0:  # packing texts that are all empty: no tokens, no sequences
        raise NothingToPlan("has no tokens to pack (every text is empty); nothing to plan with --packing")
    within_ceiling(n_items, "samples per epoch", "raise --seq-len or --packing-efficiency")
    if s.gpus > n_items:
        raise DataCannotFill(
            f"--gpus {s.gpus} is more than the {fmt(n_items)} samples per epoch: some devices would get no data; "
            f"use at most {fmt(n_items)} GPUs"
        )
    spe = _steps_per_epoch(b, n_items)
    tokens_epoch = _tokens_trained(b, n_items, tokens_epoch)
    lo, rec, hi, entries = epoch_rule(s.regime, c, n_items, s)
    b.rationale.extend(entries)
    planned, exact_epochs, total, budget = _budget(b, rec, spe, n_items, tokens_epoch)
    _check_epochs(b, planned, lo, hi)
    warmup = _warmup(b, total)
    eval_steps = _eval_steps(b, total, spe)
    save_steps = eval_steps
    b.why("save_steps", "save at every evaluation", f"save_steps = eval_steps = {fmt(eval_steps)} (a multiple, x1)", SRC_SAVE)
    patience = _patience(b, total, spe, eval_steps)
    # In exact arithmetic: a float holds only every other whole number past 2^53 (9e15 tokens).
    tokens_total = None if tokens_epoch is None else round(exact(tokens_epoch) * exact_epochs)
    ratio = effective_data_ratio(planned)
    b.why(
        "effective_data_ratio",
        "value of repeated data D'/U at the planned epochs",
        f"{epochs_text(planned)} -> D'/U = {ratio:.3f} (1.00 at 1, 3.73 at 4, 15.17 at 40)",
        SRC_MUENNIGHOFF,
    )
    flops = _flops(b, tokens_epoch, tokens_total, planned)
    exposure = _exposure(b, planned, spe, n_items, packing)
    return Plan(
        setup=s,
        regime=s.regime,
        framework=s.framework,
        unique_samples=c.unique_samples,
        unique_level=c.unique_level,
        unique_tokens=None if raw.unique_tokens is None else round(raw.unique_tokens),
        unique_tokens_estimated=raw.unique_tokens is not None and raw.tokens_estimated and raw.unique_level != "given",
        samples_per_epoch=n_items,
        packing=packing,
        packing_efficiency=efficiency,
        seq_len=seq_len,
        epochs=EpochRange(lo, rec, hi, planned),
        budget=budget,
        global_batch_size=s.global_batch,
        steps_per_epoch=spe,
        total_steps=total,
        warmup_steps=warmup,
        eval_steps=eval_steps,
        save_steps=save_steps,
        early_stopping_patience=patience,
        tokens_per_epoch=None if tokens_epoch is None else round(tokens_epoch),
        tokens_total=tokens_total,
        effective_data_ratio=ratio,
        flops=flops,
        exposure=exposure,
        warnings=tuple(map(api_words, b.warnings)),  # in the words of the API function called, as its errors are
        rationale=tuple(b.rationale),
        truncated_samples=None if b.truncated is None else b.truncated[0],
        truncated_tokens=None if b.truncated is None else b.truncated[1],
        sample_overhead=s.sample_overhead,
        leaked_samples=c.leaked_unique,
    )


def _explain_counts(b: _Builder) -> None:
    c = b.counts
    if c.unique_samples is not None:
        if c.unique_level == "given":
            detail, src = f"{fmt(c.unique_samples)} samples given, taken as unique", "--samples"
        else:
            detail = f"{fmt(c.unique_samples)} {c.unique_level}-unique of {fmt(c.rows or 0)} non-null rows"
            if c.unique_level == "near" and c.exact_unique is not None:
                detail += f" (exact-unique: {fmt(c.exact_unique)})"
            src = f"{SRC_AUDIT}, {c.unique_level}.unique"
            if c.leaked_unique:
                detail += f", of which {_leaking(c)} (the plan counts all {fmt(c.unique_samples)})"
                src += f", {c.unique_level}.leaked_unique"
        b.why("unique_samples", "epochs count over unique samples (near-unique when available)", detail, src)
    if c.unique_tokens is not None:
        given = c.unique_level == "given"
        estimate = "an estimate: " if c.tokens_estimated and not given else ""
        b.why(
            "unique_tokens",
            "tokens of the unique samples (near-unique representatives when available)",
            f"{estimate}{fmt(round(c.unique_tokens))} from {c.tokens_source}",
            "--tokens" if given else SRC_AUDIT,
        )
    b.why(
        "global_batch_size",
        "global batch = per-device batch x grad accumulation x data-parallel size",
        f"{b.setup.per_device_batch} x {b.setup.grad_accum} x {b.setup.gpus} = {b.setup.global_batch}"
        + ("" if b.setup.batch is not None else f" (per-device batch not given: default {DEFAULT_BATCH}; pass --batch)"),
        "setup",
    )


def _leaking(c: DataCounts) -> str:
    """How many of the unique samples leak into the audit's eval splits, and what dedup leaves."""
    splits = ", ".join(c.eval_splits) or "the eval splits"
    copies = "exact or near copies" if c.unique_level == "near" else "exact copies"
    level = "" if c.unique_level == "near" else " --level exact"
    return (
        f"{fmt(c.leaked_unique or 0)} leak into eval ({splits}: {copies} of eval rows); "
        f"after {DEDUP_EVAL.format(level)} {fmt((c.unique_samples or 0) - (c.leaked_unique or 0))} remain"
    )


def _steps_per_epoch(b: _Builder, n_items: int) -> int:
    s = b.setup
    spe = steps_per_epoch(s.framework, n_items, s.per_device_batch, s.grad_accum, s.gpus, s.drop_last)
    if spe == 0:
        raise DataCannotFill(
            f"--drop-last with {fmt(n_items)} samples per epoch and a global batch of {fmt(s.global_batch)} leaves 0 steps; "
            "lower --batch/--grad-accum/--gpus or drop --drop-last"
        )
    exact = n_items / s.global_batch
    b.why(
        "steps_per_epoch",
        f"{s.framework} rounding of the last partial batch and accumulation window",
        f"{fmt(n_items)} samples / global batch {fmt(s.global_batch)} = {approx(exact, 4)} -> {fmt(spe)} optimizer steps"
        f" (drop_last={s.drop_last}, {s.gpus} data-parallel rank{'s' if s.gpus > 1 else ''})",
        FRAMEWORK_SOURCES[s.framework],
    )
    if s.global_batch > n_items:
        b.warnings.append(
            f"global batch {fmt(s.global_batch)} is larger than the {fmt(n_items)} samples per epoch: every epoch is a "
            "single partial optimizer step; lower --batch, --grad-accum or --gpus"
        )
    return spe


def _tokens_trained(b: _Builder, n_items: int, tokens_epoch: float | None) -> float | Fraction | None:
    """Tokens an epoch trains on: all of them, or with --drop-last those of the samples in whole
    batches (the dropped ones take their share of the tokens). The token budget, total tokens
    and FLOPs count these."""
    s = b.setup
    if tokens_epoch is None or not s.drop_last:
        return tokens_epoch
    used = samples_trained(s.framework, n_items, s.per_device_batch, s.grad_accum, s.gpus)
    if used == n_items:
        return tokens_epoch
    trained = exact(tokens_epoch) * used / n_items
    b.why(
        "tokens_per_epoch",
        "--drop-last: only whole batches train; the dropped samples' share of the tokens is left out",
        f"{fmt(round(tokens_epoch))} x {fmt(used)} / {fmt(n_items)} samples = {fmt(round(trained))} tokens trained per epoch",
        FRAMEWORK_SOURCES[s.framework],
    )
    return trained


def _budget(b: _Builder, rec: float, spe: int, n_items: int, tokens_epoch: float | Fraction | None) -> tuple[float, Fraction, int, str]:
    """(planned epochs, the same as an exact fraction, total optimizer steps, what fixed them)."""
    s = b.setup
    if s.steps is not None:
        # Over the steps an epoch takes (its last batch may be short), as the trainers count: HF's
        # epoch at step N is N / steps per epoch. Not steps x global batch / samples, which
        # counts a short last batch as full and overstates epochs, tokens and FLOPs.
        planned = s.steps / spe
        b.why("total_steps", "given", f"{fmt(s.steps)} optimizer steps", "--steps")
        b.why(
            "epochs.planned",
            "epochs = steps / steps per epoch",
            f"{fmt(s.steps)} / {fmt(spe)} = {planned:.4g}",
            SRC_ARITH,
        )
        return planned, Fraction(s.steps, spe), s.steps, "steps"
    if s.token_budget is not None:
        if not tokens_epoch:  # check_setup saw a token count: here it is 0 (every text empty)
            raise DataCannotFill("--token-budget needs tokens to count epochs in: the data has none (every text is empty)")
        epochs = exact(s.token_budget) / exact(tokens_epoch)
        planned = float(epochs)
        b.why(
            "epochs.planned",
            "epochs = token budget / tokens per epoch",
            f"{fmt(s.token_budget)} / {fmt(round(tokens_epoch))} = {planned:.4g}",
            "--token-budget",
        )
        budget, why = "token_budget", "--token-budget"
    elif s.epochs is not None:
        planned, budget, why = s.epochs, "epochs", "--epochs"
        epochs = exact(planned)
        b.why("epochs.planned", "given", epochs_text(planned), why)
    else:
        planned, budget, why = rec, "rule", "the regime rule's recommendation"
        epochs = exact(planned)
        b.why("epochs.planned", "the recommended epochs", epochs_text(planned), "regime rule above")
    # In exact arithmetic: 1.1 x 100 in floats is 110.00000000000001, which ceil made 111 steps.
    # (HF's own max_steps for num_train_epochs=1.1 rounds that way too, which is why the exports
    # hand it max_steps unless the epochs are whole.)
    total = within_ceiling(max(1, math.ceil(epochs * spe)), "total optimizer steps", "plan fewer epochs or a larger batch")
    b.why(
        "total_steps",
        "total = ceil(epochs x steps per epoch) (HF Trainer's max_steps formula; exported as max_steps elsewhere)",
        f"ceil({planned:.4g} x {spe}) = {fmt(total)} ({why})",
        SRC_HF,
    )
    return planned, epochs, total, budget


def _check_epochs(b: _Builder, planned: float, lo: float, hi: float) -> None:
    s = b.setup
    if planned > hi + 1e-9:
        b.warnings.append(
            f"planned {epochs_text(planned, 3)} is above the {s.regime} rule's maximum of {approx(hi)}; expect overfitting or wasted compute"
        )
    elif planned < lo - 1e-9:
        b.warnings.append(f"planned {epochs_text(planned, 3)} is below the {s.regime} rule's minimum of {approx(lo)}")
    if s.regime == "pretrain" or b.counts.unique_samples is None:
        if planned > 40:
            b.warnings.append(
                f"{epochs_text(planned, 3)}: repeated tokens have almost no value past ~40 epochs (D'/U -> 16.4); get more data ({SRC_MUENNIGHOFF.split(',')[0]})"
            )
        elif planned > 16:
            b.warnings.append(
                f"{epochs_text(planned, 3)}: returns from repeated tokens diminish sharply past 16 epochs ({SRC_MUENNIGHOFF.split(',')[0]})"
            )
    if s.regime == "pretrain" and s.params and b.counts.unique_tokens:
        optimal = TOKENS_PER_PARAM * s.params / b.counts.unique_tokens
        if optimal > 4:
            b.warnings.append(
                f"data-constrained: a compute-optimal run wants {epochs_text(optimal, 3)} of this data; beyond ~4 epochs repeats "
                "lose value, so consider more unique data or a smaller model"
            )


def _warmup(b: _Builder, total: int) -> int:
    pretrain = b.setup.regime == "pretrain"
    share = PRETRAIN_WARMUP if pretrain else FINETUNE_WARMUP
    warmup = min(max(MIN_WARMUP, round(share * total)), total // 2)
    b.why(
        "warmup_steps",
        f"warm-up {percent(share, 0)} of the run, at least {MIN_WARMUP} steps, at most half the run",
        f"min(max({MIN_WARMUP}, round({share} x {fmt(total)})), {fmt(total)} // 2) = {fmt(warmup)}",
        SRC_WARMUP_PT if pretrain else SRC_WARMUP_FT,
    )
    return warmup


def _eval_steps(b: _Builder, total: int, spe: int) -> int:
    if total <= EVALS_MIN:
        every = 1
    else:
        every = min(max(round(total / EVALS_TARGET), ceil_div(total, EVALS_MAX)), total // EVALS_MIN)
    every = max(1, min(every, spe))
    evals = total // every
    detail = f"every {every} steps -> {evals} evaluations in {fmt(total)} steps, {spe / every:.3g} per epoch"
    if evals > EVALS_MAX:
        detail += " (more than 30: once per epoch wins)"
    if evals < EVALS_MIN:
        detail += " (fewer than 10: the run is too short for more)"
    b.why("eval_steps", "aim for ~20 evaluations (10-30), never less than one per epoch", detail, SRC_EVAL)
    return every


def _patience(b: _Builder, total: int, spe: int, eval_steps: int) -> int | None:
    if b.setup.regime == "pretrain":
        b.why("early_stopping_patience", "pre-training runs to its token budget", "no early stopping", SRC_CHINCHILLA)
        return None
    per_epoch = ceil_div(spe, eval_steps)
    evals = max(1, total // eval_steps)
    if evals <= 3:  # the first evaluation sets the best: 3 without improvement need 4
        b.why(
            "early_stopping_patience",
            "early stopping needs at least 3 evaluations without improvement after the first",
            f"{fmt(evals)} evaluation{'s' if evals > 1 else ''} in the run -> no early stopping",
            SRC_PATIENCE,
        )
        return None
    # One epoch without improvement, but never less than 3 evaluations (noise) and never more
    # than a quarter of the run, nor more than the evaluations after the first (else it could
    # never fire).
    patience = min(max(3, min(per_epoch, evals // 4)), evals - 1)
    b.why(
        "early_stopping_patience",
        "stop after one epoch of evaluations without improvement, at least 3, at most a quarter of the run",
        f"{fmt(per_epoch)} evaluations per epoch, {fmt(evals)} in the run -> patience {fmt(patience)}",
        SRC_PATIENCE,
    )
    return patience


def _flops(b: _Builder, tokens_epoch: float | None, tokens_total: int | None, planned: float) -> float | None:
    if tokens_epoch is not None and tokens_total is not None:
        b.why(
            "tokens_total",
            "tokens seen = tokens per epoch x planned epochs",
            f"{fmt(round(tokens_epoch))} x {planned:.4g} = {fmt(tokens_total)}",
            SRC_ARITH,
        )
    if b.setup.params is None or tokens_total is None:
        return None
    flops = 6.0 * b.setup.params * tokens_total
    b.why("flops", "training FLOPs ~ 6 x params x tokens", f"6 x {fmt(b.setup.params)} x {fmt(tokens_total)} = {flops:.3g}", SRC_FLOPS)
    return flops


def _exposure(b: _Builder, planned: float, spe: int, n_items: int, packing: bool) -> Exposure | None:
    """Duplicate exposure; `packing` is the plan's (pre-training packs unless told not to),
    not the setup's flag, which is None when packing is implied."""
    c, s = b.counts, b.setup
    if c.rows is None or c.unique_samples is None:
        return None
    # An epoch over the raw rows: packed, the rows fill about rows / unique times the planned
    # sequences (the audit has no packing of the raw rows); unpacked, they are the items.
    raw_items = ceil_div(n_items * c.rows, c.unique_samples) if packing and c.unique_samples else c.rows
    within_ceiling(raw_items, "an epoch over the raw rows", "raise --seq-len or --packing-efficiency")
    top_rows = sum(c.top_counts)
    top_repeats = sum(k - 1 for k in c.top_counts)
    exposure = Exposure(
        level=c.unique_level,
        rows=c.rows,
        unique=c.unique_samples,
        duplicate_rows=c.duplicate_rows,
        largest_cluster=c.largest_cluster,
        largest_cluster_exposures=c.largest_cluster * planned,
        raw_steps_per_epoch=steps_per_epoch(s.framework, raw_items, s.per_device_batch, s.grad_accum, s.gpus, s.drop_last),
        top_share_of_rows=top_rows / c.rows if c.rows else 0.0,
        top_share_of_repeats=top_repeats / c.duplicate_rows if c.duplicate_rows else 0.0,
    )
    if c.duplicate_rows > 0:
        _duplicate_warnings(b, exposure, planned, spe)
    return exposure


def _duplicate_warnings(b: _Builder, e: Exposure, planned: float, spe: int) -> None:
    share = e.duplicate_rows / e.rows
    raw = f"an epoch over raw rows is {fmt(e.raw_steps_per_epoch)} steps, not {fmt(spe)}; " if e.raw_steps_per_epoch != spe else ""
    b.warnings.append(
        f"{fmt(e.duplicate_rows)} of {fmt(e.rows)} non-null rows ({percent(share)}) are {e.level} duplicates: epochs are counted over "
        f"the {fmt(e.unique)} unique samples. Train on deduplicated rows (`epochplan dedup`) or weight each row 1/k; "
        f"otherwise {raw}a cluster of size k is seen k x {approx(planned)} times "
        f"(largest: k={fmt(e.largest_cluster)}, {approx(e.largest_cluster_exposures)} times)"
    )
    b.why(
        "exposure",
        "a cluster of size k is seen k x epochs times on raw rows; dedup removes the excess",
        f"dedup removes {fmt(e.duplicate_rows)} rows; one raw pass = {e.rows / e.unique:.3g} epochs of unique data",
        SRC_HERNANDEZ,
    )
    # Hernandez et al.: the harm comes from a small subset seen many times, not from a few pairs.
    concentrated = e.top_share_of_repeats >= 0.5 and e.top_share_of_rows <= 0.1 and e.largest_cluster >= 10
    if concentrated or e.largest_cluster_exposures >= 100:
        b.warnings.append(
            f"a small subset is repeated far more than the rest ({len(b.counts.top_counts)} largest clusters hold "
            f"{percent(e.top_share_of_rows)} of rows and {percent(e.top_share_of_repeats)} of the repeats; the largest is seen "
            f"{approx(e.largest_cluster_exposures)} times): repeated subsets hurt more than their size suggests "
            "(Hernandez et al. 2022); deduplicate or down-weight them"
        )
