"""scripts/gpu-check.sh end to end on CPU, as CI runs it (`--device cpu`): the recipe that the GPU
machine runs cannot rot unnoticed.

The script builds the wheel (maturin), downloads the polars wheels from PyPI, installs both into a
temporary folder with --no-deps and trains a tiny GPT-2 twice with the prepared plan (plain
PyTorch loop, transformers Trainer). A few minutes on a cold build, about one minute warm.
Needs torch, transformers and accelerate (CI installs them: scripts/test.sh; importorskip only
protects users without the extras), maturin on PATH and PyPI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

pytest.importorskip("torch", reason="PyTorch not installed (pip install 'epochplan[torch]')")
pytest.importorskip("transformers", reason="transformers not installed (pip install -e '.[test]')")
pytest.importorskip("accelerate", reason="accelerate not installed (transformers.Trainer needs it)")

SCRIPT = REPO / "scripts" / "gpu-check.sh"
LIMIT = 64 * 1024 * 1024


def _gpu_check(*args: str, out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHON": sys.executable, "OUT": str(out)}
    env.pop("PYTHONPATH", None)  # the check must run on the wheels alone, never on python/ here
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=1500)


@pytest.fixture(scope="module")
def cpu_check(tmp_path_factory):
    work = tmp_path_factory.mktemp("gpu-check")
    proc = _gpu_check("--device", "cpu", "--dir", str(work / "device"), out=work / "out")
    return work, proc


def test_cpu_run_trains_exactly_the_planned_steps(cpu_check):
    work, proc = cpu_check
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    report = json.loads((work / "out" / "report.json").read_text())
    assert report["ok"] is True
    assert report["device"]["name"] == "cpu"
    assert all(check["ok"] for check in report["checks"]) and len(report["checks"]) >= 20
    # The installed wheel ran, not the source tree.
    assert not Path(report["versions"]["epochplan_file"]).resolve().is_relative_to(REPO)

    for name, plan_file in (("torch_loop", "plan.json"), ("hf_trainer", "plan-hf.json")):
        plan = json.loads((work / "device" / plan_file).read_text())
        run = report[name]
        total = plan["total_steps"]
        assert total >= 10  # enough steps for warm-up, decay and several evaluations
        assert run["planned_steps"] == total
        assert run["optimizer_steps"] == total
        assert run["loop_steps"] == total
        assert run["early_stopped"] is False
        assert run["final_lr"] == 0.0 and run["peak_lr"] > 0.0
        assert run["eval_steps_run"] == list(range(plan["eval_steps"], total + 1, plan["eval_steps"]))
        assert run["train_tokens"] > 0 and run["tokens_per_second"] > 0
        assert run["peak_rss_bytes"] > 0
        assert run["eval_losses"][-1] < run["eval_losses"][0]  # it learned something
    assert report["hf_trainer"]["trainer_max_steps"] == report["hf_trainer"]["planned_steps"]


def test_prepared_folder_fits_the_device_limit(cpu_check):
    work, proc = cpu_check
    assert proc.returncode == 0, proc.stderr[-4000:]
    device = work / "device"
    wheels = sorted(p.name for p in device.glob("*.whl"))
    assert [w for w in wheels if w.startswith("epochplan-")] == [
        next(w for w in wheels if w.startswith("epochplan-") and "-cp311-abi3-manylinux_2_34_x86_64" in w)
    ]
    assert any(w.startswith("polars-") for w in wheels)
    total = sum(p.stat().st_size for p in device.rglob("*") if p.is_file())
    assert total < LIMIT
    assert "travel to the device (limit 64 MiB)" in proc.stdout


def test_run_fails_with_a_report_when_the_plan_differs(cpu_check, tmp_path):
    """The checks can fail: a plan.json that the wheel does not reproduce stops the run (exit 1)
    before training, and the report still says which check failed."""
    work, proc = cpu_check
    assert proc.returncode == 0, proc.stderr[-4000:]
    device = tmp_path / "device"
    shutil.copytree(work / "device", device)
    plan = json.loads((device / "plan.json").read_text())
    plan["total_steps"] += 1
    (device / "plan.json").write_text(json.dumps(plan))
    failed = _gpu_check("run", "--device", "cpu", "--dir", str(device), out=tmp_path / "out")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["ok"] is False
    assert [c["check"] for c in report["checks"] if not c["ok"]] == ["plan.json: the plan recomputed here equals the prepared one"]
    assert "torch_loop" not in report


def test_run_without_prepare_says_what_to_do(tmp_path):
    proc = _gpu_check("run", "--device", "cpu", "--dir", str(tmp_path / "empty"), out=tmp_path / "out")
    assert proc.returncode == 2
    assert "run 'scripts/gpu-check.sh prepare' first" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1
