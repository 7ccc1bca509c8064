"""dedup of several files into one output: the files' Hugging Face features (a ClassLabel's names)
must agree, or the rows of one file would read under the other's names."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import epochplan
from conftest import assert_clean_error, run_cli
from epochplan.auditing import dedup_to_file


def _hf(names: list[str], **other: str) -> dict[bytes, bytes]:
    features = {"text": {"dtype": "string", "_type": "Value"}, "label": {"names": names, "_type": "ClassLabel"}}
    return {b"huggingface": json.dumps({"info": {"features": features, **other}}).encode()}


def _two_files(tmp_path, first: dict[bytes, bytes], second: dict[bytes, bytes]):
    folder = tmp_path / "in"
    folder.mkdir()
    schema = pa.schema([("text", pa.string()), ("label", pa.int64())])
    pq.write_table(pa.table({"text": ["a b c", "d e f"], "label": [0, 1]}, schema=schema.with_metadata(first)), folder / "a.parquet")
    pq.write_table(pa.table({"text": ["g h i", "a b c"], "label": [0, 1]}, schema=schema.with_metadata(second)), folder / "b.parquet")
    return folder


@pytest.mark.parametrize("suffix", [".parquet", ".arrow", ".csv", ".jsonl"])
def test_files_whose_class_names_differ_are_refused_for_one_output(tmp_path, suffix):
    """`label` 0 is "neg" in a.parquet and "pos" in b.parquet: one output file was written under
    a.parquet's metadata, so b's "pos" rows read back as "neg", exit 0. Now exit 2 naming both
    files, the column and the way out; `-o DIR/` keeps each file's own names."""
    folder = _two_files(tmp_path, _hf(["neg", "pos"]), _hf(["pos", "neg"]))
    target = tmp_path / f"out{suffix}"
    proc = run_cli("dedup", str(folder), "--level", "exact", "-o", str(target))
    assert_clean_error(proc, "'label'", "a.parquet", "b.parquet", "['neg', 'pos']", "['pos', 'neg']", "-o DIR/")
    assert not target.exists()
    out = tmp_path / "dir"
    assert run_cli("dedup", str(folder), "--level", "exact", "-o", f"{out}/").returncode == 0
    assert json.loads(pq.read_schema(out / "b.parquet").metadata[b"huggingface"])["info"]["features"]["label"]["names"] == ["pos", "neg"]


def test_the_python_api_is_told_its_own_way_out_of_features_that_differ(tmp_path):
    """`dedup_to_file()` was told the command line's way out ("one output per input file with
    -o DIR/"), an argument it has not; the command line keeps it."""
    folder = _two_files(tmp_path, _hf(["neg", "pos"]), _hf(["pos", "neg"]))
    target = tmp_path / "out.parquet"
    with pytest.raises(epochplan.InputError) as caught:
        dedup_to_file(str(folder), target, level="exact")
    assert str(caught.value).startswith(f"out={str(target)!r}: the input files' Hugging Face features differ ("), caught.value
    assert str(caught.value).endswith("some rows' labels would read as other classes; cast the labels to one set of names first")
    assert not target.exists()


def test_files_whose_metadata_differs_elsewhere_but_whose_features_agree_are_written(tmp_path):
    """The parsed features are compared, not the metadata's bytes: another key (a description,
    the dataset's size) may differ from file to file."""
    folder = _two_files(tmp_path, _hf(["neg", "pos"], description="one"), _hf(["neg", "pos"], description="two"))
    target = tmp_path / "out.parquet"
    proc = run_cli("dedup", str(folder), "--level", "exact", "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    assert pq.read_table(target).num_rows == 3


def test_a_file_without_features_beside_one_with_class_names_is_refused(tmp_path):
    """Its numbers would take the other file's names in the output."""
    folder = _two_files(tmp_path, _hf(["neg", "pos"]), {b"pandas": b"{}"})
    proc = run_cli("dedup", str(folder), "--level", "exact", "-o", str(tmp_path / "out.parquet"))
    assert_clean_error(proc, "'label'", "a.parquet", "b.parquet declares no features")


def test_features_that_differ_but_name_the_same_classes_are_written(tmp_path):
    """Only the class names are compared: an older `datasets`' spelling of the same features
    (`"id": null`, `num_classes`) or a Value int32 beside int64 reads back the same classes, and
    was refused ("the input files' Hugging Face features differ")."""
    old = {
        "text": {"dtype": "string", "id": None, "_type": "Value"},
        "label": {"num_classes": 2, "names": ["neg", "pos"], "id": None, "_type": "ClassLabel"},
        "score": {"dtype": "int32", "id": None, "_type": "Value"},
    }
    new = {
        "text": {"dtype": "string", "_type": "Value"},
        "label": {"names": ["neg", "pos"], "_type": "ClassLabel"},
        "score": {"dtype": "int64", "_type": "Value"},
    }
    folder = _two_files(tmp_path, *({b"huggingface": json.dumps({"info": {"features": f}}).encode()} for f in (old, new)))
    target = tmp_path / "out.parquet"
    proc = run_cli("dedup", str(folder), "--level", "exact", "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    assert pq.read_table(target).num_rows == 3
