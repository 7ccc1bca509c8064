"""The Python API's local copies of http(s) files: each call reads the file as it is now, and
a long-lived process (a notebook, a service) keeps no copy on disk after a call returns."""

from __future__ import annotations

import functools
import os
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


@pytest.mark.parametrize("ext", [".csv", ".jsonl"])
def test_a_download_larger_than_the_temporary_folders_room_is_refused_before_it_starts(served, tmp_path, monkeypatch, ext):
    """A remote CSV or JSON lines file larger than the room left in TMPDIR was written until the
    disk was full. Refused before its first byte is written: the bytes it needs, where, and how
    to point TMPDIR elsewhere. (The room is faked: a file system that small cannot be made here.)"""
    from epochplan.sources import downloads

    root, base = served
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    frame = pl.DataFrame({"text": [f"row {i} of the served file" for i in range(400)]})
    path = root / f"data{ext}"
    frame.write_csv(path) if ext == ".csv" else frame.write_ndjson(path)
    size = path.stat().st_size
    monkeypatch.setattr(downloads, "free_bytes", lambda folder: size - 1)
    with pytest.raises(epochplan.InputError) as raised:
        epochplan.audit(f"{base}/data{ext}", near=False)
    message = str(raised.value)
    assert f"the download needs {size:,} bytes in {temp} (the temporary folder, TMPDIR), which has {size - 1:,} free" in message
    assert "set TMPDIR to a folder with room" in message and "\n" not in message
    assert not [p for p in temp.glob("epochplan-downloads-*/**/*") if p.is_file()]
    monkeypatch.setattr(downloads, "free_bytes", lambda folder: size)  # room enough: read
    assert epochplan.audit(f"{base}/data{ext}", near=False).rows == 400


def test_a_download_the_disk_refuses_midway_says_what_it_needs_in_one_line(served, tmp_path):
    """A write that fails midway (here the process's file size limit, `ulimit -f`: the one way to
    fill a disk in a test without one): exit 2, one line naming the URL, the bytes the download
    needs and the temporary folder, and how to point TMPDIR elsewhere; no copy left."""
    import resource
    import subprocess
    import sys

    root, base = served
    temp = tmp_path / "temp"
    temp.mkdir()
    pl.DataFrame({"text": [f"row {i} of the served file" for i in range(20_000)]}).write_csv(root / "big.csv")
    size = (root / "big.csv").stat().st_size

    def limit() -> None:  # 64 KiB per file; Python ignores SIGXFSZ, so the write fails with EFBIG
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, resource.RLIM_INFINITY))

    proc = subprocess.run(
        [sys.executable, "-m", "epochplan", "audit", f"{base}/big.csv", "--no-near", "-q"],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(temp)},
        preexec_fn=limit,
        timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.startswith(f"error: {base}/big.csv: cannot download it ("), proc.stderr
    assert f"the download needs {size:,} bytes in {temp}; set TMPDIR to a folder with room" in proc.stderr, proc.stderr
    assert not list(temp.glob("epochplan-downloads-*"))


#: A process holding the download of a URL forks a child that downloads another URL of its own
#: and exits (`sys.exit`: its `atexit` hooks and finalizers run; `os._exit`: none do); the parent
#: then reads its copy, and ends as argv[4] says.
FORKED = """
import json, os, sys
import polars as pl
from epochplan.sources import downloads

base, child_exit, parent_end = sys.argv[1:4]
copy = downloads.download(f"{base}/data.csv")
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    own = downloads.download(f"{base}/other.csv")
    os.write(write, json.dumps([str(own), own.exists()]).encode())
    os._exit(0) if child_exit == "os._exit" else sys.exit(0)
os.close(write)
_, status = os.waitpid(pid, 0)
child = json.loads(os.read(read, 65536))
print(json.dumps({"child": [os.waitstatus_to_exitcode(status), *child], "copy": copy.exists(), "rows": pl.read_csv(copy).height}), flush=True)
if parent_end == "error":
    raise ValueError("the script failed")
if parent_end == "ctrl-c":
    raise KeyboardInterrupt
"""


@pytest.mark.parametrize("parent_end", ["normal", "error", "ctrl-c"])
@pytest.mark.parametrize("child_exit", ["sys.exit", "os._exit"])
def test_a_forked_child_never_removes_its_parents_download(served, tmp_path, child_exit, parent_end):
    """A child forked while a download is held (os.fork, multiprocessing's fork) that exits
    normally ran the finalizer of the parent's `TemporaryDirectory`, which removed the parent's
    copy under its reads. The child's own download is its own, removed at its exit; the parent's
    is removed at the parent's exit, however it ends, and not before."""
    import json
    import subprocess
    import sys

    root, base = served
    temp = tmp_path / "temp"
    temp.mkdir()
    pl.DataFrame({"text": [f"row {i}" for i in range(30)]}).write_csv(root / "data.csv")
    pl.DataFrame({"text": ["another file"]}).write_csv(root / "other.csv")
    proc = subprocess.run(
        [sys.executable, "-c", FORKED, base, child_exit, parent_end],
        capture_output=True,
        text=True,
        env={**os.environ, "TMPDIR": str(temp)},
        timeout=120,
    )
    assert proc.returncode in {"normal": (0,), "error": (1,), "ctrl-c": (-2, 130)}[parent_end], proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    code, own, own_existed = seen["child"]
    assert code == 0 and own_existed, seen
    assert seen["copy"] and seen["rows"] == 30, seen  # the parent's copy, whole, after the child's exit
    left = [p.relative_to(temp) for p in temp.rglob("*") if p.is_file()]
    if child_exit == "sys.exit":
        assert left == [], left  # each exit removed its own folder, and only its own
    else:  # os._exit removes nothing: the child's copy stays, the parent's is gone
        assert [str(temp / p) for p in left] == [own], (left, own)


@pytest.mark.parametrize("name", ["plain.csv.zst", "plain.jsonl.gz", "plain.txt.zst", "v1.feather", "v1.arrow"])
def test_http_files_not_what_their_names_say_are_named_as_local_ones(served, tmp_path, name):
    """Read from a local copy, an http(s) file not compressed as its name says is named so, as a
    local file is; a Feather V1 file's command converts the file once downloaded (pyarrow's
    read_table cannot read a URL: the command named the URL, and failed)."""
    import warnings

    import pyarrow as pa
    import pyarrow.feather as feather

    root, base = served
    if name.startswith("v1."):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # pyarrow deprecates writing V1
            feather.write_feather(pa.table({"text": ["a", "b"]}), str(root / name), version=1)
    else:
        (root / name).write_text('{"text": "a"}\n' if ".jsonl" in name else "text\na\nb\n")
    with pytest.raises(epochplan.InputError) as local:
        epochplan.audit(str(root / name), near=False)
    with pytest.raises(epochplan.InputError) as remote:
        epochplan.audit(f"{base}/{name}", near=False)
    if name.startswith("v1."):
        assert str(remote.value) == str(local.value).replace(f"{root / name}: ", f"{base}/{name}: ").replace(
            "does not read; write", "does not read; download it, then write"
        ).replace(str(root / name), name)
    else:
        assert str(remote.value) == str(local.value).replace(str(root / name), f"{base}/{name}")
        assert "rename it without" in str(remote.value)
