"""The entry point of the `epochplan` command and of `python -m epochplan`: loads the command
line (typer, rich; a command that reads data loads polars, numpy and pyarrow itself, in
`cli/loading.py`) and runs it. Ctrl-C, SIGTERM, SIGHUP or SIGQUIT while those modules load ends
the command with its one line (`interrupted`, `terminated`, `hung up`, `quit`) and exit code
130 / 143 / 129 / 131, as it does later, instead of a traceback from inside an import or (for the
others than Ctrl-C, whose handlers the command line puts in only once loaded) an end by the
signal with no line."""

import gc
import signal
import sys

from .interrupts import ENDINGS


class _Terminated(KeyboardInterrupt):
    """SIGTERM, SIGHUP or SIGQUIT before the command line's own handler is in: raised like Ctrl-C
    (an import's `except Exception` lets it through)."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: object) -> None:
    raise _Terminated(signum)


def main() -> None:
    for number in ENDINGS:
        # Ctrl-C raises KeyboardInterrupt already; one the parent ignored stays ignored.
        if number != signal.SIGINT and signal.getsignal(number) == signal.SIG_DFL:
            signal.signal(number, _on_signal)
    try:
        from .cli import main as run_command

        # Everything imported so far lives until exit: keep the garbage collector from scanning
        # it again on every collection during a long audit.
        gc.freeze()
    except _Terminated as e:  # nothing started, nothing to clean
        _end(e.signum)
    except KeyboardInterrupt:
        _end(signal.SIGINT)
    try:
        run_command()  # puts in the command line's handlers first thing
    except _Terminated as e:  # before it did
        _end(e.signum)


def _end(signum: int) -> None:
    line, code = ENDINGS[signum]
    print(line, file=sys.stderr)
    sys.exit(code)
