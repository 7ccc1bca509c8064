"""`verify="exact"`: hand the core the texts of the rows it must compare exactly.

The core names the candidate rows (those sharing a band bucket with another row) once every row
is in; the input is streamed again and only those rows' texts go back, batch by batch, in row
order. The core then clusters from exact Jaccard similarities of the shingle sets. Train/eval
leakage does the same with each eval split (its candidate eval rows and train rows)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .._epochplan import Auditor
from ..errors import InputError, with_article
from ..sources import TEXT, Source, batches


def check_rereadable(data: Any, why: str = "verify='exact'", other: str = ", or use verify='sketch'") -> None:
    """Exact verification (and dedup) reads the input twice: refuse, before any work, what can be
    read once (a generator, a pyarrow RecordBatchReader)."""
    if isinstance(data, Iterator):
        raise InputError(
            f"{why} reads the input twice, but {with_article(type(data).__name__)} can be read only once; "
            f"pass a path, a polars DataFrame/LazyFrame or a pyarrow Table{other}"
        )


def give_back_exact_texts(auditor: Auditor, source: Source, columns: list[str], batch_rows: int) -> int:
    """Stream the input again and hand the core the texts of the rows it asks for; returns how
    many. Rows are numbered as in the first pass, so the input must not have changed since."""
    raw = auditor.exact_rows()
    return give_back_rows(raw, source, columns, batch_rows, auditor.add_exact_texts)


def give_back_rows(raw: bytes | None, source: Source, columns: list[str], batch_rows: int, add: Callable[[bytes, Any], None]) -> int:
    """Stream `source` again and call `add(rows, texts)` with the texts of the rows `raw` names
    (increasing, little-endian u64), batch by batch; returns how many."""
    wanted = np.frombuffer(raw, dtype="<u8") if raw is not None else np.empty(0, dtype=np.uint64)
    if len(wanted) == 0:
        return 0
    start = 0
    for batch in batches(source, columns, None, batch_rows):
        end = start + batch.height
        low, high = np.searchsorted(wanted, [start, end])
        if high > low:
            rows = wanted[low:high]
            texts = batch.get_column(TEXT).gather((rows - start).astype(np.int64))
            add(rows.astype("<u8").tobytes(), texts)
        start = end
        if high == len(wanted):
            break
    if start < int(wanted[-1]) + 1:
        raise InputError(f"{source.description}: has fewer rows on the second read ({start:,}); did it change during the audit?")
    return len(wanted)
