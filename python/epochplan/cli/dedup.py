"""`epochplan dedup`: write one representative row per duplicate cluster."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.text import Text

from .. import settings
from ..errors import InputError
from ..outputs import check_outputs, refuse_remote_output
from ..render.console import data_text, terminal_console, visible
from . import options
from .loading import load_data_modules


@options.takes(options.DEDUP_DATA, options.DEDUP)
def dedup_command(
    data: options.DataArgument,
    output: Annotated[
        str,
        typer.Option(
            "--output",
            "-o",
            help="Output file (.parquet, .jsonl, .ndjson, .csv, .tsv or .arrow; .txt for text-file inputs); never an input. A folder (a path ending in / or an "
            "existing folder): one shard per input file, same names.",
        ),
    ],
    config: options.ConfigOption = None,
    quiet: options.QuietOption = False,
    given: dict[str, Any] | None = None,
) -> None:
    """Write one representative row per duplicate cluster, all columns kept, in input order.

    Rows with null text belong to no cluster and are left out. With --eval (repeatable) it also
    decontaminates: every cluster holding a train row that matches an eval row (exact or near,
    with the audit's settings; exact only with --level exact) is dropped whole, and the rows
    dropped for leakage are counted per split (under the first split given a row leaks into).
    """
    load_data_modules()
    from ..auditing import dedup_to_file, dedup_to_folder, is_folder_output
    from ..auditing.dedup_shards import check_folder_output
    from ..sources import resolve_paths

    given = given or {}
    resolved = settings.resolve("dedup", options.cli_values(given), path=config)
    # A tokenizer is loaded (so checked) like everywhere else, but dedup keeps rows, not tokens.
    audit_options = options.audit_options(resolved)
    audit_options.pop("tokenizer", None)
    splits, eval_text = options.eval_splits(given)
    inputs = resolve_paths(data) + [p for n, spec in splits.items() for p in resolve_paths(spec, split=n)] + options.read_files(resolved)
    refuse_remote_output("-o", output)
    folder = is_folder_output(output)
    if folder:
        check_folder_output(data, output)
    else:
        check_outputs({"-o": output}, inputs)
    values = resolved.values()
    # The cluster level decides whether near duplicates are computed; a switch saying otherwise is an error.
    if not audit_options.pop("near", True) and values["level"] == "near":
        raise InputError("near duplicates are switched off (--no-near or near = false) but the level is near; use --level exact")
    with options.data_progress(data, "deduplicating") as progress:
        summary = (dedup_to_folder if folder else dedup_to_file)(
            data,
            output,
            level=values["level"],
            keep=values["keep"],
            eval=splits or None,
            eval_text=eval_text,
            progress=progress,
            **audit_options,
        )
    leaked = ""
    if splits:
        per_split = ", ".join(f"{data_text(name)} {count:,}" for name, count in summary.leaked_by_split.items())
        leaked = f", {summary.leaked_rows_removed:,} rows leaking into eval ({per_split})"
    console = terminal_console(stderr=True)
    for warning in summary.warnings:
        console.print(Text("warning: ", style="bold yellow") + Text(visible(warning)))
    if quiet:  # as audit's and check's -q: the warnings stay
        return
    console.print(
        f"kept {summary.kept:,} of {summary.rows:,} rows ({summary.level} level, keep {summary.keep}): removed "
        f"{summary.duplicates_removed:,} duplicates{leaked} and {summary.null_rows_removed:,} null-text rows -> {data_text(output)}",
        highlight=False,
    )
