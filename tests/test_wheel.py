"""The one abi3 wheel installs and works on every Python it claims (scripts/wheel-check.sh).

The script builds the wheel with maturin (release profile, manylinux_2_34), makes a fresh venv
per interpreter, `pip install`s the wheel (dependencies from PyPI as binary wheels) and runs
scripts/wheel_smoke.py with `python -I` outside the repo. Python 3.11 and 3.12 are required
(pyenv's versions folder or pythonX.Y on PATH; WHEEL_CHECK_PYTHONS overrides), 3.13 is checked
when present. About 4 minutes here (three venvs; plus the wheel build on a cold target folder).
"""

from __future__ import annotations

import os
import re
import subprocess

from conftest import REPO


def test_wheel_installs_and_runs_on_python_311_and_312():
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    proc = subprocess.run(["bash", str(REPO / "scripts" / "wheel-check.sh")], capture_output=True, text=True, env=env, timeout=1800)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert re.search(r"^wheel: epochplan-[^ ]+-cp311-abi3-manylinux_2_34_x86_64\.whl", proc.stdout, re.M), proc.stdout
    passed = re.findall(r"^python (3\.\d+)\.\d+: ok$", proc.stdout, re.M)
    assert {"3.11", "3.12"} <= set(passed), proc.stdout
    # Each smoke line names the venv it imported epochplan from: the wheel, not the source tree.
    smoke = re.findall(r"^python 3\.\d+\.\d+: epochplan \S+ from (\S+);", proc.stdout, re.M)
    assert len(smoke) == len(passed) and all("/venv-3." in path and str(REPO) not in path for path in smoke)
