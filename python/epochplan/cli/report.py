"""`epochplan report`: the HTML report from JSON files written earlier, without the data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from .. import settings
from ..defaults import AUDIT_SCHEMA, CHECK_SCHEMA, PLAN_SCHEMA
from ..errors import InputError, refuse_symlink_loop, secrets_masked
from ..json_text import NotAsWritten, parse
from ..outputs import atomic_write_text, check_outputs, write_stdout
from ..render.console import terminal_console, visible
from ..render.report_input import check_shape
from ..render.report_match import mismatches
from . import options
from .loading import load_data_modules


def load_json(path: Path, schema: str, option: str, writer: str) -> dict[str, Any]:
    """The JSON document at `path`, which must carry `schema`; every problem is one line."""
    how = f"pass the JSON written by `{writer}`"
    refuse_symlink_loop(option, path)
    if not path.exists():
        raise InputError(f"{option} {path}: no such file; {how}")
    if path.is_dir():
        raise InputError(f"{option} {path}: is a directory; {how}")
    kind = schema.split(".")[-1].split("/")[0]  # epochplan.audit/1 -> audit
    try:
        document = parse(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError(f"{option} {path}: not UTF-8 text; {how}") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{option} {path}: not JSON (line {e.lineno}: {e.msg}); {how}") from None
    except NotAsWritten as e:
        raise InputError(f"{option} {path}: not an epochplan {kind} JSON as written: it {e}; {how}") from None
    except OSError as e:
        raise InputError(f"{option} {path}: cannot read ({e.strerror}); {how}") from None
    found = document.get("schema") if isinstance(document, dict) else type(document).__name__
    if found != schema:
        raise InputError(f"{option} {path}: schema {found!r}, expected {schema!r}; {how}")
    try:
        check_shape(document, schema)
    except NotAsWritten as e:
        raise InputError(f"{option} {path}: not an epochplan {kind} JSON as written: {e}; {how}") from None
    return secrets_masked(document)  # an older version wrote URLs' secrets out


def report_command(
    audit: Annotated[Path, typer.Argument(help="The audit JSON (epochplan.audit/1) from `epochplan audit --json`.", show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Write the HTML page to PATH ('-' = stdout).", show_default=False)],
    plan: Annotated[
        Path | None,
        typer.Option("--plan", help="A plan JSON (epochplan.plan/1) to show instead of the audit's own plan.", show_default=False),
    ] = None,
    check: Annotated[
        Path | None, typer.Option("--check", help="A check JSON (epochplan.check/1): adds the checks section.", show_default=False)
    ] = None,
    examples: options.ExamplesOption = True,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="TOML configuration file, checked as every command checks it; report reads no setting from it"
            " (taken so that one --config serves every command).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Render one self-contained HTML report (offline, no script, under 1 MB) from the JSON
    files of `audit`, `plan` and `check`; the data itself is not read.

    Sections: summary, duplicates, lengths, labels, leakage, plan (and checks with --check).
    The example texts come from the audit JSON; --no-examples shows none of them.
    """
    load_data_modules()  # no data read, but the report's labels section loads the readers' modules
    from ..render.html import render_html

    inputs = [p for p in (audit, plan, check, config) if p is not None]
    check_outputs({"--output": output}, inputs)
    if config is not None:
        settings.check_file(config)
    audit_doc = load_json(audit, AUDIT_SCHEMA, "audit", "epochplan audit --json")
    plan_doc = load_json(plan, PLAN_SCHEMA, "--plan", "epochplan plan -o") if plan is not None else None
    check_doc = load_json(check, CHECK_SCHEMA, "--check", "epochplan check --json") if check is not None else None
    for mismatch in mismatches(audit_doc, plan_doc, check_doc):
        terminal_console(stderr=True).print(f"[yellow]warning:[/yellow] {escape(visible(mismatch))}", highlight=False)
    page = render_html(audit_doc, plan_doc, check_doc, examples=examples)
    if output == "-":
        write_stdout(page)
    else:
        atomic_write_text(output, page)
