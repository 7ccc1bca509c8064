"""In-memory inputs that may not give the same rows twice, read once.

An audit reads its input more than once: the ingest, then `verify="exact"`'s candidate rows,
the template preview, the report's example texts, and `dedup`'s kept rows. A polars LazyFrame
runs its query again at each read, and polars does not promise the same row order from one run
of a join or a `unique()` to the next: rows were numbered by one run and read back from another
(dedup kept duplicates and lost unique texts, without a word). An Arrow C stream (a pyarrow
RecordBatchReader, a database cursor, an arro3 or nanoarrow stream) gives its rows once: a second
read found none. `read_once` reads such an input once, at the public entry points (`dedup`,
`dedup_to_file`; `audit` through `Source.run_once`, for the columns it reads), and every later
read sees those rows: a LazyFrame's, run into a temporary Parquet file (`lazy_file`; not
into memory: it streams, as the LazyFrame did), a stream's, read into a pyarrow table in memory.

Tables that read the same every time (a polars DataFrame or Series, a pyarrow Table, RecordBatch
or array, a pandas frame, a `datasets.Dataset`) and paths are returned as they are: no copy."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import polars as pl

from ..defaults import BATCH_ROWS
from ..errors import InputError
from .hf import is_dataset
from .lazy_file import run_once
from .remote import first_line

#: How messages name a LazyFrame, read once or not.
LAZY_FRAME = "polars LazyFrame"


@dataclass(frozen=True)
class Held:
    """An input read once: its rows, as a scan of the temporary file a LazyFrame was run into, or
    a pyarrow table or array in memory; and what the caller passed, which messages name
    (`polars LazyFrame`)."""

    data: Any
    kind: str


@contextmanager
def read_once(data: Any, columns: Sequence[str] | None = None, batch_rows: int = BATCH_ROWS) -> Iterator[Any]:
    """`data` as an input that gives the same rows at every read, for the time of the `with`: a
    LazyFrame run once into a temporary Parquet file (its `columns`, or every column; removed
    when the `with` ends), any other Arrow PyCapsule object read into pyarrow (`arrow_once`);
    anything else as it is."""
    if isinstance(data, pl.LazyFrame):
        with run_once(data, LAZY_FRAME, columns, batch_rows) as scan:
            yield Held(scan, LAZY_FRAME)
        return
    yield arrow_once(data)


def arrow_once(data: Any) -> Any:
    """`data` read once where it is an Arrow object that may not give its rows twice: an Arrow C
    stream read into a pyarrow table in memory (zero-copy: its buffers are kept), any other
    Arrow PyCapsule object imported into pyarrow; anything else as it is."""
    if isinstance(data, (Held, pl.LazyFrame)) or rereadable(data):
        return data
    if not hasattr(data, "__arrow_c_stream__") and not hasattr(data, "__arrow_c_array__"):
        return data
    kind = type(data).__name__
    try:
        return Held(_into_pyarrow(data), kind)
    except Exception as e:  # pyarrow raises several types for a stream it cannot import
        raise InputError(
            f"{kind}: cannot read it as an Arrow table ({first_line(e)}); pass a pyarrow Table or a polars DataFrame"
        ) from None


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


def indexed_pandas(data: Any) -> Any:
    """A pandas DataFrame whose index holds the row ids a user set (named, or not whole numbers)
    as a pyarrow Table with its index as columns and pandas' metadata, as `pa.Table.from_pandas` makes it: `dedup` returns the index as a column and
    writes it back where pandas reads it as the index. A pandas Series is the one-column frame
    `series.to_frame()` (its column named `text` when the Series has no name, as polars names
    an unnamed column). None for any other input (polars reads a frame with the default index
    as it always did), or where pyarrow cannot convert the frame."""
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, pd.Series):
        data = data.to_frame("text" if data.name is None else data.name)
    if pd is None or not isinstance(data, pd.DataFrame):
        return None
    index = data.index
    # Unnamed whole numbers are the positions a filter or a sort left (`df[df.n > 0]`), not ids
    # a user set: kept, they would be a `__index_level_0__` column in every JSON lines or CSV
    # output. A named index, or one of strings, dates … is the user's.
    if all(name is None for name in index.names) and all(pd.api.types.is_integer_dtype(level) for level in _levels(index)):
        return None
    import pyarrow as pa

    try:
        return pa.Table.from_pandas(data, preserve_index=True)
    except (pa.ArrowException, TypeError, ValueError):  # polars is asked, as before
        return None


def _levels(index: Any) -> list[Any]:
    """The dtypes of a pandas index's levels (one for a flat index)."""
    return list(index.dtypes) if getattr(index, "nlevels", 1) > 1 else [index.dtype]


def pandas_index_columns(arrow_schema: Any) -> set[str]:
    """The columns that hold pandas' index (named in the schema's `pandas` metadata): row ids,
    never the text an audit chooses."""
    metadata = getattr(arrow_schema, "metadata", None) or {}
    try:
        index = json.loads(metadata[b"pandas"])["index_columns"]
    except (KeyError, ValueError, TypeError):
        return set()
    return {name for name in index if isinstance(name, str)} if isinstance(index, list) else set()
