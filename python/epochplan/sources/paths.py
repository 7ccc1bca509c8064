"""Which files an input names: files, folders (their data files, sorted) and glob patterns, in the
order given; and `--eval` specs (PATH or NAME=PATH)."""

from __future__ import annotations

import glob as globlib
import os
import re
from collections.abc import Sequence
from pathlib import Path

from ..errors import InputError

#: File suffix -> polars reader kind. The one list of input (and dedup output) formats.
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "ndjson", ".ndjson": "ndjson", ".csv": "csv"}


_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")


def _has_magic(path: Path) -> bool:
    return any(ch in str(path) for ch in "*?[")


def is_remote(spec: str | os.PathLike[str]) -> bool:
    """A URL (s3://, gs://, http(s)://, hf://...) rather than a local path. Checked on the text as
    given: `Path` would fold its `//` into `/` and name a local file that does not exist."""
    return bool(_URL.match(os.fspath(spec))) if isinstance(spec, (str, os.PathLike)) else False


def _local(item: object) -> Path:
    if not isinstance(item, (str, os.PathLike)):
        raise InputError(f"cannot read {item!r} ({type(item).__name__}) as an input: give a path, a folder or a glob pattern")
    if is_remote(item):
        raise InputError(f"{os.fspath(item)}: remote paths are not supported yet; download the file and give its local path")
    return Path(item)


def resolve_paths(spec: str | os.PathLike[str] | Sequence[str | os.PathLike[str]]) -> list[Path]:
    """Expand files, folders (their data files, sorted) and glob patterns, in the order given."""
    specs = [spec] if isinstance(spec, (str, os.PathLike)) else list(spec)
    if not specs:
        raise InputError("no input given: pass a file, a folder or a glob pattern")
    paths: list[Path] = []
    for item in specs:
        p = _local(item)
        # An existing path is a path, even with glob characters in its name (`data[1].parquet`);
        # only a path that does not exist is read as a pattern.
        if not p.exists() and _has_magic(p):
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


def format_of(paths: list[Path]) -> str:
    """The one reader kind of `paths`; mixed or unknown types are input errors."""
    kinds = set()
    for p in paths:
        kind = FORMATS.get(p.suffix.lower())
        if kind is None:
            raise InputError(f"{p}: unsupported file type {p.suffix or '(none)'}; use .parquet, .jsonl, .ndjson or .csv")
        kinds.add(kind)
    if len(kinds) > 1:
        raise InputError(f"inputs mix file types ({', '.join(sorted(kinds))}); audit one type at a time")
    return kinds.pop()


def parse_eval(specs: list[str] | None) -> dict[str, str]:
    """`--eval PATH` or `--eval NAME=PATH` → {name: path}; names default to the file stem."""
    splits: dict[str, str] = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or "/" in name or Path(spec).exists():
            name, path = Path(spec).stem, spec
        if not path:
            raise InputError(f"--eval {spec!r}: give PATH or NAME=PATH")
        if name in splits:
            raise InputError(f"--eval: split name {name!r} used twice; name them with NAME=PATH")
        splits[name] = path
    return splits
