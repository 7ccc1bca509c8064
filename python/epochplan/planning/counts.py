"""Read counts as people write them (7e9, '7B', '350M', '2_000') into checked numbers."""

from __future__ import annotations

import math
import re
from typing import Any

from ..errors import InputError

_SUFFIX = {"k": 1e3, "m": 1e6, "b": 1e9, "g": 1e9, "t": 1e12}
_COUNT_RE = re.compile(r"^\s*([0-9][0-9_,]*\.?[0-9]*(?:e[+-]?[0-9]+)?)\s*([kmbgt]?)\s*$", re.IGNORECASE)


def parse_count(value: Any, what: str) -> float:
    """Read 7e9, '7B', '350M', '1.3b', '2_000' or a number; raise InputError otherwise."""
    if isinstance(value, bool):
        raise InputError(f"{what}: expected a number, got {value!r}")
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        match = _COUNT_RE.match(str(value))
        if not match:
            raise InputError(f"{what}: cannot read {value!r} as a count; write e.g. 7e9, 7B or 350M")
        number = float(match.group(1).replace("_", "").replace(",", "")) * _SUFFIX.get(match.group(2).lower(), 1.0)
    if not math.isfinite(number):
        raise InputError(f"{what}: {value!r} is not a finite number")
    return number


def _signed_count(value: Any, what: str) -> float:
    """`parse_count`, reading a leading minus too, so that a range check names '-1' as out of
    range rather than as unreadable."""
    if isinstance(value, str) and value.strip().startswith("-"):
        return -parse_count(value.strip()[1:], what)
    return parse_count(value, what)


def non_negative_int(value: Any, what: str) -> int:
    """A whole number of at least 0 (a token overhead may be none)."""
    shown = value
    if isinstance(value, str):
        value = _signed_count(value, what)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (isinstance(value, float) and not value.is_integer()):
        raise InputError(f"{what}: expected a whole number, got {shown!r}")
    if value < 0:
        raise InputError(f"{what}: must be 0 or more, got {shown}")
    return int(value)


def positive_int(value: Any, what: str) -> int:
    shown = value
    if isinstance(value, str):
        value = _signed_count(value, what)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InputError(f"{what}: expected a whole number, got {shown!r}")
    if isinstance(value, float) and not value.is_integer():
        raise InputError(f"{what}: expected a whole number, got {shown!r}")
    if value < 1:
        raise InputError(f"{what}: must be at least 1, got {shown}")
    return int(value)


def positive_float(value: Any, what: str) -> float:
    number = _signed_count(value, what)
    if number <= 0:
        raise InputError(f"{what}: must be greater than 0, got {value}")
    return number
