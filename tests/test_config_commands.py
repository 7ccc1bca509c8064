"""One configuration for every command (issue 10, item 3): `[tool.epochplan]` in pyproject.toml is
honoured by audit, dedup, check and plan DATA alike; a bad value fails each of them with exit 2
naming the key and the file; `epochplan config show` lists every command's values. Each command
runs as a subprocess in the folder holding the pyproject.toml, as a user runs it."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from conftest import assert_clean_error, run_cli

ROWS = 24


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    """`prompt` (every row unique; the column chosen without configuration) and `response`
    (12 distinct answers, each twice): what is audited shows in every count."""
    prompts = [f"question number {i} about topic {i * 7}" for i in range(ROWS)]
    responses = [f"the answer to this one is number {i % 12} and nothing else" for i in range(ROWS)]
    pl.DataFrame({"prompt": prompts, "response": responses}).write_parquet(tmp_path / "data.parquet")
    return tmp_path


def configure(folder: Path, body: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text("[project]\nname = 'x'\n\n[tool.epochplan]\n" + body)
    return path


def ok(proc):
    assert proc.returncode == 0, proc.stderr
    return proc


def test_text_from_pyproject_is_honoured_by_audit_dedup_check_and_plan_data(project):
    # Without configuration `prompt` is audited: 24 unique rows.
    before = json.loads(ok(run_cli("audit", "data.parquet", "--json", "-", cwd=project)).stdout)
    assert before["source"]["text_columns"] == ["prompt"] and before["exact"]["unique"] == ROWS

    configure(project, 'text = "response"\n')
    audit = json.loads(ok(run_cli("audit", "data.parquet", "--json", "-", cwd=project)).stdout)
    assert audit["source"]["text_columns"] == ["response"] and audit["exact"]["unique"] == 12

    ok(run_cli("dedup", "data.parquet", "-o", "kept.parquet", "--level", "exact", cwd=project))
    kept = pl.read_parquet(project / "kept.parquet")
    assert kept.height == 12 and kept["response"].n_unique() == 12

    check = run_cli("check", "data.parquet", "--json", "-", "-q", cwd=project)
    assert check.returncode == 1, check.stderr  # 12 exact duplicate rows break the 1 % default
    report = json.loads(check.stdout)
    assert report["audit"]["source"]["text_columns"] == ["response"]
    assert {c["id"]: c for c in report["checks"]}["exact-duplicates"]["count"] == 12

    plan = json.loads(ok(run_cli("plan", "data.parquet", "-o", "-", cwd=project)).stdout)
    assert plan["unique_samples"] <= 12 and plan["exposure"]["rows"] == ROWS


def test_command_line_beats_the_file_and_the_environment_beats_it_too(project):
    configure(project, 'text = "response"\n')
    flag = json.loads(ok(run_cli("audit", "data.parquet", "--text", "prompt", "--json", "-", cwd=project)).stdout)
    assert flag["source"]["text_columns"] == ["prompt"]
    env = json.loads(ok(run_cli("audit", "data.parquet", "--json", "-", cwd=project, env={"EPOCHPLAN_TEXT": "prompt"})).stdout)
    assert env["source"]["text_columns"] == ["prompt"]


def test_a_misspelt_variable_is_named_with_the_one_meant(project):
    # EPOCHPLAN_THRESHHOLD used to change nothing, silently: the audit ran at the default.
    env = {"EPOCHPLAN_THRESHHOLD": "0.9", "EPOCHPLAN_TEXT": "response"}
    proc = ok(run_cli("audit", "data.parquet", "--json", "-", "-q", cwd=project, env=env))
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: environment EPOCHPLAN_THRESHHOLD is not read by epochplan, so it changes nothing; did you mean EPOCHPLAN_THRESHOLD?"
    ], proc.stderr  # test_config_warnings.py: names close to none, the variables read besides the settings
    assert json.loads(proc.stdout)["source"]["text_columns"] == ["response"]  # the variables spelt right are read
    batch = run_cli("plan", "--samples", "100", "--seq-len", "8", cwd=project, env={"EPOCHPLAN_BATCH_ROW": "8"})
    assert "did you mean EPOCHPLAN_BATCH_ROWS?" in ok(batch).stderr


@pytest.mark.parametrize(
    "args",
    [
        ("audit", "data.parquet", "--json", "out.json"),
        ("dedup", "data.parquet", "-o", "out.parquet"),
        ("check", "data.parquet", "--json", "out.json"),
        ("plan", "data.parquet", "-o", "out.json"),
    ],
    ids=["audit", "dedup", "check", "plan-data"],
)
def test_a_bad_value_fails_every_command_with_exit_2_naming_key_and_file(project, args):
    file = configure(project, "threshold = 1.7\n")
    before = sorted(p.name for p in project.iterdir())
    assert_clean_error(run_cli(*args, cwd=project), str(file), "threshold = 1.7", "Jaccard")
    assert sorted(p.name for p in project.iterdir()) == before  # nothing written


def test_a_bad_value_in_a_command_table_fails_too(project):
    file = configure(project, "[tool.epochplan.dedup]\nlevel = 'fuzzy'\n")
    assert_clean_error(run_cli("dedup", "data.parquet", "-o", "out.parquet", cwd=project), str(file), "level = 'fuzzy'")


def test_data_options_mean_the_same_in_every_command(project):
    """--threshold is read by one parser everywhere: the same bad value, the same message."""
    messages = set()
    for args in (
        ("audit", "data.parquet"),
        ("dedup", "data.parquet", "-o", "o.parquet"),
        ("check", "data.parquet"),
        ("plan", "data.parquet"),
    ):
        proc = run_cli(*args, "--threshold", "2", cwd=project)
        assert_clean_error(proc, "--threshold 2")
        messages.add(proc.stderr.strip())
    assert len(messages) == 1, messages


def test_config_show_lists_every_commands_values(project):
    file = configure(
        project,
        'text = "response"\nthreshold = 0.8\n[tool.epochplan.plan]\nbatch = 16\n'
        '[tool.epochplan.dedup]\nlevel = "exact"\n[tool.epochplan.check]\nmax-leaked-rows = 3\n',
    )
    shown = json.loads(ok(run_cli("config", "show", "--json", cwd=project, env={"EPOCHPLAN_NGRAM": "7"})).stdout)
    assert shown["file"] == str(file)
    commands = {name: {row["key"]: row for row in rows} for name, rows in shown["commands"].items()}
    assert set(commands) == {"audit", "check", "dedup", "plan"}
    for name in ("audit", "check", "dedup", "plan"):  # every command reads data: the data keys everywhere
        rows = commands[name]
        assert rows["text"]["value"] == ["response"] and rows["text"]["source"] == f"{file} (tool.epochplan)"
        assert rows["threshold"]["value"] == 0.8
        assert rows["ngram"] == {"key": "ngram", "value": 7, "source": "environment EPOCHPLAN_NGRAM"}
        assert rows["num-perm"]["source"] == "default"
    assert commands["plan"]["batch"]["value"] == 16 and commands["audit"]["batch"]["value"] == 16  # audit plans too
    assert commands["dedup"]["level"]["value"] == "exact" and "(tool.epochplan.dedup)" in commands["dedup"]["level"]["source"]
    assert commands["check"]["max-leaked-rows"]["value"] == 3
    table = ok(run_cli("config", "show", cwd=project, env={"COLUMNS": "250"})).stdout
    for name in ("audit", "check", "dedup", "plan"):
        assert name in table
