"""Hugging Face `datasets` ClassLabel columns: written as integers, their names in the Parquet
schema metadata (key `huggingface`). The terminal report, the HTML report and the conflicting
label groups show the names beside the numbers; the JSON keeps the numbers as the labels and adds
`labels.label_names`. Metadata that is malformed, or that the files disagree on, gives no names
and never fails the audit."""

from __future__ import annotations

import json

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from conftest import audit_json, run_cli

TEXTS = ["the film was great", "the film was great", "a dull and long film", "fine I guess", "loved every minute"]
#: As `datasets` 5.2 writes `Dataset.from_dict(...).cast_column("label", ClassLabel(...)).to_parquet(...)`.
HF_METADATA = {
    "info": {
        "features": {
            "text": {"dtype": "string", "_type": "Value"},
            "label": {"names": ["negative", "positive"], "_type": "ClassLabel"},
        }
    }
}


def _write(path, labels, metadata, texts=TEXTS, label_type=pa.int64()):
    table = pa.table({"text": pa.array(texts[: len(labels)]), "label": pa.array(labels, label_type)})
    if metadata is not None:
        raw = metadata if isinstance(metadata, bytes) else json.dumps(metadata).encode()
        table = table.replace_schema_metadata({b"huggingface": raw})
    pq.write_table(table, path)
    return str(path)


def test_class_label_names_are_shown_in_the_terminal_html_and_conflicts_and_the_json_keeps_the_numbers(tmp_path):
    # rows 0 and 1: one text, labels 1 and 0 (a conflict); row 3: -1, the ClassLabel "no label"
    data = _write(tmp_path / "hf.parquet", [1, 0, 0, -1, 1], HF_METADATA)
    html, js = tmp_path / "report.html", tmp_path / "audit.json"
    proc = run_cli("audit", data, "--label", "label", "--html", str(html), "--json", str(js), env={"COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "negative (0)" in proc.stdout and "positive (1)" in proc.stdout
    assert "labels ['negative (0)', 'positive (1)']" in proc.stdout  # the conflicting group
    result = json.loads(js.read_text())
    assert result["labels"]["counts"] == {"-1": 1, "0": 2, "1": 2}  # the values stay the numbers
    assert result["labels"]["label_names"] == {"0": "negative", "1": "positive"}
    assert sorted(result["conflicts"]["examples"][0]["labels"]) == ["0", "1"]
    page = html.read_text()
    assert 'data-label="negative (0)"' in page  # the class-count bars
    assert "<td>0</td><td>positive (1)</td>" in page and "<td>1</td><td>negative (0)</td>" in page  # the conflicting rows
    assert ">-1<" in page  # a value without a name is shown as it is
    [sentinel] = [w for w in result["warnings"] if w["id"] == "label-sentinel"]
    assert "a datasets ClassLabel uses for 'no label'" in sentinel["message"]
    # `report` renders the names from the JSON alone
    again = tmp_path / "again.html"
    assert run_cli("report", str(js), "-o", str(again)).returncode == 0
    assert "negative (0)" in again.read_text()


def test_older_features_key_multi_label_lists_and_values_outside_the_names(tmp_path):
    older = _write(tmp_path / "older.parquet", [0, 1, 2, 1], {"features": {"label": {"names": ["a", "b"], "_type": "ClassLabel"}}})
    result = audit_json(older, "--no-near", "--label", "label")
    assert result["labels"]["label_names"] == {"0": "a", "1": "b"} and result["labels"]["counts"]["2"] == 1
    shown = run_cli("audit", older, "--no-near", "--label", "label").stdout
    assert "b (1)" in shown and "│ 2 " in shown
    tags = tmp_path / "tags.parquet"
    table = pa.table({"text": ["x", "y"], "tags": pa.array([[0, 2], [1]], pa.list_(pa.int64()))})
    feature = {"feature": {"names": ["joy", "love", "anger"], "_type": "ClassLabel"}, "_type": "Sequence"}
    pq.write_table(table.replace_schema_metadata({b"huggingface": json.dumps({"info": {"features": {"tags": feature}}}).encode()}), tags)
    shown = run_cli("audit", str(tags), "--no-near", "--label", "tags").stdout
    assert "joy (0) | anger (2)" in shown and "love (1)" in shown


@pytest.mark.parametrize(
    "metadata",
    [
        b"{not json",
        b"[1, 2]",
        b'"text"',
        {"info": None},
        {"info": {"features": []}},
        {"info": {"features": {"label": "ClassLabel"}}},
        {"info": {"features": {"label": {"_type": "ClassLabel", "names": "negative,positive"}}}},
        {"info": {"features": {"label": {"_type": "ClassLabel", "names": [0, 1]}}}},
        {"info": {"features": {"label": {"_type": "ClassLabel"}}}},
        {"info": {"features": {"label": {"_type": "Value", "dtype": "int64"}}}},
        {"info": {"features": {"label": {"_type": "Sequence", "feature": None}}}},
        b"[" * 100_000 + b"]" * 100_000,
    ],
)
def test_malformed_metadata_gives_no_names_and_never_fails_the_audit(tmp_path, metadata):
    data = _write(tmp_path / "odd.parquet", [1, 0, 0, 1, 1], metadata)
    proc = run_cli("audit", data, "--no-near", "--label", "label", "--json", "-")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    labels = json.loads(proc.stdout)["labels"]
    assert labels["label_names"] is None and labels["counts"] == {"0": 2, "1": 3}


def test_names_need_an_integer_column_and_files_that_agree(tmp_path):
    # the names written as strings: the metadata describes another column type, no names
    strings = _write(tmp_path / "strings.parquet", ["1", "0"], HF_METADATA, label_type=pa.string())
    assert audit_json(strings, "--no-near", "--label", "label")["labels"]["label_names"] is None
    folder = tmp_path / "shards"
    folder.mkdir()
    _write(folder / "a.parquet", [0, 1], HF_METADATA)
    _write(folder / "b.parquet", [1, 0], HF_METADATA)
    agreed = audit_json(str(folder), "--no-near", "--label", "label")["labels"]
    assert agreed["label_names"] == {"0": "negative", "1": "positive"}
    other = json.loads(json.dumps(HF_METADATA).replace("negative", "bad"))
    _write(folder / "c.parquet", [1], other)
    assert audit_json(str(folder), "--no-near", "--label", "label")["labels"]["label_names"] is None
    (folder / "c.parquet").unlink()
    _write(folder / "c.parquet", [1], None)  # a shard without the metadata: which names hold is not known
    assert audit_json(str(folder), "--no-near", "--label", "label")["labels"]["label_names"] is None


def test_python_api_takes_the_names_of_a_dataset_not_of_a_plain_frame():
    datasets = pytest.importorskip("datasets")
    import epochplan

    ds = datasets.Dataset.from_dict({"text": TEXTS, "label": [1, 0, 0, 1, 1]})
    ds = ds.cast_column("label", datasets.ClassLabel(names=["negative", "positive"]))
    result = epochplan.audit(ds.filter(lambda row: True), label="label", near=False)
    assert result.labels.label_names == {"0": "negative", "1": "positive"}
    assert result.labels.counts == {"0": 2, "1": 3}
    assert epochplan.audit(pl.DataFrame({"text": TEXTS, "label": [1, 0, 0, 1, 1]}), label="label", near=False).labels.label_names is None
