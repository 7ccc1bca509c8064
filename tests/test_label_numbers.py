"""Number labels compared as written. polars reads a JSON key holding 12345678901234567,
12345678901234568 and 0.5 as one Float64 column, where the two whole numbers are one float
(1.2345678901234568e16): `audit --label` counted them as one label and the duplicates that
disagree on them as no conflict (`check` passed its conflicting-labels gate). Such a whole number
now keeps its digits as its label, however it is written (12345678901234567.0 and
1.2345678901234567e16 are 12345678901234567), and a float label's text is what it was (1.0 is the
label 1, as the integer 1 is). A CSV file's cells were already read as written."""

from __future__ import annotations

import gzip
import json

import pytest

import epochplan
from conftest import assert_clean_error, audit_json, run_cli

ROWS = [
    {"text": "a text two rows share", "label": 12345678901234567},
    {"text": "a text two rows share", "label": 12345678901234568},
    {"text": "a text of its own", "label": 0.5},
    {"text": "whole floats and their integers", "label": 1.0},
    {"text": "whole floats and their integers", "label": 1},
    {"text": "a small float", "label": 1e-7},
    {"text": "a large float", "label": 1e20},
    {"text": "another one", "label": 9007199254740993},
]
COUNTS = {"12345678901234567": 1, "12345678901234568": 1, "0.5": 1, "1": 2, "1e-7": 1, "1e+20": 1, "9007199254740993": 1}


def _write(path, rows) -> None:
    if path.name.endswith(".json"):
        path.write_text(json.dumps(rows))
        return
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


@pytest.mark.parametrize("name", ["labels.jsonl", "labels.jsonl.gz", "labels.json"])
def test_whole_numbers_a_float_rounds_together_are_two_labels(tmp_path, name):
    path = tmp_path / name
    _write(path, ROWS)
    audit = audit_json(str(path), "--label", "label")
    assert audit["labels"]["counts"] == COUNTS
    conflicts = audit["conflicts"]
    assert (conflicts["exact_clusters"], conflicts["rows"]) == (1, 2)
    assert conflicts["examples"][0]["labels"] == ["12345678901234567", "12345678901234568"]
    # The CSV of the same rows, whose cells are read as written, counts the same labels.
    csv = tmp_path / "labels.csv"
    csv.write_text("text,label\n" + "".join(f"{r['text']},{json.dumps(r['label'])}\n" for r in ROWS[:3]))
    assert audit_json(str(csv), "--label", "label")["labels"]["counts"] == {k: COUNTS[k] for k in list(COUNTS)[:3]}


@pytest.mark.parametrize(
    ("key", "label"),
    [
        ('"label"', "label"),
        ('"\\u006cabel"', "label"),
        ('"\\u006Ca\\u0062el"', "label"),
        ('"étiquette"', "étiquette"),
        ('"\\u00e9tiquette"', "étiquette"),
        ('"\\u6807\\u7B7E"', "标签"),
    ],
)
def test_the_label_key_is_found_however_the_line_spells_it(tmp_path, key, label):
    """Only lines whose label value may be such a number are parsed: the key is found with spaces
    around its colon, escaped or not (any letter, upper-case hex as .NET writes it), beside
    19-digit ids in another key."""
    values = ["12345678901234567", "12345678901234568", "0.5", "1.2345678901234567e16"]
    texts = ["a", "a", "b", "c"]
    lines = [
        f'{{"id": {1234567890123456789 + i}, "text": "{t}", {key}  :  {v}}}\n' for i, (t, v) in enumerate(zip(texts, values, strict=True))
    ]
    path = tmp_path / "spelled.jsonl"
    path.write_text("".join(lines))
    audit = audit_json(str(path), "--label", label, "--no-near")
    assert audit["labels"]["counts"] == {"12345678901234567": 2, "12345678901234568": 1, "0.5": 1}
    assert audit["conflicts"]["rows"] == 2


def test_lists_and_struct_fields_of_such_numbers(tmp_path):
    listed = tmp_path / "listed.jsonl"
    _write(listed, [{"text": "same", "tags": [12345678901234567, 0.5]}, {"text": "same", "tags": [0.5, 12345678901234568]}])
    audit = audit_json(str(listed), "--label", "tags")
    assert audit["labels"]["counts"] == {"0.5 | 12345678901234567": 1, "0.5 | 12345678901234568": 1}
    assert audit["conflicts"]["rows"] == 2
    nested = tmp_path / "nested.jsonl"
    ids = [12345678901234567, 12345678901234568, 0.5]
    _write(nested, [{"text": "same" if i < 2 else "x", "meta": {"id": n, "source": "web"}} for i, n in enumerate(ids)])
    audit = audit_json(str(nested), "--text", "text", "--label", "meta.id")
    assert audit["labels"]["counts"] == {"12345678901234567": 1, "12345678901234568": 1, "0.5": 1}
    assert audit["conflicts"]["rows"] == 2


def test_check_and_the_python_api_see_the_conflict(tmp_path):
    path = tmp_path / "labels.jsonl"
    _write(path, ROWS)
    proc = run_cli(
        "check", str(path), "--label", "label", "--max-conflicting-label-rows", "0",
        "--max-exact-duplicate-fraction", "1", "--max-near-duplicate-fraction", "1", "--json", "-",
    )  # fmt: skip
    assert proc.returncode == 1, (proc.returncode, proc.stderr)
    checks = {c["id"]: c for c in json.loads(proc.stdout)["checks"]}
    assert (checks["conflicting-labels"]["status"], checks["conflicting-labels"]["count"]) == ("error", 2)
    result = epochplan.audit(str(path), label="label", near=False)
    assert result.conflicts is not None and result.conflicts.rows == 2


def test_a_string_past_the_head_of_a_float_label_is_still_refused(tmp_path):
    """Read as text, the label column would take a string in lines past the 2 MB its type came
    from as a label: it is refused naming its line, as the float column refused it."""
    rows = [{"text": f"early row number {i} " + "padding " * 10, "label": i % 2 + 0.5} for i in range(30_000)]
    rows += [{"text": "late", "label": 12345678901234567}, {"text": "late", "label": "two"}]
    path = tmp_path / "late.jsonl"
    _write(path, rows)
    assert path.stat().st_size > 2 << 20
    proc = run_cli("audit", str(path), "--label", "label", "--no-near")
    assert_clean_error(proc, "late.jsonl: line 30,002: key 'label' holds a string", "one JSON type")


@pytest.mark.parametrize("late", ["NaN", "inf", "0.5", "7"])
def test_a_number_written_as_a_string_past_the_head_is_refused(tmp_path, late):
    """A string that reads as a number ("NaN", "inf", "0.5", "7") in lines past the 2 MB head of a
    key of numbers is refused as any string is, not taken as a missing label, the label inf, or
    the number it spells (merged with 0.5 or 7)."""
    rows = [{"text": f"row {i} " + "x" * 60, "y": 0.5 if i % 2 else 7} for i in range(40_000)]
    rows += [{"text": "late", "y": late}, {"text": "late two", "y": 12345678901234567}]
    path = tmp_path / "late.jsonl"
    _write(path, rows)
    assert path.stat().st_size > 2 << 20
    proc = run_cli("audit", str(path), "--label", "y", "--no-near")
    assert_clean_error(proc, "late.jsonl: line 40,001: key 'y' holds a string", "one JSON type")


def test_a_fraction_past_a_head_of_whole_numbers_says_how_to_read_it(tmp_path):
    """JSON has one number type: a late 0.5 in a key whose first 2 MB hold whole numbers only is
    refused saying what the head decided and what to write (not "one JSON type, all strings"),
    and that advice, a 1.0 in the head, reads it."""
    rows = [{"text": f"row {i} " + "x" * 60, "y": i % 3} for i in range(40_000)] + [{"text": "late", "y": 0.5}]
    path = tmp_path / "late.jsonl"
    _write(path, rows)
    assert path.stat().st_size > 2 << 20
    proc = run_cli("audit", str(path), "--label", "y", "--no-near")
    assert_clean_error(proc, "late.jsonl: line 40,001: key 'y' holds a number written with a decimal point", "(0.5)", "(1.0)")
    rows[0]["y"] = 1.0
    _write(path, rows)
    assert audit_json(str(path), "--label", "y", "--no-near")["labels"]["counts"]["0.5"] == 1


@pytest.mark.parametrize("name", ["same.jsonl", "same.json"])
def test_one_whole_number_however_written_is_one_label(tmp_path, name):
    """12345678901234567, 12345678901234567.0 and 1.2345678901234567e16 are one number, one label
    (no conflict); 12345678901234568 is another, beside 1.2345678901234567e16 a conflict."""
    values = ["12345678901234567", "12345678901234567.0", "12345678901234568", "1.2345678901234567e16", "0.5", "1.0", "1"]
    texts = ["a", "a", "b", "b", "c", "d", "d"]
    records = [f'{{"text": "{text}", "y": {value}}}' for text, value in zip(texts, values, strict=True)]
    path = tmp_path / name
    path.write_text("[" + ",".join(records) + "]" if name.endswith(".json") else "".join(r + "\n" for r in records))
    audit = audit_json(str(path), "--label", "y")
    assert audit["labels"]["counts"] == {"12345678901234567": 3, "12345678901234568": 1, "0.5": 1, "1": 2}
    assert audit["conflicts"]["rows"] == 2
    assert sorted(audit["conflicts"]["examples"][0]["labels"]) == ["12345678901234567", "12345678901234568"]
    listed = tmp_path / "listed.jsonl"
    listed.write_text('{"text": "a", "y": [12345678901234567, 0.5]}\n{"text": "a", "y": [0.5, 1.2345678901234567e16]}\n')
    audit = audit_json(str(listed), "--label", "y")
    assert audit["labels"]["counts"] == {"0.5 | 12345678901234567": 2}
    assert audit["conflicts"]["rows"] == 0
