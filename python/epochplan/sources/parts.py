"""What a source is made of: a `Part` (one file or in-memory table: its schema, its rows in
batches of chosen columns, a lazy frame of every column), the parts every reader builds on
(a polars lazy frame, a whole frame, an empty file), and opening a local or object-store file
for them."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import InputError
from .compressed import check_magic, gzip_fault, object_store_fault
from .paths import Location
from .remote import file_name, filesystem, first_line, is_remote, read_hint
from .sniff import head_lines

Read = Callable[[list[str], int], Iterator[pl.DataFrame]]


@dataclass
class Part:
    """One file (or in-memory table) of a source."""

    name: str
    schema: pl.Schema
    read: Read  # the chosen columns, in row order, at most `batch_rows` rows a frame
    scan: Callable[[], pl.LazyFrame]  # every column, lazily: dedup output, previews
    rows: int | None = None  # when known without reading the rows
    #: A plain TSV file (no quoting, `tsv_is_quoted`): `dedup` writes its rows back unquoted.
    plain_tsv: bool = False
    #: CSV/TSV: the column types its head suggests, which only choose the text column; every
    #: cell is read as the text it is (`schema` is all strings).
    typed: pl.Schema | None = None
    #: JSON lines: the error that says why the file could not be read for the chosen columns
    #: (the first line that breaks its format, or whose chosen key changes type), if found.
    fault: Callable[[Sequence[str]], InputError | None] | None = None
    #: Parquet, Arrow and in-memory Arrow inputs: the input's own Arrow schema (types and
    #: metadata, e.g. a `datasets` ClassLabel's names), which `dedup` writes its rows back in.
    arrow_schema: Any = None
    #: JSON lines files: their rows as the lines they were written as (`lines.row_lines`), which
    #: `dedup` copies to a JSON lines output as they are.
    lines: Callable[[], Iterator[list[bytes]]] | None = None
    #: JSON lines files whose columns come from their head only: the part with the columns of
    #: every line (a whole pass), for a chosen key the head lacks or for writing every column.
    widen: Callable[[], Part] | None = None
    #: JSON: the error naming a lone surrogate escape, which polars reads as U+0000, if the file
    #: holds one (asked where a read text holds U+0000: `has_nul`).
    lone_surrogate: Callable[[], InputError | None] | None = None
    #: Parquet: `rows` is what the file's footer states, and the rows read are counted against it
    #: (`batches.footer_checked`): a reader given fewer bytes than it asked for may end early
    #: without an error.
    rows_stated: bool = False
    #: JSON lines: the error naming the first line where a chosen text key, read as strings,
    #: holds content parts instead (`columns.listed_texts`), if one does (asked where a read
    #: text could be the JSON text of a list).
    listed_parts: Callable[[Sequence[str]], InputError | None] | None = None
    #: JSON: where a whole number of the file changes as its column reads it (a key holding
    #: 12345678901234567 and 0.5 is read as floats: `json_numbers.first_rounded`), if one does.
    rounded: Callable[[], str | None] | None = None
    #: JSON: the rows (from 0) whose value at a key path (a label column) is a whole number a
    #: float changes, with its digits as their label, read from the file's text (`number_labels`).
    exact_labels: Callable[[list[str]], dict[int, str | None]] | None = None
    #: Arrow: the file is in the IPC stream format (`datasets` shards), not the file format;
    #: `dedup` writes an `.arrow` output of such files in the stream format too.
    ipc_stream: bool = False
    #: JSON lines: the keys null on every line of the file, read as strings (a sparse text field's
    #: protection), which take the other files' type where those hold values (`Source.frame`).
    null_columns: frozenset[str] = frozenset()

    @property
    def is_empty_file(self) -> bool:
        """An empty file among others (`empty_part`): no rows and no columns to check."""
        return self.rows == 0 and not self.schema


class EmptyFile(InputError):
    """A row-format file with no rows: an error alone, an empty part beside other files."""


def empty_part(name: str) -> Part:
    """An empty file in a folder or list of files (a shard `dedup` emptied): it adds no rows and
    its missing columns do not count against the other files."""
    return Part(name, pl.Schema(), lambda columns, batch_rows: iter(()), pl.LazyFrame, 0)


def file_head(location: Location, compression: str | None) -> tuple[bytes, bool]:
    """The whole lines of a row file's first SCHEMA_BYTES (decompressed), without a byte order
    mark: what its columns and their types are inferred from; and whether they are the whole file."""
    # A plain local file through Python's own file: pyarrow's stream would import pyarrow (tens of
    # MB) into an audit that polars reads alone.
    plain = isinstance(location, Path) and compression is None
    with open(location, "rb") if plain else open_stream(location, compression) as stream:
        return head_lines(stream)


def has_nul(frame: pl.DataFrame) -> bool:
    """Whether a string column of `frame` holds U+0000: JSON's `\\u0000`, or what polars' JSON
    parser makes of a lone high surrogate escape (`sniff.lone_surrogate`), which the part's
    `lone_surrogate` tells apart by reading the file's lines."""
    return any(frame[name].str.contains("\x00", literal=True).any() for name, dtype in frame.schema.items() if dtype == pl.String)


def schema_of(arrow_schema: Any, where: str = "input") -> pl.Schema:
    """The polars schema of an Arrow schema; a column polars cannot read is named (`where`: the
    file or table) in an InputError."""
    import pyarrow as pa

    check_readable(arrow_schema, where)
    names = list(arrow_schema.names)
    if len(set(names)) < len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise InputError(f"{where}: column {twice!r} appears more than once; rename one of them")
    try:
        # Not `arrow_schema.empty_table()`: that imports pandas (0.2 s of every run's start).
        return to_frame(pa.Table.from_batches([], schema=arrow_schema)).schema
    except BaseException as e:
        if not polars_refused(e):
            raise
        raise unreadable_column(arrow_schema, where, e) from None


def polars_refused(error: BaseException) -> bool:
    """An error of polars converting Arrow data: an Exception, or pyo3's PanicException (a
    BaseException that `except Exception` misses), which polars raises for some Arrow types it
    has no reader for (unions, month-day-nano intervals)."""
    return isinstance(error, Exception) or type(error).__name__ == "PanicException"


#: A fixed UTC offset that is not a whole number of hours (India's +05:30, Newfoundland's -03:30).
_PART_HOUR_OFFSET = re.compile(r"[+-]\d\d:?(?!00)\d\d")


def has_unreadable_type(arrow_type: Any, data: bool = False) -> bool:
    """Whether polars (2.x) has no reader for `arrow_type` or a type inside it: unions, intervals,
    run-end encoded and list-view arrays fail even as an empty schema (with a Rust panic for
    some, printed on stderr), and with `data`, 256-bit decimals fail on their values."""
    import pyarrow as pa

    if not isinstance(arrow_type, pa.DataType):
        return False
    t = pa.types
    checks = [t.is_union, t.is_interval, t.is_run_end_encoded, t.is_list_view, t.is_large_list_view]
    if data:
        checks.append(t.is_decimal256)
    if any(check(arrow_type) for check in checks):
        return True
    if t.is_timestamp(arrow_type) and arrow_type.tz and _PART_HOUR_OFFSET.fullmatch(arrow_type.tz):
        return True  # polars takes whole-hour offsets only ("+05:30" panics in its Parquet reader)
    if t.is_dictionary(arrow_type):
        return has_unreadable_type(arrow_type.value_type, data)
    return any(has_unreadable_type(arrow_type.field(i).type, data) for i in range(arrow_type.num_fields))


def check_readable(arrow_schema: Any, where: str, data: bool = False) -> None:
    """Refuse, naming it, a column of a type polars cannot read (`has_unreadable_type`) before
    polars is asked to (and panics)."""
    for field in arrow_schema:
        if has_unreadable_type(field.type, data):
            raise _unreadable(where, field)


def _unreadable(where: str, field: Any) -> InputError:
    return InputError(f"{where}: column {field.name!r} has a type polars cannot read ({field.type}); drop or cast that column first")


def unreadable_column(arrow_schema: Any, where: str, error: BaseException) -> InputError:
    """The error for Arrow data polars could not convert: naming its first column polars
    cannot read alone, or with polars' own words."""
    import pyarrow as pa

    check_readable(arrow_schema, where, data=True)
    for field in arrow_schema:
        try:
            pl.from_arrow(pa.Table.from_batches([], schema=pa.schema([field])))
        except BaseException as e:
            if not polars_refused(e):
                raise
            return _unreadable(where, field)
    return InputError(f"{where}: cannot read its columns ({first_line(error)})")


def to_frame(data: Any) -> pl.DataFrame:
    """An Arrow table or batch as a polars frame, its column names kept: polars renames a column
    named "" to "column_1" (whose rows were then read as missing, all null), so the columns go
    to polars named by position and get their names back."""
    names = list(data.schema.names)
    if "" in names:
        data = data.rename_columns([str(i) for i in range(len(names))])
    frame = pl.from_arrow(data)
    assert isinstance(frame, pl.DataFrame)
    return frame.rename(dict(zip(frame.columns, names, strict=True))) if "" in names else frame


def sliced(frames: Iterator[pl.DataFrame], batch_rows: int) -> Iterator[pl.DataFrame]:
    for frame in frames:
        for start in range(0, frame.height, batch_rows):
            yield frame.slice(start, batch_rows)


def lazy_from(read: Read, schema: pl.Schema) -> pl.LazyFrame:
    """A lazy frame over a streaming reader (polars IO plugin), so dedup can write any format
    without loading it."""
    from polars.io.plugins import register_io_source

    def source(with_columns: list[str] | None, predicate: pl.Expr | None, n_rows: int | None, batch_size: int | None):
        left = n_rows
        for frame in read(with_columns if with_columns is not None else list(schema.names()), batch_size or 50_000):
            if predicate is not None:
                frame = frame.filter(predicate)
            if left is not None:
                frame = frame.head(left)
                left -= frame.height
            yield frame
            if left is not None and left <= 0:
                return

    return register_io_source(source, schema=schema)


def open_file(location: Location) -> Any:
    """A random-access file: memory-mapped when local (zero-copy Arrow), else the object store's."""
    import pyarrow as pa

    if isinstance(location, Path):
        return pa.memory_map(str(location))
    fs, path = filesystem(location)
    return fs.open_input_file(path)


def open_stream(location: Location, compression: str | None) -> Any:
    """A file's bytes, decompressed by pyarrow; a local file whose first bytes are not its
    compression's is named so (`compressed.check_magic`).

    Not Python's `gzip` reader, although it reads what gzip(1) reads (zero padding after the
    data): pyarrow's CSV and JSON readers read ahead from their stream on threads of their own,
    and from a Python file object such a thread could still be running when the process ended on
    an input error (SIGABRT, "terminate called without an active exception")."""
    import pyarrow as pa

    if isinstance(location, Path):
        if compression is not None:
            check_magic(location, compression)
        return pa.input_stream(str(location), compression=compression)
    fs, path = filesystem(location)
    return fs.open_input_stream(path, compression=compression)


class FeatherV1(InputError):
    """A Feather version 1 file (`feather_v1`), which a download's reader names by its URL anew."""


def feather_v1(name: str) -> FeatherV1:
    """A Feather version 1 file, which epochplan does not read, and how to convert it. pyarrow's
    `read_table` opens local files only: a URL's file is downloaded first, and the command names
    the download by the URL's file name."""
    path, first = (file_name(name) or "FILE.feather", "download it, then ") if is_remote(name) else (name, "")
    return FeatherV1(
        f"{name}: a Feather version 1 file, which epochplan does not read; {first}write it as Feather version 2 (Arrow IPC): "
        f"python -c \"import pyarrow.feather as f; f.write_feather(f.read_table({path!r}), 'OUT.arrow')\", or as Parquet"
    )


def read_error(name: str, error: BaseException) -> InputError:
    """One line for a reader's failure, and what to do (`read_hint`): a truncated or corrupt file
    said so, and an object-store file not compressed as its name says; for another failure of
    a URL, where credentials and endpoints come from."""
    return (
        object_store_fault(name, error)
        or gzip_fault(name, error)
        or InputError(f"{name}: cannot read input ({first_line(error)}){read_hint(name, error)}")
    )


def polars_part(name: str, frame: pl.LazyFrame, rows: int | None = None) -> Part:
    try:
        schema = frame.collect_schema()
    except Exception as e:  # polars raises many types for unreadable input
        raise read_error(name, e) from None

    def read(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        yield from frame.select(columns).collect_batches(chunk_size=batch_rows, maintain_order=True)

    return Part(name, schema, read, lambda: frame, rows)


def whole_frame_part(name: str, frame: pl.DataFrame) -> Part:
    def read(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        yield from sliced(iter([frame.select(columns)]), batch_rows)

    return Part(name, frame.schema, read, frame.lazy, frame.height)


def arrow_table_part(name: str, table: Any) -> Part:
    """A pyarrow Table or RecordBatch, each column converted to polars when first read (and
    kept): a column of a type polars cannot read (`has_unreadable_type`) is named where it is
    read (`dedup` writes every column), and is no matter to an audit that reads others, as in a
    file. Its schema shows such a column as Null until then. A column of many small chunks (a
    table built row by row) is made one chunk: the core reads a batch chunk by chunk."""
    import pyarrow as pa

    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    table = _combined_once(table)
    arrow_schema = table.schema
    readable = pa.schema([f for f in arrow_schema if not has_unreadable_type(f.type, data=True)])
    known = schema_of(readable, name) if len(readable) == len(arrow_schema) else _with_unique_names(arrow_schema, readable, name)
    schema = pl.Schema({f.name: known.get(f.name, pl.Null) for f in arrow_schema})
    converted: dict[str, pl.Series] = {}

    def frame(columns: list[str]) -> pl.DataFrame:
        for column in columns:
            if column not in converted:
                converted[column] = _converted(table, column, name)
        # By position, then named: polars names a Series called "" `column_0` in a frame.
        frame = pl.DataFrame([converted[c].alias(str(i)) for i, c in enumerate(columns)])
        return frame.rename(dict(zip(frame.columns, columns, strict=True)))

    def read(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        yield from sliced(iter([frame(columns)]), batch_rows)

    return Part(name, schema, read, lambda: frame(list(schema.names())).lazy(), table.num_rows, arrow_schema=arrow_schema)


def _with_unique_names(arrow_schema: Any, readable: Any, where: str) -> pl.Schema:
    """`schema_of` the readable columns, once no name appears twice among them all."""
    import pyarrow as pa

    if len(set(arrow_schema.names)) < len(arrow_schema.names):
        schema_of(pa.schema([pa.field(n, pa.null()) for n in arrow_schema.names]), where)  # says which
    return schema_of(readable, where)


#: Fewer rows than this a chunk, on average: a column combined into one chunk before polars
#: reads it (a `datasets` shuffle or a row-by-row build gives one chunk a row; `datasets`
#: writes its files in chunks of 1,000 rows, which are read as they are).
SMALL_CHUNK_ROWS = 64


def _small_chunks(chunked: Any) -> bool:
    return chunked.num_chunks > 1 and len(chunked) < SMALL_CHUNK_ROWS * chunked.num_chunks


def few_chunks(table: Any) -> Any:
    """A pyarrow table whose columns of many small chunks are made one chunk (a copy of those
    columns only); a table of big chunks as it is."""
    return table.combine_chunks() if any(_small_chunks(c) for c in table.columns) else table


#: Tables of many small chunks made one chunk during one `dedup` (`combining_once`), by id, with
#: the table itself (so that the id stays its own): dedup opens its input twice, for the audit
#: and for the rows it keeps, and each opening combined the same columns again (200,000 one-row
#: chunks: ~0.5 s a column, 3.5 s of a 4 s dedup).
_COMBINED: ContextVar[dict[int, tuple[Any, Any]] | None] = ContextVar("epochplan_combined", default=None)


@contextmanager
def combining_once() -> Iterator[None]:
    """For the time of the `with` (a `dedup`, which reads every column), a pyarrow table of many
    small chunks is made one chunk once, all its columns together, however often it is opened."""
    token = _COMBINED.set({})
    try:
        yield
    finally:
        _COMBINED.reset(token)


def _combined_once(table: Any) -> Any:
    """`table` made one chunk once (`combining_once`), else as it is: an audit alone combines
    only the columns it reads (`_converted`)."""
    cache = _COMBINED.get()
    if cache is None:
        return table
    held = cache.get(id(table))
    if held is None or held[0] is not table:
        held = cache[id(table)] = (table, few_chunks(table))
    return held[1]


def _converted(table: Any, column: str, where: str) -> pl.Series:
    import pyarrow as pa

    chunked = table.column(column)
    field = table.schema.field(column)
    if has_unreadable_type(field.type, data=True):
        raise _unreadable(where, field)
    if _small_chunks(chunked):
        chunked = chunked.combine_chunks()
    one = pa.Table.from_arrays([chunked], schema=pa.schema([field]))
    try:
        return to_frame(one).to_series()
    except BaseException as e:
        if not polars_refused(e):
            raise
        raise unreadable_column(one.schema, where, e) from None
