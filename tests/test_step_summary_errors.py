"""$GITHUB_STEP_SUMMARY that cannot be written (a full disk; /dev/full): exit 2 naming it, the
output files left as they were, and the summary left as it was, never cut mid-line. The CLI as
a subprocess, as GitHub Actions runs it."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import assert_clean_error, run_cli
from test_check_cli import dataset

FULL = "/dev/full"
pytestmark = pytest.mark.skipif(not os.path.exists(FULL), reason="needs /dev/full")


@pytest.mark.parametrize(
    "command, output",
    [
        (["audit", "train.parquet", "--json", "out.json", "-q"], "out.json"),
        (["check", "train.parquet", "--junit", "out.xml", "-q", "--exit-zero"], "out.xml"),
        (["check", "train.parquet", "--json", "out.json", "--html", "out.html"], "out.json"),
    ],
)
def test_an_unwritable_step_summary_is_exit_2_and_writes_no_output(tmp_path, command, output):
    # `audit` exited 3 ("internal error: OSError") after out.json was replaced; `check` exit 2
    # blaming standard output, after its files were replaced.
    dataset(tmp_path / "train.parquet", 40, 0)
    (tmp_path / output).write_text("kept\n")
    proc = run_cli(*command, cwd=tmp_path, env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": FULL})
    assert_clean_error(proc, f"$GITHUB_STEP_SUMMARY {FULL}: cannot write (No space left on device)")
    assert (tmp_path / output).read_text() == "kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["train.parquet", output])  # no temporary file


def _limit_file_size(limit: int):
    def apply() -> None:  # a disk that fills up in the middle of the append (EFBIG past the limit)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


@pytest.mark.parametrize("command", [["check", "train.parquet", "--exit-zero"], ["audit", "train.parquet", "-q"]])
def test_a_summary_the_disk_cannot_hold_is_left_as_it_was(tmp_path, command):
    """The disk fills up after part of the append: that part is cut off again (it was left, cut
    mid-line, for the next step to append after)."""
    dataset(tmp_path / "train.parquet", 40, 0)
    summary = tmp_path / "summary.md"
    earlier = "| an earlier step's table row |\n" * 40_000
    summary.write_text(earlier)
    proc = subprocess.run(
        [sys.executable, "-m", "epochplan", *command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**os.environ, "GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
        preexec_fn=_limit_file_size(len(earlier) + 100),  # room for 100 bytes of the summary
        timeout=300,
    )
    assert_clean_error(proc, f"$GITHUB_STEP_SUMMARY {summary}: cannot write")
    assert summary.read_text() == earlier
    assert sorted(p.name for p in Path(tmp_path).iterdir()) == ["summary.md", "train.parquet"]


def test_the_step_summary_says_skipped_once(tmp_path):
    # "- **skipped** `label-imbalance`: skipped: no label column …"
    dataset(tmp_path / "train.parquet", 40, 0)
    summary = tmp_path / "summary.md"
    proc = run_cli("check", "train.parquet", "-q", cwd=tmp_path, env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)})
    assert proc.returncode == 0, proc.stderr
    text = summary.read_text()
    assert "- **skipped** `label-imbalance`: no label column" in text and "skipped: skipped" not in text.replace("`: ", ": "), text
