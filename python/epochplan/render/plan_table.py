"""The terminal form of a plan (rich): a table of numbers, the warnings, and one line of
rationale per number."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from ..planning import Plan


def print_plan(p: Plan, console: Console | None = None, *, rationale: bool = True) -> None:
    """The terminal summary: a table of numbers, warnings, and one line of rationale per number."""
    console = console or Console(emoji=False)
    console.print(_table(p))
    for warning in p.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(warning)}", highlight=False)
    if not rationale:
        console.print("[dim]the reason behind each number: --why (the JSON has them all)[/dim]", highlight=False)
        return
    print_rationale(p, console)


def print_rationale(p: Plan, console: Console) -> None:
    """`--why`: one line per number of the plan, the number, its reason and its source."""
    console.print("[bold]why[/bold]")
    for entry in p.rationale:
        console.print(
            f"  [cyan]{entry.field}[/cyan]: {escape(entry.detail)} [dim]- {escape(entry.rule)}; {escape(_short(entry.source))}[/dim]",
            highlight=False,
        )


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
        ("unique tokens", _num(p.unique_tokens) + (" (estimate)" if p.unique_tokens_estimated and p.unique_tokens else "")),
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
