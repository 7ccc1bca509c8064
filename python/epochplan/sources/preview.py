"""Read back the text of a few rows by number (cluster previews, the report's example texts).

Rows are asked for in bulk (a report wants some hundred of them) and read in one go: from Parquet
a wanted row's page alone where the file has a page index, else each row group holding a wanted
row decoded once up to its last wanted row, text columns only; from any other input one filtered
pass over the text column. Never a scan of the data per row.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from ..defaults import BATCH_ROWS
from ..errors import InputError
from .columns import TEXT, read_columns, text_expression
from .formats import Source, first_line
from .parts import to_frame
from .paths import file_format
from .remote import is_remote

#: Rows a batch when reading a row group back: small enough to stop soon after the last wanted row.
PREVIEW_BATCH_ROWS = 4096

_T = TypeVar("_T")


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
    """The local Parquet files holding rows, in row order; an empty file among them (an empty
    part: no rows, no footer to open) left out, as the audit skipped it."""
    paths = source.paths
    if paths and len(paths) == len(source.parts) and all(not is_remote(p) and file_format(p)[0] == "parquet" for p in paths):
        return [Path(p) for p, part in zip(paths, source.parts) if not part.is_empty_file]
    return None


def _scanned_rows(source: Source, columns: list[str], wanted: list[int]) -> dict[int, str | None]:
    """One pass over the text columns (each part reads only those), stopping after the last
    wanted row."""
    found: dict[int, str | None] = {}
    start = 0
    position = 0
    for frame in source.read(read_columns(source.schema(), columns), BATCH_ROWS):
        end = start + frame.height
        if position < len(wanted) and wanted[position] < end:
            texts = frame.select(text_expression(columns, frame.schema))[TEXT]
            while position < len(wanted) and wanted[position] < end:
                found[wanted[position]] = texts[wanted[position] - start]
                position += 1
        if position == len(wanted):
            break
        start = end
    return found


def _parquet_rows(paths: list[Path], columns: list[str], wanted: list[int]) -> dict[int, str | None]:
    """Wanted rows placed in their files and row groups from the footers, read in parallel (a
    report's rows are spread over most of a file's groups; decoding is the cost, and pyarrow and
    polars release the GIL):

    - a row group whose text columns have a page index (the offset index polars writes): each
      wanted row on its own, as a one-row slice that decodes only the page holding it (a few
      milliseconds; reading whole groups back was most of a second read of the text);
    - any other group: decoded once, up to its last wanted row."""
    import pyarrow.parquet as pq

    text_columns = list(dict.fromkeys(columns))
    tasks: list[tuple[Path, Callable[[], list[tuple[int, str | None]]]]] = []  # (the file, its read)
    start = 0  # global row number of the current file's first row
    position = 0  # next wanted row to place
    for path in paths:
        with _named(path, pq.ParquetFile, path) as reader:
            meta = reader.metadata
            leaves = [meta.schema.column(i).path for i in range(meta.num_columns)]
            indices = [leaves.index(c) if c in leaves else -1 for c in text_columns]
            group_start = start
            for group in range(meta.num_row_groups):
                group_rows = meta.row_group(group).num_rows
                places: list[tuple[int, int]] = []  # (global row, offset in the group), in row order
                while position < len(wanted) and wanted[position] < group_start + group_rows:
                    places.append((wanted[position], wanted[position] - group_start))
                    position += 1
                if places and _has_page_index(meta.row_group(group), indices):
                    tasks.extend((path, functools.partial(_sliced_row, path, group, columns, place, place[0] - start)) for place in places)
                elif places:
                    tasks.append((path, functools.partial(_streamed_rows, path, group, columns, places)))
                group_start += group_rows
            start = group_start
        if position == len(wanted):
            break

    workers = min(len(tasks), os.cpu_count() or 1)
    if workers <= 1:
        return dict(pair for path, task in tasks for pair in _named(path, task))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return dict(pair for pairs in pool.map(lambda named: _named(*named), tasks) for pair in pairs)


def _named(path: Path, read: Callable[..., _T], *args: Any) -> _T:
    """`read(*args)`, its failure named by the file it reads (not the whole input's description:
    which of many files could not be read back)."""
    try:
        return read(*args)
    except InputError:
        raise
    except Exception as e:  # polars and pyarrow raise many types for unreadable input
        raise InputError(f"{path}: cannot read rows back ({first_line(e)})") from None


def _has_page_index(group: Any, indices: list[int]) -> bool:
    """Whether every text column of the row group (`indices` into its leaf columns; -1: not a
    leaf column) has an offset index."""
    return all(0 <= i < group.num_columns and group.column(i).has_offset_index for i in indices)


def _sliced_row(path: Path, group: int, columns: list[str], place: tuple[int, int], file_row: int) -> list[tuple[int, str | None]]:
    """The row at `place` (global row, offset in `group`), row `file_row` of the file, as a
    one-row slice; streamed from its group instead where polars cannot read the file."""
    try:
        scan = pl.scan_parquet(path, glob=False)
        text = scan.select(text_expression(columns, scan.collect_schema())).slice(file_row, 1).collect()[TEXT][0]
    except Exception:  # a file pyarrow reads and polars does not: read as the audit read it
        return _streamed_rows(path, group, columns, [place])
    return [(place[0], text)]


def _streamed_rows(path: Path, group: int, columns: list[str], places: list[tuple[int, int]]) -> list[tuple[int, str | None]]:
    """The (global row, offset in the group) `places` of one row group, in row order: the group
    streamed in small batches, stopping after its last wanted row (half the time of
    `read_row_group` even when that row is near the group's end: no buffer for the whole group to
    grow and fault in)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    found: list[tuple[int, str | None]] = []
    start, position = 0, 0
    text_columns = list(dict.fromkeys(columns))
    with pq.ParquetFile(path) as reader:  # one reader per task: a ParquetFile is not shared across threads
        for batch in reader.iter_batches(PREVIEW_BATCH_ROWS, row_groups=[group], columns=text_columns, use_threads=False):
            end = start + batch.num_rows
            stop = position
            while stop < len(places) and places[stop][1] < end:
                stop += 1
            if stop > position:
                # One-row slices, not `batch.take`: pyarrow has no take kernel for string_view
                # columns (Parquet files written from string_view tables read back as such).
                picked = pa.Table.from_batches([batch.slice(offset - start, 1) for _, offset in places[position:stop]])
                rows = to_frame(picked)  # a column named "" keeps its name (polars renames it)
                texts = rows.select(text_expression(columns, rows.schema))[TEXT]
                found.extend((row, texts[k]) for k, (row, _) in enumerate(places[position:stop]))
                position = stop
            if position == len(places):
                break
            start = end
    return found
