"""A CSV or TSV line with another number of fields than its header is exit 2 naming the file, the
line and the fix, wherever the file comes from: polars' reader (plain local files) padded a
short line with nulls and dropped a long line's extra fields (`1,hello, world` was the text
`hello`, exit 0 with a duplicate that is not one), and pyarrow's (compressed files) said
"Expected 2 columns, got 3" without a line."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

import epochplan
from conftest import assert_clean_error, audit_json, run_cli, write_compressed
from epochplan import InputError
from test_remote import RangeHandler

#: A value spanning lines before the bad line: pyarrow numbers it as one row, the error its line.
HEAD = 'id,text,label\n1,"a value\nspanning lines",x\n2,fine,y\n'


@pytest.mark.parametrize("name", ["rows.csv", "rows.csv.gz", "rows.tsv", "rows.tsv.zst"])
@pytest.mark.parametrize(
    ("line", "fields", "fix"),
    [("3,hello, world,z", 4, "must be quoted"), ("3,short", 2, "write an empty field for a missing value")],
    ids=["unquoted-separator", "short"],
)
def test_a_line_with_other_fields_than_the_header_is_named(tmp_path, name, line, fields, fix):
    sep = "\t" if ".tsv" in name else ","
    write_compressed(tmp_path / name, (HEAD + line + "\n4,last,x\n").replace(",", sep))
    want = f"{name}: line 5 has {fields} fields where the header has 3"
    for args in (
        ["audit", "--no-near"],
        ["audit", "--no-near", "--text", "text", "--label", "label"],
        ["dedup", "-o", str(tmp_path / "out.csv")],
    ):
        assert_clean_error(run_cli(args[0], str(tmp_path / name), *args[1:]), want, fix)
    assert not (tmp_path / "out.csv").exists()
    with pytest.raises(InputError, match=want):
        epochplan.audit(str(tmp_path / name), near=False)


@pytest.mark.parametrize("name", ["far.csv", "far.csv.gz"])
def test_a_bad_line_past_the_first_batches_is_named(tmp_path, name):
    """Read a batch at a time: the plain file's check runs beside polars' read, the compressed
    file's reader stops at the line."""
    rows = "".join(f"{i},row {i}\n" for i in range(300_000))
    write_compressed(tmp_path / name, "id,text\n" + rows + "300000,hello, world\n" + "1,tail\n" * 10)
    proc = run_cli("audit", str(tmp_path / name), "--no-near", "-q", env={"EPOCHPLAN_BATCH_ROWS": "10000"})
    assert_clean_error(proc, f"{name}: line 300002 has 3 fields where the header has 2 ('300000,hello, world')")


@pytest.mark.parametrize("name", ["semi.csv", "semi.csv.gz"])
def test_another_separator_with_a_comma_in_a_text_names_the_separator(tmp_path, name):
    """Read as one column, a semicolon file warns (`separator`); one comma in a text made it
    "cannot read rows (found more fields than defined in 'Schema')", no line, no hint."""
    write_compressed(tmp_path / name, "id;text\n1;hello world\n2;hello, world\n")
    proc = run_cli("audit", str(tmp_path / name), "--no-near")
    assert_clean_error(proc, f"{name}: line 3 has 2 fields where the header has 1", "looks separated by ';'", "separator=';'")


def test_well_formed_files_still_read(tmp_path):
    write_compressed(tmp_path / "ok.csv", HEAD + '3,"hello, world",z\n\n4,"",x\n')
    result = audit_json(str(tmp_path / "ok.csv"), "--no-near", "--normalize", "none")
    assert (result["rows"], result["null_rows"], result["empty_rows"]) == (5, 1, 1)


class _WholeFiles(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class _Ranges(RangeHandler):
    pass


@pytest.mark.parametrize("handler", [_WholeFiles, _Ranges], ids=["whole-files", "ranges"])
def test_over_http(tmp_path, handler):
    """A CSV over http is read from a local copy (with byte ranges too: polars' reader ended a
    file early on short range replies), checked as a local file."""
    write_compressed(tmp_path / "rows.csv", HEAD + "3,hello, world,z\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/rows.csv"
        assert_clean_error(run_cli("audit", url, "--no-near"), f"{url}: line 5 has 4 fields where the header has 3", "must be quoted")
    finally:
        server.shutdown()
        server.server_close()


def test_files_polars_reads_as_they_are_still_read(tmp_path):
    """A line of whitespace alone or of `""` (a row, as polars pads it), and a carriage return
    inside an unquoted value (a line end to pyarrow, part of the value to polars): read as they
    were before the check, not refused as lines with fewer fields."""
    (tmp_path / "spaces.csv").write_text("id,text,label\n1,a,x\n   \n2,b,y\n")
    assert audit_json(str(tmp_path / "spaces.csv"), "--no-near")["rows"] == 3
    (tmp_path / "cr.csv").write_bytes(b"id,text,label\n1,some\rtext,pos\n2,b,neg\n")
    (tmp_path / "cr.tsv").write_bytes(b"id\ttext\n1\tfoo\rbar\n2\tb\n")
    for name in ("cr.csv", "cr.tsv"):
        result = audit_json(str(tmp_path / name), "--no-near", "--normalize", "none")
        assert result["rows"] == 2 and result["exact"]["unique"] == 2, name


def test_a_quoted_value_cut_by_the_end_of_an_http_head_is_not_a_fault(tmp_path):
    """Over http with byte ranges only the first 2 MB were checked: their end inside a quoted
    value that spans lines (not in the last column) read as a short line, and a valid file was
    exit 2. The whole file is checked now, from its download."""
    rows = "".join(f'"p {i}\nline two {"x" * (i % 50)}",{i % 3}\n' for i in range(60_000))
    (tmp_path / "ml.csv").write_text("text,label\n" + rows)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Ranges, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/ml.csv"
        result = audit_json(url, "--no-near", "--label", "label")
        assert result["rows"] == 60_000 and result["labels"]["counts"] == {"0": 20_000, "1": 20_000, "2": 20_000}
    finally:
        server.shutdown()
        server.server_close()
