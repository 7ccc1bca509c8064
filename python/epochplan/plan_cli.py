"""`epochplan plan` and the plan section of `epochplan audit`.

`register(app)` adds the `plan` command. The `*Option` aliases and `plan_for_audit` let the audit
command take the same setup flags and print/embed the same plan.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from .config import load_section
from .errors import ConfigError, InputError
from .exports import FORMATS, render
from .plan import FRAMEWORKS, REGIMES, Plan, Setup, plan

SETUP_KEYS = (
    "regime", "params", "batch", "grad_accum", "gpus", "seq_len", "packing", "packing_efficiency",
    "framework", "drop_last", "epochs", "steps", "token_budget",
)
BUDGET_KEYS = ("epochs", "steps", "token_budget")

# Option declarations shared by `plan` and `audit` (numbers are read as text so that 7B, 3.3e9
# and bad values all go through the planner's own one-line errors).
RegimeOption = Annotated[str | None, typer.Option("--regime", help=f"{'|'.join(REGIMES)} (default finetune).")]
ParamsOption = Annotated[str | None, typer.Option("--params", help="Model parameters: 7e9, 7B, 350M.")]
BatchOption = Annotated[str | None, typer.Option("--batch", help="Per-device batch size (default 8).")]
GradAccumOption = Annotated[str | None, typer.Option("--grad-accum", help="Gradient accumulation steps (default 1).")]
GpusOption = Annotated[str | None, typer.Option("--gpus", help="Data-parallel size (default 1).")]
SeqLenOption = Annotated[str | None, typer.Option("--seq-len", help="Sequence length in tokens.")]
PackingOption = Annotated[
    bool | None, typer.Option("--packing/--no-packing", help="Pack samples into seq-len sequences (default: pretrain only).", show_default=False)
]
PackingEfficiencyOption = Annotated[
    str | None, typer.Option("--packing-efficiency", help="Share of sequence slots filled (default: first-fit-decreasing estimate).")
]
FrameworkOption = Annotated[
    str | None, typer.Option("--framework", help=f"Step rounding of {'|'.join(FRAMEWORKS)} (default hf).")
]
DropLastOption = Annotated[
    bool | None, typer.Option("--drop-last/--no-drop-last", help="DataLoader drops the last partial batch.", show_default=False)
]
EpochsOption = Annotated[str | None, typer.Option("--epochs", help="Override: train this many epochs.")]
StepsOption = Annotated[str | None, typer.Option("--steps", help="Override: train this many optimizer steps.")]
TokenBudgetOption = Annotated[str | None, typer.Option("--token-budget", help="Override: train on this many tokens.")]
ConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML file with [plan] defaults (default: epochplan.toml or pyproject.toml found upwards).")
]


def build_setup(config: Path | None = None, **options: Any) -> Setup:
    """A Setup from command-line options (None = not given) over the configuration file's
    `[tool.epochplan.plan]` defaults. Command-line values always win."""
    section = load_section("plan", SETUP_KEYS, path=config)
    given = {k: v for k, v in options.items() if v is not None}
    unknown = set(given) - set(SETUP_KEYS)
    if unknown:
        raise InputError(f"unknown setup option(s): {', '.join(sorted(unknown))}")
    configured = dict(section.values)
    try:
        Setup(**configured)
    except InputError as exc:
        raise ConfigError(f"{section.origin}: {exc}") from None
    if any(k in given for k in BUDGET_KEYS):
        # A run length on the command line replaces the configured one rather than contradicting it.
        configured = {k: v for k, v in configured.items() if k not in BUDGET_KEYS}
    return Setup(**{**configured, **given})


def plan_for_audit(result: Any, *, config: Path | None = None, **options: Any) -> Plan:
    """The plan section of `epochplan audit`: plan `result` (an AuditResult or its dict) with the
    given setup flags. Embed it with `result.extra["plan"] = plan.to_dict()` and print it with
    `print_plan(plan, console)`."""
    return plan(result, build_setup(config, **options))


def print_plan(p: Plan, console: Console | None = None, *, rationale: bool = True) -> None:
    """The terminal summary: a table of numbers, warnings, and one line of rationale per number."""
    console = console or Console()
    console.print(_table(p))
    for warning in p.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    if rationale:
        console.print("[bold]why[/bold]")
        for entry in p.rationale:
            console.print(
                f"  [cyan]{entry.field}[/cyan]: {escape(entry.detail)} [dim]- {escape(entry.rule)}; "
                f"{escape(_short(entry.source))}[/dim]", highlight=False)


def _short(source: str) -> str:
    """The citation without its quoted detail (the JSON keeps the full text)."""
    head = source.split(": ", 1)[0]
    return head if len(head) <= 90 else head[:87] + "..."


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.4g}"
    if isinstance(value, (int, float)) and abs(value) >= 1e12:
        return f"{value:.3g}"
    return f"{int(value):,}" if isinstance(value, (int, float)) else str(value)


def _table(p: Plan) -> Table:
    s = p.setup
    table = Table(title=f"plan: {p.regime}, {p.framework} rounding", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    unique = _num(p.unique_samples) + (f" ({p.unique_level})" if p.unique_samples is not None else "")
    e = p.epochs
    rows = [
        ("unique samples", unique),
        ("unique tokens", _num(p.unique_tokens) + (" (estimate)" if p.unique_level not in ("given",) and p.unique_tokens else "")),
        ("epochs (min / recommended / max)", f"{_num(e.min)} / {_num(e.recommended)} / {_num(e.max)}"),
        ("epochs planned", _num(e.planned)),
        ("global batch", f"{p.global_batch_size:,} = {s.per_device_batch} x {s.grad_accum} x {s.gpus}"),
        ("samples per epoch", _num(p.samples_per_epoch) + (" packed sequences" if p.packing else "")),
        ("steps per epoch", _num(p.steps_per_epoch)),
        ("total steps", _num(p.total_steps)),
        ("warmup steps", _num(p.warmup_steps)),
        ("eval / save every", f"{p.eval_steps:,} / {p.save_steps:,} steps"),
        ("early-stopping patience", _num(p.early_stopping_patience) + (" evaluations" if p.early_stopping_patience else "")),
        ("tokens per epoch / total", f"{_num(p.tokens_per_epoch)} / {_num(p.tokens_total)}"),
        ("effective data D'/U", f"{p.effective_data_ratio:.2f}"),
        ("FLOPs", "-" if p.flops is None else f"{p.flops:.3g}"),
    ]
    for name, value in rows:
        table.add_row(name, value)
    return table


def _counts_source(data: str | None, audit: Path | None, text: list[str] | None) -> Any:
    if data is not None and audit is not None:
        raise InputError("a data path and --audit both given; give one (the audit JSON, or the data to audit)")
    if audit is not None:
        return audit
    if data is None:
        return None
    from . import audit as run_audit  # lazy: the audit needs the compiled extension

    return run_audit(data, text=text, keep_clusters=False)


def _emit(p: Plan, fmt: str | None, output: str | None) -> None:
    chosen = fmt or ("json" if output else "table")
    if chosen not in FORMATS:
        raise InputError(f"--format {chosen!r}: unknown format; use one of {', '.join(FORMATS)}")
    text = None if chosen == "table" else render(p, chosen)
    if output == "-":
        sys.stdout.write(text if text is not None else p.to_json())
        return
    if output:
        from .io import atomic_write_text, check_output_path

        check_output_path(output, option="-o")
        atomic_write_text(output, text if text is not None else p.to_json())
    if output or chosen == "table":
        print_plan(p, Console())
    else:
        sys.stdout.write(text or "")


def plan_command(
    data: Annotated[
        str | None, typer.Argument(help="Data file/folder/glob to audit first (or use --audit / --samples / --tokens).", show_default=False)
    ] = None,
    audit: Annotated[Path | None, typer.Option("--audit", help="Audit JSON written by `epochplan audit --json`.")] = None,
    text: Annotated[list[str] | None, typer.Option("--text", "-t", help="Text column(s) when auditing DATA.")] = None,
    samples: Annotated[str | None, typer.Option("--samples", help="Unique sample count (no audit).")] = None,
    tokens: Annotated[str | None, typer.Option("--tokens", help="Unique token count, e.g. 3.3e9 (no audit).")] = None,
    regime: RegimeOption = None,
    params: ParamsOption = None,
    batch: BatchOption = None,
    grad_accum: GradAccumOption = None,
    gpus: GpusOption = None,
    seq_len: SeqLenOption = None,
    packing: PackingOption = None,
    packing_efficiency: PackingEfficiencyOption = None,
    framework: FrameworkOption = None,
    drop_last: DropLastOption = None,
    epochs: EpochsOption = None,
    steps: StepsOption = None,
    token_budget: TokenBudgetOption = None,
    fmt: Annotated[str | None, typer.Option("--format", "-f", help=f"Output: {'|'.join(FORMATS)} (default table).")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the plan (JSON, or --format) to PATH ('-' = stdout).")] = None,
    config: ConfigOption = None,
) -> None:
    """Plan epochs, steps, warm-up and evaluation from the true unique counts."""
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: unknown format; use one of {', '.join(FORMATS)}")
    if framework is None and fmt in FRAMEWORKS and "framework" not in load_section("plan", SETUP_KEYS, path=config).values:
        framework = fmt  # `--format lightning` means Lightning's rounding unless told otherwise
    setup = build_setup(
        config, regime=regime, params=params, batch=batch, grad_accum=grad_accum, gpus=gpus, seq_len=seq_len,
        packing=packing, packing_efficiency=packing_efficiency, framework=framework, drop_last=drop_last,
        epochs=epochs, steps=steps, token_budget=token_budget,
    )
    if output and output != "-":
        from .io import check_output_path

        check_output_path(output, option="-o")  # fail before a long audit
    source = _counts_source(data, audit, text)
    if source is not None and (samples is not None or tokens is not None):
        raise InputError("--samples/--tokens and an audit both given; give one source of counts")
    _emit(plan(source, setup, samples=samples, tokens=tokens), fmt, output)


def register(app: typer.Typer) -> None:
    """Add `epochplan plan` to the CLI app."""
    app.command("plan")(plan_command)
