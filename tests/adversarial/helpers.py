"""What the adversarial tests share: small datasets written on the spot, the CLI as a subprocess
(also started in the background, for signals), and bounded waits."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import polars as pl

from conftest import REPO, assert_clean_error, default_signals, run_cli

__all__ = [
    "REPO",
    "assert_clean_error",
    "char_device",
    "run_cli",
    "texts",
    "write_texts",
    "start_cli",
    "wait_until",
    "leftovers",
    "run_script",
    "input_with_copies",
]

#: (major, minor) of the Linux memory devices the tests write to.
DEVICES = {"null": (1, 3), "full": (1, 7)}


def texts(n: int, *, prefix: str = "row") -> list[str]:
    """`n` distinct sentences (six words and a number each), so no two rows are duplicates."""
    words = ["amber", "basalt", "cobalt", "dune", "ember", "fjord", "glacier", "harbor", "island", "jungle"]
    return [f"{prefix} {words[i % 10]} {words[(i // 10) % 10]} {words[(i // 100) % 10]} text number {i}" for i in range(n)]


def write_texts(path: Path, n: int, **columns: list) -> Path:
    pl.DataFrame({"text": texts(n), **columns}).write_parquet(path)
    return path


def run_script(cwd: Path, script: str, *args: str) -> subprocess.CompletedProcess:
    """`python -c SCRIPT ARGS` to its end, output captured, its ending signals at their defaults
    (`default_signals`: Ctrl-C, SIGHUP at Python's own handling whatever this test run inherited)."""
    return subprocess.run(
        [sys.executable, "-c", script, *args], cwd=cwd, capture_output=True, text=True, timeout=300, preexec_fn=default_signals
    )


def input_with_copies(tmp_path: Path) -> Path:
    """`in/data.parquet` under `tmp_path`: 300 distinct rows and copies of the first 100."""
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "data.parquet"
    pl.DataFrame({"text": texts(300) + texts(100)}).write_parquet(path)
    return path


def start_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """`python -m epochplan ARGS` in the background, stderr on a pipe (not a terminal), its
    ending signals at their defaults (`default_signals`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "epochplan", *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,  # the tests send it signals: each at its default, as at a terminal
    )


def wait_until(condition: Callable[[], bool], *, limit: float = 120.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail (never hang) past `limit` seconds. A bound, not a
    timing assertion: it only decides when to give up."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.02)


def leftovers(folder: Path) -> list[str]:
    """Temporary files a write would leave behind (`.NAME.XXXX.tmp`)."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def char_device(folder: Path, name: str, kind: str) -> Path:
    """A character device at folder/name that behaves as /dev/`kind`: a private device node when
    the tests may make one (root), else a symlink to /dev/`kind`. Code that wrongly replaces its
    output with a file then replaces this node or link, never the machine's own device."""
    path = folder / name
    try:
        os.mknod(path, 0o666 | stat.S_IFCHR, os.makedev(*DEVICES[kind]))
    except PermissionError:
        path.symlink_to(f"/dev/{kind}")
    assert stat.S_ISCHR(os.stat(path).st_mode), f"/dev/{kind} is not a character device on this machine: restore it (mknod)"
    return path
