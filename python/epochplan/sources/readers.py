"""One reader per file format: each turns a local path or an object-store URL into a `Part`
(schema, row count when cheap, batches of chosen columns, a lazy frame of every column).

What streams and what is loaded whole:
- Parquet: local files in windows of whole row groups (polars; at least a batch of rows, at most
  PARQUET_WINDOW_BYTES, a larger group streamed by pyarrow); object-store files a batch at a time
  (pyarrow).
- Arrow IPC (file and stream format, `datasets` shards): one record batch at a time, memory-mapped
  when local (zero-copy).
- JSONL, and `.json` holding JSON lines: plain local files through polars' scan; gzip/zstd files
  and object-store files decompressed and parsed a block at a time (pyarrow streams, polars parser).
- CSV and TSV (the same with tabs): plain local files through polars' scan; gzip/zstd files and
  object-store files through pyarrow's streaming CSV reader (date-like columns kept as text, as
  polars does), as are plain files whose lines end in a lone `\r` (polars splits at `\n` only).
- Text (`.txt`, also gzip/zstd): one row a line, in a column named `text` (as the Hugging Face
  `datasets` text loader reads it); streamed a block at a time, local and remote.
- A `.json` file holding one JSON array (GPTeacher's release format) is loaded whole: a JSON
  array cannot be parsed in parts.
- hf:// files, and http(s):// Parquet files from a server with byte ranges, are read by polars' own
  readers (`scan_*`); every other http(s) file, and an hf:// CSV or TSV file (`hub`), from a checked local copy (`download`).
"""

from __future__ import annotations

import functools
import io
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import polars as pl

from ..errors import InputError
from . import hub
from .downloads import download, range_probe
from .fields import field_count_fault, fields_checked
from .json_lines import format_fault, json_lines_part, scanned_json_lines_part
from .json_numbers import array_rounded
from .lines import line_blocks
from .number_labels import array_labels
from .parts import (
    EmptyFile,
    FeatherV1,
    Part,
    feather_v1,
    file_head,
    has_nul,
    lazy_from,
    open_file,
    open_stream,
    polars_part,
    read_error,
    schema_of,
    sliced,
    to_frame,
    whole_frame_part,
)
from .paths import SEPARATORS, Location, file_format, has_magic
from .remote import POLARS_ONLY, polars_url, scheme_of
from .sniff import (
    BOM,
    SCHEMA_BYTES,
    cr_line_ends,
    header_names,
    json_fault,
    may_be_one_object,
    other_encoding,
    refuse_records_object,
    refuse_repeated_columns,
    tsv_is_quoted,
)
from .utf8 import is_utf8, json_error, may_be_encoding, refuse_not_utf8, utf8_checked, utf8_lines

#: A `.json` file starting with "{" up to this size is checked for being one object that holds
#: the records (SQuAD's `{"data": [...]}`) rather than JSON lines.
ONE_OBJECT_BYTES = 64 << 20
#: Bytes of a row file's start read once for what it says of the file (`_lead`).
LEAD_BYTES = 4096
#: Most uncompressed bytes of a local Parquet file's audited columns that polars decodes at once
#: (a window of whole row groups); a larger row group is streamed by pyarrow.
PARQUET_WINDOW_BYTES = 128 << 20
# --- formats -------------------------------------------------------------------------------------


def parquet_part(location: Location) -> Part:
    import pyarrow.parquet as pq

    with open_file(location) as f:
        if f.read(4) != b"PAR1":
            raise InputError(f"{location}: not a Parquet file (no PAR1 header); is it corrupt or another format?")
        f.seek(0)
        meta = pq.ParquetFile(f)
        schema, rows = schema_of(meta.schema_arrow, str(location)), meta.metadata.num_rows

    def read(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        with open_file(location) as f, pq.ParquetFile(f) as reader:
            if not isinstance(location, Path):
                # pyarrow, a batch at a time: one footer read for the whole object.
                for batch in reader.iter_batches(batch_size=batch_rows, columns=columns):
                    yield to_frame(batch)
                return
            scan = pl.scan_parquet(location, glob=False).select(columns)
            for start, rows, groups, whole in _parquet_windows(reader.metadata, columns, batch_rows):
                frame = _polars_window(scan, start, rows) if whole else None
                if frame is not None:
                    yield from sliced(iter([frame]), batch_rows)
                    continue
                for batch in reader.iter_batches(batch_size=batch_rows, row_groups=groups, columns=columns):
                    yield to_frame(batch)

    # polars reads an object-store URL's key as written, escapes and all: it gets the decoded key.
    scanned = location if isinstance(location, Path) else polars_url(location)
    part = Part(str(location), schema, read, lambda: pl.scan_parquet(scanned, glob=False), rows, arrow_schema=meta.schema_arrow)
    part.rows_stated = True
    return part


def _polars_window(scan: pl.LazyFrame, start: int, rows: int) -> pl.DataFrame | None:
    """Rows `start`..`start + rows` of a local Parquet file decoded by polars; None where polars
    cannot (a type it does not read, text that is not UTF-8): pyarrow reads them then, and the
    core's import names a bad value."""
    try:
        return scan.slice(start, rows).collect()
    except Exception:  # polars raises many types for input it cannot decode
        return None


def _parquet_windows(meta: Any, columns: list[str], batch_rows: int) -> Iterator[tuple[int, int, list[int], bool]]:
    """How a local Parquet file is read, in row order: (first row, rows, its row groups, whole).
    Whole: a window of consecutive row groups that polars decodes at once (at least
    `batch_rows` rows unless the file ends, at most PARQUET_WINDOW_BYTES of the columns); not
    whole: one row group larger than that, which pyarrow streams a batch at a time.

    Whole groups through polars rather than pyarrow's batches: on 1M multilingual rows, a third
    less peak memory (pyarrow's pool keeps freed batches) and half the system time. Not polars'
    streaming scan: it decodes ahead of a slow consumer without bound (pola-rs/polars#28569, open
    in polars 2.1; 2.8 GB at 5 M rows)."""
    names = [meta.schema.column(i).path for i in range(meta.num_columns)]
    wanted = [i for i, name in enumerate(names) if any(name == c or name.startswith(f"{c}.") for c in columns)]
    start, groups, rows, size = 0, [], 0, 0
    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        group_size = sum(group.column(i).total_uncompressed_size for i in wanted)
        if groups and (size + group_size > PARQUET_WINDOW_BYTES or group_size > PARQUET_WINDOW_BYTES):
            yield start, rows, groups, True
            start, groups, rows, size = start + rows, [], 0, 0
        if group_size > PARQUET_WINDOW_BYTES:
            yield start, group.num_rows, [g], False
            start += group.num_rows
            continue
        groups, rows, size = [*groups, g], rows + group.num_rows, size + group_size
        if rows >= batch_rows:
            yield start, rows, groups, True
            start, groups, rows, size = start + rows, [], 0, 0
    if groups:
        yield start, rows, groups, True


def arrow_part(location: Location) -> Part:
    """Arrow IPC, file or stream format (told apart by the file's first bytes)."""
    import pyarrow.ipc as ipc

    with open_file(location) as f:
        lead = f.read(6)
    if lead.startswith(b"FEA1"):
        raise feather_v1(str(location))
    is_file_format = lead == b"ARROW1"
    open_reader = ipc.open_file if is_file_format else ipc.open_stream
    with open_file(location) as f:
        reader = open_reader(f)
        arrow_schema = reader.schema
        schema = schema_of(arrow_schema, str(location))

    def read(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        with open_file(location) as f:
            reader = open_reader(f)
            batches = (reader.get_batch(i) for i in range(reader.num_record_batches)) if is_file_format else reader
            yield from sliced((to_frame(batch.select(columns)) for batch in batches), batch_rows)

    if is_file_format and isinstance(location, Path):
        return Part(str(location), schema, read, lambda: pl.scan_ipc(location, glob=False), arrow_schema=arrow_schema)
    part = Part(str(location), schema, read, lambda: lazy_from(read, schema), arrow_schema=arrow_schema)
    part.ipc_stream = not is_file_format
    return part


def _lead(location: Location, compression: str | None) -> bytes:
    """A row file's first bytes (decompressed): its encoding mark, a UTF-8 byte order mark, and
    for `.json` whether it holds an array or objects, read once."""
    with open_stream(location, compression) as stream:
        return stream.read(LEAD_BYTES)


#: The column a text file's lines are read into.
LINES_COLUMN = "text"


def _lines_frame(block: bytes) -> pl.DataFrame:
    """One row a line of `block` (whole lines), without its line break: `\n`, `\r\n` or a lone
    `\r` (classic Mac OS), as Python's universal newlines read them — the `datasets` text loader
    opens files in text mode, so `a\rb` is two rows there and `a\r\r\n` is `a` and an empty row.

    The lines are cut by pyarrow's kernels, not Python's `splitlines` (an object a line), and
    handed on as strings without a UTF-8 check here: `text_lines_part` checks each block first
    (`utf8_lines`), naming the line and how to re-encode the file."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if b"\r" in block:
        block = block.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if block.endswith(b"\n"):
        block = block[:-1]
    lines = pc.split_pattern(pa.array([block], type=pa.large_binary()), pattern=b"\n").flatten()
    text = pa.Array.from_buffers(pa.large_string(), len(lines), lines.buffers(), null_count=0)
    return to_frame(pa.table({LINES_COLUMN: text}))


def text_lines_part(location: Location, compression: str | None) -> Part:
    if not next(line_blocks(location, compression, text=True), b""):
        raise EmptyFile(f"{location}: no rows (the file is empty)")
    schema = pl.Schema({LINES_COLUMN: pl.String})

    def read(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        for block in utf8_lines(line_blocks(location, compression, text=True), location, compression):
            yield from sliced(iter([_lines_frame(block).select(columns)]), batch_rows)

    return Part(str(location), schema, read, lambda: lazy_from(read, schema))


def json_array_part(location: Location, compression: str | None) -> Part:
    with open_stream(location, compression) as stream:
        data = stream.read().removeprefix(BOM)
    try:
        frame = pl.read_json(io.BytesIO(data), infer_schema_length=None)
    except Exception as e:  # simd-json names a character offset or a "TapeError" at best
        where = json_fault(io.BytesIO(data), lines=False)
        raise json_error(str(location), data, where) if where else read_error(str(location), e) from None
    if frame.width == 0:
        raise EmptyFile(f"{location}: no rows (the JSON array is empty)")
    if has_nul(frame) and (where := json_fault(io.BytesIO(data), lines=False)) is not None:
        raise json_error(str(location), data, where)
    part = whole_frame_part(str(location), frame)
    part.rounded = lambda: array_rounded(part.name, data, part.schema)
    part.exact_labels = lambda path: array_labels(data, path)
    return part


def _leading_blank_lines(location: Location, compression: str | None) -> int:
    """Blank lines before a delimited file's header, however many (read until the first other byte)."""
    count, first = 0, True
    with open_stream(location, compression) as stream:
        while chunk := stream.read(1 << 16):
            chunk, first = (chunk.removeprefix(BOM) if first else chunk), False
            rest = chunk.lstrip(b"\r\n")
            count += len(re.findall(rb"\r\n|\r|\n", chunk[: len(chunk) - len(rest)]))  # a lone \r ends a line too
            if rest:
                break
    return count


def csv_part(location: Location, compression: str | None, separator: str = ",", quoted: bool = True, lead: bytes = b"") -> Part:
    """A compressed or object-store CSV/TSV through pyarrow's streaming reader, with the cells,
    nulls and blank lines polars' reader (plain local files) gives: an empty cell is null, a
    quoted empty one (`""`) an empty string, no other word ("NA", "null") is null, and a blank
    line is a row of nulls (blank lines before the header, in `lead`, are skipped)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    # Quoted values may span lines (polars' CSV reader allows it too); a plain TSV has no quoting.
    parse = pacsv.ParseOptions(
        delimiter=separator, quote_char='"' if quoted else False, newlines_in_values=quoted, ignore_empty_lines=False
    )

    def ragged(error: Exception) -> Exception:
        """For pyarrow's "Expected 2 columns, got 3" (no line), the error naming the line
        (`fields`); else `error`."""
        if not re.search(r"Expected \d+ columns, got \d+", str(error)):
            return error
        return field_count_fault(location, compression, separator, quoted, blank) or error

    # Types are inferred from the first block: SCHEMA_BYTES, as for plain local files.
    blank = _leading_blank_lines(location, compression) if lead.removeprefix(BOM)[:1] in (b"\r", b"\n") else 0
    block = pacsv.ReadOptions(block_size=SCHEMA_BYTES, skip_rows=blank)
    with open_stream(location, compression) as stream:
        try:
            inferred = pacsv.open_csv(stream, read_options=block, parse_options=parse).schema
        except Exception as e:
            raise ragged(e) from None
    if any(pa.types.is_binary(f.type) for f in inferred):  # pyarrow's type for cells that are not UTF-8
        refuse_not_utf8(location, compression)
    refuse_repeated_columns(str(location), inferred.names)
    # Every cell as written (see `Part.typed`); pyarrow's ISO dates and times count as text when
    # choosing the text column, as in polars' CSV reader.
    as_text = {f.name: pa.string() for f in inferred}
    typed = schema_of(pa.schema([f.with_type(pa.string()) if pa.types.is_temporal(f.type) else f for f in inferred]), str(location))

    def batches(columns: list[str] | None) -> Iterator[Any]:
        options = pacsv.ConvertOptions(
            column_types=as_text, include_columns=columns, strings_can_be_null=True, quoted_strings_can_be_null=False, null_values=[""]
        )
        with open_stream(location, compression) as stream:
            try:
                yield from pacsv.open_csv(stream, read_options=block, parse_options=parse, convert_options=options)
            except Exception as e:
                raise ragged(e) from None

    schema = pl.Schema({name: pl.String for name in typed})

    def read(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        yield from sliced((to_frame(b) for b in batches(columns)), batch_rows)

    return Part(str(location), schema, read, lambda: lazy_from(read, schema), typed=typed)


def _scanned_delimited(location: Location, kind: str, head: bytes, quoted: bool, **options: Any) -> Part:
    """A CSV or TSV file through polars' scan, every cell as written (see `Part.typed`); its
    types inferred from every row of `head` (the first SCHEMA_BYTES), as pyarrow's reader infers
    them from its first block, not from 1,000 rows."""
    rows = max(1000, head.count(b"\n"))
    quote = '"' if quoted else None
    scan = functools.partial(pl.scan_csv, location, separator=SEPARATORS[kind], quote_char=quote, **options)
    part = polars_part(str(location), scan(infer_schema=False))
    part.plain_tsv, part.typed = not quoted, polars_part(str(location), scan(infer_schema_length=rows)).schema
    return part


def _remote_polars_part(url: str, kind: str) -> Part:
    """hf files, and http(s) Parquet files from a server with byte ranges, through polars'
    object-store readers."""
    if kind in ("json", "text"):
        # polars has no text reader for URLs, and a .json may be an array (read whole anyway) or
        # JSON lines: http(s) files are read from a local copy, as a local file is.
        raise InputError(f"{url}: a .{kind.replace('text', 'txt')} file on hf:// is not supported; use its Parquet or JSONL files")
    if kind in SEPARATORS:  # an hf:// pattern (one file is downloaded): polars' own inference, from 1,000 rows
        return _scanned_delimited(url, kind, b"", quoted=True)
    if kind == "ndjson":
        return polars_part(url, pl.scan_ndjson(url, infer_schema_length=1000))
    if kind == "parquet":
        return _remote_parquet_part(url)
    return polars_part(url, pl.scan_ipc(url))


def _remote_parquet_part(url: str) -> Part:
    """An http(s) or hf Parquet file through polars' reader, with the row count its footer
    states (read with the schema: no request of its own), which the rows read are counted
    against (`Part.rows_stated`): a short range reply ends polars' read early, without an error."""
    scan = pl.scan_parquet(url)
    part = polars_part(url, scan)
    try:
        part.rows = scan.select(pl.len()).collect().item()
    except Exception as e:  # polars raises many types for unreadable input
        raise read_error(url, e) from None
    part.rows_stated = True
    return part


def downloaded_part(
    url: str, size: int | None = None, copy: Path | None = None, name: str | None = None, private: dict[str, str] | None = None
) -> Part:
    """An http(s) file read from a local copy (`download`, its bytes counted against the size the
    server announces; or `copy`, a Ray worker's, `downloads.local_copy`) as a local file is, and
    named by its URL (errors too), or by `name` (an hf:// file's, fetched with `private` headers)."""
    shown = url if name is None else name
    try:
        copy = download(url, size, private=private) if copy is None else copy
        return _named_by_url(file_part(copy), shown, copy)
    except InputError as e:  # named by the URL; a Feather V1 file's command names the file to download
        renamed = feather_v1(shown) if isinstance(e, FeatherV1) else None
        raise renamed or type(e)((str(e) if copy is None else str(e).replace(str(copy), shown)).replace(url, shown)) from None


def _named_by_url(part: Part, url: str, copy: Path) -> Part:
    """`part`, read from the local `copy` of `url`, named by the URL: its name, and every error
    its reading, its checks (`fault`, `lone_surrogate`, `listed_parts`) and its widened part give."""

    def named(error: InputError | None) -> InputError | None:
        return None if error is None else type(error)(str(error).replace(str(copy), url))

    read, fault, lone, listed, widen = part.read, part.fault, part.lone_surrogate, part.listed_parts, part.widen

    def read_named(columns: list[str], batch_rows: int) -> Iterator[pl.DataFrame]:
        try:
            yield from read(columns, batch_rows)
        except InputError as e:
            raise named(e) from None

    part.name, part.read = url, read_named
    if fault is not None:
        part.fault = lambda columns: named(fault(columns))
    if lone is not None:
        part.lone_surrogate = lambda: named(lone())
    if listed is not None:
        part.listed_parts = lambda columns: named(listed(columns))
    if widen is not None:
        part.widen = lambda: _named_by_url(widen(), url, copy)
    return part


def _one_object_bytes(location: Location, compression: str | None) -> bytes | None:
    """A `.json` file's bytes (decompressed), to check for one object holding the records; None
    over ONE_OBJECT_BYTES, or once its first line proves a whole object with another line after
    it (JSON lines whose first line outgrew the lead: not read further than that line). Compressed
    and object-store files too: read as JSON lines, such an object was one row (or an error at
    its first line, naming no key, when pretty-printed)."""
    if isinstance(location, Path) and compression is None:
        return location.read_bytes() if os.path.getsize(location) <= ONE_OBJECT_BYTES else None
    chunks: list[bytes] = []
    size, newline, decided = 0, False, False
    with open_stream(location, compression) as stream:
        while size <= ONE_OBJECT_BYTES:
            chunk = stream.read(1 << 20)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            size, newline = size + len(chunk), newline or b"\n" in chunk
            if newline and not decided:
                joined = b"".join(chunks)
                decided = bool(joined.removeprefix(BOM).lstrip().partition(b"\n")[2].strip())
                if not may_be_one_object(joined):
                    return None
    return None


def file_part(location: Location) -> Part:
    """The reader of one file, chosen by its suffix (and, for .json, by its first byte)."""
    kind, compression = file_format(location)
    assert kind is not None  # format_of checked the suffixes
    local = isinstance(location, Path)
    if local and os.path.getsize(location) == 0:  # no rows, whatever the format: skipped among other files
        raise EmptyFile(f"{location}: no rows (the file is empty)")
    try:
        if not local and scheme_of(str(location)) in POLARS_ONLY:
            if scheme_of(str(location)) == "hf" and kind in SEPARATORS and (url := hub.file_url(str(location))) is not None:
                return downloaded_part(url, name=str(location), private=hub.token_headers())  # checked as a local file
            if scheme_of(str(location)) != "hf":
                # Read from a checked download: polars' readers given a short range reply end a
                # CSV, JSON lines or Arrow file early without an error (fewer rows, exit 0). Only
                # a Parquet file's footer counts its rows (`_remote_parquet_part`).
                if kind != "parquet":
                    return downloaded_part(str(location))
                ranges, size = range_probe(str(location))
                if not ranges:
                    return downloaded_part(str(location), size)
            return _remote_polars_part(str(location), kind)
        if kind == "parquet":
            return parquet_part(location)
        if kind == "arrow":
            return arrow_part(location)
        # Object stores: only a .json's first byte is worth a request of its own.
        lead = _lead(location, compression) if local or kind == "json" else b""
        encoding = other_encoding(lead)
        if encoding is not None:
            raise InputError(
                f"{location}: the file is {encoding} (its byte order mark says so), not UTF-8; "
                "save it as UTF-8 (Excel: 'CSV UTF-8'; pandas: encoding='utf-8')"
            )
        first = lead.removeprefix(BOM).lstrip()[:1]
        if kind == "json" and first == b"[":
            return json_array_part(location, compression)
        if kind == "json" and first == b"{" and may_be_one_object(lead):
            data = _one_object_bytes(location, compression)
            if data is not None:
                refuse_records_object(str(location), data, compression)
        if kind == "text":
            return text_lines_part(location, compression)
        if kind in ("ndjson", "json"):
            # polars' scan_ndjson has no `glob=False`: it would read `data[1].jsonl` as a pattern
            # (and audit `data1.jsonl`), so such a name is streamed by pyarrow instead, as is a
            # file starting with a byte order mark (polars' parser fails on it). Every other
            # local file is opened with `glob=False`.
            if local and compression is None and not has_magic(str(location)) and not lead.startswith(BOM):
                return scanned_json_lines_part(location)
            return json_lines_part(location, compression)
        plain_local = local and compression is None
        # The head: a plain local file's types, and whether a TSV quotes (pyarrow's reader infers
        # the types of compressed and object-store files from its own first block).
        head = file_head(location, compression)[0] if plain_local or kind == "tsv" else b""
        # Lines ending in a lone \r: polars' scan reads one line; pyarrow's reader, as for others.
        cr_only = cr_line_ends(head)
        quoted = kind == "csv" or tsv_is_quoted(head.replace(b"\r", b"\n") if cr_only else head)
        if plain_local and not is_utf8(head):  # polars reads a header that is not UTF-8 without a word
            refuse_not_utf8(location, None)
        if plain_local and not cr_only:
            refuse_repeated_columns(str(location), header_names(head, SEPARATORS[kind], quoted))
            part = _scanned_delimited(location, kind, head, quoted, glob=False)
            blank = _leading_blank_lines(location, None) if head[:1] in (b"\r", b"\n") else 0
            check = functools.partial(field_count_fault, location, None, SEPARATORS[kind], quoted, blank, cr_in_values=True)
            return utf8_checked(fields_checked(part, check), location, None)
        part = csv_part(location, compression, SEPARATORS[kind], quoted, lead)
        part.plain_tsv = not quoted
        return utf8_checked(part, location, compression)
    except InputError:
        raise
    except Exception as e:  # pyarrow, polars and the OS raise many types for unreadable input
        if kind in SEPARATORS and may_be_encoding(e):
            refuse_not_utf8(location, compression)
        fault = format_fault(location, compression) if kind in ("ndjson", "json") else None
        raise (fault or read_error(str(location), e)) from None
