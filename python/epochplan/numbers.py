"""Whole numbers and counts, read by one rule wherever epochplan takes one: the planner's counts
(`--samples 2,000`, `--batch 2k`, `--params 7B`), the check's thresholds (`--min-unique-samples
1e3`, `--max-leaked-rows`), their configuration and environment values, and the integral
arguments of the Python API (numpy's integers too).

Text is read exactly (as a decimal, never through a float), so '1e30' is 10^30 and not
1000000000000000019884624838656, and every whole number is at most `MAX_WHOLE` (2^63 - 1): the
core counts in 64-bit integers, torch's samplers in int64, and no real run comes near it.

A refusal is a `BadNumber`, a ValueError whose text is the reason alone: the configuration puts
the key and the value in front of it (`--max-leaked-rows 2,5: use a dot for decimals ...`), and
the planner names its option with `naming(what)`.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from .defaults import MAX_WHOLE
from .errors import InputError

CEILING = f"at most {MAX_WHOLE:,} (2^63 - 1)"
_SUFFIX = {"k": 3, "m": 6, "b": 9, "g": 9, "t": 12}  # powers of ten
# A comma or underscore only between groups of three digits, the same one throughout (1,000,000
# or 1_000_000): '2,5' is a decimal comma and '1,3B' 1.3 billion, which reading the separator
# away made 25 and 13B.
_NUMBER_RE = re.compile(
    r"(?P<sign>-?)(?P<whole>[0-9]{1,3}(?P<sep>[,_])[0-9]{3}(?:(?P=sep)[0-9]{3})*|[0-9]+)"
    r"(?P<fraction>\.[0-9]*)?(?P<exponent>e[+-]?[0-9]+)?\s*(?P<suffix>[kmbgt]?)",
    re.IGNORECASE,
)
_DECIMAL_COMMA_RE = re.compile(r"-?[0-9]+,[0-9]+(?:e[+-]?[0-9]+)?\s*[kmbgt]?", re.IGNORECASE)
_DOT_GROUPS_RE = re.compile(r"-?[0-9]{1,3}(?:\.[0-9]{3}){2,}")
# '1.000' is one in English and a thousand in German: a whole number refuses it.
_AMBIGUOUS_WHOLE_RE = re.compile(r"-?[0-9]{1,3}\.[0-9]{3}")


class Written(float):
    """A float as a TOML file wrote it (`1.000`, `1e3`, `2_000.0`): the number, and in `text` its
    spelling, which the float has lost. `read_whole` and `read_decimal` read the spelling, so a
    file's `min-unique-samples = 1.000` is refused as the flag `--min-unique-samples 1.000` is,
    where the float 1.0 was taken as 1. (TOML's `+` sign is left out of the spelling; TOML has
    no other sign for a float. Its `_` between any two digits is left out too, as TOML reads it:
    `1_0.0` is 10 there, as the integer `1_0` is.)"""

    text: str

    def __new__(cls, text: str) -> Written:
        number = super().__new__(cls, text)
        number.text = text.removeprefix("+").replace("_", "")
        return number

    def __str__(self) -> str:
        return self.text


def _as_written(value: Any) -> Any:
    return value.text if isinstance(value, Written) else value


class BadNumber(ValueError):
    """Why a value is not the number asked for. `str()` is the reason, written to follow the
    option and the value (`KEY VALUE: reason`); `detail`, where given, is the planner's sentence
    with the value inside it (`1e30 is too large; ...`), which reads better after the option alone."""

    def __init__(self, reason: str, shown: str, detail: str | None = None) -> None:
        super().__init__(reason)
        self.reason, self.shown, self.detail = reason, shown, detail

    def naming(self, what: str) -> InputError:
        """The one-line input error naming the option (`--epochs 2,5: use a dot ...`)."""
        return InputError(f"{what}: {self.detail}" if self.detail else f"{what} {self.shown}: {self.reason}")


def integral(value: Any, *, floats: bool = False) -> int | None:
    """`value` as an int when it is an integral number: an int or any numpy integer (np.int64
    is no `int`), never a bool (True is an int to Python, not a count; numpy's bool_ is no
    Integral). With `floats`, a finite float that is whole counts too (another JSON writer's
    4419.0). None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Integral):
        return operator.index(value)
    if floats and isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return None


def whole_within(value: Any, least: int = 0, most: int = MAX_WHOLE, *, floats: bool = False) -> int | None:
    """`integral(value)` when it lies from `least` to `most` (by default 0 to 2^63 - 1), else
    None: the caller says which range, in its own words."""
    number = integral(value, floats=floats)
    return number if number is not None and least <= number <= most else None


def _spelling(text: str, kind: str) -> BadNumber:
    """The refusal of text that does not parse, with the spelling it likely meant."""
    if _DECIMAL_COMMA_RE.fullmatch(text):
        reason = f"use a dot for decimals ({text.replace(',', '.')}); a comma only separates thousands (1,000,000)"
        return BadNumber(reason, text)
    if _DOT_GROUPS_RE.fullmatch(text):
        return BadNumber(f"write thousands without dots ({text.replace('.', '')} or {text.replace('.', ',')})", text)
    if "," in text or "_" in text:
        reason = (
            "a comma or underscore only separates thousands, in groups of three digits (1,000,000 or 1_000_000); use a dot for decimals"
        )
        return BadNumber(reason, text)
    examples = "2000, 2,000, 2k or 2e3" if kind == "whole number" else "7e9, 7B, 350M or 1,000,000"
    return BadNumber(f"must be a {kind}, e.g. {examples}", text, f"cannot read {text!r} as a count; write e.g. {examples}")


def _decimal(value: Any, kind: str) -> Decimal:
    if isinstance(value, bool):  # before Integral: True is an int to Python, not a count
        raise BadNumber(f"must be a {kind}, not true or false", repr(value), f"expected a {kind}, got {value!r}")
    if isinstance(value, numbers.Integral):  # int, numpy's integers
        number = Decimal(operator.index(value))
    elif isinstance(value, (numbers.Real, Decimal)):
        try:  # a float's shortest repr is the number as written (1.1, not 1.100000000000000088…)
            number = Decimal(str(value))
        except InvalidOperation:
            number = Decimal(float(value))
    elif isinstance(value, str):
        text = value.strip()
        match = _NUMBER_RE.fullmatch(text)
        if not match:
            raise _spelling(text, kind)
        digits = match["whole"].replace(match["sep"] or ",", "") + (match["fraction"] or "") + (match["exponent"] or "")
        sign, kept, exponent = Decimal(match["sign"] + digits).as_tuple()
        # The suffix moves the exponent: exact, where multiplying would round to 28 digits.
        number = Decimal((sign, kept, int(exponent) + _SUFFIX.get(match["suffix"].lower(), 0)))
    else:
        raise BadNumber(f"must be a {kind}", repr(value), f"expected a {kind}, got {value!r}")
    if not number.is_finite():
        raise BadNumber("must be a finite number", repr(value), f"{value!r} is not a finite number")
    return number


def read_decimal(value: Any) -> Decimal:
    """`value` as an exact decimal: a number, or text as people write counts (7e9, '7B', '350M',
    '1.3b', '1,000,000', '2_000'); finite and signed, its range the caller's to check."""
    return _decimal(_as_written(value), "number")


def check_ceiling(number: Decimal | int, value: Any) -> None:
    """Refuse a number past 2^63 - 1; `value` is the number as given, for the message."""
    if number > MAX_WHOLE:
        raise BadNumber(f"too large; give {CEILING}", str(value), f"{value} is too large; give {CEILING}")


def read_whole(value: Any, least: int = 0) -> int:
    """A whole number from `least` to 2^63 - 1: any integral number (numpy's too), a float that
    is whole, or text such as '2,000', '2_000', '2k' or '2e3'. Text with a dot before three
    digits ('1.000') is refused as ambiguous, as are decimal commas ('2,5') and other groupings
    ('1,00,000'). A float written in a file (`Written`) is read as it was spelled."""
    value = _as_written(value)
    if isinstance(value, str) and _AMBIGUOUS_WHOLE_RE.fullmatch(text := value.strip()):
        reason = (
            "ambiguous (a dot before three digits may separate thousands); "
            f"write {text.replace('.', '')} or {text.replace('.', ',')} for thousands, {text.split('.')[0]} for a single one"
        )
        raise BadNumber(reason, text)
    number = _decimal(value, "whole number")
    if number != number.to_integral_value():
        raise BadNumber("must be a whole number", str(value), f"expected a whole number, got {value!r}")
    if number < least:
        at_least = "must be 0 or more" if least == 0 else f"must be at least {least}"
        raise BadNumber(at_least, str(value), f"{at_least}, got {value}")
    check_ceiling(number, value)
    return int(number)
