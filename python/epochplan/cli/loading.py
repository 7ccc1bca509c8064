"""The modules that read data (polars, numpy, pyarrow: a few tenths of a second to import) are
loaded by a command about to read data (`load_data_modules`), not when the command line starts:
`--help`, `--version`, `config show` and a plan of plain counts or of an audit's JSON never
load them. Also Python's own SIGINT handling, which importing polars displaces (`python_sigint`)."""

from __future__ import annotations

import gc
import importlib
import signal
import sys

from .. import interrupts

#: What a command that reads data imports first: every module that imports polars, numpy or
#: pyarrow at its top comes with these (the readers, the audit, dedup, the gate).
DATA_MODULES = ("epochplan.sources", "epochplan.auditing.run", "epochplan.auditing.dedup_shards", "epochplan.checking.run")


def on_sigint(signum: int, frame: object) -> None:
    """Python's own Ctrl-C handler (`signal.default_int_handler`), which also says that it ran."""
    interrupts.handled()
    raise KeyboardInterrupt


def python_sigint() -> None:
    """Put Python's own SIGINT handling back in force. Importing polars installs a native
    handler that makes polars raise a KeyboardInterrupt of its own and then hands the signal on
    to Python's, which raises a second one a few bytecodes later: one Ctrl-C, two interrupts, and
    the second lands in the clean-up the first started (a temporary output file was left). What
    Python holds as the handler (its default, or SIG_IGN where the parent ignored Ctrl-C) is set
    again (the default as `on_sigint`, which says that it ran), which replaces polars' at the
    OS level."""
    handler = signal.getsignal(signal.SIGINT)
    if handler is signal.default_int_handler:
        handler = on_sigint
    if handler is not None:
        signal.signal(signal.SIGINT, handler)


def load_data_modules() -> None:
    """Import `DATA_MODULES`, first thing in a command that reads data. When this loads polars
    (the first such command of a process), Python's SIGINT handling is put back over polars'
    (`python_sigint`), and the modules, which live until exit, are frozen out of the garbage
    collector's scans during a long audit (as `launch.main` freezes the command line's own)."""
    fresh = "polars" not in sys.modules
    for name in DATA_MODULES:
        importlib.import_module(name)
    if fresh:
        python_sigint()
        gc.freeze()
