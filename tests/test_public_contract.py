"""The public contract survives the restructure of issue 10: every command keeps every flag it had,
and the audit, plan and check JSON keep every key they had (supersets of what commit 408798e
produced, captured in tests/data/public_contract_408798e.json). Also the house rules that keep
the package readable: public names are functions, not shadowed modules; no module over 500 lines;
each default declared once."""

from __future__ import annotations

import inspect
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

import epochplan
from conftest import REPO, default_signals, run_cli
from epochplan import defaults

CONTRACT = json.loads((REPO / "tests" / "data" / "public_contract_408798e.json").read_text())
PACKAGE = REPO / "python" / "epochplan"
WILD = {"leakage", "labels.counts", "audit.leakage", "audit.labels.counts"}
FLAG = re.compile(r"(?<![\w-])(--?[a-z][a-z0-9-]*)")


def key_paths(value, prefix: str = "", out: set[str] | None = None) -> set[str]:
    """Every key path of a JSON document; maps keyed by data (split names, labels) become '*'."""
    out = set() if out is None else out
    if isinstance(value, dict):
        for key, item in value.items():
            path = f"{prefix}.{'*' if prefix in WILD else key}" if prefix else key
            out.add(path)
            key_paths(item, path, out)
    elif isinstance(value, list):
        for item in value:
            key_paths(item, prefix + "[]", out)
    return out


@pytest.mark.parametrize("command", sorted(CONTRACT["flags"]))
def test_every_flag_of_every_command_is_still_in_its_help(command):
    args = [] if command == "epochplan" else command.split()
    proc = run_cli(*args, "--help", env={"COLUMNS": "400", "TERM": "dumb", "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stderr
    shown = set(FLAG.findall(proc.stdout))
    missing = set(CONTRACT["flags"][command]) - shown
    assert not missing, f"`epochplan {command} --help` lost {sorted(missing)}"


def test_whole_number_options_show_count_in_help():
    """They take counts as people write them (2k, 1,000, 1e3): `INTEGER` said otherwise, and
    --sample-overhead showed NUMBER while it refuses 1.5."""
    shown = run_cli("plan", "--help", env={"COLUMNS": "400", "TERM": "dumb", "NO_COLOR": "1"}).stdout
    for flag in ("--batch", "--grad-accum", "--gpus", "--seq-len", "--steps", "--sample-overhead"):
        assert re.search(rf"{flag}\s+COUNT\b", shown), flag
    shown = run_cli("check", "--help", env={"COLUMNS": "400", "TERM": "dumb", "NO_COLOR": "1"}).stdout
    assert re.search(r"--min-unique-samples\s+COUNT\b", shown) and re.search(r"--max-leaked-rows\s+COUNT\b", shown)


@pytest.fixture(scope="module")
def reports(shared_data, tmp_path_factory) -> dict[str, dict]:
    """The three JSON documents, produced as the contract was captured: ChatterBot English with
    its `file` column as label and its first 300 rows as an eval split."""
    folder = tmp_path_factory.mktemp("contract")
    frame = pl.read_parquet(shared_data / "chatterbot_english.parquet").with_columns(pl.col("file").alias("label"))
    frame.write_parquet(folder / "train.parquet")
    frame.head(300).write_parquet(folder / "val.parquet")
    common = ["--label", "label", "--eval", "val.parquet"]

    def ok(*args: str) -> None:
        proc = run_cli(*args, cwd=folder)
        assert proc.returncode in (0, 1), proc.stderr

    ok("audit", "train.parquet", *common, "--json", "audit.json", "-q")
    ok("plan", "--audit", "audit.json", "-o", "plan.json", "--regime", "pretrain", "--params", "1e6", "--seq-len", "128")
    ok("check", "train.parquet", *common, "--json", "check.json", "-q")
    ok("check", "train.parquet", *common, "--baseline", "check.json", "--json", "check2.json", "-q")
    read = {name: json.loads((folder / f"{name}.json").read_text()) for name in ("audit", "plan", "check", "check2")}
    return {
        defaults.AUDIT_SCHEMA: read["audit"],
        defaults.PLAN_SCHEMA: read["plan"],
        defaults.CHECK_SCHEMA: [read["check"], read["check2"]],
    }


@pytest.mark.parametrize("schema", sorted(CONTRACT["json_keys"]))
def test_json_keys_are_a_superset_of_before(reports, schema):
    documents = reports[schema] if isinstance(reports[schema], list) else [reports[schema]]
    assert all(d["schema"] == schema for d in documents)
    now = set().union(*(key_paths(d) for d in documents))
    missing = set(CONTRACT["json_keys"][schema]) - now
    assert not missing, f"{schema} lost {sorted(missing)}"


def test_public_names_are_the_functions_not_shadowed_modules():
    for name in ("audit", "plan", "dedup"):
        assert inspect.isfunction(getattr(epochplan, name)), name
    assert isinstance(epochplan.Setup(), epochplan.Setup) and epochplan.__all__
    packages = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert not packages & set(epochplan.__all__), "a subpackage named like a public function shadows it"


def test_every_python_name_readme_gives_exists():
    """README named `epochplan.check`, which is `epochplan.checking.check`: each dotted name it
    gives (not a schema, `epochplan.check/1`, nor a file, `epochplan.toml`) must resolve."""
    import importlib

    readme = (REPO / "README.md").read_text()
    names = set(re.findall(r"(?<![\w./-])(epochplan(?:\.[A-Za-z_]\w*)+)(?![\w/])", readme)) - {"epochplan.toml"}
    assert "epochplan.checking.check" in names
    missing = []
    for name in sorted(names):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):  # the longest module, then its attributes
            try:
                found: object = importlib.import_module(".".join(parts[:cut]))
                break
            except ImportError:
                continue
        for attribute in parts[cut:]:
            found = getattr(found, attribute, None)
        if found is None:
            missing.append(name)
    assert not missing, missing


def test_no_rows_is_defined_with_the_other_errors():
    """The exception tree is defined once, in errors.py: `NoRows` was defined in auditing/run.py."""
    from epochplan import errors

    assert errors.NoRows.__module__ == "epochplan.errors" and issubclass(errors.NoRows, errors.InputError)
    with pytest.raises(errors.NoRows, match="no rows to audit"):
        epochplan.audit(pl.DataFrame({"text": []}, schema={"text": pl.String}))


def test_the_command_line_sets_one_blas_thread_before_numpy_loads():
    """`import epochplan` loads the public names on first use, so the entry point's module
    (`epochplan.cli`) can keep numpy's OpenBLAS from starting a spinning thread per core: the
    variable must be set before anything imports numpy."""
    import subprocess
    import sys

    probe = (
        "import os, sys\n"
        "import epochplan\n"
        "assert 'numpy' not in sys.modules, 'import epochplan loaded numpy'\n"
        "import epochplan.cli\n"
        "assert os.environ.get('OPENBLAS_NUM_THREADS') == '1'\n"
        "assert epochplan.audit is epochplan.auditing.audit and 'audit' in dir(epochplan)\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        epochplan.nope  # noqa: B018


def test_no_python_module_over_500_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 500}
    assert not long, long


def test_defaults_are_declared_once_and_read_everywhere():
    from epochplan import _epochplan
    from epochplan.auditing.result import NearStats
    from epochplan.config import DATA_KEYS

    core = getattr(_epochplan, "DEFAULTS", None)
    if core is not None:  # the binding exports the core's defaults: ours are those
        for name in ("threshold", "ngram", "num_perm", "shingle", "normalize"):
            assert defaults.CORE_DEFAULTS[name] == core[name], name
    signature = inspect.signature(epochplan.audit).parameters
    keys = {k.attr: k.default for k in DATA_KEYS}
    near = NearStats(unique=0, duplicate_rows=0, duplicate_fraction=0.0, clusters=0, largest_cluster=0, top=[])
    for name, value in (
        ("threshold", defaults.THRESHOLD),
        ("ngram", defaults.NGRAM),
        ("num_perm", defaults.NUM_PERM),
        ("shingle", defaults.SHINGLE),
        ("normalize", defaults.NORMALIZE),
    ):
        assert signature[name].default == value and keys[name] == value, name
        if hasattr(near, name):
            assert getattr(near, name) == value, name


def test_the_package_runs_as_a_module_and_as_the_entry_point():
    proc = run_cli("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("epochplan "), proc.stderr
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'epochplan = "epochplan.launch:main"' in pyproject
    from epochplan.launch import main

    assert callable(main) and os.path.isfile(Path(epochplan.__file__).with_name("__main__.py"))


#: The heavy modules a command that reads no data must not import.
HEAVY = {"polars", "numpy", "pyarrow", "torch", "ray"}


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["--version"],
        ["plan", "--help"],
        ["audit", "--help"],
        ["config", "show"],
        ["plan", "--samples", "2000", "--batch", "200", "--epochs", "3"],
        ["plan", "--tokens", "3.3e9", "--regime", "pretrain", "--seq-len", "512", "--batch", "256", "--steps", "1000000"],
        ["plan", "--samples", "2,5"],  # an error, exit 2
    ],
)
def test_a_command_that_reads_no_data_loads_no_polars_numpy_or_pyarrow(tmp_path, args):
    """`epochplan --help` took 0.7-1.5 s, nearly all of it importing polars, numpy and pyarrow
    (`settings` took dedup's keys from the dedup module): every command paid it, even those that
    read no data. They load none of them now; a command that reads data loads them itself."""
    probe = (
        "import runpy, sys\n"
        "sys.argv = ['epochplan', *sys.argv[1:]]\n"
        "try:\n"
        "    runpy.run_module('epochplan', run_name='__main__')\n"
        "except SystemExit as e:\n"
        "    code = e.code\n"
        f"heavy = sorted({{m.split('.')[0] for m in sys.modules}} & set({sorted(HEAVY)!r}))\n"
        "print('exit', code, 'loaded', heavy, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    last = done.stderr.strip().splitlines()[-1]
    assert last.endswith("loaded []"), done.stderr
    assert last.startswith("exit 2" if "2,5" in args else "exit 0"), done.stderr


def test_a_command_that_reads_data_loads_them_itself_and_keeps_pythons_sigint(tmp_path):
    """The other side: `audit` loads polars (its readers) when it starts, and puts Python's own
    SIGINT handler back over the native one importing polars installs (one Ctrl-C was two
    interrupts, the second in the clean-up): when the rows are about to be read, SIGINT's handler
    at the OS level is Python's again, the same function as SIGTERM's."""
    (tmp_path / "rows.csv").write_text("text\na\nb\n")
    probe = (
        "import ctypes, signal, sys\n"
        "from epochplan.cli import run\n"
        "from epochplan.cli.loading import python_sigint\n"
        "from epochplan.progress import RowProgress\n"
        "def native(number):\n"
        "    action = ctypes.create_string_buffer(256)\n"
        "    ctypes.CDLL(None).sigaction(number, None, action)\n"
        "    return ctypes.cast(action, ctypes.POINTER(ctypes.c_void_p))[0]\n"
        "seen = []\n"
        "set_total = RowProgress.set_total\n"
        "def noting(self, total):\n"  # the rows counted, none audited yet
        "    seen.append(native(signal.SIGINT) == native(signal.SIGTERM))\n"
        "    set_total(self, total)\n"
        "RowProgress.set_total = noting\n"
        "signal.signal(signal.SIGTERM, lambda *_: None)\n"
        "python_sigint()\n"  # as the command line's main does, first thing
        "assert 'polars' not in sys.modules\n"
        "code = run(['audit', 'rows.csv', '-q'])\n"
        "print('exit', code, 'polars' in sys.modules, seen, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert done.stderr.strip().splitlines()[-1] == "exit 0 True [True]", done.stderr


@pytest.mark.parametrize(
    ("sent", "code", "line"),
    [
        (signal.SIGINT, 130, "interrupted"),
        (signal.SIGTERM, 143, "terminated"),
        (signal.SIGHUP, 129, "hung up"),
        (signal.SIGQUIT, 131, "quit"),
    ],
)
@pytest.mark.parametrize(("stalled", "args"), [("typer", ["--version"]), ("polars", ["audit", "rows.csv"])])
def test_a_signal_while_the_command_loads_is_its_one_line(tmp_path, sent, code, line, stalled, args):
    # The command's modules take a few tenths of a second to import; a Ctrl-C then ended in a
    # KeyboardInterrupt traceback from inside polars, and a SIGTERM (whose handler the command
    # line put in once its modules were loaded) ended the process by the signal, with no line.
    # Here the import of a module is held for 30 s (a stand-in module first on the path, which
    # says when it is reached), so the signal lands in it every time, however loaded the machine:
    # typer, which the command line loads at start, and polars, which a command that reads data
    # loads when it starts (`cli.loading`).
    reached = tmp_path / "reached"
    (tmp_path / f"{stalled}.py").write_text(f"import pathlib, time\npathlib.Path({str(reached)!r}).touch()\ntime.sleep(30)\n")
    (tmp_path / "rows.csv").write_text("text\na\nb\n")
    command = "from epochplan.launch import main; main()"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen(
        [sys.executable, "-c", command, *args], env=env, stderr=subprocess.PIPE, text=True, preexec_fn=default_signals, cwd=tmp_path
    )
    deadline = time.monotonic() + 60
    while not reached.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert reached.exists(), f"the command never imported {stalled}"
    proc.send_signal(sent)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code and stderr.strip() == line, (proc.returncode, stderr)
