"""Where a text may be cut for display (an example text in the JSON, a preview in a report)
without splitting what a reader sees as one character: a letter and the marks after it
(Vietnamese "ế" written as e + ◌̂ + ◌́), an emoji and its skin tone, a family joined by
zero-width joiners, a flag's two regional indicators.

A simplified reading of Unicode's extended grapheme clusters (UAX #29): what it leaves out
(Hangul jamo sequences, prepended concatenation marks) is split as before. Not a library: the
one that implements UAX #29 in full for Python (`regex`'s `\\X`) would be a dependency for this
one rule."""

from __future__ import annotations

import unicodedata

_ZWJ = "\u200d"


def _belongs_to_previous(c: str) -> bool:
    """A character that extends the one before it into one visible character."""
    code = ord(c)
    return (
        unicodedata.category(c) in ("Mn", "Mc", "Me")  # combining marks, Indic vowel signs
        or c == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors (text or emoji style)
        or 0x1F3FB <= code <= 0x1F3FF  # emoji skin tones
        or 0xE0020 <= code <= 0xE007F  # emoji tags (the flags of England, Scotland, Wales)
        or 0xE0100 <= code <= 0xE01EF  # variation selectors supplement
    )


def _is_regional_indicator(c: str) -> bool:
    return 0x1F1E6 <= ord(c) <= 0x1F1FF


def cut_point(text: str, limit: int) -> int:
    """The largest index at most `limit` where `text` may be cut without splitting a visible
    character; `limit` itself when the text is no longer or no such index is found."""
    at = min(limit, len(text))
    while 0 < at < len(text) and (_belongs_to_previous(text[at]) or text[at - 1] == _ZWJ):
        at -= 1
    if 0 < at < len(text) and _is_regional_indicator(text[at]):
        run = at  # flags are pairs of regional indicators: cut between pairs
        while run > 0 and _is_regional_indicator(text[run - 1]):
            run -= 1
        at -= (at - run) % 2
    return at if at > 0 else min(limit, len(text))


def count(text: str) -> int:
    """How many visible characters `text` holds, by the rule `cut_point` cuts by: a family of
    seven code points joined by zero-width joiners is one, as is a flag or a letter with its marks."""
    n = i = 0
    while i < len(text):
        j = i + 1
        if _is_regional_indicator(text[i]) and j < len(text) and _is_regional_indicator(text[j]):
            j += 1  # a flag: two regional indicators
        while j < len(text) and (_belongs_to_previous(text[j]) or text[j - 1] == _ZWJ):
            j += 1
        n, i = n + 1, j
    return n


def cut(text: str, limit: int, mark: str = "") -> str:
    """`text` in at most `limit` characters, `mark` (an ellipsis) included when it was cut."""
    if len(text) <= limit:
        return text
    return text[: cut_point(text, limit - len(mark))] + mark


def start_point(text: str, index: int) -> int:
    """The smallest index at least `index` where `text` may be cut without splitting a visible
    character (the start of a text's tail)."""
    at = max(0, min(index, len(text)))
    while 0 < at < len(text) and (_belongs_to_previous(text[at]) or text[at - 1] == _ZWJ):
        at += 1
    if 0 < at < len(text) and _is_regional_indicator(text[at]):
        run = at
        while run > 0 and _is_regional_indicator(text[run - 1]):
            run -= 1
        at += (at - run) % 2
    return at


def cut_middle(text: str, limit: int, mark: str = "…") -> str:
    """`text` in at most `limit` characters keeping its start and its end, `mark` between them
    when it was cut: two long names that differ only at the end stay told apart."""
    if len(text) <= limit:
        return text
    room = max(limit - len(mark), 2)
    tail = room // 3
    head = text[: cut_point(text, room - tail)]
    return head + mark + text[start_point(text, len(text) - tail) :]


# Code points a visible character spans at most in text a preview is likely to hold (an emoji
# family of four is 7, a flag 2, a Thai or Devanagari syllable a few).
_LONG_CHARACTER = 8


def cut_preview(text: str, at: int, mark: str = "…") -> str:
    """`text` as shown when it is a stored cluster preview: the core keeps at most `at` code
    points of the normalised text and ends them on a whole visible character, so a preview that
    comes within one visible character of `at` may have been cut there and gets `mark` after it
    (a text of 73 to 80 characters that was not cut gets it too)."""
    if len(text) <= at - _LONG_CHARACTER:
        return text
    return text + mark
