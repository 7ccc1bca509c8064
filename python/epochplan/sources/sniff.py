"""What the head of a row file (JSON lines, CSV, TSV) says about the rest. Its first SCHEMA_BYTES
of whole lines are where its columns, their types and a TSV's quoting are read from: the
readers' own inference looks at their first rows only (1,000 lines, or 100 over http)."""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator
from typing import Any

import polars as pl

from ..errors import InputError
from .paths import UNPACK

#: The byte order mark some Windows tools put before UTF-8 text: an encoding mark, not content.
BOM = b"\xef\xbb\xbf"
#: Byte order marks of the other Unicode encodings text files come in (Excel's "Unicode Text",
#: pandas' encoding="utf-16"), UTF-32's first: its little-endian mark starts like UTF-16's.
OTHER_ENCODINGS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16"))
#: How much of a JSON lines, CSV or TSV file its columns and their types are inferred from.
SCHEMA_BYTES = 2 << 20


def head_lines(stream: Any) -> tuple[bytes, bool]:
    """The whole lines of a stream's first SCHEMA_BYTES (the line that crosses it, when it is
    the first and no lone `\r` ends lines before it), without a byte order mark; and whether
    they are the whole stream (not when it holds SCHEMA_BYTES or more)."""
    head = stream.read(SCHEMA_BYTES)
    if len(head) < SCHEMA_BYTES:
        return head.removeprefix(BOM), True
    if cr_line_ends(head):  # classic Mac line ends: no readline to the end
        return head[: head.rfind(b"\r") + 1].removeprefix(BOM), False
    return (head[: head.rfind(b"\n") + 1] or head + stream.readline()).removeprefix(BOM), False


def cr_line_ends(head: bytes) -> bool:
    """Whether a CSV or TSV file's lines end in a carriage return alone (classic Mac OS, Excel for
    Mac's "CSV (Macintosh)"), judged from its head: a carriage return and no line feed. A CR in a
    quoted value of a file with `\n` line ends does not count: its header line ends in `\n`."""
    return b"\r" in head and b"\n" not in head


def header_names(head: bytes, separator: str, quoted: bool) -> list[str]:
    """The column names of a CSV or TSV file's header (its first record that is not blank), as
    Python's csv module reads `head` (a header field past the module's field size limit, which is
    not raised here: it is the user's process's setting, is left to the readers)."""
    quoting = csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE
    text = io.StringIO(head.removeprefix(BOM).decode("utf-8", errors="replace"), newline="")
    try:
        return next((row for row in csv.reader(text, delimiter=separator, quotechar='"', quoting=quoting) if row), [])
    except csv.Error:  # the readers say what is wrong with the file
        return []


def refuse_repeated_columns(name: str, columns: list[str]) -> None:
    """An InputError when a CSV or TSV header names a column more than once (polars' reader would
    rename the second `text_duplicated_0`, pyarrow's keep both): which column is audited, and
    what `dedup` writes back, would be a guess. Unnamed columns (an index, Excel's trailing empty
    columns) are left to the readers."""
    twice = [c for c in dict.fromkeys(columns) if c and columns.count(c) > 1]
    if twice:
        names = ", ".join(repr(c) for c in twice)
        raise InputError(
            f"{name}: its header names column{'s' * (len(twice) > 1)} {names} more than once; "
            "rename the columns in the header so that each name appears once"
        )


def other_encoding(head: bytes) -> str | None:
    """UTF-16 or UTF-32 when `head` starts with that encoding's byte order mark: read as UTF-8,
    such a file's every character would be garbage (or a NUL beside it)."""
    return next((name for mark, name in OTHER_ENCODINGS if head.startswith(mark)), None)


def tsv_is_quoted(head: bytes) -> bool:
    """Whether a TSV file quotes its values as CSV does, judged from its first lines.

    Two kinds of .tsv exist: files written by a CSV writer with a tab separator (pandas, polars:
    a value holding a tab, a line break or a quote is quoted, its quotes doubled), and plain
    tab-separated values (IANA TSV; GLUE, MNLI and many research sets), where a quote is just a
    character and a text may well start with one. Read as CSV, a plain file's `"a quote" said`
    loses its quotes, and an unbalanced quote swallows the lines after it into one value, so
    counts are silently wrong. Plain unless the lines say otherwise: a line with another number
    of tabs than the header (a value spanning lines or holding a tab, which only quoting allows),
    or fields that start with a quote all properly quoted (closing quote, inner quotes doubled)."""
    lines = [line.removesuffix(b"\r") for line in head.split(b"\n") if line.strip()]
    if not lines:
        return False
    tabs = lines[0].count(b"\t")
    if any(line.count(b"\t") != tabs for line in lines):
        return True
    quoted = [field for line in lines for field in line.split(b"\t") if field.startswith(b'"')]
    return bool(quoted) and all(len(f) >= 2 and f.endswith(b'"') and b'"' not in f[1:-1].replace(b'""', b"") for f in quoted)


def lines_schema(lines: bytes) -> pl.Schema:
    """The columns of JSON lines, as polars infers them from every line; a key whose kinds
    polars cannot join (a number in one line, a list in another) is read as a string, its
    values as their JSON text, where polars' inference fails for the whole file ("failed to
    determine supertype"): the audit may not even read that key. Halves are inferred apart
    until each infers, then joined key by key (only where the whole failed)."""
    try:
        return pl.scan_ndjson(io.BytesIO(lines), infer_schema_length=None).collect_schema()  # types only, no frame
    except pl.exceptions.PolarsError:
        rows = [line for line in lines.split(b"\n") if line.strip()]
        if len(rows) < 2:
            raise
        half = len(rows) // 2
        return joined_schema([lines_schema(b"\n".join(rows[:half])), lines_schema(b"\n".join(rows[half:]))])


def joined_schema(schemas: list[pl.Schema]) -> pl.Schema:
    """The columns of every schema in `schemas`, first seen first, each key's types joined as
    polars joins them in one file (1 and 1.5 a float, 1 and "a" a string), a string where it
    cannot (a number and a list)."""
    try:
        return pl.concat([pl.DataFrame(schema=s) for s in schemas], how="diagonal_relaxed").schema
    except pl.exceptions.PolarsError:
        out: dict[str, pl.DataType] = {}
        for schema in schemas:
            for name, dtype in schema.items():
                out[name] = dtype if name not in out else _joined_type(out[name], dtype)
        return pl.Schema(out)


def _joined_type(a: pl.DataType, b: pl.DataType) -> pl.DataType:
    joined = supertype(a, b)
    return pl.String if joined is None else joined


def supertype(a: pl.DataType, b: pl.DataType) -> pl.DataType | None:
    """The type polars joins `a` and `b` in (a concatenation's, `Source.frame`'s), or None if
    there is none (a timestamp with a zone and one without; a list and a struct)."""
    if a == b:
        return a
    try:
        return pl.concat([pl.DataFrame(schema={"x": a}), pl.DataFrame(schema={"x": b})], how="vertical_relaxed").schema["x"]
    except pl.exceptions.PolarsError:
        return None


def json_fault(stream: Any, lines: bool) -> str | None:
    """Where a JSON file first breaks its format, to name in an error ("line 3, column 14:
    Expecting ',' delimiter"), or None when Python's parser finds nothing wrong. `lines`: JSON
    lines (each non-blank line one object), else one JSON document. Read only once a reader
    failed, whose own message gives a character offset at best."""
    import json

    if not lines:
        data = stream.read().removeprefix(BOM)
        try:
            escape = lone_surrogate(strict_json(data))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            return _where(error)
        except NotANumber as error:
            return f"line {_line_of_number(data, error.text)}: {error}"
        if escape is None:
            return None
        return f"line {_line_of_lone(data, escape)}: {HALF_PAIR.format(escape)}"
    for number, line in enumerate(lines_of(stream), 1):
        if line.strip():
            try:
                value = strict_json(line.removeprefix(BOM) if number == 1 else line)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                return f"line {number}{_where(error).removeprefix('line 1')}"
            except NotANumber as error:
                return f"line {number}: {error}"
            if not isinstance(value, dict):
                kind = {list: "array", str: "string", bool: "boolean", type(None): "null"}.get(type(value), "number")
                return f"line {number}: a JSON {kind}, not an object"
            escape = lone_surrogate(value)
            if escape is not None:
                return f"line {number}: {HALF_PAIR.format(escape)}"
    return None


class NotANumber(ValueError):
    """NaN, Infinity, -Infinity or a number too large for a float (1e999): Python's json reads
    and writes them, JSON has no such value, and polars' parser fails on them naming no line
    ("InternalError(TapeError) at character 23")."""

    def __init__(self, text: str) -> None:
        self.text = text
        if text[-1:].isdigit():
            super().__init__(f"{text} overflows a 64-bit float (infinity); write null or a smaller number instead")
        else:
            super().__init__(
                f"{text} is not JSON (Python's json.dumps writes it for float('{float(text)}')); write null "
                "instead (json.dumps(..., allow_nan=False) refuses to write it)"
            )


def _no_constant(text: str) -> Any:
    raise NotANumber(text)


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):
        raise NotANumber(text)
    return value


def strict_json(data: bytes | str) -> Any:
    """`json.loads`, refusing what JSON has not and Python's json reads (`NotANumber`)."""
    import json

    return json.loads(data, parse_constant=_no_constant, parse_float=_finite)


def _line_of_number(data: bytes, text: str) -> int:
    """The line of `data` where the value `text` (`NotANumber`) first stands outside a string."""
    import re

    token = re.compile(rb'"(?:[^"\\]|\\.)*"|' + re.escape(text.encode()) + rb"(?![\w.])")
    found = next((m for m in token.finditer(data) if m.group().startswith(text.encode()[:1])), None)
    return data.count(b"\n", 0, found.start() if found else 0) + 1


#: A lone surrogate escape: JSON allows it, Unicode has no such character (UTF-8 cannot hold it),
#: and polars' parser reads a high one as U+0000 (so "a \ud83d" and "a \ud83e" were one text).
HALF_PAIR = "{} is half of a UTF-16 surrogate pair (a character cut in two), not a character"


def _line_of_lone(data: bytes, escape: str) -> int:
    """The line of `data` holding `escape` (a surrogate's) without its other half."""
    import re

    high = escape[3] in "89ab"
    alone = rf"{re.escape(escape)}(?!\\u[dD][c-fC-F])" if high else rf"(?<!\\u[dD][89abAB][0-9a-fA-F]{{2}}){re.escape(escape)}"
    found = re.search(alone.encode(), data, re.IGNORECASE)
    return data.count(b"\n", 0, found.start() if found else 0) + 1


def lone_surrogate(value: Any) -> str | None:
    """The escape (`\\ud83d`) of the first lone UTF-16 surrogate in a parsed JSON value, if any."""
    import json

    try:
        json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError as error:
        return f"\\u{ord(error.object[error.start]):04x}"
    return None


def json_lines_error(name: str, where: str) -> InputError:
    """The error for a JSON lines file that breaks its format `where` (`json_fault`)."""
    return InputError(f"{name}: not valid JSON lines ({where}); fix or drop that line")


def lines_of(stream: Any) -> Iterator[bytes]:
    rest = b""
    while block := stream.read(1 << 20):
        *whole, rest = (rest + block).split(b"\n")
        yield from whole
    yield rest


#: How `json_fault` ends where the bytes stop being UTF-8 (`utf8.json_encoding_error` then says
#: which encoding they read as).
NOT_UTF8 = ": not UTF-8"


def _where(error: ValueError) -> str:
    if isinstance(error, UnicodeDecodeError):
        return f"line 1, byte {error.start}{NOT_UTF8}"
    return f"line {error.lineno}, column {error.colno}: {error.msg}"  # type: ignore[attr-defined]


def may_be_one_object(lead: bytes) -> bool:
    """Whether a `.json` file whose first bytes are `lead` may be one JSON object rather than
    JSON lines: not when its first line is a whole object and another line follows (JSON lines,
    told apart without reading the file whole)."""
    import json

    first, newline, rest = lead.removeprefix(BOM).lstrip().partition(b"\n")
    if not newline or not rest.strip():
        return True
    try:
        return not isinstance(json.loads(first), dict)
    except ValueError:  # `{` alone, or an object over several lines
        return True


def refuse_records_object(name: str, data: bytes, compression: str | None = None) -> None:
    """A `.json` file that is one JSON object holding its records under a key (SQuAD's
    `{"version": ..., "data": [...]}`) is no table: read as JSON lines it was one row, or an error
    at its first line when pretty-printed. Refused naming the key; JSON lines and a one-line
    record pass. `data`: the file decompressed (`compression`, which the jq command reads through)."""
    import json

    unpack = UNPACK.get(compression or "")
    jq, file = (unpack + "jq", "") if unpack else ("jq", " FILE")

    try:
        value = json.loads(data.removeprefix(BOM))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return  # JSON lines (or broken: the reader says where)
    if not isinstance(value, dict):
        return
    keys = [k for k, v in value.items() if isinstance(v, list) and v and all(isinstance(i, dict) for i in v)]
    table = table_object(value) if len(value) > 1 or not keys else None
    if table is not None:
        what, rows, orient = table
        raise InputError(
            f"{name}: one JSON object holding a table {'by row number' if orient == INDEX else 'by columns'} ({what}, {rows:,} rows), not rows; write one "
            f"record a line (JSON lines), e.g. pd.read_json({name!r}{orient}).to_json('rows.jsonl', orient='records', "
            "lines=True), or from a datasets Dataset, ds.to_json('rows.jsonl')"
            + ("; one record of lists: name the file .jsonl" if what.startswith("every") else "")
        )
    if keys:
        raise InputError(
            f"{name}: one JSON object, not rows (its key {keys[0]!r} holds {len(value[keys[0]]):,} records); give the "
            f"records as JSON lines, e.g. {jq} -c '.{keys[0]}[]'{file} > rows.jsonl, or as a JSON array"
        )
    if b"\n" in data.strip():
        raise InputError(
            f"{name}: one JSON object over several lines, not rows; write one object a line (JSON lines), e.g. {jq} -c .{file}"
        )


INDEX = ", orient='index'"


def table_object(value: dict[str, Any]) -> tuple[str, int, str] | None:
    """What a JSON object holding a whole table is (pandas' `to_json(orient='split')`, its
    default `orient='columns'`, `orient='index'` (rows under their row numbers), or column lists as `Dataset.to_dict()` and `df.to_dict('list')`
    give), its number of rows and the `orient` pandas reads it back with; None for a record."""
    columns, data = value.get("columns"), value.get("data")
    if isinstance(columns, list) and isinstance(data, list) and set(value) <= {"columns", "index", "data"}:
        if all(isinstance(row, list) for row in data):
            return "pandas' orient='split'", len(data), ", orient='split'"
    values = list(value.values())
    # Lists of records are splits under keys ({"train": [{...}], "test": [{...}]}), named as such.
    if values and all(isinstance(v, list) and not any(isinstance(x, dict) for x in v) for v in values):
        lengths = {len(v) for v in values}
        if len(lengths) == 1 and lengths.pop() > 1:
            return "every key a list of one length", len(values[0]), ""
    if values and all(isinstance(v, dict) and v and v.keys() == values[0].keys() for v in values):
        if all(key.isdigit() for key in values[0]):
            return "pandas' orient='columns', each key's values by row number", len(values[0]), ""
        if all(key.isdigit() for key in value):
            return "pandas' orient='index', each row under its row number", len(values), INDEX
    return None
