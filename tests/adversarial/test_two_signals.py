"""Two ending signals at nearly the same time leave no temporary file behind.

A first signal (SIGTERM) raised in the middle of a write starts its clean-up
(`outputs.remove_temporary`), and a second one (SIGHUP) whose handler was pending then ran at
the first bytecode of that clean-up, before it held signals: the removal never ran and a hidden
`.NAME.<hex>.tmp` file (or `-o DIR/`'s folder) stayed beside the output, about one run in seven
when the two were sent 2 ms apart. The command line now removes what is still registered once a
signal ended it.

The race is made certain here rather than timed: the real CLI `main` runs in a child process
whose write sends itself SIGTERM once the temporary output is written, and whose clean-up sends
itself SIGHUP as it is called, so that the second handler runs before the removal, as in the
race."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from .helpers import input_with_copies, leftovers, run_script

#: The real `epochplan.cli.root.main`, with the two signals sent where the race put them.
CHILD = """
import os, signal, sys
import epochplan.outputs as outputs
import epochplan.auditing.dedup_shards as shards
from epochplan.cli.root import main

def first_signal_then(real):  # the first signal: SIGTERM, once the temporary output is written
    def call(*args):
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args)
    return call

def second_signal_then(remove):  # the second: SIGHUP, handled as the clean-up is called
    def remove_temporary(path):
        os.kill(os.getpid(), signal.SIGHUP)
        remove(path)
    return remove_temporary

outputs._keep_mode = first_signal_then(outputs._keep_mode)  # a file output, its temporary file written
shards._publish = first_signal_then(shards._publish)  # -o DIR/, its shards written to the temporary folder
outputs.remove_temporary = second_signal_then(outputs.remove_temporary)
shards.remove_temporary = second_signal_then(shards.remove_temporary)
sys.argv = ["epochplan", *sys.argv[1:]]
main()
"""


@pytest.fixture
def data(tmp_path) -> Path:
    return input_with_copies(tmp_path)


def _assert_terminated(proc: subprocess.CompletedProcess) -> None:
    # SIGTERM's handler ran first, then SIGHUP's: the first that is not Ctrl-C decides.
    assert (proc.returncode, proc.stderr.strip().splitlines()) == (143, ["terminated"]), proc.stderr


@pytest.mark.parametrize("name", ["out.parquet", "out.jsonl"])
def test_a_second_signal_in_the_clean_up_of_a_dedup_write_leaves_no_temporary_file(tmp_path, data, name):
    out = tmp_path / "out"
    out.mkdir()
    target = out / name
    target.write_bytes(b"OLD OUTPUT")
    proc = run_script(tmp_path, CHILD, "dedup", str(data), "-o", str(target), "-q")
    _assert_terminated(proc)
    assert leftovers(out) == [] and sorted(p.name for p in out.iterdir()) == [name]
    assert target.read_bytes() == b"OLD OUTPUT"  # the user's earlier output, whole


@pytest.mark.parametrize("existing", [False, True], ids=["new-folder", "existing-folder"])
def test_a_second_signal_in_the_clean_up_of_a_folder_output_leaves_no_temporary_folder(tmp_path, data, existing):
    out = tmp_path / "out"
    out.mkdir()
    target = out / "shards"
    if existing:
        target.mkdir()
        (target / "notes.txt").write_text("the user's")
    proc = run_script(tmp_path, CHILD, "dedup", str(data), "-o", f"{target}/", "-q")
    _assert_terminated(proc)
    assert leftovers(out) == []
    assert sorted(p.name for p in out.iterdir()) == (["shards"] if existing else [])
    if existing:
        assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]
        assert (target / "notes.txt").read_text() == "the user's"


def test_a_second_signal_in_the_clean_up_of_staged_outputs_leaves_no_temporary_file(tmp_path, data):
    """The audit's outputs land together (`staged_outputs`): the first is interrupted as it is
    written, and nothing of either is left, the earlier report kept."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.json").write_bytes(b"OLD REPORT")
    proc = run_script(tmp_path, CHILD, "audit", str(data), "--json", str(out / "a.json"), "--markdown", str(out / "m.md"), "-q")
    _assert_terminated(proc)
    assert leftovers(out) == [] and sorted(p.name for p in out.iterdir()) == ["a.json"]
    assert (out / "a.json").read_bytes() == b"OLD REPORT"
