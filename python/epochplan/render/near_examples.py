"""The largest near clusters side by side: the representative and its least similar member,
with the words that differ highlighted, so a cluster can be judged at a glance."""

from __future__ import annotations

import difflib
import re
import unicodedata

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..auditing.result import NearExample

#: Words shown per side; the rest is cut with an ellipsis.
MAX_WORDS = 80
CHANGED = "bold black on yellow"


def escape_controls(text: str) -> str:
    """Control and format characters as visible escapes (\\n, \\t, \\x1b, \\u200b …): a row's
    text must not move the cursor, recolour the terminal or hide what differs."""
    out = []
    for ch in text:
        if ch in "\n\t\r":
            out.append({"\n": "\\n", "\t": "\\t", "\r": "\\r"}[ch])
        elif unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
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


def render_near_examples(examples: list[NearExample], console: Console) -> None:
    if not examples:
        return
    for e in examples:
        table = Table(
            title=f"near cluster of {e.count:,} rows: representative {e.representative} vs least similar member {e.member} "
            f"(similarity {e.similarity:.2f})",
            title_justify="left",
            header_style="bold",
            show_lines=False,
            expand=True,
        )
        table.add_column(f"row {e.representative} (kept)", ratio=1, overflow="fold")
        table.add_column(f"row {e.member}", ratio=1, overflow="fold")
        left, right = highlighted_pair(e.representative_text, e.member_text)
        table.add_row(left, right)
        console.print(table)
