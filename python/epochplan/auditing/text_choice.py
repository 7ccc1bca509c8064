"""Whether the only string column gives way to the one conversation or list-of-strings column
beside it (MT-Bench's `category` beside its `turns`, Capybara's `source` beside its
`conversation`), and the `text-column` warning that says so. A string column gives way only
when its name says it describes the row (an id, a url, a category or a source whose values are
short labels) and the list column reads as text (its items joined hold several words a
row, more than the string column's values): a column of one-word answers, search queries or
vocabulary words beside a list of tags or examples stays the text, as it was."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from typing import Any

from ..errors import option
from ..sources import Source
from ..sources.columns import CONTENT_FIELDS, TURN_FIELDS
from .input_warnings import SAMPLED
from .result import AuditWarning
from .templates import NAMED_COLUMNS, metadata_name

#: Names of columns that say what kind a row is or where it came from, not its text: they give
#: way to a conversation only when their values are labels (`are_labels`).
DESCRIBING_NAMES = frozenset(
    {
        "category", "categories", "source", "sources", "dataset", "dataset_name", "subset", "task", "task_name", "task_type",
        "type", "kind", "subject", "topic", "genre", "model", "model_name", "origin", "difficulty", "level",
    }
)  # fmt: skip
#: The fewest values (not empty) among its first ones that show a column of repeating categories.
CATEGORY_VALUES = 8
#: The most letters of a label in a script written without spaces (`新闻`, `ニュース`, `ข่าวกีฬา`).
UNSPACED_CHARS = 12
#: The longest label of more than one word.
CATEGORY_CHARS = 40
#: The most words of a label (`General QA`, `Reading Comprehension`).
LABEL_WORDS = 4
#: The fewest words a list column's rows hold on average to read as text (a question, a reply).
TEXT_WORDS = 3
#: The fewest words its items hold on average (a message, not a tag).
ITEM_WORDS = 2
#: The fewest one-word items a row holds on average to be a sentence's tokens, not its tags.
TOKENS_A_ROW = 8


#: How a sentence ends (a label does not).
_SENTENCE_ENDS = (".", "?", "!", "。", "？", "！", "…")
#: Letters of the scripts written without spaces, whose sentence is one whitespace "word" however
#: long: the blocks of the core's `script::is_unspaced` (Han, kana, Thai, Lao, Tibetan, Myanmar,
#: Khmer, Bopomofo, Yi, Tai scripts, Balinese, Javanese, Tangut …; a test checks them against it).
_UNSPACED = re.compile(
    "[\u0e00-\u0fff\u1000-\u109f\u1780-\u17ff\u1950-\u1aaf\u1b00-\u1b7f\u3005-\u3007\u3021-\u3029\u3031-\u3035"
    "\u3038-\u303c\u3040-\u30ff\u3100-\u312f\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
    "\ua980-\ua9ff\uaa60-\uaadf\uf900-\ufaff\uff66-\uff9f\U000116d0-\U0001174f\U00016fe0-\U00018d7f"
    "\U0001aff0-\U0001afff\U0001b000-\U0001b2ff\U00020000-\U0003347f]"
)


def _is_unspaced_word(c: str) -> bool:
    """A character of a script written without spaces that is a word of its own (the core's
    `script::is_unspaced_word`): not its punctuation or symbols (。 ・ ་)."""
    return _UNSPACED.match(c) is not None and unicodedata.category(c)[0] not in "PS"


def _mostly_unspaced(text: str) -> bool:
    """Whether most letters of `text` are of scripts written without spaces (the core's
    `script::is_mostly_unspaced`)."""
    if text.isascii():
        return False
    unspaced = sum(1 for c in text if _is_unspaced_word(c))
    return unspaced * 2 > unspaced + sum(1 for c in text if c.isalpha() and not _is_unspaced_word(c))


def word_count(text: str) -> int:
    """The words of `text` as the core counts them (README, **word**; `script::for_each_word`):
    whitespace-separated words, except in text whose letters are mostly of scripts written without
    spaces, where each of their letters is a word and any other run of letters, marks or digits is
    one (`我们用PyTorch` is four). `请解释一下量子计算` is nine words, not one."""
    if not _mostly_unspaced(text):
        return len(text.split())
    count, in_run = 0, False
    for c in text:
        if _is_unspaced_word(c):
            count, in_run = count + 1, False
        elif c.isalnum() or (in_run and unicodedata.category(c).startswith("M")):
            count, in_run = count + (not in_run), True
        else:
            in_run = False
    return count


def _is_label(value: str) -> bool:
    """One label: a token without spaces (a url, a path, `meta-llama/Llama-3-8B`, `Mathématiques`),
    or short (CATEGORY_CHARS or fewer characters, LABEL_WORDS or fewer words); either with at most
    UNSPACED_CHARS letters of a script written without spaces (marks not counted), whose sentence
    is one "word" however long, and not ending as a sentence does (`ありがとう。`, `Good morning.`)."""
    unspaced = sum(1 for c in _UNSPACED.findall(value) if not unicodedata.category(c).startswith("M"))
    if unspaced > UNSPACED_CHARS or value.rstrip().endswith(_SENTENCE_ENDS):  # a sentence, however short
        return False
    words = value.split()
    return len(words) == 1 or (len(value) <= CATEGORY_CHARS and len(words) <= LABEL_WORDS)


def are_labels(values: list[Any]) -> bool:
    """Whether the first `values` are labels, not sentences: each one a label (`_is_label`),
    however many distinct ones and however few rows (Capybara's thirteen sources in shuffled
    order, a file of five rows); or few distinct short values among many (`is_category`: topics
    of five or more words that repeat)."""
    strings = [v for v in values if isinstance(v, str) and v.strip()]
    return all(_is_label(v) for v in strings) or is_category(strings)


def is_category(strings: list[str]) -> bool:
    """Among the first values (not empty), CATEGORY_VALUES or more, few distinct ones (a quarter at
    most), all short (CATEGORY_CHARS at most) and none a sentence (ending in a full stop or a
    question or exclamation mark): topics that repeat, not a text column full of copies, which is
    what the audit is for."""
    return (
        len(strings) >= CATEGORY_VALUES
        and len(set(strings)) * 4 <= len(strings)
        and all(len(v) <= CATEGORY_CHARS and not v.rstrip().endswith(_SENTENCE_ENDS) for v in strings)
    )


def describes_rows(name: str, values: list[Any]) -> bool:
    """Whether a string column describes its rows rather than holds their text: its name is an
    id's or metadata's (`templates.metadata_name`), or a category's or a source's (DESCRIBING_NAMES)
    with values that are labels (`are_labels`: a `source` of sentences is a translation's text).
    Never by its values alone: one word a value is also an answer, a query or a vocabulary word."""
    return metadata_name(name) or (name.lower() in DESCRIBING_NAMES and are_labels(values))


def _row_text(value: Any) -> str:
    """A list column's row as text, one a line: its strings, or each message's text as the audit
    reads it (its first non-empty CONTENT_FIELDS, else both sides of a turn, TURN_FIELDS)."""
    items = value if isinstance(value, list) else []
    texts = [item for item in items if isinstance(item, str)]
    for item in items:
        if isinstance(item, dict):
            content = next((item[f] for f in CONTENT_FIELDS if isinstance(item.get(f), str) and item[f]), None)
            texts += [content] if content is not None else [item[f] for f in TURN_FIELDS if isinstance(item.get(f), str)]
    return "\n".join(texts)


def _item_words(item: str, message: bool) -> int:
    """An item's words (`word_count`), but a string of a list (not a message) that is a label
    in a script written without spaces (`体育`, `ニュース`: `_is_label`) is one: a tag, as `sports`
    is, where its letters made a list of such tags read as text."""
    return 1 if not message and _mostly_unspaced(item) and _is_label(item) else word_count(item)


def reads_as_text(values: list[Any], beside: list[Any]) -> bool:
    """Whether a list column's first `values` read as text beside the string column's first
    values (`beside`): TEXT_WORDS or more words a row (`word_count`: each letter of a script
    written without spaces a word); messages (a conversation), or strings of ITEM_WORDS or more
    words on average, or TOKENS_A_ROW strings a row (a few one-word tags are no text); and longer
    rows than its."""
    rows = [_row_text(v) for v in values]
    items = [line for row in rows for line in row.split("\n") if line.strip()]
    if not rows or not items:
        return False
    strings = [v for v in beside if isinstance(v, str)]
    own = sum(map(len, strings)) / len(strings) if strings else 0.0
    # A conversation's messages are text however short; strings of one word read as text only
    # as a sentence's tokens (CoNLL's `tokens`), many a row, where tags are a few.
    messages = any(isinstance(item, dict) for v in values if isinstance(v, list) for item in v)
    words = sum(_item_words(item, messages) for item in items)
    worded = messages or words / len(items) >= ITEM_WORDS or len(items) / len(rows) >= TOKENS_A_ROW
    return words / len(rows) >= TEXT_WORDS and worded and sum(map(len, rows)) / len(rows) > own


class ConversationChoice:
    """`choose_text_columns`' `gives_way`: whether the only string column gives way to the one
    conversation or list-of-strings column beside it, by their first values (`values`). It keeps
    the column that gave way, for `warning`."""

    def __init__(self, values: Callable[[str], list[Any]]) -> None:
        self.values = values
        self.skipped: str | None = None

    @classmethod
    def of(cls, source: Source) -> ConversationChoice:
        """By the first SAMPLED values of `source`'s columns (`Source.first_values`)."""
        return cls(lambda column: source.first_values(column, SAMPLED))

    def __call__(self, string: str, conversation: str) -> bool:
        if describes_rows(string, self.values(string)) and reads_as_text(self.values(conversation), self.values(string)):
            self.skipped = string
            return True
        return False

    def warning(self, columns: list[str], conversations: list[str]) -> AuditWarning | None:
        """The `text-column` warning for a choice made automatically: the conversation chosen in
        place of the string column (how to audit that one instead), or the one string column
        audited, which describes its rows, beside several conversations that read as text."""
        if self.skipped is not None and self.skipped not in columns:
            message = (
                f"audited column {columns[0]!r} (chosen automatically) in place of {self.skipped!r}, the only string column, "
                f"which looks like metadata (an id, or a few short labels such as a category or a source's name), not text; "
                f"to audit {self.skipped!r} instead, pass {option('--text', self.skipped)}"
            )
            return AuditWarning("text-column", message, 1.0, "")
        others = [c for c in conversations if c not in columns]
        if len(columns) != 1 or not others or not describes_rows(columns[0], self.values(columns[0])):
            return None
        others = [c for c in others if reads_as_text(self.values(c), self.values(columns[0]))]  # tags, file names: no text either
        if not others:
            return None
        shown = ", ".join(others[:NAMED_COLUMNS])
        message = (
            f"audited column {columns[0]!r} (chosen automatically) looks like metadata (ids, or a few short labels), not text, "
            f"so its counts say little about the examples; the text is likely in {shown} (conversation or list-of-strings "
            f"columns). To audit it, pass {option('--text', others[0])}"
            + (f" (or several, joined a row: {option('--text', others[:NAMED_COLUMNS])})" if len(others) > 1 else "")
        )
        return AuditWarning("text-column", message, 1.0, "")
