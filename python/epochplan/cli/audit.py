"""`epochplan audit`: audit a dataset, then plan epochs and steps for it."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from .. import settings
from ..auditing import audit
from ..errors import InputError
from ..outputs import atomic_write, atomic_write_text, check_output_path
from ..planning import plan
from ..progress import RowProgress
from ..render.audit_table import render_audit, render_warnings
from ..render.plan_table import print_plan
from ..sources import count_rows, open_source, parse_eval, resolve_paths
from . import options
from .plan import build_setup


@options.takes(options.DATA, options.SETUP)
def audit_command(
    data: options.DataArgument,
    json_out: Annotated[str | None, typer.Option("--json", help="Write the audit as JSON to PATH ('-' = stdout).")] = None,
    clusters: Annotated[
        Path | None, typer.Option("--clusters", help="Write per-row clusters (row, exact_id, near_id, keep, similarity) as Parquet.")
    ] = None,
    leakage: Annotated[
        Path | None,
        typer.Option("--leakage", help="Write every train/eval match (split, eval_row, train_row, similarity, kind) as Parquet."),
    ] = None,
    quiet: options.QuietOption = False,
    config: options.ConfigOption = None,
    given: dict[str, Any] | None = None,
) -> None:
    """Audit a dataset: exact and near duplicates, train/eval leakage, conflicting labels,
    lengths, labels, diversity; then plan epochs and steps.

    The plan uses the setup flags (--regime, --batch, --gpus ...) or the defaults it states;
    `epochplan plan --help` explains them.
    """
    given = given or {}
    # Everything that can be wrong with the command is found before the (long) audit.
    resolved = settings.resolve("audit", options.cli_values(given), path=config)
    setup = build_setup(resolved)
    splits = parse_eval(given.get("eval_splits"))
    inputs = resolve_paths(data) + [p for spec in splits.values() for p in resolve_paths(spec)]
    if json_out and json_out != "-":
        check_output_path(json_out, option="--json", inputs=inputs)
    for option, path in (("--clusters", clusters), ("--leakage", leakage)):
        if path is not None:
            check_output_path(path, option=option, inputs=inputs)
    if leakage is not None and not splits:
        raise InputError("--leakage needs at least one --eval split to compare with")

    total = count_rows(open_source(data))
    with RowProgress(total) as progress:
        result = audit(
            data,
            **options.audit_options(resolved),
            eval=splits or None,
            keep_clusters=clusters is not None,
            progress=progress,
        )
    the_plan = plan(result, setup)
    result.extra["plan"] = the_plan.to_dict()

    if clusters is not None and result.clusters is not None:
        frame = result.clusters
        atomic_write(clusters, lambda tmp: frame.write_parquet(tmp))
    if leakage is not None and result.leaks is not None:
        leaks = result.leaks
        atomic_write(leakage, lambda tmp: leaks.write_parquet(tmp))
    if json_out == "-":
        sys.stdout.write(result.to_json())
    elif json_out:
        atomic_write_text(json_out, result.to_json())
    if not quiet and json_out != "-":
        console = Console()
        render_audit(result, console)
        print_plan(the_plan, console)
    else:
        # The summary is off, the warnings are not: stderr keeps stdout for the JSON.
        render_warnings(result.warnings, Console(stderr=True))
