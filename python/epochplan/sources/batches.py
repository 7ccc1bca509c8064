"""Stream the selected columns of a `Source` as polars batches, in input order, with the next
batch decoded in a background thread while the core works on the current one."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

import polars as pl

from .. import interrupts
from ..defaults import BATCH_ROWS
from ..errors import InputError
from .columns import check_text_in_every_file, label_expression, listed_texts, read_columns, text_expression
from .formats import Source, first_line
from .number_labels import exact_labels, with_exact
from .parts import Part, check_readable, has_nul
from .remote import is_remote, read_hint

T = TypeVar("T")
DEFAULT_BATCH_ROWS = BATCH_ROWS


def batches(source: Source, columns: list[str], label: str | None, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """Stream the selected columns as DataFrames of at most `batch_rows` rows, in input order.
    Each part reads only the columns needed, so shards may differ in their other columns."""
    wanted = columns + ([label] if label is not None else [])
    source.widen(wanted)
    check_text_in_every_file({part.name: part.schema for part in source.parts}, columns)

    def selected() -> Iterator[pl.DataFrame]:
        # Run in the prefetch thread, one expression a part (a list column's rendering depends
        # on its type in that part). Not in the main thread: a Ctrl-C landing while polars
        # builds an expression (it calls back into Python) is swallowed there and comes out
        # as a polars error instead of an interrupt.
        for part in source.parts:
            if part.is_empty_file:
                continue
            labels = [label_expression(label, part.schema, part.typed)] if label is not None else []
            exprs = [text_expression(columns, part.schema), *labels]
            chosen = read_columns(part.schema, wanted)
            try:
                # A JSON label column of floats: whole numbers a float changes keep their digits.
                exact = exact_labels(part, label) if label is not None else {}
                read = parts_checked(part, columns, footer_checked(part, part.read(chosen, batch_rows)))
                for frame in with_exact(nul_checked(part, (frame.select(exprs) for frame in read)), exact):
                    yield frame
            except InputError:
                raise
            except Exception as e:  # a reader's failure, named with its file (a JSON lines file says where it breaks)
                fault = part.fault(chosen) if part.fault is not None else None
                if fault is not None:
                    raise fault from None
                if len(source.parts) > 1:
                    raise _read_failure(part.name, e) from None
                raise

    try:
        yield from prefetch(selected())
    except InputError:
        raise
    except Exception as e:  # polars and pyarrow raise many types for unreadable input
        raise _read_failure(source.description, e) from None


def _read_failure(name: str, e: Exception) -> InputError:
    """A reader's failure on `name`: for a remote file, polars' fetch threads may still be
    printing their panics on stderr as it ends (`after_foreign_output`)."""
    error = InputError(f"{name}: cannot read rows ({first_line(e)}){read_hint(name, e)}")
    error.after_foreign_output = is_remote(name)
    return error


def footer_checked(part: Part, frames: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """`frames`, their rows counted against the count the file's footer states (`Part.rows_stated`:
    Parquet) once they end. polars' http reader given short range replies (a server or proxy
    answering 206 with a Content-Range of the whole span but part of its bytes) ends a file
    early without an error: half the rows, read as the whole file."""
    if not part.rows_stated or part.rows is None:
        yield from frames
        return
    read = 0
    for frame in frames:
        read += frame.height
        yield frame
    if read != part.rows:
        why = (
            "the server sent fewer bytes than it announced (a short range reply, from it or a proxy between); "
            "run again, or download the file and audit the local copy"
            if is_remote(part.name)
            else "the file changed while it was read, or is corrupt; run again once it is complete"
        )
        error = InputError(f"{part.name}: read {read:,} of the {part.rows:,} rows its Parquet footer states; {why}")
        error.after_foreign_output = is_remote(part.name)  # polars' fetch threads panicked on the short replies
        raise error


def nul_checked(part: Part, frames: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """`frames`, refused at the first that holds U+0000 where it is polars' reading of a lone
    surrogate escape (`Part.lone_surrogate`: JSON files); asked once a part."""
    suspect = part.lone_surrogate is not None
    for frame in frames:
        if suspect and has_nul(frame):
            suspect, fault = False, part.lone_surrogate() if part.lone_surrogate is not None else None
            if fault is not None:
                raise fault
        yield frame


def parts_checked(part: Part, columns: list[str], frames: Iterator[pl.DataFrame]) -> Iterator[pl.DataFrame]:
    """`frames`, refused at the first that holds the JSON text of a list in a chosen text column
    where the file's line holds content parts (`Part.listed_parts`: JSON lines, whose strings
    and lists in one key read as strings); asked once a part, where a value parses as a list."""
    listed = listed_texts(columns, part.schema) if part.listed_parts is not None else []
    for frame in frames:
        if listed and any(_json_list(text) for *_, values in listed for text in frame.select(values).to_series()):
            fault, listed = part.listed_parts(columns) if part.listed_parts is not None else None, []
            if fault is not None:
                raise fault
        yield frame


def _json_list(text: str) -> bool:
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def prefetch(items: Iterator[T], depth: int = 1) -> Iterator[T]:
    """Produce the next `depth` items in a background thread while the caller works on the
    current one: decoding (pyarrow) and auditing (Rust) both release the GIL, so they overlap.
    At most depth + 2 items exist at once, so memory stays bounded."""
    slots: queue.Queue = queue.Queue(maxsize=depth)
    done = object()
    stop = threading.Event()

    def put(item: object) -> bool:
        """Hand `item` over unless the consumer has stopped: a blocking put would wait forever
        for a consumer that is gone (and the consumer waits for this thread)."""
        while not stop.is_set():
            try:
                slots.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(item):
                    return
            put(done)
        except BaseException as e:  # handed to the consumer, raised there
            put(_Failed(e))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # the reader's files, closed in the thread that used them

    worker = threading.Thread(target=produce, name="epochplan-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is done:
                return
            if isinstance(item, _Failed):
                raise item.error
            yield item
    finally:
        # The consumer stopped (end, error, Ctrl-C): let the producer end, and wait for it. A
        # thread still decoding in pyarrow's C++ when the interpreter exits is killed mid-frame,
        # which aborts the process ("terminate called without an active exception", exit 134).
        # One stuck in native code on a read that never returns (a server that stopped answering)
        # is left behind once a signal was handled, and the command ends without the interpreter's
        # exit (`interrupts.abandon`).
        stop.set()
        while worker.is_alive():
            worker.join(interrupts.GRACE_SECONDS)
            if worker.is_alive() and interrupts.abandon(worker):
                break


def row_batches(source: Source, batch_rows: int = DEFAULT_BATCH_ROWS) -> Iterator[pl.DataFrame]:
    """Every column of every row, as DataFrames in input order with the source's joined schema
    (a column some parts lack is null there). Read part by part through the formats' own
    readers, so an interrupt is a plain KeyboardInterrupt between batches rather than a panic
    inside polars' streaming engine."""
    source.widen()
    schema = source.frame.collect_schema()

    def aligned() -> Iterator[pl.DataFrame]:
        for part in source.parts:
            missing = [pl.lit(None, dtype).alias(name) for name, dtype in schema.items() if name not in part.schema]
            cast = [pl.col(name).cast(dtype) for name, dtype in schema.items()]
            for frame in nul_checked(part, footer_checked(part, part.read(list(part.schema.names()), batch_rows))):
                yield (frame.with_columns(missing) if missing else frame).select(cast)

    try:
        yield from prefetch(aligned())
    except InputError:
        raise
    except Exception as e:  # polars and pyarrow raise many types for unreadable input
        for part in source.parts:  # a column polars reads the schema of but not the values (decimal256) is named
            if part.arrow_schema is not None:
                check_readable(part.arrow_schema, part.name, data=True)
        raise _read_failure(source.description, e) from None


def count_rows(source: Source) -> int | None:
    """Row count when it is cheap (Parquet metadata, in-memory tables, datasets), else None."""
    return source.count_rows()
