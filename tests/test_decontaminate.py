"""`dedup --eval`: decontamination. Every cluster holding a train row that an eval row matches
(exact or near, the audit's own leakage) is dropped whole, on top of the duplicates; auditing the
output against the same eval splits then finds no leak at all, and nothing else was removed."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

import epochplan
from conftest import audit_json, run_cli

TEXT = "response"


@pytest.fixture(scope="module")
def data(shared_data, tmp_path_factory):
    """Train: GPTeacher toolformer (dedupe-only) with a row id. Eval `val`: 100 rows of the
    similarity-0.6 tier, text column named `question`. Eval `test`: the similarity-0.9 rows with
    no byte-identical train prompt (mis-decoded text), 30 train responses without their first
    word (near, not exact, copies) and 50 unrelated codegen rows."""
    d = tmp_path_factory.mktemp("decontaminate")
    train = pl.read_parquet(shared_data / "gpteacher_toolformer_dedupe-only.parquet").with_row_index("rid")
    train.write_parquet(d / "train.parquet")
    val = pl.read_parquet(shared_data / "gpteacher_toolformer_similarity-0.6.parquet").head(100).select(pl.col(TEXT).alias("question"))
    val.write_parquet(d / "val.parquet")
    tier = pl.read_parquet(shared_data / "gpteacher_toolformer_similarity-0.9.parquet")
    odd = tier.join(train, on="prompt", how="anti").select(TEXT)
    shortened = (
        train.filter(pl.col(TEXT).str.count_matches(" ") > 14).gather_every(50).head(30).select(pl.col(TEXT).str.replace(r"^\S+\s+", ""))
    )
    codegen = pl.read_parquet(shared_data / "gpteacher_codegen-instruct.parquet").head(50).select(TEXT)
    pl.concat([odd, shortened, codegen]).write_parquet(d / "test.parquet")
    return d


def _eval_args(d):
    return ["--eval", f"val={d / 'val.parquet'}", "--eval", f"test={d / 'test.parquet'}", "--eval-text", "val=question"]


def _eval_api(d):
    return {"eval": {"val": str(d / "val.parquet"), "test": str(d / "test.parquet")}, "eval_text": {"val": "question"}}


def _leaked_counts(stderr: str) -> dict[str, int]:
    text = " ".join(stderr.split())
    match = re.search(r"([\d,]+) rows leaking into eval \(([^)]*)\)", text)
    assert match, stderr
    per_split = dict(part.rsplit(" ", 1) for part in match.group(2).split(", "))
    return {"total": int(match.group(1).replace(",", "")), **{k: int(v.replace(",", "")) for k, v in per_split.items()}}


def test_dedup_eval_removes_every_leak_and_nothing_else(data, tmp_path):
    clusters, leaks = tmp_path / "clusters.parquet", tmp_path / "leaks.parquet"
    train = str(data / "train.parquet")
    proc = run_cli("audit", train, "--text", TEXT, *_eval_args(data), "--clusters", str(clusters), "--leakage", str(leaks), "-q")
    assert proc.returncode == 0, proc.stderr
    leak_frame = pl.read_parquet(leaks)
    kinds = set(leak_frame.filter(pl.col("split") == "test")["kind"])
    assert kinds == {"exact", "near"}  # the test split leaks exactly and only nearly
    assert pl.read_parquet(data / "test.parquet").height == 85

    clean, plain = tmp_path / "clean.parquet", tmp_path / "plain.parquet"
    proc = run_cli("dedup", train, "--text", TEXT, *_eval_args(data), "-o", str(clean))
    assert proc.returncode == 0, proc.stderr
    printed = _leaked_counts(proc.stderr)
    assert run_cli("dedup", train, "--text", TEXT, "-o", str(plain)).returncode == 0

    # The output audited against the same eval splits: zero exact and zero near leaks.
    again = epochplan.audit(str(clean), text=TEXT, **_eval_api(data))
    for name in ("val", "test"):
        assert again.leakage[name].exact_in_train == 0 and again.leakage[name].near_in_train == 0, name

    # Nothing but leaking clusters and duplicates was removed: the rows plain dedup keeps, less
    # exactly the representatives of the near clusters that hold a leaking train row.
    table = pl.read_parquet(clusters)
    leaking = table.filter(pl.col("row").is_in(leak_frame["train_row"].implode()))["near_id"].unique()
    expected_removed = set(table.filter(pl.col("keep") & pl.col("near_id").is_in(leaking.implode()))["row"].to_list())
    kept_plain, kept_clean = set(pl.read_parquet(plain)["rid"].to_list()), set(pl.read_parquet(clean)["rid"].to_list())
    assert kept_clean <= kept_plain
    assert kept_plain - kept_clean == expected_removed and len(expected_removed) > 100

    # Counts: every row of a leaking cluster, under the first split (in the order given) it leaks into.
    first_split = (
        leak_frame.with_columns(order=pl.col("split").replace_strict({"val": 0, "test": 1}))
        .join(table.select("row", "near_id"), left_on="train_row", right_on="row")
        .group_by("near_id")
        .agg(pl.col("split").sort_by("order").first())
    )
    per_split = table.join(first_split, on="near_id").group_by("split").len()
    expected_counts = dict(per_split.iter_rows())
    assert printed == {"total": sum(expected_counts.values()), "val": expected_counts["val"], "test": expected_counts["test"]}
    assert expected_counts["test"] > 0  # some clusters leak into test only


def test_level_exact_removes_only_exact_leaks(data, tmp_path):
    out = tmp_path / "exact.parquet"
    proc = run_cli("dedup", str(data / "train.parquet"), "--text", TEXT, "--level", "exact", *_eval_args(data), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    again = epochplan.audit(str(out), text=TEXT, **_eval_api(data))
    assert again.leakage["val"].exact_in_train == again.leakage["test"].exact_in_train == 0
    assert again.leakage["test"].near_in_train > 0  # the near copies stay: only exact leaks were asked for


def test_python_dedup_with_eval_matches_the_cli(data, tmp_path):
    out = tmp_path / "clean.parquet"
    assert run_cli("dedup", str(data / "train.parquet"), "--text", TEXT, *_eval_args(data), "-o", str(out)).returncode == 0
    frame = pl.read_parquet(data / "train.parquet")
    got = epochplan.dedup(frame, text=TEXT, **_eval_api(data))
    assert got.equals(pl.read_parquet(out))
    assert got.height < epochplan.dedup(frame, text=TEXT).height


def test_eval_text_errors(data):
    train = str(data / "train.parquet")
    proc = run_cli(
        "dedup", train, "--text", TEXT, "--eval", f"val={data / 'val.parquet'}", "--eval-text", "nope=question", "-o", "x.parquet"
    )
    assert proc.returncode == 2 and "no eval split named 'nope'" in proc.stderr
    proc = run_cli("check", train, "--text", TEXT, "--eval", f"val={data / 'val.parquet'}")
    assert proc.returncode == 2 and "no column 'response'" in proc.stderr  # without --eval-text, train's column
    proc = run_cli("check", train, "--text", TEXT, "--eval", f"val={data / 'val.parquet'}", "--eval-text", "question", "--exit-zero", "-q")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("audit", train, "--eval-text", "question")
    assert proc.returncode == 2 and "--eval-text needs at least one --eval split" in proc.stderr


def test_eval_text_of_a_split_whose_name_holds_an_equals_sign():
    """A split named after a Hive folder (`split=val`): `--eval-text split=val=question` was
    read as split `split`, column `val=question` ("no eval split named 'split'")."""
    from epochplan.sources.paths import parse_eval_text

    splits = {"split=val": "a", "test": "b"}
    assert parse_eval_text(["split=val=question"], splits) == {"split=val": "question"}
    assert parse_eval_text(["test=q", "split=val=question"], splits) == {"test": "q", "split=val": "question"}
    # The longest name the spec starts with wins; plain names work as before.
    assert parse_eval_text(["a=b=c"], {"a": 1, "a=b": 2}) == {"a=b": "c"}
    assert parse_eval_text(["a=c"], {"a": 1, "a=b": 2}) == {"a": "c"}


@pytest.mark.parametrize("level", ["near", "exact"])
def test_the_audits_plan_says_how_many_unique_samples_leak(data, tmp_path, level):
    """`audit train --eval ...` planned on every unique sample, the ones it reports leaking into
    eval included, without a word. The plan still counts them (`unique_samples` is the audit's),
    and now says how many leak and how many `dedup --eval` leaves: exactly the rows it writes."""
    train, out = str(data / "train.parquet"), tmp_path / "clean.parquet"
    near = [] if level == "near" else ["--no-near"]
    audit = audit_json(train, "--text", TEXT, *_eval_args(data), *near)
    leaked, unique = audit[level]["leaked_unique"], audit[level]["unique"]
    plan = audit["plan"]
    assert plan["unique_samples"] == unique and plan["leaked_samples"] == leaked > 0
    proc = run_cli("dedup", train, "--text", TEXT, "--level", level, *_eval_args(data), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    remain = pl.read_parquet(out).height
    assert remain == unique - leaked
    flag = "" if level == "near" else " --level exact"
    said = f"{unique:,} unique samples, of which {leaked:,} leak into eval (val, test: "
    [warning] = [w for w in plan["warnings"] if w.startswith(said)]
    assert f"after `epochplan dedup{flag} --eval` {remain:,} remain" in warning
    [reason] = [r for r in plan["rationale"] if r["field"] == "unique_samples"]
    assert f"of which {leaked:,} leak into eval" in reason["detail"] and f"{remain:,} remain" in reason["detail"]
    # `plan --audit` reads it back; an audit without eval splits says nothing of leaks
    saved = tmp_path / "audit.json"
    saved.write_text(json.dumps(audit))
    replanned = run_cli("plan", "--audit", str(saved), "--format", "json")
    assert replanned.returncode == 0 and json.loads(replanned.stdout)["leaked_samples"] == leaked
    alone = audit_json(train, "--text", TEXT, *near)
    assert alone[level]["leaked_unique"] is None and alone["plan"]["leaked_samples"] is None
    assert not [w for w in alone["plan"]["warnings"] if "leak" in w]
