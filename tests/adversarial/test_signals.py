"""Interrupted runs leave nothing behind: SIGINT exits 130, SIGTERM 143, SIGHUP 129 and SIGQUIT
131, during long work and during output writing, with no temporary file, no half output, the
user's earlier output kept, and no crash (issue 11 items 5, 6). SIGHUP and SIGQUIT once left the
temporary files (`.NAME.<hex>.tmp`, `-o DIR/`'s folder) behind: only SIGINT and SIGTERM were handled.

Each test starts the real CLI, waits (bounded) for a point of the run it can see - a progress
line on stderr, or the temporary file of an output - sends the signal and checks the exit code
and the folder. Nothing is timed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import polars as pl
import pytest

from conftest import default_signals

from .helpers import leftovers, start_cli, texts, wait_until

EXIT = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129, signal.SIGQUIT: 131}
LINE = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated", signal.SIGHUP: "hung up", signal.SIGQUIT: "quit"}
#: Every signal that ends a command, for parametrize.
ENDINGS = pytest.mark.parametrize("sig", list(EXIT), ids=[s.name for s in EXIT])
PROGRESS_EVERY_BATCH = {"EPOCHPLAN_PROGRESS_SECONDS": "0"}


def _first_progress_line(proc: subprocess.Popen, marker: str) -> list[str]:
    """Read stderr until a progress line with `marker` (bounded: the process must print it)."""
    seen: list[str] = []
    assert proc.stderr is not None
    while True:
        line = proc.stderr.readline()
        assert line, f"the run ended before printing {marker!r}: {''.join(seen)}"
        seen.append(line)
        if marker in line:
            return seen


def _finish(proc: subprocess.Popen) -> str:
    try:
        _, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return err


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """200 000 rows with a label: long enough to interrupt between batches of 2 000."""
    folder = tmp_path_factory.mktemp("signals")
    n = 200_000
    pl.DataFrame({"text": texts(n), "label": [str(i % 7) for i in range(n)]}).write_parquet(folder / "data.parquet")
    return folder / "data.parquet"


@ENDINGS
def test_a_signal_during_the_audit_exits_cleanly_and_writes_nothing(tmp_path, corpus, sig):
    out = tmp_path / "out"
    out.mkdir()
    args = ["audit", str(corpus), "--json", str(out / "a.json"), "--clusters", str(out / "c.parquet"), "-q"]
    proc = start_cli(*args, cwd=tmp_path, env={**PROGRESS_EVERY_BATCH, "EPOCHPLAN_BATCH_ROWS": "2000"})
    _first_progress_line(proc, "rows")
    proc.send_signal(sig)
    err = _finish(proc)
    assert (proc.returncode, err.strip().splitlines()[-1:]) == (EXIT[sig], [LINE[sig]]), err
    assert "Traceback" not in err and "panicked" not in err
    assert sorted(p.name for p in out.iterdir()) == []


def _interrupt_a_write(
    tmp_path: Path, args: list[str], output: Path, sig: signal.Signals, env: dict[str, str], prior: bytes | None = None
) -> str:
    """Start the command, wait for the temporary file (or folder) of `output`, send `sig`. A write
    can end before it is seen: then the run is repeated (bounded), never passed unchecked.
    `prior`: the content `output` holds before each run (None: no file)."""
    for _ in range(5):
        if prior is not None:
            output.write_bytes(prior)
        proc = start_cli(*args, cwd=tmp_path, env=env)
        pattern = f".{output.name}."

        def writing() -> bool:
            return proc.poll() is not None or any(p.name.startswith(pattern) for p in output.parent.iterdir())

        wait_until(writing, limit=240, what=f"the temporary file of {output.name}")
        if proc.poll() is not None:  # finished before the write was seen: try again
            if output.is_dir():
                shutil.rmtree(output)
            output.unlink(missing_ok=True)
            continue
        proc.send_signal(sig)
        err = _finish(proc)
        assert (proc.returncode, err.strip().splitlines()[-1:]) == (EXIT[sig], [LINE[sig]]), err
        return err
    raise AssertionError(f"the write of {output.name} was never caught in five runs")


@ENDINGS
def test_a_signal_during_the_dedup_write_leaves_no_temporary_file(tmp_path, corpus, sig):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "dedup.parquet"
    args = ["dedup", str(corpus), "--level", "exact", "-o", str(target)]
    err = _interrupt_a_write(tmp_path, args, target, sig, {"EPOCHPLAN_BATCH_ROWS": "500"}, prior=b"OLD")
    assert "POLARS" not in err and "panicked" not in err and "Traceback" not in err
    assert leftovers(out) == [] and sorted(p.name for p in out.iterdir()) == ["dedup.parquet"]
    assert target.read_bytes() == b"OLD"  # the user's earlier output, whole


@ENDINGS
def test_a_signal_during_a_folder_output_leaves_no_temporary_folder(tmp_path, corpus, sig):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "outdir"
    args = ["dedup", str(corpus), "--level", "exact", "-o", f"{target}/"]
    err = _interrupt_a_write(tmp_path, args, target, sig, {"EPOCHPLAN_BATCH_ROWS": "500"})
    assert "panicked" not in err and "Traceback" not in err
    assert sorted(p.name for p in out.iterdir()) == []


@ENDINGS
def test_a_signal_during_the_clusters_write_leaves_no_temporary_file(tmp_path, sig):
    n = 1_000_000
    data = tmp_path / "many.parquet"
    pl.DataFrame({"text": [f"t{i}" for i in range(n)]}).write_parquet(data)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "c.parquet"
    err = _interrupt_a_write(tmp_path, ["audit", str(data), "--no-near", "--clusters", str(target), "-q"], target, sig, {})
    assert "Traceback" not in err
    assert leftovers(out) == [] and not target.exists()


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGQUIT, signal.SIGTERM], ids=["SIGHUP", "SIGQUIT", "SIGTERM"])
def test_a_signal_the_parent_ignored_stays_ignored(tmp_path, corpus, sig):
    """`nohup epochplan …` ignores SIGHUP (a background job of a script, SIGQUIT): the command
    that handles it must not take it back, or closing the terminal would end a run meant to go on.
    SIGTERM likewise (the command line put its handler in over an ignored one)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "epochplan", "audit", str(corpus), "--json", "a.json", "-q"],
        cwd=tmp_path,
        env={**os.environ, **PROGRESS_EVERY_BATCH, "EPOCHPLAN_BATCH_ROWS": "2000"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: (default_signals(), signal.signal(sig, signal.SIG_IGN)),
    )
    _first_progress_line(proc, "rows")
    proc.send_signal(sig)
    err = _finish(proc)
    assert proc.returncode == 0, err
    assert (tmp_path / "a.json").is_file() and leftovers(tmp_path) == []


def test_ctrl_c_while_streaming_with_a_label_never_aborts(tmp_path, corpus):
    """Item 6: Ctrl-C while batches stream with --label used to end in 134 ("terminate called
    without an active exception"): the prefetch thread was still decoding in pyarrow's C++ when
    the interpreter exited. Repeated, because the crash needed the thread mid-batch."""
    for attempt in range(6):
        proc = start_cli(
            "audit",
            str(corpus),
            "--label",
            "label",
            "-q",
            cwd=tmp_path,
            env={**PROGRESS_EVERY_BATCH, "EPOCHPLAN_BATCH_ROWS": "50000"},
        )
        _first_progress_line(proc, "rows")
        proc.send_signal(signal.SIGINT)
        err = _finish(proc)
        assert proc.returncode == 130, (attempt, proc.returncode, err)
        assert "terminate called" not in err


def test_a_parquet_writer_left_open_by_an_interrupt_is_collected_quietly(tmp_path):
    """An interrupt between opening a ParquetWriter and holding it (or inside its close) leaves it
    open on a sink that the clean-up closes; collecting it then printed a traceback on the way
    out ("Exception ignored in ParquetWriter.__del__"), as a plain `pq.ParquetWriter` here does."""
    import gc
    import sys

    import pyarrow as pa

    from epochplan.outputs import parquet_writer

    unraisable: list[object] = []
    previous, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        sink = pa.OSFile(str(tmp_path / "x.parquet"), "wb")
        writer = parquet_writer(sink, pa.schema([("a", pa.int64())]))
        sink.close()
        del writer
        gc.collect()
    finally:
        sys.unraisablehook = previous
    assert unraisable == []


# --- a signal between two renames: the outputs land all together, then the command stops ----------


def _interrupt_after(monkeypatch, name: str, calls: int, sig: int) -> None:
    """`os.<name>` (replace, rename) sends `sig` to this process right after its `calls`-th rename,
    as a Ctrl-C or `kill` landing between two renames of a run would."""
    import os

    real = getattr(os, name)
    done = []

    def rename_then_signal(src, dst):
        real(src, dst)
        done.append(dst)
        if len(done) == calls:
            os.kill(os.getpid(), sig)

    monkeypatch.setattr(os, name, rename_then_signal)


@ENDINGS
def test_a_signal_between_the_renames_of_outputs_lands_them_all(tmp_path, monkeypatch, sig):
    from epochplan.cli.root import Terminated, _on_signal
    from epochplan.outputs import atomic_write_text, staged_outputs

    others = [s for s in EXIT if s != signal.SIGINT]
    previous = {s: signal.signal(s, _on_signal) for s in others}  # the CLI's handler: they raise Terminated
    try:
        names = ["a.json", "m.md", "r.html"]
        for name in names:
            (tmp_path / name).write_text("OLD")
        _interrupt_after(monkeypatch, "replace", 1, sig)
        with pytest.raises(KeyboardInterrupt) as stopped:
            with staged_outputs() as stage:
                for name in names:
                    atomic_write_text(tmp_path / name, "NEW", stage)
        # a.json was replaced, then the signal: m.md and r.html stayed old (and their temporary files removed).
        assert [(tmp_path / name).read_text() for name in names] == ["NEW"] * 3
        assert leftovers(tmp_path) == []
        assert isinstance(stopped.value, Terminated) == (sig != signal.SIGINT)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def test_ctrl_c_between_the_shards_moved_into_a_folder_moves_them_all(tmp_path, monkeypatch):
    from epochplan.auditing import dedup_to_folder

    folder = tmp_path / "in"
    folder.mkdir()
    for k in range(5):
        pl.DataFrame({"text": texts(50, prefix=f"shard {k}")}).write_parquet(folder / f"part-{k:02d}.parquet")
    out = tmp_path / "out"
    out.mkdir()  # an existing folder: each shard is renamed in on its own
    _interrupt_after(monkeypatch, "rename", 3, signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        dedup_to_folder(str(folder), out, text="text", level="exact")
    # part-00..02 were moved in, then Ctrl-C: a rerun was refused ("already holds part-00.parquet").
    assert sorted(p.name for p in out.iterdir()) == [f"part-{k:02d}.parquet" for k in range(5)]
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.")]


# --- Ctrl-C at several points of a dedup write: one interrupt, and its clean-up runs to the end ---


def _ctrl_c_into_the_write(tmp_path: Path, corpus: Path, output: str, delay: float) -> tuple[int | None, str]:
    """Start `dedup corpus -o output` in a fresh folder, send SIGINT `delay` seconds after its
    temporary output appears (or not at all if the run ended first); the exit code and stderr."""
    folder = tmp_path / f"run-{output.strip('/')}-{delay}"
    folder.mkdir()
    proc = start_cli("dedup", str(corpus), "--level", "exact", "-o", output, cwd=folder, env={"EPOCHPLAN_BATCH_ROWS": "500"})

    def writing() -> bool:
        return proc.poll() is not None or any(p.name.endswith(".tmp") for p in folder.iterdir())

    wait_until(writing, limit=240, what=f"the temporary output of {output}")
    if proc.poll() is None:
        time.sleep(delay)  # where in the write the signal lands; any outcome is checked the same
        proc.send_signal(signal.SIGINT)
    err = _finish(proc)
    assert leftovers(folder) == [], (output, delay, proc.returncode, err)
    assert proc.returncode in (0, 130), (output, delay, err)
    assert "Traceback" not in err and "panicked" not in err
    if proc.returncode == 130:
        assert [p.name for p in folder.iterdir()] == [], (output, delay)  # no partial output either
    return proc.returncode, err


@pytest.fixture(scope="module")
def csv_corpus(corpus) -> Path:
    """The corpus as CSV: `-o DIR/` writes each shard in its input's format, and CSV is written
    through polars calls, where the interrupt used to be raised twice."""
    path = corpus.with_name("data.csv")
    pl.read_parquet(corpus).write_csv(path)
    return path


@pytest.mark.parametrize("output", ["out.csv", "out.jsonl", "out.tsv", "outdir/"])
def test_ctrl_c_anywhere_in_a_dedup_write_leaves_no_temporary_file(tmp_path, corpus, csv_corpus, output):
    """Polars installs its own SIGINT handler on import: a Ctrl-C inside a polars call raised a
    KeyboardInterrupt from polars and then a second one from Python's handler, in the clean-up
    the first had started, and the temporary file (or `-o DIR/`'s temporary folder) stayed,
    about half the time. The CLI puts Python's handler back. Several delays, so that some land
    inside polars calls; whatever each hits, nothing is left behind, and at least one run must
    have been interrupted for the test to say anything."""
    data = csv_corpus if output.endswith("/") else corpus
    codes = [_ctrl_c_into_the_write(tmp_path, data, output, delay)[0] for delay in (0, 0.005, 0.01, 0.02, 0.03, 0.05)]
    assert 130 in codes, codes


def test_an_interrupt_python_cannot_raise_ends_as_interrupted_in_one_line():
    """A Ctrl-C landing in a weakref callback (Ray's clean-up as a run ends) cannot be raised:
    Python printed "Exception ignored in: <function WeakSet…> … KeyboardInterrupt" and the
    command exited 0. It now ends as any interrupt does: exit 130, one line."""
    script = (
        "import weakref\n"
        "import epochplan.cli.root as root\n"
        "class Held: pass\n"
        "def run(argv=None):\n"
        "    held = Held()\n"
        "    def gone(_):\n"
        "        raise KeyboardInterrupt\n"
        "    ref = weakref.ref(held, gone)\n"
        "    del held  # the callback runs here; its KeyboardInterrupt is unraisable\n"
        "    return 0\n"
        "root.run = run\n"
        "root.main()\n"
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert (proc.returncode, proc.stderr.strip().splitlines()) == (130, ["interrupted"]), proc.stderr


# --- a signal while the main thread waits inside native code: a server that stopped answering ----


class _StallingHandler(BaseHTTPRequestHandler):
    """Serves files (`bodies`) as a byte-range server would, answering the `bytes=0-0` probe, then
    holds every other request unanswered: polars' HTTP reader (Parquet) waits for its range
    inside Rust, in the main thread, where Python never runs a signal handler; the download of a
    JSON lines file waits for its body."""

    protocol_version = "HTTP/1.1"
    bodies: dict[str, bytes] = {}
    stalled = threading.Event()  # a data request arrived and is held
    release = threading.Event()  # set at teardown: the held requests end

    def log_message(self, *args):
        pass

    def do_HEAD(self):
        self._answer(head=True)

    def do_GET(self):
        self._answer(head=False)

    def _answer(self, head: bool) -> None:
        body, wanted = self.bodies[self.path.lstrip("/")], self.headers.get("Range")
        if wanted != "bytes=0-0" and not head:  # a range (polars' Parquet reader) or the whole file (a download)
            self.stalled.set()
            self.release.wait(120)
            self.close_connection = True
            return
        probe = wanted == "bytes=0-0"
        self.send_response(206 if probe else 200)
        if probe:
            self.send_header("Content-Range", f"bytes 0-0/{len(body)}")
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", "1" if probe else str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body[:1] if probe else body)


@pytest.fixture
def stalling_server(tmp_path):
    """(its URL, its handler class) for a server on 127.0.0.1 (a free port) that serves x.parquet
    and x.jsonl up to their first data request, and holds that; stopped at teardown."""
    frame = pl.DataFrame({"text": texts(500)})
    frame.write_parquet(tmp_path / "x.parquet")
    frame.write_ndjson(tmp_path / "x.jsonl")
    bodies = {name: (tmp_path / name).read_bytes() for name in ("x.parquet", "x.jsonl")}
    handler = type("Handler", (_StallingHandler,), {"bodies": bodies, "stalled": threading.Event(), "release": threading.Event()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        handler.release.set()
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    ("name", "sig"),
    [("x.parquet", signal.SIGINT), ("x.parquet", signal.SIGTERM), ("x.parquet", signal.SIGHUP), ("x.jsonl", signal.SIGINT)],
    ids=["parquet-SIGINT", "parquet-SIGTERM", "parquet-SIGHUP", "jsonl-SIGINT"],
)
def test_a_signal_ends_a_read_stalled_in_native_code(tmp_path, stalling_server, name, sig):
    """Python runs signal handlers only between bytecodes of the main thread: while it waited
    inside polars' Rust HTTP reader for a server that stopped answering, Ctrl-C and SIGTERM did
    nothing and the command never ended (only SIGKILL ended it). It now ends as any interrupt
    does: exit 130 / 143, one line, no output and no temporary file. The 60 s bound is the
    failure mode (a run that never ends), not a timing assertion."""
    url, handler = stalling_server
    out, temp = tmp_path / "out", tmp_path / "tmp"
    out.mkdir()
    temp.mkdir()
    proc = start_cli("audit", f"{url}/{name}", "--json", str(out / "a.json"), "-q", cwd=tmp_path, env={"TMPDIR": str(temp)})
    try:
        wait_until(lambda: handler.stalled.is_set() or proc.poll() is not None, limit=120, what="the stalled request")
        assert proc.poll() is None, proc.communicate()[1]
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert (proc.returncode, err.strip().splitlines()) == (EXIT[sig], [LINE[sig]]), err
    assert list(out.iterdir()) == [] and list(temp.iterdir()) == []
