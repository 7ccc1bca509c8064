"""Which columns are audited, and the one text per row built from them."""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence

import polars as pl

from ..errors import InputError, option
from .tool_calls import TOOL_SCHEMA_COLUMNS, message_text

# A conversation before a prompt: in chat data (UltraChat has `prompt` and `messages`) the
# prompt is only the first message, and the plan's token budget would count a fraction.
TEXT_COLUMN_CANDIDATES = ("text", "content", "messages", "conversations", "prompt", "instruction")
#: The field holding a message's text in a conversation column, in order of preference: the
#: OpenAI / TRL chat layout's `content`, ShareGPT's `value`, or `text`.
CONTENT_FIELDS = ("content", "value", "text")
#: The fields of a turn that holds both sides of an exchange (Capybara's `conversation`: a
#: list of `{"input", "output"}`), read in this order, one a line, where no CONTENT_FIELDS is.
TURN_FIELDS = ("input", "output")
#: What `--text` accepts, for error messages.
TEXT_KINDS = (
    "a string column, a list of strings, or a conversation (a list of messages with a string field content, value or text, "
    "or with input and output)"
)
#: Fields of content parts that hold no text (OpenAI's `image_url`, `input_audio`; Hugging Face's
#: `image`, `video`, `audio`): a list of structs with one of them is a list of multimodal parts.
MEDIA_FIELDS = frozenset({"image_url", "image", "input_image", "input_audio", "audio", "video", "video_url"})
#: Every field a content part has (OpenAI's, Hugging Face's): a list of structs with a `type` and
#: only these is a list of parts; one with other fields (a speaker, an element id, a span's
#: start and end) is a list of typed records.
PART_FIELDS = MEDIA_FIELDS | {"type", "text", "file", "image_file", "url", "path", "detail", "refusal", "input_text"}
#: Why a list of content parts is refused, for its error messages.
PARTS_REFUSED = (
    "images would not be compared, so samples that differ only in their image would count as duplicates. "
    "If its parts are text only, join their text into a string first"
)
# Internal column names of a batch; prefixed so they never collide with the user's columns.
TEXT = "__epochplan_text"
LABEL = "__epochplan_label"


def _is_string(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, (pl.Categorical, pl.Enum))


def _content_fields(dtype: pl.DataType) -> tuple[str, ...]:
    """The content fields when `dtype` is a conversation: a list of structs with string fields
    named in CONTENT_FIELDS (in that order), which are not content parts (`parts_kind`). Several
    where layouts were merged (ShareGPT's `value` and OpenAI's `content` in one column: each
    message has one of them, the others null). Empty for anything else."""
    if not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct) or parts_kind(dtype) is not None:
        return ()
    fields = {f.name: f.dtype for f in dtype.inner.fields}
    return tuple(name for name in CONTENT_FIELDS if name in fields and _is_string(fields[name]))


def _turn_fields(dtype: pl.DataType) -> tuple[str, ...]:
    """TURN_FIELDS when `dtype` is a list of turns that each hold both sides (string `input`
    and `output` fields, no content field); empty for anything else."""
    if not isinstance(dtype, pl.List) or not isinstance(dtype.inner, pl.Struct) or _content_fields(dtype) or parts_kind(dtype) is not None:
        return ()
    fields = {f.name: f.dtype for f in dtype.inner.fields}
    return TURN_FIELDS if all(name in fields and _is_string(fields[name]) for name in TURN_FIELDS) else ()


def _is_conversation(dtype: pl.DataType) -> bool:
    return bool(_content_fields(dtype) or _turn_fields(dtype))


def parts_kind(dtype: pl.DataType) -> str | None:
    """What makes `dtype` multimodal content parts, for its refusal; None when it is not. Two
    layouts: a conversation whose messages' content is a list (OpenAI's and Hugging Face's
    `{"role": "user", "content": [{"type": "image_url", ...}, {"type": "text", "text": ...}]}`,
    LLaVA's ShareGPT `value` likewise), and a list of the parts themselves (a `content` column):
    structs with a `type` and only the fields of parts (`PART_FIELDS`; not a role, which makes a
    message, nor a speaker, an id or a span's start: typed records of other data)."""
    if not isinstance(dtype, (pl.List, pl.Array)) or not isinstance(dtype.inner, pl.Struct):
        return None
    fields = {f.name: f.dtype for f in dtype.inner.fields}
    listed = next((name for name in CONTENT_FIELDS if isinstance(fields.get(name), (pl.List, pl.Array))), None)
    if listed is not None:
        return f"messages whose {listed} is a list of parts (multimodal content)"
    if "type" in fields and fields.keys() <= PART_FIELDS:
        return "a list of content parts (multimodal: {'type': 'image_url', ...}, {'type': 'text', ...})"
    return None


def _is_chat_parts(dtype: pl.DataType) -> bool:
    """Content parts that are surely chat data: messages holding parts, or parts with a media
    field. A list of `{"type", "text"}` structs alone may be other data (named entities' spans)."""
    kind = parts_kind(dtype)
    if kind is None or not isinstance(dtype, (pl.List, pl.Array)) or not isinstance(dtype.inner, pl.Struct):
        return False
    return kind.startswith("messages") or bool(MEDIA_FIELDS & {f.name for f in dtype.inner.fields})


def is_parts_value(value: object, content: str | None = None) -> bool:
    """Whether a JSON value is what `parts_kind` refuses: with `content` (the messages' content
    field), a list of messages one of which has a list there; else a list of content parts. What
    a JSON lines file that holds strings in other lines reads as JSON text (`listed_texts`)."""
    if not isinstance(value, list):
        return False
    if content is not None:
        return any(isinstance(m, dict) and isinstance(m.get(content), list) for m in value)
    items = [v for v in value if v is not None]
    return bool(items) and all(isinstance(v, dict) and "type" in v and v.keys() <= PART_FIELDS for v in items)


def listed_texts(columns: Sequence[str], schema: pl.Schema) -> list[tuple[str, list[str], str | None, pl.Expr]]:
    """The chosen text columns whose strings a JSON reader may have made of lists: a string
    column, or a conversation's string content. Where some lines hold a string and others a list
    of parts, polars reads the column as strings and each list as its JSON text, so the parts
    would be audited as that text. Each with the keys that lead to it in a line's record, its
    messages' content field (None for a string column), and an expression of the values that
    may be such text (`[{` ... `}]`)."""
    found = []
    for c in columns:
        resolved = resolve_column(schema, c)
        if resolved is None:
            continue
        top, column, dtype = resolved
        keys = [top, *(c[len(top) + 1 :].split(".") if c != top else [])]
        if dtype == pl.String:
            texts: list[tuple[str | None, pl.Expr]] = [(None, column)]
        else:  # each message's, not each row's (a null for an empty list); each content field of merged layouts
            texts = [(content, column.explode().struct.field(content)) for content in _content_fields(dtype)]
        # polars writes a list of objects as compact JSON: `[{...}]` (a text in brackets is no such list)
        found += [(c, keys, content, values.filter(values.str.starts_with("[{") & values.str.ends_with("}]"))) for content, values in texts]
    return found


def _refuse_parts(where: str, column: str, kind: str, advice: str) -> InputError:
    return InputError(f"{where}: column {column!r} holds {kind}, which is not audited: {PARTS_REFUSED}{advice}")


def _parts_columns(schema: pl.Schema, label: str | None) -> list[tuple[str, pl.DataType]]:
    """The columns of `schema` that are content parts (`parts_kind`), and the fields of its
    struct columns (one level, `column.field`) that are, besides the label column."""
    found = [(name, dtype) for name, dtype in schema.items() if parts_kind(dtype) is not None and name != label]
    for name, dtype in schema.items():
        if isinstance(dtype, pl.Struct) and name != label:
            found += [(f"{name}.{f.name}", f.dtype) for f in dtype.fields if parts_kind(f.dtype) is not None]
    return found


def _is_text(dtype: pl.DataType) -> bool:
    """A string column, a list of strings (turns) or a conversation (a list of messages)."""
    if isinstance(dtype, (pl.List, pl.Array)) and _is_string(dtype.inner):
        return True  # a list of strings, or a fixed-size one (pyarrow's list_(string(), n))
    return _is_string(dtype) or _is_conversation(dtype)


def resolve_column(schema: pl.Schema, name: str) -> tuple[str, pl.Expr, pl.DataType] | None:
    """A column by name: a column of `schema`, or a field of a struct column written with dots
    (`meta.text`; deeper: `meta.source.text`), as JSON records and Parquet files nest them; a
    column whose own name holds the dots wins. Returns the top-level column to read, the
    expression of the values and their type; None when there is no such column or field."""
    if name in schema:
        return name, pl.col(name), schema[name]
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        top = ".".join(parts[:cut])
        if top not in schema:
            continue
        path = _field_path(schema[top], parts[cut:])
        if path is None:
            return None
        expr, dtype = pl.col(top), schema[top]
        for field in path:
            dtype = {f.name: f.dtype for f in dtype.fields}[field]
            expr = expr.struct.field(field)
        return top, expr, dtype
    return None


def resolved_path(schema: pl.Schema, name: str) -> list[str] | None:
    """The keys to a column's values in a JSON record: the top-level column `resolve_column`
    reads, then the struct fields under it; None when there is no such column."""
    resolved = resolve_column(schema, name)
    if resolved is None:
        return None
    top = resolved[0]
    return [top] if top == name else [top, *(_field_path(schema[top], name[len(top) + 1 :].split(".")) or [])]


def _field_path(dtype: pl.DataType, parts: list[str]) -> list[str] | None:
    """The fields of nested structs that `parts` (a dotted name split at its dots) names, a field
    whose own name holds dots (`{"b.c": ...}`) included when no field per dot fits; None if none."""
    if not parts:
        return []
    if not isinstance(dtype, pl.Struct):
        return None
    fields = {f.name: f.dtype for f in dtype.fields}
    for cut in range(1, len(parts) + 1):  # a field per dot first, as before names with dots were read
        name = ".".join(parts[:cut])
        if name in fields:
            rest = _field_path(fields[name], parts[cut:])
            if rest is not None:
                return [name, *rest]
    return None


def _listed(names: Sequence[str]) -> str:
    """Column names as a message lists them, quoted where one looks like a flag (`'--text'`: the API's words leave it)."""
    return ", ".join(repr(n) if n.startswith("-") else n for n in names)


def _required(schema: pl.Schema, name: str, what: str = "column", where: str = "", hint: str = "") -> tuple[str, pl.Expr, pl.DataType]:
    """`resolve_column`, or the input error that names the missing column and lists the others."""
    resolved = resolve_column(schema, name)
    if resolved is None:
        prefix = f"{where}: " if where else ""
        raise InputError(f"{prefix}no {what} {name!r}; columns are: {_listed(schema.names())}{hint}")
    return resolved


def read_columns(schema: pl.Schema, columns: Sequence[str]) -> list[str]:
    """The columns a reader must read for `columns` (a struct field needs its whole column),
    each once, in order; a name `schema` lacks is passed on as it is (the reader names it)."""
    return list(dict.fromkeys(r[0] if (r := resolve_column(schema, c)) is not None else c for c in columns))


def _nested_strings(schema: pl.Schema) -> list[str]:
    """`column.field` of the text fields of struct columns (one level): where `--text` can point
    when the input has no text column of its own."""
    return [
        f"{name}.{field.name}"
        for name, dtype in schema.items()
        if isinstance(dtype, pl.Struct)
        for field in dtype.fields
        if _is_text(field.dtype)
    ]


def _unread_text_hint(schema: pl.Schema, flag: str = "--text") -> str:
    """Where text may be that the audit only reads when named: text fields of struct columns,
    and binary columns (Parquet writers that store strings without the UTF-8 annotation)."""
    nested = _nested_strings(schema)
    if nested:
        return f" (text inside struct columns: {', '.join(nested[:5])}; name one with {option(flag, nested[0])})"
    binary = [name for name, dtype in schema.items() if dtype == pl.Binary]
    if binary:
        which = f"column {binary[0]} holds" if len(binary) == 1 else f"columns {', '.join(binary[:5])} hold"
        return f" ({which} bytes, not text: cast to a UTF-8 string column first, e.g. polars' .cast(pl.String))"
    return ""


def _cast_advice(column: str) -> str:
    """How to make a binary column a text column, for the errors that name one."""
    return (
        f"cast it to a UTF-8 string column first (pyarrow: table.set_column(table.schema.get_field_index({column!r}), {column!r}, "
        f"table[{column!r}].cast(pa.string())); polars: df.with_columns(pl.col({column!r}).cast(pl.String)))"
    )


def is_pandas_index(name: str) -> bool:
    """pandas' index written beside the columns (`__index_level_0__`, a string index after a
    filter or a `set_index`): row names, never the text to audit."""
    return name.startswith("__index_level_") and name.endswith("__")


def choose_text_columns(
    schema: pl.Schema,
    text: str | Sequence[str] | None,
    where: str,
    label: str | None = None,
    typed: pl.Schema | None = None,
    holds_media: Callable[[str], bool] | None = None,
    index: Collection[str] = (),
    gives_way: Callable[[str, str], bool] | None = None,
    flag: str = "--text",
) -> list[str]:
    """The columns to audit: as given (a column, or a struct column's field as `column.field`),
    else the first of text/content/messages/conversations/prompt/instruction that is text, else
    the only string column besides the label column (and the tools' schemas, `tools` or
    `functions`, taken last, when there is nothing else) unless it gives way (`gives_way(string,
    conversation)`: it describes the rows, an id, a category, a source's name, and the list reads
    as text) to exactly one conversation or list-of-strings column beside it, which is then
    chosen (MT-Bench's `category` beside its `turns`), else
    (no string column) the only conversation or list-of-strings column, else the only text field
    of a struct column (`flag` names the option a hint gives it by: `--eval-text` for an eval split). The
    choice goes by `typed` when given (a CSV's cells are all text, but a column of numbers is no
    text to audit). Multimodal content parts (`parts_kind`) are refused: named, chosen by name,
    as the only text, or as chat data beside other string columns (which are not audited in
    its stead). The columns of pandas' `index` (row ids) are chosen by a text column's name only
    (`set_index("text")`), never as the only string column. A column named twice is refused (its text would be joined twice), and so is the label column
    named as text."""
    if text is not None:
        columns = [text] if isinstance(text, str) else list(text)
        if not columns:
            raise InputError("text columns: empty list; name at least one column")
        twice = next((c for i, c in enumerate(columns) if c in columns[:i]), None)
        if twice is not None:  # joined twice, every text and token count would double
            raise InputError(f"text columns: {twice!r} is named more than once; name each column once")
        if label is not None and label in columns:  # every text its own class, every duplicate cluster of one label
            raise InputError(f"label column {label!r} is also a text column; --label takes another column than --text")
        for c in columns:
            resolved = _required(schema, c, where=where, hint=_unread_text_hint(schema, flag))
            if (kind := parts_kind(resolved[2])) is not None:
                raise _refuse_parts(where, c, kind, "")
            if resolved[2] == pl.Binary:
                raise InputError(f"{where}: column {c!r} is Binary (bytes, no UTF-8 annotation), not text; {_cast_advice(c)}")
            if not _is_text(resolved[2]) and resolved[2] != pl.Null:  # all null: polars writes such a column typeless
                raise InputError(f"{where}: column {c!r} is {resolved[2]}, not text; --text takes {TEXT_KINDS}")
        return columns
    schema = typed if typed is not None else schema
    parts = _parts_columns(schema, label)
    for candidate in TEXT_COLUMN_CANDIDATES:
        if candidate in schema and (kind := parts_kind(schema[candidate])) is not None:
            raise _refuse_parts(where, candidate, kind, "; or audit another column with --text")
        # Bytes under a text column's name: not another column (an id, a url) audited in its stead,
        # unless they are media (`holds_media`: images in `content` beside a caption, said by the
        # `media-column` warning).
        if candidate in schema and schema[candidate] == pl.Binary and not (holds_media is not None and holds_media(candidate)):
            raise InputError(
                f"{where}: column {candidate!r} holds bytes (binary, no UTF-8 annotation), not text, so it is not audited "
                f"and no other column is chosen in its stead; {_cast_advice(candidate)}, or name the column to audit with --text"
            )
        if candidate in schema and (_is_text(schema[candidate]) or schema[candidate] == pl.Null):
            return [candidate]
    # Chat data whose text is in parts: not another column (an id, an image's file name) in its
    # stead; and with no text column at all, not "no string column" but why the parts are not read.
    certain = [(name, dtype) for name, dtype in parts if _is_chat_parts(dtype)]
    if certain:
        raise _refuse_parts(where, certain[0][0], parts_kind(certain[0][1]) or "", "; or audit another column with --text")
    strings = [
        name for name, dtype in schema.items() if _is_string(dtype) and name != label and not is_pandas_index(name) and name not in index
    ]
    # A conversation's list of tools (their JSON schemas, a string column beside it) alone is not
    # the text: the conversation is (below). Beside another string column (an id) it stays one of
    # several, refused as before: leaving it out would choose the id.
    if all(name in TOOL_SCHEMA_COLUMNS for name in strings):
        strings = []
    conversations = conversation_columns(schema, label, index)
    if len(strings) == 1 and len(conversations) == 1 and gives_way is not None and gives_way(strings[0], conversations[0]):
        return conversations  # the only string column describes the row (Capybara's `source`): the conversation is the text
    if not strings:  # chat or dialogue data: its one conversation or list of turns (beside strings, a list is often tags)
        strings = conversations
    if not strings:  # records that nest their text (`{"meta": {...}, "data": {"text": ...}}`): its one text field
        strings = [name for name in _nested_strings(schema) if label not in (name, name.split(".", 1)[0])]
    if not strings:  # nothing but a column so named (a dataset of code's `functions`): that one
        strings = [
            name
            for name, dtype in schema.items()
            if _is_text(dtype) and name != label and name in TOOL_SCHEMA_COLUMNS and name not in index
        ]
    if len(strings) == 1:
        return strings
    if not strings and parts:
        raise _refuse_parts(where, parts[0][0], parts_kind(parts[0][1]) or "", "; or audit another column with --text")
    if not strings and not len(schema):
        raise InputError(f"{where}: the table has no columns; pass a table with a text column")
    if not strings:
        raise InputError(f"{where}: no string column to audit; columns are: {_listed(schema.names())}{_unread_text_hint(schema, flag)}")
    binary = [name for name, dtype in schema.items() if dtype == pl.Binary and name != label]
    unread = f" (column {binary[0]!r} holds bytes, not read as text; if it is text, {_cast_advice(binary[0])})" if binary else ""
    raise InputError(
        f"{where}: several string columns ({', '.join(strings)}); choose one or more with --text{unread}{_turns_hint(schema, conversations)}"
    )


def conversation_columns(schema: pl.Schema, label: str | None = None, index: Collection[str] = ()) -> list[str]:
    """The conversation and list-of-strings columns of `schema` besides the label, pandas'
    `index` and the tools' schemas (`tools`, `functions`): where chat or dialogue data's text is."""
    return [
        name
        for name, dtype in schema.items()
        if _is_text(dtype) and not _is_string(dtype) and name != label and name not in TOOL_SCHEMA_COLUMNS and name not in index
    ]


def _turns_hint(schema: pl.Schema, conversations: list[str]) -> str:
    """Where the text likely is when several string columns (ids, a model's name, a language)
    stand beside conversation or list-of-strings columns (LMSYS-Chat-1M's `conversation`)."""
    if not conversations:
        return ""
    kinds = ["a conversation" if _is_conversation(schema[c]) else "a list of strings" for c in conversations]
    shown = ", ".join(f"{c!r} holds {kind}" for c, kind in zip(conversations[:3], kinds))
    return f"; {shown}: if that is the text, --text {conversations[0]}"


def check_text_in_every_file(file_schemas: dict, columns: list[str]) -> None:
    """Each file has the text columns as text (or all null): files are read with relaxed types,
    so an int64 shard beside string shards would otherwise be audited as digits."""
    for path, schema in file_schemas.items():
        for c in columns:
            resolved = resolve_column(schema, c)
            if resolved is not None and (kind := parts_kind(resolved[2])) is not None:
                raise _refuse_parts(path, c, kind, "")
            if resolved is not None and not _is_text(resolved[2]) and resolved[2] != pl.Null:
                raise InputError(f"{path}: column {c!r} is {resolved[2]} here but text in other files; fix this file or leave it out")


def other_text_columns(schema: pl.Schema, columns: Sequence[str], label: str | None = None, index: Collection[str] = ()) -> list[str]:
    """String and conversation columns of the input besides the audited ones, the label and
    pandas' `index` (row ids): what `--text` could name instead."""
    return [
        name
        for name, dtype in schema.items()
        if (_is_string(dtype) or _is_conversation(dtype))
        and name not in columns
        and name != label
        and not is_pandas_index(name)
        and name not in index
    ]


#: How a multi-label row's labels are joined into its one label.
LABEL_SEPARATOR = " | "


def check_label_column(schema: pl.Schema, label: str | None, where: str) -> None:
    if label is None:
        return
    dtype = _required(schema, label, "label column", where)[2]
    scalar = dtype.inner if isinstance(dtype, (pl.List, pl.Array)) else dtype
    if scalar.is_nested() or scalar == pl.Binary or scalar == pl.Duration:  # polars has no text of a Duration
        raise InputError(
            f"{where}: label column {label!r} is {dtype}; --label takes one value a row (string, number, boolean) "
            "or a list of them (multi-label)"
        )


def label_expression(label: str, schema: pl.Schema, typed: pl.Schema | None = None) -> pl.Expr:
    """A row's label as a string: a value as it is; a list of labels (multi-label data, e.g.
    GoEmotions' `labels`) as its set, sorted and joined by LABEL_SEPARATOR, so that two rows
    with the same labels in another order agree, and label balance counts each combination."""
    _, column, dtype = _required(schema, label, "label column")
    if not isinstance(dtype, (pl.List, pl.Array)):
        cells = typed is not None and label in typed and typed[label].is_float() and dtype == pl.String
        return (_whole_float_cells(column) if cells else label_text(column, dtype)).alias(LABEL)
    items = column.cast(pl.List(dtype.inner)) if isinstance(dtype, pl.Array) else column
    labels = items.list.eval(label_text(pl.element(), dtype.inner).drop_nulls().unique().sort())
    return labels.list.join(LABEL_SEPARATOR).alias(LABEL)


def _whole_float_cells(cells: pl.Expr) -> pl.Expr:
    """A CSV label column of numbers written as floats (pandas writes an integer column with a
    missing value as `1.0,,2.0`): a whole number's cell `1.0` reads as `1`, as a float label does
    (`label_text`), so it is the label `1` of a file that wrote it as an integer. Other cells stay
    as written."""
    return cells.str.replace(r"^([+-]?\d+)\.0*$", "${1}")


def label_text(value: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """One label value as a string. A whole float is written as the integer it is: one shard's
    integer labels and another's floats (pandas turns an integer column with a missing value
    into floats) are the same labels, 1 and 1.0 alike "1"; NaN is no label."""
    if not dtype.is_float():
        return value.cast(pl.String)
    if dtype == pl.Float16:
        # polars' floor() returns a Float16 unchanged (0.25 stays 0.25, so every value looked
        # whole and 0.25 and 0.75 were both the label "0"); Float32 holds every Float16 exactly.
        value = value.cast(pl.Float32)
    whole = value.is_finite() & (value == value.floor()) & (value.abs() < 2.0**63)
    as_text = pl.when(whole).then(value.cast(pl.Int64, strict=False).cast(pl.String)).otherwise(value.cast(pl.String))
    # NaN is how pandas and numpy write a missing number: a missing label, not the label "NaN".
    return pl.when(value.is_nan()).then(None).otherwise(as_text)


def _column_text(column: pl.Expr, dtype: pl.DataType) -> pl.Expr:
    """The text of one column: a string as it is; a list of strings one item a line; a
    conversation one message's content a line. Roles are left out, so the same conversation
    counts as one whichever layout holds it (`user`/`assistant` or ShareGPT's `human`/`gpt`),
    and an eval split in another layout is compared by what was said. A message's tool calls
    are a line each after its content (`tool_calls.message_text`). Null items and messages
    are left out; a null list is null and an empty one an empty text."""
    if isinstance(dtype, pl.Array):  # fixed-size: as the list it is
        column, dtype = column.arr.to_list(), pl.List(dtype.inner)
    if not isinstance(dtype, pl.List):
        return column.cast(pl.String)
    contents, turns = _content_fields(dtype), _turn_fields(dtype)
    # A message's tool calls (`tool_calls`, `function_call`) follow its content (`tool_calls.py`).
    item = message_text(pl.element(), dtype.inner, contents) if contents else pl.element()
    if turns:  # both sides of each turn, a line each; a turn with neither is left out, as a message without content
        sides = [pl.element().struct.field(f).cast(pl.String) for f in turns]
        item = pl.when(pl.any_horizontal([side.is_not_null() for side in sides])).then(
            pl.concat_str(sides, separator="\n", ignore_nulls=True)
        )
    # A list of strings, or of nulls only (as a batch of empty lists reads), casts as it is.
    return column.list.eval(item.cast(pl.String).drop_nulls()).list.join("\n")


def text_expression(columns: list[str], schema: pl.Schema) -> pl.Expr:
    """One text per row: a column's text (see `_column_text`), or several columns' joined by a
    newline in the given order. A row is null only when all its text columns are null. `schema`
    is the frame's the expression runs on: how a column becomes text depends on its type there."""
    parts = [_column_text(column, dtype) for _, column, dtype in (_required(schema, c) for c in columns)]
    if len(parts) == 1:
        return parts[0].alias(TEXT)
    joined = pl.concat_str(parts, separator="\n", ignore_nulls=True)
    all_null = pl.all_horizontal([p.is_null() for p in parts])
    return pl.when(all_null).then(None).otherwise(joined).alias(TEXT)
