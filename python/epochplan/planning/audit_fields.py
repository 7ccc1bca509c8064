"""The fields of an audit JSON that the planner reads, each checked as it is read.

An audit is a file: edited by hand, written by another tool or an older epochplan. A field of the
wrong type or an impossible value (a string for a count, a negative token total, 1e400, a row
count of 10.5) is a one-line input error naming the file and the key path (exit 2), never a
crash deep in the planner (exit 3) nor a plan on negative tokens.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from ..defaults import MAX_WHOLE
from ..errors import InputError
from ..numbers import integral

RECREATE = "re-create it with `epochplan audit DATA --json FILE`"
_MISSING = object()


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, allow_nan=True)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


class AuditFields:
    """Typed reads of an audit dict by key path ('near.top[2].count'); `where` names the audit
    in errors ('--audit audit.json', 'audit audit.json', 'audit')."""

    def __init__(self, data: Mapping[str, Any], where: str) -> None:
        self.data = data
        self.where = where

    def error(self, path: str, problem: str) -> InputError:
        return InputError(f"{self.where}: {path} {problem}; {RECREATE}")

    def get(self, path: str) -> Any:
        """The value at a dotted path; `_MISSING` where a key is absent or a level is null."""
        value: Any = self.data
        walked: list[str] = []
        for key in path.split("."):
            if value is None:
                return _MISSING
            if not isinstance(value, Mapping):
                raise self.error(".".join(walked), f"is {_shown(value)}, not an object")
            walked.append(key)
            value = value.get(key, _MISSING)
            if value is _MISSING:
                return _MISSING
        return value

    def mapping(self, path: str) -> Mapping[str, Any] | None:
        """An object, or None where it is absent or null."""
        value = self.get(path)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, Mapping):
            raise self.error(path, f"is {_shown(value)}, not an object")
        return value

    def required(self, path: str) -> Any:
        """The value at `path`, which must be there and not null: the typed reads below give
        their default for a null, and a required count that is None crashed the planner's sums."""
        value = self.get(path)
        if value is _MISSING:
            raise InputError(f"{self.where} is missing field '{path}'; {RECREATE}")
        if value is None:
            raise self.error(path, "is null")
        return value

    def whole(self, path: str, value: Any = _MISSING, *, least: int | None = 0, default: Any = None) -> Any:
        """A whole number from `least` to 2^63 - 1 (a float that is whole, 10.0, counts; 10.5,
        '10', true and 1e400 do not); `default` where absent or null. `least=None` takes any
        sign, for counts whose sum is checked later with a clearer message."""
        if value is _MISSING:
            value = self.get(path)
        if value is _MISSING or value is None:
            return default
        number = integral(value, floats=True)
        if number is None:
            raise self.error(path, f"is {_shown(value)}, not a whole number")
        if least is not None and number < least:
            raise self.error(path, f"is {number}: must be {least} or more")
        if abs(number) > MAX_WHOLE:
            raise self.error(path, f"is {_shown(value)}: more than {MAX_WHOLE:,} (2^63 - 1)")
        return number

    def number(self, path: str, value: Any = _MISSING) -> float | None:
        """A finite number of at least 0 and at most 2^63 - 1 (a mean, a quantile), or None."""
        if value is _MISSING:
            value = self.get(path)
        if value is _MISSING or value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise self.error(path, f"is {_shown(value)}, not a finite number")
        if not 0 <= value <= MAX_WHOLE:
            raise self.error(path, f"is {_shown(value)}: must be from 0 to {MAX_WHOLE:,}")
        return float(value)

    def flag(self, path: str, default: bool) -> bool:
        value = self.get(path)
        if value is _MISSING or value is None:
            return default
        if not isinstance(value, bool):
            raise self.error(path, f"is {_shown(value)}, not true or false")
        return value

    def text(self, path: str) -> str | None:
        value = self.get(path)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, str):
            raise self.error(path, f"is {_shown(value)}, not a string")
        return value

    def items(self, path: str) -> list[Any]:
        """A JSON array ([] where absent or null)."""
        value = self.get(path)
        if value is _MISSING or value is None:
            return []
        if not isinstance(value, list):
            raise self.error(path, f"is {_shown(value)}, not a list")
        return value

    def texts(self, path: str) -> list[str]:
        values = self.items(path)
        if not all(isinstance(v, str) for v in values):
            raise self.error(path, f"is {_shown(values)}, not a list of strings")
        return values

    def length_table(self, path: str) -> tuple[tuple[int, int], ...] | None:
        """`[[length, samples], ...]` of whole numbers, None where absent. Its token total fits
        the core's 64-bit sums."""
        value = self.get(path)
        if value is _MISSING or value is None:
            return None
        if not isinstance(value, list):
            raise self.error(path, f"is {_shown(value)}, not a [[length, samples], ...] table")
        table = []
        for i, entry in enumerate(value):
            if not isinstance(entry, list) or len(entry) != 2 or None in entry:  # whole() takes null as absent
                raise self.error(f"{path}[{i}]", f"is {_shown(entry)}, not a [length, samples] pair")
            table.append((self.whole(f"{path}[{i}][0]", entry[0]), self.whole(f"{path}[{i}][1]", entry[1])))
        if sum(n for _, n in table) > MAX_WHOLE or sum(length * n for length, n in table) > MAX_WHOLE:
            raise self.error(path, f"sums to more than {MAX_WHOLE:,} samples or tokens")
        return tuple(table)
