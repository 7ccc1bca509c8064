"""Example texts cut for the JSON and the reports never split a visible character: the tone mark
of an NFD Vietnamese letter, an emoji's skin tone or family, a flag (helper probe: "…Tiê…" once
showed another letter than the text had)."""

from __future__ import annotations

import unicodedata

import polars as pl

import epochplan
from epochplan import graphemes
from epochplan.render.markdown import render_markdown
from epochplan.render.text import plain, shown

VIETNAMESE = unicodedata.normalize("NFD", "Tiếng Việt có dấu thanh và dấu mũ chồng lên nhau: ế ề ể ễ ệ. ")
EMOJI = "a👋🏽b👨\u200d👩\u200d👧\u200d👦c🇫🇷🇩🇪d❤\ufe0fe"


def whole_characters(head: str, text: str) -> bool:
    """`head` is a prefix of `text` that does not end inside a visible character."""
    rest = text[len(head) :]
    if not text.startswith(head) or not rest:
        return text.startswith(head)
    if unicodedata.category(rest[0]) in ("Mn", "Mc", "Me") or rest[0] in "\u200d\ufe0f" or 0x1F3FB <= ord(rest[0]) <= 0x1F3FF:
        return False
    if head.endswith("\u200d"):
        return False
    flags = len(head) - len(head.rstrip("".join(chr(c) for c in range(0x1F1E6, 0x1F200))))
    return not (0x1F1E6 <= ord(rest[0]) <= 0x1F1FF and flags % 2)


def test_cuts_keep_whole_characters_at_every_length():
    for text in (VIETNAMESE, EMOJI):
        for limit in range(2, len(text) + 2):
            cut = graphemes.cut(text, limit, "…")
            assert len(cut) <= limit
            assert whole_characters(cut.removesuffix("…"), text), (limit, cut)
            head = shown(text, limit)  # the HTML report's cut (escaped, a note of the rest)
            assert whole_characters(head.split('<span class="more">')[0], text), (limit, head)
            assert whole_characters(plain(text, limit).removesuffix("…"), text), limit


def test_the_audit_json_and_markdown_examples_end_on_whole_characters():
    base = VIETNAMESE * 40
    start = next(o for o in range(len(VIETNAMESE)) if unicodedata.category(base[o + 1999]) == "Mn")
    long = base[start : start + 2100]  # a plain cut at 1999 characters (+ "…") would drop a tone mark
    result = epochplan.audit(pl.DataFrame({"text": [long, long, "other text"]}), near=False)
    shown_text = result.to_dict()["exact"]["top"][0]["text"]
    assert shown_text.endswith("…") and len(shown_text) <= 2000
    assert whole_characters(shown_text.removesuffix("…"), long)
    spans = [s for s in render_markdown(result.to_dict()).split("`") if s.startswith(long[:8])]
    assert spans and all(s.endswith("…") and whole_characters(s.removesuffix("…"), long) for s in spans), spans


def test_the_page_does_not_undercount_a_text_the_json_cut():
    # A 100,000-character text is 2,000 in the JSON; the page showed 1,000 and "1,000 more
    # characters", as if that were all.
    long = "word " * 20_000
    result = epochplan.audit(pl.DataFrame({"text": [long, long, "other"]}), near=False)
    excerpt = result.to_dict()["exact"]["top"][0]["text"]
    assert excerpt.endswith("…") and len(excerpt) == 2000
    assert "… at least 1,000 more characters" in shown(excerpt, 1000)
    assert "… 5 more characters" in shown("x" * 15, 10)  # a text that was not cut: the exact rest


def test_cluster_previews_end_on_a_whole_visible_character(tmp_path):
    """The core's 80-character cluster preview leaves out a visible character that would pass
    80 (it once kept น of น้ำ, the man of a family, one regional indicator of a flag)."""
    from conftest import audit_json

    family = "👨\u200d👩\u200d👧\u200d👦"
    tails = {"thai": "น้ำ", "family": family, "flag": "🇯🇵", "vietnamese": "e\u0302\u0301"}
    rows = [f"{name} {'x' * (78 - len(name))}{tail} more" for name, tail in tails.items() for _ in range(2)]
    pl.DataFrame({"text": rows}).write_parquet(tmp_path / "d.parquet")
    top = audit_json(str(tmp_path / "d.parquet"), "--normalize", "none", "--no-near")["exact"]["top"]
    previews = {t["preview"].split()[0]: t["preview"] for t in top}
    assert set(previews) == set(tails)
    for name, tail in tails.items():
        text = f"{name} {'x' * (78 - len(name))}{tail} more"
        assert previews[name] == f"{name} {'x' * (78 - len(name))}", name
        assert whole_characters(previews[name], text) and len(previews[name]) <= 80
    for name, text in (("fits", "x" * 77 + "น้ำ" + "yyy"), ("plain", "y" * 100)):
        assert len(epochplan._epochplan.preview(text)) == 80, name
