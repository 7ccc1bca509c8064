"""The entry point of the `epochplan` command and of `python -m epochplan`: loads the command
line, which imports polars, numpy and the rest (a few tenths of a second), and runs it. Ctrl-C
or SIGTERM while those modules load ends the command with its `interrupted` / `terminated` line
and exit code 130 / 143, as it does later, instead of a traceback from inside an import or (for
SIGTERM, whose handler the command line puts in only once loaded) an end by the signal with no
line."""

import gc
import signal
import sys


class _Terminated(KeyboardInterrupt):
    """SIGTERM before the command line's own handler is in: raised like Ctrl-C (an import's
    `except Exception` lets it through)."""


def _on_sigterm(signum: int, frame: object) -> None:
    raise _Terminated()


def main() -> None:
    if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:  # one the parent ignored stays ignored
        signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from .cli import main as run_command

        # Everything imported so far lives until exit: keep the garbage collector from scanning
        # it again on every collection during a long audit.
        gc.freeze()
    except _Terminated:  # nothing started, nothing to clean
        _end("terminated", 143)
    except KeyboardInterrupt:
        _end("interrupted", 130)
    try:
        run_command()  # puts in the command line's handlers first thing
    except _Terminated:  # before it did
        _end("terminated", 143)


def _end(line: str, code: int) -> None:
    print(line, file=sys.stderr)
    sys.exit(code)
