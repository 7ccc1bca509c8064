"""CSV and TSV lines with another number of fields than the header: refused naming the line and
the fix. polars' reader (plain local files and hf:// patterns; an http(s) or hf file is read as its local copy) pads a short line with nulls and, reading
only the audited columns, drops a long line's extra fields without a word: `1,hello, world`
under `id,text` was the text `hello`, and a label column shifted. pyarrow's reader (compressed
and object-store files) refuses such a line without saying where ("Expected 2 columns, got 3").

The check is pyarrow's parser (`field_count_fault`): the reader of compressed and object-store
files checks as it reads, and names the line once it stopped at one; a plain local file, which polars reads, is parsed by pyarrow in a
thread beside its first read (`fields_checked`: about 1.3 s of CPU per GB, off the critical
path). pyarrow ends a line at every carriage return, polars only at a line feed: a plain file
with `\n` line ends that holds a lone `\r` in a value, where pyarrow found a line, is parsed again
as polars reads it (`_fault_as_polars_reads`: Python's csv module, the lone `\r`s made
spaces; a pass at the csv module's speed, about 25 s of CPU per GB, for such files only)."""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
import re
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, NamedTuple

from ..errors import InputError
from .paths import Location

if TYPE_CHECKING:
    import polars as pl

    from .parts import Part

#: The bytes pyarrow's checking pass parses at a time.
CHECK_BLOCK_BYTES = 4 << 20
#: pyarrow's error for such a line, read one thread: "Row #5: Expected 3 columns, got 4: 3,a,b,c".
_ROW = re.compile(r"Row #(\d+): Expected (\d+) columns, got (\d+): (.*)", re.DOTALL)


class InvalidRow(NamedTuple):
    """A line with another number of fields than the header, as pyarrow names it."""

    expected_columns: int
    actual_columns: int
    number: int  # pyarrow's 1-based row number: a value spanning lines counts once
    text: str


def fields_checked(part: Part, check: Callable[[threading.Event], InputError | None]) -> Part:
    """`part`, whose first read starts `check` (`field_count_fault`) in a thread beside it; a
    read raises its error at the first batch after the check found one, or in place of the
    reader's own error, and a whole read waits for the check at its end. A read that stops
    early (Ctrl-C, a consumer that had enough) stops the check and waits for it: a thread
    still in pyarrow's C++ when the interpreter exits aborts the process (see `batches`)."""
    read = part.read
    fault: list[InputError | None] = []
    stop = threading.Event()

    def run() -> None:
        try:
            fault.append(check(stop))
        except Exception:  # a check that cannot run leaves the reading as it was
            fault.append(None)

    thread = threading.Thread(target=run, name="epochplan-csv-fields", daemon=True)

    def read_checked(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        if not thread.is_alive() and not fault:
            thread.start()
        done = False
        try:
            for frame in read(columns, batch_rows):
                if fault and fault[0] is not None:
                    raise fault[0]
                yield frame
            done = True
        except Exception:  # polars' own error for a long line ("found more fields"): the check's is clearer
            done = True
            thread.join()
            if fault[0] is not None:
                raise fault[0] from None
            raise
        finally:
            if not done:  # closed early, or interrupted
                stop.set()
            thread.join()
        if fault[0] is not None:
            raise fault[0]

    part.read = read_checked
    return part


def field_count_fault(
    location: Location,
    compression: str | None,
    separator: str,
    quoted: bool,
    blank: int = 0,
    stop: threading.Event | None = None,
    cr_in_values: bool = False,
) -> InputError | None:
    """The error naming the first line of a CSV or TSV file whose number of fields is not the
    header's, or None (also when pyarrow cannot read the file: its reader says why later).
    `blank`: blank lines before the header; `stop`: set when the check is no longer wanted (read
    up to there); `cr_in_values`: the file is read by polars, for which a carriage return that
    ends no line of a file with `\n` line ends is part of a value (pyarrow ends a line there)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    parse = pacsv.ParseOptions(
        delimiter=separator, quote_char='"' if quoted else False, newlines_in_values=quoted, ignore_empty_lines=False
    )
    # One thread: pyarrow's error then names the row ("Row #5"; as fast here). Not its
    # `invalid_row_handler`: a reader holding a Python handler now and then aborted the
    # process at exit ("terminate called without an active exception").
    options = pacsv.ReadOptions(use_threads=False, block_size=CHECK_BLOCK_BYTES, skip_rows=blank)
    try:
        first_column = _first_name(location, compression, separator, quoted)
        convert = pacsv.ConvertOptions(include_columns=[first_column], column_types={first_column: pa.string()})
        with _raw(location, compression) as stream:
            for _ in pacsv.open_csv(stream, read_options=options, parse_options=parse, convert_options=convert):
                if stop is not None and stop.is_set():
                    return None
    except Exception as e:  # the bad line, or a file pyarrow cannot read at all (its reader says why)
        found = _ROW.search(str(e))
        if found is None:
            return None
        row = InvalidRow(int(found[2]), int(found[3]), int(found[1]), found[4])  # skipped blank lines counted
        if _read_as_polars_reads(row):
            return None
        if _has_lone_carriage_return(location, compression):  # pyarrow ended a line where it ends none
            # pyarrow's own reader (compressed and object-store files) says what it says
            return _fault_as_polars_reads(location, compression, separator, quoted, stop) if cr_in_values else None
        return fields_error(location, compression, separator, quoted, row)
    return None


def _read_as_polars_reads(row: InvalidRow) -> bool:
    """Whether pyarrow's short row is no fault of the file (an error path only): a line of
    whitespace alone, or `""` (polars reads it as a row, as before the check)."""
    return row.actual_columns < row.expected_columns and row.text.strip() in ("", '""')


def _fault_as_polars_reads(
    location: Location, compression: str | None, separator: str, quoted: bool, stop: threading.Event | None
) -> InputError | None:
    """`field_count_fault` for a file with `\n` line ends holding a lone carriage return, read as
    polars reads it: lines end at `\n` only, a lone `\r` is part of its value (quoted or not).
    Python's csv module parses the file with those made spaces (it ends a record at an unquoted
    one), blank lines and lines of whitespace taken as polars takes them (an error path only)."""
    expected, start = None, 1
    with (
        _text(location, compression, newline="\n") as stream,
        _csv_reader(itertools.chain.from_iterable(_masked_lines(stream, stop)), separator, quoted) as reader,
    ):
        try:
            for record in reader:
                if expected is None:
                    expected = len(record) or None  # blank lines before the header
                elif len(record) != expected and record:
                    row = InvalidRow(expected, len(record), 0, _lines(location, compression, start, reader.line_num))
                    if not _read_as_polars_reads(row):
                        return fields_error(location, compression, separator, quoted, row, line=start)
                start = reader.line_num + 1
        except csv.Error:  # a stray quote the csv module reads otherwise: polars' reader says what it says
            return None
    return None


def _masked_lines(stream: Any, stop: threading.Event | None) -> Iterator[list[str]]:
    """A text stream's lines ending in `\n` (the last may not), a block at a time, each lone
    `\r` made a space (the csv module would end a record there); no more once `stop` is set."""
    carry = ""
    while block := stream.read(CHECK_BLOCK_BYTES):
        if stop is not None and stop.is_set():
            return
        block = carry + block
        cut = block.rfind("\n") + 1
        carry = block[cut:]
        yield _LINE.findall(_LONE_CR_TEXT.sub(" ", block[:cut]))
    yield [_LONE_CR_TEXT.sub(" ", carry)] if carry else []


def _lines(location: Location, compression: str | None, first: int, last: int) -> str:
    """Lines `first` to `last` (1-based, `\n` ends a line) of the file, without the last line end."""
    with _text(location, compression, newline="\n") as stream:
        return "".join(itertools.islice(stream, first - 1, last)).rstrip("\r\n")


#: A carriage return that is not the start of a CRLF line end.
_LONE_CR = re.compile(rb"\r(?!\n)")
_LONE_CR_TEXT = re.compile(r"\r(?!\n)")
#: A line and its `\n`.
_LINE = re.compile(r"[^\n]*\n")


def _has_lone_carriage_return(location: Location, compression: str | None) -> bool:
    """Whether the file holds a lone carriage return and a line feed."""
    with _raw(location, compression) as stream:
        carry, lone, feed = b"", False, False
        while block := stream.read(CHECK_BLOCK_BYTES):
            block = carry + block
            carry = block[-1:] if block.endswith(b"\r") else b""  # its \n may start the next block
            lone = lone or bool(_LONE_CR.search(block[: len(block) - len(carry)]))
            feed = feed or b"\n" in block
            if lone and feed:
                return True
        return feed and (lone or carry == b"\r")  # the file may end with one


def fields_error(
    location: Location, compression: str | None, separator: str, quoted: bool, row: InvalidRow, line: int | None = None
) -> InputError:
    """The error for the `row` of a CSV or TSV file with another number of fields than its
    header: its line (`line` where known, else found from pyarrow's row number), its fields
    and the header's, and how to fix it."""
    where = f"line {line or _physical_line(location, compression, separator, quoted, row.number)}"
    text = row.text if len(row.text) <= 80 else row.text[:77] + "..."
    header = _header(location, compression)
    other = next((c for c in (";", "|", "\t", ",") if c != separator and c in header), None)
    if row.expected_columns == 1 and other is not None:
        fix = (
            f"its header {header!r} looks separated by {other!r}, not {separator!r}: rewrite the file with {separator!r} "
            f"(polars: pl.read_csv(FILE, separator={other!r}).write_csv(NEW){', or as .tsv' if other == chr(9) else ''})"
        )
    elif row.actual_columns > row.expected_columns:
        quote = '("hello, world")' if separator == "," else "(as a CSV writer quotes it)"
        fix = f"a value holding {'a comma' if separator == ',' else 'a tab'} must be quoted {quote}, else remove the extra fields: every line needs one field per column"
    else:
        fix = "every line needs one field per column: write an empty field for a missing value, or quote a value that spans lines"
    return InputError(
        f"{location}: {where} has {row.actual_columns} field{'s' * (row.actual_columns != 1)} where the header has "
        f"{row.expected_columns} ({text!r}); {fix}"
    )


def _raw(location: Location, compression: str | None) -> Any:
    """The file's bytes as a stream, decompressed."""
    from .parts import open_stream

    return open_stream(location, compression)


def _text(location: Location, compression: str | None, newline: str = "") -> Any:
    """The file as text (a byte order mark skipped), its line ends kept as they are; lines end
    at each of `\n`, `\r\n` and `\r`, or at `newline` (`"\n"`: there only)."""
    return io.TextIOWrapper(_raw(location, compression), encoding="utf-8-sig", errors="replace", newline=newline)


@contextlib.contextmanager
def _records(location: Location, compression: str | None, separator: str, quoted: bool) -> Iterator[Any]:
    """The file's records as Python's csv module reads them, quoted as pyarrow's check reads
    them (an error path only, and the header's first name)."""
    with _text(location, compression) as stream, _csv_reader(stream, separator, quoted) as reader:
        yield reader


@contextlib.contextmanager
def _csv_reader(lines: Any, separator: str, quoted: bool) -> Iterator[Any]:
    """Python's csv reader of `lines`, quoted as pyarrow's check reads them, with no limit on a
    field's size while it is open: the module's limit (a process-wide setting, the user's) is
    put back after."""
    limit = csv.field_size_limit(1 << 30)
    try:
        yield csv.reader(lines, delimiter=separator, quotechar='"', quoting=csv.QUOTE_MINIMAL if quoted else csv.QUOTE_NONE)
    finally:
        csv.field_size_limit(limit)


def _header(location: Location, compression: str | None) -> str:
    """The file's first non-blank line, for the hint on another separator."""
    try:
        with _text(location, compression) as stream:
            return next((line.rstrip("\r\n") for line in stream if line.strip()), "")
    except Exception:  # unreadable now: no hint
        return ""


def _first_name(location: Location, compression: str | None, separator: str, quoted: bool) -> str:
    """The header's first name, as pyarrow reads it: the one column the check converts."""
    with _records(location, compression, separator, quoted) as reader:
        return next(row for row in reader if row)[0]


def _physical_line(location: Location, compression: str | None, separator: str, quoted: bool, record: int) -> int:
    """The line where record `record` starts (pyarrow's 1-based row number, which counts a value
    spanning lines once), read by Python's csv module (an error path only); pyarrow's number
    where the csv module reads the file another way."""
    try:
        with _records(location, compression, separator, quoted) as reader:
            for _ in range(record - 1):
                next(reader)
            return reader.line_num + 1
    except Exception:  # a stray quote the csv module reads otherwise, a file gone since
        return record
