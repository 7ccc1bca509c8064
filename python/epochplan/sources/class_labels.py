"""The class names of a Hugging Face `datasets` ClassLabel column: `datasets` writes its values as
integers (0, 1, ...) and the names in the Arrow/Parquet schema metadata, key `huggingface`, as
JSON: `{"info": {"features": {"label": {"names": [...], "_type": "ClassLabel"}}}}` (older files:
a top-level `"features"`). A list of ClassLabels (multi-label: `Sequence`/`List` of one) has
them under the column's `"feature"`. Reports show the names beside the numbers; the numbers stay
the labels (counts, conflicts, JSON). Metadata that is missing, malformed or of another shape
gives no names: it never fails an audit."""

from __future__ import annotations

import json
from typing import Any

import polars as pl

from ..errors import InputError
from .formats import Source

#: Feature types of a list of one feature (`datasets` 2.x `Sequence`, 4.x `List`).
_LISTS = ("Sequence", "List", "LargeList")


def class_names(source: Source, column: str | None) -> dict[str, str] | None:
    """`{"0": "negative", "1": "positive"}` for an integer `column` (or list of integers) that
    every file of `source` with rows declares a ClassLabel of the same names; None otherwise
    (files that disagree, or one without the metadata: which names are right is not known)."""
    if column is None or not _integers(source.schema().get(column)):
        return None
    schemas = [p.arrow_schema for p in source.parts if not p.is_empty_file]
    found = [_names(schema, column) for schema in schemas]
    if not found or found[0] is None or any(names != found[0] for names in found[1:]):
        return None
    return {str(i): name for i, name in enumerate(found[0])}


def _integers(dtype: pl.DataType | None) -> bool:
    if isinstance(dtype, (pl.List, pl.Array)):
        dtype = dtype.inner
    return dtype is not None and dtype.is_integer()


def _names(schema: Any, column: str) -> list[str] | None:
    """The ClassLabel names of `column` in an Arrow schema's `huggingface` metadata (`features`),
    or None (none, malformed, empty, or not all strings)."""
    names = _class_names((features(schema) or {}).get(column))
    return names if names and all(isinstance(name, str) for name in names) else None


def shown_label(value: object, names: dict[str, str] | None) -> str:
    """A label as people read it: `negative (0)` where `names` has its class, a multi-label
    combination part by part (`x (0) | z (2)`), any other value as it is."""
    text = str(value)
    if not names:
        return text
    return " | ".join(f"{names[part]} ({part})" if part in names else part for part in text.split(" | "))


def features(schema: Any) -> dict[str, Any] | None:
    """The `datasets` features an Arrow schema's `huggingface` metadata declares (`info.features`,
    or an older file's top-level `features`), parsed; None without them (or malformed)."""
    try:
        raw = (getattr(schema, "metadata", None) or {}).get(b"huggingface")
        document = json.loads(raw) if raw is not None else None
        info = document.get("info") if isinstance(document, dict) else None
        found = info.get("features") if isinstance(info, dict) else None
        if not isinstance(found, dict) and isinstance(document, dict):
            found = document.get("features")
    except (ValueError, TypeError, RecursionError):  # malformed: none
        return None
    return found if isinstance(found, dict) else None


def features_conflict(source: Source) -> str | None:
    """Where two files of `source` name a column's classes differently (a ClassLabel whose names
    differ: label 0 is "neg" in one file and "pos" in the other, or names in one file and none
    in another), what differs, as "'label' is ClassLabel ['neg', 'pos'] in a.parquet but
    ClassLabel ['pos', 'neg'] in b.parquet"; None when they agree. One output file holds one
    schema's metadata, so the rows of the other file would read under the wrong names. Only the
    class names are compared: features that differ otherwise (an older `datasets`' spelling of
    the same feature, int32 beside int64) read back the same classes."""
    files = [(part.name, features(part.arrow_schema)) for part in source.parts if not part.is_empty_file and part.arrow_schema is not None]
    named = dict.fromkeys(c for _, found in files for c, f in (found or {}).items() if _class_names(f) is not None)
    for column in named:
        (first, found), *others = files
        for other, other_found in others:
            if _class_names((other_found or {}).get(column)) != _class_names((found or {}).get(column)):
                there = f"{other} declares no features" if other_found is None else f"{_shown_feature(other_found.get(column))} in {other}"
                return f"{column!r} is {_shown_feature((found or {}).get(column))} in {first} but {there}"
    return None


def check_one_features(source: Source, what: str) -> None:
    """Refuse input files that declare different `datasets` features (a ClassLabel's names in
    another order) for one output file: it holds one set of names, and the rows of the other
    file would read under them (label 0 "pos" read back as "neg"), silently."""
    conflict = features_conflict(source)
    if conflict is not None:
        raise InputError(
            f"{what}: the input files' Hugging Face features differ ({conflict}), and one output file holds one set, so "
            f"some rows' labels would read as other classes; {FEATURES_FIX}"
        )


#: The command line's way out of features that differ (the Python API says its own: `auditing/output_columns.py`).
FEATURES_FIX = "write one output per input file with -o DIR/ (each keeps its own), or cast the labels to one set of names first"


def _class_names(feature: Any) -> list[Any] | None:
    """A ClassLabel feature's names (also of a list of one ClassLabel), or None."""
    if isinstance(feature, dict) and feature.get("_type") in _LISTS:
        feature = feature.get("feature")
    if isinstance(feature, dict) and feature.get("_type") == "ClassLabel":
        names = feature.get("names")
        return names if isinstance(names, list) else []
    return None


def _shown_feature(feature: Any) -> str:
    if feature is None:
        return "not declared"
    names = _class_names(feature)
    if names is not None:
        return f"ClassLabel {names}"
    text = json.dumps(feature, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
