"""Words and numbers as the report writes them on every output: a count of one epoch in the
singular, counts with thousands separators, one way of writing per cent, code in warnings set as
code on the page, an entropy short of 1 never written as 1, and cut texts counted in graphemes."""

from __future__ import annotations

import epochplan
from epochplan.defaults import AUDIT_SCHEMA
from epochplan.render.html import render_html
from epochplan.render.markdown import render_markdown
from epochplan.render.plan_text import render
from test_html_report import Page


def _audit(**extra) -> dict:
    return {"schema": AUDIT_SCHEMA, "rows": 100, **extra}


def test_one_epoch_is_singular_and_others_plural():
    """The summary, the plan's curve, the Markdown headline and the plan text wrote "1 epochs"."""
    one = epochplan.plan(samples=100, batch=10, epochs=1).to_dict()
    html = Page(render_html(_audit(), one)).all_text()
    assert "1 epoch, 10 steps" in html and "planned: 1 epoch →" in html and "1 epochs" not in html
    assert "Plan (finetune): 1 epoch (range " in render_markdown(_audit(), one)
    assert " - 1 epoch, 10 optimizer steps" in render(epochplan.plan(samples=100, batch=10, epochs=1), "hf")
    more = epochplan.plan(samples=100, batch=10, epochs=1.5).to_dict()
    assert "1.5 epochs, 15 steps" in Page(render_html(_audit(), more)).all_text()
    assert "1.5 epochs (range " in render_markdown(_audit(), more)


def _duplicated(**setup) -> epochplan.Plan:
    """45,060 rows, 20,004 of them unique: the plan's duplicate warning."""
    exact = {"unique": 20004, "duplicate_rows": 25056, "largest_cluster": 3, "clusters": 100, "top": []}
    return epochplan.plan(_audit(rows=45060, null_rows=0, empty_rows=0, exact=exact), **setup)


def test_counts_in_plan_messages_have_thousands_separators():
    """ "an epoch over raw rows is 11265 steps, not 5001", "global batch 4096" beside 1,893 samples."""
    p = _duplicated(batch=4, epochs=1)
    assert "an epoch over raw rows is 11,265 steps, not 5,001;" in p.warnings[0]
    big = epochplan.plan(samples=1000, batch=1024, gpus=4, epochs=1)
    assert any("global batch 4,096 is larger than the 1,000 samples" in w for w in big.warnings)
    assert "samples / global batch 4,096 = " in str(big.to_dict()["rationale"])
    assert "(global batch 4,096)" in render(big, "hf")


def test_plan_warnings_write_per_cent_as_the_page_does():
    """The page's facts write "(25.4 %)"; the plan's warnings beside them wrote "(74.6%)"."""
    warning = _duplicated(batch=4, epochs=1).warnings[0]
    assert "non-null rows (55.6 %) are exact duplicates" in warning and "%)" not in warning.replace(" %)", "")
    exact = {"unique": 100, "duplicate_rows": 0, "unique_tokens": 20000, "top": []}
    audit = _audit(null_rows=0, exact=exact, lengths={"tokens": {"estimated": True, "unique_lengths": [[100, 70], [400, 30]]}})
    cut = [w for w in epochplan.plan(audit, seq_len=256, batch=4).warnings if "are longer than" in w]
    assert cut and cut[0].startswith("30.0 % of the unique samples") and "tokens (21.6 %) would be cut off" in cut[0]
    from epochplan.planning.model import percent  # the planner's one rule for a share

    assert percent(0.9996) == "> 99.9 %" and percent(0.0004) == "< 0.1 %"


def test_the_characters_left_out_of_a_cut_text_are_counted_as_seen():
    """ "… 12 more characters" counted code points: a family emoji (7 of them) was 7 characters."""
    from epochplan.render.text import shown

    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
    assert "… 3 more characters" in shown("x" * 10 + family + "\U0001f1eb\U0001f1f7" + "e\u0301", 10)
    assert "… 1 more character<" in shown("x" * 10 + family, 10)


def test_code_in_warnings_is_set_as_code_on_the_page_only():
    """The plan's "(`epochplan dedup`)" showed its backticks on the page; a span from the data
    stays text (escaped before it is set as code), and the JSON keeps the backticks."""
    p = _duplicated(batch=4, epochs=1).to_dict()
    audit = _audit(warnings=[{"id": "template", "message": "run `<b>x</b>` or `a & b`", "share": 0.9, "text": ""}])
    html = render_html(audit, p)
    assert "(<code>epochplan dedup</code>)" in html and "`epochplan dedup`" not in html
    assert "run <code>&lt;b&gt;x&lt;/b&gt;</code> or <code>a &amp; b</code>" in html
    assert "`epochplan dedup`" in p["warnings"][0]


def test_an_entropy_short_of_one_is_never_written_as_one():
    """Normalised entropy 0.9999 beside an imbalance of 4.67 read "1" on the page ("1.000" in the
    terminal): perfectly balanced next to a ratio that says it is not."""
    audit = _audit(labels={"counts": {"a": 70, "b": 15, "c": 15}, "null_labels": 0, "imbalance_ratio": 4.67, "entropy_normalized": 0.9999})
    assert "<dt>normalised entropy</dt><dd>0.9999</dd>" in render_html(audit)
    from epochplan.render.blocks import up_to_one  # the page's and the terminal's rule

    assert [up_to_one(x) for x in (0.99996, 1.0, 0.5, 0.82345678)] == ["0.99996", "1", "0.5", "0.8235"]
    assert up_to_one(1 - 2**-52) != "1"
