"""The Python API's local copies of http(s) files: each call reads the file as it is now, and
a long-lived process (a notebook, a service) keeps no copy on disk after a call returns."""

from __future__ import annotations

import functools
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest

import epochplan
from epochplan.auditing import dedup_to_file


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def served(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("ext", [".csv", ".jsonl"])
def test_a_changed_url_is_read_again_and_no_copy_is_left(served, tmp_path, monkeypatch, ext):
    root, base = served
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    path, url = root / f"data{ext}", f"{base}/data{ext}"

    def write(rows: int) -> None:
        frame = pl.DataFrame({"text": [f"row {i} of the served file" for i in range(rows)]})
        frame.write_csv(path) if ext == ".csv" else frame.write_ndjson(path)

    write(40)
    assert epochplan.audit(url, near=False).rows == 40
    assert not list(temp.glob("epochplan-downloads-*"))
    write(25)
    assert epochplan.audit(url, near=False).rows == 25
    assert epochplan.dedup(url, level="exact").height == 25
    write(10)
    summary = dedup_to_file(url, tmp_path / "out.parquet", level="exact")
    assert summary.rows == 10 and pl.read_parquet(tmp_path / "out.parquet").height == 10
    assert not list(temp.glob("epochplan-downloads-*"))
