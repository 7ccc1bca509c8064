"""A first run as a new user would make it: results that do not mislead, progress when the run is
long, examples that work, help and numbers that read well (issue 11 items 14-18, 20)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from .helpers import REPO, assert_clean_error, run_cli, texts, write_texts

PLAIN = {"NO_COLOR": "1", "TERM": "dumb"}


# --- item 14: a baseline of other data is refused ----------------------------------------------------


def _dataset(path: Path, duplicates: int, column: str = "text") -> Path:
    rows = texts(100 - duplicates) + ["the same sentence every time"] * duplicates
    pl.DataFrame({column: rows}).write_parquet(path)
    return path


def test_a_baseline_of_other_data_is_refused_unless_allowed(tmp_path):
    _dataset(tmp_path / "train.parquet", 5)
    _dataset(tmp_path / "other.parquet", 3, column="prompt")
    assert run_cli("check", "other.parquet", "--json", "base.json", "-q", cwd=tmp_path).returncode == 1
    recorded = json.loads((tmp_path / "base.json").read_text())["source"]
    assert recorded["paths"] == ["other.parquet"] and recorded["text_columns"] == ["prompt"] and recorded["rows"] == 100
    assert recorded["epochplan_version"] and recorded["settings"]["normalize"] == "default"
    assert recorded["settings"]["near"]["threshold"] == 0.7
    proc = run_cli("check", "train.parquet", "--baseline", "base.json", cwd=tmp_path)
    assert_clean_error(proc, "--baseline base.json", "other data", "--allow-baseline-mismatch")
    allowed = run_cli("check", "train.parquet", "--baseline", "base.json", "--allow-baseline-mismatch", "-q", cwd=tmp_path)
    assert allowed.returncode == 1 and "warning" in allowed.stderr  # compared, and it got worse: 5 > 3


def test_a_baseline_with_other_settings_is_refused(tmp_path):
    _dataset(tmp_path / "train.parquet", 5)
    run_cli("check", "train.parquet", "--threshold", "0.9", "--json", "base.json", "-q", cwd=tmp_path)
    proc = run_cli("check", "train.parquet", "--baseline", "base.json", cwd=tmp_path)
    assert_clean_error(proc, "settings", "0.9")


def test_a_baseline_of_the_same_data_grown_by_a_shard_is_accepted(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    _dataset(folder / "a.parquet", 5)
    assert run_cli("check", "data", "--json", "base.json", "-q", cwd=tmp_path).returncode == 1
    pl.DataFrame({"text": texts(50, prefix="more")}).write_parquet(folder / "b.parquet")
    proc = run_cli("check", "data", "--baseline", "base.json", "--json", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # fewer duplicates in share than before: not worse
    assert "warning" not in proc.stderr


def test_a_baseline_without_a_source_record_is_accepted_with_a_warning(tmp_path):
    _dataset(tmp_path / "train.parquet", 5)
    run_cli("check", "train.parquet", "--json", "base.json", "-q", cwd=tmp_path)
    old = json.loads((tmp_path / "base.json").read_text())
    del old["source"]  # as written before the record existed
    (tmp_path / "base.json").write_text(json.dumps(old))
    proc = run_cli("check", "train.parquet", "--baseline", "base.json", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr  # the same data: not worse
    assert "does not say what it was made from" in proc.stderr


# --- item 15: every label class is accounted for ----------------------------------------------------


def _labelled(tmp_path: Path, classes: int) -> Path:
    labels = [f"class{c:02d}" for c in range(classes - 1) for _ in range(10)] + ["rare"]
    pl.DataFrame({"text": texts(len(labels)), "label": labels}).write_parquet(tmp_path / "labels.parquet")
    return tmp_path / "labels.parquet"


def test_the_label_table_shows_all_21_classes(tmp_path):
    proc = run_cli("audit", str(_labelled(tmp_path, 21)), "--label", "label", cwd=tmp_path, env=PLAIN)
    assert proc.returncode == 0, proc.stderr
    assert "rare" in proc.stdout and "class19" in proc.stdout


def test_a_long_label_table_counts_what_it_leaves_out_and_shows_the_smallest(tmp_path):
    proc = run_cli("audit", str(_labelled(tmp_path, 60)), "--label", "label", cwd=tmp_path, env=PLAIN)
    assert proc.returncode == 0, proc.stderr
    assert "… 36 more classes" in proc.stdout and "rare" in proc.stdout


# --- item 16: progress off a terminal ---------------------------------------------------------------


def test_progress_lines_and_the_clustering_phase_reach_a_pipe(tmp_path):
    data = write_texts(tmp_path / "data.parquet", 3000)
    env = {"EPOCHPLAN_PROGRESS_SECONDS": "0", "EPOCHPLAN_BATCH_ROWS": "1000"}
    audit = run_cli("audit", str(data), "-q", cwd=tmp_path, env=env)
    assert audit.returncode == 0, audit.stderr
    assert "auditing: 1,000 / 3,000 rows" in audit.stderr and "auditing: 3,000 / 3,000 rows (100 %)" in audit.stderr
    assert "near-duplicate clustering" in audit.stderr
    dedup = run_cli("dedup", str(data), "-o", "out.parquet", cwd=tmp_path, env=env)
    assert dedup.returncode == 0, dedup.stderr
    assert "deduplicating: 3,000 / 3,000 rows" in dedup.stderr and "writing out.parquet" in dedup.stderr


def test_a_bad_progress_interval_is_exit_2(tmp_path):
    data = write_texts(tmp_path / "data.parquet", 10)
    assert_clean_error(
        run_cli("audit", str(data), "-q", cwd=tmp_path, env={"EPOCHPLAN_PROGRESS_SECONDS": "soon"}), "EPOCHPLAN_PROGRESS_SECONDS"
    )


# --- item 17: --tokens alone is pre-training ------------------------------------------------------------


def test_tokens_without_a_regime_plans_pretraining_and_says_so(tmp_path):
    proc = run_cli("plan", "--tokens", "3.3e9", "--seq-len", "512", "--batch", "256", "--steps", "1000000", "-f", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert plan["regime"] == "pretrain"
    assert round(plan["epochs"]["planned"], 1) == 39.7
    assert any(r["field"] == "regime" and "inferred" in r["source"] for r in plan["rationale"])
    explicit = json.loads(run_cli("plan", "--tokens", "3.3e9", "--seq-len", "512", "--regime", "finetune", "-f", "json").stdout)
    assert explicit["regime"] == "finetune"


def test_the_readme_bert_example_says_pretrain():
    readme = (REPO / "README.md").read_text()
    line = next(line for line in readme.splitlines() if "--tokens 3.3e9" in line)
    assert "--regime pretrain" in line


# --- item 18: the Lightning snippet works with pytorch-lightning -----------------------------------------


def test_the_lightning_snippet_runs_without_the_lightning_package(tmp_path):
    snippet = run_cli("plan", "--samples", "1000", "--batch", "10", "--format", "lightning", cwd=tmp_path)
    assert snippet.returncode == 0, snippet.stderr
    # Run it where `import lightning` fails, as with the pytorch-lightning package alone.
    code = "import sys\nsys.modules['lightning'] = None\n" + snippet.stdout + "\nprint(type(trainer).__module__)\n"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1].startswith("pytorch_lightning")


# --- item 20: help, numbers and whole lines ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["audit", "check", "plan", "dedup", "config show"])
def test_help_shows_no_python_types(command):
    proc = run_cli(*command.split(), "--help", env={**PLAIN, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "<bool>" not in proc.stdout and "<str>" not in proc.stdout


def test_numbers_read_as_numbers(tmp_path):
    rows = texts(50) + ["one repeated line"] * 101
    pl.DataFrame({"text": rows}).write_parquet(tmp_path / "d.parquet")
    plan = json.loads(run_cli("plan", "d.parquet", "--epochs", "10", "--no-near", "-f", "json", cwd=tmp_path).stdout)
    warnings = " ".join(plan["warnings"])
    assert "1,010 times" in warnings and not re.search(r"\de\+\d", warnings)
    one = json.loads(run_cli("plan", "--samples", "30000", "-f", "json").stdout)
    details = " ".join(r["detail"] for r in one["rationale"])
    assert "1 epoch" in details and "1 epochs" not in details
    steps = " ".join(r["detail"] for r in json.loads(run_cli("plan", "--samples", "201420", "-f", "json").stdout)["rationale"])
    assert "25,177.5 -> 25,178" in steps and not re.search(r"\de\+\d", steps)


def test_config_show_and_tables_are_not_cut_off_a_terminal(tmp_path):
    long_name = "a_text_column_with_a_very_long_name_" * 4
    env = {k: v for k, v in os.environ.items() if k != "COLUMNS"} | {"EPOCHPLAN_TEXT": long_name, **PLAIN}
    proc = subprocess.run([sys.executable, "-m", "epochplan", "config", "show"], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert long_name in proc.stdout


def test_the_audit_summary_keeps_the_plan_numbers_and_the_reasons_behind_why(tmp_path):
    data = write_texts(tmp_path / "d.parquet", 40)
    short = run_cli("audit", str(data), cwd=tmp_path, env=PLAIN)
    assert short.returncode == 0, short.stderr
    assert "total steps" in short.stdout and "epochs planned" in short.stdout
    assert "global_batch_size:" not in short.stdout and "--why" in short.stdout
    why = run_cli("audit", str(data), "--why", cwd=tmp_path, env=PLAIN)
    assert "global_batch_size:" in why.stdout
    assert len(why.stdout.splitlines()) > len(short.stdout.splitlines()) + 10
