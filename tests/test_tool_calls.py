"""Tool-calling chat data (OpenAI-style function calling: glaive, xlam, hermes, ToolACE shapes): an
assistant turn's calls (`tool_calls`, the older `function_call`) are part of its text, one call a
line as `name(arguments)`, so conversations that differ only in a call are different texts and
identical calls (whatever their generated ids) are identical."""

from __future__ import annotations

import json

import polars as pl
import pytest

import epochplan
from conftest import audit_json, run_cli


def _call(name: str, arguments: str, call_id: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def _conversation(name: str, arguments: str, call_id: str = "call_1", content: str | None = None) -> list[dict]:
    return [
        {"role": "user", "content": "What is the weather like?", "tool_calls": None, "tool_call_id": None},
        {"role": "assistant", "content": content, "tool_calls": [_call(name, arguments, call_id)], "tool_call_id": None},
        {"role": "tool", "content": '{"temp": 20}', "tool_calls": None, "tool_call_id": call_id},
        {"role": "assistant", "content": "It is 20 degrees.", "tool_calls": None, "tool_call_id": None},
    ]


ROWS = [
    _conversation("get_weather", '{"city": "Paris"}'),
    _conversation("get_weather", '{"city": "London"}'),  # only the arguments differ
    _conversation("get_time", '{"city": "Paris"}'),  # only the function differs
    _conversation("get_weather", '{"city": "Paris"}', call_id="call_9", content=""),  # the first again: another id, "" content
    _conversation("get_weather", '{"city": "Paris"}', call_id="call_7"),  # and again
]
TOOLS = json.dumps([{"type": "function", "function": {"name": "get_weather", "parameters": {"type": "object"}}}])


def _write(path, rows: list[list[dict]]) -> str:
    records = [{"id": str(i), "messages": m, "tools": TOOLS} for i, m in enumerate(rows)]
    if str(path).endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(records), path)  # messages: a list of structs
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return str(path)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_conversations_that_differ_only_in_a_tool_call_are_not_exact_duplicates(tmp_path, suffix):
    path = _write(tmp_path / f"calls{suffix}", ROWS)
    result = audit_json(path)
    assert result["source"]["text_columns"] == ["messages"]  # not `tools`
    assert (result["rows"], result["exact"]["unique"], result["exact"]["duplicate_rows"]) == (5, 3, 2)
    top = result["exact"]["top"][0]
    assert top["count"] == 3
    assert top["text"].startswith('What is the weather like?\nget_weather({"city": "Paris"})\n{"temp": 20}')
    out = tmp_path / f"clean{suffix}"
    proc = run_cli("dedup", path, "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    kept = pl.read_parquet(out) if suffix == ".parquet" else pl.read_ndjson(out)
    assert kept["id"].to_list() == ["0", "1", "2"]


def test_the_text_of_calls_and_of_messages_without_them():
    plain = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}, {"role": "user", "content": None}]
    with_field = [{**m, "tool_calls": None, "function_call": None} for m in plain]
    legacy = [
        {"role": "user", "content": "Hi", "tool_calls": None, "function_call": None},
        {"role": "assistant", "content": "Let me see.", "tool_calls": [], "function_call": {"name": "f", "arguments": '{"x": 1}'}},
        {"role": "function", "content": "2", "tool_calls": None, "function_call": None},
    ]
    frame = pl.from_dicts([{"messages": with_field}, {"messages": legacy}], infer_schema_length=None)
    texts = [t.text for t in epochplan.audit(pl.concat([frame] * 2)).exact.top]
    # No calls: the text is what it was without the fields (content only, a null content left out).
    assert sorted(texts) == sorted(["Hi\nHello", 'Hi\nLet me see.\nf({"x": 1})\n2'])
    assert epochplan.audit(pl.DataFrame({"messages": [plain] * 2})).exact.top[0].text == "Hi\nHello"
    # Calls stored as JSON text: what a serialiser writes for none is no calls ("[]" was a line).
    for none in ("[]", "null", "{}", " None ", ""):
        stored = [{**m, "tool_calls": none, "function_call": none} for m in plain]
        assert epochplan.audit(pl.DataFrame({"messages": [stored] * 2})).exact.top[0].text == "Hi\nHello", none
    stored = [{**m, "tool_calls": '[{"name": "f"}]'} for m in plain[:1]]
    assert epochplan.audit(pl.DataFrame({"messages": [stored] * 2})).exact.top[0].text == 'Hi\n[{"name": "f"}]'


def test_calls_whose_arguments_are_objects_or_that_lack_the_function_wrapper():
    def row(city: str) -> list[dict]:
        call = {"name": "get_weather", "arguments": {"city": city, "unit": "C"}}
        return [{"role": "user", "content": "Weather?"}, {"role": "assistant", "content": None, "tool_calls": [call, call]}]

    result = epochplan.audit(pl.DataFrame({"messages": [row("Paris"), row("London"), row("Paris")]}))
    assert (result.exact.unique, result.exact.duplicate_rows) == (2, 1)
    call = 'get_weather({"city":"Paris","unit":"C"})'
    assert result.exact.top[0].text == f"Weather?\n{call}\n{call}"


def test_a_tools_column_is_not_chosen_beside_a_conversation(tmp_path):
    rows = [{"dialog": m, "tools": TOOLS} for m in ROWS]  # a conversation under a name that is no candidate
    result = epochplan.audit(pl.DataFrame(rows))
    assert result.source.text_columns == ["dialog"] and result.exact.unique == 3
    # A column so named is still the text where it is the only one (a dataset of code's `functions`).
    code = epochplan.audit(pl.DataFrame({"id": [1, 2], "functions": ["def f(): pass", "def g(): pass"]}))
    assert code.source.text_columns == ["functions"]
    # Beside another string column (an id) it is one of several, refused as before: not the id
    # chosen in silence, the conversation unaudited.
    with pytest.raises(epochplan.InputError, match=r"several string columns \(id, tools\)"):
        epochplan.audit(pl.DataFrame([{"id": f"row-{i}", "tools": TOOLS, "conversation": m} for i, m in enumerate(ROWS)]))
