"""A CSV or TSV whose lines end in a carriage return alone (classic Mac OS; Excel for Mac's "CSV
(Macintosh)") is read row by row, as pyarrow, pandas and Python's csv module read it: polars'
scan of a plain local file split on `\\n` only and read one line, a header of every row
("several string columns (id, text\\r1, ...)", or "no rows to audit"), exit 2."""

from __future__ import annotations

import csv
import gzip
import io
import json

import polars as pl
import pytest

import epochplan
from conftest import assert_clean_error, audit_json, run_cli
from epochplan.sources.sniff import SCHEMA_BYTES, head_lines

ROWS = [("1", "hello"), ("2", "a value\rspanning lines"), ("3", "hello"), ("4", "world, again"), ("5", "a value\rspanning lines")]


def _cr_file(separator: str, rows=ROWS, before: bytes = b"") -> bytes:
    """`rows` under an `id`/`text` header written by Python's csv module with `\\r` line ends
    (values holding the separator or a line end quoted)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=separator, lineterminator="\r")
    writer.writerow(["id", "text"])
    writer.writerows(rows)
    return before + out.getvalue().encode()


def _written(path) -> list[tuple[str, str]]:
    """The rows of a CSV, TSV, JSONL or Parquet file, read without epochplan."""
    if path.suffix == ".jsonl":
        return [(r["id"], r["text"]) for r in map(json.loads, path.read_text().splitlines())]
    if path.suffix == ".parquet":
        return [(str(i), t) for i, t in pl.read_parquet(path).select("id", "text").iter_rows()]
    with open(path, newline="") as f:
        return [tuple(row) for row in list(csv.reader(f, delimiter="\t" if path.suffix == ".tsv" else ","))[1:]]


@pytest.mark.parametrize("name", ["mac.csv", "mac.tsv", "mac.csv.gz", "bom.csv", "blank.csv"])
def test_lines_ending_in_a_carriage_return_are_rows(tmp_path, name):
    data = _cr_file("\t" if ".tsv" in name else ",", before={"bom.csv": b"\xef\xbb\xbf", "blank.csv": b"\r\r"}.get(name, b""))
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    result = audit_json(str(tmp_path / name), "--no-near", "--normalize", "none")
    assert (result["rows"], result["exact"]["unique"], result["source"]["text_columns"]) == (5, 3, ["text"])


def test_one_column_with_carriage_returns_is_not_empty(tmp_path):
    (tmp_path / "one.csv").write_bytes(b"text\rhello\rworld\rhello\r")
    result = audit_json(str(tmp_path / "one.csv"), "--no-near")
    assert (result["rows"], result["exact"]["unique"]) == (3, 2)


@pytest.mark.parametrize("out", ["kept.csv", "kept.tsv", "kept.jsonl", "kept.parquet"])
def test_dedup_writes_the_rows_of_a_carriage_return_file(tmp_path, out):
    (tmp_path / "mac.csv").write_bytes(_cr_file(","))
    proc = run_cli("dedup", str(tmp_path / "mac.csv"), "-o", str(tmp_path / out), "--level", "exact", "--normalize", "none")
    assert proc.returncode == 0, proc.stderr
    assert _written(tmp_path / out) == [ROWS[0], ROWS[1], ROWS[3]]


def test_a_file_larger_than_its_head(tmp_path):
    """Past SCHEMA_BYTES: every row read, and the head (where types are inferred) is cut at a
    line end, not read to the end of the file in search of a `\\n`."""
    rows = [(str(i), f"row {i % 1000} of many") for i in range(200_000)]
    data = _cr_file(",", rows)
    assert len(data) > 2 * SCHEMA_BYTES
    head, whole = head_lines(io.BytesIO(data))
    assert not whole and len(head) <= SCHEMA_BYTES and head.endswith(b"\r")
    (tmp_path / "big.csv").write_bytes(data)
    result = epochplan.audit(str(tmp_path / "big.csv"), near=False)
    assert (result.rows, result.exact.unique) == (200_000, 1000)


def test_a_ragged_line_is_named(tmp_path):
    (tmp_path / "ragged.csv").write_bytes(b"id,text\r1,fine\r2,hello, world\r3,end\r")
    assert_clean_error(
        run_cli("audit", str(tmp_path / "ragged.csv"), "--no-near"), "ragged.csv: line 3 has 3 fields where the header has 2"
    )


def test_carriage_returns_in_quoted_values_of_a_newline_file_stay_values(tmp_path):
    (tmp_path / "lf.csv").write_bytes(b'id,text\n1,"a\rb"\n2,"a\rb"\n3,c\n')
    result = audit_json(str(tmp_path / "lf.csv"), "--no-near", "--normalize", "none")
    assert (result["rows"], result["exact"]["unique"]) == (3, 2)


def _long_line_file(cell: str, separator: str = ",") -> bytes:
    """1,000 rows under `id`/`text` with `\\n` line ends: line 501 holds an extra unquoted field,
    line 11 the `cell` (a lone `\\r` in it: pyarrow's check ended a line there, and was dropped)."""
    lines = ["id,text"] + [f"{i},row number {i}" for i in range(1000)]
    lines[500] = "499,extra,field"
    lines[10] = f"9,{cell}"
    return ("\n".join(lines) + "\n").replace(",", separator).encode()


@pytest.mark.parametrize(
    ("name", "cell"), [("plain.csv", "no carriage return"), ("quoted.csv", '"a\rb"'), ("unquoted.csv", "a\rb"), ("plain.tsv", "a\rb")]
)
def test_a_lone_carriage_return_in_a_value_leaves_a_long_line_named(tmp_path, name, cell):
    """`audit` read 1,000 rows and exit 0 (line 501's extra field dropped), `dedup` said only
    polars' "found more fields than defined in 'Schema'": as without the `\\r`, line 501 is named."""
    separator = "\t" if name.endswith(".tsv") else ","
    (tmp_path / name).write_bytes(_long_line_file(cell, separator))
    want = f"{name}: line 501 has 3 fields where the header has 2 ({'499,extra,field'.replace(',', separator)!r})"
    assert_clean_error(run_cli("audit", str(tmp_path / name), "--json", "-"), want)
    assert_clean_error(run_cli("dedup", str(tmp_path / name), "-o", str(tmp_path / "out.parquet")), want)
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize("cell", ["a\rb", "no carriage return"])
def test_naming_a_long_line_leaves_the_csv_modules_field_size_limit_as_it_was(tmp_path, cell):
    """The check parses the file again with Python's csv module, without its field size limit:
    a process-wide setting of the user's, put back after (the API runs in the user's process)."""
    (tmp_path / "x.csv").write_bytes(_long_line_file(cell))
    before = csv.field_size_limit()
    with pytest.raises(epochplan.InputError, match="line 501 has 3 fields"):
        epochplan.audit(str(tmp_path / "x.csv"))
    assert csv.field_size_limit() == before


def test_a_lone_carriage_return_in_a_value_of_a_newline_file_stays_in_its_value(tmp_path):
    """No long line: every row read, the `\\r` kept in its value as Python's csv module reads a
    quoted one (polars reads an unquoted one so too), and no line named for it."""
    data = _long_line_file('"a\rquoted"').replace(b"499,extra,field", b'499,"b\rquoted"').replace(b"\n20,", b"\n20,c\runquoted ")
    (tmp_path / "cr.csv").write_bytes(data)
    proc = run_cli("dedup", str(tmp_path / "cr.csv"), "-o", str(tmp_path / "out.parquet"), "--level", "exact", "--normalize", "none")
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / "cr.csv", newline="") as f:
        want = [tuple(row) for row in list(csv.reader(f))[1:]]
    got = _written(tmp_path / "out.parquet")
    assert len(got) == 1000 and got[9] == want[9] == ("9", "a\rquoted")
    assert got[499] == ("499", "b\rquoted") and got[499] in want
    assert got[20] == ("20", "c\runquoted row number 20")  # the csv module ends a record at it: polars does not


@pytest.mark.parametrize("name", ["mac.csv", "cdn/mac.csv", "mac.tsv", "a dir/mac 1.csv"])
def test_an_hf_file_whose_lines_end_in_a_carriage_return_is_rows(tmp_path, hub, name):
    """polars' reader of hf:// read one line (a header of every row, or "no rows"): read as a
    local file is, from a copy fetched with the token (not sent on to the CDN's host)."""
    files, env = hub
    (files / name).parent.mkdir(exist_ok=True)
    (files / name).write_bytes(_cr_file("\t" if name.endswith(".tsv") else ","))
    url = f"hf://datasets/user/repo/{name}"
    result = audit_json(url, "--no-near", "--normalize", "none", env=env)
    assert (result["rows"], result["exact"]["unique"], result["source"]["paths"]) == (5, 3, [url])
    proc = run_cli("dedup", url, "-o", str(tmp_path / "kept.csv"), "--level", "exact", "--normalize", "none", env=env)
    assert proc.returncode == 0, proc.stderr
    assert _written(tmp_path / "kept.csv") == [ROWS[0], ROWS[1], ROWS[3]]
    assert_clean_error(run_cli("audit", url, env={**env, "HF_TOKEN": "wrong"}), f"{url}: cannot read it (HTTP Error 401")
