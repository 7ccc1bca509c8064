"""`epochplan plan` as a user runs it: a subprocess, real files, exit codes, configuration."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import assert_clean_error, run_cli


def run_plan(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return run_cli("plan", *args, cwd=cwd)


def plan_json(*args: str, cwd: Path | None = None) -> dict:
    proc = run_plan(*args, "-o", "-", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def write_audit(path: Path, rows: int = 1000, unique: int = 100) -> Path:
    """An `epochplan.audit/1` JSON (issue 2 contract): `rows` rows, `unique` distinct texts."""
    audit = {
        "schema": "epochplan.audit/1",
        "source": {"paths": ["d.parquet"], "text_columns": ["text"], "label_column": None, "normalize": "default"},
        "rows": rows,
        "null_rows": 0,
        "empty_rows": 0,
        "exact": {
            "unique": unique,
            "duplicate_rows": rows - unique,
            "duplicate_fraction": 1 - unique / rows,
            "clusters": unique if rows > unique else 0,
            "largest_cluster": rows // unique,
            "top": [{"row": i, "count": rows // unique, "preview": f"t{i}"} for i in range(min(10, unique))],
        },
        "lengths": {
            "chars": {"mean": 120.0, "p50": 100, "p90": 220, "p99": 400, "max": 900},
            "words": {"mean": 20.0, "p50": 17, "p90": 37, "p99": 66, "max": 150},
            "tokens_estimate": rows * 30,
            "total_bytes": rows * 120,
        },
        "labels": None,
        "diversity": {"vocabulary": 500, "distinct_1": 0.3, "distinct_2": 0.6, "estimated": False},
    }
    path.write_text(json.dumps(audit))
    return path


def test_plain_arithmetic():
    """Issue 4: `epochplan plan --samples 2000 --batch 200 --epochs 3` -> 10 steps/epoch, 30 steps."""
    d = plan_json("--samples", "2000", "--batch", "200", "--epochs", "3")
    assert d["schema"] == "epochplan.plan/1"
    assert (d["steps_per_epoch"], d["total_steps"], d["global_batch_size"]) == (10, 30, 200)


def test_bert_from_the_command_line():
    """Devlin et al. 2019 (BERT): `--tokens 3.3e9 --seq-len 512 --batch 256 --steps 1000000` -> 39.7 epochs."""
    d = plan_json("--tokens", "3.3e9", "--seq-len", "512", "--batch", "256", "--steps", "1000000")
    assert round(d["epochs"]["planned"], 1) == 39.7


def test_audit_json_to_plan_file(tmp_path):
    """Issue 4: `epochplan plan --audit audit.json --regime finetune --batch 16 -o plan.json`;
    100 unique x 10 copies is planned on 100 unique samples, with a duplicate warning."""
    audit = write_audit(tmp_path / "audit.json")
    out = tmp_path / "plan.json"
    proc = run_plan("--audit", str(audit), "--regime", "finetune", "--batch", "16", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "total steps" in proc.stdout  # the terminal table is still printed
    d = json.loads(out.read_text())
    assert d["unique_samples"] == 100 and d["steps_per_epoch"] == 7
    assert any("duplicates" in w for w in d["warnings"])
    assert out.read_text() == json.dumps(d, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.json", "plan.json"]  # no temp file left


def test_setup_flags_from_the_issue(tmp_path):
    """Issue 4: --regime lora --params 7e9 --batch 8 --grad-accum 4 --gpus 8 --seq-len 2048."""
    audit = write_audit(tmp_path / "audit.json", rows=50_000, unique=50_000)
    d = plan_json(
        "--audit", str(audit), "--regime", "lora", "--params", "7B", "--batch", "8", "--grad-accum", "4", "--gpus", "8", "--seq-len", "2048"
    )
    assert d["global_batch_size"] == 256 and d["regime"] == "lora"
    assert d["flops"] == pytest.approx(6 * 7e9 * d["tokens_total"], rel=1e-9)


@pytest.mark.parametrize(
    "fmt, fragment",
    [
        ("hf", "TrainingArguments("),
        ("lightning", "accumulate_grad_batches="),
        ("composer", 'max_duration="'),
        ("torch", '"total_steps"'),
        ("yaml", 'schema: "epochplan.plan/1"'),
    ],
)
def test_formats(fmt, fragment):
    """Issue 4/5: `--format hf|lightning|composer|torch|yaml` prints ready-to-use configuration."""
    proc = run_plan("--samples", "2000", "--batch", "16", "--format", fmt)
    assert proc.returncode == 0, proc.stderr
    assert fragment in proc.stdout
    if fmt != "yaml":
        compile(proc.stdout, fmt, "exec")


def test_format_selects_framework_rounding():
    """`--format composer` with drop_last rounds as Composer does (one step per batch x grad_accum)."""
    proc = run_plan("--samples", "100", "--batch", "10", "--grad-accum", "3", "--drop-last", "--epochs", "1", "--format", "composer")
    assert 'max_duration="3ba"' in proc.stdout, proc.stdout


def test_data_path_runs_the_audit(shared_data):
    """A data path input runs the audit first (ChatterBot English `text`, ../shared/data)."""
    d = plan_json(str(shared_data / "chatterbot_english.parquet"), "--text", "text", "--batch", "16")
    assert d["unique_samples"] < 4419 and d["exposure"]["largest_cluster"] >= 121


def test_pyproject_defaults_and_cli_wins(tmp_path):
    """Issue 4: defaults from [tool.epochplan.plan] in pyproject.toml; the command line wins."""
    (tmp_path / "pyproject.toml").write_text(
        "[tool.epochplan]\ntext = ['prompt']\n[tool.epochplan.plan]\nbatch = 200\ngrad-accum = 1\nepochs = 3\n"
    )
    sub = tmp_path / "sub"
    sub.mkdir()
    assert plan_json("--samples", "2000", cwd=sub)["total_steps"] == 30
    assert plan_json("--samples", "2000", "--batch", "100", cwd=sub)["steps_per_epoch"] == 20
    assert plan_json("--samples", "2000", "--steps", "7", cwd=sub)["total_steps"] == 7  # replaces configured epochs


def test_standalone_epochplan_toml(tmp_path):
    (tmp_path / "epochplan.toml").write_text("[plan]\nregime = 'classifier'\nbatch = 10\n")
    assert plan_json("--samples", "500", cwd=tmp_path)["epochs"]["recommended"] == 20


def test_a_run_length_from_a_higher_level_replaces_a_lower_one(tmp_path):
    # The levels were told apart by the wording of each value's source: `[audit] epochs` and
    # `[plan] steps` were one level (exit 2, "--epochs and --steps are both set"), and a file under
    # environments/ ranked as an EPOCHPLAN_* variable. Command table > [plan] > top level.
    (tmp_path / "epochplan.toml").write_text("steps = 50\n[audit]\nepochs = 3\n[plan]\nsteps = 100\n")
    (tmp_path / "s.jsonl").write_text("".join(f'{{"text": "row {i} of the data"}}\n' for i in range(40)))
    proc = run_cli("audit", "s.jsonl", "--json", "-", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["plan"]["epochs"]["planned"] == 3
    assert plan_json("--samples", "1000", cwd=tmp_path)["total_steps"] == 100  # [plan] beats the top level
    (tmp_path / "environments").mkdir()
    (tmp_path / "environments" / "prod.toml").write_text("[plan]\nepochs = 3\n")
    proc = run_cli(
        "plan", "--samples", "1000", "--config", "environments/prod.toml", "-o", "-", cwd=tmp_path, env={"EPOCHPLAN_STEPS": "70"}
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["total_steps"] == 70


@pytest.mark.parametrize(
    "body, env, fragments",
    [
        (
            "[plan]\nepochs = 3\nsteps = 100\n",
            {},
            ["epochs in ", "epochplan.toml (plan) and steps in ", "epochplan.toml (plan) are both set"],
        ),
        ("", {"EPOCHPLAN_EPOCHS": "3", "EPOCHPLAN_TOKEN_BUDGET": "1e9"}, ["EPOCHPLAN_EPOCHS and EPOCHPLAN_TOKEN_BUDGET are both set"]),
    ],
)
def test_two_run_lengths_at_one_level_are_named_where_they_were_set(tmp_path, body, env, fragments):
    # The error named flags (--epochs and --steps) that were never typed.
    (tmp_path / "epochplan.toml").write_text(body)
    assert_clean_error(run_cli("plan", "--samples", "1000", cwd=tmp_path, env=env), *fragments)


@pytest.mark.parametrize(
    "content, fragment",
    [
        ("[tool.epochplan.plan]\nbatchsize = 8\n", "unknown key 'batchsize'"),
        ("[tool.epochplan.plan]\nbatch = 0\n", "pyproject.toml"),
        ("[tool.epochplan.plan]\nbatch = \n", "invalid TOML"),
    ],
)
def test_config_errors(tmp_path, content, fragment):
    (tmp_path / "pyproject.toml").write_text(content)
    assert_clean_error(run_plan("--samples", "100", cwd=tmp_path), fragment)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (("--samples", "100", "--batch", "0"), "--batch"),
        (("--samples", "100", "--batch", "-8"), "--batch (per-device batch size): must be at least 1, got -8"),
        (("--samples", "100", "--gpus", "-1"), "--gpus (data-parallel size): must be at least 1, got -1"),
        (("--samples", "100", "--epochs", "-2"), "--epochs: must be greater than 0, got -2"),
        (("--samples", "100", "--sample-overhead", "-3"), "--sample-overhead: must be 0 or more, got -3"),
        (("--samples", "100", "--batch", "sixteen"), "--batch"),
        (("--samples", "4", "--gpus", "8"), "--gpus 8"),
        (("--samples", "100", "--epochs", "3", "--steps", "100"), "contradict"),
        (("--samples", "100", "--regime", "rlhf"), "unknown regime"),
        (("--samples", "100", "--framework", "jax"), "unknown framework"),
        (("--samples", "100", "--format", "xml"), "unknown format"),
        (("--samples", "100", "--packing-efficiency", "2"), "--packing-efficiency"),
        (("--audit", "missing.json"), "missing.json"),
        ((), "nothing to plan"),
    ],
)
def test_errors_exit_2_with_one_line(tmp_path, args, fragment):
    """Issue 4 scope 5: impossible geometry, contradictory overrides, unknown regime -> exit 2, one line."""
    out = tmp_path / "plan.json"
    proc = run_plan(*args, "-o", str(out), cwd=tmp_path)
    assert_clean_error(proc, fragment)
    assert not out.exists()


def test_audit_and_samples_contradict(tmp_path):
    audit = write_audit(tmp_path / "audit.json")
    assert_clean_error(run_plan("--audit", str(audit), "--samples", "10"), "give one source")


def test_a_table_written_to_a_file_is_the_table(tmp_path):
    # `-f table -o FILE` wrote the plan's JSON into the file.
    proc = run_cli("plan", "--samples", "10000", "-f", "table", "-o", str(tmp_path / "plan.txt"))
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / "plan.txt").read_text()
    assert text.startswith("plan: ") and "│ total steps" in text and "2,500" in text and "\x1b[" not in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text)


def test_implied_packing_counts_raw_rows_as_packed_too(tmp_path, shared_data):
    # Pre-training packs unless told not to; the exposure tested the --packing flag (None here)
    # and counted an epoch over raw rows unpacked: 553 steps where the same plan with --packing
    # said 27.
    audit = tmp_path / "chat.json"
    proc = run_cli("audit", str(shared_data / "chatterbot_english.parquet"), "--json", str(audit), "-q")
    assert proc.returncode == 0, proc.stderr
    implied = plan_json("--audit", str(audit), "--regime", "pretrain", "--seq-len", "256")
    explicit = plan_json("--audit", str(audit), "--regime", "pretrain", "--seq-len", "256", "--packing")
    assert implied["packing"] is True and implied["setup"]["packing"] is None
    assert implied["exposure"] == explicit["exposure"]
    assert implied["steps_per_epoch"] < implied["exposure"]["raw_steps_per_epoch"] < 2 * 4419 / 8
