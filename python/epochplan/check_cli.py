"""`epochplan check` (the audit as a CI gate) and `epochplan config show`.

`register(app)` adds both commands to the CLI app.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .check import CHECK_KEYS, Thresholds, audit_for_check, evaluate, load_baseline, resolve_check_settings
from .cli_options import parse_eval
from .config import SHARED_KEYS, Resolved, load_section


def _threshold_option(key_name: str) -> Any:
    key = next(k for k in CHECK_KEYS if k.name == key_name)
    return Annotated[str | None, typer.Option(key.flag, help=f"{key.help[:1].upper()}{key.help[1:]} (default {key.default}).",
                                              rich_help_panel="Thresholds", show_default=False)]


def check_command(
    data: Annotated[list[str], typer.Argument(help="Training data: Parquet/JSONL/CSV file(s), folder(s) or quoted glob pattern(s).")],
    eval_splits: Annotated[
        list[str] | None,
        typer.Option("--eval", help="Eval split to check for leakage into train: PATH or NAME=PATH (name defaults to the file stem); repeatable."),
    ] = None,
    text: Annotated[list[str] | None, typer.Option("--text", "-t", help="Text column; repeat to join several. Config key: text.")] = None,
    label: Annotated[str | None, typer.Option("--label", "-l", help="Label column (conflicting labels, imbalance). Config key: label.")] = None,
    normalize: Annotated[str | None, typer.Option("--normalize", help="default (NFKC, lowercase, whitespace) or none (raw bytes).")] = None,
    threshold: Annotated[str | None, typer.Option("--threshold", help="Near-duplicate Jaccard threshold (audit default 0.7).")] = None,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the report (epochplan.check/1) to PATH ('-' = stdout).")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML to PATH: one testcase per check.")] = None,
    baseline: Annotated[Path | None, typer.Option("--baseline", help="An earlier --json report: fail only checks that got worse.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="TOML file (default: epochplan.toml or pyproject.toml found upwards).")] = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when the gate fails (input errors still exit 2).")] = False,
    fail_on: Annotated[str | None, typer.Option("--fail-on", help="error (default) or warning: the lowest status that fails the gate.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal table (reports, annotations and the exit code remain).")] = False,
    max_empty_fraction: _threshold_option("max-empty-fraction") = None,
    max_exact_duplicate_fraction: _threshold_option("max-exact-duplicate-fraction") = None,
    max_near_duplicate_fraction: _threshold_option("max-near-duplicate-fraction") = None,
    max_leaked_rows: _threshold_option("max-leaked-rows") = None,
    max_near_leaked_rows: _threshold_option("max-near-leaked-rows") = None,
    max_conflicting_label_rows: _threshold_option("max-conflicting-label-rows") = None,
    min_unique_samples: _threshold_option("min-unique-samples") = None,
    max_imbalance_ratio: _threshold_option("max-imbalance-ratio") = None,
) -> None:
    """Audit DATA and fail when it breaks the thresholds: a gate for CI before training.

    Checks: empty rows, exact and near duplicates, leakage of each --eval split into train (exact and near), conflicting labels, minimum unique samples, label imbalance (a warning). Thresholds come from the flags, then EPOCHPLAN_<KEY> environment variables, then the tool.epochplan.check table of pyproject.toml (or the check table of epochplan.toml), then the defaults; `epochplan config show` prints them and where each came from.

    Exit codes: 0 every check ran and none reached --fail-on; 1 the gate failed; 2 usage, configuration or input error (nothing judged); 3 internal error. --exit-zero exits 0 after reporting a failed gate, but never after an input error.
    """
    from .check_report import emit_github, in_github_actions, render_terminal, to_junit
    from .errors import InputError
    from .io import atomic_write_text, check_output_path
    from .progress import RowProgress
    from .sources import count_rows, open_source, resolve_paths

    cli = {
        "text": text or None, "label": label, "normalize": normalize, "threshold": threshold, "fail_on": fail_on,
        "max_empty_fraction": max_empty_fraction, "max_exact_duplicate_fraction": max_exact_duplicate_fraction,
        "max_near_duplicate_fraction": max_near_duplicate_fraction, "max_leaked_rows": max_leaked_rows,
        "max_near_leaked_rows": max_near_leaked_rows, "max_conflicting_label_rows": max_conflicting_label_rows,
        "min_unique_samples": min_unique_samples, "max_imbalance_ratio": max_imbalance_ratio,
    }
    # Everything that can be wrong with the command is found before the (long) audit.
    resolved = resolve_check_settings(cli, path=config)
    thresholds = Thresholds.from_resolved(resolved)
    inputs = resolve_paths(data)
    splits = parse_eval(eval_splits or [])
    for path in splits.values():
        inputs += resolve_paths(path)
    if junit is not None and str(junit) == "-":
        raise InputError("--junit -: give a file path (stdout carries the terminal report or --json -)")
    if junit is not None and json_out not in (None, "-") and Path(json_out).resolve() == junit.resolve():
        raise InputError(f"--json and --junit both write {junit}; give two paths")
    if json_out and json_out != "-":
        check_output_path(json_out, option="--json", inputs=inputs)
    if junit is not None:
        check_output_path(junit, option="--junit", inputs=inputs)
    environ = dict(os.environ)
    if in_github_actions(environ) and environ.get("GITHUB_STEP_SUMMARY"):
        check_output_path(environ["GITHUB_STEP_SUMMARY"], option="GITHUB_STEP_SUMMARY", inputs=inputs)
    base = load_baseline(baseline) if baseline is not None else None

    with RowProgress(count_rows(open_source(data)), "checking") as progress:
        audit = audit_for_check(data, resolved.values(), splits, progress)
    report = evaluate(audit, thresholds, baseline=base, baseline_path=str(baseline) if baseline else None, exit_zero=exit_zero)

    if json_out == "-":
        sys.stdout.write(report.to_json())
    elif json_out:
        atomic_write_text(json_out, report.to_json())
    if junit is not None:
        atomic_write_text(junit, to_junit(report))
    # Workflow commands go to stdout, unless stdout carries the JSON report.
    emit_github(report, environ, sys.stderr if json_out == "-" else sys.stdout)
    if not quiet and json_out != "-":
        render_terminal(report, Console())
    if report.exit_code:
        raise typer.Exit(report.exit_code)


def _shown(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


def config_show(
    config: Annotated[Path | None, typer.Option("--config", help="TOML file (default: epochplan.toml or pyproject.toml found upwards).")] = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the resolved configuration of `epochplan check` (and the planner's configured keys)
    and where each value came from: command line > environment EPOCHPLAN_<KEY> > file > default."""
    from .plan_cli import SETUP_KEYS

    resolved: Resolved = resolve_check_settings(path=config)
    plan = load_section("plan", SETUP_KEYS, path=config)
    shared = [k.attr for k in SHARED_KEYS]
    rows = [("shared", s.name, s.value, s.source) for a, s in resolved.settings.items() if a in shared]
    rows += [("check", s.name, s.value, s.source) for a, s in resolved.settings.items() if a not in shared]
    rows += [("plan", name.replace("_", "-"), value, plan.origin) for name, value in sorted(plan.values.items())]
    if json_out:
        document = {
            "file": str(resolved.path) if resolved.path else None,
            "settings": [{"section": sec, "key": key, "value": value, "source": source} for sec, key, value, source in rows],
        }
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return
    console = Console()
    where = str(resolved.path) if resolved.path else "none found (searched epochplan.toml, pyproject.toml upwards)"
    console.print(f"[bold]configuration file:[/bold] {escape(where)}", highlight=False)
    table = Table(header_style="bold")
    for col in ("section", "key", "value", "source"):
        table.add_column(col)
    for sec, key, value, source in rows:
        table.add_row(sec, key, escape(_shown(value)), escape(source))
    console.print(table)


def register(app: typer.Typer) -> None:
    """Add `epochplan check` and `epochplan config show` to the CLI app."""
    app.command("check")(check_command)
    config_app = typer.Typer(help="Show the resolved configuration.", no_args_is_help=True)
    config_app.command("show")(config_show)
    app.add_typer(config_app, name="config")
