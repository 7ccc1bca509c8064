"""Hostile text in the data: control characters, terminal escape sequences, rich markup and
bidi overrides never reach a terminal raw, never break a report file (issue 11 items 12, 13)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import polars as pl
import pytest

from .helpers import run_cli

RETITLE = "\x1b]0;pwned\x07"  # OSC: sets the terminal's title
CLEAR = "\x1b[2J"  # CSI: clears the screen
HOSTILE = [
    f"{RETITLE}duplicated {CLEAR} text with a bell \x07 and a NUL \x00 byte",
    "markup [bold red]loud[/] and a stray [/] closing tag",
    "bidi \u202eevil\u202c override and a C1 \x9b control",
]


@pytest.fixture()
def hostile(tmp_path: Path) -> Path:
    rows = [text for text in HOSTILE for _ in range(3)] + [f"plain row {i}" for i in range(20)]
    labels = ["a", "b", "a"] * 3 + [f"\x1b[31mred{i % 2}" for i in range(20)]
    pl.DataFrame({"text": rows, "label": labels}).write_parquet(tmp_path / "hostile.parquet")
    return tmp_path / "hostile.parquet"


def _no_raw_controls(text: str) -> None:
    for raw in ("\x1b", "\x07", "\x00", "\x9b", "\u202e"):
        assert raw not in text, f"raw {raw!r} reached the terminal output"


@pytest.mark.parametrize("normalize", ["none", "default"])
def test_the_audit_summary_shows_control_characters_escaped(tmp_path, hostile, normalize):
    proc = run_cli("audit", str(hostile), "--label", "label", "--normalize", normalize, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    _no_raw_controls(proc.stdout + proc.stderr)
    assert "\\x1b" in proc.stdout  # shown, escaped, not dropped
    assert "[bold red]loud[/]" in proc.stdout  # markup in the data is text, not styling


def test_check_terminal_report_shows_control_characters_escaped(tmp_path, hostile):
    proc = run_cli("check", str(hostile), "--label", "label", "--normalize", "none", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr  # duplicates: the gate fails, and says why
    _no_raw_controls(proc.stdout + proc.stderr)
    assert "\\x1b" in proc.stdout


def test_junit_with_control_characters_parses(tmp_path, hostile):
    proc = run_cli("check", str(hostile), "--label", "label", "--normalize", "none", "--junit", "report.xml", "-q", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    root = ET.parse(tmp_path / "report.xml").getroot()
    failures = [f.text or "" for f in root.iter("failure")]
    assert any("\\x1b" in text for text in failures)


def test_the_json_keeps_the_text_exactly(tmp_path, hostile):
    """Escaping is for terminals and XML only: the JSON report keeps the data as it is."""
    proc = run_cli("audit", str(hostile), "--normalize", "none", "--json", "-", "-q", cwd=tmp_path)
    previews = [t["preview"] for t in json.loads(proc.stdout)["exact"]["top"]]
    assert any(RETITLE in p for p in previews)


def test_an_error_naming_a_hostile_column_is_one_escaped_line(tmp_path):
    pl.DataFrame({f"col{CLEAR}\nx": ["a", "b"], "other": ["c", "d"]}).write_parquet(tmp_path / "cols.parquet")
    proc = run_cli("audit", "cols.parquet", "--text", "missing", cwd=tmp_path)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1
    _no_raw_controls(proc.stderr)
