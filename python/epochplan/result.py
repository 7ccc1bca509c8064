"""The typed audit result and its JSON form (schema `epochplan.audit/1`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

AUDIT_SCHEMA = "epochplan.audit/1"


@dataclass(frozen=True)
class SourceInfo:
    paths: list[str]
    text_columns: list[str]
    label_column: str | None
    normalize: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "paths": list(self.paths),
            "text_columns": list(self.text_columns),
            "label_column": self.label_column,
            "normalize": self.normalize,
        }


@dataclass(frozen=True)
class TopCluster:
    row: int
    count: int
    preview: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.row, "count": self.count, "preview": self.preview}


@dataclass(frozen=True)
class ClusterStats:
    """Duplicate clusters at one level (exact). `unique` counts distinct normalised texts among
    non-null rows; `duplicate_rows` = non-null rows - unique = rows dedup would remove;
    `duplicate_fraction` = duplicate_rows / rows; `clusters` counts clusters of size >= 2."""

    unique: int
    duplicate_rows: int
    duplicate_fraction: float
    clusters: int
    largest_cluster: int
    top: list[TopCluster]

    def to_dict(self) -> dict[str, Any]:
        return {
            "unique": self.unique,
            "duplicate_rows": self.duplicate_rows,
            "duplicate_fraction": self.duplicate_fraction,
            "clusters": self.clusters,
            "largest_cluster": self.largest_cluster,
            "top": [t.to_dict() for t in self.top],
        }


@dataclass(frozen=True)
class NearStats(ClusterStats):
    """Near-duplicate clusters (MinHash-LSH over shingles, verified by the sketch estimate; a
    near cluster contains its exact duplicates), plus the settings that produced them."""

    threshold: float = 0.7
    ngram: int = 5
    shingle: str = "auto"
    num_perm: int = 128
    bands: int = 0
    rows_per_band: int = 0
    clustering: str = "representative"
    char_ngram: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = super().to_dict()
        d.update(
            threshold=self.threshold,
            ngram=self.ngram,
            shingle=self.shingle,
            num_perm=self.num_perm,
            bands=self.bands,
            rows_per_band=self.rows_per_band,
            clustering=self.clustering,
            char_ngram=self.char_ngram,
        )
        return d


@dataclass(frozen=True)
class LeakExample:
    eval_row: int
    train_row: int
    similarity: float

    def to_dict(self) -> dict[str, Any]:
        return {"eval_row": self.eval_row, "train_row": self.train_row, "similarity": self.similarity}


@dataclass(frozen=True)
class Leakage:
    """One eval split against the train index. `near_in_train` counts eval rows with any near
    match, exact ones included; `examples` holds up to 10 matches (exact first)."""

    rows: int
    exact_in_train: int
    near_in_train: int | None  # None when near-duplicate detection was off
    examples: list[LeakExample]
    path: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "exact_in_train": self.exact_in_train,
            "near_in_train": self.near_in_train,
            "examples": [e.to_dict() for e in self.examples],
            "path": self.path,
        }


@dataclass(frozen=True)
class ConflictExample:
    rows: list[int]
    labels: list[str | None]

    def to_dict(self) -> dict[str, Any]:
        return {"rows": list(self.rows), "labels": list(self.labels)}


@dataclass(frozen=True)
class Conflicts:
    """Clusters whose members carry different (non-null) labels. `rows` counts the rows of the
    conflicting clusters at the widest level computed (near when on, else exact)."""

    exact_clusters: int
    near_clusters: int | None
    rows: int
    examples: list[ConflictExample]

    def to_dict(self) -> dict[str, Any]:
        return {
            "exact_clusters": self.exact_clusters,
            "near_clusters": self.near_clusters,
            "rows": self.rows,
            "examples": [e.to_dict() for e in self.examples],
        }


@dataclass(frozen=True)
class LengthStats:
    """Nearest-rank quantiles (numpy `inverted_cdf`) of per-row lengths of non-null texts."""

    mean: float
    p50: int
    p90: int
    p99: int
    max: int

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean, "p50": self.p50, "p90": self.p90, "p99": self.p99, "max": self.max}


@dataclass(frozen=True)
class Lengths:
    chars: LengthStats | None  # None when every text is null
    words: LengthStats | None
    tokens_estimate: int  # UTF-8 bytes / 4 over non-null texts; an estimate, not a tokenizer count
    total_bytes: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "chars": self.chars.to_dict() if self.chars else None,
            "words": self.words.to_dict() if self.words else None,
            "tokens_estimate": self.tokens_estimate,
            "total_bytes": self.total_bytes,
        }


@dataclass(frozen=True)
class Labels:
    counts: dict[str, int]
    null_labels: int
    entropy_normalized: float | None  # H / ln K; None with fewer than two classes
    imbalance_ratio: float | None  # largest / smallest class; None without classes

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "null_labels": self.null_labels,
            "entropy_normalized": self.entropy_normalized,
            "imbalance_ratio": self.imbalance_ratio,
        }


@dataclass(frozen=True)
class Diversity:
    vocabulary: int
    distinct_1: float | None
    distinct_2: float | None
    estimated: bool  # True when a count passed 1 M distinct items and HyperLogLog took over

    def to_dict(self) -> dict[str, Any]:
        return {
            "vocabulary": self.vocabulary,
            "distinct_1": self.distinct_1,
            "distinct_2": self.distinct_2,
            "estimated": self.estimated,
        }


@dataclass
class AuditResult:
    source: SourceInfo
    rows: int
    null_rows: int
    empty_rows: int
    exact: ClusterStats
    lengths: Lengths
    labels: Labels | None
    diversity: Diversity
    near: NearStats | None = None
    leakage: dict[str, Leakage] = field(default_factory=dict)
    conflicts: Conflicts | None = None
    #: One row per input row: `row`, `exact_id`, `near_id` (null for null text; `near_id` only
    #: with near detection on) and `keep` (the row represents its widest cluster). None when the
    #: audit ran without keeping row ids.
    clusters: pl.DataFrame | None = field(default=None, repr=False)
    #: Every leakage match: `split`, `eval_row`, `train_row`, `similarity`, `kind` (exact|near).
    leaks: pl.DataFrame | None = field(default=None, repr=False)
    #: Extra sections added by later stages (plan, near, leakage...), already in JSON form.
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema": AUDIT_SCHEMA,
            "source": self.source.to_dict(),
            "rows": self.rows,
            "null_rows": self.null_rows,
            "empty_rows": self.empty_rows,
            "exact": self.exact.to_dict(),
            "lengths": self.lengths.to_dict(),
            "labels": self.labels.to_dict() if self.labels else None,
            "diversity": self.diversity.to_dict(),
        }
        if self.near is not None:
            d["near"] = self.near.to_dict()
        if self.leakage:
            d["leakage"] = {name: leak.to_dict() for name, leak in self.leakage.items()}
        if self.conflicts is not None:
            d["conflicts"] = self.conflicts.to_dict()
        d.update(self.extra)
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent, ensure_ascii=False) + "\n"
