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
    """data.parquet, audit.json (its audit), two loops: `loop` -> `loop`, `a` -> `b` -> `a`, and
    two links that are no loop but lead into one: `into` -> `loop/x`, `sub/into` -> `../loop/x`."""
    write_texts(tmp_path / "data.parquet", 50)
    assert run_cli("audit", "data.parquet", "--json", "audit.json", "-q", cwd=tmp_path).returncode == 0
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / "a").symlink_to("b")
    (tmp_path / "b").symlink_to("a")
    (tmp_path / "into").symlink_to("loop/x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "into").symlink_to("../loop/x")
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
    assert sorted(p.name for p in folder.iterdir()) == ["a", "audit.json", "b", "data.parquet", "into", "loop", "sub"]


def test_an_output_through_a_symlink_loop_is_exit_2(folder):
    proc = run_cli("audit", "data.parquet", "--clusters", "loop/c.parquet", cwd=folder)
    assert_clean_error(proc, "--clusters loop/c.parquet: goes through a symlink loop at loop (")


@pytest.mark.parametrize("link", ["into", "sub/into"])
def test_a_link_into_a_symlink_loop_is_not_called_one(folder, link):
    """`into` -> `loop/x` is no loop itself: the message names the link that loops, as a path
    from where the user stands (was: "into: is a symlink loop")."""
    proc = run_cli("audit", "data.parquet", "--json", link, cwd=folder)
    assert_clean_error(proc, f"--json {link}: goes through a symlink loop at loop (", "remove or repoint the link")
    assert "is a symlink loop" not in proc.stderr


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["audit", "loop"], "loop: is a symlink loop"),
        (["audit", "loop/x.parquet"], "loop/x.parquet: goes through a symlink loop at loop ("),
        (["audit", "into"], "into: goes through a symlink loop at loop ("),
        (["audit", "data.parquet", "--eval", "a"], "a: is a symlink loop"),
        (["report", "loop", "-o", "r.html"], "loop: is a symlink loop"),
        # Not "no such file … Hub model names are not fetched": `os.path.exists` is False for a loop.
        (["audit", "data.parquet", "--tokenizer", "loop"], "tokenizer loop: is a symlink loop"),
        (
            ["audit", "data.parquet", "--tokenizer", "loop/tokenizer.json"],
            "tokenizer loop/tokenizer.json: goes through a symlink loop at loop (",
        ),
        (["audit", "data.parquet", "--tokenizer", "into"], "tokenizer into: goes through a symlink loop at loop ("),
        # Not "file not found".
        (["audit", "data.parquet", "--config", "loop"], "--config loop: is a symlink loop"),
        (["audit", "data.parquet", "--config", "into"], "--config into: goes through a symlink loop at loop ("),
    ],
    ids=[
        "data",
        "data-through",
        "data-link-into",
        "eval",
        "report-audit",
        "tokenizer",
        "tokenizer-through",
        "tokenizer-link-into",
        "config",
        "config-link-into",
    ],
)
def test_an_input_that_is_a_symlink_loop_is_exit_2(folder, args, fragment):
    proc = run_cli(*args, cwd=folder)
    assert_clean_error(proc, fragment, "remove or repoint the link")


def test_a_model_folder_whose_tokenizer_json_is_a_symlink_loop_says_so(folder):
    """Not "tokenizer folder model has no tokenizer.json": it has one, a loop."""
    (folder / "model").mkdir()
    (folder / "model" / "tokenizer.json").symlink_to("tokenizer.json")
    proc = run_cli("audit", "data.parquet", "--tokenizer", "model", cwd=folder)
    assert_clean_error(proc, "tokenizer model/tokenizer.json: is a symlink loop", "remove or repoint the link")


def test_the_api_says_a_tokenizer_symlink_loop_too(folder, monkeypatch):
    import epochplan

    monkeypatch.chdir(folder)
    with pytest.raises(epochplan.InputError, match=r"^tokenizer loop: is a symlink loop \("):
        epochplan.audit("data.parquet", tokenizer="loop")


def test_a_chain_of_too_many_links_is_not_called_a_loop(tmp_path):
    """45 links in a row, the last to a real file: the OS refuses it (ELOOP), but no link loops."""
    from epochplan.errors import InputError, refuse_symlink_loop

    (tmp_path / "end").write_text("x")
    for i in range(45):
        (tmp_path / f"l{i}").symlink_to(f"l{i + 1}" if i < 44 else "end")
    with pytest.raises(InputError, match="l0: goes through more symlinks in a row than the OS follows"):
        refuse_symlink_loop("--json", tmp_path / "l0")
