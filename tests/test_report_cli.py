"""The report through the real command line: `audit --html/--markdown`, `check --html`,
`epochplan report`, `--no-examples`, the GitHub job summary, and the 1 MB cap on a large corpus.

Every test writes real Parquet files and runs `python -m epochplan` as a subprocess; the pages are
parsed with the standard library's html.parser (`Page` from test_html_report).
"""

from __future__ import annotations

import json
import os
import random
import re
import resource
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

import epochplan
from conftest import SHARED_DATA, assert_clean_error, run_cli
from epochplan.render.html import MAX_BYTES
from epochplan.sources import open_source, preview_rows
from test_html_report import SECTIONS, Page

HOSTILE = [
    "<script>alert('x')</script> the first hostile row",
    "<img src=x onerror=alert(1)> second hostile row",
    '"><iframe src="https://evil.example/"> third hostile row',
    "\x1b[31mred\x1b[0m and \x1b]8;;http://evil.example\x07link\x1b]8;;\x07 fourth row",
    "user\u202egnp.exe and \u2066isolate\u2069 and \u202aembed\u202c fifth row",
    "| a | table | ``` fence # heading [link](http://evil.example) ![img](http://evil.example/x.png) sixth row",
]


def _hostile_data(tmp: Path) -> tuple[Path, Path]:
    """Train rows: each hostile text three times (exact clusters), once with a word changed (near),
    with conflicting labels; an eval split that copies two of them (leakage)."""
    rows, labels = [], []
    for i, text in enumerate(HOSTILE):
        for copy in range(3):
            rows.append(text)
            labels.append(f"<b>label{copy % 2}</b>")
        rows.append(text + " changed")
        labels.append("x")
    rows += [f"an ordinary row number {i} about nothing in particular" for i in range(40)]
    labels += ["plain"] * 40
    train, val = tmp / "train.parquet", tmp / "val.parquet"
    pl.DataFrame({"text": rows, "label": labels}).write_parquet(train)
    pl.DataFrame({"text": [HOSTILE[0], HOSTILE[4], "an eval row of its own"], "label": ["a", "b", "c"]}).write_parquet(val)
    return train, val


def test_hostile_rows_through_the_cli_stay_inert_text(tmp_path):
    train, val = _hostile_data(tmp_path)
    html, md, js = tmp_path / "r.html", tmp_path / "r.md", tmp_path / "a.json"
    proc = run_cli("audit", str(train), "--eval", f"val={val}", "--label", "label", "--html", str(html), "--markdown", str(md),
                   "--json", str(js), "-q")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    page = html.read_text(encoding="utf-8")
    parsed = Page(page)
    assert [i for i in parsed.ids() if i in SECTIONS] == SECTIONS
    tags = {t for t, _, _ in parsed.elements}
    assert not tags & {"script", "img", "iframe", "object", "embed", "link", "base", "form", "b"}
    assert not any(k.startswith("on") for _, a, _ in parsed.elements for k in a)
    for char in "\x1b\x07\u202e\u2066\u2069\u202a\u202c":
        assert char not in page, repr(char)
    text = parsed.all_text()
    for shown in ("<script>alert('x')</script>", "<img src=x onerror=alert(1)>", "\\x1b[31mred", "user\\u202egnp.exe", "<b>label0</b>"):
        assert shown in text, shown
    assert parsed.find("table", "duplicates", **{"class": "pairs"}) and parsed.find("table", "leakage", **{"class": "pairs"})
    audit = json.loads(js.read_text())
    assert audit["leakage"]["val"]["examples"][0]["eval_text"] in HOSTILE  # the JSON keeps the text as read
    markdown = md.read_text(encoding="utf-8")
    assert "\x1b" not in markdown and "\u202e" not in markdown and "```" not in markdown
    assert "<script>alert('x')</script>" in markdown  # data text only inside code spans, where nothing is markup
    outside = re.sub(r"`[^`\n]*`", "", markdown)
    assert "<" not in outside and "](" not in outside and "<b>" not in outside


def _secret_data(tmp: Path) -> tuple[Path, Path, list[str]]:
    secrets = [f"SECRET{i:03d} private words of row {i}" for i in range(30)]
    rows = [secrets[i % 30] if i % 3 else secrets[i % 30] + " again" for i in range(90)]
    train, val = tmp / "train.parquet", tmp / "val.parquet"
    pl.DataFrame({"text": rows, "label": [f"class{i % 4}" for i in range(90)]}).write_parquet(train)
    pl.DataFrame({"text": secrets[:5] + ["SECRETEVAL an eval row"]}).write_parquet(val)
    return train, val, secrets


def test_no_examples_keeps_every_text_out(tmp_path):
    train, val, secrets = _secret_data(tmp_path)
    common = [str(train), "--eval", f"val={val}", "--label", "label"]
    out = {name: tmp_path / name for name in ("a.json", "a.html", "a.md", "c.json", "c.html", "r.html")}
    proc = run_cli("audit", *common, "--no-examples", "--json", str(out["a.json"]), "--html", str(out["a.html"]),
                   "--markdown", str(out["a.md"]), "-q")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("check", *common, "--no-examples", "--json", str(out["c.json"]), "--html", str(out["c.html"]), "--exit-zero", "-q")
    assert proc.returncode == 0, proc.stderr
    # a report made without examples from an audit that has them
    full = tmp_path / "full.json"
    assert run_cli("audit", *common, "--json", str(full), "-q").returncode == 0
    assert "SECRET" in full.read_text()  # the test can fail: with examples the texts are there
    proc = run_cli("report", str(full), "--no-examples", "-o", str(out["r.html"]))
    assert proc.returncode == 0, proc.stderr
    for name, path in out.items():
        content = path.read_text(encoding="utf-8")
        assert "SECRET" not in content, name
        assert "private words" not in content, name
    audit = json.loads(out["a.json"].read_text())
    assert audit["exact"]["top"] and all(t["preview"] == "" and "text" not in t for t in audit["exact"]["top"])
    assert audit["exact"]["top"][0]["members"][0]["row"] >= 0  # row numbers stay: they are not data
    assert "class1" in out["a.html"].read_text()  # names stay: label classes are the chart's axis


def test_audit_markdown_and_github_step_summary(tmp_path):
    train, val, _ = _secret_data(tmp_path)
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n", encoding="utf-8")
    md = tmp_path / "a.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    proc = run_cli("audit", str(train), "--eval", f"val={val}", "--markdown", str(md), "-q", env=env)
    assert proc.returncode == 0, proc.stderr
    headline = md.read_text(encoding="utf-8")
    assert summary.read_text(encoding="utf-8") == "earlier step\n" + headline  # appended, never replaced
    assert headline.startswith("## epochplan audit") and "| exact | 30 (33.3 %) |" in headline
    assert "| val | 6 | 3 (50.0 %) | 3 (50.0 %) |" in headline and "Plan (" in headline
    # Without GitHub Actions nothing is appended; the file is only written where asked.
    proc = run_cli("audit", str(train), "-q", env={"GITHUB_ACTIONS": "", "GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0 and summary.read_text(encoding="utf-8") == "earlier step\n" + headline


def test_report_command_from_the_json_files(tmp_path):
    data = SHARED_DATA / "chatterbot_english.parquet"
    audit, plan, check, page = (tmp_path / n for n in ("a.json", "p.json", "c.json", "r.html"))
    assert run_cli("audit", str(data), "--label", "file", "--json", str(audit), "-q").returncode == 0
    assert run_cli("plan", "--audit", str(audit), "--seq-len", "64", "-o", str(plan)).returncode == 0
    assert run_cli("check", str(data), "--json", str(check), "--exit-zero", "-q").returncode == 0
    proc = run_cli("report", str(audit), "--plan", str(plan), "--check", str(check), "-o", str(page))
    assert proc.returncode == 0, proc.stderr
    assert "warning" not in proc.stderr, "plan and check of the same data as the audit"
    parsed = Page(page.read_text(encoding="utf-8"))
    assert [i for i in parsed.ids() if i in SECTIONS + ["checks"]] == SECTIONS + ["checks"]
    # the given plan, not the audit's own: its seq_len (the audit now always has token lengths, so
    # the length is marked on the token chart and the plan's truncation counts are named with it)
    assert "at seq_len 64" in parsed.all_text()
    assert parsed.find("table", "duplicates", **{"class": "pairs"}) or "have exactly this text" in parsed.all_text()


def test_a_plan_and_a_check_of_other_data_are_named_on_the_page_and_on_stderr(tmp_path):
    """`report` showed a plan or a check made from another dataset beside the audit as its own,
    without a word; a plan from counts given by hand looked like the audit's plan too."""
    english, multilingual = SHARED_DATA / "chatterbot_english.parquet", SHARED_DATA / "chatterbot_multilingual.parquet"
    audit, other, plan, by_hand, check, page = (tmp_path / n for n in ("a.json", "o.json", "p.json", "g.json", "c.json", "r.html"))
    assert run_cli("audit", str(english), "--json", str(audit), "-q").returncode == 0
    assert run_cli("audit", str(multilingual), "--json", str(other), "-q").returncode == 0
    assert run_cli("plan", "--audit", str(other), "-o", str(plan)).returncode == 0
    assert run_cli("plan", "--samples", "1000", "-o", str(by_hand)).returncode == 0
    assert run_cli("check", str(multilingual), "--json", str(check), "--exit-zero", "-q").returncode == 0
    unique = json.loads(audit.read_text())["near"]["unique"]
    planned = json.loads(plan.read_text())["unique_samples"]
    assert unique != planned
    proc = run_cli("report", str(audit), "--plan", str(plan), "--check", str(check), "-o", str(page))
    assert proc.returncode == 0, proc.stderr
    said = f"the plan counts {planned:,} near-unique samples where this audit counts {unique:,}"
    assert said in proc.stderr and "the check was run on other data (" in proc.stderr and "chatterbot_multilingual" in proc.stderr
    text = " ".join(Page(page.read_text(encoding="utf-8")).all_text().split())
    assert said in text and "the check was run on other data" in text
    proc = run_cli("report", str(audit), "--plan", str(by_hand), "-o", str(page))
    assert proc.returncode == 0 and "made from counts given by hand (1,000 unique samples)" in proc.stderr
    assert run_cli("plan", "--tokens", "16614", "-o", str(by_hand)).returncode == 0  # tokens alone: given by hand too
    proc = run_cli("report", str(audit), "--plan", str(by_hand), "-o", str(page))
    assert proc.returncode == 0 and "made from counts given by hand (16,614 unique tokens)" in proc.stderr
    # the same file spelled from another working folder is the same data: no warning
    assert run_cli("check", english.name, "--json", str(check), "--exit-zero", "-q", cwd=english.parent).returncode == 0
    proc = run_cli("report", str(audit), "--check", str(check), "-o", str(page))
    assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr


def test_report_errors_are_one_line(tmp_path):
    audit = tmp_path / "a.json"
    data = SHARED_DATA / "chatterbot_english.parquet"
    assert run_cli("audit", str(data), "--no-near", "--json", str(audit), "-q").returncode == 0
    plan = tmp_path / "p.json"
    assert run_cli("plan", "--audit", str(audit), "-o", str(plan)).returncode == 0
    (tmp_path / "bad.json").write_text("{not json", encoding="utf-8")
    (tmp_path / "list.json").write_text("[1, 2]", encoding="utf-8")
    out = str(tmp_path / "r.html")
    assert_clean_error(
        run_cli("report", str(tmp_path / "missing.json"), "-o", out), "missing.json", "no such file", "epochplan audit --json"
    )
    assert_clean_error(run_cli("report", str(tmp_path / "bad.json"), "-o", out), "bad.json", "not JSON")
    assert_clean_error(run_cli("report", str(tmp_path / "list.json"), "-o", out), "list.json", "expected 'epochplan.audit/1'")
    assert_clean_error(run_cli("report", str(plan), "-o", out), "'epochplan.plan/1'", "expected 'epochplan.audit/1'")
    assert_clean_error(run_cli("report", str(audit), "--plan", str(audit), "-o", out), "--plan", "expected 'epochplan.plan/1'")
    assert_clean_error(run_cli("report", str(audit), "-o", str(audit)), "--output", "input")
    assert_clean_error(run_cli("report", str(tmp_path), "-o", out), "is a directory")
    assert not Path(out).exists()  # nothing written after an input error


def test_report_takes_the_config_every_command_takes(tmp_path):
    # `report --config` was "No such option" (exit 2) for a CI script passing one --config to
    # every command, as the README says each takes it. report reads no setting: it checks the file.
    (tmp_path / "s.jsonl").write_text("".join(f'{{"text": "row {i} of the data"}}\n' for i in range(20)))
    good, bad = tmp_path / "ci.toml", tmp_path / "bad.toml"
    good.write_text('text = "text"\n[check]\nmin-unique-samples = 10\n')
    bad.write_text("[check]\nmin-unique = 10\n")
    audit, page = tmp_path / "a.json", tmp_path / "r.html"
    assert run_cli("audit", "s.jsonl", "--config", str(good), "--json", str(audit), "-q", cwd=tmp_path).returncode == 0
    proc = run_cli("report", str(audit), "--config", str(good), "-o", str(page))
    assert proc.returncode == 0, proc.stderr
    assert page.stat().st_size > 0
    assert_clean_error(run_cli("report", str(audit), "--config", str(bad), "-o", str(page)), str(bad), "unknown key 'min-unique'")
    assert_clean_error(run_cli("report", str(audit), "--config", str(good), "-o", str(good)), "--output", "input")


def test_outputs_are_checked_before_the_audit(tmp_path):
    train, _, _ = _secret_data(tmp_path)
    same = str(tmp_path / "same")
    assert_clean_error(run_cli("audit", str(train), "--json", same, "--html", same), "--json and --html both write")
    assert_clean_error(run_cli("audit", str(train), "--markdown", str(train)), "--markdown", "input")
    assert_clean_error(run_cli("audit", str(train), "--html", str(tmp_path / "no" / "r.html")), "--html", "does not exist")
    assert_clean_error(run_cli("check", str(train), "--html", str(train)), "--html", "input")
    assert not Path(same).exists()


def test_check_html(tmp_path):
    train, val, _ = _secret_data(tmp_path)
    page = tmp_path / "check.html"
    proc = run_cli("check", str(train), "--eval", f"val={val}", "--html", str(page), "-q")
    assert proc.returncode == 1  # leakage fails the gate; the page is written all the same
    parsed = Page(page.read_text(encoding="utf-8"))
    assert "checks" in parsed.ids() and "gate: fail" in parsed.all_text()
    assert "SECRET000" in parsed.all_text()  # with examples by default


def test_check_html_lists_every_check_of_forty_eval_splits(tmp_path):
    """40 eval splits are 87 checks: the page listed the first 60, and the gate's failures among
    the rest were nowhere on it. Every check is a row of the table, every failing one a warning."""
    train = tmp_path / "train.parquet"
    pl.DataFrame({"text": [f"sample number {i} talks about topic {i} at length" for i in range(60)]}).write_parquet(train)
    evals = []
    for i in range(40):
        split = tmp_path / f"e{i:03d}.parquet"
        pl.DataFrame({"text": [f"sample number {i} talks about topic {i} at length", f"unique eval {i} xyz"]}).write_parquet(split)
        evals += ["--eval", str(split)]
    page, report = tmp_path / "check.html", tmp_path / "check.json"
    proc = run_cli("check", str(train), *evals, "--html", str(page), "--json", str(report), "-q")
    assert proc.returncode == 1, proc.stderr
    ids = [c["id"] for c in json.loads(report.read_text())["checks"]]
    assert len(ids) == 87 and "leakage-near:e039" in ids
    parsed = Page(page.read_text(encoding="utf-8"))
    rows = [a for a in parsed.find("span", "checks") if a.get("class", "").startswith("status ")]
    assert len(rows) == len(ids)
    text = parsed.all_text()
    assert "leakage-exact:e039" in text and "leakage-near:e039" in text and "template" in text  # the last ones too
    assert "more checks not shown" not in text
    # 80 fail: 20 are in the warnings list, the rest counted there
    assert "60 more checks that fail the gate or judged nothing not shown" in text


def test_a_plan_of_a_billion_epochs_is_drawn_in_bounded_memory(tmp_path):
    """10⁹ one-step epochs: the schedule listed every epoch boundary before finding there were too
    many to draw (gigabytes, then exit 3 MemoryError). The report runs here under 3 GB of address
    space, so the old way fails at once instead of filling the machine."""
    data, _, _ = _secret_data(tmp_path)
    audit, plan, page = tmp_path / "a.json", tmp_path / "p.json", tmp_path / "r.html"
    assert run_cli("audit", str(data), "--json", str(audit), "-q").returncode == 0
    proc = run_cli("plan", "--samples", "8", "--batch", "8", "--steps", "1000000000", "-o", str(plan))
    assert proc.returncode == 0, proc.stderr

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    proc = subprocess.run(
        [sys.executable, "-m", "epochplan", "report", str(audit), "--plan", str(plan), "-o", str(page)],
        capture_output=True, text=True, env={**os.environ, "RAYON_NUM_THREADS": "1"}, preexec_fn=limited, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    text = Page(page.read_text(encoding="utf-8")).all_text()
    assert "1,000,000,000 optimizer steps" in text and "epoch boundaries every 1 steps (too many to draw)" in text


def test_a_share_short_of_all_is_not_shown_as_100_percent(tmp_path):
    """2,499 unique rows of 2,500 (99.96 %) read "100.0 %" in the page and the Markdown headline."""
    data = tmp_path / "train.parquet"
    rows = [f"row {i} of a set with exactly one copy" for i in range(2499)]
    pl.DataFrame({"text": rows + rows[:1]}).write_parquet(data)
    page, md = tmp_path / "r.html", tmp_path / "r.md"
    proc = run_cli("audit", str(data), "--no-near", "--html", str(page), "--markdown", str(md), "-q")
    assert proc.returncode == 0, proc.stderr
    text = Page(page.read_text(encoding="utf-8")).all_text()
    assert "2,499 (> 99.9 %)" in text and "100.0 %" not in text
    assert "1 (< 0.1 %)" in text  # the duplicate rows: not 0.0 %
    assert "2,499 (> 99.9 %)" in md.read_text() and "100.0 %" not in md.read_text()


def test_under_one_megabyte_on_a_large_corpus(tmp_path):
    """60 000 rows of long markup-heavy texts (each escapes to several times its size), many
    duplicates and near duplicates, 20 000 label classes, five eval splits: the page stays < 1 MB."""
    rng = random.Random(7)
    words = ["<a href='x'>", "&amp;", '"quoted"', "<b>", "word", "λόγος", "文字", "\u202e", "|", "`"]
    base = [" ".join(rng.choice(words) for _ in range(600)) for _ in range(3000)]
    rows = []
    for i in range(60_000):
        text = base[i % 3000]
        if i % 7 == 0:
            text = text.replace("word", f"w{i}", 1)
        rows.append(text)
    data = tmp_path / "big.parquet"
    pl.DataFrame({"text": rows, "label": [f"class-{i % 20_000}-<i>{'x' * 40}</i>" for i in range(60_000)]}).write_parquet(
        data, row_group_size=5000
    )
    evals = []
    for k in range(5):
        path = tmp_path / f"eval{k}.parquet"
        pl.DataFrame({"text": rows[k * 100 : k * 100 + 200]}).write_parquet(path)
        evals += ["--eval", f"split{k}={path}"]
    page = tmp_path / "big.html"
    proc = run_cli("audit", str(data), *evals, "--label", "label", "--html", str(page), "-q", timeout=900)
    assert proc.returncode == 0, proc.stderr
    size = page.stat().st_size
    assert size < MAX_BYTES, size
    parsed = Page(page.read_text(encoding="utf-8"))
    assert [i for i in parsed.ids() if i in SECTIONS] == SECTIONS
    assert parsed.find("svg", "duplicates") and parsed.find("svg", "lengths")


def _two_parts(tmp_path: Path, page_index: bool) -> list[Path]:
    """Two files of 1,000 rows in row groups of 100, with or without a page index."""
    import pyarrow.parquet as pq

    paths = []
    for f in range(2):
        frame = pl.DataFrame({"text": [f"file{f} row{i}" for i in range(1000)], "other": list(range(1000))})
        path = tmp_path / f"part{f}.parquet"
        pq.write_table(frame.to_arrow(), path, row_group_size=100, write_page_index=page_index)
        assert pq.ParquetFile(path).metadata.row_group(0).column(0).has_offset_index == page_index
        paths.append(path)
    return paths


PREVIEW_WANTED = [0, 5, 99, 150, 151, 1000, 1999, 5000]
PREVIEW_FOUND = {0: "file0 row0", 5: "file0 row5", 99: "file0 row99", 150: "file0 row150", 151: "file0 row151",
                 1000: "file1 row0", 1999: "file1 row999"}  # fmt: skip


def _count_group_reads(monkeypatch) -> tuple[list[tuple[str, int]], dict[tuple[str, int], int]]:
    """Each streamed read of a row group (file's first text, group) and the rows it decoded."""
    import pyarrow.parquet as pq

    reads: list[tuple[str, int]] = []
    decoded: dict[tuple[str, int], int] = {}
    original = pq.ParquetFile.iter_batches

    def counting(self, *args, row_groups=(), **kwargs):
        key = (self.metadata.row_group(0).column(0).statistics.min, *row_groups)
        reads.append(key)
        for batch in original(self, *args, row_groups=row_groups, **kwargs):
            decoded[key] = decoded.get(key, 0) + batch.num_rows
            yield batch

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", counting)
    return reads, decoded


def test_preview_rows_reads_each_row_group_once_up_to_its_last_wanted_row(tmp_path, monkeypatch):
    from epochplan.sources import preview

    paths = _two_parts(tmp_path, page_index=False)
    monkeypatch.setattr(preview, "PREVIEW_BATCH_ROWS", 10)
    reads, decoded = _count_group_reads(monkeypatch)
    assert preview_rows(open_source([str(p) for p in paths]), ["text"], PREVIEW_WANTED) == PREVIEW_FOUND
    # Row groups 0 and 1 of part0, 0 and 9 of part1: one read each, which stops after the batch
    # of ten rows that holds the group's last wanted row.
    assert sorted(reads) == [("file0 row0", 0), ("file0 row0", 1), ("file1 row0", 0), ("file1 row0", 9)]
    assert decoded == {("file0 row0", 0): 100, ("file0 row0", 1): 60, ("file1 row0", 0): 10, ("file1 row0", 9): 100}
    jsonl = tmp_path / "d.jsonl"
    pl.read_parquet(paths[0]).write_ndjson(jsonl)
    assert preview_rows(open_source(str(jsonl)), ["text", "other"], [3, 998]) == {3: "file0 row3\n3", 998: "file0 row998\n998"}


def test_preview_rows_slices_single_rows_where_there_is_a_page_index(tmp_path, monkeypatch):
    paths = _two_parts(tmp_path, page_index=True)
    reads, _ = _count_group_reads(monkeypatch)
    sliced: list[tuple[int, int]] = []
    original = pl.LazyFrame.slice

    def counting(self, offset, length=None):
        sliced.append((offset, length))
        return original(self, offset, length)

    monkeypatch.setattr(pl.LazyFrame, "slice", counting)
    source = open_source([str(p) for p in paths])
    assert preview_rows(source, ["text"], PREVIEW_WANTED) == PREVIEW_FOUND
    assert reads == [] and sorted(sliced) == [(0, 1), (0, 1), (5, 1), (99, 1), (150, 1), (151, 1), (999, 1)]
    # Two text columns joined as the audit joins them, and a null row.
    both = tmp_path / "both.parquet"
    pl.DataFrame({"a": ["x", None, None], "b": ["y", "z", None]}).write_parquet(both)
    assert preview_rows(open_source(str(both)), ["a", "b"], [0, 1, 2]) == {0: "x\ny", 1: "z", 2: None}
    # Where polars cannot read a file, the row is streamed from its group as the audit read it.
    monkeypatch.setattr(pl, "scan_parquet", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("unreadable")))
    assert preview_rows(source, ["text"], [150, 1999]) == {150: "file0 row150", 1999: "file1 row999"}
    assert sorted(reads) == [("file0 row0", 1), ("file1 row0", 9)]


def test_a_file_whose_rows_cannot_be_read_back_is_named(tmp_path, monkeypatch):
    """Which of many Parquet files failed to give its rows back (changed since it was opened, a
    group that no longer decodes) is named, not the whole input's first file."""
    import pyarrow.parquet as pq

    paths = _two_parts(tmp_path, page_index=False)
    source = open_source([str(p) for p in paths])
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", lambda *a, **k: (_ for _ in ()).throw(OSError("bad page")))
    with pytest.raises(epochplan.InputError, match=f"^{re.escape(str(paths[1]))}: cannot read rows back \\(bad page\\)"):
        preview_rows(source, ["text"], [1500])
    monkeypatch.undo()
    paths[1].write_bytes(b"not a parquet file")
    with pytest.raises(epochplan.InputError, match=f"^{re.escape(str(paths[1]))}: cannot read rows back"):
        preview_rows(source, ["text"], [5, 1999])


def test_rows_read_back_from_a_string_view_parquet_file(tmp_path):
    """A Parquet file written from a string_view table (pyarrow keeps the type in the file) reads
    back as string_view, for which pyarrow has no `take` kernel: the report's rows still come back."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    texts = [f"row {i} of a string view column" for i in range(50)] + ["row 7 of a string view column", "row 42 of a string view column"]
    path = tmp_path / "view.parquet"
    pq.write_table(pa.table({"text": pa.array(texts, pa.string_view())}), path)
    assert pq.read_schema(path).field("text").type == pa.string_view()
    assert preview_rows(open_source(str(path)), ["text"], [7, 42, 51]) == {7: texts[7], 42: texts[42], 51: texts[51]}
    out = tmp_path / "a.json"
    proc = run_cli("audit", str(path), "--no-near", "--json", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    top = json.loads(out.read_text())["exact"]["top"]
    assert sorted((c["row"], c["count"], c["text"]) for c in top) == [(7, 2, texts[7]), (42, 2, texts[42])]


def test_near_members_where_the_representative_has_no_exact_copy(tmp_path):
    """GPTeacher toolformer: near clusters whose representative has no stored exact preview (read
    back from the data) keep their members and texts."""
    data = SHARED_DATA / "gpteacher_toolformer_dedupe-only.parquet"
    out = tmp_path / "a.json"
    proc = run_cli("audit", str(data), "--text", "prompt", "--json", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    near = json.loads(out.read_text())["near"]
    texts = pl.read_parquet(data, columns=["prompt"]).get_column("prompt")
    assert len(near["top"]) == 10
    for cluster in near["top"]:
        assert cluster["text"] == texts[cluster["row"]][:2000] and cluster["preview"]
        assert len(cluster["members"]) == 5
        for member in cluster["members"]:
            assert member["text"] == texts[member["row"]][:2000]


def test_report_of_an_older_json_shows_no_url_secret(tmp_path):
    """An audit (or check) JSON written before URLs' secrets were masked, or by hand, holds a
    presigned URL and a password in `source.paths`, an eval split's path and a warning: `report`
    rendered them whole into the page. The data's own texts stay as they are."""
    train, val = _hostile_data(tmp_path)
    js, check_js = tmp_path / "a.json", tmp_path / "c.json"
    assert run_cli("audit", str(train), "--eval", f"val={val}", "--json", str(js), "-q").returncode == 0
    assert run_cli("check", str(train), "--json", str(check_js), "--exit-zero", "-q").returncode == 0
    secret_url = "https://user:PASSWORD1234@host/x.parquet?X-Amz-Signature=SECRET1234&token=SECRET1234"
    text = "see https://example.org/page?id=SECRET_TEXT_KEPT for more"
    audit = json.loads(js.read_text())
    audit["source"]["paths"] = [secret_url]
    audit["leakage"]["val"]["path"] = "https://host/val.jsonl?sig=SECRET1234"
    audit["exact"]["top"][0]["text"] = audit["exact"]["top"][0]["preview"] = text
    js.write_text(json.dumps(audit))
    checked = json.loads(check_js.read_text())
    checked["source"]["paths"] = checked["audit"]["source"]["paths"] = [secret_url]
    check_js.write_text(json.dumps(checked))
    html = tmp_path / "r.html"
    proc = run_cli("report", str(js), "--check", str(check_js), "-o", str(html))
    assert proc.returncode == 0, proc.stderr
    page = html.read_text(encoding="utf-8")
    for secret in ("SECRET1234", "PASSWORD1234"):
        assert secret not in page and secret not in proc.stdout + proc.stderr
    assert "https://user:…@host/x.parquet?X-Amz-Signature=…&amp;token=…" in page  # still says which file
    assert "SECRET_TEXT_KEPT" in page  # a text of the data, shown as it is
    assert "SECRET1234" not in run_cli("report", str(js), "-o", "-").stdout
    # A label is data too: two classes that are URLs stay two (conflict examples' `label`).
    from epochplan.errors import secrets_masked

    example = {"rows": [1, 2], "labels": ["https://x.com/c?id=1"], "first_of_label": [{"label": "https://x.com/c?id=2", "row": 2}]}
    assert secrets_masked({"conflicts": {"examples": [example]}}) == {"conflicts": {"examples": [example]}}
