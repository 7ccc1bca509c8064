"""Configuration for `epochplan check` (issue 6): files found upwards, precedence command line >
environment EPOCHPLAN_* > file > defaults, and every kind of configuration error naming the key
and the file. The planner's use of the same files is covered in test_plan_cli.py."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from conftest import assert_clean_error, run_cli
from epochplan.errors import ConfigError, ConfigWarning
from epochplan.settings import resolve

NO_ENV: dict[str, str] = {}


def resolve_check_settings(cli=None, **kwargs):
    return resolve("check", cli, **kwargs)


def load_section(command: str, keys: tuple[str, ...], *, start: Path) -> SimpleNamespace:
    """The values `command` takes from the file for `keys` (environment and defaults left out)."""
    settings = resolve(command, start=start, environ=NO_ENV).settings
    return SimpleNamespace(values={k: settings[k].value for k in keys if settings[k].explicit})


def pyproject(folder: Path, body: str) -> Path:
    path = folder / "pyproject.toml"
    path.write_text("[project]\nname = 'x'\n" + body)
    return path


def test_defaults_without_a_file(tmp_path):
    r = resolve_check_settings(start=tmp_path, environ=NO_ENV)
    assert r.path is None
    assert r["max_exact_duplicate_fraction"] == 0.01 and r["fail_on"] == "error" and r["text"] is None
    assert all(s.source == "default" for s in r.settings.values())


def test_issue_example_in_pyproject_found_upwards(tmp_path):
    """The configuration block of issue 6, read from a sub-folder."""
    file = pyproject(
        tmp_path,
        """
[tool.epochplan]
text = "prompt"
label = "label"
[tool.epochplan.check]
max-exact-duplicate-fraction = 0.01
max-near-duplicate-fraction = 0.05
max-leaked-rows = 0
max-conflicting-label-rows = 0
min-unique-samples = 1000
max-empty-fraction = 0.0
fail-on = "error"          # or "warning"
""",
    )
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    r = resolve_check_settings(start=sub, environ=NO_ENV)
    assert r.path == file
    assert r["text"] == ["prompt"] and r["label"] == "label" and r["min_unique_samples"] == 1000
    assert r.settings["text"].source == f"{file} (tool.epochplan)"
    assert r.settings["min_unique_samples"].source == f"{file} (tool.epochplan.check)"
    assert r.settings["max_imbalance_ratio"].source == "default"


def test_standalone_file_wins_in_its_folder_and_underscores_work(tmp_path):
    pyproject(tmp_path, "[tool.epochplan.check]\nmax-leaked-rows = 5\n")
    (tmp_path / "epochplan.toml").write_text("text = ['a', 'b']\n[check]\nmax_leaked_rows = 2\n")
    with pytest.warns(ConfigWarning, match=r"\[tool\.epochplan\] is not read, as .*epochplan\.toml beside it is"):
        r = resolve_check_settings(start=tmp_path, environ=NO_ENV)
    assert r["max_leaked_rows"] == 2 and r["text"] == ["a", "b"]
    assert r.settings["max_leaked_rows"].source.endswith("epochplan.toml (check)")


def test_precedence_cli_over_env_over_file_over_default(tmp_path):
    pyproject(
        tmp_path,
        "[tool.epochplan]\nlabel = 'file_label'\n[tool.epochplan.check]\nmax-leaked-rows = 3\n"
        "min-unique-samples = 10\nmax-empty-fraction = 0.2\n",
    )
    env = {"EPOCHPLAN_MAX_LEAKED_ROWS": "4", "EPOCHPLAN_MIN_UNIQUE_SAMPLES": "20", "EPOCHPLAN_TEXT": "q, a"}
    cli = {"max_leaked_rows": "5", "label": None}
    r = resolve_check_settings(cli, start=tmp_path, environ=env)
    assert (r["max_leaked_rows"], r.settings["max_leaked_rows"].source) == (5, "command line --max-leaked-rows")
    assert (r["min_unique_samples"], r.settings["min_unique_samples"].source) == (20, "environment EPOCHPLAN_MIN_UNIQUE_SAMPLES")
    assert r["max_empty_fraction"] == 0.2 and "pyproject.toml" in r.settings["max_empty_fraction"].source
    assert r["label"] == "file_label"  # None on the command line = not given
    assert r["text"] == ["q", "a"]  # comma-separated in the environment
    assert r["max_conflicting_label_rows"] == 0 and r.settings["max_conflicting_label_rows"].source == "default"


def test_command_table_overrides_top_level_and_other_commands_keys_are_accepted(tmp_path):
    pyproject(
        tmp_path,
        "[tool.epochplan]\ntext = 'a'\nbatch = 16\nfail-on = 'warning'\n"
        "[tool.epochplan.check]\ntext = 'b'\n[tool.epochplan.plan]\nepochs = 3\n[tool.epochplan.dedup]\n",
    )
    r = resolve_check_settings(start=tmp_path, environ=NO_ENV)
    assert r["text"] == ["b"] and r["fail_on"] == "warning"
    assert load_section("plan", ("batch", "epochs"), start=tmp_path).values == {"batch": 16, "epochs": 3}


def test_explicit_config_path(tmp_path):
    other = tmp_path / "ci" / "gate.toml"
    other.parent.mkdir()
    other.write_text("[check]\nmin-unique-samples = 7\n")
    pyproject(tmp_path, "[tool.epochplan.check]\nmin-unique-samples = 1\n")
    assert resolve_check_settings(path=other, start=tmp_path, environ=NO_ENV)["min_unique_samples"] == 7
    with pytest.raises(ConfigError, match="--config .*missing.toml: file not found"):
        resolve_check_settings(path=tmp_path / "missing.toml", environ=NO_ENV)
    # A top-level `tool` that is not a table was an AttributeError (exit 3), found upwards too.
    (tmp_path / "top").mkdir()
    (tmp_path / "top" / "pyproject.toml").write_text("tool = 'x'\n")
    with pytest.raises(ConfigError, match="'tool' must be a table"):
        resolve_check_settings(start=tmp_path / "top", environ=NO_ENV)
    # A pyproject.toml named on purpose whose settings are not under [tool.epochplan] was ignored.
    misplaced = tmp_path / "ci" / "pyproject.toml"
    misplaced.write_text("[epochplan.check]\nmin-unique-samples = 7\n")
    with pytest.raises(ConfigError, match=r"has no \[tool.epochplan\] table"):
        resolve_check_settings(path=misplaced, environ=NO_ENV)


@pytest.mark.parametrize(
    "body, fragments",
    [
        # unknown keys and tables
        ("[tool.epochplan.check]\nmax-leak = 0\n", ["(tool.epochplan.check)", "unknown key 'max-leak'", "max-leaked-rows"]),
        ("[tool.epochplan]\ntexts = 'a'\n", ["(tool.epochplan)", "unknown key 'texts'"]),
        ("[tool.epochplan.chek]\nmax-leaked-rows = 0\n", ["unknown table 'chek'"]),
        # wrong types
        ("[tool.epochplan.check]\nmax-leaked-rows = 0.5\n", ["max-leaked-rows = 0.5", "whole number"]),
        ("[tool.epochplan.check]\nmax-leaked-rows = true\n", ["max-leaked-rows = true", "whole number"]),
        ("[tool.epochplan.check]\nmax-exact-duplicate-fraction = '5%'\n", ["max-exact-duplicate-fraction = '5%'", "number"]),
        ("[tool.epochplan]\ntext = 3\n", ["text = 3", "column"]),
        ("[tool.epochplan]\nlabel = ['a', 'b']\n", ["label = ", "column name"]),
        ("[tool.epochplan]\ncheck = 1\n", ["unknown key 'check'"]),
        # impossible values
        ("[tool.epochplan.check]\nmax-exact-duplicate-fraction = 5\n", ["max-exact-duplicate-fraction = 5", "between 0 and 1"]),
        ("[tool.epochplan.check]\nmax-near-duplicate-fraction = -0.1\n", ["max-near-duplicate-fraction", "between 0 and 1"]),
        ("[tool.epochplan.check]\nmin-unique-samples = -1\n", ["min-unique-samples = -1", "0 or more"]),
        ("[tool.epochplan.check]\nmax-imbalance-ratio = 0.5\n", ["max-imbalance-ratio = 0.5", "at least 1"]),
        ("[tool.epochplan.check]\nfail-on = 'never'\n", ["fail-on = 'never'", "'error', 'warning'"]),
        ("[tool.epochplan]\nnormalize = 'nfc'\n", ["normalize = 'nfc'", "'default', 'none'"]),
        ("[tool.epochplan]\nthreshold = 1.5\n", ["threshold = 1.5", "Jaccard"]),
        ("[tool.epochplan]\nmax-leaked-rows = -2\n", ["(tool.epochplan)", "max-leaked-rows = -2"]),
        # spelled twice, broken TOML
        ("[tool.epochplan.check]\nmax-leaked-rows = 0\nmax_leaked_rows = 1\n", ["same key"]),
        ("[tool.epochplan.check]\nmax-leaked-rows = \n", ["invalid TOML"]),
        # not tables where tables belong (an internal error, exit 3, before)
        ("[tool]\nepochplan = 1\n", ["(tool.epochplan): must be a table, not int"]),
    ],
)
def test_config_errors_name_key_and_file(tmp_path, body, fragments):
    file = pyproject(tmp_path, body)
    with pytest.raises(ConfigError) as info:
        resolve_check_settings(start=tmp_path, environ=NO_ENV)
    message = str(info.value)
    assert str(file) in message, message
    for fragment in fragments:
        assert fragment in message, (fragment, message)


@pytest.mark.parametrize(
    "env, fragment",
    [
        ({"EPOCHPLAN_MAX_LEAKED_ROWS": "none"}, "EPOCHPLAN_MAX_LEAKED_ROWS='none': must be a whole number"),
        ({"EPOCHPLAN_MAX_EXACT_DUPLICATE_FRACTION": "2"}, "EPOCHPLAN_MAX_EXACT_DUPLICATE_FRACTION='2'"),
        ({"EPOCHPLAN_FAIL_ON": "sometimes"}, "EPOCHPLAN_FAIL_ON"),
        ({"EPOCHPLAN_MAX_IMBALANCE_RATIO": "nan"}, "finite"),
    ],
)
def test_environment_errors_name_the_variable(tmp_path, env, fragment):
    with pytest.raises(ConfigError, match=fragment.replace("(", r"\(")):
        resolve_check_settings(start=tmp_path, environ=env)


@pytest.mark.parametrize("spelled", ["2000", "2,000", "2_000", "2k", "2e3", "2.0e3", 2000, 2000.0])
def test_a_whole_number_setting_reads_counts_as_the_planner_does(tmp_path, spelled):
    # Flags, EPOCHPLAN_* and files read whole numbers by the planner's rule: 2,000, 2k and 2e3 were
    # "must be a whole number" for the check's thresholds, while `plan --samples` took them.
    from epochplan.checking.registry import Thresholds
    from epochplan.planning.counts import positive_int

    text = str(spelled)
    assert resolve_check_settings({"min_unique_samples": text}, start=tmp_path, environ=NO_ENV)["min_unique_samples"] == 2000
    assert resolve_check_settings(start=tmp_path, environ={"EPOCHPLAN_MAX_LEAKED_ROWS": text})["max_leaked_rows"] == 2000
    pyproject(tmp_path, f"[tool.epochplan.check]\nmin-unique-samples = {spelled!r}\n".replace("'", '"'))
    assert resolve_check_settings(start=tmp_path, environ=NO_ENV)["min_unique_samples"] == 2000
    assert Thresholds(min_unique_samples=spelled).min_unique_samples == 2000  # kept as read, for the rules
    assert resolve("plan", {"ngram": text}, start=tmp_path, environ=NO_ENV)["ngram"] == 2000 == positive_int(spelled, "--samples")


@pytest.mark.parametrize(
    "spelled, fragment",
    [
        ("2,5", "use a dot for decimals (2.5)"),
        ("1,00,000", "groups of three digits"),
        ("1.000", "ambiguous"),
        ("1.5", "whole number"),
        ("-1", "must be 0 or more"),
        ("9223372036854775808", "at most 9,223,372,036,854,775,807"),
    ],
)
def test_a_whole_number_setting_refuses_what_the_planner_refuses(tmp_path, spelled, fragment):
    from epochplan.errors import InputError
    from epochplan.planning.counts import non_negative_int

    with pytest.raises(ConfigError, match=re.escape(f"--min-unique-samples {spelled}: ") + ".*" + re.escape(fragment)):
        resolve_check_settings({"min_unique_samples": spelled}, start=tmp_path, environ=NO_ENV)
    with pytest.raises(InputError, match=re.escape(fragment)):
        non_negative_int(spelled, "--samples")


def test_empty_environment_variable_is_unset(tmp_path):
    pyproject(tmp_path, "[tool.epochplan.check]\nmax-leaked-rows = 3\n")
    assert resolve_check_settings(start=tmp_path, environ={"EPOCHPLAN_MAX_LEAKED_ROWS": ""})["max_leaked_rows"] == 3


def test_command_line_values_are_validated_too(tmp_path):
    with pytest.raises(ConfigError, match="--max-empty-fraction 1.5: must be a fraction"):
        resolve_check_settings({"max_empty_fraction": "1.5"}, start=tmp_path, environ=NO_ENV)


def test_planner_still_ignores_check_keys(tmp_path):
    """The planner reads its own table; the check table and shared keys do not disturb it."""
    pyproject(tmp_path, "[tool.epochplan]\ntext = 'x'\n[tool.epochplan.check]\nmax-leaked-rows = 0\n[tool.epochplan.plan]\nbatch = 4\n")
    assert load_section("plan", ("batch",), start=tmp_path).values == {"batch": 4}


# --- `epochplan config show` as a subprocess ----------------------------------------------------


def test_config_show_prints_values_and_sources(tmp_path):
    pyproject(tmp_path, "[tool.epochplan]\nlabel = 'y'\n[tool.epochplan.check]\nmax-leaked-rows = 2\n[tool.epochplan.plan]\nbatch = 8\n")
    proc = run_cli("config", "show", "--json", cwd=tmp_path, env={"EPOCHPLAN_MIN_UNIQUE_SAMPLES": "500"})
    assert proc.returncode == 0, proc.stderr
    d = json.loads(proc.stdout)
    rows = {(s["section"], s["key"]): s for s in d["settings"]}
    assert d["file"] == str(tmp_path / "pyproject.toml")
    assert rows[("check", "max-leaked-rows")]["value"] == 2 and "(tool.epochplan.check)" in rows[("check", "max-leaked-rows")]["source"]
    assert rows[("check", "min-unique-samples")] == {
        "section": "check",
        "key": "min-unique-samples",
        "value": 500,
        "source": "environment EPOCHPLAN_MIN_UNIQUE_SAMPLES",
        "commands": ["check"],
    }
    assert rows[("shared", "label")]["value"] == "y" and rows[("check", "fail-on")]["source"] == "default"
    assert rows[("plan", "batch")]["value"] == 8
    table = run_cli("config", "show", cwd=tmp_path)
    assert table.returncode == 0 and "max-leaked-rows" in table.stdout and "tool.epochplan.check" in table.stdout


def test_config_show_reports_config_errors_with_exit_2(tmp_path):
    file = pyproject(tmp_path, "[tool.epochplan.check]\nmax-leaked-rows = 'zero'\n")
    assert_clean_error(run_cli("config", "show", cwd=tmp_path), str(file), "max-leaked-rows")


@pytest.mark.parametrize(
    "body, env, flags",
    [
        ('ray-address = "10.0.0.5:6379"\n', {}, []),  # an address kept for the runs on Ray
        ("", {"EPOCHPLAN_RAY_ADDRESS": "10.0.0.5:6379"}, []),
        ('engine = "ray"\nray-address = "10.0.0.5:6379"\n', {}, ["--engine", "local"]),  # the command line overrides the file
    ],
)
def test_a_configured_ray_address_is_unused_on_the_local_engine(tmp_path, body, env, flags):
    # It made every local run exit 2 ("ray_address=… given with engine='local'"), and
    # `--engine local` could not override a file's `engine = "ray"` with its address.
    pyproject(tmp_path, "[tool.epochplan]\n" + body)
    (tmp_path / "s.jsonl").write_text('{"text": "a"}\n{"text": "a"}\n')
    proc = run_cli("audit", "s.jsonl", "--json", "-", *flags, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["exact"]["duplicate_rows"] == 1


@pytest.mark.parametrize(
    "table, key, command",
    [
        ("check", "min-unique-samples", ["config", "show"]),
        ("check", "max-leaked-rows", ["config", "show"]),
        ("plan", "batch", ["plan", "--samples", "1000"]),
        ("plan", "sample-overhead", ["plan", "--samples", "1000"]),
    ],
)
def test_a_toml_float_spelled_1_000_is_refused_for_a_whole_number_key(tmp_path, table, key, command):
    # tomllib made `1.000` the float 1.0, which was taken as 1: the flag and EPOCHPLAN_* refuse
    # `1.000` as ambiguous (a thousand in German), and the README promises a file does alike.
    (tmp_path / "epochplan.toml").write_text(f"[{table}]\n{key} = 1.000\n")
    assert_clean_error(run_cli(*command, cwd=tmp_path), "epochplan.toml", f"{key} = 1.000", "ambiguous", "write 1000")
    # A TOML float spelled as a whole number is read by the same rule: 1e3 is a thousand.
    (tmp_path / "epochplan.toml").write_text(f"[{table}]\n{key} = 1e3\n")
    shown = json.loads(run_cli("config", "show", "--json", cwd=tmp_path).stdout)
    assert {row["key"]: row["value"] for row in shown["commands"][table]}[key] == 1000
    # TOML's `_` between any two digits (10.0 in TOML, as the integer 1_0 is 10), not a thousands mark
    (tmp_path / "epochplan.toml").write_text(f"[{table}]\n{key} = 1_0.0\n")
    shown = json.loads(run_cli("config", "show", "--json", cwd=tmp_path).stdout)
    assert {row["key"]: row["value"] for row in shown["commands"][table]}[key] == 10


def test_a_relative_tokenizer_path_in_a_file_is_resolved_as_the_os_does(tmp_path):
    # `os.path.normpath(folder / "../models/tok.json")` dropped `link/..` lexically: through a
    # symlinked config folder it named ./models/tok.json (here a decoy) instead of the file
    # beside the link's target.
    real = tmp_path / "shared" / "conf"
    real.mkdir(parents=True)
    (real / "ci.toml").write_text('tokenizer = "../models/tok.json"\n')
    (tmp_path / "shared" / "models").mkdir()
    (tmp_path / "shared" / "models" / "tok.json").write_text("{}")
    work = tmp_path / "work"
    (work / "models").mkdir(parents=True)
    (work / "models" / "tok.json").write_text("{}")  # the decoy the lexical path named
    (work / "link").symlink_to(real)
    proc = run_cli("config", "show", "--json", "--config", "link/ci.toml", cwd=work)
    assert proc.returncode == 0, proc.stderr
    value = {row["key"]: row["value"] for row in json.loads(proc.stdout)["commands"]["audit"]}["tokenizer"]
    assert (work / value).resolve() == (tmp_path / "shared" / "models" / "tok.json").resolve()


def test_config_show_settings_rows_say_which_command_a_shared_value_is_for(tmp_path):
    # A shared key was listed once, with check's value: `[audit] threshold = 0.9` and
    # `[dedup] ngram = 3` showed 0.7 and 5 "default". Now one row per value, with its commands.
    (tmp_path / "epochplan.toml").write_text("threshold = 0.8\n[audit]\nthreshold = 0.9\n[dedup]\nngram = 3\n")
    proc = run_cli("config", "show", "--json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = [(r["key"], r["value"], r["source"].removeprefix(str(tmp_path)), r["commands"]) for r in json.loads(proc.stdout)["settings"]]
    assert [r for r in rows if r[0] == "threshold"] == [
        ("threshold", 0.8, "/epochplan.toml", ["check", "plan", "dedup"]),
        ("threshold", 0.9, "/epochplan.toml (audit)", ["audit"]),
    ]
    assert [r for r in rows if r[0] == "ngram"] == [
        ("ngram", 5, "default", ["check", "plan", "audit"]),
        ("ngram", 3, "/epochplan.toml (dedup)", ["dedup"]),
    ]


def test_a_deleted_working_folder_is_one_line_exit_2_and_an_absolute_config_still_works(tmp_path):
    # Path.cwd() raised FileNotFoundError in the search for a file: exit 3 with a traceback.
    gone = tmp_path / "gone"
    config = tmp_path / "ci.toml"
    config.write_text("[plan]\nbatch = 4\n")

    def run_in_deleted_folder(*args: str) -> subprocess.CompletedProcess:
        gone.mkdir()
        script = 'cd "$1" && rmdir "$1" && shift && exec "$@"'
        return subprocess.run(
            ["sh", "-c", script, "sh", str(gone), sys.executable, "-m", "epochplan", *args], capture_output=True, text=True, timeout=120
        )

    assert_clean_error(run_in_deleted_folder("plan", "--samples", "1000", "--batch", "8"), "current folder no longer exists", "--config")
    proc = run_in_deleted_folder("plan", "--samples", "1000", "--config", str(config), "-o", "-")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["setup"]["batch"] == 4


def test_num_perm_past_the_cores_most_fails_config_validation_naming_key_and_file(tmp_path):
    # `num-perm = 2048` passed (config show exit 0) and the audit failed later in the core with
    # "num_perm must be between 1 and 1024", naming neither the key nor the file.
    from epochplan.defaults import CORE_DEFAULTS

    MAX_NUM_PERM = CORE_DEFAULTS["max_num_perm"]  # the core's most, through the binding
    (tmp_path / "epochplan.toml").write_text(f"num-perm = {MAX_NUM_PERM + 1}\n")
    assert_clean_error(
        run_cli("config", "show", cwd=tmp_path), "epochplan.toml", f"num-perm = {MAX_NUM_PERM + 1}", f"at most {MAX_NUM_PERM}"
    )
    (tmp_path / "epochplan.toml").write_text(f"num-perm = {MAX_NUM_PERM}\n")
    assert resolve("audit", start=tmp_path, environ=NO_ENV)["num_perm"] == MAX_NUM_PERM


def test_a_byte_order_mark_at_the_start_of_the_file_is_skipped(tmp_path):
    # tomllib refused the BOM some Windows editors write: "invalid TOML", exit 2.
    (tmp_path / "epochplan.toml").write_bytes(b"\xef\xbb\xbf[check]\nmin-unique-samples = 7\n")
    assert resolve_check_settings(start=tmp_path, environ=NO_ENV)["min_unique_samples"] == 7


def test_a_config_path_that_is_a_folder_or_a_fifo_says_what_it_is(tmp_path):
    # Both were "file not found", for a path that exists.
    fifo = tmp_path / "fifo.toml"
    os.mkfifo(fifo)
    with pytest.raises(ConfigError, match="is a folder; give a TOML file"):
        resolve_check_settings(path=tmp_path, environ=NO_ENV)
    with pytest.raises(ConfigError, match="not a regular file"):
        resolve_check_settings(path=fifo, environ=NO_ENV)


@pytest.mark.parametrize(
    "body, fragment",
    [
        ("[check]\nmin-unique = 10\n", "unknown key 'min-unique'; did you mean 'min-unique-samples'? known keys: "),
        ("threshhold = 0.8\n", "unknown key 'threshhold'; did you mean 'threshold'? known keys: "),
        ("[chek]\nfail-on = 'error'\n", "unknown table 'chek'; did you mean 'check'? known tables: "),
        ("memory-budget = nan\n", "memory-budget = nan: is not a number"),
    ],
)
def test_a_misspelt_key_is_told_its_nearest_known_key_and_nan_is_not_a_number(tmp_path, body, fragment):
    # The whole list of known keys only; a NaN memory budget was "too large".
    (tmp_path / "epochplan.toml").write_text(body)
    assert_clean_error(run_cli("config", "show", cwd=tmp_path), "epochplan.toml", fragment)


def test_a_tool_epochplan_table_in_another_file_says_to_drop_the_wrapper(tmp_path):
    # It was "unknown table 'tool'; known tables: audit, check, dedup, plan".
    other = tmp_path / "ci.toml"
    other.write_text("[tool.epochplan.check]\nmin-unique-samples = 7\n")
    assert_clean_error(
        run_cli("config", "show", "--config", str(other), cwd=tmp_path), str(other), "[tool.epochplan]", "drop the 'tool.epochplan' prefix"
    )


@pytest.mark.parametrize("name", ["epochplan.toml", "pyproject.toml"])
def test_a_config_file_discovery_finds_as_a_symlink_loop_is_an_error_naming_it(tmp_path, name):
    """`is_file()` is False for a loop: the file was passed over without a word (exit 0, the
    defaults or another file's settings), where `--config loop` was an error naming it."""
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    (tmp_path / name).symlink_to(name)  # a link to itself
    proc = run_cli("plan", "--samples", "1000", "--batch", "8", cwd=sub)
    assert_clean_error(proc, f"{tmp_path / name}: is a symlink loop", "remove or repoint the link", "--config")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(tmp_path / name))}: is a symlink loop \("):
        resolve_check_settings(start=sub, environ=NO_ENV)
    # A link to a loop: named as the loop it goes through.
    (tmp_path / name).unlink()
    (tmp_path / "loop").symlink_to("loop")
    (tmp_path / name).symlink_to(tmp_path / "loop" / "x.toml")
    with pytest.raises(ConfigError, match=rf"goes through a symlink loop at {re.escape(str(tmp_path / 'loop'))} "):
        resolve_check_settings(start=sub, environ=NO_ENV)


def test_a_config_file_discovery_finds_as_a_link_to_nothing_is_an_error_naming_it(tmp_path):
    """A dangling epochplan.toml (its target moved or not yet written) was passed over too: the
    settings meant changed nothing, and a pyproject.toml beside it was read instead."""
    pyproject(tmp_path, "[tool.epochplan.plan]\nbatch = 3\n")
    (tmp_path / "epochplan.toml").symlink_to("shared/epochplan.toml")
    proc = run_cli("plan", "--samples", "1000", cwd=tmp_path)
    assert_clean_error(proc, f"{tmp_path / 'epochplan.toml'}: is a symlink to shared/epochplan.toml, which does not exist", "--config")
    # Repointed, it is read; a link to a folder is an error, as a folder is (below).
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "epochplan.toml").write_text("[plan]\nbatch = 5\n")
    with pytest.warns(ConfigWarning, match=r"\[tool\.epochplan\] is not read"):  # the pyproject.toml's, beside it
        assert resolve("plan", start=tmp_path, environ=NO_ENV)["batch"] == 5
    (tmp_path / "epochplan.toml").unlink()
    (tmp_path / "epochplan.toml").symlink_to("shared")
    with pytest.raises(ConfigError, match=r"epochplan\.toml: is a symlink to shared, which is a folder, not a file; remove or repoint"):
        resolve("plan", start=tmp_path, environ=NO_ENV)


@pytest.mark.parametrize("name", ["epochplan.toml", "pyproject.toml"])
@pytest.mark.parametrize("kind", ["folder", "fifo"])
def test_a_folder_or_fifo_named_as_a_config_file_is_an_error_naming_it(tmp_path, name, kind):
    """A folder (or FIFO) named epochplan.toml was passed over without a word: the settings the
    user meant to write there changed nothing, and one further up (here batch = 3) was read. A
    FIFO is not opened (that would block): the command ends at once."""
    pyproject(tmp_path, "[tool.epochplan.plan]\nbatch = 3\n")
    sub = tmp_path / "a" / "b"
    sub.mkdir(parents=True)
    found = tmp_path / "a" / name
    if kind == "folder":
        found.mkdir()
        what = "a folder"
    else:
        os.mkfifo(found)
        what = "a FIFO (named pipe)"
    for args in (("config", "show"), ("plan", "--samples", "1000")):
        proc = run_cli(*args, cwd=sub, timeout=60)
        assert_clean_error(
            proc, f"error: {found}: is {what}, not a file; remove or rename it, or name the configuration file with --config"
        )
