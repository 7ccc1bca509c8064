"""What an engine is given and must do (see `engines/__init__.py`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from .._epochplan import Auditor
from ..sources import Source

ProgressCallback = Callable[[int], None]


@dataclass(frozen=True)
class MeasureSpec:
    """The auditor's settings that shape a measured batch (the `Measurer` arguments), plus the
    tokenizer file: an engine measuring elsewhere builds the same `Measurer` from these.
    `tokenizer`: the file's bytes as the driver read them once (what its counter and sha256 are
    of; the path may be a pipe, read already), `tokenizer_path` the name errors give it."""

    measurer: dict[str, Any] = field(default_factory=dict)
    tokenizer_path: str | None = None
    tokenizer: bytes | None = field(default=None, repr=False)


class Engine(Protocol):
    name: str

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
        """Every batch of `source` measured and absorbed into `auditor`, strictly in input order."""
        ...

    def finish_near(self, auditor: Auditor) -> None:
        """Link, verify and cluster the near duplicates (after the last batch and, with
        verify="exact", after the candidates' texts)."""
        ...
