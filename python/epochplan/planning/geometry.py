"""Sequences per epoch: the sequence length, packing, truncation and the per-sample token
overhead, each with its rationale. With the audit's token-length table of the unique samples
(`lengths.tokens.unique_lengths`) truncation and packing are counted on the real lengths; without
it (an older audit, or --tokens) from a length sample rebuilt from quantiles."""

from __future__ import annotations

import dataclasses
import math
from typing import TYPE_CHECKING

from .._epochplan import TokenLengths
from ..errors import InputError
from .citations import SRC_ARITH, SRC_AUDIT, SRC_FFD, SRC_FFD_TABLE
from .model import fmt, percent
from .packing import ffd_efficiency, synthetic_lengths
from .rounding import exact

if TYPE_CHECKING:
    from .audit_input import DataCounts
    from .builder import _Builder
    from .setup import Setup

DEFAULT_PRETRAIN_SEQ_LEN = 2048
#: Warn when at least this share of the unique samples is longer than the sequence length.
TRUNCATION_WARNING_SHARE = 0.05

Geometry = tuple[int | None, bool, float | None, int, float | None]


def check_setup(s: Setup, *, samples: bool = True, tokens: bool = True) -> None:
    """Raise what is wrong with the setup whatever the data's numbers, knowing only which counts
    there are (`samples`, `tokens`; an audit has both). `audit`, `plan DATA` and `plan()` on
    data call it before the long audit, the builder before planning; what is left can only fail
    on the numbers (more GPUs than samples, --drop-last leaving no step)."""
    token_mode = s.regime == "pretrain" or bool(s.packing) or not samples
    if s.sample_overhead and tokens and not samples:
        raise InputError("--sample-overhead needs a sample count to add the overhead to: give --samples or an audit")
    if token_mode and not tokens:
        raise InputError("token-based planning (pre-training or --packing) needs a token count: give --tokens or an audit")
    if token_mode and s.seq_len is None and s.regime != "pretrain":  # pre-training assumes its default
        what = "--packing" if samples else "--tokens without --samples"
        raise InputError(f"{what} needs --seq-len to count sequences (tokens / seq_len); give --seq-len")
    if token_mode and s.packing is False and not samples:
        raise InputError("--no-packing needs a sample count: give --samples or an audit")
    if s.token_budget is not None and not tokens:
        raise InputError("--token-budget needs a token count: give --tokens or an audit with lengths")


def add_overhead(b: _Builder) -> None:
    """Add `sample_overhead` tokens to every unique sample's count (chat template, special
    tokens): every later token figure (packing, tokens per epoch, budgets, FLOPs) includes them."""
    overhead, c = b.setup.sample_overhead, b.counts
    if not overhead or c.unique_tokens is None or c.unique_samples is None:  # check_setup refused the latter
        return
    added = overhead * c.unique_samples
    b.why(
        "sample_overhead",
        "tokens added to every sample (chat template, special tokens)",
        f"{overhead} x {fmt(c.unique_samples)} samples = {fmt(added)} tokens: "
        f"{fmt(round(c.unique_tokens))} + {fmt(added)} = {fmt(round(c.unique_tokens + added))}",
        "--sample-overhead",
    )
    b.counts = dataclasses.replace(c, unique_tokens=c.unique_tokens + added)


def geometry(b: _Builder) -> Geometry:
    """(seq_len, packing, efficiency, items per epoch, tokens per epoch), for a setup that
    `check_setup` passed."""
    s, c = b.setup, b.counts
    seq_len = s.seq_len
    if seq_len is None and s.regime == "pretrain":
        seq_len = DEFAULT_PRETRAIN_SEQ_LEN
        b.why("seq_len", "pre-training needs a sequence length", f"--seq-len not given: {seq_len} assumed", "default")
    token_mode = s.regime == "pretrain" or bool(s.packing) or c.unique_samples is None
    if seq_len is not None:
        _truncation(b, seq_len, packed=token_mode and s.packing is not False)
    if not token_mode:
        return seq_len, False, None, int(c.unique_samples), _sample_tokens(b, seq_len)  # type: ignore[arg-type]
    assert c.unique_tokens is not None and seq_len is not None, "check_setup: token mode has tokens and a seq_len"
    if s.packing is False:
        return _unpacked(b, seq_len)  # check_setup: there is a sample count
    if c.unique_lengths is not None and s.packing_efficiency is None:
        return _packed_table(b, c.unique_lengths, seq_len)
    efficiency = _packing_efficiency(b, seq_len)
    sequences = math.ceil(exact(c.unique_tokens) / (seq_len * exact(efficiency)))  # exact: tokens past 2^53 too
    b.why(
        "samples_per_epoch",
        "packed sequences = ceil(unique tokens / (seq_len x packing efficiency))",
        f"ceil({fmt(round(c.unique_tokens))} / ({seq_len} x {efficiency:.4f})) = {fmt(sequences)}",
        SRC_ARITH,
    )
    b.why("tokens_per_epoch", "packing keeps every token", f"{fmt(round(c.unique_tokens))} tokens per epoch", SRC_ARITH)
    return seq_len, True, efficiency, sequences, c.unique_tokens


def _estimated(c: DataCounts) -> str:
    return " (estimated tokens: UTF-8 bytes / 4)" if c.tokens_estimated else ""


def _truncation(b: _Builder, seq_len: int, packed: bool) -> None:
    """`truncated_samples` and `truncated_tokens`: unique samples longer than seq_len once the
    overhead is added, and the tokens beyond it; a warning when they are a large share."""
    c, overhead = b.counts, b.setup.sample_overhead
    if c.unique_samples is None or c.unique_level == "given":
        return
    if c.unique_lengths is None:
        b.why(
            "truncated_samples",
            "counted from the audit's token-length table",
            "not available: the audit has no lengths.tokens.unique_lengths (re-run epochplan audit)",
            SRC_AUDIT,
        )
        return
    samples, tokens = TokenLengths.from_table(list(c.unique_lengths)).truncation(seq_len, overhead)
    b.truncated = (samples, tokens)
    plus = f" + {overhead} overhead" if overhead else ""
    b.why(
        "truncated_samples",
        "unique samples longer than seq_len",
        f"{fmt(samples)} of {fmt(c.unique_samples)} unique samples have length{plus} > {seq_len}{_estimated(c)}",
        f"{SRC_AUDIT}, lengths.tokens.unique_lengths",
    )
    b.why(
        "truncated_tokens",
        "tokens beyond seq_len, summed over those samples",
        f"sum of (length{plus} - {seq_len}) = {fmt(tokens)}" + (" (packing splits them across sequences instead)" if packed else ""),
        f"{SRC_AUDIT}, lengths.tokens.unique_lengths",
    )
    share = samples / c.unique_samples if c.unique_samples else 0.0
    if share >= TRUNCATION_WARNING_SHARE:
        what = (
            "packing splits them across sequences"
            if packed
            else f"{fmt(tokens)} tokens ({percent(tokens / max(1.0, c.unique_tokens or 0.0))}) would be cut off; "
            "raise --seq-len, split long samples or pack them"
        )
        b.warnings.append(
            f"{percent(share)} of the unique samples ({fmt(samples)} of {fmt(c.unique_samples)}) are longer than "
            f"--seq-len {seq_len}{' with the sample overhead' if overhead else ''}{_estimated(c)}: {what}"
        )


def _packed_table(b: _Builder, table: tuple[tuple[int, int], ...], seq_len: int) -> Geometry:
    """Packing counted on the real token lengths of the unique samples."""
    c, overhead = b.counts, b.setup.sample_overhead
    sequences, tokens, efficiency = TokenLengths.from_table(list(table)).packing(seq_len, overhead)
    plus = f" (+{overhead} overhead each)" if overhead else ""
    b.why(
        "packing_efficiency",
        "first-fit-decreasing packing of the unique samples' token lengths",
        f"{fmt(tokens)} tokens{plus} / ({fmt(sequences)} sequences x {seq_len}) = {efficiency:.4f}{_estimated(c)}",
        SRC_FFD_TABLE,
    )
    b.why(
        "samples_per_epoch",
        "packed sequences: what first-fit-decreasing fills",
        f"{fmt(c.unique_samples or 0)} unique samples, longer ones split, pack into {fmt(sequences)} sequences of {seq_len} tokens",
        SRC_FFD_TABLE,
    )
    b.why("tokens_per_epoch", "packing keeps every token", f"{fmt(tokens)} tokens per epoch", SRC_ARITH)
    return seq_len, True, efficiency, sequences, tokens


def _packing_efficiency(b: _Builder, seq_len: int) -> float:
    s, c = b.setup, b.counts
    if s.packing_efficiency is not None:
        b.why("packing_efficiency", "given", f"{s.packing_efficiency:.4f}", "--packing-efficiency")
        return s.packing_efficiency
    if c.token_lengths is None:
        b.why(
            "packing_efficiency",
            "no length distribution: a concatenated token stream fills every slot",
            "1.0 assumed; pass --packing-efficiency to change",
            "default",
        )
        return 1.0
    sample = synthetic_lengths(c.token_lengths, min(int(c.unique_samples or 4000), 4000)) + s.sample_overhead
    efficiency = ffd_efficiency(sample, seq_len)
    b.why(
        "packing_efficiency",
        "first-fit-decreasing packing into seq_len slots",
        f"{efficiency:.4f} on {sample.size} synthetic lengths (estimated tokens, mean {c.token_lengths.mean:.1f}, "
        f"p99 {c.token_lengths.p99:.0f}) into {seq_len}-token sequences",
        SRC_FFD,
    )
    return efficiency


def _truncated_share(b: _Builder, seq_len: int) -> float:
    """Share of tokens kept when each sample is cut at seq_len (from the synthetic sample)."""
    c = b.counts
    if c.token_lengths is None:
        return 1.0 if c.unique_tokens is None or c.unique_samples is None else min(1.0, seq_len * c.unique_samples / c.unique_tokens)
    import numpy as np  # here, not above: a plan of plain counts never loads numpy

    sample = synthetic_lengths(c.token_lengths, min(int(c.unique_samples or 4000), 4000)) + b.setup.sample_overhead
    return float(np.minimum(sample, seq_len).sum() / sample.sum())


def _sample_tokens(b: _Builder, seq_len: int | None) -> float | None:
    c = b.counts
    if c.unique_tokens is None:
        return None
    if seq_len is None:
        b.why("tokens_per_epoch", "one pass over the unique samples", f"{fmt(round(c.unique_tokens))} tokens", SRC_ARITH)
        return c.unique_tokens
    if b.truncated is not None:
        tokens = c.unique_tokens - b.truncated[1]
        b.why(
            "tokens_per_epoch",
            "samples truncated at seq_len, padding not counted",
            f"{fmt(round(c.unique_tokens))} - {fmt(b.truncated[1])} truncated = {fmt(round(tokens))}{_estimated(c)}",
            f"{SRC_AUDIT}, lengths.tokens.unique_lengths",
        )
        return tokens
    kept = _truncated_share(b, seq_len)
    tokens = c.unique_tokens * kept
    b.why(
        "tokens_per_epoch",
        "samples truncated at seq_len, padding not counted",
        f"{fmt(round(c.unique_tokens))} x {kept:.4f} kept = {fmt(round(tokens))}",
        SRC_FFD,
    )
    return tokens


def _unpacked(b: _Builder, seq_len: int) -> Geometry:
    """Pre-training without packing: one sample per padded sequence."""
    c = b.counts
    n = int(c.unique_samples)  # type: ignore[arg-type]
    tokens = _sample_tokens(b, seq_len) or 0.0
    efficiency = tokens / (n * seq_len)
    b.why(
        "packing_efficiency",
        "no packing: one sample per sequence, the rest is padding",
        f"{fmt(round(tokens))} tokens / ({fmt(n)} x {seq_len}) = {efficiency:.4f}",
        SRC_ARITH,
    )
    return seq_len, False, efficiency, n, tokens
