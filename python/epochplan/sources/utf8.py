"""CSV, TSV and text files whose bytes are not UTF-8 (Latin-1 or Windows-1252, as Excel and older
tools save them, Shift-JIS, GBK, Windows-1251 …): refused naming the first bad line and how to
re-encode the file, in the encoding its bytes read as (`encodings`) or, when they do not tell, how
to find it. The readers say less: polars "invalid utf-8 sequence", pyarrow "CSV conversion error
to string", or it types the column as bytes, which then was "no string column to audit"."""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import polars as pl

from ..errors import InputError
from .parts import Part, open_stream
from .paths import UNPACK, Location
from .sniff import NOT_UTF8


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


#: The bytes from the first bad line on that `likely_encodings` judges the file's encoding by.
SAMPLE_BYTES = 16 << 10
_HIGH = bytes(range(0x80, 0x100))


class Fault(NamedTuple):
    """Where a file's bytes first stop being UTF-8, and what tells its encoding."""

    where: str  # "line 2, byte 4 (0xe9)"
    sample: bytes  # the bytes from the start of that line on, up to SAMPLE_BYTES
    offset: int = 0  # the sample's offset in the file: which bytes pair up as UTF-16 characters
    utf8_before: int = 0  # bytes of UTF-8 characters past ASCII in the lines before


def _high_bytes(data: bytes) -> int:
    """Bytes of `data` past ASCII (of UTF-8 characters, in bytes that are UTF-8)."""
    return 0 if data.isascii() else len(data) - len(data.translate(None, _HIGH))


def _line_ends(data: bytes, text: bool) -> int:
    """Line ends in `data`: `\n`, and for a text file's lines also a lone `\r`."""
    return data.count(b"\n") + (data.count(b"\r") - data.count(b"\r\n") if text else 0)


def utf8_fault(stream: Any, text: bool = False) -> Fault | None:
    """Where a file's bytes first stop being UTF-8, or None: its lines end in `\n`, or also in
    a lone `\r` with `text` (`_lines_frame`). Read only once a reader failed on the bytes, typed
    a column as bytes, or found a text file's block not UTF-8: polars says "invalid utf-8
    sequence" without a line, pyarrow "CSV conversion error to string"."""
    number, rest, offset, before = 1, b"", 0, 0
    while True:
        block = stream.read(1 << 20)
        data = rest + block
        # Whole lines: a character is not cut in two, nor a `\r\n`.
        cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1) if text else -1) + 1 if block else len(data)
        whole, rest = data[:cut], data[cut:]
        try:
            whole.decode("utf-8")
        except UnicodeDecodeError as error:
            start = max(whole.rfind(b"\n", 0, error.start), whole.rfind(b"\r", 0, error.start) if text else -1) + 1
            line = number + _line_ends(whole[: error.start], text)
            sample = (whole + rest + stream.read(SAMPLE_BYTES))[start : start + SAMPLE_BYTES]
            where = f"line {line}, byte {error.start - start + 1} (0x{whole[error.start]:02x})"
            return Fault(where, sample, offset + start, before + _high_bytes(whole[:start]))
        number += _line_ends(whole, text)
        offset += len(whole)
        before += _high_bytes(whole)
        if not block:
            return None


def _valid_utf8(data: bytes) -> bool:
    """Whether `data` is UTF-8, checked by polars (simdutf8: a tenth of the time Python's
    decoding takes for text past ASCII, and no string made of it)."""
    try:
        pl.Series([data], dtype=pl.Binary).cast(pl.String, strict=True)
    except pl.exceptions.ComputeError:
        return False
    return True


def utf8_lines(blocks: Iterable[bytes], location: Location, compression: str | None) -> Iterator[bytes]:
    """A text file's `blocks` of whole lines, refused at the first that is not UTF-8 naming its
    line and how to re-encode the file, as a CSV file is — not the core's "column 'text': row 0 …
    the column is typed as string", a column the user never typed."""
    for block in blocks:
        if not block.isascii() and not _valid_utf8(block):
            refuse_not_utf8(location, compression, text=True)
        yield block


def _suffix(name: str) -> str:
    lower = name.lower()
    return next((suffix for suffix in (".tsv", ".csv", ".jsonl", ".ndjson", ".json") if suffix in lower), ".txt")


def json_encoding_error(name: str, stream: Any, where: str) -> InputError | None:
    """For a JSON or JSON lines file whose format breaks `where` (`sniff.json_fault`) because its
    bytes stop being UTF-8: the error a CSV file gets (`not_utf8_error`: the encoding they read
    as, how to re-encode the whole file), not "fix or drop that line" — a file in Shift-JIS or
    Windows-1251 fails at its first line with any such text. None for another fault."""
    from .paths import file_format

    if not where.endswith(NOT_UTF8):
        return None
    fault = utf8_fault(stream)
    return None if fault is None else not_utf8_error(name, fault, file_format(name)[1])


def json_error(name: str, data: bytes, where: str) -> InputError:
    """The error for a JSON file (one document, its bytes `data`) whose format breaks `where`."""
    return json_encoding_error(name, io.BytesIO(data), where) or InputError(f"{name}: not valid JSON ({where}); fix the file")


def not_utf8_error(name: str, fault: Fault, compression: str | None) -> InputError:
    """The error for a CSV, TSV or text file that is not UTF-8 (`utf8_fault`): the encoding its
    bytes from the bad line on read as and the command that re-encodes the file from it; a list
    to try where they read as several; how to find the encoding out where they read as none. A
    file with two or more UTF-8 characters past ASCII in the lines before (a file in another
    encoding fails at its first line with any), or mostly such in the sample, is UTF-8 but for a
    few lines, which re-encoding it whole would garble."""
    from .encodings import likely_encodings, mixes_utf8  # its tables and patterns only for an error

    where = fault.where
    unpack = UNPACK.get(compression or "", "")
    suffix = _suffix(name)
    excel = "; Excel: save as 'CSV UTF-8'" if suffix in (".csv", ".tsv") else ""

    def iconv(source: str) -> str:
        return f"{unpack}iconv -f {source} -t utf-8" if unpack else f"iconv -f {source} -t utf-8 FILE"

    if fault.utf8_before >= 4 or mixes_utf8(fault.sample):
        return InputError(
            f"{name}: not UTF-8 at {where}, though most of its other bytes are: re-encoding the whole file would "
            f"garble its UTF-8 text; fix that line and any other such ({unpack}LC_ALL=C.UTF-8 grep -naxv '.*'"
            f"{'' if unpack else ' FILE'} lists them)"
        )
    found = likely_encodings(fault.sample, fault.offset)
    if len(found) == 1 and found[0].script == "latin":
        return InputError(
            f"{name}: not UTF-8 at {where}; re-encode the file as UTF-8, e.g. {iconv(found[0].iconv)} > utf8{suffix} "
            f"(if it is {found[0].named}, Western European text, as its bytes read; Central European text is "
            f"usually cp1250, Turkish cp1254{excel})"
        )
    if len(found) == 1:
        return InputError(
            f"{name}: not UTF-8 at {where}; its bytes read as {found[0].named}: re-encode the file as UTF-8, "
            f"e.g. {iconv(found[0].iconv)} > utf8{suffix}{excel}"
        )
    look = f"{iconv('ENCODING')} | head"
    if found:
        names = " or ".join(f"{e.named} ({e.iconv})" for e in found)
        return InputError(
            f"{name}: not UTF-8 at {where}; its bytes read as {names}: see which is right with {look}, "
            f"then re-encode the file as UTF-8: {iconv('ENCODING')} > utf8{suffix}{excel}"
        )
    detect = f"{unpack}file -i -" if unpack else "file -i FILE"
    return InputError(
        f"{name}: not UTF-8 at {where}, and its bytes do not tell which encoding it is in; find out ({detect}, "
        f"or ask whoever wrote it), check with {look}, then re-encode the file as UTF-8: "
        f"{iconv('ENCODING')} > utf8{suffix}{excel}"
    )


def refuse_not_utf8(location: Location, compression: str | None, text: bool = False) -> None:
    """Refuse a CSV, TSV (or, `text`, a text) file whose bytes are not UTF-8, naming the first
    bad line; nothing when they are (or the file cannot be read again)."""
    try:
        with open_stream(location, compression) as stream:
            fault = utf8_fault(stream, text)
    except Exception:  # an http(s) file (no stream here), a broken compressed stream
        return
    if fault is not None:
        raise not_utf8_error(str(location), fault, compression)


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
