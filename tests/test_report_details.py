"""What a reader of the HTML report, `audit --markdown` and `check`'s GitHub summary sees in the
details: the row of a conflicting group that disagrees has its text, charts keep their bars and
labels readable, long names can be told apart, and words and numbers read right."""

from __future__ import annotations

import json

import polars as pl

from conftest import run_cli
from epochplan.render.html import render_html


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
