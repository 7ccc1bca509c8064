"""Reading epochplan's own JSON files back (`epochplan report`, `check --baseline`, `plan
--audit`) strictly: one clear error for what Python's json module accepts but JSON does not
hold, or what it cannot read, never a traceback.

Refused: NaN and ±Infinity, a number too large for a float (1e400 would be infinity), an integer
of more than 300 digits (a chart draws it as a float; 5,001 digits were a ValueError) and nesting
deeper than the reader can follow (a RecursionError)."""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DIGITS = 300  # within a float's range (the charts draw floats), far below Python's 4,300-digit limit


class NotAsWritten(ValueError):
    """`where` (a key path such as `exact.top[0].members`) does not hold what the writer writes."""

    def __init__(self, where: str, what: str) -> None:
        super().__init__(f"{where}: {what}" if where else what)


def _no_constant(name: str) -> Any:
    raise NotAsWritten("", f"holds {name}, which is not a JSON number")


def _whole(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise NotAsWritten("", f"holds an integer of {len(digits.lstrip('-')):,} digits (at most {MAX_DIGITS})")
    return int(digits)


def _real(written: str) -> float:
    value = float(written)
    if not math.isfinite(value):
        raise NotAsWritten("", f"holds {written[:40]}, too large for a number")
    return value


def parse(text: str | bytes, *, infinite: bool = False) -> Any:
    """`text` as JSON; NotAsWritten for NaN, ±Infinity, huge numbers and too deep nesting
    (json.JSONDecodeError for text that is not JSON at all). Both are ValueErrors. `infinite`
    reads NaN, ±Infinity and 1e400 as floats, for a reader that names the key holding one
    (the planner's `AuditFields`)."""
    if infinite:
        floats: dict[str, Any] = {}
    else:
        floats = {"parse_constant": _no_constant, "parse_float": _real}
    try:
        return json.loads(text, parse_int=_whole, **floats)
    except RecursionError:
        raise NotAsWritten("", "nests arrays or objects deeper than it can be read") from None
