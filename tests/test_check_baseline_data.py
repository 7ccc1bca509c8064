"""`check --baseline` refuses a baseline of other data and takes one of the same data however its
paths are written: eval splits' files and text columns are compared as the train paths are, a
path is the same file whether written relative, absolute or from a subfolder, and a damaged
baseline (deep nesting, a huge integer) is one clear input error. The CLI as a subprocess on real
Parquet files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import assert_clean_error, run_cli
from test_check_cli import check, check_json, checks_of, parquet, texts


@pytest.fixture
def leaky(tmp_path: Path) -> Path:
    """train.parquet, and val_a / val_b: two eval files, each with 3 other rows of train."""
    train = texts(60, words=40, seed=1)
    parquet(tmp_path / "train.parquet", {"text": train})
    parquet(tmp_path / "val_a.parquet", {"text": texts(10, words=40, seed=2) + train[0:3], "question": texts(13, words=40, seed=4)})
    parquet(tmp_path / "val_b.parquet", {"text": texts(10, words=40, seed=3) + train[50:53]})
    proc = check("train.parquet", "--eval", "val=val_a.parquet", "--json", "base.json", "-q", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # 3 rows leaked
    return tmp_path


def test_a_baseline_of_another_eval_file_is_refused(leaky):
    # It passed (exit 0, both leakage checks `same`): other leaked rows, from another file.
    proc = check("train.parquet", "--eval", "val=val_b.parquet", "--baseline", "base.json", "-q", cwd=leaky)
    assert_clean_error(
        proc, "--baseline base.json: made from other data", "eval split 'val'", "'val_a.parquet' there", "'val_b.parquet' here"
    )
    allowed = check("train.parquet", "--eval", "val=val_b.parquet", "--baseline", "base.json", "--allow-baseline-mismatch", cwd=leaky)
    assert allowed.returncode == 0 and "compared anyway" in allowed.stderr, allowed.stderr
    # The same split compared on another text column is other data too.
    proc = check("train.parquet", "--eval", "val=val_a.parquet", "--eval-text", "question", "--baseline", "base.json", cwd=leaky)
    assert_clean_error(proc, "eval split 'val': text columns ['text'] there, ['question'] here")
    # A split only one report has is no mismatch: its leakage checks are new, judged on their own.
    report = check_json("train.parquet", "--eval", "other=val_b.parquet", "--baseline", "base.json", cwd=leaky, code=1)
    assert checks_of(report)["leakage-exact:other"]["baseline"]["verdict"] == "new"


def test_an_older_baseline_is_compared_by_its_audits_eval_paths(leaky):
    """A report written before `source.eval` existed records each split's path in its audit."""
    old = json.loads((leaky / "base.json").read_text())
    for key in ("eval", "cwd"):
        del old["source"][key]
    for split in old["audit"]["leakage"].values():
        del split["text_columns"]
    (leaky / "old.json").write_text(json.dumps(old))
    proc = check("train.parquet", "--eval", "val=val_b.parquet", "--baseline", "old.json", cwd=leaky)
    assert_clean_error(proc, "eval split 'val': path 'val_a.parquet' there, 'val_b.parquet' here")
    # Its text columns are not recorded: not compared. Its paths are read from this folder.
    same = check_json(str(leaky / "train.parquet"), "--eval", "val=./val_a.parquet", "--baseline", "old.json", cwd=leaky, code=0)
    assert checks_of(same)["leakage-exact:val"]["baseline"]["verdict"] == "same"


def test_the_same_files_written_otherwise_are_the_same_data(leaky):
    # `$PWD/train.parquet`, and `../train.parquet` from a subfolder, were refused (exit 2).
    absolute = check_json(
        str(leaky / "train.parquet"), "--eval", f"val={leaky / 'val_a.parquet'}", "--baseline", "base.json", cwd=leaky, code=0
    )
    assert checks_of(absolute)["leakage-exact:val"]["baseline"]["verdict"] == "same"
    sub = leaky / "sub"
    sub.mkdir()
    below = check_json("../train.parquet", "--eval", "val=../val_a.parquet", "--baseline", "../base.json", cwd=sub, code=0)
    assert checks_of(below)["leakage-exact:val"]["baseline"]["verdict"] == "same"
    # Another file is still other data, however it is written.
    proc = check("../train.parquet", "--eval", f"val={leaky / 'val_b.parquet'}", "--baseline", "../base.json", cwd=sub)
    assert_clean_error(proc, "made from other data", "'val_a.parquet' there")
    parquet(sub / "train.parquet", {"text": texts(60, words=40, seed=9)})
    proc = check(str(sub / "train.parquet"), "--eval", "val=../val_a.parquet", "--baseline", "../base.json", cwd=sub)
    assert_clean_error(proc, "made from other data", "paths ['train.parquet'] there")


@pytest.mark.parametrize(
    "content, fragment",
    [("[" * 100_000, "nests arrays or objects deeper than it can be read"), ("9" * 5000, "an integer of 5,000 digits")],
)
def test_a_damaged_baseline_or_audit_is_an_input_error(leaky, content, fragment):
    # Both were exit 3: RecursionError, and ValueError (Python's 4,300-digit limit).
    (leaky / "bad.json").write_text(content)
    assert_clean_error(check("train.parquet", "--baseline", "bad.json", cwd=leaky), "--baseline bad.json: ", fragment)
    assert_clean_error(run_cli("plan", "--audit", "bad.json", cwd=leaky), "--audit bad.json: ", fragment)


def test_the_html_report_says_a_check_is_not_worse_than_the_baseline(leaky):
    """The page showed `gate: pass` above rows marked `error`, never naming the baseline (the
    terminal, JUnit, Markdown and annotations do); `epochplan report --check` renders the same."""
    proc = check(
        "train.parquet", "--eval", "val=val_a.parquet", "--baseline", "base.json", "--html", "same.html", "--json", "cur.json", cwd=leaky
    )
    assert proc.returncode == 0, proc.stderr
    (leaky / "audit.json").write_text(json.dumps(json.loads((leaky / "cur.json").read_text())["audit"]))
    report = run_cli("report", "audit.json", "--check", "cur.json", "-o", "report.html", cwd=leaky)
    assert report.returncode == 0, report.stderr
    for page in ("same.html", "report.html"):
        text = (leaky / page).read_text()
        checks = text[text.index('id="checks"') :]
        assert "Compared with the baseline <code" in checks and "base.json" in checks, page
        assert "2 checks over their budget, not worse than it" in checks, page
        assert checks.count('<span class="status error">error</span> (not worse than baseline)') == 2, page
