"""The `epochplan` command line: one module per command, shared options declared once in
options.py, the app and its exit codes in root.py. `epochplan.cli:main` is the entry point."""

import os

# The command line does no linear algebra: without this, numpy's OpenBLAS starts a thread per
# core that spins beside rayon's workers (and beside the imports) at start. Set here, before a
# command imports numpy (`loading.load_data_modules`); the package's own __init__ imports nothing that does.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from ..errors import InputError  # noqa: E402
from .root import app, main, run  # noqa: E402

__all__ = ["app", "main", "run", "InputError"]
