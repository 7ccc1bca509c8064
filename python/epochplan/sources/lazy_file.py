"""A polars LazyFrame's query run once, into a temporary Parquet file that every later read of
the audit or dedup streams from (`in_memory.read_once`, `Source.run_once`).

polars does not promise the same row order from one run of a join or a `unique()` to the next,
and an audit reads its input several times, so the rows must come from one run. Collected into
memory they took every column's whole size in RAM (a scan with a large column the audit never
reads, or a scan larger than memory, which used to stream, ran out of memory). On disk they take
about their compressed size (zstd), in the temporary folder (`TMPDIR`), for the time of the call,
and only the columns asked for: an audit's text and label columns, dedup's every column.

Written through pyarrow's Parquet writer, a batch of `collect_batches` at a time, not by polars'
`sink_parquet`: a Ctrl-C inside a polars sink panics its writer thread (a Rust backtrace on
stderr, and a KeyboardInterrupt raised twice), where here it is a KeyboardInterrupt between
batches; and a write error is an OSError with its errno (a full disk is a `StorageError`), where
the sink hides it in the text of a ComputeError, beside the query's own errors."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from .. import interrupts
from ..errors import InputError, StorageError
from ..outputs import arrow_sink, parquet_writer
from .parts import polars_refused
from .remote import first_line

if TYPE_CHECKING:
    import pyarrow as pa
    from polars._typing import PolarsDataType

#: Types the temporary file cannot hold: 128-bit integers have no Arrow type for pyarrow to
#: write, and Python objects would be written as their addresses.
UNWRITABLE = (pl.Int128, pl.UInt128, pl.Object)
#: Most bytes of a batch converted and written at once (one row group of the temporary file).
PIECE_BYTES = 32 << 20


@contextmanager
def run_once(frame: pl.LazyFrame, kind: str, columns: Sequence[str] | None, batch_rows: int) -> Iterator[pl.LazyFrame]:
    """`frame` (its `columns`, or every column) run once into a temporary Parquet file, and a
    scan of that file, which gives the same rows in the same order at every read; the file is
    removed when the `with` ends, by an error or an interrupt too. `kind` names the input in
    errors (`polars LazyFrame`), never the temporary path."""
    frame = frame.select(columns) if columns is not None else frame
    _check_writable(_schema(frame, kind), kind)
    folder = _temp_folder(kind)
    try:
        handle, name = tempfile.mkstemp(prefix="epochplan-", suffix=".parquet", dir=folder)
    except OSError as e:
        raise _storage_error(kind, folder, e) from None
    path = Path(name)
    interrupts.temporary(path)  # removed too if a signal ends a command stuck in native code
    try:
        os.close(handle)
        _write(frame, path, kind, folder, batch_rows)
        yield pl.scan_parquet(path, glob=False)
    finally:
        path.unlink(missing_ok=True)
        interrupts.forget(path)


def _schema(frame: pl.LazyFrame, kind: str) -> pl.Schema:
    try:
        return frame.collect_schema()
    except BaseException as e:
        if not polars_refused(e):  # an interrupt
            raise
        raise InputError(f"{kind}: cannot read its columns ({first_line(e)})") from None


def _check_writable(schema: pl.Schema, kind: str) -> None:
    """Refuse, before the query runs, a column the temporary file cannot hold (`UNWRITABLE`)."""
    for name, dtype in schema.items():
        if _holds(dtype):
            raise InputError(
                f"{kind}: column {name!r} is {dtype}, which epochplan cannot hold in the temporary file it runs a "
                "LazyFrame into; cast or drop it (.with_columns / .drop), or pass the collected DataFrame"
            )


def _holds(dtype: PolarsDataType) -> bool:
    if dtype.base_type() in UNWRITABLE:
        return True
    if isinstance(dtype, (pl.List, pl.Array)):
        return _holds(dtype.inner)
    return isinstance(dtype, pl.Struct) and any(_holds(field.dtype) for field in dtype.fields)


def _temp_folder(kind: str) -> str:
    try:
        return tempfile.gettempdir()
    except OSError as e:  # no usable temporary folder: TMPDIR and the usual ones unwritable
        raise StorageError(f"{kind}: no temporary folder to run it into ({first_line(e)}); set TMPDIR to a writable folder") from None


def _storage_error(kind: str, folder: str, error: OSError) -> StorageError:
    reason = os.strerror(error.errno) if error.errno else first_line(error)
    storage = StorageError(
        f"{kind}: cannot write the temporary file it is run into, in {folder} ({reason}); free some space there or set "
        "TMPDIR to a folder with room for about the frame's compressed size"
    )
    storage.errno = error.errno  # errno alone: strerror/filename would make OSError rewrite the text
    return storage


def _batches(frame: pl.LazyFrame, kind: str, batch_rows: int) -> Iterator[pl.DataFrame]:
    """The query's rows in order, a batch at a time; its failure (a bad cast, a missing file it
    scans) an InputError naming the input, told apart from a failure to write them."""
    try:
        yield from frame.collect_batches(chunk_size=batch_rows, maintain_order=True)
    except BaseException as e:
        if not polars_refused(e):  # an interrupt
            raise
        raise InputError(f"{kind}: cannot run its query ({first_line(e)})") from None


def _pieces(batch: pl.DataFrame) -> Iterator[pa.Table]:
    """`batch` as Arrow tables of at most about PIECE_BYTES, each a row group of the file: the
    Arrow copy and the writer's buffered row group stay that small however wide the rows
    (50,000 rows of 2 KB each are 100 MB, and were held three times over)."""
    rows = max(1, batch.height * PIECE_BYTES // max(1, int(batch.estimated_size())))
    for start in range(0, batch.height, rows):
        yield batch.slice(start, rows).to_arrow()


def _write(frame: pl.LazyFrame, path: Path, kind: str, folder: str, batch_rows: int) -> None:
    writer = None
    try:
        with arrow_sink(path) as sink:
            try:
                for batch in _batches(frame, kind, batch_rows):
                    for table in _pieces(batch):
                        if writer is None:
                            writer = parquet_writer(sink, table.schema, compression="zstd")
                        writer.write_table(table)
                if writer is None:  # no rows: still a file with the query's columns
                    writer = parquet_writer(sink, pl.DataFrame(schema=frame.collect_schema()).to_arrow().schema, compression="zstd")
            finally:
                if writer is not None:
                    writer.close()
    except OSError as e:  # pyarrow's write errors (a full disk, a quota) carry the OS's errno
        if e.errno is None:
            raise
        raise _storage_error(kind, folder, e) from None
