"""CSV and TSV files whose bytes are not UTF-8 (Latin-1 or Windows-1252, as Excel and older tools
save them): refused naming the first bad line and how to re-encode the file. The readers say less:
polars "invalid utf-8 sequence", pyarrow "CSV conversion error to string", or it types the column
as bytes, which then was "no string column to audit"."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import polars as pl

from ..errors import InputError
from .parts import Part, open_stream
from .paths import UNPACK, Location


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


def utf8_fault(stream: Any) -> str | None:
    """Where a file's bytes first stop being UTF-8 ("line 2, byte 4 (0xe9)"), or None. Read only
    once a CSV or TSV reader failed on them, or typed a column as bytes: polars says "invalid
    utf-8 sequence" without a line, pyarrow "CSV conversion error to string"."""
    number, rest = 1, b""
    while True:
        block = stream.read(1 << 20)
        data = rest + block
        cut = data.rfind(b"\n") + 1 if block else len(data)  # whole lines: a character is not cut in two
        whole, rest = data[:cut], data[cut:]
        try:
            whole.decode("utf-8")
        except UnicodeDecodeError as error:
            start = whole.rfind(b"\n", 0, error.start) + 1
            line = number + whole.count(b"\n", 0, error.start)
            return f"line {line}, byte {error.start - start + 1} (0x{whole[error.start]:02x})"
        number += whole.count(b"\n")
        if not block:
            return None


def not_utf8_error(name: str, where: str, compression: str | None) -> InputError:
    """The error for a CSV or TSV file that is not UTF-8 `where` (`utf8_fault`): most likely
    Latin-1 or Windows-1252, as Excel and older tools save it."""
    unpack = UNPACK.get(compression or "")
    # Bytes 0x80-0x9f are control characters in Latin-1 but Windows-1252's curly quotes and
    # dashes: re-encoded as Latin-1 they would become invisible controls, silently.
    found = re.search(r"\(0x([0-9a-f]{2})\)", where)
    windows = found is not None and 0x80 <= int(found.group(1), 16) <= 0x9F
    source, named = ("cp1252", "Windows-1252") if windows else ("latin1", "Latin-1")
    command = f"{unpack}iconv -f {source} -t utf-8" if unpack else f"iconv -f {source} -t utf-8 FILE"
    suffix = ".tsv" if ".tsv" in name.lower() else ".csv"
    return InputError(
        f"{name}: not UTF-8 at {where}; re-encode the file as UTF-8, e.g. {command} > utf8{suffix} "
        f"(if it is {named}; Excel: save as 'CSV UTF-8')"
    )


def refuse_not_utf8(location: Location, compression: str | None) -> None:
    """Refuse a CSV or TSV file whose bytes are not UTF-8, naming the first bad line; nothing
    when they are (or the file cannot be read again)."""
    try:
        with open_stream(location, compression) as stream:
            where = utf8_fault(stream)
    except Exception:  # an http(s) file (no stream here), a broken compressed stream
        return
    if where is not None:
        raise not_utf8_error(str(location), where, compression)


def may_be_encoding(error: BaseException) -> bool:
    """Whether a reader's error can come of bytes that are not UTF-8 (polars: "invalid utf-8
    sequence"; pyarrow: "CSV conversion error to string … invalid UTF8"): only then is the file
    read again to find the line. Other failures (a quoting error) are reported at once, with no
    second pass over a large or remote file."""
    text = str(error).lower()
    return any(word in text for word in ("utf", "conversion", "decod", "encod"))


def utf8_checked(part: Part, location: Location, compression: str | None) -> Part:
    """`part`, whose reads that fail on bytes that are not UTF-8 say which line and how to fix it."""
    read = part.read

    def checked(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        try:
            yield from read(columns, batch_rows)
        except Exception as e:
            if may_be_encoding(e):
                refuse_not_utf8(location, compression)
            raise

    part.read = checked
    return part
