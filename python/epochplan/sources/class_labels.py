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
    """The ClassLabel names of `column` in an Arrow schema's `huggingface` metadata, or None."""
    try:
        raw = (getattr(schema, "metadata", None) or {}).get(b"huggingface")
        if raw is None:
            return None
        document = json.loads(raw)
        info = document.get("info")
        features = info.get("features") if isinstance(info, dict) else None
        if not isinstance(features, dict):
            features = document.get("features")
        feature = features.get(column)
        if feature.get("_type") in _LISTS:
            feature = feature.get("feature")
        names = feature.get("names") if feature.get("_type") == "ClassLabel" else None
    except (ValueError, TypeError, AttributeError, RecursionError):  # malformed: no names
        return None
    if isinstance(names, list) and names and all(isinstance(name, str) for name in names):
        return names
    return None


def shown_label(value: object, names: dict[str, str] | None) -> str:
    """A label as people read it: `negative (0)` where `names` has its class, a multi-label
    combination part by part (`x (0) | z (2)`), any other value as it is."""
    text = str(value)
    if not names:
        return text
    return " | ".join(f"{names[part]} ({part})" if part in names else part for part in text.split(" | "))
