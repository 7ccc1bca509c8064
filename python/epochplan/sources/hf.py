"""Hugging Face `datasets` objects, duck-typed (no dependency on `datasets`): a `Dataset` is read
through its Arrow table, a `DatasetDict` names its splits.

A `Dataset` after `shuffle`/`select`/`filter` holds an indices mapping over an unchanged table
(`ds.data` still has every row): its rows are read with `with_format("arrow").iter(...)`, which
applies the mapping one batch at a time. Without a mapping the batches are zero-copy slices of
the (memory-mapped) table. `save_to_disk` folders are read as files (`paths.saved_dataset_files`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import polars as pl

from ..errors import InputError
from .parts import Part, lazy_from, schema_of, sliced, to_frame


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
        selected = dataset.select_columns(columns).with_format("arrow")
        yield from sliced((to_frame(table) for table in selected.iter(batch_size=batch_rows)), batch_rows)

    return Part(name, schema, read, lambda: lazy_from(read, schema), len(dataset), arrow_schema=dataset.data.schema)


def refuse_dataset_like(data: Any) -> None:
    """Clear errors for the `datasets` objects that are not one table of rows."""
    if is_dataset_dict(data):
        raise InputError(f"a DatasetDict has several splits ({', '.join(data)}); pass one, e.g. data[{next(iter(data))!r}]")
    if is_iterable_dataset(data):
        raise InputError("an IterableDataset (streaming=True) has no Arrow table to read; load it without streaming, or save it to Parquet")
