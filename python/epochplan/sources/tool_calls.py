"""The text of a chat message's tool calls (OpenAI-style function calling).

An assistant message that calls tools often has no content (`null` or `""`) and its calls in
`tool_calls: [{"id", "type": "function", "function": {"name", "arguments"}}]` (or the older
`function_call: {"name", "arguments"}`; some datasets drop the `function` wrapper and put `name`
and `arguments` in the call itself). Left out, two conversations that differ only in which
function was called with which arguments read as one text, and a dataset of tool calls as
duplicates. Each call is written on a line of its own after the message's content, as
`name(arguments)`: the arguments as written where they are a string (OpenAI's JSON text), as
compact JSON where they are an object (polars' struct: its fields in the file's order, a field
the call lacks as null). Call ids are left out, like roles: they are generated per call, and the
same call made twice has two. A message without calls reads exactly as before."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

#: Message fields that hold a message's tool calls: a list of calls, or one call (older API).
CALL_FIELDS = ("tool_calls", "function_call")
#: Columns that list the tools a conversation may call (their JSON schemas), beside `messages`:
#: not the sample's text, so not chosen as the column to audit while there is other text.
TOOL_SCHEMA_COLUMNS = frozenset({"tools", "functions"})
#: A `tool_calls` or `function_call` string that holds no call (what a serialiser writes for none).
NO_CALLS = ["", "[]", "{}", "null", "none"]


def _fields(dtype: pl.DataType) -> dict[str, pl.DataType]:
    return {f.name: f.dtype for f in dtype.fields} if isinstance(dtype, pl.Struct) else {}


def _as_text(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """A value as text: a string as written; anything else (an object, a list, a number) as
    compact JSON."""
    if dtype == pl.String:
        return value
    if dtype == pl.Null or isinstance(dtype, (pl.Categorical, pl.Enum)):
        return value.cast(pl.String)
    return pl.struct(value.alias("v")).struct.json_encode().str.strip_prefix('{"v":').str.strip_suffix("}")


def _call_text(call: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """One call as `name(arguments)`; None when `dtype` is no call (no `name` in it or in its
    `function`). A null call is null; a missing name or arguments is empty."""
    fields = _fields(dtype)
    wrapped = _fields(fields.get("function", pl.Null))
    if "name" in wrapped:  # OpenAI's {"id", "type", "function": {"name", "arguments"}}
        function, fields = call.struct.field("function"), wrapped
    elif "name" in fields:  # {"name", "arguments"} itself, as `function_call` and some datasets' calls
        function = call
    else:
        return None
    name = _as_text(function.struct.field("name"), fields["name"])
    arguments = _as_text(function.struct.field("arguments"), fields["arguments"]) if "arguments" in fields else pl.lit(None, pl.String)
    text = pl.concat_str([name.fill_null(""), pl.lit("("), arguments.fill_null(""), pl.lit(")")])
    return pl.when(function.is_null()).then(None).otherwise(text)


def _field_calls(value: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    """The text of a message's `tool_calls` or `function_call` value: its calls one a line, null
    when it has none. A string (calls stored as JSON text) is as written."""
    if dtype == pl.String:
        # Written by a serialiser for a message without calls: no calls, as a null or empty list is.
        none = value.str.strip_chars().str.to_lowercase().is_in(NO_CALLS)
        return pl.when(~none).then(value)
    if isinstance(dtype, (pl.List, pl.Array)):
        items = value.arr.to_list() if isinstance(dtype, pl.Array) else value
        one = _call_text(pl.element(), dtype.inner)
        if one is None:
            return None
        joined = items.list.eval(one.drop_nulls()).list.join("\n")
        return pl.when(joined != "").then(joined)  # no calls (an empty list, null calls): null, as a null list is
    return _call_text(value, dtype)


def _calls(message: pl.Expr, dtype: pl.DataType) -> pl.Expr | None:
    fields = _fields(dtype)
    texts = [t for f in CALL_FIELDS if f in fields and (t := _field_calls(message.struct.field(f), fields[f])) is not None]
    if not texts:
        return None
    if len(texts) == 1:
        return texts[0]
    joined = pl.concat_str(texts, separator="\n", ignore_nulls=True)  # "" when all are null: null then
    return pl.when(pl.any_horizontal([t.is_not_null() for t in texts])).then(joined)


def message_text(message: pl.Expr, dtype: pl.DataType, contents: Sequence[str]) -> pl.Expr:
    """A message's text: its content (the first of the `contents` fields that is not empty, else
    the first not null: a column of merged layouts has ShareGPT's `value` in some messages,
    OpenAI's `content` in others, the other field null or `""`), then its tool calls one a line.
    Without calls, its content as it is (null: the message is left out); with calls and no
    content (`null` or `""`, as tool-calling turns are written), the calls alone."""
    fields = [message.struct.field(content).cast(pl.String) for content in contents]
    text = pl.coalesce([*(pl.when(field != "").then(field) for field in fields), *fields]) if len(fields) > 1 else fields[0]
    calls = _calls(message, dtype)
    if calls is None:
        return text
    with_calls = pl.when(text.is_null() | (text == "")).then(calls).otherwise(pl.concat_str([text, pl.lit("\n"), calls]))
    return pl.when(calls.is_null()).then(text).otherwise(with_calls)
