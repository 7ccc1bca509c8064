"""Configuration that changes nothing is said, not ignored: an `EPOCHPLAN_*` variable nothing
reads (warned once, naming the variable meant when one is close), a misspelt `[tool.epochplan]`
table of pyproject.toml; and `--why` asked for beside `-q`. Each runs the CLI as a subprocess in a
folder of its own, as a user runs it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import polars as pl
import pytest

from conftest import assert_clean_error, run_cli
from epochplan import defaults, settings


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    texts = [f"row number {i} says something of its own, {i * 13}" for i in range(30)]
    pl.DataFrame({"text": texts}).write_parquet(tmp_path / "data.parquet")
    return tmp_path


def warnings_of(proc) -> list[str]:
    assert proc.returncode == 0, proc.stderr
    return [line for line in proc.stderr.splitlines() if line.startswith("warning:")]


def unread(name: str, hint: str) -> str:
    return f"warning: environment {name} is not read by epochplan, so it changes nothing; {hint}"


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("EPOCHPLAN_MEMORY_BUDGE", "EPOCHPLAN_MEMORY_BUDGET"),
        # close to no whole name: its last word is, so what that one sets is named (a word of the
        # name can be of another sense: EPOCHPLAN_LOG_LEVEL is no EPOCHPLAN_LEVEL, dedup's --level)
        ("EPOCHPLAN_NEAR_TRESHOLD", "EPOCHPLAN_THRESHOLD (--threshold)"),
        ("EPOCHPLAN_LOG_LEVEL", "EPOCHPLAN_LEVEL (--level)"),
        ("EPOCHPLAN_MAX_LEAKED_ROW", "EPOCHPLAN_MAX_LEAKED_ROWS"),
        ("epochplan_text", "EPOCHPLAN_TEXT"),  # the environment is case-sensitive: not read
    ],
)
def test_a_misspelt_variable_is_warned_about_once_naming_the_one_meant(project, name, meant):
    proc = run_cli("audit", "data.parquet", "--json", "-", "-q", cwd=project, env={name: "0.9"})
    assert warnings_of(proc) == [unread(name, f"did you mean {meant}?")], proc.stderr
    assert json.loads(proc.stdout)["near"]["threshold"] == defaults.THRESHOLD  # the default: the variable changed nothing


def test_a_variable_close_to_no_name_is_warned_about_too(project):
    # EPOCHPLAN_ is epochplan's namespace: a name in it that nothing reads is a mistake, said.
    proc = run_cli("plan", "--samples", "100", "--seq-len", "8", cwd=project, env={"EPOCHPLAN_CACHE_DIR": "exact"})
    assert warnings_of(proc) == [
        unread("EPOCHPLAN_CACHE_DIR", "epochplan config show lists the settings (EPOCHPLAN_<KEY> for each key)")
    ], proc.stderr


def test_no_variable_epochplan_reads_is_ever_warned_about(project):
    # Every setting's EPOCHPLAN_<KEY> (empty: unset, so none is parsed), and those read besides
    # the settings: the batch size, the progress interval, the tests' and benchmarks' data folder.
    names = {key.env for keys in settings.COMMANDS.values() for key in keys}
    assert {"EPOCHPLAN_THRESHOLD", "EPOCHPLAN_MAX_LEAKED_ROWS", "EPOCHPLAN_SEQ_LEN", "EPOCHPLAN_LEVEL"} <= names
    env = {name: "" for name in names} | {
        "EPOCHPLAN_BATCH_ROWS": "16",
        "EPOCHPLAN_PROGRESS_SECONDS": "0",
        "EPOCHPLAN_SHARED_DATA": str(project),
    }
    for args in (("audit", "data.parquet", "--json", "-", "-q"), ("config", "show", "--json")):
        assert warnings_of(run_cli(*args, cwd=project, env=env)) == []
    # Every EPOCHPLAN_ name the package spells as a string is among them (a variable added to
    # the code and forgotten in settings.OTHER_VARIABLES would be warned about when set).
    package = Path(settings.__file__).parent
    written = {m for f in package.rglob("*.py") for m in re.findall(r"[\"'](EPOCHPLAN_[A-Z0-9_]+)[\"']", f.read_text())}
    assert {"EPOCHPLAN_BATCH_ROWS", "EPOCHPLAN_PROGRESS_SECONDS"} <= written <= names | set(settings.OTHER_VARIABLES)


@pytest.mark.parametrize("table", ["epoch-plan", "epoch_plan", "EpochPlan", "epochpaln"])
def test_a_misspelt_pyproject_table_is_warned_about_with_the_right_spelling(project, table):
    (project / "pyproject.toml").write_text(f'[project]\nname = "x"\n\n[tool.{table}]\nthreshold = 0.9\n')
    proc = run_cli("audit", "data.parquet", "--json", "-", "-q", cwd=project)
    assert warnings_of(proc) == [
        f"warning: {project / 'pyproject.toml'}: [tool.{table}] is not read by epochplan (its table is [tool.epochplan]), "
        "so its settings change nothing; rename it [tool.epochplan]"
    ], proc.stderr
    assert json.loads(proc.stdout)["near"]["threshold"] == defaults.THRESHOLD  # the table changed nothing
    shown = run_cli("config", "show", "--json", cwd=project)  # four commands resolved: said once
    assert len(warnings_of(shown)) == 1 and json.loads(shown.stdout)["file"] is None
    named = run_cli("audit", "data.parquet", "--config", "pyproject.toml", cwd=project)
    assert_clean_error(named, "has no [tool.epochplan] table", f"it has [tool.{table}]: rename it [tool.epochplan]")


def test_a_misspelt_table_beside_the_right_one_is_warned_about_and_the_right_one_read(project):
    (project / "pyproject.toml").write_text("[tool.epochplan]\nthreshold = 0.9\n[tool.epoch_plan.check]\nmax-leaked-rows = 5\n")
    proc = run_cli("audit", "data.parquet", "--json", "-", "-q", cwd=project)
    assert warnings_of(proc) == [
        f"warning: {project / 'pyproject.toml'}: [tool.epoch_plan] is not read by epochplan (its table is [tool.epochplan]), "
        "so its settings change nothing; move its keys into [tool.epochplan]"
    ], proc.stderr
    assert json.loads(proc.stdout)["near"]["threshold"] == 0.9


def test_a_pyproject_table_beside_an_epochplan_toml_is_warned_about_naming_both(project):
    """epochplan.toml wins in its folder; the `[tool.epochplan]` of the pyproject.toml beside it
    was ignored without a word, and with it the gate's thresholds written there."""
    pyproject, standalone = project / "pyproject.toml", project / "epochplan.toml"
    pyproject.write_text('[project]\nname = "x"\n\n[tool.epochplan.check]\nmax-leaked-rows = 5\n')
    standalone.write_text("[check]\nmax-exact-duplicate-fraction = 0.5\n")
    expected = [
        f"warning: {pyproject}: [tool.epochplan] is not read, as {standalone} beside it is (epochplan.toml wins); "
        "move its settings into epochplan.toml and delete the table, or name one file with --config"
    ]
    proc = run_cli("check", "data.parquet", "--json", "-", "-q", cwd=project)
    assert warnings_of(proc) == expected, proc.stderr
    thresholds = json.loads(proc.stdout)["thresholds"]
    assert (thresholds["max-exact-duplicate-fraction"], thresholds["max-leaked-rows"]) == (0.5, 0)  # as documented: the standalone file
    shown = run_cli("config", "show", "--json", cwd=project)  # four commands resolved: said once
    assert warnings_of(shown) == expected and json.loads(shown.stdout)["file"] == str(standalone)
    # Named with --config, either file is a choice: nothing to warn about.
    named = run_cli("check", "data.parquet", "--json", "-", "-q", "--config", "pyproject.toml", cwd=project)
    assert warnings_of(named) == [] and json.loads(named.stdout)["thresholds"]["max-leaked-rows"] == 5
    # A pyproject.toml without [tool.epochplan] beside it is no conflict.
    pyproject.write_text('[project]\nname = "x"\n\n[tool.ruff]\nline-length = 100\n')
    assert warnings_of(run_cli("config", "show", cwd=project)) == []


def test_another_tools_table_and_a_misspelt_key_are_as_before(project):
    # A table of another tool is not ours to judge; a misspelt key inside ours is an error already.
    (project / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n[tool.epochplan]\nthreshold = 0.9\n")
    assert warnings_of(run_cli("config", "show", cwd=project)) == []
    (project / "pyproject.toml").write_text("[tool.epochplan]\ntreshold = 0.9\n")
    assert_clean_error(run_cli("config", "show", cwd=project), "unknown key 'treshold'", "did you mean 'threshold'?")


def test_why_is_printed_with_q_and_beside_json_on_stdout(project):
    plain = {"NO_COLOR": "1", "TERM": "dumb"}
    quiet = run_cli("audit", "data.parquet", "-q", cwd=project, env=plain)
    assert quiet.returncode == 0 and "global_batch_size:" not in quiet.stdout + quiet.stderr
    why = run_cli("audit", "data.parquet", "-q", "--why", cwd=project, env=plain)
    assert why.returncode == 0, why.stderr
    assert why.stdout.startswith("why\n") and "global_batch_size:" in why.stdout  # the reasons alone, no summary
    assert "total steps" not in why.stdout and "exact duplicates" not in why.stdout.lower()
    beside = run_cli("audit", "data.parquet", "--json", "-", "--why", cwd=project, env=plain)
    assert beside.returncode == 0, beside.stderr
    json.loads(beside.stdout)  # stdout keeps the JSON alone
    assert "global_batch_size:" in beside.stderr
