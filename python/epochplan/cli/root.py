"""The `epochplan` command line. Exit codes: 0 success, 1 a gate failed, 2 usage/input/config
error (one line on stderr, no traceback), 3 internal error, 130 interrupted (Ctrl-C)."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from .._epochplan import __version__
from ..errors import EpochplanError, InputError, InternalError
from . import audit, check, config, dedup, plan, report

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
    version: Annotated[bool | None, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")] = None,
) -> None:
    """Audit a training dataset and plan how long to train on it.

    Exit codes: 0 success, 1 gate failed (check), 2 usage/input/config error, 3 internal error,
    130 interrupted.
    """


app.command("audit")(audit.audit_command)
app.command("plan")(plan.plan_command)
app.command("check")(check.check_command)
app.command("dedup")(dedup.dedup_command)
app.command("report")(report.report_command)
config_app = typer.Typer(help="Show the resolved configuration.", no_args_is_help=True)
config_app.command("show")(config.config_show)
app.add_typer(config_app, name="config")


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
