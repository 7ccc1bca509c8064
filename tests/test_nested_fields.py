"""Text and labels inside struct columns, named `column.field` (JSON records that nest their text,
Parquet files with struct columns such as SQuAD's `answers`): the same counts as the flat file
holding the same texts, read back for the report, written back whole by dedup."""

from __future__ import annotations

import json

import polars as pl
import pytest

import epochplan
from conftest import assert_clean_error, audit_json, run_cli

SOURCE = "gpteacher_toolformer_similarity-0.6.parquet"  # 2396 rows with exact and near duplicates


def counts(result: dict) -> dict:
    return {
        "rows": result["rows"],
        "exact": result["exact"],
        "near": result["near"],
        "lengths": result["lengths"],
        "diversity": result["diversity"],
    }


@pytest.fixture(scope="module")
def flat(shared_data) -> pl.DataFrame:
    return pl.read_parquet(shared_data / SOURCE).select("prompt", "response")


@pytest.fixture(scope="module")
def reference(flat, tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("flat") / "flat.parquet"
    flat.write_parquet(path)
    return counts(audit_json(str(path), "--text", "prompt"))


@pytest.fixture(scope="module")
def nested(flat, tmp_path_factory) -> dict:
    """The same rows with the prompt one and two levels down, as JSON lines and Parquet."""
    d = tmp_path_factory.mktemp("nested")
    rows = [
        {"id": i, "data": {"prompt": p, "n": i, "source": {"text": p, "lang": "en"}}, "response": r}
        for i, (p, r) in enumerate(zip(flat["prompt"], flat["response"]))
    ]
    (d / "records.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    pl.DataFrame(rows).write_parquet(d / "records.parquet")
    return {"jsonl": d / "records.jsonl", "parquet": d / "records.parquet"}


@pytest.mark.parametrize("kind", ["jsonl", "parquet"])
@pytest.mark.parametrize("field", ["data.prompt", "data.source.text"])
def test_a_struct_field_counts_like_the_flat_column(nested, reference, kind, field):
    result = audit_json(str(nested[kind]), "--text", field)
    assert result["source"]["text_columns"] == [field]
    assert counts(result) == reference  # the example texts included: read back from the field


def test_the_only_text_field_of_a_record_is_chosen(tmp_path, flat, reference):
    """No text column of its own, one text field in a struct: that field, as with one string column."""
    rows = [{"n": i, "meta": {"body": p, "n": i}} for i, p in enumerate(flat["prompt"])]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = audit_json(str(tmp_path / "d.jsonl"))
    assert result["source"]["text_columns"] == ["meta.body"]
    assert counts(result) == reference


def test_the_label_field_is_not_a_text_candidate(tmp_path):
    """`{"meta": {"text": ..., "label": ...}}` with `--label meta.label`: the text is the other field."""
    rows = [{"meta": {"text": t, "label": y}} for t, y in [("a b", "x"), ("A  b", "y"), ("c", "x")]]
    (tmp_path / "d.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = epochplan.audit(str(tmp_path / "d.jsonl"), label="meta.label").to_dict()
    assert result["source"]["text_columns"] == ["meta.text"]
    assert result["labels"]["counts"] == {"x": 2, "y": 1} and result["conflicts"]["rows"] == 2


def test_a_list_field_label_field_and_eval_split_inside_structs(tmp_path):
    """SQuAD's `answers` is a struct of lists: `answers.text` is a list of strings (one a line);
    a label and an eval split's text can be fields too."""
    train = pl.DataFrame(
        {
            "answers": [{"text": ["Paris", "paris"]}, {"text": ["PARIS", "Paris"]}, {"text": ["Rome"]}],
            "meta": [{"label": "capital"}, {"label": "city"}, {"label": "capital"}],
        }
    )
    train.write_parquet(tmp_path / "train.parquet")
    pl.DataFrame({"q": [{"text": "rome"}, {"text": "Oslo"}]}).write_parquet(tmp_path / "val.parquet")
    result = epochplan.audit(
        str(tmp_path / "train.parquet"),
        text="answers.text",
        label="meta.label",
        eval={"val": str(tmp_path / "val.parquet")},
        eval_text="q.text",
    ).to_dict()
    assert result["exact"]["duplicate_rows"] == 1  # "paris\nparis" twice once normalised
    assert result["labels"]["counts"] == {"capital": 2, "city": 1}
    assert result["conflicts"]["rows"] == 2
    assert result["leakage"]["val"]["exact_in_train"] == 1  # "rome"


def test_dedup_writes_the_nested_rows_back_whole(nested, flat, tmp_path, shared_data):
    out, plain = tmp_path / "kept.jsonl", tmp_path / "kept.parquet"
    assert run_cli("dedup", str(nested["jsonl"]), "--text", "data.prompt", "-o", str(out)).returncode == 0
    assert run_cli("dedup", str(shared_data / SOURCE), "--text", "prompt", "-o", str(plain)).returncode == 0
    kept = pl.read_ndjson(out)
    assert kept.columns == ["id", "data", "response"]
    assert kept["data"].struct.field("prompt").to_list() == pl.read_parquet(plain)["prompt"].to_list()


def test_a_shard_without_the_field_is_named(tmp_path):
    (tmp_path / "shards").mkdir()
    pl.DataFrame({"meta": [{"text": "a"}]}).write_parquet(tmp_path / "shards" / "p0.parquet")
    pl.DataFrame({"meta": [{"title": "b"}]}).write_parquet(tmp_path / "shards" / "p1.parquet")
    with pytest.raises(epochplan.InputError, match=r"p1\.parquet: no column 'meta\.text', which other files"):
        epochplan.audit(str(tmp_path / "shards"), text="meta.text")


def test_a_column_named_with_dots_wins_over_a_field(tmp_path):
    frame = pl.DataFrame({"a.b": ["x", "x", "y"], "a": [{"b": "p"}, {"b": "q"}, {"b": "r"}]})
    frame.write_parquet(tmp_path / "d.parquet")
    assert epochplan.audit(str(tmp_path / "d.parquet"), text="a.b").exact.duplicate_rows == 1


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["--text", "data.nope"], ["no column 'data.nope'", "data.prompt"]),
        (["--text", "id.x"], ["no column 'id.x'"]),
        (["--text", "data.n"], ["'data.n' is Int64", "not text"]),
        (["--text", "data.source"], ["'data.source' is Struct", "not text"]),
        (["--text", "data.prompt", "--label", "data.source"], ["label column 'data.source' is Struct"]),
    ],
)
def test_a_wrong_field_is_one_line(nested, tmp_path, args, fragments):
    proc = run_cli("audit", str(nested["parquet"]), *args, "--json", str(tmp_path / "a.json"))
    assert_clean_error(proc, *fragments)
    assert not (tmp_path / "a.json").exists()


@pytest.mark.parametrize("kind", ["parquet", "jsonl"])
def test_a_field_whose_name_holds_a_dot_can_be_audited(tmp_path, kind):
    """`{"meta": {"b.c": text}}`: the audit chose `meta.b.c` itself, then said "no column
    'meta.b.c'"; naming it with --text said the same while listing it as the field to name."""
    rows = [{"meta": {"b.c": text, "d": 1}} for text in ["hello", "hello", "other text"]]
    path = tmp_path / f"dots.{kind}"
    if kind == "parquet":
        pl.DataFrame(rows).write_parquet(path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    for flags in ((), ("--text", "meta.b.c")):
        result = audit_json(str(path), "--no-near", *flags)
        assert result["source"]["text_columns"] == ["meta.b.c"]
        assert (result["rows"], result["exact"]["unique"]) == (3, 2)


def test_a_dotted_name_reads_a_field_per_dot_first(tmp_path):
    """`{"meta": {"b": {"c": x}, "b.c": y}}`: meta.b.c is the nested b -> c, as before names with
    dots could be read; the field named "b.c" only when no field per dot fits."""
    rows = [{"meta": {"b": {"c": f"nested {i % 2}"}, "b.c": f"dotted {i}"}} for i in range(6)]
    path = tmp_path / "both.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert audit_json(str(path), "--no-near", "--text", "meta.b.c")["exact"]["unique"] == 2
