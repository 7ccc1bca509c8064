"""Turn any supported input (files, folders, globs, URLs, polars and pyarrow objects, `datasets`
objects) into a `Source`: its parts (one per file) with their schemas, without reading rows."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import polars as pl

from ..errors import InputError, with_article
from .columns import read_columns, resolve_column
from .hf import dataset_part, is_dataset, refuse_dataset_like
from .in_memory import LAZY_FRAME, Held, arrow_once, indexed_pandas, is_pyarrow_table, pandas_index_columns, read_once, rereadable
from .parts import (
    EmptyFile,
    Part,
    arrow_table_part,
    empty_part,
    has_unreadable_type,
    polars_part,
    polars_refused,
    whole_frame_part,
)
from .paths import SEPARATORS, Location, file_format, format_of, resolve_paths
from .readers import file_part
from .remote import first_line
from .sniff import supertype

#: A `key=value` folder of a Hive-partitioned layout.
_PARTITION = re.compile(r"(?:^|[/\\])([^/\\=]+)=([^/\\]*)(?=[/\\]|$)")

SourceLike = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | pl.DataFrame | pl.LazyFrame | Any

__all__ = ["Source", "SourceLike", "first_line", "open_source"]


def _holds_records(dtype: pl.DataType) -> bool:
    """Whether `dtype` is or holds a struct (a list of messages, a record of fields)."""
    if isinstance(dtype, pl.Struct):
        return True
    return isinstance(dtype, (pl.List, pl.Array)) and _holds_records(dtype.inner)


def _same_shape(head: pl.DataType, wide: pl.DataType) -> bool:
    """Whether `wide` (every line's type) still holds `head`'s records where it does: a struct, or
    a list of them, maybe with more fields (not a string, nor a list of strings)."""
    if isinstance(head, pl.Struct):
        return isinstance(wide, pl.Struct)
    if isinstance(head, (pl.List, pl.Array)):
        return isinstance(wide, (pl.List, pl.Array)) and _same_shape(head.inner, wide.inner)
    return True


@dataclass
class Source:
    """A resolved input: its parts in row order, plus where it came from (for reports and errors).

    Parts may differ in columns (shards with extra fields): the audited columns must be in every
    part and are selected per part before the rows are joined."""

    parts: list[Part]
    paths: list[str] = field(default_factory=list)
    description: str = ""
    _frame: pl.LazyFrame | None = field(default=None, repr=False)
    #: A LazyFrame's query, which runs again (maybe in another row order) at each read of the
    #: source until `run_once` runs it once.
    query: pl.LazyFrame | None = field(default=None, repr=False)
    #: The columns `check_shared_types` found in more than one type across the parts, which one
    #: output file holds in their join: column → ("Boolean in a.parquet, Int64 in b.parquet", the join).
    type_joins: dict[str, tuple[str, pl.DataType]] = field(default_factory=dict, repr=False)

    @contextmanager
    def run_once(self, columns: Sequence[str], batch_rows: int) -> Iterator[Source]:
        """This source, where its rows are the same at every read; a LazyFrame's source run once
        (`read_once`) for the columns `columns` are read from (an audit's text and label columns:
        a column it never reads is never held, in memory or on disk), into a temporary file
        removed when the `with` ends."""
        if self.query is None:
            yield self
            return
        with read_once(self.query, read_columns(self.schema(), columns), batch_rows) as held:
            yield open_source(held)

    def schema(self) -> pl.Schema:
        """The columns every part has, in the first part's order (empty files left out)."""
        first, *others = [p for p in self.parts if not p.is_empty_file] or self.parts
        return pl.Schema({name: dtype for name, dtype in first.schema.items() if all(name in p.schema for p in others)})

    def arrow_schema(self) -> Any:
        """The input's own Arrow schema when every part has the same one (Parquet, Arrow and
        in-memory Arrow inputs), else None: what `dedup` writes Parquet and Arrow outputs in."""
        schemas = [p.arrow_schema for p in self.parts if not p.is_empty_file]
        if not schemas or schemas[0] is None or any(s is None or not s.equals(schemas[0]) for s in schemas[1:]):
            return None
        return schemas[0]

    def plain_tsv(self) -> bool:
        """Whether every file of the input is plain TSV (`Part.plain_tsv`; empty files left out):
        `dedup` writes its rows back as they were, unquoted."""
        return all(p.plain_tsv for p in self.parts if not p.is_empty_file)

    def ipc_stream(self) -> bool:
        """Whether the input's files are Arrow in the IPC stream format (`Part.ipc_stream`; empty
        files left out), at least one: `dedup` writes Arrow in the format of its input files."""
        parts = [p for p in self.parts if not p.is_empty_file]
        return bool(parts) and all(p.ipc_stream for p in parts)

    def typed_schema(self) -> pl.Schema:
        """`schema`, with the types a CSV or TSV file's cells suggest (`Part.typed`): what
        choosing the text column goes by."""
        typed = [replace(p, schema=p.typed) if p.typed is not None else p for p in self.parts]
        return Source(typed).schema()

    def index_columns(self) -> set[str]:
        """The columns holding pandas' index (its metadata names them: `to_parquet`, a pandas
        frame's ids kept by `indexed_pandas`): row ids, which the text is not chosen from when
        no column has a text column's name (`choose_text_columns`' `index`)."""
        return set().union(*(pandas_index_columns(p.arrow_schema) for p in self.parts))

    def widen(self, columns: Sequence[str] | None = None) -> None:
        """Parts whose columns come from their head only (`Part.widen`: JSON lines) read again for
        the columns of every line: those that lack one of `columns` or hold records in one (a
        conversation's messages, whose fields are the head's only: a message's `tool_calls` or
        another layout's `content` first seen later would be dropped), or every such part (None:
        all columns are wanted, as `dedup` writes them)."""
        for i, part in enumerate(self.parts):
            resolved = {c: resolve_column(part.schema, c) for c in columns or ()}
            records = {found[0]: part.schema[found[0]] for found in resolved.values() if found is not None and _holds_records(found[2])}
            if part.widen is None or not (columns is None or records or None in resolved.values()):
                continue
            widened = part.widen()
            # The head's records, another kind of value further on (a string, a list of strings):
            # the whole column would be read as that kind, each conversation as its JSON text.
            changed = [top for top, dtype in records.items() if not _same_shape(dtype, widened.schema.get(top, dtype))]
            if changed:
                fault = part.fault(changed) if part.fault is not None else None
                raise fault or InputError(
                    f"{part.name}: key {changed[0]!r} holds objects in the file's first lines and another kind of value further "
                    f"on; give every {changed[0]!r} value one JSON type"
                )
            self.parts[i] = widened
            self._frame = None

    def partition_keys(self) -> list[str]:
        """Hive partition keys of the input's paths (`lang` of `data/lang=en/part-0.parquet`),
        in every path below the folder all of them share (as polars reads them below a pattern's
        or folder's base: a `job=42/` above the input is no key), that its files lack as columns:
        epochplan reads the files' own columns."""
        folders = [os.path.dirname(path.split("?", 1)[0]) for path in self.paths]
        if len(folders) < 2:
            return []
        split = [folder.split("/") for folder in folders]
        shared = 0
        while all(len(parts) > shared for parts in split) and len({parts[shared] for parts in split}) == 1:
            shared += 1
        keys = [dict(_PARTITION.findall("/" + "/".join(parts[shared:]))) for parts in split]
        columns = self.schema()
        return [key for key in keys[0] if all(key in k for k in keys[1:]) and key not in columns]

    def check_columns(self, columns: Sequence[str]) -> None:
        """A column some parts lack is named with the first part that lacks it; one that is a
        partition key of the paths (not a column of the files) is named so."""
        self.widen(columns)
        parts = [p for p in self.parts if not p.is_empty_file]
        keys = self.partition_keys()
        for column in columns:
            if column in keys and not any(resolve_column(p.schema, column) is not None for p in parts):
                raise InputError(
                    f"{self.description}: {column!r} is a partition key of the paths ({column}=… folders), not a column of the "
                    f"files, and epochplan reads the files' columns only; write it into the files first, e.g. "
                    f"pl.scan_parquet('DIR/**/*.parquet', hive_partitioning=True).sink_parquet('all.parquet')"
                )
            having = [p for p in parts if resolve_column(p.schema, column) is not None]
            if having and len(having) < len(parts):
                lacking = next(p for p in parts if p not in having)
                raise InputError(f"{lacking.name}: no column {column!r}, which other files of this input have; every file needs it")

    def check_shared_columns(self) -> None:
        """A column only some files have is named with a file that lacks it, string columns
        first: why no text column could be chosen from the columns they share."""
        columns = {name: dtype for p in self.parts for name, dtype in (p.typed or p.schema).items()}
        shared = self.schema()
        self.check_columns(sorted((c for c in columns if c not in shared), key=lambda c: columns[c] != pl.String))

    def misread_separator(self) -> tuple[str, str] | None:
        """(file, its one column's name) for the first CSV or TSV file read as one column whose
        name holds another common separator (`id;text` in a .csv): its fields were most
        likely separated by that character, so every row is read as one text."""
        for path, part in zip(self.paths, self.parts):
            kind = file_format(path)[0]
            if kind not in SEPARATORS or part.is_empty_file or len(part.schema) != 1:
                continue
            name = part.schema.names()[0]
            if any(other in name for other in (";", "|", "\t", ",") if other != SEPARATORS[kind]):
                return path, name
        return None

    def first_values(self, column: str, count: int, within: int = 10_000) -> list[Any]:
        """Up to `count` first values of `column` that are not null nor an empty list, among its
        first `within` rows (as Python objects): a look at what a column holds; empty when it
        cannot be read (the audit names such errors where it reads)."""
        try:
            for frame in self.read([column], within):
                if not frame.height:
                    continue
                values = frame.get_column(column).drop_nulls()
                if isinstance(values.dtype, (pl.List, pl.Array)):
                    values = values.filter(values.list.len() > 0)
                return values.head(count).to_list()
        except (InputError, pl.exceptions.PolarsError, OSError):
            pass
        return []

    def read(self, columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        """The chosen columns of every part, in row order."""
        for part in self.parts:
            yield from part.read(columns, batch_rows)

    def locate_row(self, row: int) -> tuple[str, int] | None:
        """The file holding row `row` of the whole input and its row there, when the input has
        several files (counted as needed: an error path)."""
        if len(self.parts) < 2:
            return None
        start = 0
        for part in self.parts:
            rows = part.rows if part.rows is not None else part.scan().select(pl.len()).collect().item()
            if row < start + rows:
                return part.name, row - start
            start += rows
        return None

    def count_rows(self) -> int | None:
        counts = [p.rows for p in self.parts]
        return None if any(c is None for c in counts) else sum(c for c in counts if c is not None)

    def check_shared_types(self, what: str) -> None:
        """Refuse, before the rows are read, an input whose parts hold a column in types that
        one output file cannot hold together: a timestamp without a zone in one file, with one
        in another, a list beside a struct (joining the parts, `frame`, would fail deep inside
        polars), or types whose join would change values (whole numbers past 2^53 read as
        floats, nanoseconds cut to microseconds: polars' relaxed join casts without a word).
        A join that keeps every value (a bool beside whole numbers, a date beside text) is
        noted in `type_joins`, for a warning.
        The first from the parts' schemas; the second reads the column of a part whose type
        differs from the join (rare: shards usually share one schema). The parts are widened
        first (`widen`): the columns written are every line's, not the head's, where a JSON
        lines file's key may hold 0.5 only after its first SCHEMA_BYTES."""
        self.widen()
        seen: dict[str, tuple[pl.DataType, str]] = {}
        types: dict[str, dict[pl.DataType, str]] = {}  # each column's types, with the first file of each
        parts = [
            (p, {name: pl.Null if name in nulls else dtype for name, dtype in p.schema.items()})  # as joined: `_joined_nulls`
            for p, nulls in zip(self.parts, self._joined_nulls())
            if not p.is_empty_file
        ]
        for part, schema in parts:
            for name, dtype in schema.items():
                types.setdefault(name, {}).setdefault(dtype, part.name)
                if name not in seen:
                    seen[name] = (dtype, part.name)
                    continue
                joined, first = supertype(seen[name][0], dtype), seen[name][1]
                if joined is None:
                    raise InputError(
                        f"{what}: column {name!r} is {seen[name][0]} in {first} but {dtype} in {part.name}, and one output "
                        f"file cannot hold both; {ONE_TYPE_FIX}"
                    )
                seen[name] = (joined, first)
        for part, schema in parts:
            for name, dtype in schema.items():
                joined = seen[name][0]
                if dtype not in (joined, pl.Null) and (changed := _first_changed(part.scan(), name, dtype, joined)) is not None:
                    raise InputError(
                        f"{what}: column {name!r} is {dtype} in {part.name} but {joined} once joined with the other files, "
                        f"which changes its values ({changed}); {ONE_TYPE_FIX}"
                    )
        for part, _ in parts:  # within one file: a JSON key holding whole numbers and fractions
            if part.rounded is not None and (rounded := part.rounded()) is not None:
                raise InputError(f"{what}: {rounded}")
        # A column of nulls alone joins any type as it is: no warning for it, and not named in one.
        self.type_joins = {
            name: (", ".join(f"{dtype} in {file}" for dtype, file in found.items() if dtype != pl.Null), seen[name][0])
            for name, found in types.items()
            if len(found.keys() - {pl.Null}) > 1
        }

    def _joined_nulls(self) -> list[frozenset[str]]:
        """Each part's keys null on every line of its JSON lines file (`Part.null_columns`, read
        as strings) that another part holds values in: joined with those, they are of polars'
        Null type and take the other parts' type (as a Parquet column of that type does: their
        numbers stay numbers). A key null in every file stays a string."""
        held = {name for p in self.parts for name in p.schema.names() if name not in p.null_columns}
        return [p.null_columns & held for p in self.parts]

    @property
    def frame(self) -> pl.LazyFrame:
        """Every column of every part as one lazy frame (columns a part lacks are null there), each
        part's keys null on every line that others hold values in of the Null type (`_joined_nulls`)."""
        if self._frame is None:
            nulls = self._joined_nulls()
            scans = [
                p.scan().with_columns(pl.col(n).cast(pl.Null) for n in null) if null else p.scan() for p, null in zip(self.parts, nulls)
            ]
            same = all(p.schema.names() == self.parts[0].schema.names() for p in self.parts)
            self._frame = scans[0] if len(scans) == 1 else pl.concat(scans, how="vertical_relaxed" if same else "diagonal_relaxed")
        return self._frame


#: The command line's way out of a join one output cannot hold (the Python API says its own: `auditing/output_columns.py`).
ONE_TYPE_FIX = "write one output per input file with -o DIR/ (each keeps its own types), or give the files one type"


def _first_changed(frame: pl.LazyFrame, name: str, dtype: pl.DataType, joined: pl.DataType) -> str | None:
    """The first value of column `name` (of type `dtype`) that casting to `joined` changes, as
    "9007199254740993 becomes 9007199254740992.0", or None when every value survives the cast
    (a cast back to `dtype` gives it again)."""
    if joined == pl.String:  # every value written as its text (a date as 2020-01-01): nothing is lost
        return None
    column = pl.col(name)
    kept = column.cast(joined, strict=False).cast(dtype, strict=False).eq_missing(column)
    try:
        changed = frame.select(column, column.cast(joined, strict=False).alias("joined")).filter(~kept).head(1).collect()
    except pl.exceptions.PolarsError:  # a cast polars has no way back for: the join itself says what fails
        return None
    if changed.height == 0:
        return None
    try:  # as polars writes them: Python's datetime would drop the nanoseconds that changed
        before, after = changed.select(pl.all().cast(pl.String)).row(0)
    except pl.exceptions.PolarsError:  # nested values have no string form in polars
        before, after = (str(v) for v in changed.row(0))
    return f"{before} becomes {after}"


def _array_frame(data: Any) -> pl.DataFrame | None:
    """An Arrow array that is not a table (a pyarrow `Array` or `ChunkedArray`) as a
    one-column frame, its column named `text` unless the array has a name; None otherwise."""
    try:
        series = pl.Series(data)
    except BaseException as e:
        if not polars_refused(e):
            raise
        return None
    return series.rename(series.name or "text").to_frame()


def _file_or_empty(location: Location, alone: bool) -> Part:
    """An empty file is an error alone, and an empty part among other files (a folder of
    shards some of which `dedup` emptied)."""
    try:
        return file_part(location)
    except EmptyFile:
        if alone:
            raise
        return empty_part(str(location))


def open_source(data: SourceLike) -> Source:
    """Turn any supported input into a `Source` without reading its rows. A one-shot Arrow
    stream is read here, once (`arrow_once`). A LazyFrame runs its query at each read of its
    source: run it once first, with `read_once` before opening it, or `Source.run_once`."""
    if isinstance(data, Held):
        source = open_source(data.data)
        for part in source.parts:  # messages name what the caller passed
            part.name = data.kind
        source.description = data.kind
        source.query = None  # a scan of the file a LazyFrame was run into: the same rows at every read
        return source
    if isinstance(data, pl.LazyFrame):
        return Source([polars_part(LAZY_FRAME, data)], description=LAZY_FRAME, query=data)
    if isinstance(data, pl.DataFrame):
        return Source([whole_frame_part("polars DataFrame", data)], description="polars DataFrame")
    if (table := indexed_pandas(data)) is not None:  # its index kept, as a column
        return open_source(Held(table, f"pandas {type(data).__name__}"))
    if is_dataset(data):
        part = dataset_part(data)
        return Source([part], description=part.name)
    refuse_dataset_like(data)
    arrow = hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__")  # tables, batches, arrays
    if arrow and not isinstance(data, (str, os.PathLike)):
        # Another library's Arrow object (arro3, nanoarrow, a database cursor) as pyarrow's, read
        # once: its schema is pyarrow's from here on, and a stream is not read again.
        if not rereadable(data):
            return open_source(arrow_once(data))
        if is_pyarrow_table(data) and hasattr(data, "schema"):  # a table or batch, not an array
            return Source([arrow_table_part(type(data).__name__, data)], description=type(data).__name__)
        if has_unreadable_type(getattr(data, "type", None), data=True):  # an array
            raise InputError(f"{type(data).__name__}: its type ({data.type}) is one polars cannot read; cast it to strings first")
        try:
            frame = pl.DataFrame(data)
        except BaseException as e:
            if not polars_refused(e):
                raise
            frame = _array_frame(data)
            if frame is None:
                raise InputError(f"cannot read {type(data).__name__} as a table ({first_line(e)})") from None
        return Source([whole_frame_part(type(data).__name__, frame)], description=type(data).__name__)
    if type(data).__module__.startswith("pyarrow._dataset"):  # a pyarrow.dataset Dataset or Scanner
        name = type(data).__name__
        ways = (
            "scanner.to_reader() (streamed) or scanner.to_table()"
            if name == "Scanner"
            else "pl.scan_pyarrow_dataset(ds) (streamed) or ds.to_table()"
        )
        files = ", or its files (ds.files)" if hasattr(data, "files") else ""
        raise InputError(f"cannot audit {with_article(name)} (pyarrow.dataset) as it is: pass {ways} (in memory){files}")
    if not isinstance(data, (str, os.PathLike, list, tuple)):
        raise InputError(
            f"cannot audit {with_article(type(data).__name__)}: pass a path or URL, a polars DataFrame/LazyFrame, a pyarrow Table or array, or a datasets.Dataset"
        )
    paths: list[Location] = resolve_paths(data)
    format_of(paths)
    parts = [_file_or_empty(p, alone=len(paths) == 1) for p in paths]  # each file's schema read here: a bad file is named
    desc = str(paths[0]) if len(paths) == 1 else f"{len(paths)} files ({paths[0]} …)"
    if all(p.is_empty_file for p in parts):
        raise InputError(f"{desc}: no rows (every file is empty)")
    return Source(parts, [str(p) for p in paths], desc)
