"""The `epochplan` command line: one module per command, shared options declared once in
options.py, the app and its exit codes in root.py. `epochplan.cli:main` is the entry point."""

from ..errors import InputError
from .root import app, main, run

__all__ = ["app", "main", "run", "InputError"]
