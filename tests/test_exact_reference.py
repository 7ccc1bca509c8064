"""Exact clusters against an independent reference: Python's own Unicode functions + polars."""

from __future__ import annotations

import re
import unicodedata

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

import epochplan

# Unicode White_Space, the set Rust's char::is_whitespace uses (Python's \s differs on \x1c-\x1f).
WHITE_SPACE = (
    "\t\n\x0b\x0c\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
WS_RUN = re.compile("[" + re.escape(WHITE_SPACE) + "]+")

# Characters whose NFKC/lowercase are stable across Unicode versions, plus the tricky ones.
ALPHABET = (
    "abcAB Z\t\n\x0b\r\xa0\u3000\u2003"  # ASCII and whitespace of several kinds
    "éÉèàÀçÇñÑüÜß"  # Latin-1 letters
    "\u0301\u0308"  # combining accents (NFKC composes them)
    "ΣσςΑα"  # Greek, final sigma
    "ｆｕＬ１２"  # fullwidth forms (NFKC folds them)
    "ﬁﬂ²①"  # ligatures, superscript, circled digit
    "日本語"  # CJK
)


def reference_normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).lower()
    return WS_RUN.sub(" ", text).strip(WHITE_SPACE)


def reference(texts: list[str | None], normalize: str) -> tuple[int, int, list[int | None]]:
    """unique, duplicate_rows and per-row exact_id computed with plain polars."""
    keys = [None if t is None else (reference_normalize(t) if normalize == "default" else t) for t in texts]
    df = pl.DataFrame({"key": keys}, schema={"key": pl.String}).with_row_index("row")
    first = df.drop_nulls("key").group_by("key").agg(pl.col("row").min().alias("rep"))
    joined = df.join(first, on="key", how="left", maintain_order="left")
    unique = first.height
    non_null = df.drop_nulls("key").height
    return unique, non_null - unique, joined["rep"].to_list()


texts_strategy = st.lists(
    st.one_of(st.none(), st.just(""), st.text(alphabet=ALPHABET, max_size=12)),
    min_size=1,
    max_size=200,
)


@settings(max_examples=60, deadline=None)
@given(texts=texts_strategy, normalize=st.sampled_from(["default", "none"]), batch_rows=st.sampled_from([1, 7, 1000]))
def test_matches_reference(texts, normalize, batch_rows):
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    result = epochplan.audit(frame, normalize=normalize, batch_rows=batch_rows)
    unique, duplicate_rows, reps = reference(texts, normalize)
    assert result.rows == len(texts)
    assert result.null_rows == sum(t is None for t in texts)
    assert result.empty_rows == sum(t is not None and t.strip(WHITE_SPACE) == "" for t in texts)  # whitespace alone is empty
    assert result.exact.unique == unique
    assert result.exact.duplicate_rows == duplicate_rows
    assert result.clusters["exact_id"].to_list() == reps
    assert result.clusters["keep"].to_list() == [r == i for i, r in enumerate(reps)]


def test_reference_normaliser_agrees_on_examples():
    # Guards the reference itself: these pairs must be equal after normalisation.
    pairs = [("Ｈｅｌｌｏ\u3000World", "hello world"), ("x²", "x2"), ("Cafe\u0301", "café"), ("ΟΔΟΣ", "οδος")]
    for raw, expected in pairs:
        assert reference_normalize(raw) == expected
        frame = pl.DataFrame({"text": [raw, expected]})
        assert epochplan.audit(frame).exact.duplicate_rows == 1, raw


def test_core_normaliser_equals_the_reference_on_every_real_text(shared_data):
    # The core's normaliser has fast paths (ASCII runs eight bytes at a time, runs of characters
    # NFKC and lowercasing keep, copied whole) that the property test above reaches only through
    # a small alphabet. Every string of every real dataset (English, 27 other languages, code,
    # tool-use prompts) must come out as Python's own NFKC + lowercase + whitespace collapsing
    # gives it, whole (the prefix and suffix template texts at full length) and as the preview.
    from epochplan import _epochplan as core

    checked = 0
    for path in sorted(shared_data.glob("*.parquet")):
        frame = pl.read_parquet(path)
        for column in [c for c, dtype in frame.schema.items() if dtype == pl.String]:
            for row, text in enumerate(frame[column].to_list()):
                if text is None:
                    continue
                expected = reference_normalize(text)
                where = f"{path.name} column {column} row {row}"
                whole = len(expected)  # NFKC may lengthen a text ("…" is "..."): its normalised length
                assert core.template_text(text, "prefix", whole) == expected, where
                assert core.template_text(text, "suffix", whole) == expected, where
                assert expected.startswith(core.preview(text)), where
                checked += 1
    assert checked > 150_000  # every dataset was read (177k strings at the time of writing)
