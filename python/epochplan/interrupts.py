"""A Ctrl-C, SIGTERM, SIGHUP or SIGQUIT ends the command even while the main thread is stuck in
native code.

The signals that end a command are `ENDINGS`: each is raised as an exception in the main thread
(`cli.root`), so that the same clean-up runs for all (temporary files removed, threads joined),
and the command prints its one line and exits with 128 + the signal's number. What a clean-up
left registered (a second signal's handler ran as it began, before it held signals) is removed
by `main` at the end (`remove_temporaries`). Of two signals, the first whose handler ran decides,
Ctrl-C yielding to any other; signals pending together are handled in order of their numbers
(`ending`). SIGQUIT (Ctrl-\\) is among them rather than left to its default, a core dump: a
Python process's core helps no user, and the dump left the temporary files of the outputs being
written behind. SIGKILL cannot be handled: a killed run may leave a hidden `.NAME.<hex>.tmp`
file or folder beside an output (safe to delete); the output itself, new or old, is whole,
since it is only ever replaced by a rename.

Python runs a signal's handler in the main thread, between two of its bytecodes. While that
thread waits inside native code that does not return (polars' Rust HTTP reader, pyarrow's S3
reader, on a server that stopped answering), no handler runs: SIGINT and SIGTERM did nothing,
and only SIGKILL ended the command.

`watch()` (the CLI's `main` only: the wakeup fd is one per process, and a library must not take
it) points Python's C-level signal handler at a pipe (`signal.set_wakeup_fd`), which that
handler writes the signal's number to at once, whatever the main thread does; a daemon thread
reads it. Each Python handler of an ending signal that epochplan installs calls `handled()`.
An ending signal after which no such handler ran within `GRACE_SECONDS` means the main thread
is stuck: the thread removes the temporary files and folders registered with `temporary`,
prints the command's line (`interrupted`, `terminated`, `hung up`, `quit`) and ends the process
with its code, 130 / 143 / 129 / 131 (`os._exit`: a thread stuck in native code cannot be unwound).

It keys on a handler having run, not on the time since the signal: a long clean-up after the
handler ran (closing Ray, removing files) is left to finish. It never ends the process inside
a `held` block (the renames that publish outputs, `outputs.uninterrupted`): those are short and
in Python, and end first. A signal the parent ignored (SIG_IGN) has no C-level handler, writes
nothing and stays ignored.

The other way a stalled read held the command: a reader thread (the prefetch thread) stuck in
native code, which the main thread's clean-up waited for after the handler ran. Once a signal
was handled, the clean-up stops waiting for it after `GRACE_SECONDS` (`abandon`), and the
command, its clean-up done, ends with `os._exit` (`exit_if_abandoned`): the interpreter's own
exit would tear down what that thread is still inside.

The library has no `main` to do that: in a user's script, two quick Ctrl-Cs (the second raised as
the first's clean-up began) left a `.NAME.<hex>.tmp` beside the output. So the first `temporary`
registers `_sweep` with `atexit`, which removes at the interpreter's exit what is still
registered, ending signals held meanwhile. Each path is kept with the id of the process that
registered it, and only this process's are removed, at exit as by `main` and the watcher: a
child forked meanwhile (`os.fork`, multiprocessing's fork) that exits normally runs the parent's
`atexit` hooks too, and must not remove the files its parent is still writing.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

#: Seconds an ending signal may wait for its Python handler before the main thread is taken to
#: be stuck in native code.
GRACE_SECONDS = 2.0
#: Seconds the sweep at exit waits for another thread to leave the lock or a `held` block, before
#: it leaves the temporaries as they are (a hang at exit would be worse than a stray file).
SWEEP_WAIT_SECONDS = 1.0
#: The signals that end a command: what it says and its exit code (128 + the number), for each.
ENDINGS = {
    signal.SIGINT: ("interrupted", 130),  # Ctrl-C
    signal.SIGTERM: ("terminated", 143),  # kill, a scheduler's stop
    signal.SIGHUP: ("hung up", 129),  # the terminal or ssh session closed
    signal.SIGQUIT: ("quit", 131),  # Ctrl-backslash
}

_lock = threading.Lock()  # never taken by a signal handler (it runs in the main thread, which may hold it)
_temporary: dict[str, int] = {}  # paths, in the order they were made: the id of the process that registered each
_holding = 0  # `held` blocks running
_last_handled = float("-inf")  # time.monotonic() of the last handler that ran
_watching = False
_abandoned = False  # a thread stuck in native code was left behind
_sweeping = False  # `_sweep` is registered with atexit (once per process tree: a forked child inherits it)


def handled() -> None:
    """Called by every Python handler of an ending signal: the main thread takes signals."""
    global _last_handled
    _last_handled = time.monotonic()


def ending(arrived: Iterable[int]) -> int:
    """The signal a command ends as, of those in `arrived`: the first that is not Ctrl-C (a
    `kill` says more of why), else Ctrl-C.

    `arrived` is the order their Python handlers ran in (`cli.root`), which is the order the
    signals came in only when they came apart: Python runs the handlers of signals pending
    together (two sent a few milliseconds apart, while the main thread was in native code) in
    order of their numbers (SIGHUP 1, SIGINT 2, SIGQUIT 3, SIGTERM 15), so a SIGTERM followed
    at once by a SIGHUP ends as hung up (129). The watcher of a stuck main thread (`_watch`)
    passes the order the signals' numbers were written to its pipe, which is their arrival."""
    return next((number for number in arrived if number != signal.SIGINT), signal.SIGINT)


def temporary(path: str | os.PathLike[str]) -> None:
    """Register a temporary file or folder of the command, before it is made: removed if a signal
    ends a stuck command, or still there when the interpreter exits (`_sweep`). `forget` it once
    it is published or removed."""
    global _sweeping
    with _lock:
        _temporary[os.fspath(path)] = os.getpid()
        if not _sweeping:
            atexit.register(_sweep)
            _sweeping = True


def forget(path: str | os.PathLike[str]) -> None:
    with _lock:
        _temporary.pop(os.fspath(path), None)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold the ending signals that arrive during the block and deliver them once it is done.
    Held by swapping the Python handlers (see `outputs.uninterrupted`), in the main thread only;
    elsewhere the block runs as it is. An ignored signal stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    arrived: list[int] = []
    previous: dict[int, Any] = {}

    def hold(signum: int, frame: object) -> None:
        handled()
        arrived.append(signum)

    for sig in ENDINGS:
        handler = signal.getsignal(sig)
        if handler is None or handler == signal.SIG_IGN:  # not set from Python, or ignored: left alone
            continue
        previous[sig] = handler
        signal.signal(sig, hold)
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        for sig in dict.fromkeys(arrived):  # now the process stops (KeyboardInterrupt, exit 130 / 143 …)
            signal.raise_signal(sig)


@contextlib.contextmanager
def held() -> Iterator[None]:
    """A block that must run to its end (renames that publish outputs): never ended inside."""
    global _holding
    with _lock:
        _holding += 1
    try:
        yield
    finally:
        with _lock:
            _holding -= 1


def watch() -> None:
    """Start watching for signals a stuck main thread cannot take. Main thread only; once."""
    global _watching
    if _watching or threading.current_thread() is not threading.main_thread():
        return
    read_end, write_end = os.pipe()  # not inherited by child processes
    os.set_blocking(write_end, False)  # as set_wakeup_fd requires: a full pipe never blocks a handler
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    _watching = True
    threading.Thread(target=_watch, args=(read_end,), name="epochplan-interrupts", daemon=True).start()


def _watch(read_end: int) -> None:
    seen: dict[int, None] = {}  # in the order they came
    while True:
        try:
            data = os.read(read_end, 512)
        except OSError:
            return
        if not data:
            return
        ending = [number for number in data if number in ENDINGS]
        if not ending:
            continue
        seen.update(dict.fromkeys(ending))
        arrived = time.monotonic()
        time.sleep(GRACE_SECONDS)
        while True:
            _lock.acquire()
            # A handler that ran about when the signal came (its byte may be read just after the
            # handler ran) or since: the main thread takes signals. The margin is the grace itself.
            if _last_handled >= arrived - GRACE_SECONDS:
                _lock.release()
                break
            if not _holding:
                _end(seen)  # never returns; the lock stays held, so nothing new is registered or published
            _lock.release()
            time.sleep(0.05)


def abandon(thread: threading.Thread) -> bool:
    """Whether the clean-up may stop waiting for `thread` (still running after GRACE_SECONDS):
    only in the command line, once an ending signal was handled. The command then ends with
    `exit_if_abandoned`. Elsewhere (the library) the caller keeps waiting, as it did."""
    global _abandoned
    if not _watching or _last_handled == float("-inf"):
        return False
    _abandoned = True
    return True


def exit_if_abandoned(code: int) -> None:
    """End the process with `code` now if a thread was abandoned: the registered temporary files
    removed and standard output and error flushed, without the interpreter's exit."""
    if not _abandoned:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with _lock:
        _remove_temporary()
        os._exit(code)


def remove_temporaries() -> None:
    """Remove every temporary file and folder still registered, and forget them: for the command
    line once a signal ended it and the ending signals are ignored. A second signal can cut a
    clean-up short before it removes its file (its handler runs at the first bytecode of
    `outputs.remove_temporary`, before that holds signals), which left a `.NAME.<hex>.tmp`
    behind. Only what epochplan registered is removed: freshly named temporaries of its own,
    forgotten once published or removed, never a file of the user's."""
    with _lock:
        _remove_temporary()
        _temporary.clear()


def remove_path(path: str | Path) -> None:
    """Remove a temporary file, or a folder with what it holds (a link: the link, not its
    target); what is already gone, or cannot be removed, is left as it is."""
    with contextlib.suppress(OSError):
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path, ignore_errors=True)
        else:
            Path(path).unlink(missing_ok=True)


def _own_temporaries() -> list[str]:
    """The registered paths this process registered, in order; a forked child's copy of its
    parent's entries is the parent's."""
    pid = os.getpid()
    return [path for path, owner in _temporary.items() if owner == pid]


def _remove_temporary() -> None:
    """Remove what this process registered (`_own_temporaries`), the latest first."""
    for path in reversed(_own_temporaries()):
        remove_path(path)


def _sweep() -> None:
    """At the interpreter's exit (`atexit`): remove the temporaries this process registered and
    never forgot, a clean-up that a second signal cut short. Not inside another thread's `held`
    block (its renames end first), and never waiting on the lock for long: the lock is not
    reentrant, and the main thread may have been stopped inside it."""
    with signals_held():
        deadline = time.monotonic() + SWEEP_WAIT_SECONDS
        while True:
            if _lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                try:
                    if not _holding:
                        _remove_temporary()
                        for path in _own_temporaries():
                            del _temporary[path]
                        return
                finally:
                    _lock.release()
            if time.monotonic() >= deadline:
                return
            time.sleep(0.05)


def _reset_lock_in_child() -> None:
    """A child forked while another thread held the lock would wait for it forever: it has only
    the forking thread."""
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_lock_in_child)


def _end(seen: dict[int, None]) -> None:
    _remove_temporary()
    message, code = ENDINGS[ending(seen)]
    # Straight to the descriptor: the stuck main thread may hold sys.stderr's lock.
    with contextlib.suppress(OSError):
        os.write(2, f"{message}\n".encode())
    os._exit(code)
