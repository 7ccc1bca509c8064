"""A `.json` file holding one table-shaped object: pandas' `to_json(orient='split')`, its default
`orient='columns'`, `orient='index'` (rows under their row numbers), or column lists (`df.to_dict('list')`, a datasets `Dataset.to_dict()`). Read
as JSON lines each was ONE row, exit 0 (split: a column `columns`; column lists: one text
"a\\nb\\na\\nc"), or a confusing error (orient='columns': a struct of row numbers). Now exit 2
saying what the file is and how to write JSON lines; a one-record JSON lines file still reads."""

from __future__ import annotations

import gzip
import json

import pytest

from conftest import assert_clean_error, audit_json, run_cli

TABLE = {"text": ["a", "b", "a", "c"], "n": [1, 2, 3, 4]}
SHAPES = {
    "split": ({"columns": ["text", "n"], "index": [0, 1, 2, 3], "data": [list(r) for r in zip(*TABLE.values())]}, "orient='split'"),
    "lists": (TABLE, "every key a list of one length"),
    "columns": ({k: {str(i): x for i, x in enumerate(v)} for k, v in TABLE.items()}, "orient='columns'"),
}


@pytest.mark.parametrize("suffix", [".json", ".json.gz"])
@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_json_object_holding_a_table_by_columns_is_refused(tmp_path, shape, suffix):
    value, said = SHAPES[shape]
    data = json.dumps(value).encode()
    path = tmp_path / f"{shape}{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    for args in (["audit", "--no-near"], ["dedup", "-o", str(tmp_path / "out.jsonl")]):
        proc = run_cli(args[0], str(path), *args[1:])
        assert_clean_error(proc, f"{path.name}: one JSON object holding a table", said, "4 rows", "orient='records', lines=True")
    assert not (tmp_path / "out.jsonl").exists()


def test_one_record_a_line_still_reads(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps({"text": "a", "n": 1}) + "\n")
    assert audit_json(str(tmp_path / "one.json"), "--no-near")["rows"] == 1
    (tmp_path / "lists.jsonl").write_text(json.dumps({"text": "a b", "tags": [1, 2]}) + "\n")
    assert audit_json(str(tmp_path / "lists.jsonl"), "--no-near")["rows"] == 1


def test_splits_of_records_under_keys_are_named_by_their_key(tmp_path):
    """Two splits of equal length ({"train": [records], "test": [records]}) are records under a
    key, not a table by columns: the message names the key and how to take its records out."""
    path = tmp_path / "splits.json"
    path.write_text(json.dumps({"train": [{"text": "a"}, {"text": "b"}], "test": [{"text": "c"}, {"text": "d"}]}))
    assert_clean_error(run_cli("audit", str(path)), "its key 'train' holds 2 records", "jq -c '.train[]'")


def test_pandas_orient_index_and_columns_files_are_refused_with_the_fix(tmp_path):
    """`df.to_json(path, orient='index')` ({"0": {"text": ..., "label": ...}, "1": ...}) was read
    as ONE row with a struct column per row. Refused as the default `orient='columns'` is, with
    the pandas line that writes JSON lines; what pandas writes back that way reads whole."""
    import pandas as pd

    frame = pd.DataFrame({"text": ["a", "b", "a", "c"], "label": [1, 0, 1, 1]})
    for orient, said, reread in (("index", "by row number (pandas' orient='index'", ", orient='index'"), ("columns", "by columns", "")):
        path = tmp_path / f"{orient}.json"
        frame.to_json(path, orient=orient)
        proc = run_cli("audit", str(path), "--no-near", "--label", "label")
        assert_clean_error(proc, said, "4 rows", f"pd.read_json({str(path)!r}{reread}).to_json('rows.jsonl', orient='records', lines=True)")
        rows = tmp_path / f"{orient}.jsonl"
        pd.read_json(path, orient=orient).to_json(rows, orient="records", lines=True)
        result = audit_json(str(rows), "--no-near", "--label", "label")
        assert (result["rows"], result["exact"]["unique"]) == (4, 3)
    # One record whose values are records of one shape, under keys that are no row numbers: a row.
    (tmp_path / "pair.json").write_text(json.dumps({"question": {"text": "q", "lang": "en"}, "answer": {"text": "a", "lang": "en"}}))
    assert audit_json(str(tmp_path / "pair.json"), "--no-near", "--text", "question.text")["rows"] == 1
