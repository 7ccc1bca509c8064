"""The largest near clusters side by side: the representative and its least similar member,
with the words that differ highlighted, so a cluster can be judged at a glance."""

from __future__ import annotations

import difflib
import re
import unicodedata

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..auditing.result import NearStats
from .text import visible_escape

#: Words shown per side; the rest is cut with an ellipsis.
MAX_WORDS = 80
#: Near clusters shown side by side.
SIDE_BY_SIDE = 3
CHANGED = "bold black on yellow"
#: Width of the side-by-side tables off a terminal (a log, a file, a pipe).
LOG_WIDTH = 160


def escape_controls(text: str) -> str:
    """Control and format characters as visible escapes (\\n, \\t, \\x1b, \\u200b …): a row's
    text must not move the cursor, recolour the terminal or hide what differs."""
    out = []
    for ch in text:
        if ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            out.append(visible_escape(ch))
        else:
            out.append(ch)
    return "".join(out)


_TOKEN = re.compile(r"\S+\s*|\s+")


def _tokens(text: str) -> list[str]:
    """Words with the whitespace after them: compared without it, shown with it (escaped)."""
    return _TOKEN.findall(text)


def highlighted_pair(left: str, right: str, max_words: int = MAX_WORDS) -> tuple[Text, Text]:
    """The two texts as rich Text, words present on one side only in the CHANGED style."""
    a, b = _tokens(left), _tokens(right)
    out_a, out_b = Text(), Text()
    shown = {id(out_a): 0, id(out_b): 0}
    matcher = difflib.SequenceMatcher(a=[t.strip().lower() for t in a], b=[t.strip().lower() for t in b], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        style = "" if tag == "equal" else CHANGED
        for tokens, start, end, out in ((a, i1, i2, out_a), (b, j1, j2, out_b)):
            for token in tokens[start:end]:
                if shown[id(out)] == max_words:
                    out.append("…")
                if shown[id(out)] >= max_words:
                    shown[id(out)] += 1
                    continue
                shown[id(out)] += 1
                word, space = token.rstrip(), token[len(token.rstrip()) :]
                out.append(escape_controls(word), style=style)
                # Line breaks shown as \n keep the layout one paragraph; a space stands for the rest.
                out.append(escape_controls(space.replace(" ", "")) + " " if space else "")
    return out_a, out_b


def render_near_examples(near: NearStats | None, console: Console) -> None:
    """The largest near clusters: the representative beside its least similar member (the core
    lists members least similar first). Needs the example texts (not with --no-examples)."""
    for top in (near.top if near is not None else [])[:SIDE_BY_SIDE]:
        member = top.members[0] if top.members else None
        if member is None or top.text is None or member.text is None:
            continue
        similarity = f"similarity {member.similarity:.2f}" if member.similarity is not None else "exact copy"
        table = Table(
            title=f"near cluster of {top.count:,} rows: representative {top.row} vs least similar member {member.row} ({similarity})",
            title_justify="left",
            header_style="bold",
            expand=True,
            # Off a terminal the console is as wide as no line is cut (10,000 columns): the two
            # halves would be padded to that. The texts wrap (fold) instead, so nothing is lost.
            width=None if console.is_terminal else min(console.width, LOG_WIDTH),
        )
        table.add_column(f"row {top.row} (kept)", ratio=1, overflow="fold")
        table.add_column(f"row {member.row}", ratio=1, overflow="fold")
        left, right = highlighted_pair(top.text, member.text)
        table.add_row(left, right)
        console.print(table)
