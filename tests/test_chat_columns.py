"""Chat data: a conversation column (a list of messages, OpenAI/TRL `role`/`content` or ShareGPT
`from`/`value`) or a list of strings is audited as its messages' text, one message a line. Built
from real rows (GPTeacher toolformer: user = `prompt`, assistant = `response`), so every number
must equal the audit of `--text prompt --text response`, which joins the same texts the same way."""

from __future__ import annotations

import json

import polars as pl
import pytest

import epochplan
from conftest import assert_clean_error, audit_json, run_cli

SOURCE = "gpteacher_toolformer_dedupe-only.parquet"  # 7673 rows; 2 exact and many near duplicates of prompt+response


def _without_source(result: dict) -> dict:
    """Everything the audit counts: the source section names other columns, and the template
    warning's advice names the other string columns, which differ by construction."""
    return {k: v for k, v in result.items() if k not in ("source", "warnings")}


def _messages(role: str, content: str, user: str, assistant: str) -> pl.Expr:
    turn = lambda who, column: pl.struct(pl.lit(who).alias(role), pl.col(column).alias(content))  # noqa: E731
    return pl.concat_list(turn(user, "prompt"), turn(assistant, "response"))


@pytest.fixture(scope="module")
def original(shared_data) -> pl.DataFrame:
    return pl.read_parquet(shared_data / SOURCE)


@pytest.fixture(scope="module")
def reference(shared_data) -> dict:
    result = audit_json(str(shared_data / SOURCE), "--text", "prompt", "--text", "response")
    assert result["rows"] == 7673 and result["exact"]["duplicate_rows"] > 0 and result["near"]["duplicate_rows"] > 0
    return result


@pytest.fixture(scope="module")
def chat_files(tmp_path_factory, original) -> dict:
    d = tmp_path_factory.mktemp("chat")
    openai = original.select(
        pl.int_range(pl.len()).cast(pl.String).alias("id"), _messages("role", "content", "user", "assistant").alias("messages")
    )
    sharegpt = original.select(_messages("from", "value", "human", "gpt").alias("conversations"))
    files = {"openai_parquet": d / "chat.parquet", "openai_jsonl": d / "chat.jsonl", "sharegpt_json_array": d / "sharegpt.json"}
    openai.write_parquet(files["openai_parquet"])
    openai.write_ndjson(files["openai_jsonl"])
    files["sharegpt_json_array"].write_text(json.dumps(sharegpt.to_dicts(), ensure_ascii=False))
    return files


@pytest.mark.parametrize("layout", ["openai_parquet", "openai_jsonl", "sharegpt_json_array"])
def test_a_conversation_audits_like_its_messages_joined(chat_files, reference, layout):
    result = audit_json(str(chat_files[layout]))  # no --text: `messages` / `conversations` is chosen
    assert result["source"]["text_columns"] == ["conversations" if layout.startswith("sharegpt") else "messages"]
    assert _without_source(result) == _without_source(reference)
    # The example texts are read back from the file and rendered as the audit saw them.
    top = result["exact"]["top"][0]
    assert top["text"].count("\n") >= 1 and top == reference["exact"]["top"][0]


def test_dedup_keeps_the_conversation_column_as_it_was(chat_files, reference, tmp_path):
    out = tmp_path / "clean.parquet"
    proc = run_cli("dedup", str(chat_files["openai_parquet"]), "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    kept = pl.read_parquet(out)
    given = pl.read_parquet(chat_files["openai_parquet"])
    assert kept.height == reference["exact"]["unique"] and kept.schema == given.schema
    assert kept.equals(given.filter(pl.col("id").is_in(kept["id"].implode())))  # rows as they were, in order, not re-rendered


def test_which_column_and_how_each_kind_reads():
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": None}, {"role": "assistant", "content": "Hi"}]
    frame = pl.DataFrame({"id": ["a", "b", "c", "d"], "messages": [conversation, conversation, [], None]})
    result = epochplan.audit(frame)
    assert result.source.text_columns == ["messages"]  # a candidate name, before the only-string-column rule
    # Before `prompt` too: in chat data (UltraChat's layout) the prompt is only the first message.
    assert epochplan.audit(frame.with_columns(prompt=pl.col("id"))).source.text_columns == ["messages"]
    assert (result.rows, result.null_rows, result.empty_rows, result.exact.unique) == (4, 1, 1, 2)
    # Any other name: chosen when it is the only text column; messages without content are left out.
    only = epochplan.audit(pl.DataFrame({"dialog": [conversation], "score": [1]}))
    assert only.source.text_columns == ["dialog"] and only.lengths.chars.max == len("Be brief.\nHi")
    # A list of strings is text when named, one item a line; as a stray column (tags) it is not a candidate.
    turns = pl.DataFrame({"body": ["x y", "x y"], "tags": [["a", None, "b"], ["a\nb"]]})
    assert epochplan.audit(turns).source.text_columns == ["body"]
    assert epochplan.audit(turns, text="tags").exact.unique == 1
    # With no string column, a list of strings is the dialogue (DailyDialog: `dialog`, `act`, `emotion`).
    dialogue = pl.DataFrame({"dialog": [["Hi!", "Hello."], ["Hi!", "Hello."], ["Bye."]], "act": [[1, 2], [1, 2], [3]]})
    assert epochplan.audit(dialogue).source.text_columns == ["dialog"] and epochplan.audit(dialogue).exact.unique == 2


def test_a_list_that_is_not_text_exits_2_naming_what_is(tmp_path):
    path = tmp_path / "images.parquet"
    pl.DataFrame({"m": [[{"type": "image", "url": "u"}]]}).write_parquet(path)
    proc = run_cli("audit", str(path), "--text", "m", "--json", str(tmp_path / "out.json"))
    assert_clean_error(proc, "images.parquet", "column 'm'", "not text", "a conversation")
    assert not (tmp_path / "out.json").exists()
