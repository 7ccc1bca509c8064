"""The typed audit result and its JSON form (schema `epochplan.audit/1`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from .. import defaults
from ..defaults import AUDIT_SCHEMA
from .tokenizer import TokenizerFile, TokenLengthStats, token_stats

#: Examples kept per section (top clusters come from the core, leakage and conflicts from here).
EXAMPLES = 10
#: Characters of one example text in the JSON (report texts; see auditing/examples.py).
TEXT_CHARS = 2000


@dataclass(frozen=True)
class SourceInfo:
    paths: list[str]
    text_columns: list[str]
    label_column: str | None
    normalize: str
    tokenizer: TokenizerFile | None = None  # the tokenizer that counted tokens (None: estimated)
    #: The input's column of per-row token counts (FineWeb's `token_count`) when tokens are the
    #: bytes/4 estimate: not read, named where the estimate is explained.
    token_count_column: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "paths": list(self.paths),
            "text_columns": list(self.text_columns),
            "label_column": self.label_column,
            "normalize": self.normalize,
            "tokenizer": None if self.tokenizer is None else self.tokenizer.to_dict(),
            "token_count_column": self.token_count_column,
        }


@dataclass(frozen=True)
class Member:
    """A cluster member shown beside its representative: up to 5 a cluster, the lowest rows
    (exact) or the least similar first (near, when the core gives similarity). `text` only when
    the audit keeps examples."""

    row: int
    similarity: float | None = None
    text: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"row": self.row}
        if self.similarity is not None:
            d["similarity"] = self.similarity
        if self.text is not None:
            d["text"] = self.text
        return d


@dataclass(frozen=True)
class TopCluster:
    row: int
    count: int
    preview: str
    #: The representative's text as read, cut to TEXT_CHARS (None without examples).
    text: str | None = None
    members: tuple[Member, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"row": self.row, "count": self.count, "preview": self.preview}
        if self.text is not None:
            d["text"] = self.text
        if self.members:
            d["members"] = [m.to_dict() for m in self.members]
        return d


@dataclass(frozen=True)
class ClusterStats:
    """Duplicate clusters at one level (exact). `unique` counts distinct normalised texts among
    non-null rows; `duplicate_rows` = non-null rows - unique = rows dedup would remove;
    `duplicate_fraction` = duplicate_rows / rows; `clusters` counts clusters of size >= 2.
    `unique_tokens`: tokens of the representatives (one per cluster), summed: what the model sees
    once per epoch after dedup (tokenizer counts, or the estimate `lengths.tokens` labels).
    `leaked_unique` (with eval splits): of `unique`, the clusters that hold a train row some eval
    row matches (exact matches at the exact level; exact or near at the near level): the unique
    samples `dedup --eval` drops at that level."""

    unique: int
    duplicate_rows: int
    duplicate_fraction: float
    clusters: int
    largest_cluster: int
    top: list[TopCluster]
    #: [[size, clusters], ...]: every cluster size that occurs, 1 included, ascending (the core's).
    size_histogram: list[list[int]] = field(default_factory=list)
    unique_tokens: int | None = None
    leaked_unique: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "unique": self.unique,
            "duplicate_rows": self.duplicate_rows,
            "duplicate_fraction": self.duplicate_fraction,
            "clusters": self.clusters,
            "largest_cluster": self.largest_cluster,
            "top": [t.to_dict() for t in self.top],
            "size_histogram": [list(b) for b in self.size_histogram],
            "unique_tokens": self.unique_tokens,
            "leaked_unique": self.leaked_unique,
        }


@dataclass(frozen=True)
class NearStats(ClusterStats):
    """Near-duplicate clusters (MinHash-LSH over shingles, verified by the sketch estimate or
    the exact Jaccard; a near cluster contains its exact duplicates), plus every setting that
    changes the counts."""

    threshold: float = defaults.THRESHOLD
    ngram: int = defaults.NGRAM
    shingle: str = defaults.SHINGLE
    num_perm: int = defaults.NUM_PERM
    bands: int = 0
    rows_per_band: int = 0
    clustering: str = defaults.CLUSTERING
    char_ngram: int = defaults.CHAR_NGRAM
    verify: str = defaults.VERIFY

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
            verify=self.verify,
        )
        return d


@dataclass(frozen=True)
class LeakExample:
    eval_row: int
    train_row: int
    similarity: float
    eval_text: str | None = None  # with examples: the eval row's text and its train match's
    train_text: str | None = None
    #: "exact" (same normalised text) or "near": similarity 1.0 does not tell them apart (a text
    #: that repeats another has the same word-shingle set).
    kind: str = "exact"

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"eval_row": self.eval_row, "train_row": self.train_row, "similarity": self.similarity, "kind": self.kind}
        if self.eval_text is not None or self.train_text is not None:
            d.update(eval_text=self.eval_text, train_text=self.train_text)
        return d


@dataclass(frozen=True)
class Leakage:
    """One eval split against the train index. `near_in_train` counts eval rows with any near
    match, exact ones included; `examples` holds up to 10 matches (exact first)."""

    rows: int
    exact_in_train: int
    near_in_train: int | None  # None when near-duplicate detection was off
    examples: list[LeakExample]
    path: str | None = None
    #: Eval rows whose text is null: compared with nothing (an all-null split leaks nothing).
    null_rows: int = 0
    #: The split's text columns (`--eval-text`, else train's): what was compared.
    text_columns: list[str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "rows": self.rows,
            "null_rows": self.null_rows,
            "exact_in_train": self.exact_in_train,
            "near_in_train": self.near_in_train,
            "examples": [e.to_dict() for e in self.examples],
            "path": self.path,
            "text_columns": None if self.text_columns is None else list(self.text_columns),
        }


@dataclass(frozen=True)
class ConflictExample:
    rows: list[int]
    labels: list[str | None]
    texts: list[str | None] | None = None  # with examples: parallel to the first 10 rows
    # With examples: the first row of each of the first 10 labels and its text, so that the row
    # that disagrees has its text even when it comes after the first 10 rows.
    first_of_label: list[dict[str, Any]] | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"rows": list(self.rows), "labels": list(self.labels)}
        if self.texts is not None:
            d["texts"] = list(self.texts)
        if self.first_of_label is not None:
            d["first_of_label"] = [dict(f) for f in self.first_of_label]
        return d


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
class TemplateSignal:
    """The strongest sign of a template shared by many rows: `count` of the `rows` non-null rows
    start (end) with one of `templates` shared texts of `chars` characters (`source` prefix |
    suffix, `text` the most shared one), or sit in the largest near cluster (`source`
    near-cluster, `text` its preview). `row` is one of them."""

    source: str
    chars: int | None
    templates: int
    count: int
    rows: int
    share: float
    row: int
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "chars": self.chars,
            "templates": self.templates,
            "count": self.count,
            "rows": self.rows,
            "share": self.share,
            "row": self.row,
            "text": self.text,
        }


@dataclass(frozen=True)
class AuditWarning:
    """Something the numbers alone would hide (id `template`: a shared template dominates;
    `separator`: a CSV/TSV file read as one column, its fields most likely split by another
    character; `text-column`: the audited column was chosen automatically beside other text
    columns, or looks like metadata beside conversations; `media-column`, `label-variants`, `label-sentinel`, `label-cardinality`: see `input_warnings`;
    `special-tokens`: see `special_tokens`)."""

    id: str
    message: str
    share: float
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "message": self.message, "share": self.share, "text": self.text}


@dataclass(frozen=True)
class LengthStats:
    """Nearest-rank quantiles (numpy `inverted_cdf`) of per-row lengths of non-null texts."""

    mean: float
    p50: int
    p90: int
    p99: int
    max: int
    #: [[lo, hi, count], ...]: power-of-two bins [0, 1), [1, 2), [2, 4), ... up to the max (the core's).
    histogram: list[list[int]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "mean": self.mean,
            "p50": self.p50,
            "p90": self.p90,
            "p99": self.p99,
            "max": self.max,
            "histogram": [list(b) for b in self.histogram],
        }


@dataclass(frozen=True)
class Lengths:
    chars: LengthStats | None  # None when every text is null
    words: LengthStats | None
    tokens_estimate: int  # UTF-8 bytes / 4 over non-null texts; an estimate, not a tokenizer count
    total_bytes: int
    tokens: TokenLengthStats | None = None  # exact with a tokenizer, else the labelled estimate

    def to_dict(self) -> dict[str, Any]:
        return {
            "chars": self.chars.to_dict() if self.chars else None,
            "words": self.words.to_dict() if self.words else None,
            "tokens_estimate": self.tokens_estimate,
            "total_bytes": self.total_bytes,
            "tokens": self.tokens.to_dict() if self.tokens else None,
        }


@dataclass(frozen=True)
class Labels:
    counts: dict[str, int]
    null_labels: int
    entropy_normalized: float | None  # H / ln K; None with fewer than two classes
    imbalance_ratio: float | None  # largest / smallest class; None without classes
    #: A `datasets` ClassLabel column's class names by label value (`{"0": "negative"}`), from
    #: the input's schema metadata (`sources.class_labels`); None for any other label column.
    label_names: dict[str, str] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": dict(self.counts),
            "null_labels": self.null_labels,
            "entropy_normalized": self.entropy_normalized,
            "imbalance_ratio": self.imbalance_ratio,
            "label_names": None if self.label_names is None else dict(self.label_names),
        }


@dataclass(frozen=True)
class Diversity:
    vocabulary: int
    distinct_1: float | None
    distinct_2: float | None
    estimated: bool  # True when a count passed 1 M distinct items and HyperLogLog took over
    #: Which counter did: the words' (vocabulary, distinct-1) or the bigrams' (distinct-2).
    vocabulary_estimated: bool = False
    bigrams_estimated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "vocabulary": self.vocabulary,
            "distinct_1": self.distinct_1,
            "distinct_2": self.distinct_2,
            "estimated": self.estimated,
            "vocabulary_estimated": self.vocabulary_estimated,
            "bigrams_estimated": self.bigrams_estimated,
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
    #: The strongest template signal (None when no row is long enough and near is off).
    template: TemplateSignal | None = None
    warnings: list[AuditWarning] = field(default_factory=list)
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
        d["template"] = self.template.to_dict() if self.template is not None else None
        d["warnings"] = [w.to_dict() for w in self.warnings]
        d.update(self.extra)
        return d

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, indent=indent, ensure_ascii=False) + "\n"


# --- From the core's summary -------------------------------------------------------------------


def _cluster_stats(cls, d: dict, rows: int, **extra):
    return cls(
        unique=d["unique"],
        duplicate_rows=d["duplicate_rows"],
        duplicate_fraction=d["duplicate_rows"] / rows if rows else 0.0,
        clusters=d["clusters"],
        largest_cluster=d["largest_cluster"],
        top=[
            TopCluster(
                row=t["row"],
                count=t["count"],
                preview=t["preview"] or "",
                members=tuple(Member(m["row"], m.get("similarity")) for m in t.get("members") or ()),
            )
            for t in d["top"]
        ],
        size_histogram=[list(b) for b in d.get("size_histogram") or []],
        unique_tokens=d.get("unique_tokens"),
        leaked_unique=d.get("leaked_unique"),
        **extra,
    )


def build_result(info: SourceInfo, s: dict, clusters: pl.DataFrame | None = None) -> AuditResult:
    """The typed result of the core's summary dict (the binding's conversion of AuditSummary)."""
    rows = s["rows"]
    near = s.get("near")
    return AuditResult(
        source=info,
        rows=rows,
        null_rows=s["null_rows"],
        empty_rows=s["empty_rows"],
        exact=_cluster_stats(ClusterStats, s["exact"], rows),
        near=None
        if near is None
        else _cluster_stats(
            NearStats,
            near,
            rows,
            threshold=near["threshold"],
            ngram=near["ngram"],
            shingle=near["shingle"],
            num_perm=near["num_perm"],
            bands=near["bands"],
            rows_per_band=near["rows_per_band"],
            clustering=near["clustering"],
            char_ngram=near["char_ngram"],
            verify=near["verify"],
        ),
        lengths=Lengths(
            chars=LengthStats(**s["chars"]) if s["chars"] else None,
            words=LengthStats(**s["words"]) if s["words"] else None,
            tokens_estimate=s["tokens_estimate"],
            total_bytes=s["total_bytes"],
            tokens=token_stats(s["tokens"], info.tokenizer),
        ),
        labels=Labels(**s["labels"]) if s["labels"] is not None else None,
        diversity=Diversity(**s["diversity"]),
        clusters=clusters,
    )
