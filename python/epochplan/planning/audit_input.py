"""What the data looks like to the planner: the counts read from an audit (`epochplan.audit/1`
dict, JSON file or result object) or given directly."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._epochplan import TokenLengths
from ..defaults import AUDIT_SCHEMA
from ..errors import InputError
from .counts import positive_float, positive_int


@dataclass(frozen=True)
class LengthQuantiles:
    """Per-sample length quantiles in (estimated) tokens."""

    mean: float
    p50: float
    p90: float
    p99: float
    max: float


@dataclass(frozen=True)
class DataCounts:
    """The counts the planner needs, read from an audit or given directly."""

    unique_samples: int | None
    unique_level: str  # "near" | "exact" | "given"
    unique_tokens: float | None
    tokens_source: str  # how unique_tokens was obtained, for the rationale
    token_lengths: LengthQuantiles | None = None
    rows: int | None = None  # non-null rows in the audit
    duplicate_rows: int = 0
    largest_cluster: int = 1
    clusters: int = 0
    top_counts: tuple[int, ...] = ()
    exact_unique: int | None = None
    #: (token length, samples) of every unique sample, from the audit's
    #: `lengths.tokens.unique_lengths`: truncation and packing are counted from it exactly.
    unique_lengths: tuple[tuple[int, int], ...] | None = None
    tokens_estimated: bool = True  # unique_tokens is the bytes/4 estimate, not tokenizer counts


def _audit_dict(source: Any) -> dict[str, Any]:
    """An `epochplan.audit/1` dict from a dict, an object with `to_dict()`, or a JSON file path."""
    if isinstance(source, Mapping):
        data = dict(source)
    elif hasattr(source, "to_dict"):
        data = source.to_dict()
    elif isinstance(source, (str, os.PathLike)):
        data = _read_audit_json(Path(source))
    else:
        raise InputError(f"cannot plan from a {type(source).__name__}; pass an audit result, its dict or a JSON path")
    if not isinstance(data, dict):
        raise InputError(
            f"audit is a JSON {type(data).__name__}, not an {AUDIT_SCHEMA} object; give a file written by `epochplan audit --json`"
        )
    if data.get("schema") != AUDIT_SCHEMA:
        raise InputError(f"audit schema is {data.get('schema')!r}, expected {AUDIT_SCHEMA!r}; re-run epochplan audit --json")
    return data


def _read_audit_json(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"--audit {path}: file not found; write one with `epochplan audit DATA --json {path}`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"--audit {path}: not a readable audit JSON ({exc}); re-create it with epochplan audit --json") from None


class NothingToPlan(InputError):
    """The audit has nothing to train on (`plan` refuses it; `audit` writes it with no plan and
    `why` as the reason)."""

    def __init__(self, why: str) -> None:
        super().__init__(f"audit {why}")
        self.why = why


def nothing_to_plan(source: Any) -> str | None:
    """Why an audit gives nothing to plan (every text is null), or None when it can be planned."""
    data = _audit_dict(source)
    rows, nulls = data.get("rows"), data.get("null_rows")
    if not isinstance(rows, int) or not isinstance(nulls, int) or rows > nulls:
        return None
    columns = "+".join((data.get("source") or {}).get("text_columns") or []) or "the text column"
    return f"has no non-null text rows (all {rows:,} rows of {columns} are null); nothing to plan (check the --text column)"


def counts_from_audit(source: Any) -> DataCounts:
    """Read the planner's inputs from an audit; near-unique wins over exact-unique when present."""
    data = _audit_dict(source)
    try:
        non_null = int(data["rows"]) - int(data["null_rows"])
        exact = data["exact"]
        level, stats = ("near", data["near"]) if data.get("near") else ("exact", exact)
        unique = int(stats["unique"])
        lengths = data.get("lengths") or {}
    except KeyError as exc:
        raise InputError(f"audit is missing field {exc}; re-create it with epochplan audit --json") from None
    except (TypeError, ValueError):
        raise InputError(
            "audit has a field that is not a whole number (rows, null_rows or the unique count); re-create it with epochplan audit --json"
        ) from None
    if non_null <= 0 and (why := nothing_to_plan(data)) is not None:
        raise InputError(f"audit {why}")
    if non_null <= 0 or not 0 < unique <= non_null:
        raise InputError(
            f"audit counts do not add up: {unique:,} {level}-unique of {non_null:,} non-null rows; re-create it with epochplan audit --json"
        )
    tokens = lengths.get("tokens") or {}
    table = _length_table(tokens.get("unique_lengths"))
    estimated = bool(tokens.get("estimated", True))
    if stats.get("unique_tokens") is not None:
        unique_tokens: float | None = float(stats["unique_tokens"])
        how = "UTF-8 bytes / 4 per sample (an estimate; audit with --tokenizer for exact counts)"
        if not estimated:
            how = f"tokenizer {tokens.get('tokenizer')} counts (encode without special tokens)"
        tokens_source = f"{level}.unique_tokens: {how}, summed over the {unique:,} {level}-unique representatives"
    else:  # an audit written before token counts: scale the corpus estimate
        tokens_estimate = lengths.get("tokens_estimate")
        unique_tokens = None if tokens_estimate is None else float(tokens_estimate) * unique / non_null
        tokens_source = "audit tokens_estimate (UTF-8 bytes / 4) x unique / non-null rows"
        estimated, table = True, None
    return DataCounts(
        unique_samples=unique,
        unique_level=level,
        unique_tokens=unique_tokens,
        tokens_source=tokens_source,
        token_lengths=_table_quantiles(table) if table else _token_quantiles(lengths, non_null),
        rows=non_null,
        duplicate_rows=int(stats.get("duplicate_rows", non_null - unique)),
        largest_cluster=int(stats.get("largest_cluster") or 1),
        clusters=int(stats.get("clusters") or 0),
        top_counts=tuple(int(t["count"]) for t in stats.get("top") or ()),
        exact_unique=int(exact["unique"]),
        unique_lengths=table,
        tokens_estimated=estimated,
    )


def _length_table(raw: Any) -> tuple[tuple[int, int], ...] | None:
    if raw is None:
        return None
    try:
        table = tuple((int(length), int(samples)) for length, samples in raw)
    except (TypeError, ValueError):
        raise InputError(
            "audit lengths.tokens.unique_lengths is not a [[length, samples], ...] table; re-create it with epochplan audit --json"
        ) from None
    if any(length < 0 or samples < 0 for length, samples in table):
        raise InputError("audit lengths.tokens.unique_lengths has a negative entry; re-create it with epochplan audit --json")
    return table


def _table_quantiles(table: tuple[tuple[int, int], ...]) -> LengthQuantiles | None:
    """Quantiles of the unique samples' token lengths, exact (nearest rank, from the core)."""
    s = TokenLengths.from_table(list(table)).summary()
    return None if s is None else LengthQuantiles(s["mean"], s["p50"], s["p90"], s["p99"], s["max"])


def _token_quantiles(lengths: Mapping[str, Any], non_null: int) -> LengthQuantiles | None:
    """Scale character quantiles to tokens with the corpus-wide tokens-per-character ratio."""
    chars, tokens = lengths.get("chars"), lengths.get("tokens_estimate")
    if not chars or not tokens or not chars.get("mean"):
        return None
    per_char = float(tokens) / (float(chars["mean"]) * non_null)
    return LengthQuantiles(*(float(chars[k]) * per_char for k in ("mean", "p50", "p90", "p99", "max")))


def counts_from_numbers(samples: Any = None, tokens: Any = None) -> DataCounts:
    """Counts given directly (`--samples`, `--tokens`), taken as already unique."""
    n = None if samples is None else positive_int(samples, "--samples")
    t = None if tokens is None else positive_float(tokens, "--tokens")
    if n is None and t is None:
        raise InputError("nothing to plan: give an audit (--audit FILE or a data path), --samples or --tokens")
    return DataCounts(unique_samples=n, unique_level="given", unique_tokens=t, tokens_source="given (--tokens)")
