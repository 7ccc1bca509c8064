"""A JSON file's number labels compared as the numbers they are. polars reads a key holding whole
numbers and fractions (12345678901234567, 12345678901234568 and 0.5) as one Float64 column, where
the two whole numbers are one float, 1.2345678901234568e16: two labels became one, and the
duplicates that disagree on them showed no conflict.

The label column is read as polars reads it (a string in lines past a JSON lines head is refused
there, naming its line), and the file's own text gives the labels a float changes: a row whose
label is a whole number a float does not hold exactly, however written (12345678901234567,
12345678901234567.0 and 1.2345678901234567e16 are one number), has its digits as its label
(`exact_labels`). Only lines (or an array) with 16 digits before a point or an exponent are
parsed, by Python's `json`, which keeps every digit: no such number is written without one."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal
from typing import Any

import polars as pl

from .columns import LABEL, LABEL_SEPARATOR, label_text, resolve_column, resolved_path
from .json_numbers import has_float
from .parts import Part

#: A whole number a float may not hold: 16 digits before any point (a fraction's digits,
#: 0.8444218515250481, follow one), or a positive exponent (1e23 is no float; a negative one
#: makes a whole number of 16 digits only after 16 digits).
_HINT = re.compile(rb"(?<![.\d])\d{16}|\d[eE]\+?\d")
#: Rows (from 0) to their exact label.
Exact = dict[int, str | None]


def label_path(schema: pl.Schema, label: str) -> list[str] | None:
    """The keys to a label's values in a record (its column, then the fields of nested structs)
    where they are floats (or lists of them); None where no float can change a whole number."""
    resolved = resolve_column(schema, label)
    if resolved is None or not has_float(resolved[2]):
        return None
    return resolved_path(schema, label)


def exact_labels(part: Part, label: str) -> Exact:
    """The rows of `part` whose `label` is a whole number a float does not hold, with its digits
    (or a list's labels with them) as their label; none where the part is no JSON file or the
    label no float."""
    path = label_path(part.schema, label) if part.exact_labels is not None else None
    return part.exact_labels(path) if part.exact_labels is not None and path is not None else {}


def line_labels(blocks: Iterable[bytes], path: list[str]) -> Exact:
    """`exact_labels` of a JSON lines file's `blocks` (whole lines): row n is its n-th line that
    is not blank, as polars numbers rows (`lines.row_lines`)."""
    exact: Exact = {}
    row = 0
    # A key of plain ASCII has one spelling a writer uses; another (escaped, `\u7B7E`, `\/`)
    # could be missed: any long number on the line then makes it a candidate, as for nested keys.
    plain = len(path) == 1 and re.fullmatch(r"[A-Za-z0-9_ -]+", path[0]) is not None
    candidate = _key_hint(path[0]) if plain else _HINT.search
    for block in blocks:
        lines = [line for line in block.split(b"\n") if line.strip(b" \t\r\n")]
        if _HINT.search(block) is not None:
            for number, line in enumerate(lines, row):
                if candidate(line):
                    _take(exact, number, _parsed(line), path)
        row += len(lines)
    return exact


def _key_hint(key: str) -> Callable[[bytes], bool]:
    """Whether a line's value of the top-level `key` (a number, or a list of them) may be a whole
    number a float does not hold: 19-digit ids or hex hashes in other keys ("5e8a…") are no
    reason to parse a line. A false yes only costs a parse; the key (plain ASCII letters, digits,
    `_`, `-`, spaces), each letter as itself or escaped, is matched wherever it is, so nothing is
    missed."""
    # Each letter as itself or escaped (`\u006cabel`, `\u006Cabel`): every spelling JSON allows.
    letters = b"".join(b"(?:" + re.escape(c.encode()) + rb"|\\u(?i:" + f"{ord(c):04x}".encode() + b"))" for c in key)
    after_key = re.compile(rb'"' + letters + rb'"\s*:\s*(\[[^\]]*|[^,}\]]*)')
    return lambda line: any(_HINT.search(value.group(1)) is not None for value in after_key.finditer(line))


def array_labels(data: bytes, path: list[str]) -> Exact:
    """`exact_labels` of a JSON array file's `data`, a row a record."""
    exact: Exact = {}
    if _HINT.search(data) is None:
        return exact
    records = _parsed(data)
    for row, record in enumerate(records if isinstance(records, list) else []):
        _take(exact, row, record, path)
    return exact


def with_exact(frames: Iterable[pl.DataFrame], exact: Exact) -> Iterator[pl.DataFrame]:
    """`frames` (with the LABEL column, in row order) with the labels of `exact` in their rows."""
    start = 0
    for frame in frames:
        rows = [row - start for row in exact if start <= row < start + frame.height] if exact else []
        start += frame.height
        if rows:
            labels = frame.get_column(LABEL).to_list()
            for row in rows:
                labels[row] = exact[row + start - frame.height]
            frame = frame.with_columns(pl.Series(LABEL, labels, dtype=pl.String))
        yield frame


def _parsed(data: bytes) -> Any:
    try:
        return json.loads(data.removeprefix(b"\xef\xbb\xbf"), parse_float=Decimal)
    except ValueError:  # the reader names a line that is no JSON
        return None


def _take(exact: Exact, row: int, record: Any, path: list[str]) -> None:
    """The label of `record` into `exact` where a whole number a float changes is among it."""
    value = record
    for key in path:
        if not isinstance(value, dict):
            return
        value = value.get(key)
    if isinstance(value, list):
        items = [item for item in value if item is not None]
        digits = [_digits(item) for item in items]
        if any(digits):
            # The other items as the float reading labels them (only here: one polars call each).
            labels = {d if d is not None else _label_of(item) for d, item in zip(digits, items, strict=True)}
            exact[row] = LABEL_SEPARATOR.join(sorted(label for label in labels if label is not None))
        return
    digits = _digits(value)
    if digits is not None:
        exact[row] = digits


def _digits(value: Any) -> str | None:
    """A number's digits where it is a whole number a float does not hold; else None (cheap: most
    lines a hint lets through hold ordinary floats, and other columns' long numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    if isinstance(value, Decimal) and (not value.is_finite() or value.adjusted() > 400 or value != value.to_integral_value()):
        return None
    whole = int(value)
    if -(2**53) <= whole <= 2**53:  # every whole number of this size is a float
        return None
    try:
        if float(whole) == whole:
            return None
    except OverflowError:
        pass
    return str(whole)


def _label_of(value: Any) -> str | None:
    """A list item's label as the float reading gives it (`columns.label_text`)."""
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        return None
    try:
        return _float_label(float(value))
    except OverflowError:
        return _float_label(float("inf") if value > 0 else float("-inf"))


def _float_label(value: float) -> str | None:
    return pl.select(label_text(pl.lit(value, pl.Float64), pl.Float64)).item()
