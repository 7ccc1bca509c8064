"""The terminal form of a check report (rich), and the lines every check output shares: the
verdict, each check's count / share / threshold, and its examples. (The JSON form is
`CheckReport.to_json`.)"""

from __future__ import annotations

from collections.abc import Callable

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .. import graphemes
from ..auditing.result import EXAMPLES
from ..checking import Check, CheckReport
from ..checking.rules import counted
from ..defaults import PREVIEW_CHARS
from .console import visible

MAX_EXAMPLES = 5
_STYLE = {"pass": "green", "warning": "yellow", "error": "red", "skipped": "dim"}


def count_text(c: Check) -> str:
    return "-" if c.count is None else f"{c.count:,}"


def percent_text(c: Check) -> str:
    if c.fraction is None or c.setting.endswith("-ratio"):
        return "-"
    return f"{100 * c.fraction:.2f} %"


def threshold_text(c: Check) -> str:
    if c.threshold is None:
        return "-"
    if c.setting.endswith(("-fraction", "-share")):
        rows = f" ({counted(c.limit, 'rows')})" if c.limit is not None else ""
        return f"≤ {100 * float(c.threshold):g} %{rows}"
    if c.setting.endswith("-ratio"):
        return f"≤ {float(c.threshold):g}x"
    return f"{'≥' if c.comparison == '>=' else '≤'} {int(c.threshold):,}"


def status_text(c: Check) -> str:
    if c.status in ("error", "warning") and not c.fails_gate and c.baseline is not None:
        return f"{c.status} (not worse than baseline)"
    if c.status == "skipped" and c.warns:  # a limit set but not judged: a warning (verdict._reaches)
        return "skipped (warning)"
    return c.status


def _preview(text: str) -> str:
    preview = visible(graphemes.cut_preview(text, PREVIEW_CHARS, "...").replace("\n", " "))
    return graphemes.cut(preview, 80, "...")


def example_lines(
    c: Check, limit: int = MAX_EXAMPLES, *, preview: Callable[[str], str] = _preview, name: Callable[[str], str] = repr
) -> list[str]:
    """The top examples of a check, one readable line each. Data text goes through `preview`
    (a cluster's text) and `name` (a label): plain text here, code spans in Markdown."""
    lines = []
    for e in c.examples[:limit]:
        if "preview" in e:
            lines.append(f"row {e.get('row')} x{e.get('count')}: {preview(str(e.get('preview', '')))}")
        elif "eval_row" in e:
            similarity = e.get("similarity")
            notes = ["near"] if e.get("kind") == "near" else []
            notes += [f"similarity {similarity:.3f}"] if isinstance(similarity, (int, float)) else []
            # Not "=" for a near match: its texts differ, even at similarity 1.
            sign = "~" if e.get("kind") == "near" else "="
            lines.append(
                f"eval row {e.get('eval_row')} {sign} train row {e.get('train_row')}" + (f" ({', '.join(notes)})" if notes else "")
            )
        elif "labels" in e:
            pairs = ", ".join(f"row {r}: {name(lab)}" for r, lab in zip(e.get("rows", []), e.get("labels", [])))
            lines.append(pairs)
        elif "label" in e:
            lines.append(f"class {name(e['label'])}: {counted(e.get('count'), 'rows')}")
    more = len(c.examples) - limit
    if more > 0:
        # The report keeps EXAMPLES examples a check: at that cap there may be more than it shows.
        capped = f" (it keeps the first {EXAMPLES} examples, not every one)" if len(c.examples) >= EXAMPLES else ""
        lines.append(f"... {more} more in the JSON report{capped}")
    return lines


def verdict_line(report: CheckReport) -> str:
    s = report.summary
    counts = s["counts"]
    parts = [f"{counts[k]} {k}" for k in ("pass", "warning", "error", "skipped") if counts[k]]
    warned = sum(c.status == "skipped" and c.warns for c in report.checks)  # not judged, where a limit was set
    if warned:
        parts[-1] += f" ({warned} of them a warning)"
    head = "gate FAILED" if s["status"] == "fail" else "gate passed"
    failed = f" ({', '.join(s['failed'])})" if s["failed"] else ""
    return f"{head}{failed}: {', '.join(parts)}; fail-on {s['fail_on']}; exit {s['exit_code']}"


def render_terminal(report: CheckReport, console: Console | None = None) -> None:
    console = console or Console(emoji=False)
    source = report.audit.get("source") or {}
    paths = ", ".join(source.get("paths") or []) or "(in-memory table)"
    console.print(f"[bold]epochplan check[/bold]  {escape(visible(paths))}  rows={report.audit.get('rows', 0):,}", highlight=False)
    table = Table(header_style="bold", title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("count", justify="right")
    table.add_column("%", justify="right")
    table.add_column("threshold", justify="right")
    for c in report.checks:
        style = _STYLE["warning" if c.status == "skipped" and c.warns else c.status]
        table.add_row(escape(c.id), f"[{style}]{escape(status_text(c))}[/]", count_text(c), percent_text(c), threshold_text(c))
    console.print(table)
    for c in report.checks:
        if c.status in ("error", "warning"):
            console.print(
                f"[{_STYLE[c.status]}]{c.status}[/] [bold]{escape(c.id)}[/bold]: {escape(visible(c.message))}",
                highlight=False,
                soft_wrap=True,
            )
            for line in example_lines(c):
                console.print(f"    {escape(line)}", highlight=False, soft_wrap=True)
        elif c.status == "skipped" and c.warns:  # its input was given and held nothing: not a quiet skip
            console.print(f"[yellow]warning[/] [bold]{escape(c.id)}[/bold]: {escape(visible(c.message))}", highlight=False, soft_wrap=True)
        elif c.status == "skipped":
            console.print(
                f"[dim]skipped {escape(c.id)}: {escape(c.message.removeprefix('skipped: '))}[/dim]", highlight=False, soft_wrap=True
            )
    # The audit's own warnings that no check judges (`template` has its check): near duplicates
    # possibly missed past the check cap, a CSV read as one column. The gate stays as it is.
    for warning in report.audit.get("warnings") or []:
        if warning.get("id") != "template":
            console.print(
                f"[yellow]note[/] [bold]{escape(str(warning.get('id')))}[/bold]: {escape(visible(str(warning.get('message', ''))))}",
                highlight=False,
                soft_wrap=True,
            )
    style = "bold red" if report.summary["status"] == "fail" else "bold green"
    console.print(f"[{style}]{escape(verdict_line(report))}[/]", highlight=False, soft_wrap=True)
