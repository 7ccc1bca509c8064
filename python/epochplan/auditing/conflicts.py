"""Conflicting labels: duplicate clusters whose members carry different labels."""

from __future__ import annotations

import numpy as np
import polars as pl

from .clusters import id_series
from .result import EXAMPLES, ConflictExample, Conflicts


def find_conflicts(labels: pl.Series, exact_ids: np.ndarray, near_ids: np.ndarray | None) -> Conflicts:
    """Clusters whose members carry more than one distinct (non-null) label."""
    frame = pl.DataFrame([id_series("exact_id", exact_ids), labels.alias("label")]).with_row_index("row")
    if near_ids is not None:
        frame = frame.with_columns(id_series("near_id", near_ids))
    labelled = frame.drop_nulls(["exact_id", "label"])

    def conflicting(level: str) -> pl.DataFrame:
        return labelled.group_by(level).agg(pl.col("label").n_unique().alias("labels"), pl.len().alias("size")).filter(pl.col("labels") > 1)

    exact = conflicting("exact_id")
    widest_level = "near_id" if near_ids is not None else "exact_id"
    widest = conflicting(widest_level) if near_ids is not None else exact
    members = labelled.join(widest.select(widest_level, "size"), on=widest_level).sort(
        ["size", widest_level, "row"], descending=[True, False, False]
    )
    examples = []
    for _, group in members.group_by(widest_level, maintain_order=True):
        if len(examples) == EXAMPLES:
            break
        examples.append(ConflictExample(rows=group["row"].to_list(), labels=group["label"].to_list()))
    return Conflicts(
        exact_clusters=exact.height,
        near_clusters=widest.height if near_ids is not None else None,
        rows=int(frame.join(widest.select(widest_level), on=widest_level).height),
        examples=examples,
    )
