"""A JSON file's number labels compared as written. polars reads a key holding whole numbers and
fractions (12345678901234567, 12345678901234568 and 0.5) as one Float64 column, where the two
whole numbers are one float, 1.2345678901234568e16: two labels became one, and the duplicates
that disagree on them showed no conflict. Such a label column is read as text instead
(`Part.as_text`: JSON lines and JSON arrays): polars writes each number it reads into a string
column as its value, a whole number with every digit, and `columns.label_expression` gives each
the text a float label has where a float holds the number, its digits where it does not.

Read as text, a value of another kind (a string, a list) in lines past a JSON lines file's head,
which the column's type came from, would read as its JSON text: it is refused, as the float
column refused it (`numbers_checked`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import polars as pl

from ..errors import InputError
from .columns import resolve_column
from .json_numbers import has_float
from .parts import Part


def text_read(part: Part, label: str) -> Part | None:
    """The part to read `label` from, as text, where its values are floats (or lists of them)
    and `part` reads them as text (JSON); None where it is read as it is."""
    resolved = resolve_column(part.schema, label)
    if part.as_text is None or resolved is None or not has_float(resolved[2]):
        return None
    return part.as_text(resolved[0])


def numbers_checked(part: Part, read: Part, label: str, chosen: Sequence[str], frames: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """`frames` (of `read`, the text read of `part`), refused at the first whose label holds a
    value that is no number: the line `part` names (`Part.fault`, which reads it as numbers), or
    the label column alone."""
    resolved = resolve_column(read.schema, label)
    if resolved is None:  # the reader names a missing column
        yield from frames
        return
    _, values, dtype = resolved
    if isinstance(dtype, (pl.List, pl.Array)):
        values = values.explode()
    other = (values.is_not_null() & values.cast(pl.Float64, strict=False).is_null()).any()
    for frame in frames:
        if frame.select(other).item():
            fault = part.fault(chosen) if part.fault is not None else None
            raise fault or InputError(
                f"{part.name}: label column {label!r} holds numbers and other values; give every {label!r} value one "
                "JSON type (all strings, for example)"
            )
        yield frame
