"""`dedup` from JSON lines to JSON lines copies the lines it keeps, byte for byte: written back
from polars' columns (one type per key), a list became its JSON text, `1` became `1.0` beside a
`1.5`, and a key only other lines had was added as null, nested objects too."""

from __future__ import annotations

import functools
import gzip
import json
import threading
import warnings
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest
import zstandard

import epochplan
from conftest import assert_clean_error, run_cli
from epochplan.auditing import dedup_to_file
from epochplan.sources.sniff import SCHEMA_BYTES

# Rows 0 and 2 are one text once normalised (row 2 the longer), each line with a type or a key
# the other lines do not have.
LINES = [
    b'{"text":"the same words in this row","n":1,"o":{"k":1}}',
    b'{"text":["a","list","of","words","here"],"n":1.5,"o":{"k":"x"},"extra":true}',
    b'{"text":"The  SAME words in this row","n":2,"o":{}}',
    b'{"text":["a","list","of","words","here","and","more"],"n":3}',
    b'{"text":"another row with its own words","deep":{"a":[1,{"b":null}]},"n":10000000000000000001}',
]


def _kept(*rows: int, ends: tuple[bytes, ...] = ()) -> bytes:
    return b"".join(LINES[r] + (ends[r] if ends else b"\n") for r in rows)


def _dedup(src, out, *args: str) -> None:
    proc = run_cli("dedup", str(src), "--level", "exact", *args, "-o", str(out))
    assert proc.returncode == 0, proc.stderr


@pytest.mark.parametrize("name", ["in.jsonl", "in.ndjson", "in.json", "in.jsonl.gz", "in.jsonl.zst"])
def test_dedup_copies_the_kept_lines_as_they_were(tmp_path, name):
    data = b"\n".join(LINES) + b"\n"
    if name.endswith(".gz"):
        data = gzip.compress(data)
    elif name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    (tmp_path / name).write_bytes(data)
    for out in ("kept.jsonl", "kept.ndjson"):
        _dedup(tmp_path / name, tmp_path / out)
        assert (tmp_path / out).read_bytes() == _kept(0, 1, 3, 4)


def test_blank_lines_and_crlf_do_not_shift_the_rows(tmp_path):
    """polars makes no row of a blank line (spaces, tabs, a lone \\r): the kept rows' lines are
    the lines those rows were read from, each with its own line break; a last line without one
    gets one. Read through polars (plain file) and streamed (a byte order mark, gzip)."""
    ends = (b"\r\n", b"\n", b"\r\n", b"\n", b"")
    body = b"\n \t\r\n".join(line + end for line, end in zip(LINES, ends, strict=True))
    want = _kept(0, 1, 3, ends=ends[:4]) + LINES[4] + b"\n"
    for name, data in (("a.jsonl", b"\r\n\n" + body), ("bom.jsonl", b"\xef\xbb\xbf" + body), ("a.jsonl.gz", gzip.compress(body))):
        (tmp_path / name).write_bytes(data)
        _dedup(tmp_path / name, tmp_path / "kept.jsonl")
        assert (tmp_path / "kept.jsonl").read_bytes() == want, name


def test_keep_longest_and_eval_choose_which_lines_are_copied(tmp_path):
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(LINES) + b"\n")
    (tmp_path / "val.jsonl").write_text(json.dumps({"text": "another row with its own words"}) + "\n")
    _dedup(tmp_path / "in.jsonl", tmp_path / "longest.jsonl", "--keep", "longest")
    assert (tmp_path / "longest.jsonl").read_bytes() == _kept(1, 2, 3, 4)
    _dedup(tmp_path / "in.jsonl", tmp_path / "clean.jsonl", "--eval", str(tmp_path / "val.jsonl"))
    assert (tmp_path / "clean.jsonl").read_bytes() == _kept(0, 1, 3)


def test_several_files_each_kept_line_from_its_own_file(tmp_path):
    """A folder to one file and to a folder of shards: each file's lines, in input order."""
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "p0.jsonl").write_bytes(LINES[0] + b"\n" + LINES[1])  # no line break at its end
    (shards / "p1.jsonl").write_bytes(b"\n".join(LINES[2:]) + b"\n")
    (shards / "p2.jsonl").write_bytes(b"")  # an emptied shard
    _dedup(shards, tmp_path / "kept.jsonl")
    assert (tmp_path / "kept.jsonl").read_bytes() == _kept(0, 1, 3, 4)
    _dedup(shards, f"{tmp_path / 'out'}/")
    assert (tmp_path / "out" / "p0.jsonl").read_bytes() == _kept(0, 1)
    assert (tmp_path / "out" / "p1.jsonl").read_bytes() == _kept(3, 4)


def test_other_outputs_and_inputs_still_go_through_the_columns(tmp_path):
    (tmp_path / "in.jsonl").write_bytes(b"\n".join(LINES[:4]) + b"\n")
    _dedup(tmp_path / "in.jsonl", tmp_path / "kept.parquet")
    assert pl.read_parquet(tmp_path / "kept.parquet")["n"].to_list() == [1.0, 1.5, 3.0]
    pl.DataFrame({"text": ["x y z", "x y z", "u v w"], "n": [1, 2, 3]}).write_parquet(tmp_path / "in.parquet")
    _dedup(tmp_path / "in.parquet", tmp_path / "from-parquet.jsonl")
    assert (tmp_path / "from-parquet.jsonl").read_text() == '{"text":"x y z","n":1}\n{"text":"u v w","n":3}\n'


def test_a_downloaded_copy_is_copied_from_too(tmp_path):
    """An http(s) server without byte ranges: the file is read from a local copy, its lines too."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "in.jsonl.gz").write_bytes(gzip.compress(b"\n".join(LINES) + b"\n"))

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/in.jsonl.gz"
        summary = dedup_to_file(url, tmp_path / "kept.jsonl", level="exact")
    finally:
        server.shutdown()
        server.server_close()
    assert summary.kept == 4
    assert (tmp_path / "kept.jsonl").read_bytes() == _kept(0, 1, 3, 4)
    assert pl.read_ndjson(tmp_path / "kept.jsonl").height == 4
    # Into polars' columns, 10000000000000000001 beside 1.5 would read as 1e19: refused.
    with pytest.raises(epochplan.InputError, match=r"line 4: 10000000000000000001 becomes 1e\+19"):
        epochplan.dedup(str(tmp_path / "kept.jsonl"), level="exact")


MIXED = b'{"text": "first row words", "id": 12345678901234567}\n{"text": "second row words", "id": 0.5}\n'


@pytest.mark.parametrize(
    ("name", "data", "suffix"),
    [
        ("mix.jsonl", MIXED, ".csv"),
        ("mix.jsonl", MIXED, ".parquet"),
        ("mix.jsonl", MIXED, ".arrow"),
        ("mix.jsonl.gz", gzip.compress(MIXED), ".csv"),
        (
            "mix.json",
            b'[{"text": "first row words", "n": {"a": [12345678901234567]}}, {"text": "second row words", "n": {"a": [0.5]}}]',
            ".parquet",
        ),
    ],
    ids=["csv", "parquet", "arrow", "gzip", "json-array-nested"],
)
def test_a_whole_number_one_file_reads_as_a_float_is_refused_for_other_formats(tmp_path, name, data, suffix):
    """One file whose key holds 12345678901234567 on one line and 0.5 on another reads as one
    float column: written to CSV, Parquet or Arrow it became 1.2345678901234568e+16, exit 0 (two
    files of the same lines were refused already). Now exit 2 naming the column, the line and
    the value; JSON lines output still copies the lines as written."""
    source = tmp_path / name
    source.write_bytes(data)
    target = tmp_path / f"out{suffix}"
    proc = run_cli("dedup", str(source), "--level", "exact", "-o", str(target))
    column = "'n'" if name.endswith(".json") else "'id'"
    where = "record 1" if name.endswith(".json") else "line 1"
    assert_clean_error(proc, column, name, "changes its values", f"{where}: 12345678901234567 becomes 1.2345678901234568e+16", ".jsonl")
    assert not target.exists()
    if not name.endswith(".json"):
        lines = tmp_path / "out.jsonl"
        assert run_cli("dedup", str(source), "--level", "exact", "-o", str(lines)).returncode == 0
        assert lines.read_bytes() == MIXED


@pytest.mark.parametrize("name", ["mix.jsonl", "mix.json"])
def test_the_python_api_is_told_its_own_way_out_of_a_rounded_number(tmp_path, name):
    """`epochplan.dedup()` and `dedup_to_file()` were told the command line's way out ("-o
    FILE.jsonl or -o DIR/"): neither takes -o. Now each names what it can do; the command line
    keeps its words."""
    records = [{"text": "first row words", "id": 12345678901234567}, {"text": "second row words", "id": 0.5}]
    source = tmp_path / name
    source.write_text("".join(json.dumps(r) + "\n" for r in records) if name.endswith("l") else json.dumps(records))
    proc = run_cli("dedup", str(source), "--level", "exact", "-o", str(tmp_path / "out.parquet"))
    assert_clean_error(proc, "-o FILE.jsonl")
    where = "line 1" if name.endswith("l") else "record 1"
    changed = f"which changes its values ({where}: 12345678901234567 becomes 1.2345678901234568e+16); "
    with pytest.raises(epochplan.InputError) as caught:
        epochplan.dedup(str(source), level="exact")
    returned = str(caught.value)
    target = tmp_path / "api.parquet"
    with pytest.raises(epochplan.InputError) as caught:
        dedup_to_file(str(source), target, level="exact")
    written = str(caught.value)
    assert not target.exists()
    assert "-o " not in returned and "-o " not in written
    if name.endswith("l"):
        assert returned == (
            f"dedup: column 'id' is Float64 in {source}, {changed}the DataFrame dedup() returns holds a column in one type: write "
            "JSON lines with epochplan.auditing.dedup_to_file(data, 'out.jsonl'), which copies the lines as written, or give "
            "the key one JSON type (those numbers as strings)"
        )
        assert written == (
            f"out={str(target)!r}: column 'id' is Float64 in {source}, {changed}write JSON lines (an out path ending in .jsonl "
            "copies the lines as written), or give the key one JSON type (those numbers as strings)"
        )
        dedup_to_file(str(source), tmp_path / "api.jsonl", level="exact")  # which does what it says
        assert (tmp_path / "api.jsonl").read_text() == source.read_text()
    else:
        assert returned.endswith(
            "and dedup those with epochplan.auditing.dedup_to_file(data, 'out.jsonl'), which copies the lines as written"
        )
        assert written.endswith("and dedup those to an out path ending in .jsonl, which copies the lines as written")


def test_whole_numbers_a_float_holds_exactly_beside_fractions_are_written(tmp_path):
    source = tmp_path / "ok.jsonl"
    source.write_bytes(b'{"text": "first row words", "id": 1234567890123456}\n{"text": "second row words", "id": 0.5}\n')
    proc = run_cli("dedup", str(source), "--level", "exact", "-o", str(tmp_path / "out.csv"))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_csv(tmp_path / "out.csv")["id"].to_list() == [1234567890123456.0, 0.5]


def _big_ids_then(last: dict, rows: int = 45_000) -> bytes:
    """JSON lines past the 2 MiB head the columns are inferred from (SCHEMA_BYTES): whole
    numbers past 2^53 in key 'id', 1 in key 'x', then `last`."""
    lines = [json.dumps({"text": f"row {i} words", "id": 12345678901234567 + i, "x": 1}) for i in range(rows)]
    data = "\n".join([*lines, json.dumps(last)]).encode() + b"\n"
    assert len(data) > SCHEMA_BYTES
    return data


@pytest.mark.parametrize(("name", "suffix"), [("late.jsonl", ".csv"), ("late.jsonl", ".parquet"), ("late.jsonl.gz", ".arrow")])
def test_a_fraction_after_the_head_is_refused_too(tmp_path, name, suffix):
    """The check went by the columns of the file's first 2 MiB, where 'id' held whole numbers
    only: a 0.5 on line 45,001 made the written column Float64 and 12345678901234567 was written
    as 1.2345678901234568e+16, exit 0 (`epochplan.dedup` failed inside polars: "cannot parse
    '0.5' (f64) as Int64"). Now the columns every line gives are checked; the audit reads it."""
    data = _big_ids_then({"text": "last row words", "id": 0.5, "x": 1})
    source = tmp_path / name
    source.write_bytes(gzip.compress(data, compresslevel=1) if name.endswith(".gz") else data)
    target = tmp_path / f"out{suffix}"
    proc = run_cli("dedup", str(source), "--level", "exact", "-o", str(target))
    assert_clean_error(proc, "'id' is Float64", "line 1: 12345678901234567 becomes 1.2345678901234568e+16", "-o FILE.jsonl")
    assert not target.exists()
    with pytest.raises(epochplan.InputError, match=r"line 1: 12345678901234567 becomes"):
        epochplan.dedup(str(source), level="exact")
    lines = tmp_path / "out.jsonl"
    assert run_cli("dedup", str(source), "--level", "exact", "-o", str(lines)).returncode == 0
    assert lines.read_bytes() == data
    audit = run_cli("audit", str(source))
    assert audit.returncode == 0, audit.stderr


def test_a_fraction_after_the_head_in_another_key_keeps_the_whole_numbers(tmp_path):
    """0.5 late in key 'x' makes 'x' Float64 (1 is written as 1.0, exactly); 'id' stays whole."""
    (tmp_path / "late.jsonl").write_bytes(_big_ids_then({"text": "last row words", "id": 1, "x": 0.5}))
    proc = run_cli("dedup", str(tmp_path / "late.jsonl"), "--level", "exact", "-o", str(tmp_path / "out.parquet"))
    assert proc.returncode == 0, proc.stderr
    out = pl.read_parquet(tmp_path / "out.parquet")
    assert out["id"].dtype == pl.Int64 and out["id"][:2].to_list() == [12345678901234567, 12345678901234568]
    assert out["x"][-2:].to_list() == [1.0, 0.5]


def test_a_json_array_is_told_what_helps(tmp_path):
    """A JSON array's records are written from polars' columns to every output, JSON lines too,
    and a folder output cannot hold a .json shard: the advice was "write JSON lines (-o
    FILE.jsonl or -o DIR/ ...)", which exits 2 again. Now it names what does help, and both work."""
    records = [{"text": "first row words", "id": 12345678901234567}, {"text": "second row words", "id": 0.5}]
    (tmp_path / "in.json").write_text(json.dumps(records))
    for target in ("out.jsonl", "out.parquet"):
        proc = run_cli("dedup", str(tmp_path / "in.json"), "--level", "exact", "-o", str(tmp_path / target))
        assert_clean_error(proc, "record 1: 12345678901234567 becomes", "numbers as strings", "rewrite the array as JSON lines")
        assert "DIR/" not in proc.stderr
    # As JSON lines (Python's json keeps the numbers), copied to a JSON lines output as written.
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    _dedup(tmp_path / "in.jsonl", tmp_path / "out.jsonl")
    assert [json.loads(line)["id"] for line in (tmp_path / "out.jsonl").read_text().splitlines()] == [12345678901234567, 0.5]
    # The numbers as strings, to any output.
    (tmp_path / "quoted.json").write_text(json.dumps([{**r, "id": str(r["id"])} for r in records]))
    _dedup(tmp_path / "quoted.json", tmp_path / "out.parquet")
    assert pl.read_parquet(tmp_path / "out.parquet")["id"].to_list() == ["12345678901234567", "0.5"]


@pytest.mark.parametrize(
    "lines",
    [
        # a 16-digit fraction beside a 19-digit id: nothing to refuse (and no line to parse)
        [{"text": "first row words", "id": 1234567890123456789, "score": 0.8444218515250481}, {"text": "second", "id": 2, "score": 1}],
        # a whole number inside a float column's list in an object, and one written with an exponent
        [{"text": "first row words", "n": {"a": [12345678901234567]}}, {"text": "second", "n": {"a": [0.5, 1.2345678901234567e16]}}],
    ],
    ids=["fraction-digits", "nested"],
)
def test_only_whole_numbers_a_float_changes_are_refused(tmp_path, lines):
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    proc = run_cli("dedup", str(tmp_path / "in.jsonl"), "--level", "exact", "-o", str(tmp_path / "out.parquet"))
    if "n" in lines[0]:
        assert_clean_error(proc, "'n' is Struct", "line 1: 12345678901234567 becomes 1.2345678901234568e+16")
    else:
        assert proc.returncode == 0, proc.stderr
        assert pl.read_parquet(tmp_path / "out.parquet")["id"][0] == 1234567890123456789


def _null_then(rows: int, last: dict | None = None) -> str:
    lines = [json.dumps({"text": f"row a {i}", "x": None}) for i in range(rows)]
    return "\n".join([*lines, *([json.dumps(last)] if last else [])]) + "\n"


@pytest.mark.parametrize("rows", [3, 70_000], ids=["small", "past-the-head"])
def test_a_key_null_on_every_line_of_one_file_takes_the_other_files_type(tmp_path, rows):
    """A key null on every line of a JSON lines file is read as a string (a sparse text field
    would otherwise fail on its first value further on), and a folder's files joined in that
    type: `dedup d -o out.parquet` wrote b.jsonl's numbers as text, with a warning. Now such a
    key takes the other files' type, as a Parquet column of polars' Null type does; null in
    every file, it stays a string, and a key that holds text past the head is text."""
    d = tmp_path / "d"
    d.mkdir()
    (d / "a.jsonl").write_text(_null_then(rows))
    assert (rows < 10) == ((d / "a.jsonl").stat().st_size < SCHEMA_BYTES)  # past the head: every line read
    (d / "b.jsonl").write_text("".join(json.dumps({"text": f"row b {i}", "x": i}) + "\n" for i in range(3)))
    for name in ("out.parquet", "out.arrow"):
        proc = run_cli("dedup", str(d), "--level", "exact", "-o", str(tmp_path / name))
        assert proc.returncode == 0 and "warning" not in proc.stderr, proc.stderr
    for got in (pl.read_parquet(tmp_path / "out.parquet"), pl.read_ipc(tmp_path / "out.arrow")):
        assert got.schema == pl.Schema({"text": pl.String, "x": pl.Int64})
        assert got["x"].to_list() == [None] * rows + [0, 1, 2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert epochplan.dedup(str(d), level="exact").schema["x"] == pl.Int64
    (d / "b.jsonl").write_text('{"text": "row b", "x": null}\n')  # null in every file: a string, as today
    assert epochplan.dedup(str(d), level="exact").schema["x"] == pl.String
    if rows > 10:  # null through the head, text after it: the sparse text field is read as text
        (d / "a.jsonl").write_text(_null_then(rows, {"text": "last row", "x": "late text"}))
        (d / "b.jsonl").write_text('{"text": "row b", "x": 1}\n')
        with pytest.warns(UserWarning, match=r"'x' is String in .*a.jsonl, Int64 in .*b.jsonl"):
            got = epochplan.dedup(str(d), level="exact")
        assert got["x"].to_list()[-2:] == ["late text", "1"]
