"""Per-row cluster ids from the core: the per-row cluster table, and previews of near clusters the
core could not fill or keep."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, TypeVar

import numpy as np
import polars as pl

from .._epochplan import NO_CLUSTER
from .._epochplan import preview as core_preview
from ..sources import Source, preview_rows
from .result import ClusterStats

Stats = TypeVar("Stats", bound=ClusterStats)


def ids_from_bytes(raw: bytes | None) -> np.ndarray | None:
    return None if raw is None else np.frombuffer(raw, dtype="<u8")


def id_series(name: str, ids: np.ndarray) -> pl.Series:
    null = ids == np.uint64(NO_CLUSTER)
    return pl.Series(name, ids, dtype=pl.UInt64).set(pl.Series(null), None)


def cluster_frame(exact_ids: np.ndarray, near_ids: np.ndarray | None, keep: bytes, similarity: bytes | None = None) -> pl.DataFrame:
    """Per-row cluster table: `row`, `exact_id`, `near_id` (null for null text; near only when
    computed), `keep` (the core's flag: the row represents its near cluster, or its exact one
    without near), `similarity` (near only: Jaccard similarity to the near representative, 1.0
    for it and its exact copies, null for null text; the sketch estimate, or exact under
    verify="exact"), and `exact_size` / `near_size`: rows in the row's cluster (null for null
    text), so a 1/k sampling weight is one expression in any tool."""
    rows = np.arange(len(exact_ids), dtype=np.uint64)
    columns = [pl.Series("row", rows, dtype=pl.UInt64), id_series("exact_id", exact_ids)]
    if near_ids is not None:
        columns.append(id_series("near_id", near_ids))
    columns.append(pl.Series("keep", np.frombuffer(keep, dtype=np.bool_)))
    if near_ids is not None and similarity is not None:
        columns.append(pl.Series("similarity", np.frombuffer(similarity, dtype="<f4"), dtype=pl.Float32).fill_nan(None))
    sizes = [_size("exact_id", "exact_size")] + ([_size("near_id", "near_size")] if near_ids is not None else [])
    return pl.DataFrame(columns).with_columns(sizes)


def _size(cluster: str, name: str) -> pl.Expr:
    return pl.when(pl.col(cluster).is_null()).then(None).otherwise(pl.len().over(cluster)).cast(pl.UInt64).alias(name)


def fill_previews(stats: Stats, source: Source, columns: list[str], normalize: str) -> Stats:
    """Top clusters without a stored preview (near clusters whose representative has no exact
    duplicate; exact clusters past the core's cap of 65,536 previews): read those few rows back
    (a slice each, so Parquet reads one row group). Everything else, members included, is kept."""
    missing = [t.row for t in stats.top if not t.preview]
    if not missing:
        return stats
    texts = preview_rows(source, columns, missing)
    top = [t if t.preview else replace(t, preview=_preview(texts.get(t.row, ""), normalize)) for t in stats.top]
    return replace(stats, top=top)


def _preview(text: str | None, normalize: str) -> str:
    return "" if text is None else core_preview(text, normalize)


def near_threshold_matches(auditor: Any, near_ids: np.ndarray | None, leaks: pl.DataFrame | None, limit: float) -> tuple[int, int]:
    """(merged, leaked): near members (not their representative, not its exact copies) whose
    similarity to the representative is under `limit`, and eval rows whose best train match is a
    near match under it — the matches a sketch estimate just past the threshold made."""
    similarity = auditor.near_similarity()
    merged = 0
    if near_ids is not None and similarity is not None:
        values = np.frombuffer(similarity, dtype="<f4")
        members = (near_ids != np.arange(near_ids.size, dtype=near_ids.dtype)) & (near_ids != np.uint64(NO_CLUSTER))
        merged = int(np.count_nonzero(members & (values < limit)))
    leaked = 0
    if leaks is not None and leaks.height:
        best = leaks.group_by("split", "eval_row").agg(pl.col("similarity").max())
        leaked = best.filter(pl.col("similarity") < limit).height
    return merged, leaked
