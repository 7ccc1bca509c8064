"""The HTML report (`epochplan.render.html.render_html`), parsed with the standard library's
html.parser: every section is there, the plots carry the numbers they draw, hostile text stays
inert text, the page stays under 1 MB at any size, nothing outside the file is referenced, and
`examples=False` lets no text from the data through.

Reports are rendered from real audits (the CLI on the shared data, which writes the example texts
and histograms the report reads) and from copies of them doctored with hostile or huge content.
`reference_from_data` recomputes those keys from the data with polars, independently of the core,
and the audit's own keys are checked against it.
"""

from __future__ import annotations

import copy
import json
import math
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import polars as pl
import pytest

from conftest import SHARED_DATA, run_cli
from epochplan.errors import InputError
from epochplan.planning import effective_data_ratio
from epochplan.planning.schedule import lr_multiplier
from epochplan.render import svg
from epochplan.render.html import MAX_BYTES, render_html
from epochplan.render.text import word_diff

SECTIONS = ["summary", "duplicates", "lengths", "labels", "leakage", "plan"]
TEXT_CAP = 2000


# --- parsing ----------------------------------------------------------------------------------
class Page(HTMLParser):
    """Every element with its attributes and the section it sits in, and the text shown."""

    def __init__(self, markup: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str], str | None]] = []
        self.sections: list[str | None] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._in_style = False
        self.feed(markup)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "section":
            self.sections.append(attributes.get("id"))
        self.elements.append((tag, attributes, self.sections[-1] if self.sections else None))
        self._in_style = tag == "style"

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), self.sections[-1] if self.sections else None))

    def handle_endtag(self, tag):
        if tag == "section":
            self.sections.pop()
        self._in_style = False

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)

    def find(self, tag: str | None = None, section: str | None = None, **attrs: str) -> list[dict[str, str]]:
        return [
            a
            for t, a, s in self.elements
            if (tag is None or t == tag)
            and (section is None or s == section)
            and all(a.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def ids(self) -> list[str]:
        return [a["id"] for _, a, _ in self.elements if "id" in a]

    def all_text(self) -> str:
        return "".join(self.text)


# --- real audits and the keys the report reads ------------------------------------------------
def _cut(text):
    return None if text is None else (text if len(text) <= TEXT_CAP else text[: TEXT_CAP - 1] + "…")


def _pow2_bins(values: pl.Series) -> list[list[int]]:
    top = int(values.max() or 0)
    edges = [0, 1] + [2**k for k in range(1, max(1, math.ceil(math.log2(top + 1))) + 1)]
    return [[lo, hi, int(((values >= lo) & (values < hi)).sum())] for lo, hi in zip(edges, edges[1:])]


def reference_from_data(audit: dict, data: Path, clusters: Path, evals: dict[str, Path], text: str = "text") -> dict:
    """`audit` with the example texts and histograms recomputed from the data with polars, as the
    README documents them: the reference the audit's own keys are checked against."""
    audit = copy.deepcopy(audit)
    texts = pl.read_parquet(data).get_column(text)
    table = pl.read_parquet(clusters)
    for level in ("exact", "near"):
        ids = table.get_column(f"{level}_id").drop_nulls()
        sizes = ids.value_counts(name="size").get_column("size")
        audit[level]["size_histogram"] = [[int(s), int(c)] for s, c in sizes.value_counts(name="clusters").sort("size").iter_rows()]
        for cluster in audit[level]["top"]:
            rows = table.filter(pl.col(f"{level}_id") == cluster["row"]).get_column("row").to_list()
            cluster["text"] = _cut(texts[cluster["row"]])
            cluster["members"] = [{"row": r, "text": _cut(texts[r])} for r in rows if r != cluster["row"]]  # all of them
    lengths = pl.DataFrame({"chars": texts.str.len_chars(), "words": texts.str.extract_all(r"\S+").list.len()}).drop_nulls()
    for unit in ("chars", "words"):
        audit["lengths"][unit]["histogram"] = _pow2_bins(lengths.get_column(unit))
    for name, path in evals.items():
        eval_texts = pl.read_parquet(path).get_column(text)
        for example in audit["leakage"][name]["examples"]:
            example["eval_text"] = _cut(eval_texts[example["eval_row"]])
            example["train_text"] = _cut(texts[example["train_row"]])
    for group in (audit.get("conflicts") or {}).get("examples", []):
        group["texts"] = [_cut(texts[r]) for r in group["rows"][:10]]
        firsts: dict = {}
        for row, label in zip(group["rows"], group["labels"]):
            firsts.setdefault(label, row)
        group["first_of_label"] = [{"row": r, "label": label, "text": _cut(texts[r])} for label, r in list(firsts.items())[:10]]
    return audit


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """A real audit, plan and check of chatterbot_english with an eval split and a label, via the CLI."""
    tmp = tmp_path_factory.mktemp("real")
    data = SHARED_DATA / "chatterbot_english.parquet"
    val = tmp / "val.parquet"
    pl.read_parquet(data)[::40].write_parquet(val)
    common = [str(data), "--eval", f"val={val}", "--label", "file"]
    proc = run_cli("audit", *common, "--json", str(tmp / "a.json"), "--clusters", str(tmp / "c.parquet"), "-q")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("plan", "--audit", str(tmp / "a.json"), "--seq-len", "64", "--batch", "16", "-o", str(tmp / "p.json"))
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("check", *common, "--json", str(tmp / "check.json"), "--exit-zero")
    assert proc.returncode == 0, proc.stderr
    audit = json.loads((tmp / "a.json").read_text())
    return {
        "audit": audit,
        "plan": json.loads((tmp / "p.json").read_text()),
        "check": json.loads((tmp / "check.json").read_text()),
        "full": audit,
        "dir": tmp,
        "reference": reference_from_data(audit, data, tmp / "c.parquet", {"val": val}),
    }


# --- the audit carries what the report needs ----------------------------------------------------
def test_audit_keys_match_the_data(real):
    """Histograms and example texts in the audit JSON, checked against polars on the same data."""
    audit, ref = real["audit"], real["reference"]
    for level in ("exact", "near"):
        assert audit[level]["size_histogram"] == ref[level]["size_histogram"]
        assert sum(s * c for s, c in audit[level]["size_histogram"]) == audit["rows"] - audit["null_rows"]
        assert audit[level]["top"], level
        for mine, theirs in zip(audit[level]["top"], ref[level]["top"], strict=True):
            assert mine["text"] == theirs["text"] and mine["text"]
            by_row = {m["row"]: m["text"] for m in theirs["members"]}
            assert 0 < len(mine["members"]) == min(5, mine["count"] - 1)
            for member in mine["members"]:
                assert by_row[member["row"]] == member["text"]  # a member of this cluster, its text as read
    for cluster, theirs in zip(audit["exact"]["top"], ref["exact"]["top"], strict=True):
        assert [m["row"] for m in cluster["members"]] == [m["row"] for m in theirs["members"]][:5]  # lowest rows
    for unit in ("chars", "words"):
        assert audit["lengths"][unit]["histogram"] == ref["lengths"][unit]["histogram"], unit
    examples = audit["leakage"]["val"]["examples"]
    assert examples and examples == ref["leakage"]["val"]["examples"]
    groups = audit["conflicts"]["examples"]
    assert groups and groups == ref["conflicts"]["examples"]
    assert all(len(g["texts"]) == min(10, len(g["rows"])) for g in groups)


def test_long_texts_are_cut_to_2000_characters(tmp_path):
    long_text = "start " + "x" * 5000
    data = tmp_path / "d.parquet"
    pl.DataFrame({"text": [long_text, long_text, "short", "short"]}).write_parquet(data)
    proc = run_cli("audit", str(data), "--json", str(tmp_path / "a.json"), "-q")
    assert proc.returncode == 0, proc.stderr
    top = json.loads((tmp_path / "a.json").read_text())["exact"]["top"]
    assert [len(t["text"]) for t in top] == [TEXT_CAP, 5]
    assert top[0]["text"] == long_text[: TEXT_CAP - 1] + "…" and top[0]["members"] == [{"row": 1, "text": top[0]["text"]}]


# --- sections ---------------------------------------------------------------------------------
def test_every_section_from_the_audit_json(real):
    page = Page(render_html(real["audit"], real["plan"], real["check"]))
    assert [i for i in page.ids() if i in SECTIONS + ["checks"]] == SECTIONS + ["checks"]
    text = page.all_text()
    assert "size_histogram" not in text and "lengths.chars.histogram" not in text  # nothing missing
    assert "4,419" in text and "1,893" in text  # rows, near-unique
    for section in ("duplicates", "lengths", "labels", "plan"):
        assert page.find("svg", section), f"no chart in #{section}"


def test_sections_without_data_say_why():
    audit = {
        "schema": "epochplan.audit/1",
        "rows": 3,
        "null_rows": 3,
        "empty_rows": 0,
        "exact": {"unique": 0, "duplicate_rows": 0, "clusters": 0, "largest_cluster": 0, "top": []},
        "lengths": {"chars": None, "words": None, "tokens_estimate": 0},
        "labels": None,
    }
    page = Page(render_html(audit))
    assert [i for i in page.ids() if i in SECTIONS] == SECTIONS
    text = page.all_text()
    assert "No --label given" in text and "No --eval split given" in text and "No plan" in text
    assert "Every text is null" in text and "--no-near" in text


def test_not_an_audit_is_one_clear_error(real):
    with pytest.raises(InputError, match="schema 'epochplan.audit/1'.*'epochplan.plan/1'"):
        render_html(real["plan"])
    with pytest.raises(InputError, match="epochplan audit --json"):
        render_html([1, 2])  # type: ignore[arg-type]


def test_check_alone_takes_its_audit(real):
    page = Page(render_html(None, check=real["check"]))
    assert "checks" in page.ids() and "gate:" in page.all_text()


def test_rendering_is_deterministic(real):
    assert render_html(real["full"], real["plan"], real["check"]) == render_html(real["full"], real["plan"], real["check"])


# --- plots carry their data -------------------------------------------------------------------
def _bars(page: Page, section: str, index: int = 0) -> tuple[dict, list[dict]]:
    charts = [a for t, a, s in page.elements if t == "svg" and s == section]
    chart = charts[index]
    start = next(i for i, (t, a, _) in enumerate(page.elements) if a is chart)
    bars = []
    for tag, attrs, _ in page.elements[start + 1 :]:
        if tag == "svg":
            break
        if tag == "rect" and attrs.get("class") == "bar":
            bars.append(attrs)
    return chart, bars


def test_cluster_size_histogram_on_log_axes(real):
    page = Page(render_html(real["full"], real["plan"]))
    for index, level in enumerate(("exact", "near")):
        chart, bars = _bars(page, "duplicates", index)
        assert chart["data-scale"] == "log"
        expected: dict[int, int] = {}
        for size, clusters in real["full"][level]["size_histogram"]:
            k = math.ceil(math.log2(size))
            expected[k] = expected.get(k, 0) + clusters
        assert [int(b["data-count"]) for b in bars] == [expected.get(k, 0) for k in range(max(expected) + 1)]
        assert sum(int(b["data-count"]) for b in bars) == real["full"][level]["unique"]  # one cluster per unique text
        lo, hi = map(float, chart["data-domain"].split())
        plot = float(chart["data-plot-height"])
        for bar in bars:
            count = int(bar["data-count"])
            want = plot * math.log10(count / lo) / math.log10(hi / lo) if count else 0.0
            assert float(bar["height"]) == pytest.approx(want, abs=0.01)


def test_length_histograms_heights_proportional_to_counts(real):
    page = Page(render_html(real["full"], real["plan"]))
    for index, unit in enumerate(("chars", "words")):
        chart, bars = _bars(page, "lengths", index)
        assert chart["data-scale"] == "linear"
        histogram = real["full"]["lengths"][unit]["histogram"]
        assert [(float(b["data-lo"]), float(b["data-hi"]), int(b["data-count"])) for b in bars] == [
            tuple(map(float, h[:2])) + (h[2],) for h in histogram
        ]
        tallest = max(bars, key=lambda b: int(b["data-count"]))
        ratio = float(tallest["height"]) / int(tallest["data-count"])
        for bar in bars:
            assert float(bar["height"]) == pytest.approx(ratio * int(bar["data-count"]), abs=0.01)


def test_token_lengths_with_the_sequence_length_marked(real):
    audit = copy.deepcopy(real["full"])
    audit["lengths"]["tokens"] = {
        "mean": 14.2,
        "p50": 9,
        "p90": 30,
        "p99": 90,
        "max": 300,
        "total": 60000,
        "estimated": False,
        "tokenizer": "gpt2/tokenizer.json",
        "histogram": [[0, 16, 3000], [16, 64, 1300], [64, 256, 110], [256, 512, 9]],
    }
    page = Page(render_html(audit, real["plan"]))
    marks = page.find("g", "lengths", **{"class": "mark"})
    assert [float(m["data-value"]) for m in marks] == [64.0] == [float(real["plan"]["seq_len"])]
    assert "gpt2/tokenizer.json" in page.all_text()
    del audit["lengths"]["tokens"]["histogram"]  # quantile bars, still marked
    page = Page(render_html(audit, real["plan"]))
    assert [float(m["data-value"]) for m in page.find("g", "lengths", **{"class": "mark"})] == [64.0]
    assert [float(b["data-value"]) for b in page.find("rect", "lengths", **{"class": "bar"}) if b.get("data-label") == "p99"][-1] == 90.0


def test_label_bars_and_conflicts(real):
    page = Page(render_html(real["full"]))
    counts = real["full"]["labels"]["counts"]
    bars = page.find("rect", "labels", **{"class": "bar"})
    assert {b["data-label"]: int(float(b["data-value"])) for b in bars} == counts
    widths = {b["data-label"]: float(b["width"]) for b in bars}
    top = max(counts, key=counts.get)
    for label, count in counts.items():
        assert widths[label] == pytest.approx(widths[top] * count / counts[top], abs=0.01)
    first = real["full"]["conflicts"]["examples"][0]
    assert first["texts"][0].strip()[:30] in page.all_text()


def test_plan_curve_and_schedule(real):
    plan = real["plan"]
    page = Page(render_html(real["audit"], plan))
    point = page.find("circle", "plan", **{"class": "point"})[0]
    planned = plan["epochs"]["planned"]
    assert float(point["data-x"]) == planned
    assert float(point["data-y"]) == pytest.approx(effective_data_ratio(planned)) == pytest.approx(plan["effective_data_ratio"], abs=1e-3)
    lines = [float(v["data-x"]) for v in page.find("g", "plan", **{"class": "vline"})]
    assert lines == list(range(plan["steps_per_epoch"], plan["total_steps"], plan["steps_per_epoch"]))
    bands = page.find("rect", "plan", **{"class": "band"})
    assert [(float(b["data-x0"]), float(b["data-x1"])) for b in bands if "data-x0" in b][-1] == (0.0, plan["warmup_steps"])
    # the drawn linear schedule: at warm-up's end the line is at the top, at total_steps at 0
    charts = [a for t, a, s in page.elements if t == "svg" and s == "plan"]
    lr_chart = charts[-1]
    x0, x1 = map(float, lr_chart["data-domain"].split())
    linear = next(p for p in page.find("polyline", "plan") if p["data-series"].startswith("linear"))
    coords = [tuple(map(float, pair.split(","))) for pair in linear["points"].split()]
    top_y = min(y for _, y in coords)
    bottom_y = max(y for _, y in coords)
    steps = [round((x - svg.LEFT) / svg.PLOT_W * (x1 - x0)) for x, _ in coords]
    ys = dict(zip(steps, (y for _, y in coords)))
    assert ys[plan["warmup_steps"]] == top_y and ys[plan["total_steps"]] == bottom_y == ys[0]
    for step, y in ys.items():
        share = (bottom_y - y) / (bottom_y - top_y)
        assert share == pytest.approx(lr_multiplier(step, plan["total_steps"], plan["warmup_steps"]), abs=0.01)


# --- examples, diffs and escaping -------------------------------------------------------------
def test_side_by_side_examples_with_differences_marked(real):
    audit = copy.deepcopy(real["full"])
    cluster = audit["near"]["top"][0]
    cluster["text"] = "My printer is not printing at all."
    cluster["members"][0].update(text="My scanner is not printing at all!", similarity=0.71)
    page = render_html(audit, real["plan"])
    parsed = Page(page)
    assert parsed.find("table", "duplicates", **{"class": "pairs"})
    assert "My <del>printer</del> is not printing at <del>all.</del>" in page
    assert "My <ins>scanner</ins> is not printing at <ins>all!</ins>" in page
    assert "0.71" in parsed.all_text()
    # chatterbot's exact copies repeat the representative's text verbatim: named, not paired
    exact = real["full"]["exact"]["top"][0]
    rows = ", ".join(f"{m['row']:,}" for m in exact["members"])
    assert f"Rows {rows} have exactly this text" in parsed.all_text()
    assert f"{exact['count'] - 1 - len(exact['members']):,} more members not shown" in parsed.all_text()
    assert parsed.find("table", "leakage", **{"class": "pairs"})  # each eval row beside its train match


def test_word_diff_marks_only_the_words_that_differ():
    left, right = word_diff("the cat sat on the mat", "the dog sat on  the mat today", 1000)
    assert left == "the <del>cat</del> sat on the mat"
    assert right == "the <ins>dog</ins> sat on  the mat <ins>today</ins>"
    left, right = word_diff("a <b> c", "a <i> c", 1000)
    assert "<del>&lt;b&gt;</del>" in left and "<ins>&lt;i&gt;</ins>" in right
    left, _ = word_diff("x" * 50, "y", 10)
    assert "40 more characters" in left


def test_word_diff_of_unspaced_scripts_and_of_texts_the_json_cut():
    """A Chinese sentence was one word: one changed character marked the whole sentence. A text
    the audit JSON had cut (ending in "…") was said to have "1,000 more characters", not "at least"."""
    left, right = word_diff("今天天气很好我们一起去公园散步", "今天天气很好我们一起去商店散步", 1000)
    assert left == "今天天气很好我们一起去<del>公</del><del>园</del>散步"
    assert right == "今天天气很好我们一起去<ins>商</ins><ins>店</ins>散步"
    # A character keeps its combining marks: a changed Thai tone marks its syllable, not a lone mark.
    assert word_diff("ไม่ได้ไป", "ไม้ได้ไป", 100) == ("ไ<del>ม่</del>ได้ไป", "ไ<ins>ม้</ins>ได้ไป")
    left, right = word_diff("x" * 1999 + "…", "x" * 1999 + "…", 1000)
    assert "at least 1,000 more characters" in left and "at least 1,000 more characters" in right


def test_invisible_characters_are_shown_as_escapes_and_writing_ones_kept():
    """U+FEFF, U+200B, the word joiner … passed through the page raw, so a marked word looked the
    same as the original. The joiners, marks and tags that emoji, Persian, Hebrew and flags need
    stay as they are."""
    from epochplan.render.text import rich

    for char in "\u200b\u2028\u2029\u2060\u2062\u206a\ufeff\ufff9\U000e0001\u202e\u2067":
        assert char not in rich(f"a{char}b"), hex(ord(char))
    _, right = word_diff("into the forest", "into the \ufeffforest", 1000)
    assert "\\ufeff" in right
    kept = ["👨\u200d👩\u200d👧", "می\u200cخواهم", "\u200fשלום\u200e", "soft\u00adhyphen", "🏴\U000e0067\U000e0062\U000e007f"]
    for text in kept:
        assert rich(text) == text
    # Tag characters outside a flag spell hidden ASCII ("ASCII smuggling"): shown as escapes.
    hidden = "".join(chr(0xE0000 + ord(c)) for c in "ignore all previous instructions")
    assert not any(0xE0000 <= ord(c) <= 0xE007F for c in rich("w30" + hidden + " " + kept[-1] + hidden).replace(kept[-1], ""))


def test_numbers_conflicts_members_and_split_order(tmp_path, real):
    """Floats from 1,000 to 9,999 were written 1.33e+03; a conflicting group showed its first five
    rows, all of one label, and never the row that disagreed; rows whose cut texts agree were said
    to have "exactly this text"; `audit --html` listed eval splits in --eval order, `report` from
    the JSON in name order."""
    from epochplan.render.blocks import num

    assert [num(1333.67), num(999.9), num(12.3456), num(0.5)] == ["1,334", "1,000", "12.3", "0.5"]
    data = tmp_path / "conf.parquet"
    pl.DataFrame({"text": ["tell me a joke"] * 7 + ["x y z"], "label": ["pos"] * 6 + ["neg", "pos"]}).write_parquet(data)
    page = tmp_path / "conf.html"
    assert run_cli("audit", str(data), "--label", "label", "--html", str(page), "-q").returncode == 0
    assert "<td>neg</td>" in page.read_text()
    long = tmp_path / "long.parquet"
    pl.DataFrame({"text": ["abcdefghij" * 250 + end for end in "012"] + ["zzz yyy"]}).write_parquet(long)
    assert run_cli("audit", str(long), "--shingle", "char", "--html", str(page), "-q").returncode == 0
    assert "exactly this text" not in page.read_text() and "as far as the audit kept it" in page.read_text()
    train, val = tmp_path / "t.parquet", tmp_path / "e.parquet"
    pl.DataFrame({"text": ["one two three four five six", "seven eight nine ten eleven twelve"]}).write_parquet(train)
    pl.DataFrame({"text": ["one two three four five six"]}).write_parquet(val)
    args = ["audit", str(train), "--eval", f"zeta={val}", "--eval", f"alpha={val}", "-q"]
    assert run_cli(*args, "--json", str(tmp_path / "a.json"), "--html", str(tmp_path / "a.html")).returncode == 0
    assert run_cli("report", str(tmp_path / "a.json"), "-o", str(tmp_path / "r.html")).returncode == 0
    assert (tmp_path / "a.html").read_bytes() == (tmp_path / "r.html").read_bytes()


HOSTILE = [
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    '"><iframe src="https://evil.example/">',
    "\x1b[31mred\x1b[0m and \x1b]8;;http://evil.example\x07link\x1b]8;;\x07",
    "user\u202egnp.exe and \u2066isolate\u2069 and \u202aembed\u202c",
    "bell\x07 nul\x00 del\x7f c1\x9b cr\rlf and a lone surrogate \ud800",
]


def _doctored(real, texts: list[str], names: list[str] | None = None) -> dict:
    """Every example text replaced by `texts`; label, split and path names by `names` (default: `texts`)."""
    names = names or texts
    audit = copy.deepcopy(real["full"])
    for level in ("exact", "near"):
        for i, cluster in enumerate(audit[level]["top"]):
            cluster["text"] = cluster["preview"] = texts[i % len(texts)]
            for j, member in enumerate(cluster["members"]):
                member["text"] = texts[(i + j + 1) % len(texts)]
    for i, example in enumerate(audit["leakage"]["val"]["examples"]):
        example["eval_text"], example["train_text"] = texts[i % len(texts)], texts[(i + 2) % len(texts)]
    for group in audit["conflicts"]["examples"]:
        group["texts"] = [texts[i % len(texts)] for i in range(len(group["texts"]))]
    audit["labels"]["counts"] = {names[0]: 5, names[4]: 3, **audit["labels"]["counts"]}
    audit["leakage"][names[1]] = audit["leakage"]["val"]
    audit["source"]["paths"] = [names[2]]
    audit["warnings"] = [{"id": "template", "message": "shared template", "share": 0.9, "text": texts[3]}]
    return audit


def test_hostile_text_stays_text(real):
    page = render_html(_doctored(real, HOSTILE), real["plan"])
    parsed = Page(page)
    tags = {t for t, _, _ in parsed.elements}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link", "base", "form"}
    assert not any(k.startswith("on") for _, a, _ in parsed.elements for k in a)
    page.encode("utf-8")  # no lone surrogate left
    for char in "\x1b\x07\x00\x7f\x9b\r\u202e\u2066\u2069\u202a\u202c\ud800":
        assert char not in page, repr(char)
    text = parsed.all_text()
    for shown in (
        "<script>alert('x')</script>",
        "\\x1b[31mred\\x1b[0m",
        "user\\u202egnp.exe",
        "\\u2066isolate\\u2069",
        "bell\\x07",
        "nul\\x00",
        "del\\x7f",
        "c1\\x9b",
        "cr\\x0dlf",
        "surrogate \\ud800",
    ):
        assert shown in text, shown
    assert parsed.find("span", "summary", **{"class": "ctl"})  # escapes are marked up in example text


def test_nothing_outside_the_file_is_referenced(real):
    for page in (render_html(real["full"], real["plan"], real["check"]), render_html(_doctored(real, HOSTILE))):
        parsed = Page(page)
        for tag, attrs, _ in parsed.elements:
            assert tag not in ("link", "script", "img", "iframe", "object", "embed", "base", "audio", "video", "source")
            for name, value in attrs.items():
                if name in ("href", "src", "srcset", "action", "xlink:href", "poster", "data", "formaction"):
                    assert value and value.startswith("#"), (tag, name, value)
        style = "".join(parsed.styles)
        assert "url(" not in style and "@import" not in style and "@font-face" not in style
        csp = parsed.find("meta", **{"http_equiv": "Content-Security-Policy"})
        assert csp and csp[0]["content"].startswith("default-src 'none'")
    quiet = render_html(real["full"], real["plan"], real["check"], examples=False)
    assert "http://" not in quiet and "https://" not in quiet and "url(" not in quiet


def test_examples_false_leaks_no_text(real):
    """Texts of rows never appear; names (labels, splits, paths) do: they are the report's axes."""
    audit = _doctored(real, [f"SECRET{i} words of the data" for i in range(6)], [f"name{i}" for i in range(6)])
    shown = render_html(audit, real["plan"])
    assert all(f"SECRET{i}" in shown for i in range(6))  # the test can fail
    hidden = render_html(audit, real["plan"], real["check"], examples=False)
    assert "SECRET" not in hidden
    assert all(f"name{i}" in hidden for i in (0, 1, 2, 4))
    real_texts = [c["text"] for c in real["full"]["near"]["top"]] + [c["preview"] for c in real["audit"]["exact"]["top"]]
    page = render_html(real["full"], real["plan"], real["check"], examples=False)
    for text in real_texts:
        assert text not in page
    assert "--no-examples" in page


# --- size ---------------------------------------------------------------------------------------
def _huge(real, text: str) -> dict:
    audit = copy.deepcopy(real["full"])
    audit["rows"] = 10**10
    audit["source"]["paths"] = [f"shard-{i:06d}.parquet" for i in range(100_000)]
    for level in ("exact", "near"):
        audit[level]["size_histogram"] = [[s, 10**10 // s**2 + 1] for s in range(1, 20_000)]
        audit[level]["top"] = [
            {
                "row": i,
                "count": 10**6 - i,
                "preview": text[:80],
                "text": text,
                "members": [{"row": i * 10 + j, "text": text[j:], "similarity": 0.7} for j in range(5)],
            }
            for i in range(10)
        ]
    for unit in ("chars", "words"):
        audit["lengths"][unit]["histogram"] = [[2**k, 2 ** (k + 1), 10**9] for k in range(40)]
    split = {
        "rows": 10**8,
        "exact_in_train": 10**7,
        "near_in_train": 10**7,
        "examples": [{"eval_row": i, "train_row": i, "similarity": 0.9, "eval_text": text, "train_text": text[::-1]} for i in range(10)],
    }
    audit["leakage"] = {f"split{i}": split for i in range(50)}
    audit["labels"]["counts"] = {f"class {i} {text[:200]}": i + 1 for i in range(100_000)}
    audit["conflicts"]["examples"] = [{"rows": list(range(10)), "labels": [text[:100]] * 10, "texts": [text] * 10}] * 10
    audit["warnings"] = [{"id": "template", "message": text, "share": 0.5, "text": text}] * 100
    return audit


@pytest.mark.parametrize("kind", ["words", "markup", "controls"])
def test_under_one_megabyte_at_any_size(real, kind):
    text = {
        "words": " ".join(f"word{i}" for i in range(400))[:TEXT_CAP],
        "markup": "<&>\"'" * (TEXT_CAP // 5),
        "controls": "\x1b\u202e" * (TEXT_CAP // 2),
    }[kind]
    page = render_html(_huge(real, text), real["plan"], real["check"])
    size = len(page.encode("utf-8"))
    assert size < MAX_BYTES, size
    parsed = Page(page)
    assert [i for i in parsed.ids() if i in SECTIONS] == SECTIONS
    assert parsed.find("table", "duplicates", **{"class": "pairs"}) or "left out to keep this page under 1 MB" in parsed.all_text()


def test_under_one_megabyte_whatever_the_names(real):
    """Without example text only names are left (labels, splits, paths, and messages quoting them):
    they are cut shorter and listed less until the page fits."""
    name = '"<' * 50_000
    audit = _huge(real, name)
    audit["labels"]["counts"] = {f"{i}{name}": i + 1 for i in range(1000)}
    audit["leakage"] = {f"{i}{name}": audit["leakage"]["split0"] for i in range(100)}
    audit["source"]["paths"] = [name] * 1000
    plan = {**real["plan"], "warnings": [name] * 1000, "rationale": [{"field": name, "detail": name, "rule": name, "source": name}] * 1000}
    check = {**real["check"], "checks": [{"id": name, "status": "error", "fails_gate": True, "message": name}] * 1000}
    for examples in (True, False):
        page = render_html(audit, plan, check, examples=examples)
        assert len(page.encode("utf-8")) < MAX_BYTES
        assert [i for i in Page(page).ids() if i in SECTIONS] == SECTIONS


def test_thousands_of_checks_keep_the_failing_ones_and_count_the_rest(real):
    """Past what one page lists, the checks that fail the gate come first and a note counts what is
    left out by status; the warnings list counts its own overflow too."""
    passing = [{"id": f"leakage-near:p{i}", "status": "pass", "fails_gate": False, "message": "within the limit"} for i in range(3000)]
    failing = [{"id": f"leakage-exact:f{i}", "status": "error", "fails_gate": True, "message": "over the limit"} for i in range(30)]
    check = {**real["check"], "checks": passing + failing}
    page = render_html(real["audit"], real["plan"], check)
    assert len(page.encode("utf-8")) < MAX_BYTES
    parsed = Page(page)
    text = parsed.all_text()
    assert all(f"leakage-exact:f{i}" in text for i in range(30))  # at the end of 3,030: listed all the same
    rows = [a for a in parsed.find("span", "checks") if a.get("class", "").startswith("status ")]
    assert len(rows) == 1000 and "2,030 more checks not shown (2,030 pass)" in text
    assert "10 more checks that fail the gate or judged nothing not shown" in text


def test_examples_shrink_before_they_disappear(real):
    text = " ".join(f"word{i}" for i in range(400))[:TEXT_CAP]
    page = Page(render_html(_huge(real, text), real["plan"]))
    assert page.find("table", "duplicates", **{"class": "pairs"})  # plain words fit once cut shorter
    assert "more characters" in page.all_text()


def test_rendering_needs_no_torch(real, tmp_path):
    path = tmp_path / "a.json"
    path.write_text(json.dumps(real["full"]))
    code = (
        "import json, sys; from epochplan.render.html import render_html; "
        f"render_html(json.load(open({str(path)!r}))); assert 'torch' not in sys.modules, 'torch imported'"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_histogram_bins_are_labelled_by_their_whole_range():
    """[512, 1024) read "512–1.02k", as if it ended near 1,020."""
    bins = [(0, 1, 1), (2, 4, 1), (512, 1024, 5), (4096, 8192, 2), (8192, 16384, 1), (10**6, 2 * 10**6, 1)]
    chart = svg.histogram(bins, x_label="length", y_label="texts")
    ticks = [
        t.rsplit(":", 1)[0] for t in re.findall("<title>([^<]*)</title></rect>", chart)
    ]  # each bar's range (labels are thinned to fit)
    assert ticks == ["0", "2–3", "512–1,023", "4,096–8,191", "8,192–16,383", "1,000,000–1,999,999"], ticks  # one format


def test_svg_scales():
    bins = [(1, 2, 1), (2, 3, 10), (3, 5, 1000), (5, 9, 0)]
    chart = Page(svg.histogram(bins, x_label="size", y_label="clusters", log_y=True))
    root = chart.find("svg")[0]
    assert root["data-domain"] == "0.5 1000.0"
    heights = [float(b["height"]) for b in chart.find("rect", **{"class": "bar"})]
    plot = float(root["data-plot-height"])
    assert heights == pytest.approx([plot * math.log10(c / 0.5) / math.log10(2000) if c else 0 for _, _, c in bins], abs=0.01)
    assert svg.Scale(0, 7, 100).ticks() == [0, 2, 4, 6]
    assert svg.Scale(1, 12_000, 100, log=True).ticks() == [1, 10, 100, 1000, 10000]
