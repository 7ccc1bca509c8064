"""How a check report is shown: terminal table, JUnit XML, GitHub Actions summary and annotations.
(The JSON form is `CheckReport.to_json`.)"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .check import Check, CheckReport

MAX_EXAMPLES = 5
_STYLE = {"pass": "green", "warning": "yellow", "error": "red", "skipped": "dim"}


def _count(c: Check) -> str:
    return "-" if c.count is None else f"{c.count:,}"


def _percent(c: Check) -> str:
    if c.fraction is None or c.setting.endswith("-ratio"):
        return "-"
    return f"{100 * c.fraction:.2f} %"


def _threshold(c: Check) -> str:
    if c.threshold is None:
        return "-"
    if c.setting.endswith("-fraction"):
        rows = f" ({c.limit:,} rows)" if c.limit is not None else ""
        return f"≤ {100 * float(c.threshold):g} %{rows}"
    if c.setting.endswith("-ratio"):
        return f"≤ {float(c.threshold):g}x"
    return f"{'≥' if c.comparison == '>=' else '≤'} {int(c.threshold):,}"


def _status(c: Check) -> str:
    if c.status in ("error", "warning") and not c.fails_gate and c.baseline is not None:
        return f"{c.status} (not worse than baseline)"
    return c.status


def example_lines(c: Check, limit: int = MAX_EXAMPLES) -> list[str]:
    """The top examples of a check, one readable line each."""
    lines = []
    for e in c.examples[:limit]:
        if "preview" in e:
            preview = str(e.get("preview", "")).replace("\n", " ")
            preview = preview if len(preview) <= 80 else preview[:77] + "..."
            lines.append(f"row {e.get('row')} x{e.get('count')}: {preview}")
        elif "eval_row" in e:
            similarity = e.get("similarity")
            sim = f" (similarity {similarity:.3f})" if isinstance(similarity, (int, float)) else ""
            lines.append(f"eval row {e.get('eval_row')} = train row {e.get('train_row')}{sim}")
        elif "labels" in e:
            pairs = ", ".join(f"row {r}: {lab!r}" for r, lab in zip(e.get("rows", []), e.get("labels", [])))
            lines.append(pairs)
        elif "label" in e:
            lines.append(f"class {e['label']!r}: {e.get('count'):,} rows")
    more = len(c.examples) - limit
    if more > 0:
        lines.append(f"... {more} more in the JSON report")
    return lines


def verdict_line(report: CheckReport) -> str:
    s = report.summary
    counts = s["counts"]
    parts = [f"{counts[k]} {k}" for k in ("pass", "warning", "error", "skipped") if counts[k]]
    head = "gate FAILED" if s["status"] == "fail" else "gate passed"
    failed = f" ({', '.join(s['failed'])})" if s["failed"] else ""
    return f"{head}{failed}: {', '.join(parts)}; fail-on {s['fail_on']}; exit {s['exit_code']}"


def render_terminal(report: CheckReport, console: Console | None = None) -> None:
    console = console or Console()
    source = report.audit.get("source") or {}
    paths = ", ".join(source.get("paths") or []) or "(in-memory table)"
    console.print(f"[bold]epochplan check[/bold]  {escape(paths)}  rows={report.audit.get('rows', 0):,}", highlight=False)
    table = Table(header_style="bold", title_justify="left")
    table.add_column("check")
    table.add_column("status")
    table.add_column("count", justify="right")
    table.add_column("%", justify="right")
    table.add_column("threshold", justify="right")
    for c in report.checks:
        table.add_row(escape(c.id), f"[{_STYLE[c.status]}]{escape(_status(c))}[/]", _count(c), _percent(c), _threshold(c))
    console.print(table)
    for c in report.checks:
        if c.status in ("error", "warning"):
            console.print(f"[{_STYLE[c.status]}]{c.status}[/] [bold]{escape(c.id)}[/bold]: {escape(c.message)}",
                          highlight=False, soft_wrap=True)
            for line in example_lines(c):
                console.print(f"    {escape(line)}", highlight=False, soft_wrap=True)
        elif c.status == "skipped":
            console.print(f"[dim]skipped {escape(c.id)}: {escape(c.message.removeprefix('skipped: '))}[/dim]",
                          highlight=False, soft_wrap=True)
    style = "bold red" if report.summary["status"] == "fail" else "bold green"
    console.print(f"[{style}]{escape(verdict_line(report))}[/]", highlight=False, soft_wrap=True)


# --- JUnit XML ----------------------------------------------------------------------------------


def to_junit(report: CheckReport) -> str:
    """One <testcase> per check: gate failures carry <failure>, skipped checks <skipped>, and
    warnings or failures excused by the baseline pass with the message in <system-out>."""
    failures = sum(c.fails_gate for c in report.checks)
    skipped = sum(c.status == "skipped" for c in report.checks)
    attrs = {"name": "epochplan check", "tests": str(len(report.checks)), "failures": str(failures),
             "errors": "0", "skipped": str(skipped), "time": "0"}
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    for c in report.checks:
        case = ET.SubElement(suite, "testcase", {"classname": "epochplan.check", "name": c.id, "time": "0"})
        body = "\n".join([c.message, *example_lines(c, limit=10)])
        if c.fails_gate:
            failure = ET.SubElement(case, "failure", {"message": c.message, "type": c.status})
            failure.text = body
        elif c.status == "skipped":
            ET.SubElement(case, "skipped", {"message": c.message})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"{_status(c)}: {body}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


# --- GitHub Actions -----------------------------------------------------------------------------


def in_github_actions(environ: Mapping[str, str]) -> bool:
    return environ.get("GITHUB_ACTIONS", "").lower() == "true"


def _md(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def github_markdown(report: CheckReport) -> str:
    """The job summary: verdict, table of checks, examples of failing checks."""
    s = report.summary
    icon = ":x:" if s["status"] == "fail" else ":white_check_mark:"
    source = report.audit.get("source") or {}
    paths = ", ".join(f"`{p}`" for p in source.get("paths") or []) or "(in-memory table)"
    lines = [
        f"## {icon} epochplan check: {'failed' if s['status'] == 'fail' else 'passed'}",
        "",
        f"{paths}, {report.audit.get('rows', 0):,} rows. {_md(verdict_line(report))}",
        "",
        "| check | status | count | % | threshold |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for c in report.checks:
        status = f"**{_status(c)}**" if c.fails_gate else _status(c)
        lines.append(f"| `{c.id}` | {status} | {_count(c)} | {_percent(c)} | {_md(_threshold(c))} |")
    details = [c for c in report.checks if c.status in ("error", "warning", "skipped")]
    if details:
        lines.append("")
    for c in details:
        lines.append(f"- **{c.status}** `{c.id}`: {_md(c.message)}")
        for example in example_lines(c):
            lines.append(f"  - {_md(example)}")
    return "\n".join(lines) + "\n\n"


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(report: CheckReport) -> list[str]:
    """`::error` for checks that fail the gate, `::warning` for the other warnings and errors."""
    lines = []
    for c in report.checks:
        if c.status not in ("error", "warning"):
            continue
        level = "error" if c.fails_gate else "warning"
        title = _escape_property(f"epochplan check {c.id}")
        message = c.message
        examples = example_lines(c, limit=3)
        if examples:
            message += "\n" + "\n".join(examples)
        if c.status == "error" and not c.fails_gate:
            message = f"{_status(c)}: {message}"
        lines.append(f"::{level} title={title}::{_escape_data(message)}")
    return lines


def emit_github(report: CheckReport, environ: Mapping[str, str], stream: TextIO) -> None:
    """When running in GitHub Actions: append the Markdown summary to $GITHUB_STEP_SUMMARY and
    print the annotations (workflow commands) to `stream`."""
    if not in_github_actions(environ):
        return
    summary_path = environ.get("GITHUB_STEP_SUMMARY")
    if summary_path:
        with open(summary_path, "a", encoding="utf-8") as f:
            f.write(github_markdown(report))
    for line in github_annotations(report):
        print(line, file=stream, flush=True)
