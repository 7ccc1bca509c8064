"""The entry point of the `epochplan` command and of `python -m epochplan`: loads the command
line, which imports polars, numpy and the rest (a few tenths of a second), and runs it. Ctrl-C
while those modules load ends the command with its `interrupted` line and exit code 130, as it
does later, instead of a traceback from inside an import."""

import gc
import sys


def main() -> None:
    try:
        from .cli import main as run_command
    except KeyboardInterrupt:  # nothing started, nothing to clean
        print("interrupted", file=sys.stderr)
        sys.exit(130)
    # Everything imported so far lives until exit: keep the garbage collector from scanning it
    # again on every collection during a long audit.
    gc.freeze()
    run_command()
