"""Whole numbers a JSON file's columns read as floats would change: a key holding 12345678901234567
on one line and 0.5 on another is one Float64 column (polars joins the two types), and
12345678901234567 reads back as 1.2345678901234568e16. Between files `Source.check_shared_types`
finds it in the joined types; within one file the values are only known as written, so the
lines (or the array) are read again, those holding a 16-digit run only (2^53 has 16 digits), and
only where a float column's values, read as their JSON text, hold one (`long_numbers`): a 19-digit
id beside a float column of its own is no reason to parse every line.

The fix differs by file: a JSON lines file's lines are copied as written to a JSON lines output
(`LINES_FIX`); a JSON array's records are written from polars' columns to any output (`ARRAY_FIX`)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable, Iterator
from typing import Any

import polars as pl

#: A run of digits that may be a whole number past 2^53 (9007199254740992): the lines to parse.
_LONG_NUMBER = re.compile(rb"\d{16}")

LINES_FIX = (
    "write JSON lines (-o FILE.jsonl or -o DIR/ copies the lines as written), or give the key one JSON type (those numbers as strings)"
)
#: A JSON array's records go through polars' columns to every output, JSON lines too: only other
#: data helps. Python's `json` keeps whole numbers exactly (jq 1.6 rounds them as well).
ARRAY_FIX = (
    "give the key one JSON type (those numbers as strings), or rewrite the array as JSON lines, one record a line "
    "(Python's json keeps the numbers; jq 1.6 rounds them too), and dedup those to -o FILE.jsonl, which copies the "
    "lines as written"
)


def first_rounded(name: str, records: Iterable[tuple[str, Any]], schema: pl.Schema, fix: str) -> str | None:
    """ "column 'id' is Float64 in NAME, which changes its values (line 1: 12345678901234567 becomes
    1.2345678901234568e16); FIX":
    the first whole number in `records` ((where, parsed record) of each, as `line_records` and
    `array_records` give them) that a float column of `schema` (at any depth: in a list, a
    struct) cannot hold exactly; None when there is none."""
    floats = {column: dtype for column, dtype in schema.items() if has_float(dtype)}
    if not floats:
        return None
    for where, record in records:
        if not isinstance(record, dict):
            continue
        for column, dtype in floats.items():
            for value in _changed(record.get(column), dtype):
                try:
                    shown = pl.Series([float(value)]).cast(pl.String)[0]
                except OverflowError:
                    shown = "inf"
                return f"column {column!r} is {dtype} in {name}, which changes its values ({where}: {value} becomes {shown}); {fix}"
    return None


def float_columns(schema: pl.Schema) -> list[str]:
    """The columns of `schema` with a float at any depth: those a whole number may be rounded in."""
    return [column for column, dtype in schema.items() if has_float(dtype)]


#: A whole number of 16 digits or more in a value polars read as a string: the number alone, or
#: one in the JSON text polars makes of a list or an object (after `[`, `,`, `:` or a space). A
#: fraction's digits (0.8444218515250481) follow a point, an exponent's (1.5e+16) a sign.
_WHOLE_16 = r"(?:^|[\[\s,:])-?\d{16,}(?:$|[\]}\s,])"


def long_numbers(frames: Iterable[pl.DataFrame]) -> bool:
    """Whether a value of `frames` (float columns read as strings: polars gives a number as its
    digits, a list or an object as its JSON text) holds a whole number of 16 digits or more, as
    every whole number a float does not hold has (a read that fails is for the caller to take
    as a yes)."""
    for frame in frames:
        if frame.width and frame.select(pl.any_horizontal(pl.all().str.contains(_WHOLE_16)).any()).item():
            return True
    return False


def line_records(lines: Iterable[bytes]) -> Iterator[tuple[str, Any]]:
    """The records of a JSON lines file's `lines` that hold a 16-digit run, parsed, with their
    line numbers (a line that is no JSON is left to the reader to name)."""
    for number, line in enumerate(lines, 1):
        if _LONG_NUMBER.search(line) is not None:
            try:
                yield f"line {number:,}", json.loads(line.removeprefix(b"\xef\xbb\xbf") if number == 1 else line)
            except ValueError:
                continue


def array_rounded(name: str, data: bytes, schema: pl.Schema) -> str | None:
    """`first_rounded` of a JSON array's records (`data`), parsed only where a float column's
    values, read as text by polars first, hold a 16-digit run."""
    floats = float_columns(schema)
    if not floats:
        return None
    try:
        if not long_numbers([pl.read_json(io.BytesIO(data), schema={column: pl.String for column in floats})]):
            return None
    except pl.exceptions.PolarsError:  # polars reads no object as a string in an array: parsed as it is
        pass
    return first_rounded(name, array_records(data), schema, ARRAY_FIX)


def array_records(data: bytes) -> Iterator[tuple[str, Any]]:
    """The records of a JSON array file's `data`, parsed, with their numbers (none without a
    16-digit run)."""
    if _LONG_NUMBER.search(data) is None:
        return
    records = json.loads(data)
    for number, record in enumerate(records if isinstance(records, list) else [], 1):
        yield f"record {number:,}", record


def has_float(dtype: pl.DataType) -> bool:
    if dtype.is_float():
        return True
    if isinstance(dtype, (pl.List, pl.Array)):
        return has_float(dtype.inner)
    if isinstance(dtype, pl.Struct):
        return any(has_float(f.dtype) for f in dtype.fields)
    return False


def _changed(value: Any, dtype: pl.DataType) -> Iterator[int]:
    """The whole numbers in `value` (read as `dtype`) that a float does not hold exactly."""
    if dtype.is_float():
        if isinstance(value, int) and not isinstance(value, bool) and not _exact(value):
            yield value
    elif isinstance(dtype, (pl.List, pl.Array)) and isinstance(value, list):
        for item in value:
            yield from _changed(item, dtype.inner)
    elif isinstance(dtype, pl.Struct) and isinstance(value, dict):
        for field in dtype.fields:
            yield from _changed(value.get(field.name), field.dtype)


def _exact(value: int) -> bool:
    try:
        return float(value) == value
    except OverflowError:
        return False
