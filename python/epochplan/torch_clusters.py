"""Cluster ids for `epochplan.torch.ClusterSampler`: read from an audit result, its `.clusters`
table, or any sequence of ids, and grouped into clusters (split out of `torch.py` to keep it short).

Needs no PyTorch import: a torch.Tensor of ids is recognised by its module and read through numpy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from .auditing.result import AuditResult
from .errors import InputError, with_article

ID_COLUMNS = ("near_id", "exact_id")  # near clusters win when the audit has them


def _ids_from_frame(frame: pl.DataFrame) -> tuple[pl.Series, str]:
    for column in ID_COLUMNS:
        if column not in frame.columns:
            continue
        if "row" in frame.columns:
            # The sampler yields positions, so they must be the audit's row numbers 0..n-1.
            frame = frame.sort("row")
            if not np.array_equal(frame.get_column("row").to_numpy(), np.arange(frame.height)):
                raise InputError("cluster table: column `row` must hold each row number 0..n-1 exactly once")
        return frame.get_column(column), column.removesuffix("_id")
    raise InputError(
        f"cluster table has no {' or '.join(ID_COLUMNS)} column (columns: {', '.join(frame.columns)}); "
        "pass epochplan.audit(...).clusters or a sequence of cluster ids"
    )


def ids_series(source: Any) -> tuple[pl.Series, str]:
    """One cluster id per row (null = never sampled) and the level the ids came from."""
    if isinstance(source, pl.DataFrame):
        return _ids_from_frame(source)
    if isinstance(source, pl.Series):
        return source, "given"
    if isinstance(source, AuditResult) or hasattr(source, "clusters"):
        if source.clusters is None:
            raise InputError("audit result has no per-row clusters: run epochplan.audit(..., keep_clusters=True)")
        return _ids_from_frame(source.clusters)
    if type(source).__module__.partition(".")[0] == "pandas" and hasattr(source, "to_numpy"):
        # pandas: a DataFrame is the .clusters frame (its columns, not its column names), and
        # NaN is a missing id, as pandas writes polars' nulls.
        converted = pl.from_pandas(source, nan_to_null=True)
        return _ids_from_frame(converted) if isinstance(converted, pl.DataFrame) else (converted, "given")
    if type(source).__module__.partition(".")[0] == "torch" and hasattr(source, "detach"):  # a torch.Tensor
        source = source.detach().cpu().numpy()
    if isinstance(source, np.ndarray) and source.dtype.kind != "O":
        if source.ndim != 1:
            raise InputError(f"cluster ids must be one-dimensional, got shape {source.shape}")
        if source.dtype.kind == "f":
            # NaN marks a row without a cluster (null text), as polars' to_numpy writes nulls.
            return pl.Series(source).fill_nan(None), "given"
        return pl.Series(source), "given"
    if isinstance(source, (str, bytes)):
        raise InputError("ClusterSampler: got a string; pass an audit result, its .clusters DataFrame or a sequence of ids")
    try:
        # Any hashable ids, each mapped to the order it first appears in: `1` and `"1"` stay two
        # clusters (a polars column would cast one to the other), None and NaN are no cluster.
        codes: dict[Any, int] = {}
        missing = lambda v: v is None or (isinstance(v, float) and v != v)  # noqa: E731
        return pl.Series([None if missing(v) else codes.setdefault(v, len(codes)) for v in source], dtype=pl.Int64), "given"
    except Exception as exc:  # not iterable, or unhashable values
        raise InputError(
            f"ClusterSampler: cannot read cluster ids from {with_article(type(source).__name__)} ({exc}); pass an audit result, "
            "its .clusters DataFrame, or a sequence of cluster ids (None for rows never sampled)"
        ) from None


class Clusters:
    """Rows grouped by cluster, clusters ordered by their lowest row (the representative)."""

    def __init__(self, ids: pl.Series) -> None:
        self.rows = len(ids)
        valid = ~ids.is_null().to_numpy()
        row_numbers = np.flatnonzero(valid)
        keys = ids.drop_nulls().to_numpy()
        if keys.size == 0:
            raise InputError("ClusterSampler: every row has a null cluster id (null text); nothing to sample")
        _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first, kind="stable")  # clusters by lowest row: dedup order
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        cluster_of = rank[inverse.reshape(-1)]
        self.count = int(order.size)
        self.representatives = row_numbers[first[order]]
        self.sizes = np.bincount(cluster_of, minlength=self.count)
        self.row_cluster = np.full(self.rows, -1, dtype=np.int64)
        self.row_cluster[row_numbers] = cluster_of
        # Members of cluster c are members[offsets[c] : offsets[c] + sizes[c]], in row order.
        self.members = row_numbers[np.argsort(cluster_of, kind="stable")]
        self.offsets = np.concatenate(([0], np.cumsum(self.sizes)[:-1]))
