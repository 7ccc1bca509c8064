"""The local engine: read and measure in this process (`Auditor.update` is measure + absorb)."""

from __future__ import annotations

from .._epochplan import Auditor
from ..sources import LABEL, TEXT, Source, batches
from .base import MeasureSpec, ProgressCallback


class LocalEngine:
    name = "local"

    def ingest(
        self,
        auditor: Auditor,
        source: Source,
        columns: list[str],
        label: str | None,
        batch_rows: int,
        spec: MeasureSpec,
        progress: ProgressCallback | None,
    ) -> None:
        for batch in batches(source, columns, label, batch_rows):
            if batch.height == 0:
                continue
            labels = batch.get_column(LABEL) if label is not None else None
            auditor.update(batch.get_column(TEXT), labels)
            if progress is not None:
                progress(auditor.rows)

    def finish_near(self, auditor: Auditor) -> None:
        auditor.finish_near()
