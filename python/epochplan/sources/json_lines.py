"""JSON lines files: their columns, read from the head and widened to every line when needed,
and their rows, a block at a time.

A JSON lines file has no schema: its keys and their types are whatever its lines hold. Reading
every line for them costs about a third of an audit (1.1 s of 3.8 s on 290 MB), so the columns
come from the file's first SCHEMA_BYTES (`sniff.head_lines`); each block is then parsed for the
chosen columns only, so a key the audit does not read may change type further on. Where the
head is not enough — a chosen key (`--label`, `--text`) that first appears later or holds
records (a conversation's messages, whose fields may first appear later), or `dedup`
writing every column of a file whose later lines hold keys the head lacks — the part is
`widened`: its schema is inferred from every line, with polars' own rules for a key whose type
changes between lines (1 and "a" make a string, 1 and 1.5 a float), as polars infers a whole
file, and a string where polars has none (a number and a list: `sniff.lines_schema`). A chosen
key whose type changes after the head is an error naming its first such line.

polars' parser reads a lone high surrogate escape ("\\ud83d", half an emoji) as U+0000: where a
read text holds U+0000, the file's lines are searched for one (`Part.lone_surrogate`)."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import InputError
from .columns import PARTS_REFUSED, is_parts_value, listed_texts
from .json_numbers import LINES_FIX, first_rounded, float_columns, line_records, long_numbers
from .lines import line_blocks, row_lines, stream_blocks
from .number_labels import line_labels
from .parts import EmptyFile, Part, file_head, lazy_from, open_stream, polars_part, sliced
from .paths import Location
from .sniff import (
    BOM,
    HALF_PAIR,
    joined_schema,
    json_fault,
    json_lines_error,
    lines_of,
    lines_schema,
    lone_surrogate,
)
from .utf8 import json_encoding_error

#: Opens the file's (decompressed) bytes from the start, as a context manager.
Opener = Callable[[], contextlib.AbstractContextManager[Any]]


def json_lines_schema(location: Location, compression: str | None) -> tuple[pl.Schema, bool]:
    """The columns of a JSON lines file's first SCHEMA_BYTES of lines (every key of those lines,
    not only of its first 1000 lines, as polars infers; a key null in all of them of the Null
    type, which the part reads as a string: `_read_as`), and whether those lines are the whole file."""
    head, whole = file_head(location, compression)
    if not head.strip():
        raise EmptyFile(f"{location}: no rows (the file is empty)")
    return lines_schema(head), whole


def every_line_schema(opener: Opener, head: pl.Schema) -> pl.Schema:
    """The columns of every line of a JSON lines file, inferred a block at a time and joined as
    polars joins one key's types (`sniff.joined_schema`); the `head`'s columns first, in their
    order (polars' inference has an order of its own), then the keys only later lines have; a
    column null in every line of the Null type (`_read_as`)."""
    with opener() as stream:
        joined = joined_schema([lines_schema(block) for block in stream_blocks(stream)])
    names = [*(n for n in head.names() if n in joined), *(n for n in joined.names() if n not in head)]
    return pl.Schema({name: joined[name] for name in names})


def _read_as(schema: pl.Schema, every_line: bool) -> tuple[pl.Schema, frozenset[str]]:
    """`schema` with a key of the Null type (null in every line it was inferred from) read as a
    string: a sparse text field, where polars would fail on, or drop, its first value further on;
    and, where `schema` is every line's, those keys (`Part.null_columns`: joined with other
    files, they take those files' type)."""
    nulls = frozenset(name for name, dtype in schema.items() if dtype == pl.Null)
    read = pl.Schema({name: pl.String if name in nulls else dtype for name, dtype in schema.items()})
    return read, nulls if every_line else frozenset()


def json_lines_part(location: Location, compression: str | None, schema: pl.Schema | None = None) -> Part:
    """A JSON lines file read a block of lines at a time (compressed, object-store and other
    files polars' scan does not open), each block parsed for the chosen columns only."""
    head_only = schema is None
    if schema is None:
        schema, whole = json_lines_schema(location, compression)
        head_only = not whole
    schema, nulls = _read_as(schema, not head_only)
    columns_of = schema

    def read(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        chosen = pl.Schema({name: columns_of[name] for name in columns if name in columns_of})
        for block in line_blocks(location, compression):
            yield from sliced(iter([pl.read_ndjson(io.BytesIO(block), schema=chosen).select(columns)]), batch_rows)

    part = Part(str(location), schema, read, lambda: lazy_from(read, schema), null_columns=nulls)
    part.lines = functools.partial(row_lines, location, compression)
    opener = functools.partial(open_stream, location, compression)
    return _checked(part, opener, head_only, lambda widened: json_lines_part(location, compression, widened))


def scanned_json_lines_part(location: Path, schema: pl.Schema | None = None) -> Part:
    """A plain local JSON lines file through polars' scan (which reads only the chosen columns)."""
    head_only = schema is None
    if schema is None:
        schema, whole = json_lines_schema(location, None)
        head_only = not whole
    schema, nulls = _read_as(schema, not head_only)
    part = polars_part(str(location), pl.scan_ndjson(location, schema=schema))
    part.null_columns = nulls
    part.lines = functools.partial(row_lines, location, None)
    opener = functools.partial(open_stream, location, None)
    return _checked(part, opener, head_only, lambda widened: scanned_json_lines_part(location, widened))


def _checked(part: Part, opener: Opener, head_only: bool, rebuild: Callable[[pl.Schema], Part]) -> Part:
    """`part` with what tells why it could not be read (`fault`), whether a U+0000 read is a lone
    surrogate (`lone_surrogate`), and, where its columns come from its head only, `widen`."""
    part.fault = _fault(part.name, opener, part.schema)
    part.lone_surrogate = lambda: _lone_surrogate(part.name, opener)
    part.listed_parts = lambda columns: _listed_parts(part.name, opener, part.schema, columns)
    part.rounded = lambda: _rounded(part.name, opener, part.schema)
    part.exact_labels = lambda path: _exact_labels(opener, path)
    if head_only:
        part.widen = lambda: rebuild(every_line_schema(opener, part.schema))
    return part


def _exact_labels(opener: Opener, path: list[str]) -> dict[int, str | None]:
    with opener() as stream:
        return line_labels(stream_blocks(stream), path)


def _rounded(name: str, opener: Opener, schema: pl.Schema) -> str | None:
    """`json_numbers.first_rounded` of the file's lines, read only where a float column's
    values hold a 16-digit run (read as text by polars first, a block at a time)."""
    floats = float_columns(schema)
    if not floats:  # nothing to read again
        return None
    as_text = pl.Schema({column: pl.String for column in floats})
    try:
        with opener() as stream:
            if not long_numbers(pl.read_ndjson(io.BytesIO(block), schema=as_text) for block in stream_blocks(stream)):
                return None
    except pl.exceptions.PolarsError:  # a line polars cannot read: the lines themselves tell
        pass
    with opener() as stream:
        return first_rounded(name, line_records(lines_of(stream)), schema, LINES_FIX)


def format_fault(location: Location, compression: str | None) -> InputError | None:
    """The error naming the first line that breaks the JSON lines format, if one does."""
    return _fault(str(location), functools.partial(open_stream, location, compression), pl.Schema())([])


def _fault(name: str, opener: Opener, schema: pl.Schema) -> Callable[[Sequence[str]], InputError | None]:
    """Why a JSON lines file could not be read: the first line that breaks the format, else the
    first line where one of the chosen `columns` holds another type than `schema` reads it as.
    None when neither is found, or the file cannot be read again (a broken gzip stream)."""

    def fault(columns: Sequence[str]) -> InputError | None:
        try:
            with opener() as stream:
                where = json_fault(stream, lines=True)
            if where is not None:
                with opener() as stream:
                    return json_encoding_error(name, stream, where) or json_lines_error(name, where)
            return _type_change(name, opener, {c: schema[c] for c in columns if c in schema})
        except Exception:
            return None

    return fault


def _lone_surrogate(name: str, opener: Opener) -> InputError | None:
    """The first line holding a lone surrogate escape, found by its bytes (`\\ud8`..`\\udf`, any
    case) before any line is parsed: a file with U+0000 for text and no surrogates is read once,
    at the speed of a byte search."""
    with opener() as stream:
        for number, line in enumerate(lines_of(stream), 1):
            if b"\\u" in line and (b"\\ud" in line or b"\\uD" in line) and line.strip():
                with contextlib.suppress(ValueError):
                    escape = lone_surrogate(json.loads(line))
                    if escape is not None:
                        return json_lines_error(name, f"line {number}: {HALF_PAIR.format(escape)}")
    return None


def _listed_parts(name: str, opener: Opener, schema: pl.Schema, columns: Sequence[str]) -> InputError | None:
    """The first line where a chosen text key that `schema` reads as strings holds content parts
    (`columns.is_parts_value`): a message's content that is a list, or a list of parts, which
    polars reads as its JSON text where other lines hold strings. Lines are parsed only where
    their bytes hold the key followed by a list."""
    chosen = [(column, keys, content, _key_of_list(content or keys[-1])) for column, keys, content, _ in listed_texts(columns, schema)]
    with opener() as stream:
        for number, line in enumerate(lines_of(stream), 1):
            for column, keys, content, pattern in chosen:
                if pattern.search(line) is None:
                    continue
                try:
                    value = json.loads(line.removeprefix(BOM) if number == 1 else line)
                except ValueError:
                    continue
                for key in keys:
                    value = value.get(key) if isinstance(value, dict) else None
                if is_parts_value(value, content):
                    what = f"a message whose {content} is a list of parts" if content else "a list of content parts"
                    return InputError(
                        f"{name}: line {number:,}: key {column!r} holds {what} (multimodal content), where other lines hold "
                        f"text; it is not audited: {PARTS_REFUSED}"
                    )
    return None


def _key_of_list(key: str) -> re.Pattern[bytes]:
    """The bytes of `key` followed by a list (`"content": [`), as a JSON line holds them (its
    letters as they are or, as Python's `json` writes them, escaped)."""
    spellings = {json.dumps(key, ensure_ascii=ascii)[1:-1].encode() for ascii in (False, True)}  # Python's json escapes non-ASCII letters
    return re.compile(rb'"(?:' + b"|".join(map(re.escape, sorted(spellings))) + rb')"\s*:\s*\[')


#: What each kind of JSON value reads as: polars fails on a value its column's type cannot hold.
_HOLDS: dict[type, Callable[[pl.DataType], bool]] = {
    bool: lambda t: t == pl.Boolean,
    int: lambda t: t.is_integer() or t.is_float(),
    float: lambda t: t.is_float(),
    list: lambda t: isinstance(t, (pl.List, pl.Array)),
    dict: lambda t: isinstance(t, pl.Struct),
}
_PLURAL = {bool: "true/false values", int: "numbers", float: "numbers", str: "strings", list: "lists"}
_KIND = {bool: "true/false", int: "a whole number", float: "a number", str: "a string", list: "a list", dict: "an object"}


def _kind_of(dtype: pl.DataType) -> str:
    if dtype.is_integer():
        return "whole numbers"
    if dtype.is_float():
        return "numbers"
    if isinstance(dtype, (pl.List, pl.Array)):
        return "lists"
    if dtype == pl.Boolean:
        return "true/false"
    return "strings" if dtype == pl.String else "objects"


def _other_item(value: Any, dtype: pl.DataType) -> Any:
    """An item of a list `value` that is no object, where `dtype` is a list of structs; else None."""
    if not isinstance(value, list) or not isinstance(dtype, (pl.List, pl.Array)) or not isinstance(dtype.inner, pl.Struct):
        return None
    return next((item for item in value if item is not None and not isinstance(item, dict)), None)


def _type_change(name: str, opener: Opener, chosen: dict[str, pl.DataType]) -> InputError | None:
    """The first line where a chosen key's value is of a kind its column's type cannot read (a
    string where the head held whole numbers): a string column reads any value, as its JSON text."""
    with opener() as stream:
        for number, line in enumerate(lines_of(stream), 1):
            row = json.loads(line) if line.strip() else None
            for key, dtype in chosen.items():
                value = row.get(key) if isinstance(row, dict) else None
                item = _other_item(value, dtype)
                if item is not None:  # a list of strings where the head's lists hold objects (messages)
                    return InputError(
                        f"{name}: line {number:,}: key {key!r} holds a list of {_PLURAL.get(type(item), 'values')}, where the "
                        f"file's first lines hold lists of objects; give every {key!r} value one JSON type (all lists of objects)"
                    )
                if value is None or dtype == pl.String or _HOLDS.get(type(value), lambda t: False)(dtype):
                    continue
                if isinstance(value, float) and dtype.is_integer():  # JSON has one number type: no type to make them agree
                    return InputError(
                        f"{name}: line {number:,}: key {key!r} holds a number written with a decimal point or an exponent "
                        f"({value!r}), where the file's first lines hold whole numbers only (their type is read from the "
                        f"first 2 MB); write a number among the first lines with a decimal point (1.0), or convert the file "
                        f"to Parquet"
                    )
                return InputError(
                    f"{name}: line {number:,}: key {key!r} holds {_KIND.get(type(value), 'a value')}, where the file's "
                    f"first lines hold {_kind_of(dtype)}; give every {key!r} value one JSON type (all strings, for example)"
                )
    return None
