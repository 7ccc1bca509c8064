"""`dedup -o DIR/`: one output shard per input shard, same file names, written atomically.

The shards are written into a temporary folder beside the target and moved in at the end: a new
target folder is that folder renamed; into an existing folder each shard is renamed in (none of
its names may exist there already), so nothing the user had is overwritten and an interrupted
run leaves no shard behind."""

from __future__ import annotations

import os
import secrets
from pathlib import Path, PurePosixPath
from typing import Any

import polars as pl

from .. import interrupts
from ..errors import InputError, refuse_symlink_loop
from ..outputs import missing_folder, remove_temporary, storage_errors, uninterrupted
from ..sources import OUTPUT_FORMATS, Source, SourceLike, open_source
from ..sources.downloads import holds_downloads
from ..sources.parts import Part
from ..sources.remote import file_name
from .deduplicate import DedupSummary, check_lines_output, rows_to_write, write_rows


def is_folder_output(out: str | os.PathLike[str]) -> bool:
    """A path ending in a separator, or an existing folder."""
    text = os.fspath(out)
    return text.endswith(("/", os.sep)) or Path(text).is_dir()


def _shard_names(data: SourceLike, option: str) -> list[tuple[str, str]]:
    """(file name, output kind) of every input file, in order; refused when two share a name or
    a name's format cannot be written (compressed or JSON-array inputs)."""
    source = open_source(data)
    if not source.paths or len(source.paths) != len(source.parts):
        raise InputError(f"{option}: a folder output writes one shard per input file; {source.description} is not files")
    names = [file_name(p) for p in source.paths]
    seen: set[str] = set()
    out = []
    for name in names:
        if name in seen:
            raise InputError(f"{option}: two input files are named {name}; a folder output keeps file names, so write to a file instead")
        seen.add(name)
        kind = OUTPUT_FORMATS.get(PurePosixPath(name).suffix.lower())
        if kind is None:
            raise InputError(
                f"{option}: cannot write shard {name} in its own format; folder outputs keep .parquet, .jsonl, .ndjson, .csv, "
                ".tsv, .arrow or .txt shards: write to one file instead (-o out.parquet)"
            )
        if kind == "text":
            check_lines_output(source, f"{option}: shard {name}")
        out.append((name, kind))
    return out


def check_folder_output(data: SourceLike, out: str | os.PathLike[str], option: str = "-o") -> list[tuple[str, str]]:
    """Fail before the audit if the shards cannot be written or would replace a file; else the
    (file name, output kind) of each shard, in input order."""
    refuse_symlink_loop(option, out)
    target = Path(out)
    names = _shard_names(data, option)
    parent = target.parent
    if target.exists():
        if not target.is_dir():
            raise InputError(f"{option} {out}: is a file; a folder output needs a folder")
        taken = [name for name, _ in names if (target / name).exists()]
        if taken:
            raise InputError(f"{option} {out}: already holds {taken[0]}; write to a new or empty folder")
        parent = target
    if not parent.is_dir():
        raise InputError(f"{option} {out}: {missing_folder(parent)}")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{option} {out}: folder {parent} is not writable; choose another path")
    return names


@holds_downloads
def dedup_to_folder(data: SourceLike, out: str | os.PathLike[str], *, progress: Any = None, **options: Any) -> DedupSummary:
    """Dedup `data` (as `dedup`) and write each input file's kept rows to `out/<its name>`, batch
    by batch as `dedup_to_file` writes one file. `progress` as in `dedup_to_file`."""
    names = check_folder_output(data, out)
    target = Path(out)
    keep, summary, source, unchanged = rows_to_write(data, target, progress, options)
    # Named before it is made, and made inside the try: an interrupt just after it exists removes it too.
    temp = target.parent / f".{target.name}.{secrets.token_hex(4)}.tmp"
    interrupts.temporary(temp)  # removed too if a signal ends a command stuck in native code
    with storage_errors(target):  # a full disk or a quota: exit 2 naming the folder
        try:
            temp.mkdir(mode=0o700)  # private until published, as mkdtemp makes it
            start = read = 0
            for part, location, (name, kind) in zip(source.parts, source.paths, names, strict=True):
                if part.is_empty_file and kind in _HEADED:
                    part = _empty_shard(source, part.name)
                shard = Source([part], [location], part.name)
                # Before it is read again (counted, then written): a file deleted or rewritten since
                # the audit is refused, not an internal error. Once, after all, the rows read.
                unchanged.only(location).check()
                rows = part.rows if part.rows is not None else part.scan().select(pl.len()).collect().item()
                lo, hi = keep.searchsorted([start, start + rows])
                read += write_rows(shard, keep[lo:hi] - start, kind, temp / name, rows)
                start += rows
            unchanged.check(rows_read=read)  # an input rewritten since the audit: no shard moved in
            _publish(temp, target, [name for name, _ in names])
        except BaseException:
            # Forgets it once removed. A second signal can stop it before (its handler runs as
            # it is called): the folder then stays registered, and the command line removes it.
            remove_temporary(temp)
            raise
        interrupts.forget(temp)  # published: nothing is left at its name
    return summary


#: Output kinds whose file names its columns even with no rows (a 0-byte file would not do).
_HEADED = ("parquet", "arrow", "csv", "tsv")


def _empty_shard(source: Source, name: str) -> Part:
    """An empty input shard (a 0-byte file among others: no rows, no columns) as written: no
    rows, with the columns and types the other shards' outputs hold (their own Arrow schema
    where they share one, else their join), so that its Parquet, Arrow or CSV output is read
    together with theirs (`pl.read_parquet('DIR/*.parquet')`), not a file of no columns."""
    schema = source.frame.collect_schema()
    return Part(
        name,
        schema,
        lambda columns, batch_rows: iter(()),
        lambda: pl.LazyFrame(schema=schema),
        0,
        plain_tsv=source.plain_tsv(),
        arrow_schema=source.arrow_schema(),
        ipc_stream=source.ipc_stream(),
    )


def _publish(temp: Path, target: Path, names: list[str]) -> None:
    mask = os.umask(0)
    os.umask(mask)
    os.chmod(temp, 0o777 & ~mask)  # made 0700 while it was being written
    if not target.exists():
        os.rename(temp, target)
        return
    for name in names:  # checked before the audit; checked again: another process may have written
        if (target / name).exists():
            raise InputError(f"-o {target}: {name} appeared there during the run; nothing was overwritten")
    with uninterrupted():  # a Ctrl-C between two renames would leave some shards in, and a rerun refused
        for name in names:
            os.rename(temp / name, target / name)
    temp.rmdir()
