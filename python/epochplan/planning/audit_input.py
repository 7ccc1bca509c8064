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
from ..errors import InputError, with_article
from ..json_text import NotAsWritten, parse
from .audit_fields import RECREATE, AuditFields
from .counts import positive_int, positive_number
from .refusals import NothingToPlan


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
    unique_tokens: float | None  # an int when counted or given whole: exact past 2^53, where a float is not
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
    #: Of unique_samples, those that leak into the audit's eval splits (`{level}.leaked_unique`),
    #: and the splits' names; None without eval splits (or in an audit older than the count).
    leaked_unique: int | None = None
    eval_splits: tuple[str, ...] = ()


@dataclass(frozen=True)
class AuditFile:
    """A path that is an audit JSON whatever its name or content (the command line's `--audit`):
    never audited as data, and named `--audit PATH` in errors."""

    path: Path


#: The keys that make a JSON object an audit rather than a record of data.
_AUDIT_KEYS = ("schema", "rows", "exact")
#: Read to tell an audit from JSON lines: a data file's first record ends well before this.
_HEAD_BYTES = 1 << 20
#: An audit JSON is at most a few MB (its example texts are capped); a larger file is data.
_MAX_AUDIT_BYTES = 256 << 20


def _looks_like_audit(value: Any) -> bool:
    schema = value.get("schema") if isinstance(value, dict) else None
    return isinstance(value, dict) and (
        (isinstance(schema, str) and schema.startswith("epochplan.")) or all(k in value for k in _AUDIT_KEYS)
    )


def is_audit_json(path: str | os.PathLike[str]) -> bool:
    """Whether a path handed to `plan()` is an audit JSON: a local file holding one JSON object
    with the audit's keys (or an epochplan report's schema). Decided by content, not by name: an
    audit may be saved as `a.out` or `AUDIT.JSON`, and `rows.json` may be JSON lines of data."""
    file = Path(path)
    try:
        if not file.is_file() or file.stat().st_size > _MAX_AUDIT_BYTES:
            return False
        with file.open("rb") as f:
            head = f.read(_HEAD_BYTES)
        body = head.removeprefix(b"\xef\xbb\xbf").lstrip()
        if not body.startswith(b"{"):  # Parquet, CSV, a JSON array: data
            return False
        if len(head) == _HEAD_BYTES:  # more than the head: JSON lines, or a large audit
            text = body.decode("utf-8", errors="replace")
            try:  # JSON lines: a first record that ends inside the head, another after it
                _, end = json.JSONDecoder().raw_decode(text)
                if text[end:].strip():
                    return False
            except ValueError:
                pass  # a first object longer than the head: read it whole
            body = file.read_bytes().removeprefix(b"\xef\xbb\xbf")
        return _looks_like_audit(parse(body, infinite=True))
    except (OSError, ValueError):  # unreadable, not UTF-8, not JSON: leave it to the data readers
        return False


_DATA_HINT = (
    "--audit takes the JSON `epochplan audit DATA --json FILE` writes; to audit and plan a data file, pass it as `epochplan plan {path}`"
)


def _read_audit_json(path: Path, where: str) -> Any:
    hint = _DATA_HINT.format(path=path)
    try:
        text = path.read_bytes().removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except FileNotFoundError:
        raise InputError(f"{where}: file not found; write one with `epochplan audit DATA --json {path}`") from None
    except UnicodeDecodeError:
        raise InputError(f"{where}: not an audit JSON (not UTF-8 text: a data file?); {hint}") from None
    except OSError as exc:
        raise InputError(f"{where}: cannot read it ({exc.strerror or exc}); {hint}") from None
    try:
        return parse(text, infinite=True)
    except json.JSONDecodeError as exc:
        raise InputError(f"{where}: not an audit JSON (not one JSON object: {exc}); {hint}") from None
    except NotAsWritten as exc:
        raise InputError(f"{where}: not an audit JSON as epochplan writes it: it {exc}; {hint}") from None


def _audit_dict(source: Any) -> tuple[dict[str, Any], str]:
    """An `epochplan.audit/1` dict from a dict, an object with `to_dict()`, an `AuditFile` or a
    JSON file path, and how errors name it."""
    hint = ""
    if isinstance(source, AuditFile):
        where = f"--audit {source.path}"
        data = _read_audit_json(Path(source.path), where)
        hint = "; " + _DATA_HINT.format(path=source.path)
    elif isinstance(source, Mapping):
        data, where = dict(source), "audit"
    elif hasattr(source, "to_dict"):
        data, where = source.to_dict(), "audit"
    elif isinstance(source, (str, os.PathLike)):
        where = f"audit {source}"
        data = _read_audit_json(Path(source), where)
    else:
        raise InputError(f"cannot plan from {with_article(type(source).__name__)}; pass an audit result, its dict or a JSON path")
    if not isinstance(data, dict):
        raise InputError(
            f"{where} is a JSON {type(data).__name__}, not an {AUDIT_SCHEMA} object; give a file written by `epochplan audit --json`{hint}"
        )
    if data.get("schema") != AUDIT_SCHEMA:
        raise InputError(f"{where}: schema is {data.get('schema')!r}, expected {AUDIT_SCHEMA!r}; re-run epochplan audit --json{hint}")
    return data, where


def audit_fields(source: Any) -> AuditFields:
    """The audit's fields, read as the planner reads them (the command line checks the tokenizer with them)."""
    return AuditFields(*_audit_dict(source))


def _nothing_to_plan(fields: AuditFields) -> str | None:
    rows, nulls = fields.whole("rows"), fields.whole("null_rows")
    if rows is None or nulls is None or rows > nulls:
        return None
    columns = "+".join(fields.texts("source.text_columns")) or "the text column"
    return f"has no non-null text rows (all {rows:,} rows of {columns} are null); nothing to plan (check the --text column)"


def nothing_to_plan(source: Any) -> str | None:
    """Why an audit gives nothing to plan (every text is null), or None when it can be planned."""
    return _nothing_to_plan(audit_fields(source))


def counts_from_audit(source: Any) -> DataCounts:
    """Read the planner's inputs from an audit; near-unique wins over exact-unique when present.
    Every field read is checked (AuditFields): a malformed audit is an input error naming it."""
    f = audit_fields(source)
    rows, null_rows = f.whole("rows", f.required("rows")), f.whole("null_rows", f.required("null_rows"))
    non_null = rows - null_rows
    f.required("exact")
    level = "near" if f.mapping("near") else "exact"
    f.mapping(level)  # an object, or the error says which key is not
    unique = f.whole(f"{level}.unique", f.required(f"{level}.unique"), least=None)  # the sum below names a negative one
    exact_unique = f.whole("exact.unique", f.required("exact.unique"), least=None)
    if null_rows > rows:
        raise f.error("null_rows", f"is {null_rows:,}: more than the {rows:,} rows")
    if non_null <= 0 and (why := _nothing_to_plan(f)) is not None:
        raise NothingToPlan(why)
    for name, count in ((level, unique), ("exact", exact_unique)):
        if not 0 < count <= non_null:
            raise InputError(f"{f.where} counts do not add up: {count:,} {name}-unique of {non_null:,} non-null rows; {RECREATE}")
    table = f.length_table("lengths.tokens.unique_lengths")
    estimated = f.flag("lengths.tokens.estimated", True)
    unique_tokens = f.whole(f"{level}.unique_tokens")
    if unique_tokens is not None:
        how = "UTF-8 bytes / 4 per sample (an estimate; audit with --tokenizer for exact counts)"
        unread = f.text("source.token_count_column")
        if unread is not None:  # FineWeb's token_count: another tokenizer's, not read
            how = (
                f"UTF-8 bytes / 4 per sample (an estimate; the input has {with_article(unread)} column, which epochplan does not read: "
                "audit with --tokenizer NAME for exact counts)"
            )
        if not estimated:
            how = f"tokenizer {f.text('lengths.tokens.tokenizer')} counts (encode without special tokens)"
        tokens_source = f"{level}.unique_tokens: {how}, summed over the {unique:,} {level}-unique representatives"
    else:  # an audit written before token counts: scale the corpus estimate
        tokens_estimate = f.whole("lengths.tokens_estimate")
        unique_tokens = None if tokens_estimate is None else tokens_estimate * unique / non_null
        tokens_source = "audit tokens_estimate (UTF-8 bytes / 4) x unique / non-null rows"
        estimated, table = True, None
    leaked = f.whole(f"{level}.leaked_unique")
    if leaked is not None and leaked > unique:
        raise f.error(f"{level}.leaked_unique", f"is {leaked:,}: more than the {unique:,} {level}-unique samples")
    return DataCounts(
        unique_samples=unique,
        unique_level=level,
        unique_tokens=unique_tokens,  # an int (exact past 2^53), or the older audits' float estimate
        tokens_source=tokens_source,
        token_lengths=_table_quantiles(table) if table else _token_quantiles(f, non_null),
        rows=non_null,
        duplicate_rows=f.whole(f"{level}.duplicate_rows", default=non_null - unique),
        largest_cluster=f.whole(f"{level}.largest_cluster") or 1,
        clusters=f.whole(f"{level}.clusters", default=0),
        top_counts=tuple(_top_count(f, f"{level}.top[{i}]", entry) for i, entry in enumerate(f.items(f"{level}.top"))),
        exact_unique=exact_unique,
        leaked_unique=leaked,
        eval_splits=tuple(leakage) if isinstance(leakage := f.get("leakage"), dict) else (),
        unique_lengths=table,
        tokens_estimated=estimated,
    )


def _table_quantiles(table: tuple[tuple[int, int], ...]) -> LengthQuantiles | None:
    """Quantiles of the unique samples' token lengths, exact (nearest rank, from the core)."""
    s = TokenLengths.from_table(list(table)).summary()
    return None if s is None else LengthQuantiles(s["mean"], s["p50"], s["p90"], s["p99"], s["max"])


def _top_count(f: AuditFields, path: str, entry: Any) -> int:
    if not isinstance(entry, Mapping):
        raise f.error(path, "is not an object with a count")
    if entry.get("count") is None:
        raise f.error(f"{path}.count", "is missing")
    return f.whole(f"{path}.count", entry["count"], least=1)


def _token_quantiles(f: AuditFields, non_null: int) -> LengthQuantiles | None:
    """Scale character quantiles to tokens with the corpus-wide tokens-per-character ratio."""
    tokens, mean = f.whole("lengths.tokens_estimate"), f.number("lengths.chars.mean")
    if not tokens or not mean:
        return None
    per_char = tokens / (mean * non_null)
    quantiles = [f.number(f"lengths.chars.{k}") for k in ("mean", "p50", "p90", "p99", "max")]
    return None if None in quantiles else LengthQuantiles(*(q * per_char for q in quantiles))  # type: ignore[operator]


def counts_from_numbers(samples: Any = None, tokens: Any = None) -> DataCounts:
    """Counts given directly (`--samples`, `--tokens`), taken as already unique."""
    n = None if samples is None else positive_int(samples, "--samples")
    t = None if tokens is None else positive_number(tokens, "--tokens")
    if n is None and t is None:
        raise InputError("nothing to plan: give an audit (--audit FILE or a data path), --samples or --tokens")
    return DataCounts(unique_samples=n, unique_level="given", unique_tokens=t, tokens_source="given (--tokens)")
