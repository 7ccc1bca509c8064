"""Read back the text of a few rows by number (cluster previews)."""

from __future__ import annotations

from ..errors import InputError
from .columns import TEXT, text_expression
from .formats import Source, first_line


def preview_rows(source: Source, columns: list[str], rows: list[int]) -> dict[int, str | None]:
    """The text of a few rows by number. Each is its own slice so Parquet reads one row group."""
    found: dict[int, str | None] = {}
    for row in rows:
        try:
            frame = source.frame.select(text_expression(columns)).slice(row, 1).collect()
        except Exception as e:  # polars raises many types for unreadable input
            raise InputError(f"{source.description}: cannot read row {row} ({first_line(e)})") from None
        found[row] = frame[TEXT][0] if frame.height else None
    return found
