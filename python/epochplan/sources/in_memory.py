"""In-memory inputs that may not give the same rows twice, read once.

An audit reads its input more than once: the ingest, then `verify="exact"`'s candidate rows,
the template preview, the report's example texts, and `dedup`'s kept rows. A polars LazyFrame
runs its query again at each read, and polars does not promise the same row order from one run
of a join or a `unique()` to the next: rows were numbered by one run and read back from another
(dedup kept duplicates and lost unique texts, without a word). An Arrow C stream (a pyarrow
RecordBatchReader, a database cursor, an arro3 or nanoarrow stream) gives its rows once: a second
read found none. `read_once` reads such an input once, at the public entry points (`audit`,
`dedup`, `dedup_to_file`, each eval split), and every later read sees those rows.

Tables that read the same every time (a polars DataFrame or Series, a pyarrow Table, RecordBatch
or array, a pandas frame, a `datasets.Dataset`) and paths are returned as they are: no copy."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..errors import InputError
from .hf import is_dataset
from .parts import polars_refused
from .remote import first_line


@dataclass(frozen=True)
class Held:
    """An input read once (`read_once`): its rows, as a polars DataFrame or a pyarrow table or
    array, and what the caller passed, which messages name (`polars LazyFrame`)."""

    data: Any
    kind: str


def read_once(data: Any) -> Any:
    """`data` as an input that gives the same rows at every read: a LazyFrame collected, an
    Arrow C stream read into a pyarrow table (zero-copy: its buffers are kept), any other
    Arrow PyCapsule object imported into pyarrow; anything else as it is."""
    if isinstance(data, pl.LazyFrame):
        return Held(_collected(data), "polars LazyFrame")
    if isinstance(data, Held) or rereadable(data) or not hasattr(data, "__arrow_c_stream__") and not hasattr(data, "__arrow_c_array__"):
        return data
    kind = type(data).__name__
    try:
        return Held(_into_pyarrow(data), kind)
    except Exception as e:  # pyarrow raises several types for a stream it cannot import
        raise InputError(
            f"{kind}: cannot read it as an Arrow table ({first_line(e)}); pass a pyarrow Table or a polars DataFrame"
        ) from None


def _collected(frame: pl.LazyFrame) -> pl.DataFrame:
    try:
        return frame.collect()
    except BaseException as e:
        if not polars_refused(e):  # an interrupt
            raise
        raise InputError(f"polars LazyFrame: cannot collect it ({first_line(e)})") from None


def rereadable(data: Any) -> bool:
    """An in-memory table that gives the same rows at every read, as it is: a polars DataFrame or
    Series, a pandas object (polars converts it, as it always did), a pyarrow table or array, a
    `datasets.Dataset` (read through its own Arrow table)."""
    if isinstance(data, (pl.DataFrame, pl.Series)) or is_dataset(data):
        return True
    return type(data).__module__.split(".")[0] == "pandas" or is_pyarrow_table(data)


def is_pyarrow_table(data: Any) -> bool:
    """A pyarrow Table, RecordBatch, Array or ChunkedArray: read as often as needed. pyarrow is
    not imported for this (an audit of polars data does not load it): data made by pyarrow
    means pyarrow is imported already."""
    pa = sys.modules.get("pyarrow")
    return pa is not None and isinstance(data, (pa.Table, pa.RecordBatch, pa.Array, pa.ChunkedArray))


def _into_pyarrow(data: Any) -> Any:
    """Any other Arrow PyCapsule object as a pyarrow Table (a stream or batch of a struct type,
    as a table's is) or a pyarrow array (of any other type: a column). Its stream is asked for
    once: a second `__arrow_c_stream__` of a one-shot stream has no rows (or fails)."""
    import pyarrow as pa

    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    schema = _table_schema(data)  # from `__arrow_c_schema__`, which reads no rows
    if hasattr(data, "__arrow_c_stream__"):
        if schema is not None:
            return pa.RecordBatchReader.from_stream(data).read_all()  # its schema's metadata kept
        column = pa.chunked_array(data)
    else:
        if schema is not None:
            return pa.Table.from_batches([pa.record_batch(data)])
        column = pa.array(data)
    # A stream without a schema of its own to ask (a wrapper over a reader, nanoarrow's
    # ArrayStream): a table's rows come as a struct column.
    return pa.Table.from_struct_array(column) if pa.types.is_struct(column.type) else column


def _table_schema(data: Any) -> Any:
    """The pyarrow schema of an object that describes a table (`__arrow_c_schema__` of a struct
    type), else None: an array of another type, or no schema to ask for."""
    import pyarrow as pa

    if not hasattr(data, "__arrow_c_schema__"):
        return None
    try:
        return pa.schema(data)
    except (pa.ArrowInvalid, TypeError, ValueError):  # the schema of a column that is not a struct
        return None
