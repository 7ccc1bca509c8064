"""Output files: written atomically (temporary file in the same folder, then rename), so an
interrupted run never leaves a half-written file, and never written over one of the inputs."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

from .errors import InputError


def check_output_path(path: str | os.PathLike[str], *, option: str, inputs: Iterable[Path | str] = ()) -> Path:
    """Fail early (before long work) if `path` cannot be written or would replace an input."""
    out = Path(path)
    parent = out.parent if str(out.parent) else Path(".")
    if out.is_dir():
        raise InputError(f"{option} {out}: is a directory; give a file name")
    if not parent.is_dir():
        raise InputError(f"{option} {out}: folder {parent} does not exist; create it first")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{option} {out}: folder {parent} is not writable; choose another path")
    if out.exists() and not os.access(out, os.W_OK):
        raise InputError(f"{option} {out}: file is not writable; choose another path")
    resolved = out.resolve()
    for source in inputs:
        if isinstance(source, str) and "://" in source:  # a URL is never a local output path
            continue
        if Path(source).resolve() == resolved:
            raise InputError(f"{option} {out}: is one of the input files; write to a new path")
    return out


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None]) -> None:
    """Call `write(tmp_path)` and move the result onto `path` in one rename."""
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent or ".")
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the file normal permissions
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def check_distinct_outputs(outputs: Iterable[tuple[str, str | os.PathLike[str] | None]]) -> None:
    """Fail early when two options would write the same file ('-' = stdout is not a file)."""
    seen: dict[Path, str] = {}
    for option, path in outputs:
        if path is None or str(path) == "-":
            continue
        resolved = Path(path).resolve()
        if resolved in seen:
            raise InputError(f"{seen[resolved]} and {option} both write {path}; give two paths")
        seen[resolved] = option
