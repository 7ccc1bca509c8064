"""Hugging Face `datasets` objects, duck-typed (no dependency on `datasets`): a `Dataset` is read
through its Arrow table, a `DatasetDict` names its splits.

A `Dataset` after `shuffle`/`select`/`filter` holds an indices mapping over an unchanged table
(`ds.data` still has every row): its rows are read with `with_format("arrow").iter(...)`, which
applies the mapping one batch at a time (here, one `take` of the table a batch: `_batches`).
Without a mapping the batches are zero-copy slices of the (memory-mapped) table. `save_to_disk`
folders are read as files (`saved_datasets.saved_dataset_files`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import polars as pl

from ..errors import InputError
from .parts import Part, few_chunks, lazy_from, schema_of, sliced, to_frame


def is_dataset(data: Any) -> bool:
    """A `datasets.Dataset` (map-style: it has a length and an Arrow table)."""
    return all(hasattr(data, name) for name in ("with_format", "select_columns", "features", "data", "__len__", "iter"))


def is_dataset_dict(data: Any) -> bool:
    return isinstance(data, Mapping) and bool(data) and all(is_dataset(split) for split in data.values())


def is_iterable_dataset(data: Any) -> bool:
    return hasattr(data, "with_format") and hasattr(data, "features") and not hasattr(data, "__len__")


def dataset_part(dataset: Any) -> Part:
    name = f"datasets.Dataset ({len(dataset):,} rows)"
    schema = schema_of(dataset.data.schema)

    def read(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        yield from sliced((to_frame(few_chunks(table)) for table in _batches(dataset, columns, batch_rows)), batch_rows)

    return Part(name, schema, read, lambda: lazy_from(read, schema), len(dataset), arrow_schema=dataset.data.schema)


def _batches(dataset: Any, columns: list[str], batch_rows: int) -> Iterator[Any]:
    """The rows of `columns`, as pyarrow tables of at most `batch_rows` rows. A shuffled or split
    Dataset (an indices mapping) is read with one `take` of its table a batch: `datasets`' own
    iteration gathers such a batch row by row (one chunk a row, which the core then reads chunk
    by chunk: 15-60x slower than the plain table). `few_chunks` makes any such batch one chunk."""
    table = getattr(getattr(dataset, "data", None), "table", None)
    indices = getattr(getattr(dataset, "_indices", None), "table", None)
    if _is_mapping(indices, len(dataset)) and table is not None:
        table, order = table.select(columns), indices.column(0)
        for start in range(0, len(order), batch_rows):
            yield table.take(order.slice(start, batch_rows))
        return
    yield from dataset.select_columns(columns).with_format("arrow").iter(batch_size=batch_rows)


def _is_mapping(indices: Any, rows: int) -> bool:
    """Whether `indices` is what `datasets` holds as a Dataset's indices mapping: a pyarrow table
    of one integer column, a row number of the underlying table for each of its `rows`."""
    import pyarrow as pa

    return (
        isinstance(indices, pa.Table)
        and indices.num_columns == 1
        and indices.num_rows == rows
        and pa.types.is_integer(indices.schema[0].type)
    )


def refuse_dataset_like(data: Any) -> None:
    """Clear errors for the `datasets` objects that are not one table of rows."""
    if is_dataset_dict(data):
        raise InputError(f"a DatasetDict has several splits ({', '.join(data)}); pass one, e.g. data[{next(iter(data))!r}]")
    if is_iterable_dataset(data):
        raise InputError("an IterableDataset (streaming=True) has no Arrow table to read; load it without streaming, or save it to Parquet")
