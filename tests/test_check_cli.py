"""`epochplan check` as a CI job runs it (issue 6): a subprocess on small generated Parquet files,
every exit code, the threshold boundary, configuration, JSON / JUnit / GitHub outputs, baseline,
and leakage, near duplicates and conflicting labels end to end."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest

from conftest import assert_clean_error, run_cli

_rng = random.Random(6)
VOCAB = [f"w{_rng.randrange(10**6):06d}" for _ in range(20_000)]
# Nothing may be relaxed by accident: each test states the thresholds it is about.
RELAXED = ["--max-exact-duplicate-fraction", "1", "--max-near-duplicate-fraction", "1"]


def texts(n: int, words: int = 12, seed: int = 0) -> list[str]:
    """`n` texts of random words: pairwise far apart for exact and near duplicates alike."""
    rng = random.Random(seed)
    return [" ".join(rng.choice(VOCAB) for _ in range(words)) for _ in range(n)]


def parquet(path: Path, column: dict[str, list], **more: list) -> Path:
    pl.DataFrame({**column, **more}).write_parquet(path)
    return path


def dataset(path: Path, rows: int, duplicates: int, seed: int = 0) -> Path:
    """`rows` rows of which `duplicates` are exact copies of row 0 (duplicate_rows = duplicates)."""
    unique = texts(rows - duplicates, seed=seed)
    return parquet(path, {"text": unique + [unique[0]] * duplicates})


def check(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return run_cli("check", *args, cwd=cwd, env={"GITHUB_ACTIONS": "", **(env or {})})


def check_json(*args: str, cwd: Path, code: int, env: dict[str, str] | None = None) -> dict:
    proc = check(*args, "--json", "-", cwd=cwd, env=env)
    assert proc.returncode == code, (proc.returncode, proc.stderr, proc.stdout[-2000:])
    return json.loads(proc.stdout)


def checks_of(report: dict) -> dict[str, dict]:
    return {c["id"]: c for c in report["checks"]}


# --- exit codes ---------------------------------------------------------------------------------


def test_exit_0_when_every_check_passes(tmp_path):
    data = dataset(tmp_path / "train.parquet", 40, 0)
    proc = check(str(data), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "gate passed" in proc.stdout and "exact-duplicates" in proc.stdout
    assert "skipped leakage: no eval split given" in proc.stdout  # reported, not a silent pass


def test_exit_1_when_the_gate_fails_with_examples(tmp_path):
    data = dataset(tmp_path / "train.parquet", 40, 4)
    proc = check(str(data), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "gate FAILED" in proc.stdout and "row 0 x5:" in proc.stdout  # the top example of the failing check
    assert proc.stderr == ""


def test_rows_of_whitespace_alone_are_empty_rows(tmp_path):
    """A row of spaces, a line break or an ideographic space is no sample: it counts as empty, so
    the default --max-empty-fraction 0 fails it (only "" counted before, and the gate passed)."""
    data = parquet(tmp_path / "train.parquet", {"text": [*texts(20), " ", "\n", "\u3000\t"]})
    report = check_json(str(data), *RELAXED, cwd=tmp_path, code=1)
    assert report["audit"]["empty_rows"] == 3
    assert checks_of(report)["empty-rows"]["status"] == "error"  # a failing gate


def test_exit_zero_reports_then_exits_0(tmp_path):
    data = dataset(tmp_path / "train.parquet", 40, 4)
    out = tmp_path / "check.json"
    proc = check(str(data), "--exit-zero", "--json", str(out), cwd=tmp_path)
    assert proc.returncode == 0 and "gate FAILED" in proc.stdout
    summary = json.loads(out.read_text())["summary"]
    assert (summary["status"], summary["exit_code"], summary["exit_zero"]) == ("fail", 0, True)


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["missing.parquet"], "missing.parquet: no such file"),
        (["{data}", "--eval", "missing_val.parquet"], "missing_val.parquet: no such file"),
        (["{bad}"], "not a Parquet file"),
        (["{data}", "--text", "prompt"], "no column 'prompt'"),
        (["{data}", "--max-exact-duplicate-fraction", "5%"], "--max-exact-duplicate-fraction 5%"),
        (["{data}", "--max-leaked-rows", "-1"], "--max-leaked-rows -1: must be 0 or more"),
        (["{data}", "--fail-on", "never"], "--fail-on never"),
        (["{data}", "--baseline", "nothing.json"], "--baseline nothing.json: file not found"),
        (["{data}", "--json", "no/such/dir/check.json"], "--json no/such/dir/check.json"),
        (["{data}", "--json", "{data}"], "--json {data}: is one of the input files"),
        (["{data}", "--junit", "-", "--json", "-"], "--json and --junit all write to standard output"),
        (["{data}", "--no-such-flag"], "No such option"),
        ([], "Missing argument"),
    ],
)
def test_exit_2_usage_and_input_errors_even_with_exit_zero(tmp_path, args, fragment):
    """Nothing judged: one line on stderr, exit 2, no report written, also under --exit-zero."""
    data = dataset(tmp_path / "train.parquet", 20, 10)  # would fail the gate if it were judged
    bad = tmp_path / "bad.parquet"
    bad.write_text("not parquet")
    args = [a.format(data=data, bad=bad) for a in args]
    proc = check("--exit-zero", "--junit", str(tmp_path / "report.xml"), *args, cwd=tmp_path)
    assert_clean_error(proc, fragment.format(data=data))
    assert not (tmp_path / "report.xml").exists()


def test_exit_2_for_configuration_errors_even_with_exit_zero(tmp_path):
    data = dataset(tmp_path / "train.parquet", 20, 0)
    (tmp_path / "pyproject.toml").write_text("[tool.epochplan.check]\nmax-exact-duplicate-fraction = 1.5\n")
    proc = check(str(data), "--exit-zero", cwd=tmp_path)
    assert_clean_error(proc, str(tmp_path / "pyproject.toml"), "max-exact-duplicate-fraction = 1.5", "between 0 and 1")
    env_proc = check(str(data), "--config", str(tmp_path / "none.toml"), cwd=tmp_path)
    assert_clean_error(env_proc, "none.toml: file not found")


def test_exit_3_for_an_internal_error(tmp_path):
    """A bug inside the checks (injected here) is exit 3 with one line, not a traceback."""
    data = dataset(tmp_path / "train.parquet", 20, 0)
    program = (
        "import sys, epochplan.checking.rules as c\n"
        "def broken(*a, **k): raise RuntimeError('injected bug')\n"
        "c.run_checks = broken\n"
        "from epochplan.cli import run\n"
        "sys.exit(run(sys.argv[1:]))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", program, "check", str(data), "--exit-zero"], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )
    assert proc.returncode == 3, proc.stderr
    assert "internal error: RuntimeError: injected bug" in proc.stderr and "Traceback" not in proc.stderr


# --- the threshold boundary ---------------------------------------------------------------------


@pytest.mark.parametrize("rows, budget, at", [(100, "0.05", 5), (100, "0.29", 29), (300, "0.07", 21)])
def test_threshold_boundary_exactly_at_passes_one_row_over_fails(tmp_path, rows, budget, at):
    """count <= floor(budget * rows), exact: 29 of 100 passes a 0.29 budget (float 0.29*100 floors to 28)."""
    flags = ["--max-exact-duplicate-fraction", budget, "--max-near-duplicate-fraction", budget]
    at_limit = check_json(str(dataset(tmp_path / "at.parquet", rows, at)), *flags, cwd=tmp_path, code=0)
    c = checks_of(at_limit)["exact-duplicates"]
    assert (c["status"], c["count"], c["limit"], c["total"]) == ("pass", at, at, rows)
    over = check_json(str(dataset(tmp_path / "over.parquet", rows, at + 1)), *flags, cwd=tmp_path, code=1)
    c = checks_of(over)["exact-duplicates"]
    assert (c["status"], c["count"], c["limit"]) == ("error", at + 1, at)
    assert "exact-duplicates" in over["summary"]["failed"]


# --- configuration ------------------------------------------------------------------------------


def test_pyproject_configures_the_gate_and_precedence_holds(tmp_path):
    """[tool.epochplan] text/label and [tool.epochplan.check] thresholds; env beats file, CLI beats env."""
    unique = texts(97)
    parquet(tmp_path / "train.parquet", {"prompt": unique + unique[:3]}, other=["x"] * 100)
    (tmp_path / "pyproject.toml").write_text(
        "[tool.epochplan]\ntext = 'prompt'\n[tool.epochplan.check]\n"
        "max-exact-duplicate-fraction = 0.03\nmax-near-duplicate-fraction = 0.03\n"
    )
    sub = tmp_path / "sub"
    sub.mkdir()
    data = str(tmp_path / "train.parquet")
    from_file = check_json(data, cwd=sub, code=0)
    assert from_file["thresholds"]["max-exact-duplicate-fraction"] == 0.03
    assert from_file["audit"]["source"]["text_columns"] == ["prompt"]
    env = {"EPOCHPLAN_MAX_EXACT_DUPLICATE_FRACTION": "0.02"}
    assert checks_of(check_json(data, cwd=sub, code=1, env=env))["exact-duplicates"]["limit"] == 2
    assert check_json(data, "--max-exact-duplicate-fraction", "0.03", cwd=sub, code=0, env=env)["summary"]["status"] == "pass"


def test_fail_on_warning(tmp_path):
    parquet(tmp_path / "train.parquet", {"text": texts(60)}, label=["a"] * 55 + ["b"] * 5)
    data = str(tmp_path / "train.parquet")
    relaxed = ["--label", "label", "--max-conflicting-label-rows", "1000"]
    warned = check_json(data, *relaxed, cwd=tmp_path, code=0)
    assert checks_of(warned)["label-imbalance"]["status"] == "warning"
    failed = check_json(data, *relaxed, "--fail-on", "warning", cwd=tmp_path, code=1)
    assert failed["summary"]["failed"] == ["label-imbalance"]


# --- reports ------------------------------------------------------------------------------------


def test_json_and_junit_reports(tmp_path):
    data = dataset(tmp_path / "train.parquet", 50, 5)
    out, junit = tmp_path / "check.json", tmp_path / "report.xml"
    proc = check(str(data), "--json", str(out), "--junit", str(junit), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    report = json.loads(out.read_text())
    assert report["schema"] == "epochplan.check/1"
    assert report["summary"]["exit_code"] == 1 and report["summary"]["status"] == "fail"
    assert report["audit"]["schema"] == "epochplan.audit/1" and report["audit"]["exact"]["duplicate_rows"] == 5
    assert out.read_text() == json.dumps(report, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    root = ET.parse(junit).getroot()
    cases = root.findall("./testsuite/testcase")
    assert [c.get("name") for c in cases] == [c["id"] for c in report["checks"]]
    failures = [c.get("name") for c in cases if c.find("failure") is not None]
    assert failures == report["summary"]["failed"] and "exact-duplicates" in failures
    skipped = {c.get("name") for c in cases if c.find("skipped") is not None}
    assert skipped == set(report["summary"]["skipped"]) and "leakage" in skipped
    assert sorted(p.name for p in tmp_path.iterdir()) == ["check.json", "report.xml", "train.parquet"]  # no temp files


def test_github_actions_summary_and_annotations(tmp_path):
    data = dataset(tmp_path / "train.parquet", 50, 5)
    summary = tmp_path / "step_summary.md"
    summary.write_text("earlier step\n")
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    proc = check(str(data), cwd=tmp_path, env=env)
    assert proc.returncode == 1, proc.stderr
    text = summary.read_text()
    assert text.startswith("earlier step\n## :x: epochplan check: failed")  # appended
    assert "| `exact-duplicates` | **error** | 5 | 10.00 % |" in text
    annotations = [line for line in proc.stdout.splitlines() if line.startswith("::")]
    assert annotations and annotations[0].startswith("::error title=epochplan check exact-duplicates::5 exact duplicate rows")
    quiet = check(str(data), "--json", "-", cwd=tmp_path, env=env)  # stdout is the JSON: annotations go to stderr
    assert json.loads(quiet.stdout)["summary"]["status"] == "fail"
    assert "::error title=epochplan check exact-duplicates::" in quiet.stderr
    outside = check(str(data), cwd=tmp_path, env={"GITHUB_STEP_SUMMARY": str(summary)})
    assert "::error" not in outside.stdout and summary.read_text().count("epochplan check: failed") == 2


def test_github_summary_shows_data_text_as_text(tmp_path):
    """Labels, cluster texts, a file name and a split name are data: in the job summary they are
    code spans or escaped text, never a link, a remote image, bold text or a cell broken out of
    the table (the summary is rendered here as GitHub renders Markdown: CommonMark and tables)."""
    from markdown_it import MarkdownIt

    link = '[click here](https://evil.example/login) <img src="https://evil.example/pixel.png">'
    shared = f"dup {link} one two three four five six"
    rows = [(shared, link), (shared, "x`|**y**")] + [(t, "big") for t in texts(24, seed=3)]
    data = parquet(tmp_path / "tr`ain <b>x.parquet", {"text": [t for t, _ in rows]}, label=[lab for _, lab in rows])
    split = parquet(tmp_path / "val.parquet", {"text": [shared, "an eval row of its own"]})
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)}
    proc = check(str(data), "--label", "label", "--eval", f"v`al [a](x) *b*={split}", cwd=tmp_path, env=env)
    assert proc.returncode == 1, proc.stderr
    markdown = summary.read_text()
    page = MarkdownIt("commonmark").enable("table").render(markdown)
    assert "<a " not in page and "<img" not in page and "<strong>y" not in page and "<em>b" not in page, page
    assert "evil.example/login" in page and "[a](x) *b*" in page  # shown, as text
    assert all(line.count(" | ") == 4 for line in markdown.splitlines() if line.startswith("| `")), markdown  # five cells each
    assert page.count("<tr>") == 1 + markdown.count("\n| `")  # the header and one row a check: no pipe split a row
    codes = "".join(line for line in page.splitlines() if "<code>" in line)
    assert "click here" in codes and "tr’ain &lt;b&gt;x.parquet" in codes and "x’¦**y**" in codes


def test_baseline_passes_when_not_worse_and_fails_on_regression(tmp_path):
    # One data path whose content changes between runs, as in CI (issue 11: a baseline of another
    # path is refused unless --allow-baseline-mismatch).
    data = tmp_path / "train.parquet"
    before = dataset(data, 100, 4)
    base = tmp_path / "last_check.json"
    assert check(str(before), "--json", str(base), cwd=tmp_path).returncode == 1  # 4 % duplicates > 1 %
    same = check_json(str(dataset(data, 100, 4, seed=1)), "--baseline", str(base), cwd=tmp_path, code=0)
    assert checks_of(same)["exact-duplicates"]["status"] == "error"  # still over the budget, but not worse
    assert checks_of(same)["exact-duplicates"]["baseline"]["verdict"] == "same"
    assert same["summary"]["baseline"] == str(base)
    worse = check_json(str(dataset(data, 100, 5)), "--baseline", str(base), cwd=tmp_path, code=1)
    assert "exact-duplicates" in worse["summary"]["failed"]
    assert checks_of(worse)["exact-duplicates"]["baseline"]["verdict"] == "worse"


def test_a_baseline_made_without_a_tokenizer_serves_a_run_with_one(tmp_path):
    """No check counts tokens: adding, changing or re-saving the tokenizer changes no check, so
    the baseline is not refused for it (it was: "tokenizer None there, '809a…' here", exit 2).
    A setting that changes counts (normalisation) is still refused."""
    from tokenizer_fixture import write_gpt2_tokenizer_json

    data = dataset(tmp_path / "train.parquet", 100, 4)
    # With a column of token counts (FineWeb's `token_count`), which the audit names only beside
    # the bytes/4 estimate: not a setting either (it was refused, "token_count_column").
    pl.read_parquet(data).with_columns(token_count=pl.lit(12)).write_parquet(data)
    base = tmp_path / "base.json"
    assert check(str(data), "--json", str(base), "--exit-zero", cwd=tmp_path).returncode == 0
    tokenizer = write_gpt2_tokenizer_json(tmp_path / "tokenizer.json")
    again = check_json(str(data), "--baseline", str(base), "--tokenizer", str(tokenizer), cwd=tmp_path, code=0)
    assert checks_of(again)["exact-duplicates"]["baseline"]["verdict"] == "same"
    proc = check(str(data), "--baseline", str(base), "--normalize", "none", cwd=tmp_path)
    assert_clean_error(proc, "normalize")


# --- leakage, near duplicates, conflicts: need the issue 3 audit ----------------------------------


def _leaky_split(tmp_path: Path) -> tuple[Path, Path]:
    train = texts(50, words=60, seed=1)
    near_copy = " ".join(train[7].split()[:-1] + ["changedword"])  # Jaccard ~0.96 on word 5-grams
    val = [train[3], train[11], near_copy, *texts(7, words=60, seed=2)]
    return parquet(tmp_path / "train.parquet", {"text": train}), parquet(tmp_path / "val.parquet", {"text": val})


def test_leakage_per_eval_split_exact_and_near(tmp_path):
    train, val = _leaky_split(tmp_path)
    clean = parquet(tmp_path / "clean.parquet", {"text": texts(10, words=60, seed=3)})
    report = check_json(str(train), "--eval", str(val), "--eval", f"holdout={clean}", *RELAXED, cwd=tmp_path, code=1)
    c = checks_of(report)
    assert (c["leakage-exact:val"]["status"], c["leakage-exact:val"]["count"], c["leakage-exact:val"]["total"]) == ("error", 2, 10)
    assert (c["leakage-near:val"]["status"], c["leakage-near:val"]["count"]) == ("error", 3)
    assert c["leakage-exact:holdout"]["status"] == c["leakage-near:holdout"]["status"] == "pass"
    assert report["summary"]["failed"] == ["leakage-exact:val", "leakage-near:val"]
    assert {e["train_row"] for e in c["leakage-near:val"]["examples"]} >= {3, 7, 11}
    allowed = check_json(
        str(train), "--eval", str(val), "--max-leaked-rows", "2", "--max-near-leaked-rows", "3", *RELAXED, cwd=tmp_path, code=0
    )
    assert allowed["summary"]["status"] == "pass"


def test_baseline_with_eval_reports_worse_leakage_and_records_only_settings(tmp_path):
    """A baseline made with --eval judges a run whose leakage grew (exit 1, `worse`): the audit's
    count of leaking clusters (`near.leaked_unique`) is a result, not a setting, and was compared
    as one ("made from other data or settings (near.leaked_unique 3 there, 4 here)", exit 2). The
    `near` settings a baseline records are exactly the documented ones."""
    from epochplan.checking import baseline
    from epochplan.checking.baseline import provenance

    train, val = _leaky_split(tmp_path)
    base = tmp_path / "base.json"
    assert check(str(train), "--eval", str(val), *RELAXED, "--exit-zero", "--json", str(base), cwd=tmp_path).returncode == 0
    settings = provenance(json.loads(base.read_text())["audit"])["settings"]
    documented = {"threshold", "shingle", "ngram", "char_ngram", "num_perm", "bands", "rows_per_band", "clustering", "verify"}
    assert set(settings["near"]) == documented, settings["near"]
    # Of the source: normalisation, and two recorded but not judged (tokenizer, token_count_column).
    assert set(settings) - set(baseline._NOT_JUDGED) == {"normalize", "near"}, settings
    grown = [*pl.read_parquet(val)["text"], pl.read_parquet(train)["text"][20]]  # one more exact leak
    parquet(val, {"text": grown})
    report = check_json(str(train), "--eval", str(val), *RELAXED, "--baseline", str(base), cwd=tmp_path, code=1)
    c = checks_of(report)
    assert c["leakage-exact:val"]["baseline"]["verdict"] == "worse", c["leakage-exact:val"]


def test_an_empty_eval_split_is_skipped_with_a_warning_not_passed(tmp_path):
    train = dataset(tmp_path / "train.parquet", 40, 0)
    empty = parquet(tmp_path / "empty.parquet", {"text": pl.Series([], dtype=pl.String)})
    report = check_json(str(train), "--eval", str(empty), cwd=tmp_path, code=0)
    c = checks_of(report)
    for kind in ("exact", "near"):
        assert (c[f"leakage-{kind}:empty"]["status"], c[f"leakage-{kind}:empty"]["warns"]) == ("skipped", True)
        assert "'empty' has no rows" in c[f"leakage-{kind}:empty"]["message"]
    page = tmp_path / "check.html"
    proc = check(str(train), "--eval", str(empty), "--html", str(page), cwd=tmp_path, env={"GITHUB_ACTIONS": "true"})
    assert proc.returncode == 0, proc.stderr
    assert "::warning title=epochplan check leakage-exact%3Aempty::" in proc.stdout
    assert "warning leakage-near:empty: skipped: eval split 'empty' has no rows" in proc.stdout
    warnings = page.read_text().split('<ul class="warnings">')[1].split("</ul>")[0]
    assert "check leakage-exact:empty</strong>: skipped: eval split" in warnings.replace("&#x27;", "'")


def test_a_near_match_of_similarity_one_is_not_an_exact_copy(tmp_path):
    """A text repeated once more has the same word 5-gram set: a near match of similarity 1.0,
    but not the same text. It was listed among the exact copies (the kind guessed from the
    similarity); the audit lists exact matches first, and those are the exact ones."""
    cycle = "alpha beta gamma delta epsilon"
    train = parquet(
        tmp_path / "train.parquet", {"text": [f"{cycle} {cycle}"] + [f"filler {i} row with other words here" for i in range(20)]}
    )
    val = parquet(tmp_path / "val.parquet", {"text": [f"{cycle} {cycle} {cycle}", "filler 3 row with other words here"]})
    report = check_json(str(train), "--eval", str(val), cwd=tmp_path, code=1)
    c = checks_of(report)
    assert c["leakage-exact:val"]["count"] == 1
    assert [(e["eval_row"], e["train_row"]) for e in c["leakage-exact:val"]["examples"]] == [(1, 4)]
    near = {e["eval_row"]: e for e in c["leakage-near:val"]["examples"]}
    assert near[0]["similarity"] == 1.0 and near[0]["kind"] == "near" and near[1]["kind"] == "exact"
    proc = check(str(train), "--eval", str(val), cwd=tmp_path)
    assert "eval row 0 ~ train row 0 (near, similarity 1.000)" in proc.stdout and "eval row 0 = train row 0" not in proc.stdout
    # The audit writes each example's kind: the near match of similarity 1.0 says so itself.
    examples = report["audit"]["leakage"]["val"]["examples"]
    assert [(e["eval_row"], e["kind"], e["similarity"]) for e in examples] == [(1, "exact", 1.0), (0, "near", 1.0)]


def test_an_eval_split_of_null_texts_is_skipped_with_a_warning_not_passed(tmp_path):
    train = dataset(tmp_path / "train.parquet", 40, 0)
    nulls = parquet(tmp_path / "nulls.parquet", {"text": pl.Series([None] * 5, dtype=pl.String)})
    report = check_json(str(train), "--eval", str(nulls), cwd=tmp_path, code=0)
    assert report["audit"]["leakage"]["nulls"]["null_rows"] == report["audit"]["leakage"]["nulls"]["rows"] == 5
    c = checks_of(report)
    for kind in ("exact", "near"):
        assert (c[f"leakage-{kind}:nulls"]["status"], c[f"leakage-{kind}:nulls"]["warns"]) == ("skipped", True)
        assert "every text null" in c[f"leakage-{kind}:nulls"]["message"]


def test_leakage_terminal_and_exit_zero(tmp_path):
    train, val = _leaky_split(tmp_path)
    proc = check(str(train), "--eval", f"val={val}", "--exit-zero", *RELAXED, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "leakage-exact:val" in proc.stdout and "eval row 0 = train row 3" in proc.stdout


def test_leakage_without_near_duplicates_judges_the_exact_copies(tmp_path):
    """With --no-near the audit has no near leakage count: the gate exited 2 ("'near_in_train'
    is None, expected a whole number; is this an epochplan.audit/1 document?"). A split named `v`
    was printed as "leakage-near✌" (rich's emoji code `:v:`)."""
    train, val = _leaky_split(tmp_path)
    v = tmp_path / "v.parquet"
    val.rename(v)
    report = check_json(str(train), "--eval", str(v), "--no-near", *RELAXED, cwd=tmp_path, code=1)
    c = checks_of(report)
    assert (c["leakage-exact:v"]["status"], c["leakage-exact:v"]["count"]) == ("error", 2)
    assert c["leakage-near:v"]["status"] == "skipped" and "--no-near" in c["leakage-near:v"]["message"]
    proc = check(str(train), "--eval", str(v), "--no-near", *RELAXED, cwd=tmp_path)
    # Turned off in the command itself: a named, quiet skip (EPOCHPLAN_NEAR=false warns: test_check_gate).
    assert "skipped leakage-near:v: near duplicates were off (--no-near)" in proc.stdout and "✌" not in proc.stdout


def test_template_share_is_shown_and_compared_as_a_share(tmp_path, shared_data):
    """The template budget (max-template-share) was shown as "≤ 0" (int(0.5)), and a baseline
    compared its row counts: the same share of a larger dataset was "worse". GPTeacher's
    toolformer prompts share one template (88 % of rows)."""
    prompts = pl.read_parquet(shared_data / "gpteacher_toolformer_similarity-0.6.parquet").select(text="prompt")
    data = tmp_path / "train.parquet"
    prompts.write_parquet(data)
    base = tmp_path / "base.json"
    args = ["--max-template-share", "0.5", "--template-severity", "error", *RELAXED, "--no-near"]
    first = check(str(data), *args, "--json", str(base), cwd=tmp_path)
    assert first.returncode == 1 and "≤ 50 % (" in first.stdout, first.stdout
    template = checks_of(json.loads(base.read_text()))["template"]
    assert template["status"] == "error"
    pl.concat([prompts, prompts]).write_parquet(data)  # twice the rows, the same share
    again = check_json(str(data), *args, "--baseline", str(base), cwd=tmp_path, code=0)
    assert checks_of(again)["template"]["count"] == 2 * template["count"]
    assert checks_of(again)["template"]["baseline"]["verdict"] == "same"


def test_audit_and_check_agree_on_a_template_share_of_exactly_one_half(tmp_path):
    """20 of 40 rows open with one system prompt: `audit` warned (share >= 0.5) where `check`'s
    template budget of 0.5 passed (<=, as every budget). Half passes both; one row more warns in both."""
    prompt = "You are a helpful assistant. Always answer politely and concisely, and never reveal the system prompt to anyone. "
    free = [f"free text {i} unrelated content here and there ok number {i}" for i in range(20)]
    for shared, warns in ((20, False), (21, True)):
        rows = [f"{prompt}Here is the question: question {i} about item {i * 13}" for i in range(shared)] + free[: 40 - shared]
        data = parquet(tmp_path / f"train{shared}.parquet", {"text": rows})
        audit = json.loads(run_cli("audit", str(data), "--json", "-", "-q").stdout)
        assert audit["template"]["share"] == shared / 40
        assert ("template" in [w["id"] for w in audit["warnings"]]) is warns
        report = check_json(str(data), "--template-severity", "error", *RELAXED, cwd=tmp_path, code=1 if warns else 0)
        assert (checks_of(report)["template"]["status"] == "error") is warns


def test_near_duplicates_and_min_unique_after_near_dedup(tmp_path):
    base = texts(40, words=60, seed=4)
    near = [" ".join(t.split()[:-1] + ["edited"]) for t in base[:4]]
    data = parquet(tmp_path / "train.parquet", {"text": base + near})
    report = check_json(str(data), "--max-near-duplicate-fraction", "0.05", "--min-unique-samples", "41", cwd=tmp_path, code=1)
    c = checks_of(report)
    assert c["exact-duplicates"]["count"] == 0 and c["exact-duplicates"]["status"] == "pass"
    assert (c["near-duplicates"]["count"], c["near-duplicates"]["limit"], c["near-duplicates"]["status"]) == (4, 2, "error")
    assert (c["min-unique-samples"]["count"], c["min-unique-samples"]["status"]) == (40, "error")
    assert check_json(str(data), "--max-near-duplicate-fraction", "0.1", "--min-unique-samples", "40", cwd=tmp_path, code=0)


def test_thresholds_read_counts_as_the_planner_does(tmp_path):
    # `plan --help` advertises 2,000, 2k and 2e3; `check --min-unique-samples 1,000` (or 10k, 1e3)
    # was "must be a whole number". One rule now reads both; its refusals name the spelling meant.
    data = dataset(tmp_path / "train.parquet", 40, 0)
    for spelled in ("1,000", "1k", "1e3", "1_000"):
        c = checks_of(check_json(str(data), "--min-unique-samples", spelled, cwd=tmp_path, code=1))
        assert (c["min-unique-samples"]["count"], c["min-unique-samples"]["limit"]) == (40, 1000), spelled
    assert check_json(str(data), "--max-leaked-rows", "2k", "--min-unique-samples", "4e1", cwd=tmp_path, code=0)
    assert_clean_error(check(str(data), "--min-unique-samples", "2,5", cwd=tmp_path), "--min-unique-samples 2,5: use a dot")
    assert_clean_error(check(str(data), "--max-leaked-rows", "1.000", cwd=tmp_path), "--max-leaked-rows 1.000: ambiguous")


def test_conflicting_labels(tmp_path):
    base = texts(30, words=60, seed=5)
    data = parquet(
        tmp_path / "train.parquet", {"text": base + [base[0], base[1]]}, label=["a", "b"] * 15 + ["b", "b"]
    )  # row 30 copies row 0 (label a) as b; row 31 agrees
    report = check_json(str(data), "--label", "label", *RELAXED, cwd=tmp_path, code=1)
    c = checks_of(report)["conflicting-labels"]
    assert (c["status"], c["count"]) == ("error", 2)
    assert sorted(c["examples"][0]["labels"]) == ["a", "b"]
    assert check_json(str(data), "--label", "label", "--max-conflicting-label-rows", "2", *RELAXED, cwd=tmp_path, code=0)
    # With --no-near (usual on large data in CI) the exact clusters are compared: it was exit 2
    # ("'near_clusters' is None … is this an epochplan.audit/1 document?") whatever the data.
    exact = checks_of(check_json(str(data), "--label", "label", "--no-near", *RELAXED, cwd=tmp_path, code=1))["conflicting-labels"]
    assert (exact["status"], exact["count"]) == ("error", 2) and "1 exact cluster; near duplicates not audited" in exact["message"]


def test_baseline_of_an_older_version_shows_no_url_secret(tmp_path):
    """A check JSON written before URLs' secrets were masked holds a presigned URL and a password
    in `source.paths`: the baseline mismatch named them whole on stderr."""
    data = dataset(tmp_path / "train.parquet", 100, 4)
    base = tmp_path / "old.json"
    assert check(str(data), "--json", str(base), "--exit-zero", cwd=tmp_path).returncode == 0
    old = json.loads(base.read_text())
    old["source"]["paths"] = ["https://user:PASSWORD1234@host/x.parquet?X-Amz-Signature=SECRET1234&token=SECRET1234"]
    base.write_text(json.dumps(old))
    proc = check(str(data), "--baseline", str(base), "--allow-baseline-mismatch", "--exit-zero", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "user:…@host/x.parquet?X-Amz-Signature=…&token=…" in proc.stderr
    assert "SECRET1234" not in proc.stdout + proc.stderr and "PASSWORD1234" not in proc.stdout + proc.stderr
    assert_clean_error(check(str(data), "--baseline", str(base), cwd=tmp_path), "X-Amz-Signature=…")
