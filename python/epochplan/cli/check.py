"""`epochplan check`: the audit as a CI gate."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from .. import settings
from ..config import COMMAND_LINE, ENVIRONMENT, Setting
from ..outputs import atomic_write_text, check_outputs, reader_may_leave, staged_outputs, stdout_errors, stdout_option, write_stdout
from ..render.console import terminal_console, visible
from . import options
from .loading import load_data_modules


def _near_off(near: Setting, environ: Mapping[str, str]) -> tuple[str | None, bool]:
    """Where near duplicates were turned off, for the skipped near checks to name, and whether
    those skips warn: a CI variable or a file's `near = false` is not in the command line the log
    shows, so it warns (and fails `--fail-on warning`); `--no-near` is, so it is a quiet skip."""
    if near.value is not False:
        return None, True
    if near.level == COMMAND_LINE:
        return "--no-near", False
    if near.level == ENVIRONMENT:
        variable = "EPOCHPLAN_NEAR"
        return f"{variable}={environ.get(variable, 'false')} in the environment", True
    return f"near = false in {near.source}", True


@options.takes(options.DATA, options.CHECK)
def check_command(
    data: options.DataArgument,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the report (epochplan.check/1) to PATH ('-' = stdout).")] = None,
    junit: Annotated[Path | None, typer.Option("--junit", help="Write JUnit XML to PATH ('-' = stdout): one testcase per check.")] = None,
    html: options.HtmlOption = None,
    examples: options.ExamplesOption = True,
    baseline: Annotated[Path | None, typer.Option("--baseline", help="An earlier --json report: fail only checks that got worse.")] = None,
    allow_baseline_mismatch: Annotated[
        bool,
        typer.Option("--allow-baseline-mismatch", help="Compare with a --baseline made from other data or settings (refused by default)."),
    ] = False,
    config: options.ConfigOption = None,
    exit_zero: Annotated[bool, typer.Option("--exit-zero", help="Exit 0 even when the gate fails (input errors still exit 2).")] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="No terminal table (reports, annotations and the exit code remain).")
    ] = False,
    given: dict[str, Any] | None = None,
) -> None:
    """Audit DATA and fail when it breaks the thresholds: a gate for CI before training.

    Checks: empty rows, exact and near duplicates, leakage of each --eval split into train (exact and near), conflicting labels, minimum unique samples, label imbalance (a warning), a shared template (a warning by default). Thresholds come from the flags, then EPOCHPLAN_<KEY> environment variables, then the tool.epochplan.check table of pyproject.toml (or the check table of epochplan.toml), then the top level of tool.epochplan, then the defaults; `epochplan config show` prints them and where each came from.

    Exit codes: 0 no check that ran reached --fail-on (a skipped check whose input is missing never fails the gate; one shown as a warning, near duplicates off by a file or EPOCHPLAN_NEAR (not by --no-near) or an eval split with nothing to compare, fails it under --fail-on warning); 1 the gate failed; 2 usage, configuration or input error (nothing judged); 3 internal error. --exit-zero exits 0 after reporting a failed gate, but never after an input error.
    """
    load_data_modules()
    from ..checking import Thresholds, audit_for_check, check_baseline_source, evaluate, load_baseline
    from ..render.check_table import render_terminal
    from ..render.github import append_step_summary, emit_github, github_markdown, in_github_actions
    from ..render.html import render_html
    from ..render.junit import to_junit
    from ..sources import resolve_paths

    given = given or {}
    # Everything that can be wrong with the command is found before the (long) audit.
    resolved = settings.resolve("check", options.cli_values(given), path=config)
    thresholds = Thresholds.from_resolved(resolved)
    audit_options = options.audit_options(resolved)
    inputs = resolve_paths(data) + options.read_files(resolved)
    splits, eval_text = options.eval_splits(given)
    for name, path in splits.items():
        inputs += resolve_paths(path, split=name)
    if baseline is not None:
        inputs.append(baseline)
    environ = dict(os.environ)
    summary = environ.get("GITHUB_STEP_SUMMARY") if in_github_actions(environ) else None
    outputs = {"--json": json_out, "--junit": junit, "--html": html}
    to_stdout = stdout_option(outputs, text=("--json", "--junit", "--html"))
    check_outputs({**outputs, "GITHUB_STEP_SUMMARY": summary or None}, inputs)
    base = load_baseline(baseline) if baseline is not None else None

    with options.data_progress(data, "checking") as progress:
        audit = audit_for_check(data, audit_options, splits, progress, examples=examples, eval_text=eval_text)
    if base is not None:
        warning = check_baseline_source(base, audit, path=str(baseline), allow_mismatch=allow_baseline_mismatch)
        if warning is not None:
            terminal_console(stderr=True).print(f"[yellow]warning:[/yellow] {escape(visible(warning))}", highlight=False)
    near_off, near_off_warns = _near_off(resolved.settings["near"], environ)
    report = evaluate(
        audit,
        thresholds,
        baseline=base,
        baseline_path=str(baseline) if baseline else None,
        exit_zero=exit_zero,
        near_off=near_off,
        near_off_warns=near_off_warns,
    )

    texts: dict[str, Callable[[], str]] = {
        "--json": report.to_json,
        "--junit": lambda: to_junit(report),
        "--html": lambda: render_html(None, check=report.to_dict(), examples=examples),
    }
    with staged_outputs() as stage:  # the files land together, or (error, Ctrl-C) none does
        for option, target in outputs.items():
            if target is not None and option != to_stdout:
                atomic_write_text(target, texts[option](), stage)
        if summary:  # appended last before the files land: a summary that cannot be written (exit 2) leaves them as they were
            append_step_summary(summary, github_markdown(report))
    # The exit code is the verdict: a reader that stops reading (`| head`) does not change it.
    with reader_may_leave():
        if to_stdout is not None:
            write_stdout(texts[to_stdout]())
        # Workflow commands go to stdout, unless stdout carries a report.
        with stdout_errors():  # annotations and the table redirected to a full disk
            emit_github(report, environ, sys.stderr if to_stdout else sys.stdout, summary=False)
            if not quiet and to_stdout is None:
                render_terminal(report, terminal_console())
    if report.exit_code:
        raise typer.Exit(report.exit_code)
