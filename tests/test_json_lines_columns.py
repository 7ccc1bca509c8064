"""A JSON lines file's columns come from its first 2 MB of lines. A key that first appears after
them, or changes type there, used to be lost or fatal: `--label` said the file had no such
column, `dedup` to Parquet dropped the key and its values without a word, and a gzip file failed
("cannot parse 'str' (string) as Int64") on a key the audit does not even read."""

from __future__ import annotations

import gzip
import json

import polars as pl
import pytest

from conftest import assert_clean_error, audit_json, run_cli

#: Rows of the first lines: more than the 2 MB the columns are read from.
EARLY = 30_000
LATE = 120


def _write(path, rows) -> None:
    data = "".join(json.dumps(row) + "\n" for row in rows).encode()
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)


def _late_rows(late: dict) -> list[dict]:
    early = [{"text": f"early row number {i} " + "padding " * 10, "extra": i} for i in range(EARLY)]
    return early + [{"text": f"late row {i % 40}", **{k: v(i) for k, v in late.items()}} for i in range(LATE)]


@pytest.mark.parametrize("name", ["late.jsonl", "late.jsonl.gz"])
def test_a_key_first_seen_past_the_head_is_a_column(tmp_path, name):
    path = tmp_path / name
    _write(path, _late_rows({"label": lambda i: f"class {i % 3}", "score": lambda i: i / 2}))
    assert path.stat().st_size > 2 << 20 or name.endswith(".gz")
    audit = audit_json(str(path), "--label", "label", "--no-near")
    assert audit["rows"] == EARLY + LATE
    assert audit["labels"]["null_labels"] == EARLY
    assert audit["labels"]["counts"] == {"class 0": 40, "class 1": 40, "class 2": 40}
    # Forty texts, three copies each, each copy's label a different one of the three classes.
    assert audit["conflicts"]["rows"] == LATE
    for suffix in ("parquet", "csv"):
        out = tmp_path / f"kept.{suffix}"
        proc = run_cli("dedup", str(path), "--level", "exact", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        kept = pl.read_parquet(out) if suffix == "parquet" else pl.read_csv(out, infer_schema_length=None)
        assert kept.columns == ["text", "extra", "label", "score"]
        assert kept.height == EARLY + 40
        late = kept.filter(pl.col("text").str.starts_with("late"))
        assert late["label"].to_list() == [f"class {i % 3}" for i in range(40)]
        assert late["score"].to_list() == [i / 2 for i in range(40)]
        assert kept["extra"].drop_nulls().to_list() == list(range(EARLY))


@pytest.mark.parametrize("name", ["typed.jsonl", "typed.jsonl.gz"])
def test_a_key_that_changes_type_past_the_head(tmp_path, name):
    """`extra` holds whole numbers for 2 MB, then strings: an audit of the text reads on; dedup
    writes the column as strings (polars' rule for a key of both kinds), every value kept; a
    chosen key (`--label`) that changes type is a one-line error naming the line."""
    path = tmp_path / name
    rows = _late_rows({"extra": lambda i: f"tag-{i}", "label": lambda i: i % 2})
    rows[EARLY + 5]["label"] = "two"
    _write(path, [{**row, "label": row.get("label", 0)} for row in rows])
    audit = audit_json(str(path), "--no-near")
    assert (audit["rows"], audit["exact"]["unique"]) == (EARLY + LATE, EARLY + 40)
    out = tmp_path / "kept.parquet"
    proc = run_cli("dedup", str(path), "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    kept = pl.read_parquet(out)
    assert kept.schema["extra"] == pl.String and kept.schema["label"] == pl.String
    assert kept["extra"].to_list() == [str(i) for i in range(EARLY)] + [f"tag-{i}" for i in range(40)]
    proc = run_cli("audit", str(path), "--label", "label", "--no-near")
    assert_clean_error(proc, f"{name}: line {EARLY + 6:,}: key 'label' holds a string", "whole numbers", "one JSON type")


@pytest.mark.parametrize("late", [True, False], ids=["past-the-head", "in-the-head"])
def test_a_key_of_kinds_polars_cannot_join_is_read_as_its_json_text(tmp_path, late):
    """`x` is a number in some lines and a list or an object in others: polars' inference fails
    on the whole file ("failed to determine supertype"), which made a file unreadable for an
    audit that does not read `x` (in the head) and `dedup` exit 3 (past it). The key is now a
    string column of each value's JSON text."""
    rows = [{"text": f"early row {i} " + "pad " * 20, "x": 1} for i in range(EARLY if late else 3)]
    rows += [{"text": "late", "x": [1, 2]}, {"text": "late", "x": {"k": "v"}}, {"text": "last", "x": 2}]
    path = tmp_path / "kinds.jsonl"
    _write(path, rows)
    audit = audit_json(str(path), "--no-near")
    assert (audit["rows"], audit["exact"]["unique"]) == (len(rows), len(rows) - 1)
    out = tmp_path / "kept.parquet"
    proc = run_cli("dedup", str(path), "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    kept = pl.read_parquet(out)
    assert kept.schema["x"] == pl.String and kept["x"].to_list()[-2:] == ["[1, 2]", "2"]
    proc = run_cli("audit", str(path), "--label", "lable", "--no-near")  # a typo: the columns are named
    assert_clean_error(proc, "no label column 'lable'; columns are: text, x")


def _chat(i: int, **late) -> dict:
    return {"messages": [{"role": "user", "content": f"early question {i} " + "pad " * 10}, {"role": "assistant", "content": "ok", **late}]}


@pytest.mark.parametrize("name", ["chat.jsonl", "chat.jsonl.gz"])
def test_a_message_field_first_seen_past_the_head_is_read(tmp_path, name):
    """The fields of a conversation's messages came from the head only: a message's `tool_calls`
    first seen past it was dropped (two conversations that differ only in their calls read as
    copies), as was another layout's text field (ShareGPT rows, then OpenAI rows: empty rows)."""
    path = tmp_path / name
    calls = [
        {"messages": [{"role": "user", "content": f"weather {i}"}, {"role": "assistant", "content": None, "tool_calls": [call]}]}
        for i in range(LATE // 2)
        for call in (
            {"id": "1", "type": "function", "function": {"name": "get_weather", "arguments": f'{{"city": "{city}"}}'}} for city in "AB"
        )
    ]
    sharegpt = [{"messages": [{"from": "human", "value": f"late question {i}"}, {"from": "gpt", "value": "sure"}]} for i in range(LATE)]
    _write(path, [_chat(i) for i in range(EARLY)] + calls + sharegpt)
    assert path.stat().st_size > 2 << 20 or name.endswith(".gz")
    audit = audit_json(str(path), "--no-near")
    assert (audit["rows"], audit["empty_rows"], audit["exact"]["unique"]) == (EARLY + 2 * LATE, 0, EARLY + 2 * LATE)
    out = tmp_path / "kept.parquet"
    proc = run_cli("dedup", str(path), "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    kept = pl.read_parquet(out)
    assert kept.height == EARLY + 2 * LATE
    assert kept["messages"][EARLY + 1][1]["tool_calls"][0]["function"]["arguments"] == '{"city": "B"}'
    assert kept["messages"][-1][0]["value"] == f"late question {LATE - 1}"


LATE_KINDS = {
    "a string": ("user: hi\nassistant: hello", "holds a string, where the file's first lines hold lists"),
    "an object": ({"role": "user", "content": "hi"}, "holds an object, where the file's first lines hold lists"),
    "a list of strings": (["hi", "hello"], "holds a list of strings, where the file's first lines hold lists of objects"),
}


@pytest.mark.parametrize("kind", sorted(LATE_KINDS))
def test_a_conversation_key_of_another_kind_past_the_head_is_refused(tmp_path, kind):
    """The re-read of a conversation's messages (for fields first seen late) joined every line's
    types: one late line of another kind made the whole column that kind (polars' rule), and every
    conversation was audited as its JSON text, with exit 0. It is refused, naming the line."""
    value, said = LATE_KINDS[kind]
    path = tmp_path / "chat.jsonl"
    _write(path, [_chat(i) for i in range(EARLY)] + [{"messages": value}])
    assert path.stat().st_size > 2 << 20
    proc = run_cli("audit", str(path), "--no-near")
    assert_clean_error(proc, f"line {EARLY + 1:,}: key 'messages' {said}")
    out = tmp_path / "kept.parquet"
    proc = run_cli("dedup", str(path), "--level", "exact", "-o", str(out))
    assert proc.returncode == 2 and not out.exists()
