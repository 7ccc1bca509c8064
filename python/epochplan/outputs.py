"""Output files, in one place: every output path of a command is checked against the inputs and
against the other outputs before the long work starts, then written so that nothing the user had
is lost and an interrupted run leaves no half-written or temporary file.

- A regular file (or a new path) is written to a temporary file in the same folder, then renamed.
- A symlink keeps being a link: its target is written that way.
- A character device or a FIFO (`/dev/null`, `/dev/stdout`, a pipe) is written through: replacing
  it with a regular file would destroy it (it once replaced `/dev/null` for the whole machine).
- A command's several outputs (`audit --json --clusters --html …`) land together
  (`staged_outputs`): each is written to its temporary file and all are renamed once every one
  is written, so a failure or interrupt leaves every path as it was.
- An OS error while writing (full disk, quota, read-only file system, permission) is a
  `StorageError` naming the path, with the OS's words: the user's environment, not our bug.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import io
import os
import re
import secrets
import stat
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from . import interrupts
from .errors import InputError, StorageError, refuse_symlink_loop

#: The value of an output option that means standard output, not a file.
STDOUT = "-"
#: Rows of a frame converted to Arrow at a time by `write_parquet`.
WRITE_SLICE_ROWS = 1 << 20

_HINTS = {
    errno.ENOSPC: "free some space or write elsewhere",
    errno.EDQUOT: "free some of your quota or write elsewhere",
    errno.EROFS: "the file system is read-only; write elsewhere",
    errno.EACCES: "check the permissions or write elsewhere",
    errno.EPERM: "check the permissions or write elsewhere",
}


def _real(path: Path) -> Path:
    """Where writing to `path` lands: a symlink's (final) target, else the path itself."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _is_stream(path: Path) -> bool:
    """An existing character device or FIFO: written through, never replaced."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISCHR(mode) or stat.S_ISFIFO(mode)


def missing_folder(parent: Path) -> str:
    """Why an output's folder `parent` is none: a file stands where it or a folder above it would be, or it does not exist."""
    above = next((p for p in (parent, *parent.parents) if p.exists()), None)
    if above is not None and not above.is_dir():
        return f"{above} is a file, not a folder; choose another path"
    return f"folder {parent} does not exist; create it first"


def check_output_path(path: str | os.PathLike[str], *, option: str, inputs: Iterable[Path | str] = ()) -> Path:
    """Fail early (before long work) if `path` cannot be written or would replace an input."""
    out = Path(path)
    refuse_symlink_loop(option, out)
    real = _real(out)
    if real.is_dir():
        raise InputError(f"{option} {out}: is a directory; give a file name")
    if _is_stream(real):
        if not os.access(real, os.W_OK):
            raise InputError(f"{option} {out}: is not writable; choose another path")
        return out
    if real.exists() and not real.is_file():
        raise InputError(f"{option} {out}: is not a regular file, a device or a FIFO; choose another path")
    parent = real.parent if str(real.parent) else Path(".")
    if not parent.is_dir():
        raise InputError(f"{option} {out}: {missing_folder(parent)}")
    if not os.access(parent, os.W_OK):
        raise InputError(f"{option} {out}: folder {parent} is not writable; choose another path")
    if real.exists() and not os.access(real, os.W_OK):
        raise InputError(f"{option} {out}: file is not writable; choose another path")
    for source in inputs:
        if isinstance(source, str) and "://" in source:  # a URL is never a local output path
            continue
        if _same_file(Path(source), real):
            raise InputError(f"{option} {out}: is one of the input files ({source}); write to a new path")
    return out


def _same_file(a: Path, b: Path) -> bool:
    """The same file: one path (symlinks followed) or one inode (hard links). `realpath`, not
    `Path.resolve`, which raises RuntimeError on a symlink loop (Python 3.11)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]+):/")


def refuse_remote_output(option: str, path: str | os.PathLike[str]) -> None:
    """Outputs are local files: a URL would otherwise be taken for a local path (`s3:/bucket`)
    and refused with a misleading 'folder does not exist'."""
    text = str(path)
    url = _URL.match(text)  # `s3://b/x` or, once made a Path by the option's type, `s3:/b/x`
    if url:
        scheme = url.group(1)
        raise InputError(
            f"{option} {text}: outputs are written to local files only, not to {scheme}:// URLs; write a local file and copy it there"
        )


def check_outputs(outputs: Mapping[str, str | os.PathLike[str] | None], inputs: Iterable[Path | str] = ()) -> None:
    """Check every output of a command (option -> path; None and '-' are not files): each is
    a local path, writable and not an input, and no two write the same file (the second would
    silently replace the first). Devices such as /dev/null may take several outputs."""
    for option, path in outputs.items():
        if path is not None:
            refuse_remote_output(option, path)
    sources = [p if isinstance(p, str) and "://" in p else Path(p) for p in inputs]
    given = [(option, Path(path)) for option, path in outputs.items() if path is not None and str(path) != STDOUT]
    for option, path in given:
        check_output_path(path, option=option, inputs=sources)
    for i, (option, path) in enumerate(given):
        for other, other_path in given[:i]:
            if _same_file(other_path, _real(path)) and not stat.S_ISCHR(_mode(path)):
                raise InputError(f"{other} and {option} both write {path}; give each output its own path")


def stdout_option(outputs: Mapping[str, str | os.PathLike[str] | None], text: Iterable[str]) -> str | None:
    """The option whose path is '-' (standard output), or None. '-' for an option outside `text`
    (a binary output: Parquet), or for two options at once, is an InputError: a file named '-'
    was written instead."""
    to_stdout = [option for option, path in outputs.items() if path is not None and str(path) == STDOUT]
    binary = [option for option in to_stdout if option not in text]
    if binary:
        raise InputError(f"{binary[0]} -: this output is not written to standard output; give a file path")
    if len(to_stdout) > 1:
        raise InputError(f"{' and '.join(to_stdout)} all write to standard output ('-'); send one there and the others to files")
    return to_stdout[0] if to_stdout else None


def _mode(path: Path) -> int:
    try:
        return os.stat(path).st_mode
    except OSError:
        return 0


class Staged:
    """Outputs of one command that land together (`staged_outputs`): each is written to its
    temporary file, and all are renamed into place once every one is written."""

    def __init__(self) -> None:
        self.pending: list[tuple[Path, Path, Path]] = []  # (temporary file, target, path as given)

    def _commit(self) -> None:
        with uninterrupted():  # a Ctrl-C between two renames: some outputs new, some old
            while self.pending:
                tmp, target, given = self.pending[0]
                with storage_errors(given):
                    os.replace(tmp, target)
                interrupts.forget(tmp)
                self.pending.pop(0)

    def _discard(self) -> None:
        with uninterrupted():  # a second signal must not leave the rest of the files behind
            for tmp, _, _ in self.pending:
                tmp.unlink(missing_ok=True)
                interrupts.forget(tmp)
            self.pending.clear()


@contextlib.contextmanager
def uninterrupted() -> Iterator[None]:
    """Run the block (a few renames that publish outputs together) to its end: SIGINT, SIGTERM,
    SIGHUP and SIGQUIT that arrive meanwhile are held and delivered once it is done, so an interrupted command
    leaves all of its outputs published or none, never some new and some old.

    Held by swapping the Python handlers, not by blocking the signals (`pthread_sigmask`): a mask
    holds only the calling thread's signals, and a Ctrl-C delivered to any other thread (polars',
    the Rust extension's) still runs the handler in the main thread. Signals are only handled in
    the main thread; elsewhere the block runs as it is. An ignored signal stays ignored. Nor does
    `interrupts` end a command stuck in native code inside the block (`interrupts.held`)."""
    with interrupts.held(), interrupts.signals_held():
        yield


def remove_temporary(path: Path) -> None:
    """Remove a temporary file or folder after an error or interrupt, to the end: a second
    signal arriving meanwhile (a second Ctrl-C, a SIGTERM or SIGHUP) is held until it is gone, then raised."""
    with uninterrupted():
        interrupts.remove_path(path)
        interrupts.forget(path)


@contextlib.contextmanager
def staged_outputs() -> Iterator[Staged]:
    """Write a command's outputs as a set: pass the `Staged` to each write; none replaces its path
    before all are written, so an error or interrupt in one (a full disk, Ctrl-C) leaves every
    path as it was. A device or FIFO is written through at once, as always."""
    stage = Staged()
    try:
        yield stage
        stage._commit()
    finally:
        stage._discard()


def _keep_mode(tmp: Path, target: Path) -> None:
    """A file being replaced keeps its permissions (a report kept private with chmod 600 stays
    so); a new one gets 0o666 minus the umask, like any new file."""
    mode = _mode(target)
    if stat.S_ISREG(mode):
        os.chmod(tmp, stat.S_IMODE(mode))


def _land(tmp: Path, target: Path, given: Path, stage: Staged | None) -> None:
    if stage is None:
        os.replace(tmp, target)
        interrupts.forget(tmp)
    else:
        stage.pending.append((tmp, target, given))


@contextlib.contextmanager
def open_output(path: str | os.PathLike[str], stage: Staged | None = None) -> Iterator[BinaryIO]:
    """A binary file to write `path`'s new content to. On success it replaces `path` in one rename
    (or was written through to a device/FIFO), at once or with the rest of `stage`; on any error
    or interrupt no temporary file is left and `path` is unchanged. OS errors become `StorageError`."""
    target = _real(Path(path))
    with storage_errors(Path(path)):
        if _is_stream(target):
            with open(target, "wb") as stream:
                yield stream
            return
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        interrupts.temporary(tmp)  # before it exists: removed if a signal ends a command stuck meanwhile
        try:
            # O_EXCL: never open someone else's file; mode 0o666 minus the umask, like any new file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            with open(fd, "wb") as handle:
                yield handle
            _keep_mode(tmp, target)
            _land(tmp, target, Path(path), stage)
        except BaseException:
            remove_temporary(tmp)
            raise


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], None], stage: Staged | None = None) -> None:
    """Call `write(file_path)` and make the result `path`'s content in one rename (a device or
    FIFO is handed to `write` directly), at once or with the rest of `stage`. For writers that
    want a path, such as polars'."""
    target = _real(Path(path))
    with storage_errors(Path(path)):
        if _is_stream(target):
            write(target)
            return
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        interrupts.temporary(tmp)  # before it exists: removed if a signal ends a command stuck meanwhile
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
            write(tmp)
            _keep_mode(tmp, target)
            _land(tmp, target, Path(path), stage)
        except BaseException:
            remove_temporary(tmp)
            raise


def atomic_write_text(path: str | os.PathLike[str], text: str, stage: Staged | None = None) -> None:
    """`text` as UTF-8. A path that is not UTF-8 in it (a --tokenizer file named with other
    bytes, which Python holds as lone surrogates) is written as a backslash-u escape: in JSON that
    is the escape of the same string, so the file still reads back."""
    with open_output(path, stage) as out:
        out.write(text.encode("utf-8", "backslashreplace"))


def write_parquet(path: str | os.PathLike[str], frame: Any, stage: Staged | None = None) -> None:
    """A polars DataFrame (or anything with `to_arrow()`) as a Parquet file at `path`, through
    pyarrow: its write errors are plain OSErrors (polars hides the errno in a ComputeError). A
    polars frame goes over in slices of `WRITE_SLICE_ROWS`: whole, its Arrow copy doubled the
    memory of a large one (tens of millions of leakage matches)."""
    sliced = hasattr(frame, "slice") and getattr(frame, "height", 0) > WRITE_SLICE_ROWS
    first = frame.slice(0, WRITE_SLICE_ROWS).to_arrow() if sliced else frame.to_arrow()

    def write(file: Path) -> None:
        with arrow_sink(file) as sink:
            writer = parquet_writer(sink, first.schema)
            try:
                writer.write_table(first)
                for start in range(WRITE_SLICE_ROWS, frame.height if sliced else 0, WRITE_SLICE_ROWS):
                    writer.write_table(frame.slice(start, WRITE_SLICE_ROWS).to_arrow().cast(first.schema))
            finally:
                writer.close()

    atomic_write(path, write, stage)


def parquet_writer(sink: Any, schema: Any, **options: Any) -> Any:
    """A `pq.ParquetWriter` on `sink` (`options`: its own, such as `compression`) that stays
    quiet when it is collected after an interrupt.
    A KeyboardInterrupt can land after the writer opened and before the caller holds it, or
    inside its `close`: its `__del__` then closes it again on the closed sink and prints a
    traceback on the way out. The temporary file is removed anyway; that close has nothing to say."""
    return _quiet_parquet_writer()(sink, schema, **options)


@functools.cache
def _quiet_parquet_writer() -> type:
    import pyarrow.parquet as pq

    class QuietParquetWriter(pq.ParquetWriter):
        def __del__(self) -> None:
            with contextlib.suppress(Exception):
                super().__del__()

    return QuietParquetWriter


def arrow_sink(path: Path) -> Any:
    """A pyarrow file at `path` for its writers. Never hand pyarrow the path itself: on a write
    error `pq.write_table` deletes the path it was given, a device such as /dev/full included
    (and the next write then creates a regular file there). Nor a Python file: pyarrow would call
    back into Python, where an interrupt can wedge the writer. Its errors are OSErrors with errno.
    The path goes as bytes: as text pyarrow encodes it to UTF-8, which a name holding other bytes
    (Linux allows any) cannot be."""
    import pyarrow as pa

    if _is_stream(path):
        # A FIFO or terminal cannot tell its position (pyarrow's file asks the OS, which fails
        # with "lseek failed"): written through Python, counting the bytes.
        return pa.PythonFile(_Counted(open(path, "wb", buffering=0)), mode="w")
    return pa.OSFile(os.fsencode(path), "wb")


class _Counted(io.RawIOBase):
    """A stream that knows its position by counting what was written to it."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw, self.position = raw, 0

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        written = self.raw.write(data) or 0
        self.position += written
        return written

    def tell(self) -> int:
        return self.position

    def close(self) -> None:
        self.raw.close()
        super().close()


@contextlib.contextmanager
def storage_errors(path: Path) -> Iterator[None]:
    try:
        yield
    except StorageError:
        raise
    except OSError as exc:
        if exc.errno is None:
            raise
        reason = os.strerror(exc.errno)  # pyarrow's strerror repeats itself; the OS's words are enough
        hint = _HINTS.get(exc.errno, "check the disk and the path")
        error = StorageError(f"{path}: cannot write ({reason}); {hint}")
        error.errno = exc.errno  # errno alone: strerror/filename would make OSError rewrite the text
        raise error from None


#: How standard output is named in an error: it has no path of its own.
STDOUT_NAME = "standard output"


@contextlib.contextmanager
def stdout_errors() -> Iterator[None]:
    """Writes to standard output that fail for the OS (a redirect to a full disk, a quota, EIO)
    are a `StorageError` naming standard output, as a file's would be: exit 2, not an internal
    error. A reader that went away (`| head`) is left a BrokenPipeError: the CLI ends quietly."""
    try:
        yield
    except BrokenPipeError:
        raise
    except OSError as exc:
        if exc.filename is not None:  # a file's error, raised while stdout was being written
            raise
        with storage_errors(Path(STDOUT_NAME)):
            raise


@contextlib.contextmanager
def reader_may_leave() -> Iterator[None]:
    """Output to stdout that a reader may stop reading (`| head`): a closed pipe ends the block
    quietly, so a command whose exit code is a verdict (`check`) still exits with it. Python
    raises BrokenPipeError; rich and click end with SystemExit(1) (`reader_left`). Later writes
    go to /dev/null."""
    devnull_before = is_devnull(sys.stdout)
    try:
        yield
    except BrokenPipeError:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except SystemExit:
        if not reader_left(devnull_before):
            raise


def reader_left(devnull_before: bool) -> bool:
    """Whether a SystemExit just raised is how click or rich end on a closed stdout pipe: click
    wraps stdout in its PacifyFlushWrapper, rich points it at /dev/null (`devnull_before`: it
    was not already). Either way an exit 1 that would read as "the gate failed"."""
    return type(sys.stdout).__name__ == "PacifyFlushWrapper" or (not devnull_before and is_devnull(sys.stdout))


def is_devnull(stream: Any) -> bool:
    try:
        return os.path.samestat(os.fstat(stream.fileno()), os.stat(os.devnull))
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):  # no descriptor (a test's capture)
        return False


def write_stdout(text: str) -> None:
    """A report to standard output (`--json -`), written to the file descriptor at once, every
    byte: left in the buffer, a failure would come when Python flushes it on exit, too late to
    change the exit code; and Python's buffer drops the rest of a short write (a disk filling up
    takes part of a write and refuses the next) without an error. Either way, exit 0 with a
    half-written report."""
    with stdout_errors():
        sys.stdout.flush()  # what was printed before goes first
        try:
            fd = sys.stdout.fileno()
        except (AttributeError, io.UnsupportedOperation):  # not a file (a test's capture): no OS to fail
            sys.stdout.write(text)
            sys.stdout.flush()
            return
        # UTF-8 whatever the locale's encoding: these are documents (JSON, HTML, Markdown, JUnit)
        # that say or are read as UTF-8, as the same output written to a file is; encoded for an
        # ASCII or Latin-1 terminal, `ü` became the text `\xfc`, which is no JSON. A path that is
        # not UTF-8 in it (lone surrogates) is escaped, as `atomic_write_text` does.
        data = memoryview(text.encode("utf-8", "backslashreplace"))
        while data:  # after a short write, the next one says why (ENOSPC, EDQUOT, EFBIG)
            data = data[os.write(fd, data) :]


def check_distinct_outputs(outputs: Iterable[tuple[str, str | os.PathLike[str] | None]]) -> None:
    """Fail early when two options would write the same file ('-' = stdout is not a file).
    `check_outputs` does this and more (inputs, writability); kept for its callers."""
    given = [(option, Path(path)) for option, path in outputs if path is not None and str(path) != STDOUT]
    for i, (option, path) in enumerate(given):
        for other, other_path in given[:i]:
            if _same_file(other_path, _real(path)) and not stat.S_ISCHR(_mode(path)):
                raise InputError(f"{other} and {option} both write {path}; give each output its own path")
