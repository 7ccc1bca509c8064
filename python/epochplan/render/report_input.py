"""The JSON files `epochplan report` renders, read strictly and checked for the shape the report
reads, so that a file edited by hand (or cut, or written by something else) is one clear input
error naming the key, never a crash halfway through the page or a page showing "nan" or "None".

Reading (`json_text.parse`) refuses what Python's json module accepts but JSON does not hold:
NaN and ±Infinity, huge numbers, nesting deeper than the reader can follow.

The shapes list only the keys the report reads (html.py, sections.py, check_section.py,
plan_section.py). Each may be missing, as the report then says what it lacks; a key that is
there holds what the writers write (auditing/result.py, planning/model.py, checking/).
Other keys are not looked at: a newer writer may add some.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from ..defaults import AUDIT_SCHEMA, CHECK_SCHEMA, PLAN_SCHEMA
from ..json_text import NotAsWritten

# --- shapes -------------------------------------------------------------------------------------
# A shape takes (value, key path) and raises NotAsWritten; `_optional` lets null through.
Shape = Callable[[Any, str], None]


def _found(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return f"an array of {len(value):,}"
    if isinstance(value, str):
        return "a string"
    return f"the number {value!r}"[:60]


def _expect(ok: bool, value: Any, where: str, what: str) -> None:
    if not ok:
        raise NotAsWritten(where, f"expected {what}, found {_found(value)}")


def _count(value: Any, where: str) -> None:
    _expect(isinstance(value, int) and not isinstance(value, bool) and value >= 0, value, where, "a whole number ≥ 0")


def _number(value: Any, where: str) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    _expect(ok, value, where, "a number")


def _text(value: Any, where: str) -> None:
    _expect(isinstance(value, str), value, where, "a string")


def _flag(value: Any, where: str) -> None:
    _expect(isinstance(value, bool), value, where, "true or false")


def _optional(shape: Shape) -> Shape:
    def check(value: Any, where: str) -> None:
        if value is not None:
            shape(value, where)

    return check


def _array(item: Shape) -> Shape:
    def check(value: Any, where: str) -> None:
        _expect(isinstance(value, list), value, where, "an array")
        for i, element in enumerate(value):
            item(element, f"{where}[{i}]")

    return check


def _obj(**fields: Shape) -> Shape:
    def check(value: Any, where: str) -> None:
        _expect(isinstance(value, Mapping), value, where, "an object")
        for key, shape in fields.items():
            if key in value:
                shape(value[key], f"{where}.{key}" if where else key)

    return check


def _named(item: Shape) -> Shape:
    """An object of any keys (label names, eval split names), each holding `item`."""

    def check(value: Any, where: str) -> None:
        _expect(isinstance(value, Mapping), value, where, "an object")
        for key, element in value.items():
            item(element, f"{where}[{json.dumps(key, ensure_ascii=False)[:60]}]")

    return check


def _bin(*parts: Shape, ascending: bool = False) -> Shape:
    """A fixed-length array such as [size, clusters] or [lo, hi, count] (lo < hi)."""

    def check(value: Any, where: str) -> None:
        _expect(isinstance(value, list) and len(value) == len(parts), value, where, f"an array of {len(parts)}")
        for i, (part, element) in enumerate(zip(parts, value)):
            part(element, f"{where}[{i}]")
        if ascending and not value[0] < value[1]:
            raise NotAsWritten(where, f"a bin [lo, hi, count] needs lo < hi, found [{value[0]}, {value[1]}, …]")

    return check


COUNT, NUMBER, TEXT = _optional(_count), _optional(_number), _optional(_text)

_MEMBER = _obj(row=COUNT, text=_text, similarity=NUMBER)
# `_text` where the report would print a null as "None"; TEXT (null allowed) where it says what is missing.
_CLUSTER = _obj(row=COUNT, count=COUNT, text=TEXT, preview=_text, members=_optional(_array(_MEMBER)))
_CLUSTERS = dict(
    unique=COUNT,
    unique_tokens=COUNT,
    clusters=COUNT,
    largest_cluster=COUNT,
    duplicate_rows=COUNT,
    size_histogram=_optional(_array(_bin(_count, _count))),
    top=_optional(_array(_CLUSTER)),
)
_NEAR_SETTINGS = dict(threshold=NUMBER, shingle=TEXT, ngram=COUNT, char_ngram=COUNT, clustering=TEXT, verify=TEXT)
_LENGTH = _obj(
    **{key: NUMBER for key in ("mean", "p50", "p90", "p99", "max")},
    histogram=_optional(_array(_bin(_count, _count, _count, ascending=True))),
    estimated=_optional(_flag),
    tokenizer=TEXT,
)
_LEAK_EXAMPLE = _obj(eval_row=COUNT, train_row=COUNT, similarity=NUMBER, kind=TEXT, eval_text=TEXT, train_text=TEXT)
_SPLIT = _obj(rows=COUNT, null_rows=COUNT, exact_in_train=COUNT, near_in_train=COUNT, examples=_optional(_array(_LEAK_EXAMPLE)), path=TEXT)
_CONFLICT = _obj(
    rows=_array(_count), labels=_array(TEXT), texts=_array(TEXT), first_of_label=_optional(_array(_obj(row=COUNT, label=TEXT, text=TEXT)))
)
PLAN = _obj(
    epochs=_optional(_obj(**{key: NUMBER for key in ("min", "recommended", "max", "planned")})),
    **{key: COUNT for key in ("total_steps", "warmup_steps", "steps_per_epoch", "global_batch_size", "seq_len")},
    **{key: COUNT for key in ("unique_samples", "unique_tokens", "truncated_samples", "truncated_tokens")},
    unique_level=TEXT,
    regime=TEXT,
    framework=TEXT,
    setup=_optional(_obj(seq_len=COUNT)),
    rationale=_optional(_array(_obj(field=_text, detail=_text, rule=_text, source=_text))),
    warnings=_optional(_array(_text)),
)
AUDIT = _obj(
    rows=COUNT,
    null_rows=COUNT,
    empty_rows=COUNT,
    source=_optional(_obj(paths=_optional(_array(_text)), text_columns=_optional(_array(_text)), label_column=TEXT, normalize=_text)),
    exact=_optional(_obj(**_CLUSTERS)),
    near=_optional(_obj(**_CLUSTERS, **_NEAR_SETTINGS)),
    lengths=_optional(_obj(chars=_optional(_LENGTH), words=_optional(_LENGTH), tokens=_optional(_LENGTH), tokens_estimate=NUMBER)),
    labels=_optional(
        _obj(
            counts=_optional(_named(_count)),
            null_labels=COUNT,
            imbalance_ratio=NUMBER,
            entropy_normalized=NUMBER,
            label_names=_optional(_named(_text)),
        )
    ),
    conflicts=_optional(_obj(exact_clusters=COUNT, near_clusters=COUNT, rows=COUNT, examples=_optional(_array(_CONFLICT)))),
    leakage=_optional(_named(_optional(_SPLIT))),
    warnings=_optional(_array(_obj(id=_text, message=_text, share=NUMBER, text=TEXT))),
    diversity=_optional(_obj(vocabulary=NUMBER, distinct_1=NUMBER, distinct_2=NUMBER)),
    plan=_optional(PLAN),
    plan_skipped=TEXT,
)
CHECK = _obj(
    # The audit inside a check report: only its eval splits' rows are read (report_match.py).
    audit=_optional(_obj(leakage=_optional(_named(_optional(_obj(rows=COUNT)))))),
    source=_optional(_obj(paths=_optional(_array(_text)), rows=COUNT)),
    summary=_optional(_obj(status=_text, exit_code=COUNT, fail_on=_text, baseline=TEXT)),
    checks=_optional(
        _array(_obj(id=_text, status=_text, message=_text, fails_gate=_optional(_flag), warns=_optional(_flag), baseline=_optional(_obj())))
    ),
)
SHAPES = {AUDIT_SCHEMA: AUDIT, PLAN_SCHEMA: PLAN, CHECK_SCHEMA: CHECK}


def check_shape(document: Mapping[str, Any], schema: str) -> None:
    """NotAsWritten naming the first key of `document` (an `schema` document) that does not hold
    what the report reads there."""
    SHAPES[schema](document, "")
