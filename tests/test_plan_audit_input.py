"""What `plan` takes as an audit: `--audit FILE` is always an audit JSON (any name; data there is
refused, not audited), `epochplan.plan(path)` decides by content, and every field the planner
reads from an audit is checked, a malformed one named with its key path (exit 2, never 3)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

import epochplan
from conftest import assert_clean_error, run_cli
from epochplan.errors import InputError


@pytest.fixture(scope="module")
def audits(tmp_path_factory, shared_data) -> dict[str, Path]:
    """Audits of ChatterBot English (4,419 rows), with near duplicates and exact only."""
    folder = tmp_path_factory.mktemp("audits")
    data = str(shared_data / "chatterbot_english.parquet")
    for name, extra in (("near", []), ("exact", ["--no-near"])):
        proc = run_cli("audit", data, "--json", str(folder / f"{name}.json"), "-q", *extra)
        assert proc.returncode == 0, proc.stderr
    return {"near": folder / "near.json", "exact": folder / "exact.json"}


def plan_dict(*args: str, cwd: Path | None = None) -> dict:
    proc = run_cli("plan", *args, "-f", "json", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


# --- which file is an audit -----------------------------------------------------------------------


def test_an_audit_under_any_name_is_read_as_an_audit(tmp_path, audits):
    # `a.out` was "unsupported file type .out", `CHAT.JSON` was read as data ("one JSON object
    # over several lines, not rows").
    expected = plan_dict("--audit", str(audits["near"]))
    for name in ("a.out", "CHAT.JSON", "audit"):
        (tmp_path / name).write_bytes(audits["near"].read_bytes())
        assert plan_dict("--audit", name, cwd=tmp_path) == expected, name
        assert epochplan.plan(str(tmp_path / name)).to_dict() == expected, name


def test_data_given_as_audit_is_refused_saying_how_to_plan_it(tmp_path, shared_data):
    # A Parquet file after --audit was silently audited as data.
    data = shared_data / "chatterbot_english.parquet"
    assert_clean_error(run_cli("plan", "--audit", str(data)), f"--audit {data}: not an audit JSON", f"`epochplan plan {data}`")
    pl.DataFrame({"text": ["one row", "another row", "one row"]}).write_ndjson(tmp_path / "rows.json")
    assert_clean_error(run_cli("plan", "--audit", "rows.json", cwd=tmp_path), "not one JSON object", "`epochplan plan rows.json`")
    (tmp_path / "list.json").write_text('[{"text": "a"}]')
    assert_clean_error(run_cli("plan", "--audit", "list.json", cwd=tmp_path), "is a JSON list", "`epochplan plan list.json`")


def test_the_python_api_audits_json_lines_data_whatever_its_suffix(tmp_path):
    # `epochplan.plan("rows.json")` on JSON lines was read as an audit and failed.
    rows = [f"sample number {i} of the data set" for i in range(40)] * 2
    pl.DataFrame({"text": rows}).write_ndjson(tmp_path / "rows.json")
    p = epochplan.plan(str(tmp_path / "rows.json"), batch=4)
    assert p.unique_samples == 40 and p.exposure is not None and p.exposure.rows == 80
    assert epochplan.plan(tmp_path / "rows.json", batch=4).to_dict() == p.to_dict()  # a Path too


# --- every field the planner reads is checked -------------------------------------------------------


@pytest.mark.parametrize(
    "level, path, value, fragment",
    [
        # exit 3 before: ValueError, AttributeError, TypeError, OverflowError deep in the planner
        ("exact", "exact.unique_tokens", "abc", 'exact.unique_tokens is "abc", not a whole number'),
        ("near", "lengths", "abc", 'lengths is "abc", not an object'),
        ("near", "near.top", "abc", 'near.top is "abc", not a list'),
        ("near", "near.largest_cluster", "big", 'near.largest_cluster is "big", not a whole number'),
        ("near", "rows", 1e400, "rows is Infinity, not a whole number"),
        ("near", "lengths.tokens.unique_lengths", [[10, 1e30]], "lengths.tokens.unique_lengths[0][1] is 1e+30: more than"),
        # planned before: negative tokens, a fractional or textual row count
        ("near", "near.unique_tokens", -50, "near.unique_tokens is -50: must be 0 or more"),
        ("near", "rows", 10.5, "rows is 10.5, not a whole number"),
        ("near", "rows", "10", 'rows is "10", not a whole number'),
        ("near", "null_rows", 10**6, "null_rows is 1,000,000: more than the 4,419 rows"),
        ("near", "near.top", [{"row": 3}], "near.top[0].count is missing"),
        ("near", "lengths.tokens.estimated", "yes", 'lengths.tokens.estimated is "yes", not true or false'),
        ("near", "lengths.tokens.unique_lengths", [[2**62, 4]], "lengths.tokens.unique_lengths sums to more than"),
        (
            "near",
            "lengths.tokens.unique_lengths",
            [[None, 4]],
            "lengths.tokens.unique_lengths[0] is [null, 4], not a [length, samples] pair",
        ),
    ],
)
def test_a_malformed_audit_field_is_named_with_its_key_path(tmp_path, audits, level, path, value, fragment):
    audit = json.loads(audits[level].read_text())
    node = audit
    *parents, key = path.split(".")
    for parent in parents:
        node = node[parent]
    node[key] = value
    (tmp_path / "bad.json").write_text(json.dumps(audit))  # 1e400 is written as Infinity, read back as inf
    assert_clean_error(run_cli("plan", "--audit", "bad.json", cwd=tmp_path), "--audit bad.json: ", fragment, "epochplan audit")
    with pytest.raises(InputError, match="^audit: "):
        epochplan.plan(audit)


@pytest.mark.parametrize("path", ["rows", "null_rows", "exact", "exact.unique", "near.unique"])
def test_a_null_required_field_is_named_with_its_key_path(tmp_path, audits, path):
    # A null count was read as absent and reached the planner's sums: "internal error: TypeError"
    # (exit 3), from the command line and from Python alike.
    audit = json.loads(audits["near"].read_text())
    node = audit
    *parents, key = path.split(".")
    for parent in parents:
        node = node[parent]
    node[key] = None
    (tmp_path / "bad.json").write_text(json.dumps(audit))
    fragment = f"{path} is null; re-create it"
    assert_clean_error(run_cli("plan", "--audit", "bad.json", cwd=tmp_path), f"--audit bad.json: {fragment}")
    with pytest.raises(InputError, match=f"^audit: {fragment}"):
        epochplan.plan(audit)


def test_a_whole_float_count_is_still_read(tmp_path, audits):
    # Another JSON writer may write 4419.0: it is a whole number.
    audit = json.loads(audits["near"].read_text())
    expected = epochplan.plan(audit).to_dict()
    audit["rows"] = float(audit["rows"])
    assert epochplan.plan(audit).to_dict() == expected


def test_numpy_counts_in_an_audit_dict_are_whole_numbers(audits):
    # An audit dict built in Python with numpy counts was refused ("rows is np.int64(4419), not a
    # whole number"): the audit's reader took only `int`, where the planner's options, the
    # thresholds and the sampler take numpy's integers (one test now: epochplan.numbers.integral).
    audit = json.loads(audits["near"].read_text())
    expected = epochplan.plan(audit).to_dict()
    audit["rows"], audit["null_rows"] = np.int64(audit["rows"]), np.uint8(audit["null_rows"])
    audit["near"]["unique"], audit["exact"]["unique"] = np.int32(audit["near"]["unique"]), np.uint64(audit["exact"]["unique"])
    assert epochplan.plan(audit).to_dict() == expected
    for bad in (True, np.True_):
        audit["rows"] = bad
        with pytest.raises(InputError, match="^audit: rows is .*, not a whole number"):
            epochplan.plan(audit)


def test_content_decides_past_the_first_megabyte_too(tmp_path, audits):
    from epochplan.planning.audit_input import is_audit_json

    audit = json.loads(audits["near"].read_text())
    audit["near"]["top"][0]["text"] = "x" * (2 << 20)  # a large audit: its one object is longer than the head
    (tmp_path / "big.audit").write_text(json.dumps(audit, indent=2))
    pl.DataFrame({"text": [f"row {i} " * 20 for i in range(20_000)]}).write_ndjson(tmp_path / "big.json")
    assert (tmp_path / "big.json").stat().st_size > 2 << 20
    assert is_audit_json(tmp_path / "big.audit") and not is_audit_json(tmp_path / "big.json")
    assert not is_audit_json(tmp_path / "missing.json") and not is_audit_json(tmp_path)
