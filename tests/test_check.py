"""`epochplan check` logic on hand-made audit dicts (issue 6): thresholds, sections present or
absent, baseline, verdict, JSON / JUnit / GitHub renderings. No subprocess, no extension work."""

from __future__ import annotations

import io
import json
import math
import xml.etree.ElementTree as ET
from fractions import Fraction

import numpy as np
import pytest

from epochplan.checking import (
    CHECK_KEYS,
    Thresholds,
    evaluate,
    load_baseline,
    row_limit,
    run_checks,
)
from epochplan.checking.baseline import Baseline, check_baseline_source
from epochplan.defaults import CHECK_SCHEMA
from epochplan.errors import InputError
from epochplan.render.check_table import example_lines, render_terminal, threshold_text
from epochplan.render.github import emit_github, github_annotations, github_markdown
from epochplan.render.junit import to_junit
from epochplan.sources import parse_eval


def cluster(rows: int, duplicate_rows: int, **extra) -> dict:
    unique = rows - duplicate_rows
    top = [{"row": 3, "count": duplicate_rows + 1, "preview": "the same | text\nagain"}] if duplicate_rows else []
    return {
        "unique": unique,
        "duplicate_rows": duplicate_rows,
        "duplicate_fraction": duplicate_rows / rows,
        "clusters": 1 if duplicate_rows else 0,
        "largest_cluster": duplicate_rows + 1 if duplicate_rows else 1,
        "top": top,
        **extra,
    }


def make_audit(
    rows: int = 100,
    exact: int = 0,
    near: int | None = None,
    nulls: int = 0,
    empties: int = 0,
    labels: dict | None = None,
    conflicts: dict | None = None,
    leakage: dict | None = None,
) -> dict:
    """An `epochplan.audit/1` dict (issue 2 keys, plus the issue 3 sections when given)."""
    audit = {
        "schema": "epochplan.audit/1",
        "source": {
            "paths": ["train.parquet"],
            "text_columns": ["text"],
            "label_column": "label" if labels else None,
            "normalize": "default",
        },
        "rows": rows,
        "null_rows": nulls,
        "empty_rows": empties,
        "exact": cluster(rows, exact),
        "lengths": {"chars": None, "words": None, "tokens_estimate": 0, "total_bytes": 0},
        "labels": None if labels is None else {"counts": labels, "null_labels": 0, "entropy_normalized": None, "imbalance_ratio": None},
        "diversity": {"vocabulary": 1, "distinct_1": None, "distinct_2": None, "estimated": False},
    }
    if near is not None:
        audit["near"] = cluster(rows, near, threshold=0.7, ngram=5, shingle="word", num_perm=128, bands=16, rows_per_band=8)
    if conflicts is not None:
        audit["conflicts"] = conflicts
    if leakage is not None:
        audit["leakage"] = leakage
    return audit


def by_id(checks) -> dict:
    return {c.id: c for c in checks}


# --- the integer threshold ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "fraction, rows, limit",
    [
        (0.05, 100, 5),
        (0.29, 100, 29),
        (0.07, 100, 7),
        (0.57, 100, 57),
        (0.1, 30, 3),
        (0.0, 10_000, 0),
        (1.0, 17, 17),
        (0.01, 99, 0),
        (1 / 3, 3, 0),
        ("1/3", 3, 1),
        (0.015, 1000, 15),
    ],
)
def test_row_limit_is_exact(fraction, rows, limit):
    """floor(fraction * rows) with the fraction as written: float(0.29) * 100 = 28.999..., not 29."""
    assert row_limit(fraction, rows) == limit


def test_row_limit_matches_decimal_arithmetic_everywhere():
    for hundredths in range(101):
        fraction = hundredths / 100
        for rows in (1, 7, 100, 1000, 12_345):
            assert row_limit(fraction, rows) == (hundredths * rows) // 100


@pytest.mark.parametrize("fraction, rows", [(0.05, 100), (0.29, 100), (0.01, 1000), (0.5, 7), (0.07, 300)])
def test_boundary_exactly_at_passes_one_over_fails(fraction, rows):
    limit = math.floor(Fraction(str(fraction)) * rows)
    t = Thresholds(max_exact_duplicate_fraction=fraction)
    at = by_id(run_checks(make_audit(rows, exact=limit), t))["exact-duplicates"]
    over = by_id(run_checks(make_audit(rows, exact=limit + 1), t))["exact-duplicates"]
    assert (at.status, at.count, at.limit) == ("pass", limit, limit)
    assert (over.status, over.count, over.limit) == ("error", limit + 1, limit)


# --- each check ---------------------------------------------------------------------------------


def test_issue2_audit_runs_what_it_can_and_names_what_it_skipped():
    checks = run_checks(make_audit(100, exact=2))
    assert [c.id for c in checks] == [
        "empty-rows",
        "exact-duplicates",
        "near-duplicates",
        "leakage",
        "conflicting-labels",
        "min-unique-samples",
        "label-imbalance",
        "template",
    ]
    c = by_id(checks)
    assert c["exact-duplicates"].status == "error" and c["exact-duplicates"].limit == 1
    for skipped in ("near-duplicates", "leakage", "conflicting-labels", "label-imbalance", "template"):
        assert c[skipped].status == "skipped" and c[skipped].message.startswith("skipped: "), skipped
    assert "near" in c["near-duplicates"].message and "--eval" in c["leakage"].message
    assert "label" in c["conflicting-labels"].message
    assert c["min-unique-samples"].status == "pass"  # minimum 0 holds without near counts


def test_empty_rows_count_nulls_and_empties():
    t = Thresholds(max_empty_fraction=0.03)
    assert by_id(run_checks(make_audit(100, nulls=1, empties=2), t))["empty-rows"].status == "pass"
    check = by_id(run_checks(make_audit(100, nulls=2, empties=2), t))["empty-rows"]
    assert (check.status, check.count, check.limit) == ("error", 4, 3)
    assert "2 null, 2 empty" in check.message


def test_near_duplicates_with_near_section():
    t = Thresholds(max_near_duplicate_fraction=0.05)
    assert by_id(run_checks(make_audit(200, near=10), t))["near-duplicates"].status == "pass"
    check = by_id(run_checks(make_audit(200, near=11), t))["near-duplicates"]
    assert (check.status, check.count, check.limit, check.total) == ("error", 11, 10, 200)
    assert check.examples and check.examples[0]["row"] == 3


def test_leakage_per_split_exact_and_near_separately():
    leakage = {
        "val": {"rows": 50, "exact_in_train": 0, "near_in_train": 2, "examples": [{"eval_row": 4, "train_row": 17, "similarity": 0.82}]},
        "test": {"rows": 40, "exact_in_train": 1, "near_in_train": 1, "examples": [{"eval_row": 0, "train_row": 9, "similarity": 1.0}]},
    }
    c = by_id(run_checks(make_audit(leakage=leakage)))
    assert "leakage" not in c
    assert c["leakage-exact:val"].status == "pass" and c["leakage-near:val"].status == "error"
    assert c["leakage-exact:test"].status == "error" and c["leakage-near:test"].status == "error"
    assert c["leakage-near:val"].total == 50 and c["leakage-near:val"].fraction == pytest.approx(0.04)
    assert c["leakage-exact:test"].examples == [{"eval_row": 0, "train_row": 9, "similarity": 1.0, "kind": "exact"}]
    assert c["leakage-exact:val"].examples == []  # a near match is not shown as an exact one
    relaxed = by_id(run_checks(make_audit(leakage=leakage), Thresholds(max_leaked_rows=1, max_near_leaked_rows=2)))
    assert {relaxed[i].status for i in relaxed if i.startswith("leakage")} == {"pass"}


def test_an_eval_split_with_nothing_to_compare_is_skipped_with_a_warning():
    """0 rows, or every text null, is no evidence of a clean split: "0 of 0 leaked" passed."""
    leakage = {
        "empty": {"rows": 0, "exact_in_train": 0, "near_in_train": 0, "examples": []},
        "nulls": {"rows": 10, "null_rows": 10, "exact_in_train": 0, "near_in_train": 0, "examples": []},
        "some": {"rows": 10, "null_rows": 9, "exact_in_train": 0, "near_in_train": 0, "examples": []},
    }
    report = evaluate(make_audit(leakage=leakage))
    c = by_id(report.checks)
    for name, why in (("empty", "has no rows"), ("nulls", "every text null")):
        for kind in ("exact", "near"):
            check = c[f"leakage-{kind}:{name}"]
            assert (check.status, check.warns, check.count) == ("skipped", True, None) and why in check.message
            assert check.to_dict()["warns"] is True
    assert c["leakage-exact:some"].status == c["leakage-near:some"].status == "pass" and not c["leakage-exact:some"].warns
    assert report.summary["skipped"][1:5] == ["leakage-exact:empty", "leakage-near:empty", "leakage-exact:nulls", "leakage-near:nulls"]
    assert report.summary["status"] == "pass"  # a skip never fails the gate, but it is not silent:
    notes = github_annotations(report)
    assert sum(n.startswith("::warning title=epochplan check leakage-exact%3Aempty::") for n in notes) == 1


def test_one_row_is_one_row():
    """A count of one reads in the singular: not "1 exact duplicate rows", "(1 rows)", "1 clusters"."""
    report = evaluate(make_audit(100, exact=1, labels={"a": 30, "b": 1}))
    c = by_id(report.checks)
    assert c["exact-duplicates"].message.startswith("1 exact duplicate row (1.00 % of 100); within the limit of 1; 1 cluster, largest 2")
    assert threshold_text(c["exact-duplicates"]) == "≤ 1 % (1 row)"
    assert "class 'b': 1 row" in example_lines(c["label-imbalance"])
    assert by_id(evaluate(make_audit(100, exact=2)).checks)["exact-duplicates"].message.startswith("2 exact duplicate rows")


def test_conflicting_labels():
    labels = {"a": 50, "b": 50}
    conflicts = {"exact_clusters": 1, "near_clusters": 1, "rows": 4, "examples": [{"rows": [1, 2], "labels": ["a", "b"]}]}
    no_section = by_id(run_checks(make_audit(labels=labels)))["conflicting-labels"]
    assert no_section.status == "skipped" and "conflicts" in no_section.message
    check = by_id(run_checks(make_audit(labels=labels, conflicts=conflicts)))["conflicting-labels"]
    assert (check.status, check.count, check.limit) == ("error", 4, 0)
    assert check.examples == [{"rows": [1, 2], "labels": ["a", "b"]}]
    t = Thresholds(max_conflicting_label_rows=4)
    assert by_id(run_checks(make_audit(labels=labels, conflicts=conflicts), t))["conflicting-labels"].status == "pass"


def test_min_unique_samples_uses_near_and_never_passes_on_exact_alone():
    t = Thresholds(min_unique_samples=95)
    assert by_id(run_checks(make_audit(100, exact=0, near=5), t))["min-unique-samples"].status == "pass"
    short = by_id(run_checks(make_audit(100, exact=0, near=6), t))["min-unique-samples"]
    assert (short.status, short.count, short.comparison) == ("error", 94, ">=")
    upper_bound = by_id(run_checks(make_audit(100, exact=0), t))["min-unique-samples"]
    assert upper_bound.status == "skipped" and "upper bound" in upper_bound.message
    proven = by_id(run_checks(make_audit(100, exact=6), t))["min-unique-samples"]
    assert proven.status == "error"  # exact unique is already below: near can only be lower


def test_label_imbalance_is_a_warning_with_an_integer_boundary():
    t = Thresholds(max_imbalance_ratio=3.0)
    at = by_id(run_checks(make_audit(labels={"a": 30, "b": 10}), t))["label-imbalance"]
    over = by_id(run_checks(make_audit(labels={"a": 31, "b": 10}), t))["label-imbalance"]
    assert at.status == "pass" and (over.status, over.severity, over.limit) == ("warning", "warning", 30)
    one_class = by_id(run_checks(make_audit(labels={"a": 30}), t))["label-imbalance"]
    assert one_class.status == "skipped"


# --- verdict, fail-on, exit-zero ----------------------------------------------------------------


def test_verdict_fail_on_and_exit_zero():
    audit = make_audit(labels={"a": 90, "b": 5}, near=0)
    warn_only = evaluate(audit)
    assert by_id(warn_only.checks)["label-imbalance"].status == "warning"
    assert warn_only.summary["status"] == "pass" and warn_only.exit_code == 0
    strict = evaluate(audit, Thresholds(fail_on="warning"))
    assert strict.summary["failed"] == ["label-imbalance"] and strict.exit_code == 1
    failing = evaluate(make_audit(exact=50), exit_zero=True)
    assert failing.summary["status"] == "fail" and failing.exit_code == 0 and failing.summary["exit_zero"]


def test_report_json_is_deterministic_and_embeds_the_audit():
    audit = make_audit(exact=3, near=4)
    report = evaluate(audit)
    text = report.to_json()
    assert text == evaluate(audit).to_json()
    d = json.loads(text)
    assert d["schema"] == CHECK_SCHEMA and d["audit"] == audit
    assert d["summary"]["exit_code"] == 1 and d["summary"]["status"] == "fail"
    assert d["thresholds"]["max-exact-duplicate-fraction"] == 0.01
    first = d["checks"][1]
    assert {"id", "status", "severity", "count", "fraction", "threshold", "limit"} <= set(first)
    assert text == json.dumps(d, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def test_thresholds_defaults_agree_with_config_keys():
    assert Thresholds().to_dict() == {k.name: k.default for k in CHECK_KEYS}
    with pytest.raises(InputError, match="max_leaked_rows"):
        Thresholds(max_leaked_rows=-1)
    with pytest.raises(InputError, match="fail_on"):
        Thresholds(fail_on="never")
    # A Python caller's thresholds follow the same rule as the command line's: numpy's integers
    # and '1,000' are whole numbers (np.int64 was "must be a whole number"), a bool is not.
    t = Thresholds(min_unique_samples=np.int64(95), max_leaked_rows="1,000")
    assert (t.min_unique_samples, t.max_leaked_rows) == (95, 1000) and type(t.min_unique_samples) is int
    for bad in (True, np.True_, 2.5):
        with pytest.raises(InputError, match="min_unique_samples=.*whole number"):
            Thresholds(min_unique_samples=bad)


def test_not_an_audit_is_an_input_error():
    with pytest.raises(InputError, match="epochplan.audit/1"):
        run_checks({"schema": "epochplan.plan/1"})


# --- baseline -----------------------------------------------------------------------------------


def _baseline(tmp_path, audit, thresholds=None):
    path = tmp_path / "base.json"
    path.write_text(evaluate(audit, thresholds).to_json())
    return load_baseline(path), str(path)


def test_baseline_fails_only_checks_that_got_worse(tmp_path):
    base, path = _baseline(tmp_path, make_audit(100, exact=5, near=5))
    same = evaluate(make_audit(100, exact=5, near=5), baseline=base, baseline_path=path)
    assert same.summary["status"] == "pass" and same.exit_code == 0
    assert set(same.summary["not_worse_than_baseline"]) == {"exact-duplicates"}
    assert by_id(same.checks)["exact-duplicates"].baseline["verdict"] == "same"
    better = evaluate(make_audit(200, exact=6, near=6), baseline=base)  # 3 % < 5 %, still over 1 %
    assert better.exit_code == 0 and by_id(better.checks)["exact-duplicates"].baseline["verdict"] == "better"
    worse = evaluate(make_audit(100, exact=7, near=7), baseline=base)
    assert worse.summary["failed"] == ["exact-duplicates", "near-duplicates"] and worse.exit_code == 1
    assert by_id(worse.checks)["exact-duplicates"].baseline == {"verdict": "worse", "status": "error", "count": 5, "total": 100}


def test_baseline_new_check_fails_and_minimum_direction(tmp_path):
    t = Thresholds(min_unique_samples=99)
    base, _ = _baseline(tmp_path, make_audit(100, near=2), t)  # leakage was skipped in the baseline
    leak = {"val": {"rows": 10, "exact_in_train": 1, "near_in_train": 1, "examples": []}}
    report = evaluate(make_audit(100, near=2, leakage=leak), t, baseline=base)
    c = by_id(report.checks)
    assert c["leakage-exact:val"].baseline["verdict"] == "new" and c["leakage-exact:val"].fails_gate
    assert c["min-unique-samples"].baseline["verdict"] == "same" and not c["min-unique-samples"].fails_gate
    fewer = evaluate(make_audit(100, near=3), t, baseline=base)
    assert by_id(fewer.checks)["min-unique-samples"].baseline["verdict"] == "worse" and fewer.exit_code == 1


@pytest.mark.parametrize(
    "content, fragment",
    [
        (None, "file not found"),
        ("{", "not JSON"),
        ('{"schema": "epochplan.audit/1"}', "not an epochplan.check/1"),
    ],
)
def test_bad_baseline_is_an_input_error(tmp_path, content, fragment):
    path = tmp_path / "base.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(InputError, match=fragment):
        load_baseline(path)


def test_damaged_or_in_memory_baselines_are_refused(tmp_path):
    """A float total was a TypeError (exit 3); a baseline of in-memory data (no paths: an empty
    set is a subset of any) was taken for a baseline of any dataset."""
    report = evaluate(make_audit(100, exact=4))
    damaged = report.to_dict()
    damaged["checks"][1]["total"] = 100.0
    path = tmp_path / "base.json"
    path.write_text(json.dumps(damaged))
    with pytest.raises(InputError, match="total 100.0 is not a whole number"):
        evaluate(make_audit(100, exact=4), baseline=load_baseline(path))
    in_memory = Baseline()
    in_memory.source = {**evaluate(make_audit(100)).to_dict()["source"], "paths": []}
    audit = make_audit(100)
    with pytest.raises(InputError, match=r"paths \[\] there"):
        check_baseline_source(in_memory, audit, path="base.json")


# --- renderings ---------------------------------------------------------------------------------


def _report_with_everything():
    leakage = {
        "val": {
            "rows": 10,
            "exact_in_train": 2,
            "near_in_train": 3,
            "examples": [{"eval_row": 1, "train_row": 7, "similarity": 1.0, "kind": "exact"}],
        }
    }
    audit = make_audit(
        100,
        exact=9,
        near=9,
        labels={"a": 80, "b": 5},
        conflicts={"exact_clusters": 0, "near_clusters": 0, "rows": 0, "examples": []},
        leakage=leakage,
    )
    return evaluate(audit)


def test_junit_has_one_testcase_per_check():
    report = _report_with_everything()
    root = ET.fromstring(to_junit(report))
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == [c.id for c in report.checks]
    failed = {c.get("name") for c in cases if c.find("failure") is not None}
    assert failed == set(report.summary["failed"]) == {"exact-duplicates", "near-duplicates", "leakage-exact:val", "leakage-near:val"}
    suite = root.find("testsuite")
    assert suite.get("tests") == str(len(cases)) and suite.get("failures") == "4"
    warning = next(c for c in cases if c.get("name") == "label-imbalance")
    assert warning.find("failure") is None and "warning" in warning.find("system-out").text
    assert "eval row 1 = train row 7" in next(c for c in cases if c.get("name") == "leakage-exact:val").find("failure").text


def test_github_summary_and_annotations():
    report = _report_with_everything()
    markdown = github_markdown(report)
    assert markdown.startswith("## :x: epochplan check: failed")
    assert "| `exact-duplicates` | **error** | 9 | 9.00 % |" in markdown
    assert "`the same ¦ text again`" in markdown  # data text in a code span: its pipe splits no table cell
    notes = github_annotations(report)
    assert sum(n.startswith("::error title=epochplan check exact-duplicates::") for n in notes) == 1
    assert any(n.startswith("::warning title=epochplan check label-imbalance::") for n in notes)
    assert all("\n" not in n for n in notes) and any("%0A" in n for n in notes)
    assert any("leakage-exact%3Aval" in n for n in notes)  # ':' escaped inside the title property


def test_emit_github_only_in_actions(tmp_path):
    report = _report_with_everything()
    summary = tmp_path / "summary.md"
    out = io.StringIO()
    emit_github(report, {"GITHUB_STEP_SUMMARY": str(summary)}, out)
    assert not summary.exists() and out.getvalue() == ""
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    emit_github(report, env, out)
    emit_github(report, env, out)
    assert summary.read_text().count("epochplan check: failed") == 2  # appended, never replaced
    assert out.getvalue().count("::error ") == 8


def test_terminal_shows_table_examples_and_skips():
    from rich.console import Console

    console = Console(record=True, width=200)
    report = evaluate(make_audit(100, exact=9))
    render_terminal(report, console)
    text = console.export_text()
    assert "exact-duplicates" in text and "9.00 %" in text and "≤ 1 % (1 row)" in text
    assert "row 3 x10: the same | text again" in text
    assert "skipped leakage: no eval split given" in text
    assert "gate FAILED (exact-duplicates)" in text and "exit 1" in text


@pytest.mark.parametrize(
    "specs, expected",
    [
        (["val.parquet"], {"val": "val.parquet"}),
        (["test=data/t.parquet", "data/v.jsonl"], {"test": "data/t.parquet", "v": "data/v.jsonl"}),
        # a name too long for a file name: the spec as a whole was stat'ed ("File name too long")
        ([f"{'n' * 300}=v.parquet"], {"n" * 300: "v.parquet"}),
        # the working folder has no name of its own: `eval`, not '' (a blank split, `leakage-exact:`)
        (["."], {"eval": "."}),
        # a pattern is named as a file is (names reports, check ids and baselines keep)
        (["data/test-*.parquet", "s3://b/dev_*.jsonl.gz"], {"test-*": "data/test-*.parquet", "dev_*": "s3://b/dev_*.jsonl.gz"}),
    ],
)
def test_parse_eval(specs, expected):
    assert parse_eval(specs) == expected


@pytest.mark.parametrize("specs, fragment", [(["a/val.parquet", "b/val.parquet"], "used twice"), (["val="], "NAME=PATH")])
def test_parse_eval_errors(specs, fragment):
    with pytest.raises(InputError, match=fragment):
        parse_eval(specs)


# --- the command wired to an issue 3 audit (in process, with a stand-in audit function) ----------


def test_check_command_passes_eval_near_and_settings_to_the_audit(tmp_path, monkeypatch, capsys):
    """Until the near-duplicate audit lands, a stand-in with its signature shows what `check` asks
    for (near=True, eval={name: path}, threshold, label) and how it judges what comes back."""
    from types import SimpleNamespace

    from epochplan.cli import run

    calls = []
    leakage = {
        "val": {"rows": 10, "exact_in_train": 1, "near_in_train": 2, "examples": [{"eval_row": 0, "train_row": 5, "similarity": 1.0}]}
    }
    audit = make_audit(
        100,
        exact=0,
        near=1,
        labels={"a": 50, "b": 50},
        leakage=leakage,
        conflicts={"exact_clusters": 0, "near_clusters": 1, "rows": 2, "examples": [{"rows": [1, 9], "labels": ["a", "b"]}]},
    )

    def stand_in(
        data,
        *,
        text=None,
        label=None,
        normalize="default",
        keep_clusters=True,
        examples=True,
        progress=None,
        near=True,
        eval=None,
        threshold=0.7,
    ):
        calls.append(dict(data=data, text=text, label=label, normalize=normalize, near=near, eval=eval, threshold=threshold))
        return SimpleNamespace(to_dict=lambda: audit)

    monkeypatch.setattr("epochplan.checking.run.audit", stand_in)  # imported here: `epochplan.checking` loads it on first use
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    (tmp_path / "pyproject.toml").write_text("[tool.epochplan]\nlabel = 'label'\nthreshold = 0.8\n")
    import polars as pl

    for name in ("train.parquet", "val.parquet"):
        pl.DataFrame({"text": ["x"], "label": ["a"]}).write_parquet(tmp_path / name)
    code = run(["check", "train.parquet", "--eval", "val.parquet", "--json", "-", "--max-near-leaked-rows", "2"])
    assert calls == [
        dict(data=["train.parquet"], text=None, label="label", normalize="default", near=True, eval={"val": "val.parquet"}, threshold=0.8)
    ]
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["summary"]["failed"] == ["leakage-exact:val", "conflicting-labels"]
    assert [c["id"] for c in report["checks"]] == [
        "empty-rows",
        "exact-duplicates",
        "near-duplicates",
        "leakage-exact:val",
        "leakage-near:val",
        "conflicting-labels",
        "min-unique-samples",
        "label-imbalance",
        "template",
    ]
