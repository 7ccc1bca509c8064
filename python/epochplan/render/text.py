"""Text from a dataset made safe to show in a page, and a word-level diff of two texts.

Everything a dataset holds is hostile until shown otherwise: HTML markup must stay text, terminal
escape sequences and other control characters must be visible rather than acted on or silently
dropped, and bidirectional overrides must not reorder what a reviewer reads (the "Trojan Source"
trick, CVE-2021-42574). Such characters are shown as a visible `\\xNN` / `\\uNNNN` escape.
"""

from __future__ import annotations

import difflib
import html
import re
from collections.abc import Callable

from .. import graphemes

# C0 controls except tab and newline, DEL and C1 controls, lone surrogates (json.loads accepts
# them; UTF-8 cannot encode them), the bidi embeddings, overrides and isolates (the "Trojan
# Source" reordering), and the invisible characters no script needs, which would make two
# different words look the same: zero-width space, word joiner and invisible operators, the
# deprecated format controls, U+FEFF, the line and paragraph separators, interlinear annotation
# marks and the language tag. Format characters that writing needs stay as they are: the
# zero-width joiner and non-joiner (emoji sequences, Persian, Indic scripts), the left-to-right
# and right-to-left marks (Hebrew, Arabic), the soft hyphen. Tag characters (U+E0020–E007F) spell
# hidden ASCII ("ASCII smuggling") and are shown as escapes, except in a flag emoji (🏴 + tags +
# the cancel tag: England, Scotland, Wales).
_FORMAT = "\u200b\u2028\u2029\u202a-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0001\U000e0020-\U000e007f"
_FLAG = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")
_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff{_FORMAT}]")
# A word of the diff: a character of a script written without spaces (Han, kana, Thai …, as the
# audit's `script::is_unspaced`), or a run of other non-space characters; then its whitespace.
_UNSPACED = (
    "\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff\u1950-\u1aaf\u1b00-\u1b7f\u3005-\u3007\u3021-\u3029\u3031-\u3035"
    "\u3038-\u303c\u3040-\u30ff\u3100-\u312f"
    "\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf\ua980-\ua9ff\uaa60-\uaadf"
    "\uf900-\ufaff\uff66-\uff9f\U000116d0-\U0001174f\U00016fe0-\U00018d7f\U0001aff0-\U0001afff"
    "\U0001b000-\U0001b2ff\U00020000-\U0003347f"
)
# The marks that combine with the character before them in those scripts (Thai and Lao vowels
# and tones, Tibetan, Myanmar and Khmer signs, kana voicing marks, variation selectors), and any
# combining diacritic: a character keeps its marks, so a changed tone mark marks its syllable.
_MARKS = (
    "\u0300-\u036f\u0e31\u0e34-\u0e3a\u0e47-\u0e4e\u0eb1\u0eb4-\u0ebc\u0ec8-\u0ecd\u0f18\u0f19\u0f35"
    "\u0f37\u0f39\u0f3e\u0f3f\u0f71-\u0f84\u0f86\u0f87\u0f8d-\u0fbc\u102b-\u103e\u1056-\u1059\u105e-\u1060"
    "\u1062-\u1064\u1067-\u106d\u1071-\u1074\u1082-\u108d\u108f\u109a-\u109d\u17b4-\u17d3\u17dd"
    "\u3099\u309a\ufe00-\ufe0f"
)
_WORD = re.compile(f"([{_UNSPACED}][{_MARKS}]*|[^\\s{_UNSPACED}]+)(\\s*)")


def visible_escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _unsafe(text: str) -> list[re.Match[str]]:
    """The unsafe characters of `text`, but the tags of a flag emoji."""
    matches = list(_UNSAFE.finditer(text))
    if not matches or "\U0001f3f4" not in text:
        return matches
    flags = [m.span() for m in _FLAG.finditer(text)]
    return [m for m in matches if not any(a <= m.start() < b for a, b in flags)]


def _rewrite(text: str, keep: Callable[[str], str], escape: Callable[[str], str]) -> str:
    """`text` with each stretch between unsafe characters passed through `keep` and each unsafe
    character's visible escape through `escape`."""
    out, start = [], 0
    for match in _unsafe(text):
        out.append(keep(text[start : match.start()]) + escape(visible_escape(match.group())))
        start = match.end()
    out.append(keep(text[start:]))
    return "".join(out)


def visible_unsafe(text: str) -> str:
    """`text` with every unsafe character written as a visible escape (no HTML escaping)."""
    return _rewrite(text, str, str)


def plain(text: object, limit: int | None = None) -> str:
    """`text` as HTML-escaped plain text, unsafe characters written as escapes (for SVG text and
    attribute values, where no markup may be added). Cut to `limit` characters with an ellipsis."""
    text = str(text)
    if limit is not None:
        text = graphemes.cut(text, max(limit, 1), "…")
    return html.escape(visible_unsafe(text), quote=True)


_CODE_SPAN = re.compile(r"`([^`\n]+)`")


def message(text: object, limit: int | None = None) -> str:
    """A warning or check message as HTML: escaped and cut as `plain` does, then each `x` span (a
    command, a flag) set as <code>x</code>, where the page showed the backticks. Escaped first, so
    a backtick span from the data never becomes markup; the terminal and the JSON keep the text."""
    return _CODE_SPAN.sub(r"<code>\1</code>", plain(text, limit))


def rich(text: str) -> str:
    """`text` as HTML with every unsafe character shown as a marked-up escape."""
    return _rewrite(text, lambda part: html.escape(part, quote=False), lambda shown: f'<span class="ctl">{shown}</span>')


def cut(text: str, limit: int) -> tuple[str, int]:
    """The first `limit` code points (cut between visible characters) and how many visible
    characters were left out: a family emoji of seven code points is one more character, not 7."""
    if len(text) <= limit:
        return text, 0
    at = graphemes.cut_point(text, limit)
    return text[:at], graphemes.count(text[at:])


def shown(text: object, limit: int) -> str:
    """Data text for a page: escaped, cut to `limit` characters with a note of what was left out.
    A text that ends in "…" was cut already (the audit JSON keeps 2,000 characters of each): what
    is left out of the data is then at least what the page leaves out."""
    text = str(text)
    head, left_out = cut(text, limit)
    return rich(head) + _more(left_out, at_least=text.endswith("…")) + blank_note(text)


def blank_note(text: str) -> str:
    """A visible word for a text that shows nothing: an empty text or one of only whitespace was
    a blank grey strip."""
    if text.strip():
        return ""
    return f'<span class="absent">({"empty" if not text else "whitespace only"})</span>'


def _more(left_out: int, at_least: bool = False) -> str:
    if not left_out:
        return ""
    return f'<span class="more">… {"at least " if at_least else ""}{left_out:,} more character{"" if left_out == 1 else "s"}</span>'


def _words(text: str) -> list[tuple[str, str]]:
    leading = text[: len(text) - len(text.lstrip())]
    pairs = [(m.group(1), m.group(2)) for m in _WORD.finditer(text, len(leading))]
    return [("", leading)] + pairs if leading else pairs


def word_diff(left: str, right: str, limit: int) -> tuple[str, str]:
    """Both texts as HTML with the words that differ marked: `<del>` in `left` (words only it has),
    `<ins>` in `right`. Words are whitespace-separated, each character of a script written without
    spaces a word of its own, and compared as written (case included);
    whitespace itself never counts as a difference. Each side is cut to `limit` characters first."""
    left_head, left_more = cut(left, limit)
    right_head, right_more = cut(right, limit)
    a, b = _words(left_head), _words(right_head)
    # autojunk off: its popularity heuristic would treat common words as never matching.
    matcher = difflib.SequenceMatcher(None, [w for w, _ in a], [w for w, _ in b], autojunk=False)
    left_out, right_out = [], []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        left_out.append(_join(a[i1:i2], None if op == "equal" else "del"))
        right_out.append(_join(b[j1:j2], None if op == "equal" else "ins"))
    # A text that ends in "…" was cut already (the audit JSON keeps 2,000 characters of each).
    return (
        "".join(left_out) + _more(left_more, at_least=left.endswith("…")) + blank_note(left),
        "".join(right_out) + _more(right_more, at_least=right.endswith("…")) + blank_note(right),
    )


def _join(words: list[tuple[str, str]], tag: str | None) -> str:
    if tag is None:
        return "".join(rich(w) + rich(space) for w, space in words)
    return "".join(f"<{tag}>{rich(w)}</{tag}>{rich(space)}" if w else rich(space) for w, space in words)
