"""What runs on a Ray worker: one input file read with the same reader and batch boundaries as
the local engine, each batch measured by the core (the audit's first stage) and streamed back
to the driver in order. Kept apart from `ray_engine.py` so a worker imports no driver code."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from typing import Any

from .._epochplan import Measurer, TokenCounter, band_partitions, shared_buckets
from ..errors import InputError, naming_input
from ..sources import LABEL, TEXT, batches
from ..sources.downloads import SharedCopy, discard_downloads, local_copy
from ..sources.formats import Source
from ..sources.paths import Location
from ..sources.readers import downloaded_part, file_part
from ..sources.remote import first_line

#: Tokenizers loaded in this worker process, by the sha256 of their file and the user's name for it.
_TOKENIZERS: dict[tuple[str, str], TokenCounter] = {}


def _tokenizer(data: bytes | None, name: str | None) -> TokenCounter | None:
    """The driver's tokenizer file, sent as the bytes it read (the worker may not see the
    driver's disk, and the path may be a pipe the driver read already), named in errors as the
    user named it."""
    if data is None:
        return None
    key = (hashlib.sha256(data).hexdigest(), name or "tokenizer.json")
    if key not in _TOKENIZERS:
        _TOKENIZERS[key] = TokenCounter.from_bytes(data, key[1])
    return _TOKENIZERS[key]


def measure_file(
    location: Location,
    columns: list[str],
    label: str | None,
    batch_rows: int,
    measurer: dict[str, Any],
    tokenizer: bytes | None,
    skip: int = 0,
    tokenizer_name: str | None = None,
    name: str | None = None,
    shared: SharedCopy | None = None,
) -> Iterator[tuple[bytes, Any]]:
    """(measured batch, its labels or None) for every non-empty batch of one file, in order,
    but the first `skip` (the driver has them already: a retry after a lost worker).
    `tokenizer_name`: the tokenizer as the user named it, for errors (the worker reads a copy).
    `name`: the file as the user named it (`location` is its absolute path, a link's own:
    the reader is chosen by its name), which errors say, with the row in the file, as the local engine's do.
    `shared`: the driver's download of an http(s) `location`, read where this worker sees it (on
    the driver's machine), else downloaded again (`local_copy`)."""
    counter = _tokenizer(tokenizer, tokenizer_name)
    measure = Measurer(**measurer, tokenizer=counter)
    shown = str(location) if name is None else name
    try:
        try:
            part = file_part(location) if shared is None else downloaded_part(str(location), copy=local_copy(str(location), shared))
        except OSError as e:  # gone since the driver listed it: said as the local engine says it
            raise InputError(f"{shown}: cannot read rows ({first_line(e).replace(str(location), shown)})") from None
        source = Source([part], [str(location)], str(location))
        seen, first_row = 0, 0  # the batch's first row within this file
        for batch in _renamed(batches(source, columns, label, batch_rows), str(location), shown):
            if batch.height == 0:
                continue
            seen += 1
            if seen > skip:
                labels = batch.get_column(LABEL) if label is not None else None
                try:
                    with naming_input(shown, columns=columns, label=label, first_row=first_row):
                        measured = measure.measure(batch.get_column(TEXT))
                except InputError as e:
                    raise _named(e, shown, first_row) from None
                yield measured, labels  # outside the try: what the consumer raises here is not renamed
            first_row += batch.height
    finally:
        # An http(s) file the worker downloaded (the driver's copy is not on its machine): Ray
        # ends the worker without the exit that would remove it (see `discard_downloads`).
        discard_downloads()


def _renamed(frames: Iterator[Any], path: str, shown: str) -> Iterator[Any]:
    """`frames`, with a reading error's path (the worker's absolute one) said as the user
    wrote it."""
    try:
        yield from frames
    except InputError as e:
        raise type(e)(str(e).replace(path, shown)) from None


def _named(error: InputError, location: str, first_row: int) -> InputError:
    """A tokenizer's error as the local engine words it (the counter names the user's file: it
    was built with that name). The core counts the row within its batch (`first_row`: the
    batch's first row in this file); the file is named with it."""
    message = re.sub(
        r"cannot tokenize row (\d+)", lambda m: f"cannot tokenize row {first_row + int(m.group(1))} of {location}", str(error), count=1
    )
    return type(error)(message)


def band_map(measured: tuple[bytes, Any], keep: bytes, first_member: int, partitions: int) -> Any:
    """The band-key shuffle's map for one absorbed batch: `partitions` byte strings (a single one
    when `partitions` is 1, as Ray returns it)."""
    parts = band_partitions(measured[0], keep, first_member, partitions)
    return parts[0] if partitions == 1 else tuple(parts)


def bucket_reduce(*parts: bytes) -> bytes:
    """The shuffle's reduce for one partition: its entries from every batch, sorted into the
    buckets two or more representatives share."""
    return shared_buckets(list(parts))
