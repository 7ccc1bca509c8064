"""A line file (JSON lines, text) as the bytes it holds: whole lines a block at a time for the
readers to parse, and a JSON lines file's rows as the lines they were written as, for `dedup` to
copy the lines it keeps rather than write back what polars made of them (one type per key: a
list turned into its JSON text, `1` into `1.0`, a key only other lines have added as null)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from .parts import open_stream
from .paths import Location
from .sniff import BOM

#: Bytes of a line file read (and of JSON lines parsed) at once.
BLOCK_BYTES = 8 << 20
#: What polars' JSON lines reader skips as a blank line (no row): only these characters. A line of
#: other whitespace (a form feed, a no-break space) is an error there.
_BLANK = b" \t\r\n"


def line_blocks(location: Location, compression: str | None, text: bool = False) -> Iterator[bytes]:
    """Whole lines of a file (JSON lines, text), about BLOCK_BYTES at a time, without a UTF-8
    byte order mark (`stream_blocks`)."""
    with open_stream(location, compression) as stream:
        yield from stream_blocks(stream, text)


def stream_blocks(stream: Any, text: bool = False) -> Iterator[bytes]:
    """Whole lines of an open stream, about BLOCK_BYTES at a time, without a UTF-8 byte order
    mark; a last line without a line break comes last, as it is (JSON lines: unless blank).
    `text`: a lone `\r` ends a line too (`_lines_frame`), so a file of classic Mac OS line ends
    streams as others do; a block never ends between the `\r` and `\n` of one line end."""
    rest = stream.read(len(BOM)).removeprefix(BOM)
    pending: list[bytes] = []  # a line longer than a block so far, joined once it ends
    while block := stream.read(BLOCK_BYTES):
        block = rest + block
        cut = max(block.rfind(b"\n"), block.rfind(b"\r", 0, len(block) - 1) if text else -1) + 1
        if cut == 0:
            pending.append(block)
            rest = b""
            continue
        whole, pending, rest = b"".join([*pending, block[:cut]]), [], block[cut:]
        yield whole
    rest = b"".join([*pending, rest])
    if rest if text else rest.strip():
        yield rest


def row_lines(location: Location, compression: str | None) -> Iterator[list[bytes]]:
    """The rows of a JSON lines file as the lines they were written as, a block's worth at a
    time: each with its own line break (`\\n` or `\\r\\n`; a last line without one gets `\\n`,
    so that lines of several files follow one another), in row order. Row n is the file's n-th
    line that is not blank, as polars' reader numbers rows: it makes no row of a line of spaces,
    tabs or a lone `\\r`, wherever it is."""
    for block in line_blocks(location, compression):
        yield [line + b"\n" for line in block.split(b"\n") if line.strip(_BLANK)]
