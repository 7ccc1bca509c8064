"""`epochplan audit`: audit a dataset, then plan epochs and steps for it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape

from .. import settings
from ..errors import InputError
from ..outputs import atomic_write_text, check_outputs, staged_outputs, stdout_errors, stdout_option, write_parquet, write_stdout
from ..planning import DataCannotFill, NothingToPlan, Plan, Setup, check_setup, nothing_to_plan, plan
from ..render.console import terminal_console
from ..render.markdown import render_markdown
from ..render.plan_table import print_plan, print_rationale
from . import options
from .loading import load_data_modules
from .plan import build_setup

if TYPE_CHECKING:
    from ..auditing import AuditResult


@options.takes(options.DATA, options.SETUP)
def audit_command(
    data: options.DataArgument,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the audit as JSON to PATH ('-' = stdout).")] = None,
    clusters: Annotated[
        Path | None,
        typer.Option(
            "--clusters", help="Write per-row clusters (row, exact_id, near_id, keep, similarity, exact_size, near_size) as Parquet."
        ),
    ] = None,
    leakage: Annotated[
        Path | None,
        typer.Option("--leakage", help="Write every train/eval match (split, eval_row, train_row, similarity, kind) as Parquet."),
    ] = None,
    html: options.HtmlOption = None,
    markdown: Annotated[
        Path | None,
        typer.Option(
            "--markdown",
            help="Write the headline as Markdown to PATH ('-' = stdout; also appended to $GITHUB_STEP_SUMMARY in GitHub Actions).",
        ),
    ] = None,
    examples: options.ExamplesOption = True,
    quiet: options.QuietOption = False,
    why: Annotated[
        bool,
        typer.Option(
            "--why", help="Also print the reason behind every number of the plan (the JSON has them all); with -q, the reasons alone."
        ),
    ] = False,
    config: options.ConfigOption = None,
    given: dict[str, Any] | None = None,
) -> None:
    """Audit a dataset: exact and near duplicates, train/eval leakage, conflicting labels,
    lengths, labels, diversity; then plan epochs and steps.

    The plan uses the setup flags (--regime, --batch, --gpus ...) or the defaults it states;
    `epochplan plan --help` explains them.
    """
    load_data_modules()
    from ..auditing import audit
    from ..auditing.special_tokens import uncovered
    from ..render.audit_table import render_audit, render_warnings
    from ..render.github import append_step_summary, in_github_actions
    from ..render.html import render_html
    from ..sources import resolve_paths

    given = given or {}
    # Everything that can be wrong with the command is found before the (long) audit.
    resolved = settings.resolve("audit", options.cli_values(given), path=config)
    audit_options = options.audit_options(resolved)
    setup = build_setup(resolved)
    check_setup(setup)  # an audit has samples and tokens: --packing without --seq-len fails now, not after the audit
    splits, eval_text = options.eval_splits(given)
    inputs = resolve_paths(data) + [p for n, spec in splits.items() for p in resolve_paths(spec, split=n)] + options.read_files(resolved)
    environ = dict(os.environ)
    step_summary = environ.get("GITHUB_STEP_SUMMARY") if in_github_actions(environ) else None
    outputs = {"--json": json_out, "--clusters": clusters, "--leakage": leakage, "--html": html, "--markdown": markdown}
    to_stdout = stdout_option(outputs, text=("--json", "--html", "--markdown"))
    check_outputs({**outputs, "GITHUB_STEP_SUMMARY": step_summary}, inputs)
    if leakage is not None and not splits:
        raise InputError("--leakage needs at least one --eval split to compare with")

    with options.data_progress(data, "auditing") as progress:
        result = audit(
            data,
            **audit_options,
            eval=splits or None,
            eval_text=eval_text,
            keep_clusters=clusters is not None,
            examples=examples,
            progress=progress,
        )
    result.warnings = uncovered(result, setup.sample_overhead)  # special tokens the plan's --sample-overhead counts
    the_plan, skipped = _plan_or_why_not(result, setup)
    result.extra["plan"] = None if the_plan is None else the_plan.to_dict()
    if skipped is not None:  # audited, but this data cannot be planned so: say why instead of losing the audit
        result.extra["plan_skipped"] = skipped

    headline = page = None
    with staged_outputs() as stage:  # the files land together, or (error, Ctrl-C) none does
        if clusters is not None and result.clusters is not None:
            write_parquet(clusters, result.clusters, stage)
        if leakage is not None and result.leaks is not None:
            write_parquet(leakage, result.leaks, stage)
        if json_out and to_stdout != "--json":
            atomic_write_text(json_out, result.to_json(), stage)
        if html is not None or markdown is not None or step_summary:
            audit_dict = result.to_dict()
            if html is not None:
                page = render_html(audit_dict, examples=examples)
                if to_stdout != "--html":
                    atomic_write_text(html, page, stage)
            headline = render_markdown(audit_dict, examples=examples)
            if markdown is not None and to_stdout != "--markdown":
                atomic_write_text(markdown, headline, stage)
        if step_summary and headline is not None:
            # Appended (as GitHub expects; each step adds its own part) last before the files
            # land: a summary that cannot be written (exit 2) leaves them as they were.
            append_step_summary(step_summary, headline)
    if to_stdout == "--json":
        write_stdout(result.to_json())
    elif to_stdout is not None:
        write_stdout((page if to_stdout == "--html" else headline) or "")
    if not quiet and to_stdout is None:
        console = terminal_console()
        with stdout_errors():  # the summary redirected to a full disk
            render_audit(result, console)
            if the_plan is None:
                console.print(f"[bold]no plan:[/bold] {escape(str(skipped))}", highlight=False)
            else:
                print_plan(the_plan, console, rationale=why)
    else:
        # The summary is off, the warnings are not: stderr keeps stdout for the JSON.
        console = terminal_console(stderr=True)
        render_warnings(result.warnings, console)
        if skipped is not None:
            console.print(f"[bold]no plan:[/bold] {escape(skipped)}", highlight=False)
        elif why and the_plan is not None:
            # Asked for by name: -q leaves the summary out, not the reasons (on stdout when it is
            # free, else on stderr beside the warnings).
            reasons = console if to_stdout is not None else terminal_console()
            with stdout_errors():
                print_rationale(the_plan, reasons)


def _plan_or_why_not(result: AuditResult, setup: Setup) -> tuple[Plan | None, str | None]:
    """The plan of an audited dataset, or why there is none. The setup passed `check_setup`
    before the audit, so what fails now fails on this data's numbers (every text null or empty,
    --gpus above the samples, --drop-last leaving no step): the audit is still written, with
    `plan: null` and the reason in `plan_skipped`, and the command succeeds, as it does for an
    all-null text column. `epochplan plan` on the audit JSON reports the same reason as an error."""
    if (all_null := nothing_to_plan(result)) is not None:
        return None, f"the audit {all_null}"
    try:
        return plan(result, setup), None
    except NothingToPlan as nothing:  # texts all empty, packed: no sequences
        return None, f"the audit {nothing.why}"
    except DataCannotFill as exc:  # only these: any other error is no reason to skip, and stops the command
        return None, str(exc)
