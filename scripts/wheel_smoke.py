"""Smoke test of an installed epochplan wheel (run by scripts/wheel-check.sh with `python -I`).

    python -I scripts/wheel_smoke.py sample.parquet /path/to/venv/bin/epochplan

Checks that epochplan is imported from the venv (not a source tree), that its extension is the
stable-ABI build, and that an audit and a plan of examples/data/sample.parquet give the facts the
sample was built with (examples/make_sample.py: 400 rows, 300 distinct prompts), through the
Python API and through the installed `epochplan` command.
"""

from __future__ import annotations

import json
import math
import platform
import subprocess
import sys
from pathlib import Path


def main(sample: Path, cli: Path) -> None:
    import epochplan

    package = Path(epochplan.__file__).resolve()
    assert package.is_relative_to(Path(sys.prefix).resolve()), f"epochplan imported from {package}, not from {sys.prefix}"
    extensions = [p.name for p in package.parent.rglob("*.so")]
    assert extensions and all(name.endswith(".abi3.so") for name in extensions), f"not the stable-ABI build: {extensions}"

    result = epochplan.audit(sample, text="prompt")
    facts = result.to_dict()
    assert facts["rows"] == 400, facts["rows"]
    assert facts["exact"]["unique"] == 300, facts["exact"]  # 60 copies + 40 case/space variants
    plan = epochplan.plan(result, epochplan.Setup(batch=8, grad_accum=2, framework="torch"))
    steps_per_epoch = math.ceil(math.ceil(plan.unique_samples / 8) / 2)
    assert plan.steps_per_epoch == steps_per_epoch, (plan.steps_per_epoch, steps_per_epoch)
    assert plan.total_steps == math.ceil(plan.epochs.planned * steps_per_epoch), plan.total_steps

    # The console script the wheel installs, end to end: audit JSON, then a plan from it.
    subprocess.run([str(cli), "audit", str(sample), "--text", "prompt", "--json", "audit.json"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        [str(cli), "plan", "--audit", "audit.json", "--batch", "8", "--grad-accum", "2", "--framework", "torch", "-o", "plan.json"],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    from_cli = json.loads(Path("plan.json").read_text())
    assert from_cli["total_steps"] == plan.total_steps, (from_cli["total_steps"], plan.total_steps)
    print(
        f"python {platform.python_version()}: epochplan {epochplan.__version__} from {package.parent}; "
        f"audit {facts['rows']} rows, {plan.unique_samples} unique; plan {plan.total_steps} steps"
    )


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
