"""A rows/s progress bar on stderr, shown only on a terminal and only for runs over a second."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn


class RowProgress:
    DELAY_SECONDS = 1.0

    def __init__(self, total: int | None, description: str = "auditing") -> None:
        self.console = Console(stderr=True)
        self.total = total
        self.description = description
        self.started = time.monotonic()
        self.progress: Progress | None = None
        self.task = None

    def __enter__(self) -> RowProgress:
        return self

    def __call__(self, rows: int) -> None:
        if not self.console.is_terminal:
            return
        if self.progress is None:
            if time.monotonic() - self.started < self.DELAY_SECONDS:
                return
            self.progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                TaskProgressColumn(),
                TextColumn("{task.completed:,.0f} rows"),
                TextColumn("{task.fields[rate]}"),
                TimeElapsedColumn(),
                console=self.console,
                transient=True,
            )
            self.progress.start()
            self.task = self.progress.add_task(self.description, total=self.total, rate="")
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self.progress.update(self.task, completed=rows, rate=f"{rows / elapsed:,.0f} rows/s")

    def __exit__(self, *exc: object) -> None:
        if self.progress is not None:
            self.progress.stop()
