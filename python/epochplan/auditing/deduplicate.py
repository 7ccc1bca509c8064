"""Keep one representative row per duplicate cluster, with every column of the input."""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import polars as pl
import pyarrow as pa

from ..engines import refuse_in_memory
from ..errors import InputError, NoRows, api_words, keyword_errors, option, switches, warn_at_caller
from ..outputs import arrow_sink, atomic_write, parquet_writer
from ..progress import set_phase
from ..sources import OUTPUT_FORMATS, SEPARATORS, Source, SourceLike, is_remote, open_source, read_once, row_batches, text_expression
from ..sources.class_labels import check_one_features
from ..sources.downloads import holds_downloads
from ..sources.parts import combining_once, read_error
from ..sources.paths import file_format
from .conflicts import conflict_warning
from .exact_verify import check_rereadable
from .keys import KEEP, LEVELS
from .leakage import EvalSpec, EvalText
from .output_columns import RETURNED_PHRASES, WRITTEN_PHRASES, check_output_columns, type_join_warnings
from .run import _batch_rows_from_env as batch_rows_from_env
from .run import audit, check_progress

ROW = "__epochplan_row"


@dataclass(frozen=True)
class DedupSummary:
    """What dedup kept and why it dropped the rest: rows = kept + duplicates_removed +
    leaked_rows_removed + null_rows_removed. Every row of a cluster that leaks into an eval split
    counts as leaked (`leaked_by_split`: under the first split given that it leaks into);
    `duplicates_removed` counts the other clusters' non-representatives."""

    rows: int
    kept: int
    duplicates_removed: int
    null_rows_removed: int
    level: str
    keep: str
    leaked_rows_removed: int = 0
    leaked_by_split: dict[str, int] = field(default_factory=dict)
    #: The audit's warnings (a shared template makes near clusters swallow different rows).
    warnings: tuple[str, ...] = ()


def representatives(
    data: SourceLike,
    *,
    text: str | Sequence[str] | None = None,
    level: str = "near",
    keep: str = "first",
    eval: EvalSpec = None,
    eval_text: EvalText = None,
    source: Source | None = None,
    warn: bool = False,
    **audit_options,
) -> tuple[pl.Series, DedupSummary, pl.LazyFrame]:
    """Rows to keep (sorted row numbers), a summary, and the source as a lazy frame. `data` is
    read again for the rows: its caller reads it once first (`_read_once`) and holds it while
    it reads the rows; `source`: `data` opened already by the caller (to check it before the
    audit), read for the rows instead of opening it again. `warn`: also give the summary's
    warnings as Python `UserWarning`s (for `dedup`, which returns rows only: in its words), but
    those the audit gave as such already (`eval-split-left-out`)."""
    _check_options(data, {"level": level, "keep": keep, **audit_options})
    check_rereadable(data, "dedup (the audit, then the rows it keeps)", "")
    source = open_source(data) if source is None else source
    try:
        result = audit(data, text=text, near=level == "near", keep_clusters=True, eval=eval, eval_text=eval_text, **audit_options)
    except NoRows:
        if source.paths:  # an empty file is refused, as on the command line
            raise
        nothing = DedupSummary(rows=0, kept=0, duplicates_removed=0, null_rows_removed=0, level=level, keep=keep)
        return pl.Series("row", [], pl.UInt64), nothing, source.frame  # a frame of 0 rows: none kept, in its columns
    clusters = result.clusters
    assert clusters is not None  # keep_clusters=True
    cluster = "near_id" if level == "near" else "exact_id"
    if keep == "first":
        kept = clusters.filter(pl.col("keep"))["row"]
    else:
        text = text_expression(result.source.text_columns, source.frame.collect_schema())
        lengths = source.frame.select(text.str.len_chars().alias("length")).collect()
        kept = (
            clusters.with_columns(lengths["length"])
            .drop_nulls(cluster)
            .sort(["length", "row"], descending=[True, False])
            .group_by(cluster, maintain_order=True)
            .first()["row"]
            .sort()
        )
    leaked = _leaked_rows(clusters, result.leaks, cluster, list(result.leakage))
    if leaked.height:
        kept = kept.filter(~kept.is_in(leaked["row"].implode()))
    by_split = dict(leaked.group_by("split").len().iter_rows()) if leaked.height else {}
    own = [*conflict_warning(result, level, keep), *type_join_warnings(source, warn)]  # in the API's words, as the audit's are
    summary = DedupSummary(
        rows=result.rows,
        kept=kept.len(),
        duplicates_removed=result.rows - result.null_rows - kept.len() - leaked.height,
        null_rows_removed=result.null_rows,
        level=level,
        keep=keep,
        leaked_rows_removed=leaked.height,
        leaked_by_split={name: by_split.get(name, 0) for name in result.leakage},
        warnings=tuple([w.message for w in result.warnings] + [api_words(m) for m in own]),
    )
    if warn:
        said = {w.message for w in result.warnings if w.id == "eval-split-left-out"}  # `audit` warned them
        for message in summary.warnings:
            if message not in said:
                warn_at_caller(message)  # at the caller of `dedup`
    return kept, summary, source.frame


#: The audit's arguments dedup sets itself, and why.
#: The keywords `dedup` and `dedup_to_file` take: theirs and `audit`'s.
_KEYWORDS = {"level", "keep", "progress", *(name for name in inspect.signature(audit).parameters if name != "data")}

_OWN_OPTIONS = {
    "near": "dedup sets it from level ('near' finds near duplicates, 'exact' only exact ones): give level instead",
    "keep_clusters": "dedup needs the per-row cluster table to choose its rows: leave it out",
}


@contextmanager
def _read_once(data: SourceLike, options: dict[str, Any], caller: str = "dedup") -> Iterator[SourceLike]:
    """`data` read once (`read_once`: a LazyFrame into a temporary file, every column, removed
    when the `with` ends), dedup's options checked first: dedup reads its input twice (the
    audit, then the kept rows), and a LazyFrame or an Arrow stream must give the same rows to
    both."""
    _check_options(data, options, caller)
    with combining_once(), read_once(data, batch_rows=batch_rows_from_env()) as held:
        yield held


def _check_options(data: SourceLike, options: dict[str, Any], caller: str = "dedup") -> None:
    """dedup's `level` and `keep`, the audit options it sets itself, and a keyword neither takes
    (named as `caller`'s, not `audit`'s), refused before the input is read (a LazyFrame's query
    run)."""
    unknown = [name for name in options if name not in _KEYWORDS]
    if unknown:
        close = difflib.get_close_matches(unknown[0], sorted(_KEYWORDS), n=1)
        raise TypeError(
            f"{caller}() got an unexpected keyword argument {unknown[0]!r}" + (f"; did you mean {close[0]!r}?" if close else "")
        )
    check_progress(options.get("progress"))
    level, keep = options.get("level", "near"), options.get("keep", "first")
    if level not in LEVELS:
        raise InputError(f"level={level!r}: use 'exact' or 'near'")
    if keep not in KEEP:
        raise InputError(f"keep={keep!r}: use 'first' (lowest row) or 'longest' (most characters)")
    for name, why in _OWN_OPTIONS.items():
        if name in options:
            raise InputError(f"{name}={options[name]!r}: {why}")
    refuse_in_memory(options.get("engine", "local"), data)


def _leaked_rows(clusters: pl.DataFrame, leaks: pl.DataFrame | None, cluster: str, splits: list[str]) -> pl.DataFrame:
    """Every train row whose cluster (at the dedup level) holds a row some eval row matches,
    exactly or near, with the first split (in the order given) that it leaks into."""
    if leaks is None or leaks.height == 0:
        return pl.DataFrame(schema={"row": pl.UInt64, "split": pl.String})
    order = pl.DataFrame({"split": splits, "split_order": list(range(len(splits)))})
    leaking = (
        leaks.join(order, on="split")
        .join(clusters.select("row", cluster), left_on="train_row", right_on="row")
        .group_by(cluster)
        .agg(pl.col("split").sort_by("split_order").first())
    )
    return clusters.select("row", cluster).join(leaking, on=cluster).select("row", "split").sort("row")


def _kept_rows(frame: pl.LazyFrame, kept: pl.Series) -> pl.LazyFrame:
    names = set(frame.collect_schema().names())
    row = next(ROW + "_" * n for n in range(len(names) + 1) if ROW + "_" * n not in names)  # not one of the data's columns
    return (
        frame.with_row_index(row).filter(pl.col(row).is_in(kept.cast(pl.UInt32 if kept.len() < 2**32 else pl.UInt64).implode())).drop(row)
    )


@keyword_errors(switches(audit), RETURNED_PHRASES)
@holds_downloads
def dedup(
    data: SourceLike,
    *,
    text: str | Sequence[str] | None = None,
    level: str = "near",
    keep: str = "first",
    eval: EvalSpec = None,
    eval_text: EvalText = None,
    **audit_options,
) -> pl.DataFrame:
    """The input rows that represent their cluster (all columns, input order), as a polars
    DataFrame. `level` near (default) or exact; `keep` first (lowest row) or longest. Rows with
    null text belong to no cluster and are dropped. `data` is read twice (the audit, then the
    kept rows): a LazyFrame is run once first, every column, into a temporary Parquet file
    (about its compressed size, in TMPDIR; removed when the call ends), and a one-shot Arrow
    stream read once into memory. `audit_options` are `audit`'s, but near and keep_clusters,
    which dedup sets.

    Decontamination: with `eval` (one split, a list, a {name: data} mapping or a DatasetDict, as
    in `audit`), every cluster that holds a train row matching an eval row is dropped whole:
    exact or near matches at level near, exact ones at level exact. `eval_text` names the eval
    text column(s) as in `audit`.

    The audit's warnings, which `dedup` prints on the command line (media columns not compared,
    partition keys not read, label variants, a dominating template, kept rows whose clusters carry
    different labels …), are given as Python `UserWarning`s, each once."""
    with _read_once(data, {"level": level, "keep": keep, **audit_options}) as data:
        source = None
        if not isinstance(data, Iterator):  # a generator is refused by `representatives`, unread
            source = open_source(data)
            source.check_shared_types("dedup")  # one frame holds the union of the columns
        kept, _, frame = representatives(
            data, text=text, level=level, keep=keep, eval=eval, eval_text=eval_text, source=source, warn=True, **audit_options
        )
        return _kept_rows(frame, kept).collect()


@keyword_errors(switches(audit) | switches(dedup), WRITTEN_PHRASES)
@holds_downloads
def dedup_to_file(data: SourceLike, out: str | os.PathLike[str], *, progress: Any = None, **options: Any) -> DedupSummary:
    """Stream the kept rows to `out` (format from its extension), atomically: an error or an
    interrupt leaves `out` as it was and no temporary file. `progress` is called with the rows
    done, as `audit`'s is. `data` is read once first, as in `dedup`."""
    target = Path(out)
    kind, where = OUTPUT_FORMATS.get(target.suffix.lower()), option("-o", str(target), "out")  # `out='x.txt'` in the API's words
    if kind is None:
        raise InputError(
            f"{where}: unsupported output type {target.suffix or '(none)'}; use .parquet, .jsonl, .ndjson, .csv, .tsv or .arrow"
        )
    # Read once before it is opened: the audit and the write see the same rows.
    with _read_once(data, {**options, "progress": progress}, "dedup_to_file") as data:
        source = None
        if not isinstance(data, Iterator):  # a generator is refused by `representatives`, unread
            # Opened once: checked against the output before the audit, then read to write it.
            source = open_source(data)
            if kind == "text":
                check_lines_output(source, where)
            else:
                if not (kind == "ndjson" and _lines_kept(source)):  # JSON lines to JSON lines copies each line as written
                    source.check_shared_types(where)  # one output file holds the union of the columns
                check_output_columns(source.frame.collect_schema(), kind, where, source.type_joins)
                check_one_features(source, where)
        keep, summary, source, unchanged = rows_to_write(data, target, progress, options, source)

        def write(path: Path) -> None:  # an input that changed is refused before the output lands
            unchanged.check()
            unchanged.check(rows_read=write_rows(source, keep, kind, path, summary.rows))

        atomic_write(target, write)
        return summary


@dataclass(frozen=True)
class Unchanged:
    """The local input files as they were before the audit read them - (size, modification time
    in ns, inode) of each - and the rows it counted. dedup reads its input twice, the audit and
    then the kept row numbers: a file rewritten or truncated in between (a producer still writing
    it) would make the output hold other rows than those audited, silently. `check` refuses it.

    Remote inputs (URLs) are not checked: an object's metadata costs a request per file and has
    no inode; an object store replaces an object whole rather than rewriting it in place."""

    files: tuple[tuple[str, tuple[int, int, int] | None], ...]
    rows: int | None = None
    description: str = ""

    @classmethod
    def of(cls, source: Source | None) -> Unchanged:
        if source is None:  # data in memory: nothing on disk to change
            return cls(())
        local = [p for p in source.paths if not is_remote(p)]
        return cls(tuple((p, _state(p)) for p in local), description=source.description)

    def only(self, path: object) -> Unchanged:
        """The state of the one file `path` (a shard of `dedup -o DIR/`, checked around its own
        writing: checking every file around every shard was quadratic in the shards)."""
        return Unchanged(tuple(f for f in self.files if f[0] == path), description=self.description)

    def check(self, *, rows_read: int | None = None) -> None:
        for path, state in self.files:
            if _state(path) != state:
                raise InputError(f"{path}: changed while it was read (size/modification time); run again once it is complete")
        if rows_read is not None and self.rows is not None and rows_read != self.rows:
            raise InputError(
                f"{self.description}: changed while it was read ({self.rows:,} rows audited, {rows_read:,} read back to write "
                "the output); run again once it is complete"
            )


def _state(path: str) -> tuple[int, int, int] | None:
    try:
        found = os.stat(path)
    except OSError:  # gone (or unreadable) since: changed
        return None
    return found.st_size, found.st_mtime_ns, found.st_ino


def rows_to_write(
    data: SourceLike, target: Path, progress: Any, options: dict[str, Any], source: Source | None = None
) -> tuple[np.ndarray, DedupSummary, Source, Unchanged]:
    """For a dedup that writes `target`: the kept row numbers (ascending, int64), the summary, the
    source to read the rows from (`source` when the caller opened it already), and its local
    files as the audit found them (`Unchanged`: check them around the write); `progress` (if any)
    follows the audit, then the writing."""
    if progress is not None:
        options["progress"] = progress
    if source is None and not isinstance(data, Iterator):  # a generator is refused by `representatives`, unread
        source = open_source(data)
    before = Unchanged.of(source)  # before the audit reads the files
    kept, summary, _ = representatives(data, source=source, **options)
    set_phase(progress, f"writing {target}")
    unchanged = Unchanged(before.files, summary.rows, before.description)
    return kept.cast(pl.Int64).to_numpy(), summary, source if source is not None else open_source(data), unchanged


def check_lines_output(source: Source, what: str) -> None:
    """A `.txt` output is written from text-file inputs only: their rows are lines, so a row a
    line gives the rows back. Another input may hold other columns, nulls or line breaks in
    its text, which a text file cannot."""
    paths = source.paths
    if not paths or any(file_format(p)[0] != "text" for p in paths):
        raise InputError(
            f"{what}: a .txt output is for text-file inputs (a row a line); write this input as .parquet, .jsonl, .csv, .tsv or .arrow"
        )


def write_rows(source: Source, keep: np.ndarray, kind: str, path: Path, rows: int | None = None) -> int:
    """The rows numbered in `keep` (sorted), batch by batch, of the `rows` the audit read; returns
    how many rows were read (the caller checks its `Unchanged` before and after). Not a polars
    sink, and no writer calling back into Python: an interrupt inside either panics or wedges the
    writer; here it is a KeyboardInterrupt between batches, and the caller removes the temporary
    file."""
    if kind == "ndjson" and rows is not None and _copy_lines(source, keep, path, rows):
        return rows  # the lines numbered exactly the audited rows
    if kind == "ndjson" and _lines_kept(source):  # lines that did not number the rows: from the columns after all
        source.check_shared_types("dedup")
    read = [0]
    _write_kept(source, _counted(row_batches(source, batch_rows_from_env()), read), keep, kind, path)
    return read[0]


def _counted(batches: Iterator[pl.DataFrame], read: list[int]) -> Iterator[pl.DataFrame]:
    for batch in batches:
        read[0] += batch.height
        yield batch


def _write_kept(source: Source, batches: Iterator[pl.DataFrame], keep: np.ndarray, kind: str, path: Path) -> None:
    if kind == "text":  # text-file inputs (`check_lines_output`): one column of lines, no nulls
        with open(path, "wb") as handle:
            for _, rows in _kept(batches, keep):
                if rows.height:
                    handle.write(("\n".join(rows.to_series().to_list()) + "\n").encode("utf-8"))
        return
    if kind in ("ndjson", "csv", "tsv"):
        # Rows of plain TSV inputs (no quoting: a value holds no tab and no line break) are
        # written back as they were, unquoted, not in a CSV writer's quoting.
        plain = kind == "tsv" and source.plain_tsv()
        quoting: Literal["never", "necessary"] = "never" if plain else "necessary"
        with open(path, "wb") as handle:
            written = False
            for start, rows in _kept(batches, keep):
                if kind == "ndjson":
                    text = rows.write_ndjson()
                else:
                    text = rows.write_csv(include_header=start == 0, separator=SEPARATORS[kind], quote_style=quoting)
                handle.write(text.encode("utf-8"))
                written = True
            if not written and kind != "ndjson":  # a frame of 0 rows: its header still names the columns
                handle.write(pl.DataFrame(schema=source.frame.collect_schema()).write_csv(separator=SEPARATORS[kind]).encode("utf-8"))
        return
    writer: Any = None
    target = source.arrow_schema()
    # Arrow in the IPC format of its input files: `datasets` reads only the stream format.
    ipc = pa.ipc.new_stream if source.ipc_stream() else pa.ipc.new_file
    with arrow_sink(path) as sink:
        try:
            for _, rows in _kept(batches, keep):
                table = rows.to_arrow()
                if target is not None:
                    table, target = _as_input(table, target)
                if kind == "arrow":
                    table = _without_dictionaries(table)
                if writer is None:
                    writer = parquet_writer(sink, table.schema) if kind == "parquet" else ipc(sink, table.schema)
                writer.write_table(table)
            if writer is None:  # no rows at all: still a valid file with the input's columns
                empty = target.empty_table() if target is not None else pl.DataFrame(schema=source.frame.collect_schema()).to_arrow()
                empty = _without_dictionaries(empty) if kind == "arrow" else empty
                writer = parquet_writer(sink, empty.schema) if kind == "parquet" else ipc(sink, empty.schema)
                writer.write_table(empty)
        finally:
            if writer is not None:
                writer.close()


def _lines_kept(source: Source) -> bool:
    """Whether every file of `source` is JSON lines whose lines `_copy_lines` can copy."""
    parts = [p for p in source.parts if not p.is_empty_file]
    return bool(parts) and all(p.lines is not None for p in parts)


def _copy_lines(source: Source, keep: np.ndarray, path: Path, rows: int) -> bool:
    """JSON lines in, JSON lines out: the kept rows' lines copied as they were written, byte for
    byte, in input order (each file's from that file). Written back from polars' columns, a
    record changed: the columns have one type per key, so a list became its JSON text where
    other lines held a string, `1` became `1.0` beside `1.5`, and a key only other lines had
    was added as null. False, with nothing to keep in `path`, where an input file is not JSON
    lines or its lines do not number the `rows` the audit read: the rows are then written from
    their columns."""
    if not _lines_kept(source):
        return False
    parts = [p for p in source.parts if not p.is_empty_file]
    start = 0
    with open(path, "wb") as handle:
        for part in parts:
            assert part.lines is not None
            try:
                for lines in part.lines():
                    end = start + len(lines)
                    lo, hi = np.searchsorted(keep, [start, end])
                    if hi > lo:
                        handle.write(b"".join(lines[i] for i in keep[lo:hi] - start))
                    start = end
            except OSError as e:  # the file went away or its compressed stream broke since the audit
                raise read_error(part.name, e) from None
    return start == rows


def _as_input(table: pa.Table, target: Any) -> tuple[pa.Table, Any]:
    """Rows read through polars, in the input's own Arrow schema: its types (string, not polars'
    large_string; int32 dictionary indices …) and its metadata (a `datasets` ClassLabel's names,
    pandas' index). Where a column cannot be cast back, polars' types are kept, for this batch
    and the rest (the target becomes None), so every batch has one schema: the column is still
    written, as polars holds it (an extension type that cannot be restored: its storage, or
    polars' own copy of the extension)."""
    try:
        if table.schema.names != target.names:
            return table, None
        columns = [_cast_column(table.column(i), field.type) for i, field in enumerate(target)]
        return pa.Table.from_arrays(columns, schema=target), target
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError, ValueError, TypeError):
        return table, None


def _cast_column(column: pa.ChunkedArray, target: pa.DataType) -> pa.ChunkedArray:
    """`column` cast to `target`. An extension column comes back from polars as the extension
    over polars' storage (`arrow.json` over large_string where the input had string), and Arrow
    casts no extension type to another: its storage is cast to the input's, and the input's
    extension put back on it."""
    if isinstance(column.type, pa.BaseExtensionType) and isinstance(target, pa.BaseExtensionType) and column.type != target:
        storage = pa.chunked_array([chunk.storage for chunk in column.chunks], column.type.storage_type).cast(target.storage_type)
        return pa.chunked_array([pa.ExtensionArray.from_storage(target, chunk) for chunk in storage.chunks], target)
    if pa.types.is_dictionary(target) and not pa.types.is_dictionary(column.type):
        # polars reads a dictionary of numbers as its plain values, and Arrow casts nothing but
        # strings to a dictionary: the values are cast, encoded again, and given the input's indices.
        return column.cast(target.value_type).dictionary_encode().cast(target)
    return column.cast(target)


def _without_dictionaries(table: pa.Table) -> pa.Table:
    """`table` with its dictionary-encoded columns decoded: an Arrow IPC file holds one
    dictionary per column for all its batches, and each batch read brings its own (pyarrow
    refuses the file: "Dictionary replacement detected"). Parquet keeps them encoded."""
    schema = table.schema
    if not any(pa.types.is_dictionary(f.type) for f in schema):
        return table
    plain = [f.with_type(f.type.value_type) if pa.types.is_dictionary(f.type) else f for f in schema]
    return table.cast(pa.schema(plain, metadata=schema.metadata))


def _kept(batches: Iterator[pl.DataFrame], keep: np.ndarray) -> Iterator[tuple[int, pl.DataFrame]]:
    """(first row number of the batch, its kept rows) for every batch, in input order."""
    start = 0
    for batch in batches:
        end = start + batch.height
        lo, hi = np.searchsorted(keep, [start, end])
        yield start, batch[keep[lo:hi] - start] if hi > lo else batch.clear()
        start = end
