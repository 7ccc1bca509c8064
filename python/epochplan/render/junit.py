"""A check report as JUnit XML: one testcase per check, for CI test-report views."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from ..checking import CheckReport
from .check_table import example_lines, status_text
from .console import visible

# Characters XML 1.0 cannot carry at all, even escaped: C0 controls (but tab, newline, carriage
# return), lone surrogates, U+FFFE and U+FFFF. `visible` escapes the controls; these remain.
_NOT_XML = re.compile("[\ud800-\udfff\ufffe\uffff]")


def _xml(text: str) -> str:
    """Text the XML file can hold: data with control characters would make it unparseable."""
    return _NOT_XML.sub(lambda m: f"\\u{ord(m.group()):04x}", visible(text))


def to_junit(report: CheckReport) -> str:
    """One <testcase> per check: gate failures carry <failure>, skipped checks <skipped>, and
    warnings or failures excused by the baseline pass with the message in <system-out>."""
    failures = sum(c.fails_gate for c in report.checks)
    skipped = sum(c.status == "skipped" and not c.fails_gate for c in report.checks)  # a failing one carries <failure>
    attrs = {
        "name": "epochplan check",
        "tests": str(len(report.checks)),
        "failures": str(failures),
        "errors": "0",
        "skipped": str(skipped),
        "time": "0",
    }
    root = ET.Element("testsuites", attrs)
    suite = ET.SubElement(root, "testsuite", attrs)
    for c in report.checks:
        case = ET.SubElement(suite, "testcase", {"classname": "epochplan.check", "name": _xml(c.id), "time": "0"})
        body = _xml("\n".join([c.message, *example_lines(c, limit=10)]))
        if c.fails_gate:
            failure = ET.SubElement(case, "failure", {"message": _xml(c.message), "type": c.status})
            failure.text = body
        elif c.status == "skipped":
            ET.SubElement(case, "skipped", {"message": _xml(c.message)})
        else:
            out = ET.SubElement(case, "system-out")
            out.text = f"{status_text(c)}: {body}"
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
