"""Read back the text of a few rows by number (cluster previews, the report's example texts).

Rows are asked for in bulk (a report wants some hundred of them) and read in one go: from Parquet
each row group holding a wanted row is decoded once, text columns only; from any other input one
filtered pass over the text column. Never a scan per row.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import polars as pl

from ..defaults import BATCH_ROWS
from ..errors import InputError
from .columns import TEXT, text_expression
from .formats import Source, first_line
from .paths import file_format
from .remote import is_remote


def preview_rows(source: Source, columns: list[str], rows: Iterable[int]) -> dict[int, str | None]:
    """The text of rows by number (input order, as the audit counts them): the text columns
    joined as the audit joins them, None for null text. Rows past the end are left out."""
    wanted = sorted({int(r) for r in rows if int(r) >= 0})
    if not wanted:
        return {}
    try:
        local_parquet = _local_parquet(source)
        if local_parquet is not None:
            return _parquet_rows(local_parquet, columns, wanted)
        return _scanned_rows(source, columns, wanted)
    except InputError:
        raise
    except Exception as e:  # polars and pyarrow raise many types for unreadable input
        raise InputError(f"{source.description}: cannot read rows back ({first_line(e)})") from None


def _local_parquet(source: Source) -> list[Path] | None:
    paths = source.paths
    if paths and all(not is_remote(p) and file_format(p)[0] == "parquet" for p in paths):
        return [Path(p) for p in paths]
    return None


def _scanned_rows(source: Source, columns: list[str], wanted: list[int]) -> dict[int, str | None]:
    """One pass over the text columns (each part reads only those), stopping after the last
    wanted row."""
    found: dict[int, str | None] = {}
    start = 0
    position = 0
    for frame in source.read(list(dict.fromkeys(columns)), BATCH_ROWS):
        end = start + frame.height
        if position < len(wanted) and wanted[position] < end:
            texts = frame.select(text_expression(columns))[TEXT]
            while position < len(wanted) and wanted[position] < end:
                found[wanted[position]] = texts[wanted[position] - start]
                position += 1
        if position == len(wanted):
            break
        start = end
    return found


def _parquet_rows(paths: list[Path], columns: list[str], wanted: list[int]) -> dict[int, str | None]:
    """Wanted rows grouped by (file, row group) from the footers; each group decoded once, the
    groups in parallel (a report's rows are spread over most of a file's groups, so this is
    about a whole second read of the text: decoding is the cost, and pyarrow releases the GIL)."""
    import pyarrow.parquet as pq

    tasks: list[tuple[Path, int, list[tuple[int, int]]]] = []  # (file, row group, [(global row, offset)])
    start = 0  # global row number of the current file's first row
    position = 0  # next wanted row to place
    for path in paths:
        with pq.ParquetFile(path) as reader:
            groups: dict[int, list[tuple[int, int]]] = defaultdict(list)
            group_start = start
            for group in range(reader.metadata.num_row_groups):
                group_rows = reader.metadata.row_group(group).num_rows
                while position < len(wanted) and wanted[position] < group_start + group_rows:
                    groups[group].append((wanted[position], wanted[position] - group_start))
                    position += 1
                group_start += group_rows
            tasks.extend((path, group, places) for group, places in groups.items())
            start = group_start
        if position == len(wanted):
            break
    text_columns = list(dict.fromkeys(columns))

    def read(task: tuple[Path, int, list[tuple[int, int]]]) -> list[tuple[int, str | None]]:
        path, group, places = task
        with pq.ParquetFile(path) as reader:  # one reader per task: a ParquetFile is not shared across threads
            table = reader.read_row_group(group, columns=text_columns, use_threads=False)
        texts = pl.DataFrame(pl.from_arrow(table)).select(text_expression(columns))[TEXT]
        return [(row, texts[offset]) for row, offset in places]

    workers = min(len(tasks), os.cpu_count() or 1)
    if workers <= 1:
        return dict(pair for task in tasks for pair in read(task))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pair for pairs in pool.map(read, tasks) for pair in pairs)
