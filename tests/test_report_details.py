"""What a reader of the HTML report, `audit --markdown` and `check`'s GitHub summary sees in the
details: the row of a conflicting group that disagrees has its text, charts keep their bars and
labels readable, long names can be told apart, and words and numbers read right."""

from __future__ import annotations

import json
import re

import polars as pl

from conftest import run_cli
from epochplan import graphemes
from epochplan.defaults import AUDIT_SCHEMA
from epochplan.render import svg
from epochplan.render.html import render_html
from epochplan.render.markdown import render_markdown
from epochplan.render.report_match import mismatches
from test_html_report import Page


def test_the_row_that_disagrees_has_its_text_past_the_first_ten(tmp_path):
    """The page shows the first row of each label; the audit kept texts of the first 10 rows of a
    group only, so a 'b' at row 11 had an empty text cell and no note."""
    data = tmp_path / "conf.parquet"
    pl.DataFrame({"text": ["same text"] * 12 + ["other"] * 3, "label": ["a"] * 11 + ["b"] + ["a"] * 3}).write_parquet(data)
    out = tmp_path / "conf.json"
    proc = run_cli("audit", str(data), "--label", "label", "--json", str(out), "--html", str(tmp_path / "conf.html"), "-q")
    assert proc.returncode == 0, proc.stderr
    group = json.loads(out.read_text())["conflicts"]["examples"][0]
    assert group["first_of_label"] == [{"row": 0, "label": "a", "text": "same text"}, {"row": 11, "label": "b", "text": "same text"}]
    html = (tmp_path / "conf.html").read_text()
    row_b = html[html.index("<td>11</td>") :].split("</tr>")[0]
    assert "<td>b</td>" in row_b and '<div class="txt">same text</div>' in row_b
    # An audit JSON written before `first_of_label`: the cell says why it is empty.
    audit = json.loads(out.read_text())
    del audit["conflicts"]["examples"][0]["first_of_label"]
    html = render_html(audit)
    assert "text not in the audit JSON" in html[html.index("<td>11</td>") :].split("</tr>")[0]


def _labelled(counts: dict[str, int], **extra) -> dict:
    return {"schema": AUDIT_SCHEMA, "rows": sum(counts.values()), "labels": {"counts": counts, "null_labels": 0, **extra}}


def test_many_classes_keep_their_bars_wide_and_largest_first():
    """Past 30 classes an "N other classes" bar took the sum of the rest: it set the x scale, the
    named bars were a few pixels wide, and it broke largest-first order."""
    page = Page(render_html(_labelled({f"intent_{i}": 100 for i in range(150)})))
    bars = page.find("rect", "labels", **{"class": "bar"})
    assert len(bars) == 30 and all("other" not in b["data-label"] for b in bars)
    chart = next(a for t, a, s in page.elements if t == "svg" and s == "labels")
    assert all(float(b["width"]) == float(chart["data-plot-width"]) for b in bars)  # equal classes fill the plot
    assert "120 other classes" in page.all_text() and "12,000 rows, at most 100 a class" in page.all_text()
    page = Page(render_html(_labelled({f"c{i}": 1000 - i for i in range(40)})))
    values = [float(b["data-value"]) for b in page.find("rect", "labels", **{"class": "bar"})]
    assert values == sorted(values, reverse=True) == [1000.0 - i for i in range(30)]


def test_long_split_names_can_be_told_apart():
    """Split names were cut to their first 80 characters in the tables, headings and `--markdown`,
    and the full name was nowhere: two that differ only at the end read the same."""
    stem = "eval_" + "very_long_split_name_" * 5
    names = [stem + "alpha", stem + "omega"]
    split = {"rows": 10, "null_rows": 0, "exact_in_train": 1, "near_in_train": 2, "examples": []}
    audit = {"schema": AUDIT_SCHEMA, "rows": 100, "leakage": {n: dict(split) for n in names}}
    page = Page(render_html(audit))
    codes = page.find("code", "leakage")
    assert sorted({c.get("title") for c in codes}) == names  # the whole name, in the tooltip
    html = render_html(audit)
    for n in names:
        assert graphemes.cut_middle(n, 80) in html and graphemes.cut_middle(n, 80).endswith(n[-10:])
    markdown = render_markdown(audit)
    assert all(n.replace("_", "\\_") in markdown for n in names)
    # The middle cut never splits a visible character at either end.
    flag, family = "\U0001f1eb\U0001f1f7", "👨\u200d👩\u200d👧"
    for text in (flag * 30, family * 20, "e\u0302\u0301" * 40):
        for limit in range(3, 30):
            head, _, tail = graphemes.cut_middle(text, limit).partition("…")
            assert text.startswith(head) and text.endswith(tail)
            assert graphemes.cut_point(text, len(head)) == len(head) and graphemes.start_point(text, len(text) - len(tail)) == len(
                text
            ) - len(tail)


def test_a_check_with_other_eval_splits_than_the_audit_is_named(tmp_path):
    """`report AUDIT --check CHECK`, the check run with --eval and the audit without: the page said
    "No --eval split given" while Checks listed leakage checks passing, with no mismatch warning."""
    train, val = tmp_path / "t.parquet", tmp_path / "v.parquet"
    pl.DataFrame({"text": [f"sentence number {i} of the train set" for i in range(40)]}).write_parquet(train)
    pl.DataFrame({"text": ["sentence number 3 of the train set", "something else entirely"]}).write_parquet(val)
    assert run_cli("audit", str(train), "--json", str(tmp_path / "a.json"), "-q").returncode == 0
    proc = run_cli(
        "check", str(train), "--eval", f"val={val}", "--json", str(tmp_path / "c.json"), "--exit-zero", env={"GITHUB_ACTIONS": ""}
    )
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("report", str(tmp_path / "a.json"), "--check", str(tmp_path / "c.json"), "-o", str(tmp_path / "r.html"))
    assert proc.returncode == 0, proc.stderr
    assert "other eval splits" in proc.stderr and "'val' not in this audit" in proc.stderr
    assert "other eval splits" in Page((tmp_path / "r.html").read_text()).all_text()
    # Same names, other rows; and a check report without its audit (split names from the check ids).
    audit = {"schema": AUDIT_SCHEMA, "rows": 40, "leakage": {"val": {"rows": 5}}}
    check = {"audit": {"leakage": {"val": {"rows": 2}}}, "checks": []}
    assert any("'val' has 2 rows in the check, 5 in this audit" in m for m in mismatches(audit, None, check))
    assert mismatches(audit, None, {"audit": {"leakage": {"val": {"rows": 5}}}}) == []
    assert any("'val' not in the check" in m for m in mismatches(audit, None, {"checks": [{"id": "leakage-exact:other"}]}))


def _bin_labels(chart: str) -> list[tuple[float, str, str]]:
    """(x, anchor, text) of the range labels under a histogram's bars."""
    y = f'y="{svg.TOP + svg.PLOT_H + 14}"'
    return [(float(x), a, t) for x, a, t in re.findall(rf'<text class="tick" x="([\d.]+)" {y} text-anchor="(\w+)">([^<]*)</text>', chart)]


def test_cluster_size_labels_neither_collide_nor_mix_formats():
    """One cluster of 50,000 copies beside 40k unique texts: the range labels ran together, the
    last was clipped, and "2,049–4,096" stood beside "8.19k–16.4k". Written out, as "512–1,023"
    is (not "512–1.02k", read as ending near 1,020), and thinned to fit."""
    from epochplan.render.sections import size_bins

    chart = svg.histogram(size_bins([[1, 40_000], [50_000, 1]]), x_label="cluster size (rows)", y_label="clusters", log_y=True)
    labels = _bin_labels(chart)
    assert len(labels) >= 4 and not any("k" in t for _, _, t in labels)  # one format: written out, never "8.19k" beside "2,049"
    assert labels[-1][2] == "32,769–65,536"  # the largest bin named
    edges = []
    for x, anchor, text in labels:
        width = 7.0 * len(text)  # wider than the 11px font's digits
        left = {"start": x, "middle": x - width / 2, "end": x - width}[anchor]
        edges.append((left, left + width))
    assert all(0 <= a and b <= svg.WIDTH for a, b in edges)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(edges, edges[1:]))
    # Below 10,000 the ranges stay written out.
    small = _bin_labels(svg.histogram(size_bins([[1, 10], [2000, 1]]), x_label="x", y_label="y"))
    assert [t for _, _, t in small][-1] == "1,025–2,048"


def test_github_summary_previews_end_on_whole_characters(tmp_path):
    """`check`'s job summary wrote the core's 80-code-point previews as they were: a dangling
    zero-width joiner, a lone regional indicator, a letter without its accent, and no "…"."""
    texts = ["a" * 78 + "👨\u200d👩\u200d👧", "b" * 79 + "e\u0301 more", "d" * 77 + "🇯🇵🇺🇸 tail", "short text"]
    data = tmp_path / "g.parquet"
    pl.DataFrame({"text": [t for t in texts for _ in range(3)]}).write_parquet(data)
    summary = tmp_path / "gh.md"
    proc = run_cli("check", str(data), "--exit-zero", env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stderr
    spans = re.findall(r"x3: `([^`]*)`", summary.read_text())
    assert len(spans) == 8  # four clusters, exact and near
    for span in spans:
        if span == "short text":
            continue
        head = span.removesuffix("…")
        assert head != span and any(t.startswith(head) for t in texts), span
        original = next(t for t in texts if t.startswith(head))
        assert graphemes.cut_point(original, len(head)) == len(head), span  # no visible character split


def test_empty_and_blank_texts_are_named_and_one_row_is_singular(tmp_path):
    """An empty or whitespace-only text was a blank grey strip; one identical member read
    "Rows 3 have exactly this text as the representative."."""
    from epochplan.render.text import shown, word_diff

    assert "(empty)" in shown("", 100) and "(whitespace only)" in shown("  \t ", 100) and "(empty)" not in shown("x", 100)
    assert "(whitespace only)" in word_diff("a b", "   ", 100)[1]
    data = tmp_path / "d.parquet"
    pl.DataFrame({"text": ["   ", "   ", "", "", "one two three", "one two three", "other words here"]}).write_parquet(data)
    page = tmp_path / "d.html"
    assert run_cli("audit", str(data), "--html", str(page), "-q").returncode == 0
    text = Page(page.read_text()).all_text()
    assert "(whitespace only)" in text and "(empty)" in text
    assert "Row 5 has exactly this text." in text and "Rows 5 have" not in text


def test_the_seq_len_label_sits_above_every_bar():
    """The seq_len marker's label was drawn inside the plot's top, over the tallest token bar."""
    bins = [(0, 64, 10), (64, 128, 500), (128, 256, 20)]
    chart = svg.histogram(bins, x_label="length in tokens", y_label="texts", markers=[(128, "seq_len 128")])
    label_y = float(re.search(r'<g class="mark"[^>]*>.*?<text x="[\d.]+" y="([\d.-]+)"', chart).group(1))
    bar_tops = [float(y) for y in re.findall(r'<rect class="bar" x="[\d.]+" y="([\d.]+)"', chart)]
    assert label_y <= min(bar_tops) and label_y - 11 >= 0  # a whole 11px line between the picture's top and the bars
