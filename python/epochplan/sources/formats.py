"""Turn any supported input (files, folders, globs, polars and pyarrow objects) into a `Source`:
a lazy polars query plus where it came from, without reading its rows."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import InputError
from .paths import format_of, resolve_paths

SourceLike = str | os.PathLike[str] | Sequence[str | os.PathLike[str]] | pl.DataFrame | pl.LazyFrame | Any


@dataclass
class Source:
    """A resolved input: a lazy frame plus where it came from (for reports and errors)."""

    frame: pl.LazyFrame
    paths: list[Path] = field(default_factory=list)
    description: str = ""
    #: Each file's own schema: files are concatenated with relaxed types, which would quietly
    #: turn an int64 shard of the text column into text.
    file_schemas: dict[Path, pl.Schema] = field(default_factory=dict)

    def schema(self) -> pl.Schema:
        try:
            return self.frame.collect_schema()
        except Exception as e:  # polars raises many types for unreadable input
            raise InputError(f"{self.description}: cannot read input ({first_line(e)})") from None


def first_line(error: BaseException) -> str:
    """The first line of a reader's error: polars and pyarrow messages can run to many lines."""
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


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
            raise InputError(f"cannot read {type(data).__name__} as a table ({first_line(e)})") from None
        return Source(frame.lazy(), description=type(data).__name__)
    if not isinstance(data, (str, os.PathLike, list, tuple)):
        raise InputError(f"cannot audit a {type(data).__name__}: pass a path, a polars DataFrame/LazyFrame or a pyarrow Table")
    paths = resolve_paths(data)
    kind = format_of(paths)
    frames = []
    schemas = {}
    for p in paths:
        frame = _scan_one(p, kind)
        schemas[p] = Source(frame, [p], str(p)).schema()  # read each file's schema: a bad file is named
        frames.append(frame)
    frame = frames[0] if len(frames) == 1 else pl.concat(frames, how="vertical_relaxed")
    desc = str(paths[0]) if len(paths) == 1 else f"{len(paths)} files ({paths[0]} …)"
    return Source(frame, paths, desc, schemas)
