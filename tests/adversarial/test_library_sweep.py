"""Two quick Ctrl-Cs in a user's script leave no temporary file behind, and a forked child's
exit never removes its parent's.

The command line removes what a cut clean-up left (`test_two_signals.py`); the library has no
`main` to do that. A first Ctrl-C in the middle of `dedup_to_file` (or `dedup_to_folder`)
starts its clean-up, and a second one raised as that clean-up is called, before it removes
anything, left the hidden `.NAME.<hex>.tmp` file (or folder) beside the output once the script
ended on the uncaught KeyboardInterrupt. The first temporary now registers a sweep at the
interpreter's exit (`interrupts._sweep`), which removes only what this process registered: a
child forked meanwhile runs the parent's `atexit` hooks too when it exits normally.

The race is made certain as in `test_two_signals.py`: the write sends the process SIGINT once
the temporary output is written, and the clean-up sends another as it is called."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from .helpers import input_with_copies, leftovers, run_script

#: The library as a user's script calls it, with the two Ctrl-Cs sent where the race put them.
INTERRUPTED = """
import os, signal, sys
import epochplan.outputs as outputs
import epochplan.auditing.dedup_shards as shards
from epochplan.auditing import dedup_to_file, dedup_to_folder

def first_interrupt_then(real):  # the first Ctrl-C, once the temporary output is written
    def call(*args):
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args)
    return call

def second_interrupt_then(remove):  # the second, raised as the clean-up is called
    def remove_temporary(path):
        os.kill(os.getpid(), signal.SIGINT)
        remove(path)
    return remove_temporary

outputs._keep_mode = first_interrupt_then(outputs._keep_mode)  # a file output, its temporary file written
shards._publish = first_interrupt_then(shards._publish)  # a folder output, its shards written to the temporary folder
if sys.argv[3] == "twice":
    outputs.remove_temporary = second_interrupt_then(outputs.remove_temporary)
    shards.remove_temporary = second_interrupt_then(shards.remove_temporary)

def write():
    data, out = sys.argv[1:3]
    (dedup_to_folder if out.endswith("/") else dedup_to_file)(data, out)
"""

#: The script ends on the uncaught KeyboardInterrupt, as a user's does.
UNCAUGHT = INTERRUPTED + "write()\n"

#: The script catches the KeyboardInterrupt and goes on, the cut clean-up's temporary still
#: registered; it forks a child that registers one of its own and exits normally (atexit runs).
FORKED = (
    INTERRUPTED
    + """
import json
from pathlib import Path
from epochplan import interrupts

try:
    write()
except KeyboardInterrupt:
    pass
folder = Path(sys.argv[2]).parent
before = sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))
pid = os.fork()
if pid == 0:
    own = folder / ".child.tmp"
    interrupts.temporary(own)
    own.write_text("the child's")
    sys.exit(0)
_, status = os.waitpid(pid, 0)
after = sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))
print(json.dumps({"child": os.waitstatus_to_exitcode(status), "before": before, "after": after}))
"""
)


@pytest.fixture
def data(tmp_path) -> Path:
    return input_with_copies(tmp_path)


def _assert_interrupted(proc: subprocess.CompletedProcess) -> None:
    # An uncaught KeyboardInterrupt: Python's traceback, then it ends by SIGINT.
    assert proc.returncode == -signal.SIGINT, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "KeyboardInterrupt", proc.stderr


@pytest.mark.parametrize("times", ["once", "twice"])
@pytest.mark.parametrize("name", ["out.parquet", "out.jsonl"])
def test_ctrl_c_in_a_library_write_and_in_its_clean_up_leaves_no_temporary_file(tmp_path, data, name, times):
    out = tmp_path / "out"
    out.mkdir()
    target = out / name
    target.write_bytes(b"OLD OUTPUT")
    proc = run_script(tmp_path, UNCAUGHT, str(data), str(target), times)
    _assert_interrupted(proc)
    assert leftovers(out) == [] and sorted(p.name for p in out.iterdir()) == [name]
    assert target.read_bytes() == b"OLD OUTPUT"  # the user's earlier output, whole


def test_ctrl_c_in_a_library_folder_write_and_in_its_clean_up_leaves_no_temporary_folder(tmp_path, data):
    out = tmp_path / "out"
    out.mkdir()
    proc = run_script(tmp_path, UNCAUGHT, str(data), f"{out / 'shards'}/", "twice")
    _assert_interrupted(proc)
    assert list(out.iterdir()) == []


def test_a_forked_child_exiting_never_removes_its_parents_temporary_file(tmp_path, data):
    out = tmp_path / "out"
    out.mkdir()
    proc = run_script(tmp_path, FORKED, str(data), str(out / "out.parquet"), "twice")
    assert proc.returncode == 0, proc.stderr
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    parents = seen["before"]
    assert len(parents) == 1 and parents[0].startswith(".out.parquet."), seen  # the cut clean-up's file, still registered
    # The child removed its own temporary at its exit, and left its parent's.
    assert seen == {"child": 0, "before": parents, "after": parents}, proc.stderr
    assert leftovers(out) == [] and list(out.iterdir()) == []  # the parent's own exit removed it
