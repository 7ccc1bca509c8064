"""Outputs never destroy what the user had: not an input, not another output, not a device, not a
symlink; and a full disk is the user's environment (exit 2), not our bug (issue 11 items 1-3, 11).

Devices are private device nodes made in the test's folder (or symlinks to /dev/null and
/dev/full where no node can be made): code that wrongly replaces the output with a file then
replaces those, never the machine's /dev/null or /dev/full."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import polars as pl
import pytest

from .helpers import assert_clean_error, char_device, leftovers, run_cli, write_texts


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_texts(tmp_path / "v.parquet", 40)


# --- item 1: plan -o never writes over an input ---------------------------------------------------


def test_plan_output_onto_its_data_is_refused_and_the_data_kept(tmp_path, data):
    before = data.read_bytes()
    proc = run_cli("plan", str(data), "-o", str(data), cwd=tmp_path)
    assert_clean_error(proc, "-o", "is one of the input files")
    assert data.read_bytes() == before


def test_plan_output_onto_its_audit_json_is_refused_and_the_audit_kept(tmp_path, data):
    audit = tmp_path / "a.json"
    assert run_cli("audit", str(data), "--json", str(audit), "-q", cwd=tmp_path).returncode == 0
    before = audit.read_bytes()
    proc = run_cli("plan", "--audit", str(audit), "-o", str(audit), cwd=tmp_path)
    assert_clean_error(proc, "-o", "is one of the input files")
    assert audit.read_bytes() == before


def test_dedup_output_onto_an_eval_split_through_a_symlink_is_refused(tmp_path, data):
    val = write_texts(tmp_path / "val.parquet", 5)
    (tmp_path / "alias.parquet").symlink_to(val)
    before = val.read_bytes()
    proc = run_cli("dedup", str(data), "--eval", str(val), "-o", str(tmp_path / "alias.parquet"), cwd=tmp_path)
    assert_clean_error(proc, "is one of the input files")
    assert val.read_bytes() == before


def test_an_output_onto_the_configuration_or_the_tokenizer_is_refused(tmp_path, data):
    from tokenizer_fixture import write_gpt2_tokenizer_json

    tokenizer = write_gpt2_tokenizer_json(tmp_path / "tokenizer.json")
    config = tmp_path / "settings.toml"
    config.write_text("[audit]\nnear = true\n")
    kept = {path: path.read_bytes() for path in (tokenizer, config)}
    for command in (
        ["audit", str(data), "--tokenizer", str(tokenizer), "--json", str(tokenizer), "-q"],
        ["dedup", str(data), "--config", str(config), "-o", str(config)],
        ["check", str(data), "--config", str(config), "--json", str(config), "-q"],
        ["plan", "--samples", "100", "--config", str(config), "-o", str(config)],
    ):
        assert_clean_error(run_cli(*command, cwd=tmp_path), "is one of the input files")
    assert {path: path.read_bytes() for path in kept} == kept


def test_an_output_onto_the_tokenizer_of_a_model_folder_is_refused(tmp_path, data):
    """`--tokenizer FOLDER` reads FOLDER/tokenizer.json: that file is an input too. It used to
    be overwritten by `--json model/tokenizer.json` (exit 0), and the next audit failed on it."""
    from tokenizer_fixture import write_gpt2_tokenizer_json

    model = tmp_path / "model"
    model.mkdir()
    tokenizer = write_gpt2_tokenizer_json(model / "tokenizer.json")
    before = tokenizer.read_bytes()
    for command in (
        ["audit", str(data), "--tokenizer", str(model), "--json", str(tokenizer), "-q"],
        ["audit", str(data), "--tokenizer", str(model), "--html", str(tokenizer), "-q"],
        ["check", str(data), "--tokenizer", str(model), "--json", str(tokenizer), "-q"],
        ["plan", str(data), "--tokenizer", str(model), "-o", str(tokenizer)],
    ):
        assert_clean_error(run_cli(*command, cwd=tmp_path), "is one of the input files")
    assert tokenizer.read_bytes() == before


# --- item 3: two outputs to one path --------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["dedup", "{data}", "-o", "s3://bucket/clean.parquet"],
        ["dedup", "{data}", "-o", "s3://bucket/clean/"],
        ["audit", "{data}", "--json", "s3://bucket/audit.json"],
        ["audit", "{data}", "--html", "gs://bucket/report.html"],  # a Path option: typer makes it gs:/bucket/…
        ["plan", "{data}", "-o", "https://host/plan.json"],
    ],
)
def test_an_output_url_is_refused_as_remote_not_as_a_missing_folder(tmp_path, data, args):
    # Outputs are local files. Before: "folder s3:/bucket does not exist; create it first".
    proc = run_cli(*[a.format(data=data) for a in args], cwd=tmp_path)
    assert_clean_error(proc, "local files only", "://")
    assert "does not exist" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [data.name]  # nothing written beside the data (no s3: folder)


@pytest.mark.parametrize(
    "first, second",
    [("--json", "--clusters"), ("--clusters", "--leakage"), ("--json", "--leakage")],
)
def test_two_outputs_to_one_path_exit_2_and_write_nothing(tmp_path, data, first, second):
    val = write_texts(tmp_path / "val.parquet", 5)
    target = tmp_path / "out.bin"
    proc = run_cli("audit", str(data), "--eval", str(val), first, str(target), second, str(target), "-q", cwd=tmp_path)
    assert_clean_error(proc, first, second, "both write")
    assert not target.exists()


def test_check_json_and_junit_to_one_file_through_a_link_exit_2(tmp_path, data):
    (tmp_path / "link.xml").symlink_to(tmp_path / "report.xml")
    proc = run_cli("check", str(data), "--json", str(tmp_path / "report.xml"), "--junit", str(tmp_path / "link.xml"), cwd=tmp_path)
    assert_clean_error(proc, "--json", "--junit", "both write")


def test_a_replaced_output_keeps_its_permissions(tmp_path, data):
    # A report kept private (0600) came back world-readable (0644) after the next run.
    for name, mode in (("a.json", 0o600), ("kept.parquet", 0o640), ("r.html", 0o444)):
        (tmp_path / name).write_text("OLD")
        os.chmod(tmp_path / name, mode)
    assert run_cli("audit", str(data), "--json", "a.json", "--html", "r.html", "-q", cwd=tmp_path).returncode == 0
    assert run_cli("dedup", str(data), "-o", "kept.parquet", cwd=tmp_path).returncode == 0
    modes = {name: stat.S_IMODE(os.stat(tmp_path / name).st_mode) for name in ("a.json", "kept.parquet", "r.html")}
    assert modes == {"a.json": 0o600, "kept.parquet": 0o640, "r.html": 0o444}
    assert (tmp_path / "a.json").read_text() != "OLD" and leftovers(tmp_path) == []
    # A new file is made as any new file is: 0666 minus the umask.
    mask = os.umask(0)
    os.umask(mask)
    proc = run_cli("audit", str(data), "--json", "new.json", "-q", cwd=tmp_path)
    assert proc.returncode == 0 and stat.S_IMODE(os.stat(tmp_path / "new.json").st_mode) == 0o666 & ~mask


# --- item 2: symlinks, FIFOs and devices ------------------------------------------------------------


def test_output_through_a_symlink_writes_the_target_and_keeps_the_link(tmp_path, data):
    real = tmp_path / "real.json"
    real.write_text("old")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    clusters_real = tmp_path / "clusters_real.parquet"
    (tmp_path / "clusters.parquet").symlink_to(clusters_real)  # a dangling link: its target is created
    proc = run_cli("audit", str(data), "--json", str(link), "--clusters", str(tmp_path / "clusters.parquet"), "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert link.is_symlink() and (tmp_path / "clusters.parquet").is_symlink()
    assert json.loads(real.read_text())["rows"] == 40
    assert pl.read_parquet(clusters_real).height == 40
    assert leftovers(tmp_path) == []


def test_output_to_a_null_device_and_a_link_to_it_writes_through(tmp_path, data):
    device = char_device(tmp_path, "null.json", "null")
    for name in ("null.parquet", "null.xml"):
        (tmp_path / name).symlink_to(device)
    audit = run_cli("audit", str(data), "--json", "null.json", "--clusters", "null.parquet", "-q", cwd=tmp_path)
    check = run_cli("check", str(data), "--json", "null.json", "--junit", "null.xml", "-q", cwd=tmp_path)
    plan = run_cli("plan", "--samples", "100", "-o", "null.json", cwd=tmp_path)
    dedup = run_cli("dedup", str(data), "-o", "null.parquet", cwd=tmp_path)
    for proc in (audit, check, plan, dedup):
        assert proc.returncode == 0, proc.stderr
    for name in ("null.parquet", "null.xml"):
        assert (tmp_path / name).is_symlink(), f"{name} was replaced by a file"
    assert stat.S_ISCHR(os.stat(device).st_mode), "the device was replaced by a file"
    assert leftovers(tmp_path) == []


def test_output_to_a_fifo_is_written_through(tmp_path, data):
    fifo = tmp_path / "pipe.json"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = run_cli("audit", str(data), "--json", str(fifo), "-q", cwd=tmp_path, timeout=120)
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced by a file"
    assert received and json.loads(received[0])["rows"] == 40


@pytest.mark.parametrize(
    "command, suffix",
    [
        (["dedup", "{data}", "--level", "exact", "-o", "{fifo}"], ".parquet"),
        (["dedup", "{data}", "--level", "exact", "-o", "{fifo}"], ".arrow"),
        (["audit", "{data}", "--clusters", "{fifo}", "-q"], ".parquet"),
    ],
)
def test_parquet_and_arrow_to_a_fifo_are_written_through(tmp_path, data, command, suffix):
    # Their writers ask the file for its position, which a pipe cannot tell: "internal error:
    # OSError: lseek failed" before.
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    proc = run_cli(*[part.format(data=data, fifo=fifo) for part in command], cwd=tmp_path, timeout=120)
    reader.join(timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert stat.S_ISFIFO(os.stat(fifo).st_mode), "the FIFO was replaced by a file"
    (tmp_path / f"got{suffix}").write_bytes(received[0])
    got = (pl.read_parquet if suffix == ".parquet" else pl.read_ipc)(tmp_path / f"got{suffix}")
    assert got.height == 40 and leftovers(tmp_path) == [], got


# --- item 11: a full disk is exit 2 with the OS's words and the path --------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "{data}", "--json", "full.json", "-q"],
        ["audit", "{data}", "--clusters", "full.parquet", "-q"],
        ["check", "{data}", "--junit", "full.xml", "-q"],
        ["plan", "--samples", "100", "-o", "full.json"],
        ["dedup", "{data}", "-o", "full.parquet"],
    ],
)
def test_a_full_disk_is_exit_2_naming_the_path(tmp_path, data, command):
    device = char_device(tmp_path, "full", "full")  # every write there fails with ENOSPC
    for name in ("full.json", "full.parquet", "full.xml"):
        (tmp_path / name).symlink_to(device)
    proc = run_cli(*[part.format(data=data) for part in command], cwd=tmp_path)
    assert_clean_error(proc, "full.", "No space left on device")
    assert "internal error" not in proc.stderr
    assert leftovers(tmp_path) == [] and stat.S_ISCHR(os.stat(device).st_mode)


@pytest.mark.parametrize(
    "command, failing",
    [
        (["audit", "{data}", "--json", "a.json", "--clusters", "c.parquet", "--markdown", "m.md", "--html", "r.html", "-q"], "r.html"),
        (["check", "{data}", "--json", "a.json", "--junit", "j.xml", "--html", "r.html", "-q"], "r.html"),
    ],
)
def test_outputs_land_together_or_not_at_all(tmp_path, data, command, failing):
    # The last output fails (a full device, written through): the ones written before it stay as
    # they were. Each used to be renamed into place as soon as it was written.
    device = char_device(tmp_path, "full", "full")
    (tmp_path / failing).symlink_to(device)
    names = [a for a in command if "." in a and a != failing and not a.startswith("{")]
    for name in names:
        (tmp_path / name).write_text("OLD")
    proc = run_cli(*[part.format(data=data) for part in command], cwd=tmp_path)
    assert_clean_error(proc, failing, "No space left on device")
    assert all((tmp_path / name).read_text() == "OLD" for name in names), names
    assert leftovers(tmp_path) == []
    # Without the failing one, all land.
    (tmp_path / failing).unlink()
    proc = run_cli(*[part.format(data=data) for part in command], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert all((tmp_path / name).read_bytes() != b"OLD" for name in [*names, failing]) and leftovers(tmp_path) == []


def test_a_write_refused_mid_folder_output_is_exit_2_naming_the_folder(tmp_path):
    # `dedup -o DIR/` writes a shard per input file into a temporary folder: a file-size limit
    # (as a full disk or a quota would) stopped it with "internal error: OSError" before.
    import resource
    import signal
    import subprocess
    import sys

    write_texts(tmp_path / "big.parquet", 20_000)

    def limited() -> None:  # writes past 20 kB fail with EFBIG instead of killing the process
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))

    command = [sys.executable, "-m", "epochplan", "dedup", "big.parquet", "-o", "shards/"]
    proc = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, preexec_fn=limited, timeout=300)
    assert_clean_error(proc, "shards", "File too large")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.parquet"], "a shard folder or temporary folder was left"


def test_a_spill_folder_that_is_gone_is_exit_2_not_internal(tmp_path):
    """The core spills near-duplicate sketches to temp files beyond the memory budget (40 000
    sketches are over 16 MiB); a temp folder that does not exist is the environment's problem:
    exit 2 with the OS's words, not an internal error."""
    data = write_texts(tmp_path / "big.parquet", 40_000)
    proc = run_cli("audit", str(data), "--memory-budget", "16MiB", "-q", cwd=tmp_path, env={"TMPDIR": str(tmp_path / "gone")})
    assert_clean_error(proc, "spill", str(tmp_path / "gone"), "No such file or directory")


# --- dedup writes every output format atomically, from every input format ---------------------------


def _input_as(frame: pl.DataFrame, path: Path) -> Path:
    import gzip

    if path.name.endswith(".jsonl.gz"):
        path.write_bytes(gzip.compress(frame.write_ndjson().encode()))
    elif path.suffix == ".csv":
        frame.write_csv(path)
    elif path.suffix == ".arrow":
        frame.write_ipc(path)
    elif path.suffix == ".json":
        path.write_text(json.dumps(frame.to_dicts()))
    else:
        frame.write_parquet(path)
    return path


def _read_output(path: Path) -> pl.DataFrame:
    readers = {".parquet": pl.read_parquet, ".jsonl": pl.read_ndjson, ".csv": pl.read_csv, ".arrow": pl.read_ipc}
    return readers[path.suffix](path)


@pytest.mark.parametrize(
    "source, output",
    [
        ("in.jsonl.gz", "out.arrow"),
        ("in.csv", "out.jsonl"),
        ("in.arrow", "out.csv"),
        ("in.json", "out.parquet"),
        ("in.parquet", "out.arrow"),
    ],
)
def test_dedup_output_of_any_format_is_atomic_through_links_and_devices(tmp_path, source, output):
    from .helpers import texts

    rows = texts(30)
    frame = pl.DataFrame({"text": rows + rows[:10], "n": list(range(40))})  # ten exact duplicates
    data = _input_as(frame, tmp_path / source)
    real = tmp_path / f"real-{output}"
    real.write_text("old")
    (tmp_path / output).symlink_to(real)
    proc = run_cli("dedup", str(data), "--level", "exact", "-o", output, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / output).is_symlink(), "the link was replaced by a file"
    written = _read_output(real)
    n = [str(i) for i in range(30)] if source.endswith(".csv") else list(range(30))  # a CSV's cells are text
    assert written["n"].to_list() == n and written["text"].to_list() == rows
    assert leftovers(tmp_path) == []

    device = char_device(tmp_path, "full", "full")
    full = tmp_path / f"full{Path(output).suffix}"
    full.symlink_to(device)
    proc = run_cli("dedup", str(data), "--level", "exact", "-o", full.name, cwd=tmp_path)
    assert_clean_error(proc, full.name, "No space left on device")
    assert leftovers(tmp_path) == [] and stat.S_ISCHR(os.stat(device).st_mode)


@pytest.mark.parametrize(
    "command, starts",
    [
        (["audit", "{data}", "--markdown", "-", "--json", "a.json"], "## "),
        (["audit", "{data}", "--html", "-"], "<!doctype html>"),
        (["check", "{data}", "--junit", "-"], "<?xml"),
        (["check", "{data}", "--html", "-", "--json", "c.json"], "<!doctype html>"),
    ],
)
def test_a_text_output_to_dash_goes_to_stdout(tmp_path, data, command, starts):
    # Only --json took '-'; --markdown - and --html - wrote a file named '-'.
    proc = run_cli(*[part.format(data=data) for part in command], cwd=tmp_path)
    assert proc.returncode in (0, 1), proc.stderr  # check may fail its gate on this data
    assert proc.stdout.lstrip().lower().startswith(starts.lower()), proc.stdout[:200]
    assert not (tmp_path / "-").exists()
    files = [part for part in command if part.endswith(".json")]
    assert all((tmp_path / name).exists() for name in files) and leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--json", "-", "--markdown", "-"], "--json and --markdown all write to standard output"),
        (["--clusters", "-"], "--clusters -: this output is not written to standard output"),
    ],
)
def test_two_outputs_to_stdout_or_parquet_to_stdout_exit_2(tmp_path, data, args, fragment):
    assert_clean_error(run_cli("audit", str(data), *args, cwd=tmp_path), fragment)
    assert not (tmp_path / "-").exists()


# --- a report to standard output on a full disk is exit 2, never exit 0 half-written ---------------


def _run_to(stdout_path: str, *args: str, cwd: Path, limit: int | None = None):
    """The CLI with its stdout redirected to `stdout_path` (as `> FILE` does); `limit`: a file
    size past which writes fail (EFBIG), as a disk filling up takes part of a write and refuses
    the next."""
    import resource
    import signal
    import subprocess
    import sys

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    with open(stdout_path, "w") as out:
        return subprocess.run(
            [sys.executable, "-m", "epochplan", *args],
            cwd=cwd,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
            timeout=300,
            preexec_fn=limited if limit is not None else None,
        )


STDOUT_REPORTS = [
    ["audit", "{data}", "--json", "-", "-q"],
    ["audit", "{data}", "--markdown", "-"],
    ["audit", "{data}", "--html", "-"],
    ["audit", "{data}"],
    ["check", "{data}", "--json", "-", "-q"],
    ["check", "{data}", "--junit", "-", "-q"],
    ["plan", "--samples", "100", "-o", "-"],
    ["plan", "--samples", "100", "--format", "hf"],
    ["plan", "--samples", "100"],
    ["config", "show", "--json"],
    ["config", "show"],
]


@pytest.mark.parametrize("command", STDOUT_REPORTS)
def test_a_report_to_a_full_stdout_is_exit_2(tmp_path, data, command):
    # `> report.json` on a full disk: exit 3 "internal error: OSError" before.
    proc = _run_to("/dev/full", *[part.format(data=data) for part in command], cwd=tmp_path)
    assert_clean_error(proc, "standard output", "No space left on device")


@pytest.mark.parametrize("command", [c for c in STDOUT_REPORTS if "-" in c or "hf" in c])
def test_a_report_cut_short_on_stdout_is_exit_2_not_exit_0(tmp_path, data, command):
    # The disk fills up in the middle of the report: the OS takes part of a write and refuses the
    # next. Python's stdout buffer dropped the rest without an error: exit 0, half a report.
    args = [part.format(data=data) for part in command]
    whole = _run_to(str(tmp_path / "whole.txt"), *args, cwd=tmp_path)
    assert whole.returncode in (0, 1), whole.stderr
    size = (tmp_path / "whole.txt").stat().st_size
    proc = _run_to(str(tmp_path / "cut.txt"), *args, cwd=tmp_path, limit=size // 2)
    assert_clean_error(proc, "standard output", "File too large")


@pytest.mark.parametrize(
    "command",
    [
        ["audit", "big.parquet", "--html", "-"],
        ["audit", "big.parquet", "--json", "-", "-q"],
        ["check", "big.parquet", "--json", "-", "-q", "--exit-zero"],
        ["config", "show", "--json"],
        ["check", "big.parquet"],  # terminal tables: rich points stdout at /dev/null, then exits 1
        ["audit", "big.parquet"],
        ["config", "show"],
        ["audit", "--help"],
    ],
)
def test_a_report_to_a_closed_pipe_ends_quietly(tmp_path, data, command):
    """`| head -c 10`, `| true`: the reader goes away; nothing to report, no traceback, exit 0.
    The reader closes before anything is written, so the write meets a closed pipe (a report
    smaller than the pipe's buffer would not). typer's click turned that into exit 1 ("the gate
    failed" for check, even with --exit-zero)."""
    import subprocess
    import sys

    write_texts(tmp_path / "big.parquet", 2_000)
    proc = subprocess.Popen([sys.executable, "-m", "epochplan", *command], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == 0, stderr
    assert "Traceback" not in stderr and "error" not in stderr, stderr


@pytest.mark.parametrize("extra, code", [([], 1), (["--exit-zero"], 0)])
def test_a_failed_gate_keeps_its_exit_code_when_the_reader_goes_away(tmp_path, extra, code):
    """`epochplan check data | head` under `set -o pipefail`: the exit code is the verdict. A
    closed pipe made it 1 whatever the gate said, and the fix for that must not make a failed
    gate 0."""
    import subprocess
    import sys

    pl.DataFrame({"text": ["the same row of text"] * 50 + [f"row {i} of its own" for i in range(50)]}).write_parquet(
        tmp_path / "dup.parquet"
    )
    for command in (["check", "dup.parquet", *extra], ["check", "dup.parquet", "--json", "-", *extra]):
        proc = subprocess.Popen([sys.executable, "-m", "epochplan", *command], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=300) == code, (command, stderr)
        assert "Traceback" not in stderr, stderr


def test_a_ray_shutdown_that_fails_leaves_the_commands_exit_code(monkeypatch, capsys):
    """`run()` closes the Ray connection after the command; an error there printed a traceback
    and exited 1 whatever the command's outcome."""
    from epochplan.cli import root

    def broken() -> None:
        raise RuntimeError("raylet went away")

    monkeypatch.setattr(root, "close_engines", broken)
    assert root.run(["config", "show"]) == 0
    assert "warning: closing the Ray connection failed: raylet went away" in capsys.readouterr().err
