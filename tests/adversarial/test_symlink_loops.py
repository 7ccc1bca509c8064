"""A path that is a symlink loop (`ln -s loop loop`), or goes through one, is the user's input:
one line naming it and exit 2, before any work, for every output option and for the inputs. An
output loop was an internal error (exit 3, Python 3.11's RuntimeError "Symlink loop" from
`Path.resolve`), and `dedup -o loop/` failed only after the whole dedup, "Not a directory"."""

from __future__ import annotations

from pathlib import Path

import pytest

from .helpers import assert_clean_error, run_cli, write_texts


@pytest.fixture()
def folder(tmp_path) -> Path:
    """data.parquet, audit.json (its audit), and two loops: `loop` -> `loop`, `a` -> `b` -> `a`."""
    write_texts(tmp_path / "data.parquet", 50)
    assert run_cli("audit", "data.parquet", "--json", "audit.json", "-q", cwd=tmp_path).returncode == 0
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    return tmp_path


@pytest.mark.parametrize(
    "args",
    [
        ["audit", "data.parquet", "--json", "loop"],
        ["audit", "data.parquet", "--clusters", "loop"],
        ["audit", "data.parquet", "--html", "a"],
        ["audit", "data.parquet", "--markdown", "loop"],
        ["dedup", "data.parquet", "-o", "loop"],
        ["dedup", "data.parquet", "-o", "loop/"],
        ["check", "data.parquet", "--junit", "loop"],
        ["plan", "data.parquet", "-o", "loop"],
        ["report", "audit.json", "-o", "loop"],
    ],
    ids=[
        "audit-json",
        "audit-clusters",
        "audit-html-two-links",
        "audit-markdown",
        "dedup",
        "dedup-folder",
        "check-junit",
        "plan",
        "report",
    ],
)
def test_an_output_that_is_a_symlink_loop_is_exit_2(folder, args):
    proc = run_cli(*args, cwd=folder)
    assert_clean_error(proc, f"{args[-1]}: is a symlink loop", "remove or repoint the link")
    assert sorted(p.name for p in folder.iterdir()) == ["a", "audit.json", "b", "data.parquet", "loop"]


def test_an_output_through_a_symlink_loop_is_exit_2(folder):
    proc = run_cli("audit", "data.parquet", "--clusters", "loop/c.parquet", cwd=folder)
    assert_clean_error(proc, "--clusters loop/c.parquet: goes through a symlink loop")


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["audit", "loop"], "loop: is a symlink loop"),
        (["audit", "loop/x.parquet"], "loop/x.parquet: goes through a symlink loop"),
        (["audit", "data.parquet", "--eval", "a"], "a: is a symlink loop"),
        (["report", "loop", "-o", "r.html"], "loop: is a symlink loop"),
    ],
    ids=["data", "data-through", "eval", "report-audit"],
)
def test_an_input_that_is_a_symlink_loop_is_exit_2(folder, args, fragment):
    proc = run_cli(*args, cwd=folder)
    assert_clean_error(proc, fragment, "remove or repoint the link")
