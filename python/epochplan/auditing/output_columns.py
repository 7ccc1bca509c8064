"""Which column types each output format of `dedup` can hold: a column it cannot (a list of
messages in a CSV, bytes in JSON lines, a 128-bit integer in Parquet) is refused before the
audit, with the formats that can, rather than failing (or panicking) in polars' writer after it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from ..errors import InputError
from ..sources import Source
from ..sources.class_labels import FEATURES_FIX
from ..sources.formats import ONE_TYPE_FIX
from ..sources.json_numbers import ARRAY_FIX, LINES_FIX
from .conflicts import SEE_CONFLICTS
from .near_warnings import VARYING_COLUMN, VERIFY_EXACT

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
#: The command line's other way out of a join a format cannot hold (the Python API says its own:
#: `WRITTEN_PHRASES`).
PER_FILE_FIX = ", or one output per input file with -o DIR/ (each keeps its own type)"
#: The same way out, in the warning of a type join.
PER_FILE_WARNING_FIX = "write one output per input file with -o DIR/ to keep each file's own type"
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
                    f"hold; write {instead}{PER_FILE_FIX}"
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
        f"column {name!r} is {types}: one output holds it as {joined}; {PER_FILE_WARNING_FIX}" for name, (types, joined) in joins.items()
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


# --- The Python API's words for the refusals and warnings whose way out, on the command line, is
# an argument the API has not (`-o DIR/`, `-o FILE.jsonl`) or another command (`epochplan audit`),
# or whose flag's value `in_keywords` cannot tell from the words after it (`--verify exact`):
# `keyword_errors`' phrases, applied to a call from the user's code only (its errors, and its
# warnings by `api_words`); the command line keeps its words. ---

#: A JSON file's records copied as written: what the API calls for it.
_TO_JSON_LINES = "epochplan.auditing.dedup_to_file(data, 'out.jsonl')"

#: The warnings of the audit, of `dedup()` and `dedup_to_file()`, and those `plan()` gives of the data it
#: audits: the conflicting labels are seen in `audit()`'s result, and `verify` and `text` are keyword
#: arguments of the audit.
WARNING_PHRASES = {
    SEE_CONFLICTS: "see them in the conflicts of an epochplan.audit with ",
    VERIFY_EXACT: "verify='exact'",
    VARYING_COLUMN: VARYING_COLUMN.replace("--text", "text=..."),
}

#: `dedup()`: a DataFrame holds each column in one type, and it writes no file.
RETURNED_PHRASES = {
    **WARNING_PHRASES,
    f"one output file cannot hold both; {ONE_TYPE_FIX}": (
        "the DataFrame dedup() returns cannot hold both (a column has one type); give the files one type"
    ),
    f"; {ONE_TYPE_FIX}": "; the DataFrame dedup() returns holds a column in one type: give the files one type",
    LINES_FIX: (
        f"the DataFrame dedup() returns holds a column in one type: write JSON lines with {_TO_JSON_LINES}, which copies "
        "the lines as written, or give the key one JSON type (those numbers as strings)"
    ),
    ARRAY_FIX: ARRAY_FIX.replace("dedup those to -o FILE.jsonl", f"dedup those with {_TO_JSON_LINES}"),
}

#: `dedup_to_file()`: one output file, named by its `out` argument.
WRITTEN_PHRASES = {
    **WARNING_PHRASES,
    PER_FILE_WARNING_FIX: "give the files one type to choose it",
    f"; {ONE_TYPE_FIX}": "; give the files one type",
    PER_FILE_FIX: ", or give the files one type",
    FEATURES_FIX: "cast the labels to one set of names first",
    LINES_FIX: LINES_FIX.replace("(-o FILE.jsonl or -o DIR/ copies", "(an out path ending in .jsonl copies"),
    ARRAY_FIX: ARRAY_FIX.replace("to -o FILE.jsonl", "to an out path ending in .jsonl"),
}
