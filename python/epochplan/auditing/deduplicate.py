"""Keep one representative row per duplicate cluster, with every column of the input."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pyarrow.parquet as pq

from ..config import Key, choice
from ..errors import InputError
from ..outputs import arrow_sink, atomic_write
from ..progress import set_phase
from ..sources import FORMATS, Source, SourceLike, open_source, row_batches, text_expression
from .run import _batch_rows_from_env as batch_rows_from_env
from .run import audit

LEVELS = ("exact", "near")
KEEP = ("first", "longest")
ROW = "__epochplan_row"

#: `[tool.epochplan.dedup]` keys (also `EPOCHPLAN_<KEY>` and `--<key>`).
DEDUP_KEYS: tuple[Key, ...] = (
    Key("level", choice(*LEVELS), "near", "cluster level: near or exact", "dedup"),
    Key("keep", choice(*KEEP), "first", "representative: first (lowest row) or longest (most characters)", "dedup"),
)


@dataclass(frozen=True)
class DedupSummary:
    rows: int
    kept: int
    duplicates_removed: int
    null_rows_removed: int
    level: str
    keep: str
    #: The audit's warnings (a shared template makes near clusters swallow different rows).
    warnings: tuple[str, ...] = ()


def representatives(
    data: SourceLike, *, text: str | Sequence[str] | None = None, level: str = "near", keep: str = "first", **audit_options
) -> tuple[pl.Series, DedupSummary, pl.LazyFrame]:
    """Rows to keep (sorted row numbers), a summary, and the source as a lazy frame."""
    if level not in LEVELS:
        raise InputError(f"level={level!r}: use 'exact' or 'near'")
    if keep not in KEEP:
        raise InputError(f"keep={keep!r}: use 'first' (lowest row) or 'longest' (most characters)")
    result = audit(data, text=text, near=level == "near", keep_clusters=True, **audit_options)
    clusters = result.clusters
    assert clusters is not None  # keep_clusters=True
    cluster = "near_id" if level == "near" else "exact_id"
    source = open_source(data)
    if keep == "first":
        kept = clusters.filter(pl.col("keep"))["row"]
    else:
        lengths = source.frame.select(text_expression(result.source.text_columns).str.len_chars().alias("length")).collect()
        kept = (
            clusters.with_columns(lengths["length"])
            .drop_nulls(cluster)
            .sort(["length", "row"], descending=[True, False])
            .group_by(cluster, maintain_order=True)
            .first()["row"]
            .sort()
        )
    summary = DedupSummary(
        rows=result.rows,
        kept=kept.len(),
        duplicates_removed=result.rows - result.null_rows - kept.len(),
        null_rows_removed=result.null_rows,
        level=level,
        keep=keep,
        warnings=tuple(w.message for w in result.warnings),
    )
    return kept, summary, source.frame


def _kept_rows(frame: pl.LazyFrame, kept: pl.Series) -> pl.LazyFrame:
    return (
        frame.with_row_index(ROW).filter(pl.col(ROW).is_in(kept.cast(pl.UInt32 if kept.len() < 2**32 else pl.UInt64).implode())).drop(ROW)
    )


def dedup(
    data: SourceLike, *, text: str | Sequence[str] | None = None, level: str = "near", keep: str = "first", **audit_options
) -> pl.DataFrame:
    """The input rows that represent their cluster (all columns, input order), as a polars
    DataFrame. `level` near (default) or exact; `keep` first (lowest row) or longest. Rows with
    null text belong to no cluster and are dropped."""
    kept, _, frame = representatives(data, text=text, level=level, keep=keep, **audit_options)
    return _kept_rows(frame, kept).collect()


def dedup_to_file(data: SourceLike, out: str | os.PathLike[str], *, progress: Any = None, **options: Any) -> DedupSummary:
    """Stream the kept rows to `out` (format from its extension), atomically: an error or an
    interrupt leaves `out` as it was and no temporary file. `progress` is called with the rows
    done, as `audit`'s is."""
    target = Path(out)
    kind = FORMATS.get(target.suffix.lower())
    if kind is None:
        raise InputError(f"-o {target}: unsupported output type {target.suffix or '(none)'}; use .parquet, .jsonl, .ndjson or .csv")
    if progress is not None:
        options["progress"] = progress
    kept, summary, _ = representatives(data, **options)
    set_phase(progress, f"writing {target}")
    keep = kept.cast(pl.Int64).to_numpy()
    source = open_source(data)
    atomic_write(target, lambda path: _write_rows(source, keep, kind, path))
    return summary


def _write_rows(source: Source, keep: np.ndarray, kind: str, path: Path) -> None:
    """The rows numbered in `keep` (sorted), batch by batch. Not a polars sink, and no writer
    calling back into Python: an interrupt inside either panics or wedges the writer; here it is
    a KeyboardInterrupt between batches, and the caller removes the temporary file."""
    batches = row_batches(source, batch_rows_from_env())
    if kind != "parquet":
        with open(path, "wb") as handle:
            for start, rows in _kept(batches, keep):
                text = rows.write_ndjson() if kind == "ndjson" else rows.write_csv(include_header=start == 0)
                handle.write(text.encode("utf-8"))
        return
    writer = None
    with arrow_sink(path) as sink:
        try:
            for _, rows in _kept(batches, keep):
                table = rows.to_arrow()
                if writer is None:
                    writer = pq.ParquetWriter(sink, table.schema)
                writer.write_table(table)
            if writer is None:  # no rows at all: still a valid file with the input's columns
                pq.write_table(pl.DataFrame(schema=source.schema()).to_arrow(), sink)
        finally:
            if writer is not None:
                writer.close()


def _kept(batches: Iterator[pl.DataFrame], keep: np.ndarray) -> Iterator[tuple[int, pl.DataFrame]]:
    """(first row number of the batch, its kept rows) for every batch, in input order."""
    start = 0
    for batch in batches:
        end = start + batch.height
        lo, hi = np.searchsorted(keep, [start, end])
        yield start, batch[keep[lo:hi] - start] if hi > lo else batch.clear()
        start = end
