"""The `epochplan` command line. Exit codes: 0 success, 1 a gate failed, 2 usage/input/config
error (one line on stderr, no traceback), 3 internal error, 130 interrupted (Ctrl-C)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from . import __version__, check_cli, plan_cli
from . import cli_options as opts
from .errors import EpochplanError, InputError, InternalError

EXIT_OK, EXIT_GATE, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

app = typer.Typer(
    name="epochplan",
    help="Audit a training dataset and plan how long to train on it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        print(f"epochplan {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    version: Annotated[
        Optional[bool], typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = None,
) -> None:
    """Audit a training dataset and plan how long to train on it.

    Exit codes: 0 success, 1 gate failed (check), 2 usage/input/config error, 3 internal error,
    130 interrupted.
    """


@app.command()
def audit(
    data: opts.DataArgument,
    text: opts.TextOption = None,
    label: opts.LabelOption = None,
    normalize: opts.NormalizeOption = opts.NormalizeMode.default,
    near: opts.NearOption = True,
    threshold: opts.ThresholdOption = 0.7,
    ngram: opts.NgramOption = 5,
    shingle: opts.ShingleOption = opts.ShingleKind.auto,
    char_ngram: opts.CharNgramOption = None,
    clustering: opts.ClusteringOption = opts.ClusteringKind.representative,
    num_perm: opts.NumPermOption = 128,
    memory_budget: opts.MemoryBudgetOption = None,
    eval_splits: opts.EvalOption = None,
    json_out: Annotated[Optional[str], typer.Option("--json", help="Write the audit as JSON to PATH ('-' = stdout).")] = None,
    clusters: Annotated[
        Optional[Path], typer.Option("--clusters", help="Write per-row clusters (row, exact_id, near_id, keep, similarity) as Parquet.")
    ] = None,
    leakage: Annotated[
        Optional[Path],
        typer.Option("--leakage", help="Write every train/eval match (split, eval_row, train_row, similarity, kind) as Parquet."),
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")] = False,
    regime: plan_cli.RegimeOption = None,
    params: plan_cli.ParamsOption = None,
    batch: plan_cli.BatchOption = None,
    grad_accum: plan_cli.GradAccumOption = None,
    gpus: plan_cli.GpusOption = None,
    seq_len: plan_cli.SeqLenOption = None,
    packing: plan_cli.PackingOption = None,
    packing_efficiency: plan_cli.PackingEfficiencyOption = None,
    framework: plan_cli.FrameworkOption = None,
    drop_last: plan_cli.DropLastOption = None,
    epochs: plan_cli.EpochsOption = None,
    steps: plan_cli.StepsOption = None,
    token_budget: plan_cli.TokenBudgetOption = None,
    config: plan_cli.ConfigOption = None,
) -> None:
    """Audit a dataset: exact and near duplicates, train/eval leakage, conflicting labels,
    lengths, labels, diversity; then plan epochs and steps.

    The plan uses the setup flags (--regime, --batch, --gpus ...) or the defaults it states;
    `epochplan plan --help` explains them.
    """
    from .audit import audit as run_audit
    from .io import atomic_write, atomic_write_text, check_output_path
    from .progress import RowProgress
    from .report import render_audit
    from .sources import count_rows, open_source, resolve_paths

    setup_flags = dict(
        regime=regime, params=params, batch=batch, grad_accum=grad_accum, gpus=gpus, seq_len=seq_len,
        packing=packing, packing_efficiency=packing_efficiency, framework=framework, drop_last=drop_last,
        epochs=epochs, steps=steps, token_budget=token_budget,
    )
    plan_cli.build_setup(config, **setup_flags)  # bad setup flags fail before the long audit
    splits = opts.parse_eval(eval_splits)
    budget = opts.parse_size(memory_budget)
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
        result = run_audit(
            data,
            text=text,
            label=label,
            normalize=normalize.value,
            near=near,
            threshold=threshold,
            ngram=ngram,
            shingle=shingle.value,
            char_ngram=char_ngram,
            clustering=clustering.value,
            num_perm=num_perm,
            memory_budget=budget,
            eval=splits or None,
            keep_clusters=clusters is not None,
            progress=progress,
        )

    plan = plan_cli.plan_for_audit(result, config=config, **setup_flags)
    result.extra["plan"] = plan.to_dict()

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
        plan_cli.print_plan(plan, console)


plan_cli.register(app)
check_cli.register(app)


@app.command()
def dedup(
    data: opts.DataArgument,
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file (.parquet, .jsonl, .ndjson or .csv); never an input.")],
    text: opts.TextOption = None,
    level: Annotated[str, typer.Option("--level", help="Cluster level: near (default) or exact.")] = "near",
    keep: Annotated[str, typer.Option("--keep", help="Representative: first (lowest row) or longest (most characters).")] = "first",
    normalize: opts.NormalizeOption = opts.NormalizeMode.default,
    threshold: opts.ThresholdOption = 0.7,
    ngram: opts.NgramOption = 5,
    shingle: opts.ShingleOption = opts.ShingleKind.auto,
    char_ngram: opts.CharNgramOption = None,
    clustering: opts.ClusteringOption = opts.ClusteringKind.representative,
    num_perm: opts.NumPermOption = 128,
    memory_budget: opts.MemoryBudgetOption = None,
) -> None:
    """Write one representative row per duplicate cluster, all columns kept, in input order.

    Rows with null text belong to no cluster and are left out.
    """
    from .dedup import dedup_to_file
    from .io import check_output_path
    from .sources import resolve_paths

    check_output_path(output, option="-o", inputs=resolve_paths(data))
    summary = dedup_to_file(
        data, output, text=text, level=level, keep=keep, normalize=normalize.value, threshold=threshold, ngram=ngram,
        shingle=shingle.value, char_ngram=char_ngram, clustering=clustering.value, num_perm=num_perm,
        memory_budget=opts.parse_size(memory_budget),
    )
    Console(stderr=True, highlight=False).print(
        f"kept {summary.kept:,} of {summary.rows:,} rows ({summary.level} level, keep {summary.keep}): removed "
        f"{summary.duplicates_removed:,} duplicates and {summary.null_rows_removed:,} null-text rows -> {output}"
    )


def _fail(code: int, message: str) -> int:
    Console(stderr=True, highlight=False, soft_wrap=True).print(f"[bold red]error:[/bold red] {escape(message)}")
    return code


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code, mapping every failure to the documented codes."""
    try:
        # Non-standalone typer returns the exit code of an Exit (130 for Ctrl-C) instead of raising.
        code = app(args=argv, prog_name="epochplan", standalone_mode=False)
        if code == EXIT_INTERRUPTED:
            print("interrupted", file=sys.stderr)
        return code if isinstance(code, int) else EXIT_OK
    except typer.Exit as e:
        return e.exit_code
    except TyperException as e:  # typer's (vendored click) usage errors
        if type(e).__name__ == "NoArgsIsHelpError":
            e.show()
            return EXIT_OK
        ctx = getattr(e, "ctx", None)
        command = ctx.command_path if ctx is not None else "epochplan"
        return _fail(EXIT_INPUT, f"{e.format_message()} (see '{command} --help')")
    except (KeyboardInterrupt, typer.Abort):
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except InternalError as e:
        return _fail(EXIT_INTERNAL, f"{e} (a bug in epochplan: please report it)")
    except EpochplanError as e:
        return _fail(EXIT_INPUT, str(e))
    except BrokenPipeError:
        return EXIT_OK
    except Exception as e:  # anything else is our bug: one line, exit 3, no traceback
        return _fail(EXIT_INTERNAL, f"internal error: {type(e).__name__}: {e} (please report it)")


def main() -> None:
    sys.exit(run())


__all__ = ["app", "main", "run", "InputError"]
