"""Where data comes from: files, folders, globs, polars and pyarrow objects, turned into a lazy
polars query that yields the text (and label) columns as a stream of Arrow batches."""

from __future__ import annotations

import glob as globlib
import os
import queue
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from .errors import InputError

FORMATS = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "ndjson", ".ndjson": "ndjson", ".csv": "csv"}
T = TypeVar("T")
TEXT_COLUMN_CANDIDATES = ("text", "content", "prompt", "instruction")
TEXT = "__epochplan_text"
LABEL = "__epochplan_label"
DEFAULT_BATCH_ROWS = 50_000

SourceLike = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | pl.DataFrame | pl.LazyFrame | Any


@dataclass
class Source:
    """A resolved input: a lazy frame plus where it came from (for reports and errors)."""

    frame: pl.LazyFrame
    paths: list[Path] = field(default_factory=list)
    description: str = ""

    def schema(self) -> pl.Schema:
        try:
            return self.frame.collect_schema()
        except Exception as e:  # polars raises many types for unreadable input
            raise InputError(f"{self.description}: cannot read input ({_first_line(e)})") from None


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _has_magic(path: Path) -> bool:
    return any(ch in str(path) for ch in "*?[")


def resolve_paths(spec: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Expand files, folders (their data files, sorted) and glob patterns, in the order given."""
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    if not specs:
        raise InputError("no input given: pass a file, a folder or a glob pattern")
    paths: list[Path] = []
    for item in specs:
        p = Path(item)
        if _has_magic(p):
            matches = sorted(Path(m) for m in globlib.glob(str(p), recursive=True) if Path(m).is_file())
            if not matches:
                raise InputError(f"{p}: the pattern matches no file; check the pattern and quote it")
            paths.extend(matches)
        elif p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in FORMATS)
            if not found:
                raise InputError(f"{p}: folder has no .parquet, .jsonl, .ndjson or .csv file")
            paths.extend(found)
        elif p.exists():
            paths.append(p)
        else:
            raise InputError(f"{p}: no such file or folder")
    return paths


def _format_of(paths: list[Path]) -> str:
    kinds = set()
    for p in paths:
        kind = FORMATS.get(p.suffix.lower())
        if kind is None:
            raise InputError(f"{p}: unsupported file type {p.suffix or '(none)'}; use .parquet, .jsonl, .ndjson or .csv")
        kinds.add(kind)
    if len(kinds) > 1:
        raise InputError(f"inputs mix file types ({', '.join(sorted(kinds))}); audit one type at a time")
    return kinds.pop()


def _scan_one(path: Path, kind: str) -> pl.LazyFrame:
    if kind == "parquet":
        with open(path, "rb") as f:
            if f.read(4) != b"PAR1":
                raise InputError(f"{path}: not a Parquet file (no PAR1 header); is it corrupt or another format?")
        return pl.scan_parquet(path)
    if kind == "ndjson":
        return pl.scan_ndjson(path, infer_schema_length=1000)
    return pl.scan_csv(path, infer_schema_length=1000)


def open_source(data: SourceLike) -> Source:
    """Turn any supported input into a `Source` without reading its rows."""
    if isinstance(data, pl.LazyFrame):
        return Source(data, description="polars LazyFrame")
    if isinstance(data, pl.DataFrame):
        return Source(data.lazy(), description="polars DataFrame")
    if hasattr(data, "__arrow_c_stream__") and not isinstance(data, (str, os.PathLike)):
        try:
            frame = pl.DataFrame(data)
        except Exception as e:
            raise InputError(f"cannot read {type(data).__name__} as a table ({_first_line(e)})") from None
        return Source(frame.lazy(), description=type(data).__name__)
    if not isinstance(data, (str, os.PathLike, list, tuple)):
        raise InputError(f"cannot audit a {type(data).__name__}: pass a path, a polars DataFrame/LazyFrame or a pyarrow Table")
    paths = resolve_paths(data)
    kind = _format_of(paths)
    frames = []
    for p in paths:
        frame = _scan_one(p, kind)
        Source(frame, [p], str(p)).schema()  # read each file's schema: a bad file is named
        frames.append(frame)
    frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")
    desc = str(paths[0]) if len(paths) == 1 else f"{len(paths)} files ({paths[0]} …)"
    return Source(frame, paths, desc)


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, (pl.Categorical, pl.Enum))


def choose_text_columns(schema: pl.Schema, text: str | Sequence[str] | None, where: str) -> list[str]:
    """The columns to audit: as given, else the first of text/content/prompt/instruction,
    else the only string column."""
    if text is not None:
        columns = [text] if isinstance(text, str) else list(text)
        if not columns:
            raise InputError("text columns: empty list; name at least one column")
        for c in columns:
            if c not in schema:
                raise InputError(f"{where}: no column {c!r}; columns are: {', '.join(schema.names())}")
            if not _is_text(schema[c]):
                raise InputError(f"{where}: column {c!r} is {schema[c]}, not text; choose a string column with --text")
        return columns
    for candidate in TEXT_COLUMN_CANDIDATES:
        if candidate in schema and _is_text(schema[candidate]):
            return [candidate]
    strings = [name for name, dtype in schema.items() if _is_text(dtype)]
    if len(strings) == 1:
        return strings
    if not strings:
        raise InputError(f"{where}: no string column to audit; columns are: {', '.join(schema.names())}")
    raise InputError(f"{where}: several string columns ({', '.join(strings)}); choose one or more with --text")


def check_label_column(schema: pl.Schema, label: str | None, where: str) -> None:
    if label is not None and label not in schema:
        raise InputError(f"{where}: no label column {label!r}; columns are: {', '.join(schema.names())}")


def text_expression(columns: list[str]) -> pl.Expr:
    """One text per row: a column as it is, or several joined by a newline in the given order.
    A row is null only when all its text columns are null."""
    if len(columns) == 1:
        return pl.col(columns[0]).cast(pl.String).alias(TEXT)
    parts = [pl.col(c).cast(pl.String) for c in columns]
    joined = pl.concat_str(parts, separator="\n", ignore_nulls=True)
    all_null = pl.all_horizontal([p.is_null() for p in parts])
    return pl.when(all_null).then(None).otherwise(joined).alias(TEXT)


def batches(source: Source, columns: list[str], label: str | None, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """Stream the selected columns as DataFrames of at most `batch_rows` rows, in input order."""
    exprs = [text_expression(columns)]
    if label is not None:
        exprs.append(pl.col(label).cast(pl.String).alias(LABEL))
    try:
        if _all_parquet(source):
            needed = list(dict.fromkeys(columns + ([label] if label is not None else [])))
            frames = _parquet_batches(source.paths, needed, batch_rows)
            yield from (frame.select(exprs) for frame in prefetch(frames))
        else:
            yield from source.frame.select(exprs).collect_batches(chunk_size=batch_rows, maintain_order=True)
    except Exception as e:  # polars and pyarrow raise many types for unreadable input
        raise InputError(f"{source.description}: cannot read rows ({_first_line(e)})") from None


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Produce the next `depth` items in a background thread while the caller works on the
    current one: decoding (pyarrow) and auditing (Rust) both release the GIL, so they overlap.
    At most depth + 2 items exist at once, so memory stays bounded."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        slots.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(done)
        except BaseException as e:  # handed to the consumer, raised there
            slots.put(_Failed(e))

    worker = threading.Thread(target=produce, name="epochplan-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        stop.set()  # the consumer stopped early (error, Ctrl-C): let the producer end


def _all_parquet(source: Source) -> bool:
    return bool(source.paths) and all(FORMATS.get(p.suffix.lower()) == "parquet" for p in source.paths)


def _parquet_batches(paths: list[Path], columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
    """Parquet through pyarrow, one row group at a time. Not polars' streaming scan: it decodes
    ahead of a slow consumer without bound, so peak memory grows with the number of rows
    (pola-rs/polars#28569, open in polars 2.1; measured here: 2.8 GB at 5 M rows of 1.6 KB)."""
    import pyarrow.parquet as pq

    for path in paths:
        with pq.ParquetFile(path) as reader:
            for batch in reader.iter_batches(batch_size=batch_rows, columns=columns):
                frame = pl.from_arrow(batch)
                assert isinstance(frame, pl.DataFrame)
                yield frame


def preview_rows(source: Source, columns: list[str], rows: list[int]) -> dict[int, str | None]:
    """The text of a few rows by number. Each is its own slice so Parquet reads one row group."""
    found: dict[int, str | None] = {}
    for row in rows:
        try:
            frame = source.frame.select(text_expression(columns)).slice(row, 1).collect()
        except Exception as e:  # polars raises many types for unreadable input
            raise InputError(f"{source.description}: cannot read row {row} ({_first_line(e)})") from None
        found[row] = frame[TEXT][0] if frame.height else None
    return found


def count_rows(source: Source) -> int | None:
    """Row count when it is cheap (Parquet metadata), else None."""
    if _all_parquet(source):
        try:
            return int(source.frame.select(pl.len()).collect().item())
        except Exception:
            return None
    return None
