"""A lone UTF-16 surrogate escape in JSON (`\\ud83d` without its pair: an emoji cut in two, common
in scraped text) is no character. polars' parser read a lone high one as U+0000, so "great game
\\ud83d" and "great game \\ud83e" were one exact duplicate (and `dedup` deleted all but one); a
lone low one failed with "InvalidUnicodeCodepoint at character 2 ('u')", naming no line. Both
are now exit 2 naming the line, as invalid UTF-8 in a Parquet file is; a real `\\u0000` and a
proper pair (an escaped emoji) are text as before."""

from __future__ import annotations

import gzip

import pytest

from conftest import assert_clean_error, audit_json, run_cli

CUT = [rb'{"text": "great game \ud83d"}', rb'{"text": "great game \ud83e"}', rb'{"text": "great game \ud83c"}']


@pytest.mark.parametrize("name", ["cut.jsonl", "cut.jsonl.gz", "cut.json", "low.jsonl"])
def test_a_lone_surrogate_escape_is_an_error_naming_its_line(tmp_path, name):
    lines = [rb'{"text": "fine \ud83d\ude00 emoji"}', *CUT]
    if name.startswith("low"):
        lines = [lines[0], rb'{"text": "a \uDE00 b"}']
    data = b"[" + b",\n".join(lines) + b"]" if name.endswith(".json") else b"\n".join(lines) + b"\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    escape = r"\ude00" if name.startswith("low") else r"\ud83d"
    for args in (["audit", "--no-near"], ["dedup", "--level", "exact", "-o", str(tmp_path / "kept.jsonl")]):
        proc = run_cli(args[0], str(path), *args[1:])
        assert_clean_error(proc, f"{name}: not valid JSON", f"line 2: {escape} is half of a UTF-16 surrogate pair")
    assert not (tmp_path / "kept.jsonl").exists()


def test_a_nul_escape_and_escaped_pairs_are_text(tmp_path):
    path = tmp_path / "fine.jsonl"
    path.write_bytes(b'{"text": "nul \\u0000 here"}\n{"text": "nul \\u0000 here"}\n{"text": "smile \\ud83d\\ude00"}\n')
    audit = audit_json(str(path), "--no-near")
    assert (audit["rows"], audit["exact"]["unique"]) == (3, 2)


def test_a_lone_surrogate_in_a_key_the_audit_does_not_read_is_refused_by_dedup(tmp_path):
    """dedup writes every key: to Parquet, a lone high surrogate in `meta` became U+0000."""
    path = tmp_path / "meta.jsonl"
    path.write_bytes(b'{"text": "ok", "meta": "cut \\ud83d"}\n{"text": "fine", "meta": "x"}\n')
    proc = run_cli("dedup", str(path), "--level", "exact", "-o", str(tmp_path / "kept.parquet"))
    assert_clean_error(proc, "meta.jsonl: not valid JSON lines (line 1: \\ud83d is half of a UTF-16 surrogate pair")
    assert not (tmp_path / "kept.parquet").exists()
