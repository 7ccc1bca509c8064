"""Which columns are audited, and the one text per row built from them."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from ..errors import InputError

TEXT_COLUMN_CANDIDATES = ("text", "content", "prompt", "instruction")
# Internal column names of a batch; prefixed so they never collide with the user's columns.
TEXT = "__epochplan_text"
LABEL = "__epochplan_label"


def _is_text(dtype: pl.DataType) -> bool:
    return dtype in (pl.String, pl.Categorical) or isinstance(dtype, (pl.Categorical, pl.Enum))


def choose_text_columns(schema: pl.Schema, text: str | Sequence[str] | None, where: str, label: str | None = None) -> list[str]:
    """The columns to audit: as given, else the first of text/content/prompt/instruction,
    else the only string column besides the label column."""
    if text is not None:
        columns = [text] if isinstance(text, str) else list(text)
        if not columns:
            raise InputError("text columns: empty list; name at least one column")
        for c in columns:
            if c not in schema:
                raise InputError(f"{where}: no column {c!r}; columns are: {', '.join(schema.names())}")
            if not _is_text(schema[c]):
                raise InputError(f"{where}: column {c!r} is {schema[c]}, not text; choose a string column with --text")
        return columns
    for candidate in TEXT_COLUMN_CANDIDATES:
        if candidate in schema and _is_text(schema[candidate]):
            return [candidate]
    strings = [name for name, dtype in schema.items() if _is_text(dtype) and name != label]
    if len(strings) == 1:
        return strings
    if not strings:
        raise InputError(f"{where}: no string column to audit; columns are: {', '.join(schema.names())}")
    raise InputError(f"{where}: several string columns ({', '.join(strings)}); choose one or more with --text")


def check_text_in_every_file(file_schemas: dict, columns: list[str]) -> None:
    """Each file has the text columns as text (or all null): files are read with relaxed types,
    so an int64 shard beside string shards would otherwise be audited as digits."""
    for path, schema in file_schemas.items():
        for c in columns:
            if c in schema and not _is_text(schema[c]) and schema[c] != pl.Null:
                raise InputError(f"{path}: column {c!r} is {schema[c]} here but text in other files; fix this file or leave it out")


def other_text_columns(schema: pl.Schema, columns: Sequence[str], label: str | None = None) -> list[str]:
    """String columns of the input besides the audited ones and the label: what `--text` could
    name instead."""
    return [name for name, dtype in schema.items() if _is_text(dtype) and name not in columns and name != label]


def check_label_column(schema: pl.Schema, label: str | None, where: str) -> None:
    if label is not None and label not in schema:
        raise InputError(f"{where}: no label column {label!r}; columns are: {', '.join(schema.names())}")


def text_expression(columns: list[str]) -> pl.Expr:
    """One text per row: a column as it is, or several joined by a newline in the given order.
    A row is null only when all its text columns are null."""
    if len(columns) == 1:
        return pl.col(columns[0]).cast(pl.String).alias(TEXT)
    parts = [pl.col(c).cast(pl.String) for c in columns]
    joined = pl.concat_str(parts, separator="\n", ignore_nulls=True)
    all_null = pl.all_horizontal([p.is_null() for p in parts])
    return pl.when(all_null).then(None).otherwise(joined).alias(TEXT)
