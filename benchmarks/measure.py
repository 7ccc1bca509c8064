"""Run a command as a child process and measure its wall time and peak RSS.

Linux carries a process's peak RSS over fork and exec, so a command forked from a benchmark
script that has grown (polars, a generated corpus) would report the script's peak as its own.
Commands are therefore forked from a small launcher process started when this module is
imported (import it first), which reaps each child with os.wait4 for its own rusage.

Importing this module also compiles epochplan's Python bytecode, as `pip install` does: a source
checkout run with PYTHONDONTWRITEBYTECODE=1 (as on the project's machines) would otherwise compile
some hundred modules on every run, 0.15 s that an installed epochplan does not spend.
"""

from __future__ import annotations

import compileall
import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

_LAUNCHER = r"""
import json, os, subprocess, sys, tempfile, time
for line in sys.stdin:
    job = json.loads(line)
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(job["argv"], stdout=out, stderr=err, text=True, env=job["env"])
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        out.seek(0); err.seek(0)
        reply = {"seconds": seconds, "rss_mb": usage.ru_maxrss / 1024, "code": os.waitstatus_to_exitcode(status),
                 "stdout": out.read(), "stderr": err.read()}
    sys.stdout.write(json.dumps(reply) + "\n"); sys.stdout.flush()
"""

_launcher = subprocess.Popen([sys.executable, "-c", _LAUNCHER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def _compile_epochplan() -> None:
    spec = importlib.util.find_spec("epochplan")  # finds the package without importing it
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        compileall.compile_dir(folder, quiet=1)


_compile_epochplan()


@dataclass
class Measurement:
    seconds: float
    peak_rss_mb: float
    stdout: str


def measure(argv: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Wall time and peak resident memory of one run of `argv` (exits on failure)."""
    assert _launcher.stdin is not None and _launcher.stdout is not None
    _launcher.stdin.write(json.dumps({"argv": argv, "env": {**os.environ, **(env or {})}}) + "\n")
    _launcher.stdin.flush()
    reply = json.loads(_launcher.stdout.readline())
    if reply["code"] != 0:
        sys.exit(f"command failed ({reply['code']}): {' '.join(argv)}\n{reply['stderr']}")
    return Measurement(reply["seconds"], reply["rss_mb"], reply["stdout"])


def fastest_of_rounds(jobs: dict[str, list[str]], repeat: int, after: Callable[[str], None] | None = None) -> dict[str, Measurement]:
    """Each job's fastest of `repeat` runs (the others lost time to a shared machine's load),
    with the highest peak RSS of them all. Every job runs once per round and the rounds are
    interleaved, so a change of the load hits all jobs alike. `after(name)` runs after each run
    of a job (to collect what it wrote)."""
    runs: dict[str, list[Measurement]] = {name: [] for name in jobs}
    for _ in range(repeat):
        for name, argv in jobs.items():
            runs[name].append(measure(argv))
            if after is not None:
                after(name)
    fastest = {}
    for name, measured in runs.items():
        best = min(measured, key=lambda m: m.seconds)
        fastest[name] = Measurement(best.seconds, max(m.peak_rss_mb for m in measured), best.stdout)
    return fastest


def python_snippet(code: str) -> list[str]:
    return [sys.executable, "-c", code]
