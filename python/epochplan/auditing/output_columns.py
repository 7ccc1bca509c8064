"""Which column types each output format of `dedup` can hold: a column it cannot (a list of
messages in a CSV, bytes in JSON lines, a 128-bit integer in Parquet) is refused before the
audit, with the formats that can, rather than failing (or panicking) in polars' writer after it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from ..errors import InputError
from ..sources import Source

#: Stands for a map whose keys are not text in `_CANNOT_HOLD` (JSON object keys are strings).
_NUMBER_KEYS = "map with keys other than text"
#: Column types each output format cannot hold (polars' writers fail on them, or panic), and
#: the formats to suggest instead.
_CANNOT_HOLD = {
    "csv": ({pl.List, pl.Array, pl.Struct, pl.Map, pl.Binary, pl.Duration, pl.Object}, ".parquet, .arrow or .jsonl"),
    # A map's keys are JSON object keys: text only (`_NUMBER_KEYS`, a map keyed by numbers).
    "ndjson": ({pl.Binary, pl.Object, _NUMBER_KEYS}, ".parquet or .arrow"),
    "parquet": ({pl.Int128, pl.UInt128, pl.Object}, ".jsonl or .csv"),
}
_CANNOT_HOLD["tsv"] = _CANNOT_HOLD["csv"]
_CANNOT_HOLD["arrow"] = _CANNOT_HOLD["parquet"]
#: Each format as "a … file" names it, with its article.
_A_FILE = {"csv": "a CSV", "tsv": "a TSV", "ndjson": "a JSON-lines", "parquet": "a Parquet", "arrow": "an Arrow"}


def check_output_columns(schema: pl.Schema, kind: str, what: str, joins: Mapping[str, tuple[str, pl.DataType]] = {}) -> None:
    """Refuse, before the audit, an output format that cannot hold a column of the input (a list
    of messages in a CSV, bytes in JSON lines, a 128-bit integer in Parquet): the rows would
    otherwise fail to write after the whole audit. `joins` (`Source.type_joins`): the columns
    the files hold in several types, named in them (UInt64 beside Int64 joins as Int128)."""
    cannot, instead = _CANNOT_HOLD.get(kind, (set(), ""))
    for name, dtype in schema.items():
        if _holds(dtype, cannot):
            if name in joins:
                raise InputError(
                    f"{what}: column {name!r} is {joins[name][0]}, joined as {dtype}, which {_A_FILE[kind]} file cannot "
                    f"hold; write {instead}, or one output per input file with -o DIR/ (each keeps its own type)"
                )
            raise InputError(f"{what}: column {name!r} is {dtype}, which {_A_FILE[kind]} file cannot hold; write {instead}")


def type_join_warnings(source: Source | None, returned: bool = False) -> tuple[str, ...]:
    """A warning for each column the files hold in types one output joins without changing a
    value (`Source.type_joins`: a bool beside whole numbers, a date beside text), which the
    output then holds in one type, not each file's own. `returned`: the output is the DataFrame
    the Python API's `dedup()` returns, said in its words (the command line's fix, `-o DIR/`,
    is no argument of it)."""
    joins = source.type_joins if source is not None else {}
    if returned:
        return tuple(
            f"column {name!r} is {types}: the DataFrame dedup() returns holds it as {joined} (a column has one type); "
            "give the files one type to choose it"
            for name, (types, joined) in joins.items()
        )
    return tuple(
        f"column {name!r} is {types}: one output holds it as {joined}; write one output per input file with -o DIR/ to keep "
        "each file's own type"
        for name, (types, joined) in joins.items()
    )


def _holds(dtype: pl.DataType, types: set[Any]) -> bool:
    """Whether `dtype` is one of `types` or holds one (in a list, an array or a struct)."""
    if dtype.base_type() in types:
        return True
    if isinstance(dtype, pl.Map):
        if _NUMBER_KEYS in types and dtype.key not in (pl.String, pl.Categorical, pl.Enum):
            return True
        return _holds(dtype.key, types) or _holds(dtype.value, types)
    if isinstance(dtype, (pl.List, pl.Array)):
        return _holds(dtype.inner, types)
    if isinstance(dtype, pl.Struct):
        return any(_holds(f.dtype, types) for f in dtype.fields)
    return False
