"""Run an audit: stream the text column of a source through the Rust core, build the result."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import polars as pl

from . import _epochplan
from .errors import InputError
from .result import AuditResult, ClusterStats, Diversity, Labels, Lengths, LengthStats, SourceInfo, TopCluster
from .sources import DEFAULT_BATCH_ROWS, LABEL, TEXT, SourceLike, batches, check_label_column, choose_text_columns, open_source

ProgressCallback = Callable[[int], None]
NORMALIZE_MODES = ("default", "none")


def audit(
    data: SourceLike,
    *,
    text: str | Sequence[str] | None = None,
    label: str | None = None,
    normalize: str = "default",
    keep_clusters: bool = True,
    batch_rows: int | None = None,
    progress: ProgressCallback | None = None,
) -> AuditResult:
    """Audit a dataset: exact-duplicate clusters and statistics of its text column(s).

    `data` is a path (Parquet, JSONL/NDJSON, CSV), a folder, a glob pattern, a list of those, a
    polars DataFrame/LazyFrame or a pyarrow Table. `text` names the column(s) to audit (several
    are joined with a newline); without it the column is chosen as the CLI documents.
    `keep_clusters` keeps the per-row cluster table (`result.clusters`, 8 bytes a row).
    """
    if normalize not in NORMALIZE_MODES:
        raise InputError(f"normalize={normalize!r}: use one of {', '.join(NORMALIZE_MODES)}")
    if batch_rows is None:
        batch_rows = _batch_rows_from_env()
    if batch_rows < 1:
        raise InputError(f"batch_rows={batch_rows}: must be at least 1")
    source = open_source(data)
    schema = source.schema()
    columns = choose_text_columns(schema, text, source.description)
    check_label_column(schema, label, source.description)

    auditor = _epochplan.ExactAuditor(normalize=normalize, keep_row_ids=keep_clusters)
    for batch in batches(source, columns, label, batch_rows):
        if batch.height == 0:
            continue
        labels = batch.get_column(LABEL) if label is not None else None
        auditor.update(batch.get_column(TEXT), labels)
        if progress is not None:
            progress(auditor.rows)
    if auditor.rows == 0:
        raise InputError(f"{source.description}: no rows to audit")

    info = SourceInfo(
        paths=[str(p) for p in source.paths],
        text_columns=columns,
        label_column=label,
        normalize=normalize,
    )
    return build_result(info, auditor.summary(with_labels=label is not None), auditor.row_ids())


def _batch_rows_from_env() -> int:
    """Rows per batch handed to the core: EPOCHPLAN_BATCH_ROWS, default 50 000. Smaller batches
    use less memory and react to Ctrl-C sooner; larger ones have less per-batch overhead."""
    value = os.environ.get("EPOCHPLAN_BATCH_ROWS", "")
    if not value:
        return DEFAULT_BATCH_ROWS
    try:
        return int(value)
    except ValueError:
        raise InputError(f"EPOCHPLAN_BATCH_ROWS={value!r}: must be a whole number of rows") from None


def build_result(info: SourceInfo, s: dict, row_ids: bytes | None) -> AuditResult:
    rows = s["rows"]
    exact = s["exact"]
    return AuditResult(
        source=info,
        rows=rows,
        null_rows=s["null_rows"],
        empty_rows=s["empty_rows"],
        exact=ClusterStats(
            unique=exact["unique"],
            duplicate_rows=exact["duplicate_rows"],
            duplicate_fraction=exact["duplicate_rows"] / rows if rows else 0.0,
            clusters=exact["clusters"],
            largest_cluster=exact["largest_cluster"],
            top=[TopCluster(**t) for t in exact["top"]],
        ),
        lengths=Lengths(
            chars=LengthStats(**s["chars"]) if s["chars"] else None,
            words=LengthStats(**s["words"]) if s["words"] else None,
            tokens_estimate=s["tokens_estimate"],
            total_bytes=s["total_bytes"],
        ),
        labels=Labels(**s["labels"]) if s["labels"] is not None else None,
        diversity=Diversity(**s["diversity"]),
        clusters=cluster_frame(row_ids) if row_ids is not None else None,
    )


def cluster_frame(row_ids: bytes) -> pl.DataFrame:
    """Per-row cluster table: `row`, `exact_id` (null for null text), `keep` (representative)."""
    ids = np.frombuffer(row_ids, dtype="<u8")
    rows = np.arange(len(ids), dtype=np.uint64)
    null = ids == np.uint64(_epochplan.NO_CLUSTER)
    return pl.DataFrame(
        {
            "row": pl.Series(rows, dtype=pl.UInt64),
            "exact_id": pl.Series(ids, dtype=pl.UInt64).set(pl.Series(null), None),
            "keep": pl.Series(ids == rows),
        }
    )
