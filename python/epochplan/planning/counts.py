"""Read counts as people write them (7e9, '7B', '350M', '1,000,000', '2_000') into checked numbers.

A number is read exactly (as a decimal, never through a float), so '1e30' is 10^30 and not
1000000000000000019884624838656, and every count must be at most `MAX_WHOLE` (2^63 - 1): the
core counts in 64-bit integers, torch's samplers in int64, and no real run comes near it.
"""

from __future__ import annotations

import numbers
import operator
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ..defaults import MAX_WHOLE
from ..errors import InputError

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
# '1.000' is one in English and a thousand in German: a whole-number option refuses it.
_AMBIGUOUS_WHOLE_RE = re.compile(r"-?[0-9]{1,3}\.[0-9]{3}")
_CEILING = f"at most {MAX_WHOLE:,} (2^63 - 1)"


def _unreadable(text: str, what: str) -> InputError:
    """The one-line error for a count that does not parse, with the spelling it likely meant."""
    if _DECIMAL_COMMA_RE.fullmatch(text):
        return InputError(f"{what} {text}: use a dot for decimals ({text.replace(',', '.')}); a comma only separates thousands (1,000,000)")
    if _DOT_GROUPS_RE.fullmatch(text):
        return InputError(f"{what} {text}: write thousands without dots ({text.replace('.', '')} or {text.replace('.', ',')})")
    if "," in text or "_" in text:
        return InputError(
            f"{what} {text}: a comma or underscore only separates thousands, in groups of three digits "
            "(1,000,000 or 1_000_000); use a dot for decimals"
        )
    return InputError(f"{what}: cannot read {text!r} as a count; write e.g. 7e9, 7B, 350M or 1,000,000")


def _decimal(value: Any, what: str) -> Decimal:
    """`value` as an exact decimal: a number, or text as people write counts; finite, signed."""
    if isinstance(value, bool):  # before Integral: True is an int to Python, not a count
        raise InputError(f"{what}: expected a number, got {value!r}")
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
            raise _unreadable(text, what)
        digits = match["whole"].replace(match["sep"] or ",", "") + (match["fraction"] or "") + (match["exponent"] or "")
        sign, kept, exponent = Decimal(match["sign"] + digits).as_tuple()
        # The suffix moves the exponent: exact, where multiplying would round to 28 digits.
        number = Decimal((sign, kept, int(exponent) + _SUFFIX.get(match["suffix"].lower(), 0)))
    else:
        raise InputError(f"{what}: expected a number, got {value!r}")
    if not number.is_finite():
        raise InputError(f"{what}: {value!r} is not a finite number")
    return number


def _at_most_ceiling(number: Decimal, shown: Any, what: str) -> None:
    if number > MAX_WHOLE:
        raise InputError(f"{what}: {shown} is too large; give {_CEILING}")


def parse_count(value: Any, what: str) -> float:
    """Read 7e9, '7B', '350M', '1.3b', '1,000' or a number (at most 2^63 - 1); raise InputError otherwise."""
    number = _decimal(value, what)
    _at_most_ceiling(number, value, what)
    return float(number)


def _whole(value: Any, what: str, least: int, range_text: str) -> int:
    if isinstance(value, str) and _AMBIGUOUS_WHOLE_RE.fullmatch(value.strip()):
        text = value.strip()
        raise InputError(
            f"{what} {text}: ambiguous (a dot before three digits may separate thousands); "
            f"write {text.replace('.', '')} or {text.replace('.', ',')} for thousands, {text.split('.')[0]} for a single one"
        )
    number = _decimal(value, what)
    if number != number.to_integral_value():
        raise InputError(f"{what}: expected a whole number, got {value!r}")
    if number < least:
        raise InputError(f"{what}: {range_text}, got {value}")
    _at_most_ceiling(number, value, what)
    return int(number)


def non_negative_int(value: Any, what: str) -> int:
    """A whole number of at least 0 (a token overhead may be none)."""
    return _whole(value, what, 0, "must be 0 or more")


def positive_int(value: Any, what: str) -> int:
    """A whole number of at least 1: any integral number (numpy's too), or text such as '2,000' or '2e3'."""
    return _whole(value, what, 1, "must be at least 1")


def positive_float(value: Any, what: str) -> float:
    number = _decimal(value, what)
    if number <= 0:
        raise InputError(f"{what}: must be greater than 0, got {value}")
    _at_most_ceiling(number, value, what)
    return float(number)


def within_ceiling(number: int, what: str, fix: str) -> int:
    """A count the plan derived (sequences, steps) checked against the same ceiling as the ones
    given: the core and torch hold them in 64 bits."""
    if number > MAX_WHOLE:
        raise InputError(f"{what} would be {number:.3g}, more than {MAX_WHOLE:,} (2^63 - 1); {fix}")
    return number
