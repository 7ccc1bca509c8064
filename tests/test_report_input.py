"""`epochplan report` on JSON files edited by hand: every key the report reads holding something
the writers never write (a null, a string, an array, NaN, a 5,001-digit integer, arrays nested
100,000 deep) is exit 2 with one line naming the file and the key, or a page that shows what it
has; never exit 3, never "nan", "inf" or "None" on the page.

The files start as a real audit, plan and check of chatterbot_english written by the CLI (the
`real` fixture of test_html_report)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import assert_clean_error, run_cli
from epochplan.cli.report import load_json
from epochplan.defaults import AUDIT_SCHEMA, CHECK_SCHEMA, PLAN_SCHEMA
from epochplan.errors import InputError
from epochplan.render.html import render_html
from epochplan.render.report_match import mismatches
from test_html_report import real  # noqa: F401  (the fixture: a real audit, plan and check)


def _write(path: Path, document: Any) -> Path:
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _set(document: dict, path: tuple, value: Any) -> dict:
    changed = copy.deepcopy(document)
    place = changed
    for key in path[:-1]:
        place = place[key]
    place[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    "path, value, names",
    [
        (("exact", "top"), [None], "exact.top[0]: expected an object, found null"),
        (("exact", "top", 0, "members"), 5, "exact.top[0].members: expected an array"),
        (("exact", "size_histogram", 0), [], "exact.size_histogram[0]: expected an array of 2, found an array of 0"),
        (("lengths", "chars", "histogram", 0, 0), "0", "lengths.chars.histogram[0][0]: expected a whole number"),
        (("labels", "counts"), ["a"], "labels.counts: expected an object"),
        (("conflicts", "examples", 0, "rows"), None, "conflicts.examples[0].rows: expected an array, found null"),
        (("leakage", "val", "examples", 0), "x", 'leakage["val"].examples[0]: expected an object, found a string'),
        (("warnings",), [1], "warnings[0]: expected an object"),
        (("source",), "data.parquet", "source: expected an object"),
        (("source", "paths", 0), None, "source.paths[0]: expected a string, found null"),
        (("plan", "epochs"), 3, "plan.epochs: expected an object"),
        (("plan", "rationale", 0, "detail"), None, "plan.rationale[0].detail: expected a string, found null"),
        (("plan", "warnings"), "careful", "plan.warnings: expected an array"),
    ],
)
def test_a_hand_edited_audit_is_one_line_naming_the_key(real, tmp_path, path, value, names):  # noqa: F811
    audit = _write(tmp_path / "a.json", _set(real["audit"], path, value))
    proc = run_cli("report", str(audit), "-o", str(tmp_path / "r.html"))
    assert_clean_error(proc, "a.json", "not an epochplan audit JSON as written", names)
    assert not (tmp_path / "r.html").exists()


def test_a_hand_edited_plan_or_check_is_one_line_naming_the_key(real, tmp_path):  # noqa: F811
    audit = _write(tmp_path / "a.json", real["audit"])
    out = str(tmp_path / "r.html")
    for name, document, path, value, names in [
        ("plan", real["plan"], ("epochs", "planned"), "3", "epochs.planned: expected a number, found a string"),
        ("plan", real["plan"], ("total_steps",), -5, "total_steps: expected a whole number ≥ 0, found the number -5"),
        ("check", real["check"], ("summary",), [], "summary: expected an object, found an array of 0"),
        ("check", real["check"], ("checks", 0), None, "checks[0]: expected an object, found null"),
        ("check", real["check"], ("checks", 0, "fails_gate"), "yes", "checks[0].fails_gate: expected true or false"),
        # The check's eval-split rows, compared with the audit's (a string there was a ValueError, exit 3).
        ("check", real["check"], ("audit", "leakage", "val", "rows"), "30", 'audit.leakage["val"].rows: expected a whole number'),
    ]:
        given = _write(tmp_path / f"{name}.json", _set(document, path, value))
        proc = run_cli("report", str(audit), f"--{name}", str(given), "-o", out)
        assert_clean_error(proc, f"--{name}", f"{name}.json", f"not an epochplan {name} JSON as written", names)


def test_what_python_reads_but_json_does_not_hold_is_refused(real, tmp_path):  # noqa: F811
    text = json.dumps(real["audit"])
    cases = {
        "nan.json": (text.replace('"rows": ', '"rows": NaN, "x": ', 1), "holds NaN"),
        "inf.json": (text.replace('"rows": ', '"rows": -Infinity, "x": ', 1), "holds -Infinity"),
        "huge.json": (text.replace('"rows": ', '"rows": 1e400, "x": ', 1), "holds 1e400, too large"),
        "digits.json": (text.replace('"rows": ', f'"rows": {"9" * 5001}, "x": ', 1), "an integer of 5,001 digits"),
        "deep.json": ('{"schema": "epochplan.audit/1", "rows": ' + "[" * 100_000 + "]" * 100_000 + "}", "nests arrays or objects deeper"),
    }
    for name, (content, fragment) in cases.items():
        (tmp_path / name).write_text(content, encoding="utf-8")
        proc = run_cli("report", str(tmp_path / name), "-o", str(tmp_path / "r.html"))
        assert_clean_error(proc, name, "not an epochplan audit JSON as written", fragment)


# --- every key the report reads, every wrong kind of value -------------------------------------
WRONG = [None, "text", -1, 1.5, True, [], {}, [None], ["s"], [[None]], {"x": None}, 0, 10**19, 10**299, 1.7e308, -1.7e308]
SHOWN_AS_PYTHON = re.compile(r"\b(None|nan|inf|NaN|Infinity|True|False)\b")


def _paths(value: Any, path: tuple = ()) -> Iterator[tuple]:
    """Every key path of a document, the first element of each array standing for all."""
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, path + (key,))
    elif isinstance(value, list) and value:
        yield from _paths(value[0], path + (0,))


def _python_words(page: str) -> int:
    return len(SHOWN_AS_PYTHON.findall(re.sub(r"<[^>]*>", " ", page)))


@pytest.mark.parametrize("option", ["audit", "--plan", "--check"])
def test_every_key_with_every_wrong_value_is_an_input_error_or_a_page(real, tmp_path, option):  # noqa: F811
    schema, document = {"audit": (AUDIT_SCHEMA, real["audit"]), "--plan": (PLAN_SCHEMA, real["plan"]),
                        "--check": (CHECK_SCHEMA, real["check"])}[option]  # fmt: skip

    def page(loaded: dict) -> str:
        if option == "audit":
            return render_html(loaded, real["plan"], real["check"])
        return render_html(real["audit"], loaded if option == "--plan" else real["plan"], loaded if option == "--check" else real["check"])

    words = _python_words(page(document))
    path_file, tried, refused = tmp_path / "edited.json", 0, 0
    for path in list(_paths(document))[1:]:
        if path[0] == "schema" or (path[0] == "audit" and path[1:2] != ("leakage",)):
            continue  # the check's own audit is not what the report draws; its splits are compared
        for value in WRONG:
            _write(path_file, _set(document, path, value))
            tried += 1
            try:
                loaded = load_json(path_file, schema, option, "epochplan")
            except InputError as e:
                refused += 1
                assert "\n" not in str(e) and "edited.json" in str(e), str(e)
                continue
            if option == "--check":
                mismatches(real["audit"], real["plan"], loaded)  # the report's warnings on stderr
            shown = page(loaded)  # an exception here is the crash (exit 3) this test is about
            assert _python_words(shown) <= words, (path, value)
    assert tried > 300 and refused > 100, (tried, refused)
