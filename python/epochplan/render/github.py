"""A check report in GitHub Actions: the job summary (Markdown) and `::error` / `::warning`
annotations."""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from .. import graphemes
from ..checking import CheckReport
from ..defaults import PREVIEW_CHARS
from ..outputs import storage_errors
from .check_table import count_text, example_lines, percent_text, status_text, threshold_text, verdict_line
from .markdown import SPLIT_CHARS, cell, code_span


def in_github_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS", "").lower() == "true"


def _data(text: Any) -> str:
    """Text from the data (a label) as a code span: nothing in it is markup."""
    return code_span(str(text))


def _preview(text: Any) -> str:
    """A cluster's stored preview as a code span, with "…" where it may have been cut, as
    `audit --markdown` cuts its texts."""
    return code_span(graphemes.cut_preview(str(text), PREVIEW_CHARS))


def github_markdown(report: CheckReport) -> str:
    """The job summary: verdict, table of checks, examples of failing checks. Text from the data
    is hostile (a label can be a link, an image that calls home, a pipe that closes the table): it
    is written as `audit --markdown` writes it, in code spans (previews, labels, paths, check ids,
    which hold split names) or with its markup escaped (messages, which quote names)."""
    s = report.summary
    icon = ":x:" if s["status"] == "fail" else ":white_check_mark:"
    source = report.audit.get("source") or {}
    paths = ", ".join(code_span(str(p), 120) for p in source.get("paths") or []) or "(in-memory table)"
    lines = [
        f"## {icon} epochplan check: {'failed' if s['status'] == 'fail' else 'passed'}",
        "",
        f"{paths}, {report.audit.get('rows', 0):,} rows. {cell(verdict_line(report), 2000)}",
        "",
        "| check | status | count | % | threshold |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for c in report.checks:
        shown = f"**{status_text(c)}**" if c.fails_gate else status_text(c)
        lines.append(
            f"| {code_span(c.id, SPLIT_CHARS, keep_end=True)} | {shown} | {count_text(c)} | {percent_text(c)} | {cell(threshold_text(c), 80)} |"
        )
    details = [c for c in report.checks if c.status in ("error", "warning", "skipped")]
    if details:
        lines.append("")
    for c in details:
        said = c.message.removeprefix(f"{c.status}: ")  # "skipped: no label column": the status is said once
        lines.append(f"- **{status_text(c)}** {code_span(c.id, SPLIT_CHARS, keep_end=True)}: {cell(said, 600)}")
        for example in example_lines(c, preview=_preview, name=_data):
            lines.append(f"  - {example}")
    return "\n".join(lines) + "\n\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(report: CheckReport) -> list[str]:
    """`::error` for checks that fail the gate, `::warning` for the other warnings and errors, and
    for checks skipped because their input held nothing to judge (an empty eval split)."""
    lines = []
    for c in report.checks:
        if c.status not in ("error", "warning") and not c.warns:
            continue
        level = "error" if c.fails_gate else "warning"
        title = _escape_property(f"epochplan check {c.id}")
        message = c.message
        examples = example_lines(c, limit=3)
        if examples:
            message += "\n" + "\n".join(examples)
        if c.status == "error" and not c.fails_gate:
            message = f"{status_text(c)}: {message}"
        lines.append(f"::{level} title={title}::{_escape_data(message)}")
    return lines


def append_step_summary(path: str, text: str) -> None:
    """Append `text` to the job summary ($GITHUB_STEP_SUMMARY, a file the runner owns and other
    steps append to) in one write. A write the OS refuses (a full disk, /dev/full) is a
    `StorageError` naming $GITHUB_STEP_SUMMARY and its path (exit 2), and what part of the text
    did land is cut off again: the summary is left as it was, never cut mid-line."""
    data = memoryview(text.encode("utf-8", "backslashreplace"))
    with storage_errors(Path(f"$GITHUB_STEP_SUMMARY {path}")):
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o666)
        try:
            regular = stat.S_ISREG(os.fstat(fd).st_mode)
            start = os.lseek(fd, 0, os.SEEK_END) if regular else 0
            try:
                while data:  # after a short write, the next one says why (ENOSPC, EDQUOT)
                    data = data[os.write(fd, data) :]
            except OSError:
                if regular:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, start)
                raise
        finally:
            os.close(fd)


def emit_github(report: CheckReport, environ: Mapping[str, str], stream: TextIO, *, summary: bool = True) -> None:
    """When running in GitHub Actions: append the Markdown summary to $GITHUB_STEP_SUMMARY
    (`summary`; the CLI appends it itself, before its output files land) and print the
    annotations (workflow commands) to `stream`."""
    if not in_github_actions(environ):
        return
    summary_path = environ.get("GITHUB_STEP_SUMMARY")
    if summary and summary_path:
        append_step_summary(summary_path, github_markdown(report))
    for line in github_annotations(report):
        print(line, file=stream, flush=True)
