"""The building blocks of the HTML report's sections: how much example text a rendering shows
(`Caps`), numbers, tables, fact lists and figures, each returning a fragment of HTML. Values from
the data go through `text.plain` here, so no caller can forget to escape them."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .. import graphemes
from .text import plain


@dataclass(frozen=True)
class Caps:
    """How much example text one rendering shows; the page shrinks these until it fits its budget."""

    examples: bool
    text: int = 1000  # characters of one text
    clusters: int = 5  # largest clusters shown per level (exact, near)
    members: int = 3  # members shown beside each representative
    leaks: int = 10  # eval rows shown per split
    conflicts: int = 5  # conflicting-label groups shown
    conflict_texts: int = 5  # texts shown per group
    message: int = 600  # characters of a warning, check or rationale message (they quote names from the data)
    items: int = 20  # warnings of each kind, splits, paths, columns listed
    checks: int = 1000  # rows of the checks table: every check of any real report (one per rule, two per eval split)


NAME_CHARS = 80  # a label, split or column name
TITLE_CHARS = 1000  # a long name's tooltip


def get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return f"{int(value):,}"
        if abs(value) >= 10 ** (digits - 1):  # 1,333.67 as 1,334, and 999.9 as 1,000: not 1.33e+03
            return f"{value:,.0f}"
        return f"{value:,.{digits}g}"
    return plain(value, NAME_CHARS)


def up_to_one(value: Any) -> str:
    """A measure of at most 1 (normalised entropy) to 4 significant digits, with more where those
    would round it to 1: 0.9999 beside an imbalance of 4.67 was written "1", and 0.99996 is not 1."""
    if not isinstance(value, float) or not math.isfinite(value):
        return num(value)
    digits, text = 4, f"{value:.4g}"
    while float(text) >= 1 > value and digits < 17:
        digits += 1
        text = f"{value:.{digits}g}"
    return text


def plural(word: str, count: Any) -> str:
    """`word` for a count of exactly one, else `word` + "s": 1 epoch, 1.5 epochs, 0 epochs."""
    return word if count == 1 and not isinstance(count, bool) else f"{word}s"


def percent(part: float, whole: float) -> str:
    """`part` of `whole` in per cent to one decimal, never rounded to 100 % or 0 % when it is not:
    2,499 unique rows of 2,500 are "> 99.9 %", not all of them."""
    value = 100 * part / whole
    shown = f"{value:.1f}"
    if shown == "100.0" and value < 100:
        return "> 99.9 %"
    if shown == "0.0" and value > 0:
        return "< 0.1 %"
    return f"{shown} %"


def pct(part: Any, whole: Any) -> str:
    if not isinstance(part, (int, float)) or not isinstance(whole, (int, float)) or not whole:
        return ""
    return f" ({percent(part, whole)})"


def section(ident: str, title: str, body: Sequence[str]) -> str:
    return f'<section id="{ident}"><h2>{title}</h2>{"".join(body)}</section>'


def absent(reason: str) -> str:
    return f'<p class="absent">{reason}</p>'


def figure(chart: str, caption: str) -> str:
    return f"<figure>{chart}<figcaption>{caption}</figcaption></figure>"


def table(head: Sequence[str], rows: Sequence[Sequence[str]], css: str = "") -> str:
    cls = f' class="{css}"' if css else ""
    out = [f"<table{cls}><thead><tr>", *(f"<th>{h}</th>" for h in head), "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    return "".join(out) + "</tbody></table>"


def dl(items: Sequence[tuple[str, str]]) -> str:
    return '<dl class="facts">' + "".join(f"<div><dt>{k}</dt><dd>{v}</dd></div>" for k, v in items) + "</dl>"


def data_name(value: Any, limit: int = NAME_CHARS) -> str:
    """A name from the data as text: a long one keeps its start and its end, its whole name (up to
    `TITLE_CHARS`) the tooltip."""
    text = str(value)
    if len(text) <= limit:
        return plain(text)
    return f'<span title="{plain(text, TITLE_CHARS)}">{plain(graphemes.cut_middle(text, limit))}</span>'


def code(value: Any) -> str:
    """A name from the data (a split, a path, a column) as code. A long one keeps its start and
    its end, and its whole name (up to `TITLE_CHARS`) is its tooltip: two split names that differ
    only at the end were both cut to the same first 80 characters."""
    if value is None:
        return "–"  # a key the JSON lacks, not "None"
    text = str(value)
    if len(text) <= NAME_CHARS:
        return f"<code>{plain(text)}</code>"
    return f'<code title="{plain(text, TITLE_CHARS)}">{plain(graphemes.cut_middle(text, NAME_CHARS))}</code>'


def more(total: int, shown_count: int, what: str) -> str:
    return f'<p class="note">{total - shown_count:,} more {what} not shown.</p>' if total > shown_count else ""


def hidden_note() -> str:
    return '<p class="note">Example texts left out (<code>--no-examples</code>).</p>'
