"""Progress on stderr: a rows/s bar on a terminal (after a second), and a plain line every
EPOCHPLAN_PROGRESS_SECONDS (default 10) when stderr is a pipe or a CI log, so a long run is never
silent. Long steps that report no rows (near-duplicate clustering, writing) are shown as a phase."""

from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from .errors import InputError

#: Seconds between progress lines when stderr is not a terminal.
DEFAULT_INTERVAL = 10.0
INTERVAL_VARIABLE = "EPOCHPLAN_PROGRESS_SECONDS"


def progress_interval() -> float:
    """EPOCHPLAN_PROGRESS_SECONDS: seconds between lines off a terminal (0 = at every update)."""
    raw = os.environ.get(INTERVAL_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not 0 <= value < float("inf"):
        raise InputError(f"environment {INTERVAL_VARIABLE}={raw!r}: must be a number of seconds, 0 or more; fix or unset it")
    return value


def set_phase(progress: Any, name: str) -> None:
    """Tell a progress reporter that a step without row counts started (a plain callable has no
    phases and is left alone)."""
    phase = getattr(progress, "phase", None)
    if phase is not None:
        phase(name)


#: The reporter of the command running now (`RowProgress` while entered): where a step deep in
#: reading, such as a download, says what it does (`report`) without a reporter passed down to it.
_active: RowProgress | None = None


def report(step: str | None) -> None:
    """Tell the running command's reporter, if any, what the reading does now (`downloading
    NAME: 12 of 300 MB`); None when it is back to reading rows. Nothing when no command runs
    (the Python API)."""
    reporter = _active
    if reporter is not None:
        reporter.status(step)


class RowProgress:
    """The progress of one command: call it with the rows done so far; `phase(name)` names a
    long step. Use it as a context manager: leaving it stops the bar or the line ticker."""

    DELAY_SECONDS = 1.0

    def __init__(self, total: int | None, description: str = "auditing") -> None:
        self.console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
        self.total = total
        self.description = description
        self.started = time.monotonic()
        self.rows = 0
        self.current = "reading"
        self.progress: Progress | None = None
        self.task: Any = None
        self.terminal = self.console.is_terminal
        self.interval = 0.0 if self.terminal else progress_interval()
        self._stop = threading.Event()
        self._ticker: threading.Thread | None = None
        self._lock = threading.Lock()

    def __enter__(self) -> RowProgress:
        global _active
        _active = self
        if not self.terminal and self.interval > 0:
            self._ticker = threading.Thread(target=self._tick, name="epochplan-progress", daemon=True)
            self._ticker.start()
        return self

    def __call__(self, rows: int) -> None:
        self.rows = rows
        if not self.terminal:
            if self.interval == 0:
                self._line()
            return
        if self.progress is None:
            if time.monotonic() - self.started < self.DELAY_SECONDS:
                return
            self._start_bar()
        assert self.progress is not None
        elapsed = max(time.monotonic() - self.started, 1e-9)
        self.progress.update(self.task, completed=rows, rate=f"{rows / elapsed:,.0f} rows/s")

    def set_total(self, total: int | None) -> None:
        """The rows to read, once known (counting them may download the input first)."""
        self.total = total
        if self.progress is not None:
            self.progress.update(self.task, total=total)

    def status(self, step: str | None) -> None:
        """What the reading does now (`report`), shown as the bar's description on a terminal
        and in the periodic line elsewhere, without a line of its own (a download reports every
        second); None: back to reading rows."""
        self.current = "reading" if step is None else step
        if self.terminal:
            if self.progress is None and time.monotonic() - self.started >= self.DELAY_SECONDS:
                self._start_bar()
            if self.progress is not None:
                shown = self.description if step is None else f"{self.description}: {step}"
                self.progress.update(self.task, description=shown)
        elif self.interval == 0 and step is not None:
            self._line()

    def phase(self, name: str) -> None:
        self.current = name
        if self.terminal:
            if self.progress is None:
                self._start_bar()
            assert self.progress is not None
            # The elapsed column keeps moving while the phase runs: the bar is not frozen.
            self.progress.update(self.task, description=f"{self.description}: {name}", rate="")
        elif self.interval == 0 or time.monotonic() - self.started >= self.interval:
            self._line()  # a run already long enough to report: say what it does now

    def _start_bar(self) -> None:
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
        self.task = self.progress.add_task(self.description, total=self.total, rate="", completed=self.rows)

    def _tick(self) -> None:
        while not self._stop.wait(self.interval):
            self._line()

    def _line(self) -> None:
        elapsed = time.monotonic() - self.started
        rows = self.rows
        if self.current == "reading":
            share = f" / {self.total:,} rows ({100 * rows / self.total:.0f} %)" if self.total else " rows"
            rate = f", {rows / elapsed:,.0f} rows/s" if elapsed > 0 else ""
            text = f"{self.description}: {rows:,}{share}{rate}, {elapsed:.0f} s"
        else:
            text = f"{self.description}: {self.current} ({rows:,} rows read), {elapsed:.0f} s"
        with self._lock:
            print(text, file=sys.stderr, flush=True)

    def __exit__(self, *exc: object) -> None:
        global _active
        if _active is self:
            _active = None
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        if self.progress is not None:
            self.progress.stop()
