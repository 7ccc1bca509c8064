"""`epochplan config show`: every command's resolved settings and where each came from."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from .. import settings
from ..outputs import stdout_errors, write_stdout
from ..render.console import terminal_console
from . import options

# The order of `settings` rows (before every command had its own table, only check's was
# listed). A key shared by several commands has one row per value it resolves to, with the
# `commands` that value is for: one row when every command agrees, as before.
_LEGACY_ORDER = ("check", "plan", "dedup", "audit")


def _shown(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return ", ".join(value)
    return str(value)


def config_show(
    config: options.ConfigOption = None,
    json_out: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print every command's resolved configuration (audit, check, dedup, plan) and where each
    value came from: command line > environment EPOCHPLAN_<KEY> > file > default."""
    resolved = {command: settings.resolve(command, path=config) for command in sorted(settings.COMMANDS)}
    keys = {command: {k.attr: k for k in settings.COMMANDS[command]} for command in resolved}
    commands = {
        command: [{"key": s.name, "value": s.value, "source": s.source} for s in r.settings.values()] for command, r in resolved.items()
    }
    legacy: dict[tuple[str, str, str, str], dict[str, Any]] = {}
    for command in _LEGACY_ORDER:
        for attr, s in resolved[command].settings.items():
            section = keys[command][attr].section or "shared"
            row = {"section": section, "key": s.name, "value": s.value, "source": s.source, "commands": []}
            legacy.setdefault((section, s.name, s.source, json.dumps(s.value)), row)["commands"].append(command)
    path = next(iter(resolved.values())).path
    if json_out:
        document = {"file": str(path) if path else None, "settings": list(legacy.values()), "commands": commands}
        write_stdout(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return
    console = terminal_console()
    where = str(path) if path else "none found (searched epochplan.toml, pyproject.toml upwards)"
    with stdout_errors():  # redirected to a full disk
        console.print(f"[bold]configuration file:[/bold] {escape(where)}", highlight=False)
    table = Table(header_style="bold")
    for column in ("command", "key", "value", "source"):
        table.add_column(column)
    for command, rows in commands.items():
        for row in rows:
            table.add_row(command, row["key"], escape(_shown(row["value"])), escape(row["source"]))
    with stdout_errors():
        console.print(table)
