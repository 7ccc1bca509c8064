"""The consoles every command prints through, and how data is shown on them.

Off a terminal (a pipe, a file, a CI log) rich would cut every line at 80 columns; lines and
tables are kept whole there instead. Text that comes from the data (previews, labels, column
names, paths) is shown with its control characters escaped, so a dataset cannot retitle or clear
the user's terminal, and with rich's markup escaped, so `[red]` in a text stays text."""

from __future__ import annotations

import os
import re

from rich.console import Console
from rich.markup import escape

#: The width used off a terminal: wide enough that no line is cut.
UNCUT_WIDTH = 10_000

# C0 controls but tab and newline, DEL, C1 controls; and the Unicode bidi overrides and
# isolates, which reorder what is shown (Trojan Source).
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _escape_one(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object, *, newlines: bool = True) -> str:
    """`text` with its control characters written as escapes (`\\x1b`); newlines kept, or
    escaped too when `newlines` is False (for text that must stay on one line)."""
    shown = _CONTROL.sub(_escape_one, str(text))
    return shown if newlines else shown.replace("\n", "\\n")


def data_text(text: object, *, newlines: bool = False) -> str:
    """Text from the data, ready for a rich markup string or table cell."""
    return escape(visible(text, newlines=newlines))


def terminal_console(*, stderr: bool = False) -> Console:
    """A console on stdout (or stderr) that does not cut lines when it is not a terminal (unless
    COLUMNS asks for a width)."""
    # emoji=False: a data text or split name holding ":v:" or ":ok:" is printed as it is, not as an emoji.
    console = Console(stderr=stderr, emoji=False)
    if not console.is_terminal and not os.environ.get("COLUMNS"):
        console = Console(stderr=stderr, width=UNCUT_WIDTH, emoji=False)
    return console
