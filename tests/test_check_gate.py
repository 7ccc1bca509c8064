"""What `epochplan check` could not judge does not read as a pass: a leakage check skipped for an
eval split of null texts, and the near checks skipped with near duplicates turned off where the
command line does not show it (`EPOCHPLAN_NEAR=false`, `near = false` in a file), are warnings that
`--fail-on warning` fails, each saying why (`--no-near` in the command is a quiet, named skip), and
not worse than a baseline that skipped them too; and the pre-commit hook runs on every file format the
gate reads. The CLI runs as a subprocess on real files, as CI runs it."""

from __future__ import annotations

import gzip
import json
import re
import subprocess
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.feather as feather
import yaml
import zstandard

from conftest import REPO, run_cli
from epochplan.sources.paths import COMPRESSIBLE, COMPRESSIONS, FORMATS

TEXTS = [f"row {i} holds words of its own: {i * 7919} {i * 104729} and {i % 13} more" for i in range(40)]


def check(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_cli("check", *args, cwd=cwd, env={"GITHUB_ACTIONS": "", "EPOCHPLAN_NEAR": "", **(env or {})})


def report_of(proc: subprocess.CompletedProcess, code: int) -> dict:
    assert proc.returncode == code, (proc.returncode, proc.stderr, proc.stdout[-2000:])
    return json.loads(proc.stdout)


def train(folder: Path) -> Path:
    path = folder / "train.parquet"
    pl.DataFrame({"text": TEXTS}).write_parquet(path)
    return path


# --- 1. an eval split of null texts ------------------------------------------------------------


def test_an_eval_split_of_null_texts_fails_the_gate_under_fail_on_warning(tmp_path):
    """Its leakage checks were skipped and shown as warnings, yet `--fail-on warning` exited 0:
    the gate asked to fail on warnings passed on an eval split it never compared."""
    data = train(tmp_path)
    nulls = tmp_path / "val.parquet"
    pl.DataFrame({"text": pl.Series([None] * 6, dtype=pl.String)}).write_parquet(nulls)
    failed = report_of(check(str(data), "--eval", str(nulls), "--fail-on", "warning", "--json", "-", cwd=tmp_path), 1)
    assert failed["summary"]["failed"] == ["leakage-exact:val", "leakage-near:val"]
    assert failed["summary"]["skipped"] == ["leakage-exact:val", "leakage-near:val", "conflicting-labels", "label-imbalance"]
    for kind in ("exact", "near"):
        c = {c["id"]: c for c in failed["checks"]}[f"leakage-{kind}:val"]
        assert (c["status"], c["warns"], c["fails_gate"]) == ("skipped", True, True)
        assert "every text null" in c["message"]
    # Under the default fail-on error it is a warning that does not fail (README's exit table) …
    assert report_of(check(str(data), "--eval", str(nulls), "--json", "-", cwd=tmp_path), 0)["summary"]["status"] == "pass"
    # … and --exit-zero keeps its word; JUnit carries the failure, not a skip.
    proc = check(str(data), "--eval", str(nulls), "--fail-on", "warning", "--exit-zero", "--junit", "-", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert 'failures="2"' in proc.stdout and '<failure message="skipped: eval split' in proc.stdout
    # A quiet skip (no --label) still never fails: only a warned one counts as a warning.
    clean = report_of(check(str(data), "--fail-on", "warning", "--json", "-", cwd=tmp_path), 0)
    assert "label-imbalance" in clean["summary"]["skipped"] and clean["summary"]["failed"] == []


# --- 2. near duplicates turned off -------------------------------------------------------------


def test_near_duplicates_off_in_the_environment_is_a_warning_naming_the_variable(tmp_path):
    """`EPOCHPLAN_NEAR=false` (set in a CI job's environment, out of the command line's sight)
    skipped the near-duplicate check quietly: the configured limit of 5 % read as a pass with
    "the audit has no 'near' section", and `--fail-on warning` passed."""
    data = train(tmp_path)
    env = {"EPOCHPLAN_NEAR": "false"}
    report = report_of(check(str(data), "--json", "-", cwd=tmp_path, env=env), 0)
    near = {c["id"]: c for c in report["checks"]}["near-duplicates"]
    assert (near["status"], near["warns"], near["fails_gate"]) == ("skipped", True, False)
    assert near["message"] == (
        "skipped: near duplicates were off (EPOCHPLAN_NEAR=false in the environment): "
        "the limit max-near-duplicate-fraction = 0.05 was not checked"
    )
    failed = report_of(check(str(data), "--fail-on", "warning", "--json", "-", cwd=tmp_path, env=env), 1)
    assert failed["summary"]["failed"] == ["near-duplicates"]
    # The terminal, the annotations and the job summary say it was skipped, and why.
    summary = tmp_path / "summary.md"
    proc = check(str(data), cwd=tmp_path, env={**env, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stderr
    assert "warning near-duplicates: skipped: near duplicates were off (EPOCHPLAN_NEAR=false in the environment)" in proc.stdout
    assert "::warning title=epochplan check near-duplicates::skipped: near duplicates were off" in proc.stdout
    assert "gate passed: 3 pass, 5 skipped (1 of them a warning); fail-on error; exit 0" in proc.stdout
    said = summary.read_text().replace("\\_", "_")  # Markdown escapes the underscore
    assert "| `near-duplicates` | skipped (warning) |" in said
    assert "- **skipped (warning)** `near-duplicates`: near duplicates were off (EPOCHPLAN_NEAR=false in the environment)" in said
    # Near duplicates on again (the variable's documented meaning): judged, and passed.
    on = report_of(check(str(data), "--fail-on", "warning", "--json", "-", cwd=tmp_path, env={"EPOCHPLAN_NEAR": "true"}), 0)
    assert {c["id"]: c for c in on["checks"]}["near-duplicates"]["status"] == "pass"


def test_near_duplicates_off_by_a_file_warns_and_by_the_flag_is_a_named_skip(tmp_path):
    data = train(tmp_path)
    val = tmp_path / "val.parquet"
    pl.DataFrame({"text": [f"an eval row {i} unlike any train row at all" for i in range(5)]}).write_parquet(val)
    (tmp_path / "pyproject.toml").write_text("[tool.epochplan]\nnear = false\n")
    args = [str(data), "--eval", str(val), "--min-unique-samples", "10", "--fail-on", "warning", "--json", "-"]
    report = report_of(check(*args, cwd=tmp_path), 1)
    assert report["summary"]["failed"] == ["near-duplicates", "leakage-near:val", "min-unique-samples"]
    where = f"near duplicates were off (near = false in {tmp_path / 'pyproject.toml'} (tool.epochplan))"
    for c in report["checks"]:
        assert (where in c["message"]) is (c["id"] in report["summary"]["failed"]), c
    assert {c["id"]: c for c in report["checks"]}["leakage-exact:val"]["status"] == "pass"  # judged without near
    # --no-near is in the command the log shows: the same checks are skipped and named, not warned.
    flag = report_of(check(*args, "--no-near", "--config", str(tmp_path / "pyproject.toml"), cwd=tmp_path), 0)
    by_id = {c["id"]: c for c in flag["checks"]}
    for id in ("near-duplicates", "leakage-near:val", "min-unique-samples"):
        assert by_id[id]["status"] == "skipped" and not by_id[id]["warns"], by_id[id]
        assert "near duplicates were off (--no-near)" in by_id[id]["message"], by_id[id]


def test_a_near_skip_is_quieted_by_its_marker_not_by_its_message(tmp_path):
    """`check(near=False)` quiets the near checks it skipped, and no other: an eval split of null
    texts whose name holds the near-off reason stays a warning (it was quieted when the reason was
    searched for in each check's message)."""
    from epochplan.checking import check as check_api

    reason = "near duplicates were off (near=False)"
    nulls = pl.DataFrame({"text": pl.Series([None] * 3, dtype=pl.String)})
    report = check_api(pl.DataFrame({"text": TEXTS}), eval={reason: nulls}, near=False)
    by_id = {c.id: c for c in report.checks}
    assert (by_id["near-duplicates"].status, by_id["near-duplicates"].warns) == ("skipped", False)
    assert reason in by_id["near-duplicates"].message
    exact = by_id[f"leakage-exact:{reason}"]
    assert (exact.status, exact.warns) == ("skipped", True), exact
    assert "every text null" in exact.message


# --- 3. a baseline of warned skips ----------------------------------------------------------------


def test_a_warned_skip_the_baseline_had_too_is_not_worse(tmp_path):
    """README: "--baseline fails only checks that got worse". A skip shown as a warning (near
    duplicates off by EPOCHPLAN_NEAR, an eval split of null texts) got no baseline verdict, so
    `--fail-on warning` failed it against a baseline of the same data, nothing changed."""
    data = train(tmp_path)
    val = tmp_path / "val.parquet"
    pl.DataFrame({"text": pl.Series([None] * 4, dtype=pl.String)}).write_parquet(val)
    env = {"EPOCHPLAN_NEAR": "false"}
    args = [str(data), "--eval", str(val), "--fail-on", "warning"]
    first = check(*args, "--json", "base.json", "--exit-zero", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    warned = ["near-duplicates", "leakage-exact:val", "leakage-near:val"]
    assert json.loads((tmp_path / "base.json").read_text())["summary"]["failed"] == warned
    again = report_of(check(*args, "--baseline", "base.json", "--json", "-", cwd=tmp_path, env=env), 0)
    assert again["summary"]["failed"] == [] and again["summary"]["not_worse_than_baseline"] == warned
    by_id = {c["id"]: c for c in again["checks"]}
    for id in warned:
        assert (by_id[id]["status"], by_id[id]["warns"], by_id[id]["baseline"]["verdict"]) == ("skipped", True, "same"), by_id[id]
    # A warned skip the baseline judged is new: the eval split held texts then, and fails now.
    pl.DataFrame({"text": ["an eval row unlike any train row"] * 4}).write_parquet(val)
    assert check(*args, "--json", "judged.json", "--exit-zero", cwd=tmp_path, env=env).returncode == 0
    pl.DataFrame({"text": pl.Series([None] * 4, dtype=pl.String)}).write_parquet(val)
    worse = report_of(check(*args, "--baseline", "judged.json", "--json", "-", cwd=tmp_path, env=env), 1)
    assert worse["summary"]["failed"] == ["leakage-exact:val"]
    assert {c["id"]: c for c in worse["checks"]}["leakage-exact:val"]["baseline"]["verdict"] == "new"


# --- 4. the pre-commit hook's files ------------------------------------------------------------

#: The suffixes README's input table lists (row formats compressed too: "only row formats can be
#: compressed as a whole file").
README_SUFFIXES = {
    *(".parquet", ".pq", ".arrow", ".ipc", ".feather"),
    *(f"{base}{z}" for base in (".jsonl", ".ndjson", ".json", ".csv", ".tsv", ".txt") for z in ("", ".gz", ".zst")),
}


def hook_patterns() -> dict[str, re.Pattern[str]]:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    return {hook["id"]: re.compile(hook["files"]) for hook in hooks}


def test_the_pre_commit_hooks_run_on_every_format_the_gate_reads_and_no_other():
    """The hooks ran on .parquet, .pq, .jsonl, .ndjson and .csv only: a commit changing a .tsv,
    .json, .txt, .arrow or a compressed file slipped past the gate."""
    readable = {*FORMATS, *(f"{s}{z}" for s, kind in FORMATS.items() if kind in COMPRESSIBLE for z in COMPRESSIONS)}
    assert readable == README_SUFFIXES  # the README's list is the code's
    patterns = hook_patterns()
    assert set(patterns) == {"epochplan-check", "epochplan-check-system"}
    for hook, pattern in patterns.items():
        for suffix in README_SUFFIXES:
            for name in (f"data/train{suffix}", f"data/TRAIN{suffix.upper()}"):  # epochplan reads the suffix in any case
                assert pattern.search(name), (hook, name)
        for name in ("train.py", "train.parquet.gz", "train.csv.bz2", "notes.md", "train.jsonl.gz.bak", "data.zst", "jsonl"):
            assert not pattern.search(name), (hook, name)


def test_a_file_the_hook_newly_runs_on_is_read_by_the_gate(tmp_path):
    """Real files of the formats the hook missed: `epochplan check` reads each (exit 0, its rows
    counted), and both hooks' patterns match its name."""
    table = pa.table({"text": TEXTS})
    (tmp_path / "a.tsv.zst").write_bytes(zstandard.ZstdCompressor().compress(("text\n" + "\n".join(TEXTS) + "\n").encode()))
    (tmp_path / "b.txt.gz").write_bytes(gzip.compress(("\n".join(TEXTS) + "\n").encode()))
    feather.write_feather(table, tmp_path / "c.arrow")
    (tmp_path / "d.json").write_text(json.dumps([{"text": t} for t in TEXTS]))
    for name in ("a.tsv.zst", "b.txt.gz", "c.arrow", "d.json"):
        report = report_of(check(name, "--json", "-", cwd=tmp_path), 0)
        assert report["audit"]["rows"] == len(TEXTS), name
        assert all(pattern.search(f"data/{name}") for pattern in hook_patterns().values()), name
