"""NaN, Infinity, -Infinity and a number that overflows a float (1e999) are not JSON, but Python's
json.dumps writes the first three (pandas' NaN for a missing number) and its json.loads reads all
four. polars' parser failed on them naming no line ("cannot read input (InternalError(TapeError)
at character 23 ('N'))"), and the line finder, using Python's json, found nothing wrong. Now exit
2 naming the line and how to write the value."""

from __future__ import annotations

import gzip

import pytest

from conftest import assert_clean_error, audit_json, run_cli


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("nan.jsonl", "NaN", "NaN is not JSON"),
        ("nan.jsonl.gz", "NaN", "NaN is not JSON"),
        ("inf.jsonl", "-Infinity", "-Infinity is not JSON"),
        ("big.jsonl", "1e999", "1e999 overflows a 64-bit float"),
        ("nan.json", "Infinity", "Infinity is not JSON"),
    ],
)
def test_nan_and_infinity_are_errors_naming_the_line(tmp_path, name, value, said):
    lines = [b'{"text": "tI", "score": 1.0}'] * 30_000
    lines[25_000] = b'{"text": "NaN 1e999 in a string is text", "score": %s}' % value.encode()
    data = b"[" + b",\n".join(lines) + b"]" if name.endswith(".json") else b"\n".join(lines) + b"\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    for args in (["audit", "--no-near"], ["dedup", "--level", "exact", "-o", str(tmp_path / "kept.jsonl")]):
        proc = run_cli(args[0], str(path), *args[1:])
        assert_clean_error(proc, f"{name}: not valid JSON", f"line 25001: {said}", "write null")
    assert not (tmp_path / "kept.jsonl").exists()


def test_nan_inside_a_string_and_large_finite_numbers_are_read(tmp_path):
    path = tmp_path / "fine.jsonl"
    path.write_text('{"text": "NaN", "score": 1e308}\n{"text": "Infinity", "score": -1.5e300}\n')
    assert audit_json(str(path), "--no-near")["rows"] == 2
