"""Run an audit: stream the text column of a source through the Rust core, build the result.

Train rows go through the core once (exact clusters, statistics, near-duplicate sketches); each
eval split is then streamed through the same indexes without being added to them (leakage)."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import polars as pl

from . import _epochplan
from .errors import InputError
from .result import (
    AuditResult,
    ClusterStats,
    ConflictExample,
    Conflicts,
    Diversity,
    Labels,
    Leakage,
    LeakExample,
    Lengths,
    LengthStats,
    NearStats,
    SourceInfo,
    TopCluster,
)
from .sources import (
    DEFAULT_BATCH_ROWS,
    LABEL,
    TEXT,
    Source,
    SourceLike,
    batches,
    check_label_column,
    choose_text_columns,
    open_source,
    preview_rows,
)

ProgressCallback = Callable[[int], None]
NORMALIZE_MODES = ("default", "none")
EXAMPLES = 10
EvalSpec = Mapping[str, SourceLike] | Sequence[SourceLike] | SourceLike | None


def default_memory_budget() -> int:
    """A quarter of physical memory, at most 1 GiB: keeps a 5 M-row near audit under 2 GB RSS."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        total = 4 << 30
    return max(64 << 20, min(1 << 30, total // 4))


def audit(
    data: SourceLike,
    *,
    text: str | Sequence[str] | None = None,
    label: str | None = None,
    normalize: str = "default",
    near: bool = True,
    threshold: float = 0.7,
    ngram: int = 5,
    shingle: str = "auto",
    char_ngram: int | None = None,
    clustering: str = "representative",
    num_perm: int = 128,
    memory_budget: int | None = None,
    eval: EvalSpec = None,
    keep_clusters: bool = True,
    batch_rows: int | None = None,
    progress: ProgressCallback | None = None,
) -> AuditResult:
    """Audit a dataset: exact and near-duplicate clusters, train/eval leakage, conflicting
    labels and statistics of its text column(s).

    `data` is a path (Parquet, JSONL/NDJSON, CSV), a folder, a glob pattern, a list of those, a
    polars DataFrame/LazyFrame or a pyarrow Table. `text` names the column(s) to audit (several
    are joined with a newline); without it the column is chosen as the CLI documents.
    `eval` is one eval split, a list of them (named by file stem) or a {name: data} mapping.
    `keep_clusters` keeps the per-row cluster table (`result.clusters`, 8-20 bytes a row).
    `shingle`: "auto" (char n-grams for text in scripts written without spaces, word n-grams
    otherwise), "word" or "char"; `ngram` words or `char_ngram` characters per shingle (None:
    the core's default). `clustering`: "representative" (every member verified similar to its
    cluster's representative) or "components" (connected components of verified links: chains).
    """
    if normalize not in NORMALIZE_MODES:
        raise InputError(f"normalize={normalize!r}: use one of {', '.join(NORMALIZE_MODES)}")
    if memory_budget is not None and memory_budget < (16 << 20):
        raise InputError(f"memory_budget={memory_budget}: must be at least 16 MB")
    # Near settings are checked by the core here, before any data is read.
    auditor = _epochplan.Auditor(
        normalize=normalize,
        keep_row_ids=keep_clusters or label is not None,
        near=near,
        threshold=threshold,
        ngram=ngram,
        shingle=shingle,
        char_ngram=char_ngram,
        clustering=clustering,
        num_perm=num_perm,
        memory_budget=memory_budget or default_memory_budget(),
    )
    batch_rows = _batch_rows_from_env() if batch_rows is None else batch_rows
    if batch_rows < 1:
        raise InputError(f"batch_rows={batch_rows}: must be at least 1")
    source = open_source(data)
    schema = source.schema()
    columns = choose_text_columns(schema, text, source.description)
    check_label_column(schema, label, source.description)
    eval_sources = _open_eval(eval, columns)

    labels_per_row: list[pl.Series] = []
    for batch in batches(source, columns, label, batch_rows):
        if batch.height == 0:
            continue
        labels = batch.get_column(LABEL) if label is not None else None
        auditor.update(batch.get_column(TEXT), labels)
        if labels is not None:
            labels_per_row.append(labels)
        if progress is not None:
            progress(auditor.rows)
    if auditor.rows == 0:
        raise InputError(f"{source.description}: no rows to audit")
    auditor.finish_near()

    info = SourceInfo(paths=[str(p) for p in source.paths], text_columns=columns, label_column=label, normalize=normalize)
    summary = auditor.summary(with_labels=label is not None)
    exact_ids = _ids(auditor.row_ids())
    near_ids = _ids(auditor.near_ids())
    similarity = auditor.near_similarity()
    similarity = None if similarity is None else np.frombuffer(similarity, dtype="<f4")
    result = build_result(info, summary, exact_ids, near_ids if near else None, keep_clusters,
                          similarity if near else None)
    if result.near is not None:
        result.near = _fill_previews(result.near, source, columns, normalize)
    if label is not None and exact_ids is not None:
        result.conflicts = find_conflicts(pl.concat(labels_per_row) if labels_per_row else pl.Series([], dtype=pl.String),
                                          exact_ids, near_ids if near else None)
    if eval_sources:
        result.leakage, result.leaks = _leakage(auditor, eval_sources, columns, batch_rows, near)
    return result


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


def _ids(raw: bytes | None) -> np.ndarray | None:
    return None if raw is None else np.frombuffer(raw, dtype="<u8")


def _cluster_stats(cls, d: dict, rows: int, **extra):
    return cls(
        unique=d["unique"],
        duplicate_rows=d["duplicate_rows"],
        duplicate_fraction=d["duplicate_rows"] / rows if rows else 0.0,
        clusters=d["clusters"],
        largest_cluster=d["largest_cluster"],
        top=[TopCluster(row=t["row"], count=t["count"], preview=t["preview"] or "") for t in d["top"]],
        **extra,
    )


def build_result(info: SourceInfo, s: dict, exact_ids: np.ndarray | None, near_ids: np.ndarray | None,
                 keep_clusters: bool, similarity: np.ndarray | None = None) -> AuditResult:
    rows = s["rows"]
    near = s.get("near")
    return AuditResult(
        source=info,
        rows=rows,
        null_rows=s["null_rows"],
        empty_rows=s["empty_rows"],
        exact=_cluster_stats(ClusterStats, s["exact"], rows),
        near=None if near is None else _cluster_stats(
            NearStats, near, rows, threshold=near["threshold"], ngram=near["ngram"], shingle=near["shingle"],
            num_perm=near["num_perm"], bands=near["bands"], rows_per_band=near["rows_per_band"],
            clustering=near["clustering"], char_ngram=near["char_ngram"],
        ),
        lengths=Lengths(
            chars=LengthStats(**s["chars"]) if s["chars"] else None,
            words=LengthStats(**s["words"]) if s["words"] else None,
            tokens_estimate=s["tokens_estimate"],
            total_bytes=s["total_bytes"],
        ),
        labels=Labels(**s["labels"]) if s["labels"] is not None else None,
        diversity=Diversity(**s["diversity"]),
        clusters=cluster_frame(exact_ids, near_ids, similarity) if keep_clusters and exact_ids is not None else None,
    )


def _id_series(name: str, ids: np.ndarray) -> pl.Series:
    null = ids == np.uint64(_epochplan.NO_CLUSTER)
    return pl.Series(name, ids, dtype=pl.UInt64).set(pl.Series(null), None)


def cluster_frame(exact_ids: np.ndarray, near_ids: np.ndarray | None = None,
                  similarity: np.ndarray | None = None) -> pl.DataFrame:
    """Per-row cluster table: `row`, `exact_id`, `near_id` (null for null text; near only when
    computed), `keep` (the row represents its near cluster, or its exact one without near),
    `similarity` (with near: to the near representative, 1.0 for it and its exact copies, null
    for null text)."""
    rows = np.arange(len(exact_ids), dtype=np.uint64)
    columns = [pl.Series("row", rows, dtype=pl.UInt64), _id_series("exact_id", exact_ids)]
    if near_ids is not None:
        columns.append(_id_series("near_id", near_ids))
    widest = near_ids if near_ids is not None else exact_ids
    columns.append(pl.Series("keep", widest == rows))
    if similarity is not None:
        columns.append(pl.Series("similarity", similarity, dtype=pl.Float32).fill_nan(None))
    return pl.DataFrame(columns)


def _fill_previews(near: NearStats, source: Source, columns: list[str], normalize: str) -> NearStats:
    """Near clusters whose representative has no exact duplicate have no stored preview: read
    those few rows back (a slice each, so Parquet reads one row group)."""
    missing = [t.row for t in near.top if not t.preview]
    if not missing:
        return near
    texts = preview_rows(source, columns, missing)
    top = [t if t.preview else TopCluster(t.row, t.count, _preview(texts.get(t.row, ""), normalize)) for t in near.top]
    return NearStats(**{**near.__dict__, "top": top})


def _preview(text: str | None, normalize: str) -> str:
    return "" if text is None else _epochplan.preview(text, normalize)


def find_conflicts(labels: pl.Series, exact_ids: np.ndarray, near_ids: np.ndarray | None) -> Conflicts:
    """Clusters whose members carry more than one distinct (non-null) label."""
    frame = pl.DataFrame([_id_series("exact_id", exact_ids), labels.alias("label")]).with_row_index("row")
    if near_ids is not None:
        frame = frame.with_columns(_id_series("near_id", near_ids))
    labelled = frame.drop_nulls(["exact_id", "label"])

    def conflicting(level: str) -> pl.DataFrame:
        return (
            labelled.group_by(level)
            .agg(pl.col("label").n_unique().alias("labels"), pl.len().alias("size"))
            .filter(pl.col("labels") > 1)
        )

    exact = conflicting("exact_id")
    widest_level = "near_id" if near_ids is not None else "exact_id"
    widest = conflicting(widest_level) if near_ids is not None else exact
    members = labelled.join(widest.select(widest_level, "size"), on=widest_level).sort(["size", widest_level, "row"],
                                                                                     descending=[True, False, False])
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


def _open_eval(eval: EvalSpec, columns: list[str]) -> dict[str, tuple[Source, str | None]]:
    """Eval splits by name: a mapping as given, else named by file stem."""
    if eval is None:
        return {}
    if isinstance(eval, Mapping):
        items = list(eval.items())
    else:
        specs = list(eval) if isinstance(eval, (list, tuple)) else [eval]
        items = [(_stem(spec, i), spec) for i, spec in enumerate(specs)]
    names = [name for name, _ in items]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise InputError(f"eval split name(s) used twice: {', '.join(duplicated)}; name them with --eval NAME=PATH")
    opened = {}
    for name, spec in items:
        source = open_source(spec)
        choose_text_columns(source.schema(), columns, f"eval split {name!r} ({source.description})")
        opened[name] = (source, str(spec) if isinstance(spec, (str, os.PathLike)) else None)
    return opened


def _stem(spec: SourceLike, index: int) -> str:
    if isinstance(spec, (str, os.PathLike)):
        return Path(spec).stem or f"eval{index}"
    return f"eval{index}"


def _leakage(auditor, eval_sources: dict[str, tuple[Source, str | None]], columns: list[str], batch_rows: int,
             near: bool) -> tuple[dict[str, Leakage], pl.DataFrame]:
    report: dict[str, Leakage] = {}
    frames = []
    for name, (source, path) in eval_sources.items():
        auditor.eval_begin()
        for batch in batches(source, columns, None, batch_rows):
            if batch.height:
                auditor.eval_update(batch.get_column(TEXT))
        rows, exact, near_matches = auditor.eval_finish()
        exact_frame = pl.DataFrame(
            {"eval_row": [e for e, _ in exact], "train_row": [t for _, t in exact]},
            schema={"eval_row": pl.UInt64, "train_row": pl.UInt64},
        ).with_columns(similarity=pl.lit(1.0), kind=pl.lit("exact"))
        near_frame = pl.DataFrame(
            {"eval_row": [m[0] for m in near_matches], "train_row": [m[1] for m in near_matches],
             "similarity": [m[2] for m in near_matches]},
            schema={"eval_row": pl.UInt64, "train_row": pl.UInt64, "similarity": pl.Float64},
        ).with_columns(kind=pl.lit("near"))
        # A pair matched exactly is also a near match (similarity 1.0): report it once, as exact.
        near_frame = near_frame.join(exact_frame.select("eval_row", "train_row"), on=["eval_row", "train_row"], how="anti")
        matches = pl.concat([exact_frame, near_frame]).with_columns(split=pl.lit(name)).select(
            "split", "eval_row", "train_row", "similarity", "kind"
        ).sort(["kind", "eval_row", "similarity", "train_row"], descending=[False, False, True, False])
        frames.append(matches)
        near_rows = set(near_frame["eval_row"].to_list()) | set(exact_frame["eval_row"].to_list())  # exact ones included
        report[name] = Leakage(
            rows=rows,
            exact_in_train=exact_frame["eval_row"].n_unique(),
            near_in_train=len(near_rows) if near else None,
            examples=[LeakExample(int(r["eval_row"]), int(r["train_row"]), float(r["similarity"]))
                      for r in matches.head(EXAMPLES).iter_rows(named=True)],
            path=path,
        )
    return report, pl.concat(frames) if frames else pl.DataFrame()
