"""Run a command as a child process and measure its wall time and peak RSS (os.wait4)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    stdout: str


def measure(argv: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Wall time and peak resident memory of one run of `argv` (exits on failure)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, text=True, env={**os.environ, **(env or {})})
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if proc.returncode != 0:
            sys.exit(f"command failed ({proc.returncode}): {' '.join(argv)}\n{err.read()}")
        return Measurement(seconds, usage.ru_maxrss / 1024, out.read())


def python_snippet(code: str) -> list[str]:
    return [sys.executable, "-c", code]
