"""`epochplan plan`: plan epochs, steps, warm-up and evaluation from an audit, a data path or
plain counts. Also `build_setup`, the training setup of `plan` and `audit` from resolved settings."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from .. import settings
from ..auditing.tokenizer import load_tokenizer
from ..config import COMMAND_LINE, DATA_KEYS, ENVIRONMENT, Resolved, Setting
from ..errors import InputError
from ..outputs import atomic_write_text, check_outputs, stdout_errors, write_stdout
from ..planning import BUDGET_KEYS, FRAMEWORKS, Plan, Setup, check_setup, plan
from ..planning.audit_input import AuditFile, audit_fields
from ..render.console import terminal_console
from ..render.plan_table import print_plan
from ..render.plan_text import FORMATS, render
from . import options
from .loading import load_data_modules


def build_setup(resolved: Resolved, **override: Any) -> Setup:
    """The Setup of resolved settings (command line > environment > file > defaults); of the
    run-length keys (epochs, steps, token budget), only those from the highest level count
    (`Setting.level`: a flag beats EPOCHPLAN_*, which beats the command's own table, which beats
    `[plan]`, which beats the top level). Two at that level contradict each other: the error
    names where each was set."""
    values = {f: resolved[f] for f in Setup.__dataclass_fields__ if f in resolved.settings}
    given = {b: resolved.settings[b] for b in BUDGET_KEYS if values.get(b) is not None}
    highest = min((s.level for s in given.values()), default=0)
    top = [s for s in given.values() if s.level == highest]
    if len(top) > 1:
        raise InputError(
            f"{' and '.join(_origin(s) for s in top)} are both set and contradict each other (each fixes the run length); give only one"
        )
    for b, s in given.items():
        if s.level > highest:
            values[b] = None
    return Setup(**{**values, **override})


def _origin(setting: Setting) -> str:
    """Where a setting was given, as a user would find it: `--epochs`, `EPOCHPLAN_STEPS`,
    `steps in /x/epochplan.toml (audit)`."""
    if setting.level in (COMMAND_LINE, ENVIRONMENT):
        return setting.source.split(" ", 2)[-1]
    return f"{setting.name} in {setting.source}"


def _counts_source(data: str | None, audit_json: Path | None, resolved: Resolved, given: dict[str, Any]) -> Any:
    if data is not None and audit_json is not None:
        raise InputError("a data path and --audit both given; give one (the audit JSON, or the data to audit)")
    if audit_json is not None:
        _check_audit_tokenizer(audit_json, resolved)
        return AuditFile(audit_json)  # an audit JSON whatever its name; data there is refused, not audited
    if data is None:
        return None
    from ..auditing import audit

    audit_options = options.audit_options(resolved)  # loads a tokenizer before the data is read
    splits, eval_text = options.eval_splits(given)
    return audit(data, **audit_options, eval=splits or None, eval_text=eval_text, keep_clusters=False)


def _check_audit_tokenizer(audit_json: Path, resolved: Resolved) -> None:
    """A tokenizer set with --audit must be the one the audit counted with: the plan takes the
    audit's counts, so another tokenizer (or the bytes/4 estimate) would be planned on silently."""
    setting = resolved.settings["tokenizer"]
    if not setting.explicit or setting.value is None:
        return
    wanted = load_tokenizer(setting.value)
    used = audit_fields(AuditFile(audit_json)).text("source.tokenizer.sha256")
    if wanted is not None and used != wanted.sha256:
        counted = "the bytes/4 estimate" if used is None else f"another tokenizer (sha256 {used[:12]}…)"
        raise InputError(
            f"--audit {audit_json} counted tokens with {counted}, not with the tokenizer {setting.value}: "
            f"re-run `epochplan audit DATA --tokenizer {setting.value} --json {audit_json}`, plan the data "
            f"(`epochplan plan DATA --tokenizer {setting.value}`), or leave the tokenizer out"
        )


def _refuse_unused_data_flags(data: str | None, audit_json: Path | None, given: dict[str, Any]) -> None:
    """A data flag given on the command line that nothing reads is an error, not ignored: without
    DATA there is no audit for --tokenizer, --text, --eval ... to change (--audit's counts are
    made; its tokenizer alone is checked against them). The same keys set in a configuration
    file or EPOCHPLAN_* serve every command, and stay unused here."""
    if data is not None:
        return
    flags = [_flag(attr, value) for attr, value in given.items() if value is not None and value != []]
    flags = [f for f in flags if f is not None and not (audit_json is not None and f == "--tokenizer")]
    if not flags:
        return
    named = ", ".join(flags)
    if audit_json is not None:
        raise InputError(
            f"{named} changes nothing with --audit: the audit's counts are planned as they are; "
            f"audit again with {'them' if len(flags) > 1 else 'it'} (`epochplan audit DATA ... --json {audit_json}`), or give DATA instead of --audit"
        )
    what = "count" if flags == ["--tokenizer"] else "audit"
    raise InputError(
        f"{named} {'needs' if len(flags) == 1 else 'need'} data to {what}: give DATA{' or --audit' if flags == ['--tokenizer'] else ''} (--samples/--tokens are plain counts)"
    )


#: The data options' flags, by attribute (a switch by its value).
_DATA_FLAGS = {key.attr: key.flag for key in DATA_KEYS} | {"eval_splits": "--eval", "eval_text": "--eval-text"}


def _flag(attr: str, value: Any) -> str | None:
    if attr == "near":
        return "--near" if value else "--no-near"
    return _DATA_FLAGS.get(attr)


def _emit(p: Plan, fmt: str | None, output: str | None) -> None:
    chosen = fmt or ("json" if output else "table")
    text = None if chosen == "table" else render(p, chosen)
    if chosen == "table" and output:  # the table as plain text, 100 columns wide
        page = io.StringIO()
        print_plan(p, Console(file=page, width=100, color_system=None, emoji=False))
        text = page.getvalue()
    if output == "-":
        write_stdout(text if text is not None else p.to_json())
        return
    if output:
        atomic_write_text(output, text if text is not None else p.to_json())
    if output or chosen == "table":
        with stdout_errors():
            print_plan(p, terminal_console())
    else:
        write_stdout(text or "")


@options.takes(options.SETUP, options.DATA)
def plan_command(
    data: Annotated[
        str | None, typer.Argument(help="Data file/folder/glob to audit first (or use --audit / --samples / --tokens).", show_default=False)
    ] = None,
    audit_json: Annotated[
        Path | None,
        typer.Option("--audit", help="Audit JSON written by `epochplan audit --json` (any file name; data goes as the DATA argument)."),
    ] = None,
    samples: Annotated[str | None, typer.Option("--samples", help="Unique sample count (no audit).", metavar="NUMBER")] = None,
    tokens: Annotated[str | None, typer.Option("--tokens", help="Unique token count, e.g. 3.3e9 (no audit).", metavar="NUMBER")] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", "-f", help=f"Output: {'|'.join(FORMATS)} (default table).", metavar="FORMAT")
    ] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the plan (JSON, or --format) to PATH ('-' = stdout).")] = None,
    config: options.ConfigOption = None,
    given: dict[str, Any] | None = None,
) -> None:
    """Plan epochs, steps, warm-up and evaluation from the true unique counts.

    Setup options can also come from EPOCHPLAN_<KEY> variables and the tool.epochplan.plan table
    of pyproject.toml (or the plan table of epochplan.toml); `epochplan config show` prints them.

    Numbers: 2000, 2,000 or 2_000 (a comma or underscore only between groups of three digits),
    2e3, 2k, 7B, 350M; a dot is the decimal point (2.5, not 2,5), and a whole-number option
    refuses 1.000 (write 1000 or 1). Every count is at most 2^63 - 1.
    """
    if data is not None:  # a plan of counts or of an audit's JSON reads no data: its modules stay unloaded
        load_data_modules()
    given = given or {}
    if fmt is not None and fmt not in FORMATS:
        raise InputError(f"--format {fmt!r}: unknown format; use one of {', '.join(FORMATS)}")
    resolved = settings.resolve("plan", options.cli_values(given), path=config)
    # `--format lightning` means Lightning's rounding unless the framework is set some other way.
    framework = {"framework": fmt} if fmt in FRAMEWORKS and not resolved.settings["framework"].explicit else {}
    setup = build_setup(resolved, **framework)
    if output and output != "-":  # fail before a long audit; never write over what it reads
        inputs = ([audit_json] if audit_json is not None else []) + options.read_files(resolved)
        if data is not None:
            from ..sources import resolve_paths

            splits, _ = options.eval_splits(given)
            inputs += resolve_paths(data) + [p for n, spec in splits.items() for p in resolve_paths(spec, split=n)]
        check_outputs({"-o": output}, inputs)
    _refuse_unused_data_flags(data, audit_json, given)
    if (data is not None or audit_json is not None) and (samples is not None or tokens is not None):
        raise InputError("--samples/--tokens and an audit both given; give one source of counts")
    if data is not None:  # what is wrong whatever the data holds fails now, not after a long audit
        check_setup(setup)
    source = _counts_source(data, audit_json, resolved, given)
    if data is not None:  # audited here: what the audit says of its input (a media column, splits read as one) is said
        from ..auditing.special_tokens import uncovered
        from ..render.audit_table import render_warnings

        render_warnings(uncovered(source, setup.sample_overhead), terminal_console(stderr=True))
    the_plan = plan(source, setup, samples=samples, tokens=tokens, infer_regime=not resolved.settings["regime"].explicit)
    _emit(the_plan, fmt, output)
