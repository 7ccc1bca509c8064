"""The planner's numbers (--samples 2,000, --params 7B, --epochs 1.5) read by the one rule of
`epochplan.numbers`, each refusal naming the option it came from.

A count is read exactly (as a decimal, never through a float) and is at most 2^63 - 1; so is
every count the plan derives from them (`within_ceiling`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

from ..defaults import MAX_WHOLE
from ..errors import InputError
from ..numbers import BadNumber, check_ceiling, read_decimal, read_whole
from .refusals import DataCannotFill


@contextmanager
def _naming(what: str) -> Iterator[None]:
    """A refused number as the one-line input error naming `what` (the option)."""
    try:
        yield
    except BadNumber as exc:
        raise exc.naming(what) from None


def parse_count(value: Any, what: str) -> float:
    """Read 7e9, '7B', '350M', '1.3b', '1,000' or a number (at most 2^63 - 1); raise InputError otherwise."""
    with _naming(what):
        number = read_decimal(value)
        check_ceiling(number, value)
    return float(number)


def non_negative_int(value: Any, what: str) -> int:
    """A whole number of at least 0 (a token overhead may be none)."""
    with _naming(what):
        return read_whole(value, 0)


def positive_int(value: Any, what: str) -> int:
    """A whole number of at least 1: any integral number (numpy's too), or text such as '2,000' or '2e3'."""
    with _naming(what):
        return read_whole(value, 1)


def _positive(value: Any, what: str) -> Decimal:
    """`value` read as a decimal number greater than 0 and under the ceiling, or refused naming `what`."""
    with _naming(what):
        number = read_decimal(value)
        if number <= 0:
            raise InputError(f"{what}: must be greater than 0, got {value}")
        check_ceiling(number, value)
    return number


def positive_float(value: Any, what: str) -> float:
    return float(_positive(value, what))


def positive_number(value: Any, what: str) -> int | float:
    """A number greater than 0, as an int when it is whole (a token count past 2^53, where a float
    holds only every other whole number: 9,007,199,254,740,993 stays itself), else a float."""
    number = _positive(value, what)
    return int(number) if number == number.to_integral_value() else float(number)


#: Most epochs `--epochs` takes: from 2^53 a float (the plan's `epochs`) holds only every other
#: whole number, so the steps and tokens of `--epochs 9007199254740993` were those of one epoch less.
MAX_EPOCHS = 2**53 - 1


def within_ceiling(number: int, what: str, fix: str) -> int:
    """A count the plan derived (sequences, steps) checked against the same ceiling as the ones
    given: the core and torch hold them in 64 bits."""
    if number > MAX_WHOLE:  # the data's numbers and the setup together: an audit still keeps its outputs
        raise DataCannotFill(f"{what} would be {number:.3g}, more than {MAX_WHOLE:,} (2^63 - 1); {fix}")
    return number
