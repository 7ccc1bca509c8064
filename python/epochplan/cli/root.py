"""The `epochplan` command line. Exit codes: 0 success, 1 a gate failed, 2 usage/input/config
error (one line on stderr, no traceback), 3 internal error, 130 interrupted (Ctrl-C), 143
terminated (SIGTERM), 129 hung up (SIGHUP), 131 quit (SIGQUIT)."""

from __future__ import annotations

import errno
import io
import os
import signal
import sys
import warnings
from types import SimpleNamespace
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from typer.exceptions import TyperException

from .. import interrupts, settings
from .._epochplan import __version__
from ..errors import ConfigWarning, EpochplanError, InputError, InternalError, refused_path
from ..outputs import is_devnull, reader_left, stdout_errors
from ..render.console import visible
from . import audit, check, config, dedup, plan, report
from .loading import python_sigint

EXIT_OK, EXIT_GATE, EXIT_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_TERMINATED = 0, 1, 2, 3, 130, 143
#: The exit codes of a command a signal ended: 130 Ctrl-C, 143 SIGTERM, 129 SIGHUP, 131 SIGQUIT.
_SIGNAL_CODES = frozenset(code for _, code in interrupts.ENDINGS.values())
#: The signals besides Ctrl-C that end a command (`_on_signal`).
_OTHER_ENDINGS = tuple(number for number in interrupts.ENDINGS if number != signal.SIGINT)


class Terminated(KeyboardInterrupt):
    """SIGTERM, SIGHUP or SIGQUIT, raised like Ctrl-C so that the same clean-up runs (temporary
    files removed, threads joined); the command then exits 128 + the signal's number (143, 129,
    131), as a process the signal killed would."""


_arrived: list[int] = []  # the ending signals other than Ctrl-C that came, in the order their handlers ran


def _on_signal(signum: int, frame: object) -> None:
    """The handler of SIGTERM, SIGHUP and SIGQUIT."""
    interrupts.handled()
    _arrived.append(signum)
    raise Terminated()


def _interrupted() -> int:
    message, code = interrupts.ENDINGS[interrupts.ending(_arrived)]
    print(message, file=sys.stderr)
    return code


_HELP_NAMES = ["-h", "--help"]
app = typer.Typer(
    name="epochplan",
    help="Audit a training dataset and plan how long to train on it.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": _HELP_NAMES},
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
    130 interrupted (Ctrl-C), 143 terminated (SIGTERM), 129 hung up (SIGHUP), 131 quit (SIGQUIT).
    """


app.command("audit")(audit.audit_command)
app.command("plan")(plan.plan_command)
app.command("check")(check.check_command)
app.command("dedup")(dedup.dedup_command)
app.command("report")(report.report_command)
config_app = typer.Typer(help="Show the resolved configuration.", no_args_is_help=True)
config_app.command("show")(config.config_show)
app.add_typer(config_app, name="config")


def _command() -> Any:
    """The click command of the app, its help placeholders made to say what to type: a switch
    shows none (not `<bool>`), a path PATH, other values their name (not `<str>`)."""
    command = typer.main.get_command(app)
    _placeholders(command)
    return command


def _placeholders(command: Any) -> None:
    # The help option is made on first use and kept: make it now, so that it is polished too.
    context = SimpleNamespace(help_option_names=_HELP_NAMES)
    help_option = command.get_help_option(context)
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if getattr(param, "param_type_name", "") == "argument":
            # Every argument names data: files, folders or globs. Shown as such, not `<list[str]>`.
            shown = "PATH..." if getattr(param, "nargs", 1) != 1 else "PATH"
            param.display_type_rich = lambda ctx, shown=shown: shown
            continue
        if getattr(param, "param_type_name", "") != "option" or param.metavar is not None:
            continue
        described = getattr(param, "type_descriptor", None)
        if getattr(param, "is_flag", False) or getattr(described, "annotation", None) is bool:
            param.metavar = ""
        elif getattr(described, "is_path", False) or "PATH" in (param.help or ""):
            param.metavar = "PATH"
        else:
            param.metavar = param.name.upper()
    for sub in getattr(command, "commands", {}).values():
        _placeholders(sub)


def _fail(code: int, message: str, fresh_line: bool = False) -> int:
    """The message may quote the data (a column name, a path): shown escaped, on one line. With
    `fresh_line`, a newline first, in the same write: another writer's line cut short (polars'
    threads printing a panic) never runs into it."""
    Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(
        f"{chr(10) if fresh_line else ''}[bold red]error:[/bold red] {escape(visible(message, newlines=False))}"
    )
    return code


#: What the OS says of a path the user gave (`Path.exists` raises some of them on Python 3.11):
#: bad input, not a bug in epochplan.
_PATH_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.ELOOP, errno.ENOTDIR, errno.ENOENT, errno.EACCES, errno.EPERM})


def _warn(message: str) -> None:
    Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(
        f"[yellow]warning:[/yellow] {escape(visible(message, newlines=False))}"
    )


def _show_warning(message: Any, category: type[Warning], *args: Any, shown: Any = warnings.showwarning, **kwargs: Any) -> None:
    """A configuration warning (`ConfigWarning`: a misspelt `[tool.epoch-plan]`) as the CLI's
    other warnings are printed, `warning: …` on stderr; any other as Python prints it."""
    if issubclass(category, ConfigWarning):
        _warn(str(message))
    else:
        shown(message, category, *args, **kwargs)


def run(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code, mapping every failure to the documented codes.
    The Ray connection a command made is closed here, inside the signal handling, not by Ray's
    atexit hook after it (where Ctrl-C printed a traceback and exited 0)."""
    with warnings.catch_warnings():
        # Each said once, though `config show` resolves the file once per command.
        warnings.filterwarnings("once", category=ConfigWarning)
        warnings.showwarning = _show_warning
        code = _run(argv)
    try:
        close_engines()
    except KeyboardInterrupt:  # Ctrl-C or another ending signal during the shutdown, raised once it is done
        return code if code in _SIGNAL_CODES else _interrupted()
    except Exception as e:  # Ray failing to shut down: the command's own outcome stands
        Console(stderr=True, highlight=False, soft_wrap=True, emoji=False).print(
            f"warning: closing the Ray connection failed: {escape(visible(str(e), newlines=False))}"
        )
    return code


def close_engines() -> None:
    """Close the engines the command opened (its Ray connection): none when their module was
    never loaded, which is not loaded here for that alone (it imports polars)."""
    if "epochplan.engines" in sys.modules:
        from ..engines import close_engines as close

        close()


def _run(argv: list[str] | None) -> int:
    devnull_before = is_devnull(sys.stdout)
    for warning in settings.misspelt_variables(os.environ):
        _warn(warning)
    try:
        # Non-standalone typer returns the exit code of an Exit (130 for Ctrl-C) instead of raising.
        code = _command().main(args=argv, prog_name="epochplan", standalone_mode=False)
        # What is left in stdout's buffer is written now, where a full disk is exit 2: Python's
        # own flush at exit would lose the error and exit 0 with a half-written report.
        with stdout_errors():
            sys.stdout.flush()
        if code == EXIT_INTERRUPTED:
            return _interrupted()
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
        return _interrupted()
    except InternalError as e:
        return _fail(EXIT_INTERNAL, f"{e} (a bug in epochplan: please report it)")
    except EpochplanError as e:
        return _fail(EXIT_INPUT, str(e), fresh_line=e.after_foreign_output)
    except BrokenPipeError:
        return EXIT_OK
    except SystemExit:
        # A closed pipe (`| head`) as click or rich end it: quietly, as a BrokenPipeError here.
        if reader_left(devnull_before):
            return EXIT_OK
        raise
    except Exception as e:  # anything else is our bug: one line, exit 3, no traceback
        if isinstance(e, OSError) and e.errno in _PATH_ERRNOS and e.filename is not None:
            return _fail(EXIT_INPUT, str(refused_path(e.filename, e)))
        return _fail(EXIT_INTERNAL, f"internal error: {type(e).__name__}: {e} (please report it)")
    except BaseException as e:  # pyo3's PanicException (a Rust panic) is not an Exception
        if type(e).__name__ != "PanicException":
            raise
        said = (str(e).strip().splitlines() or ["no message"])[0]
        return _fail(EXIT_INTERNAL, f"internal error: a panic in Rust code ({said}) (please report it)")


#: A Ctrl-C or SIGTERM whose KeyboardInterrupt Python could not raise (it came inside a weakref
#: callback or a finaliser, such as Ray's clean-up at the end of a run, and is "ignored").
_late_interrupt = False


def _unraisable(hook: Any) -> Any:
    """`sys.unraisablehook` that keeps an interrupt Python could not raise instead of printing
    its traceback ("Exception ignored in: <function WeakSet…> … KeyboardInterrupt"): the command
    then ends as interrupted, one line, as an interrupt anywhere else does."""

    def unraisable(info: Any) -> None:
        global _late_interrupt
        if info.exc_type is not None and issubclass(info.exc_type, KeyboardInterrupt):
            _late_interrupt = True
            return
        hook(info)

    return unraisable


def main() -> None:
    python_sigint()  # and again where a command loads polars (`load_data_modules`)
    for number in _OTHER_ENDINGS:
        if signal.getsignal(number) != signal.SIG_IGN:  # one the parent ignored (nohup: SIGHUP) stays ignored
            signal.signal(number, _on_signal)
    interrupts.watch()  # a signal the main thread cannot take, stuck in native code, still ends the command
    sys.unraisablehook = _unraisable(sys.unraisablehook)
    # A path that is not UTF-8 (a --tokenizer or --config file: Linux allows any bytes in a name)
    # is printed as \udcff-style escapes, as stderr does, instead of failing the write.
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(errors="backslashreplace")
    code: int | None = None
    try:
        code = run()
        _ignore_signals()
    except KeyboardInterrupt:  # a signal just as run() returned: its code stands, if it had one
        _ignore_signals()
        code = _interrupted() if code is None else code
    if _late_interrupt and code not in _SIGNAL_CODES:
        code = _interrupted()
    if code in _SIGNAL_CODES:  # a second signal may have cut a clean-up short: what it left goes now
        interrupts.remove_temporaries()
    interrupts.exit_if_abandoned(code)  # a reader thread stuck in native code: no interpreter exit
    sys.exit(code)


def _ignore_signals() -> None:
    """The outcome is decided and reported: an ending signal from here on would interrupt the
    interpreter's own teardown (a weakref callback, an atexit hook) and print its traceback
    ("Exception ignored in: … KeyboardInterrupt") after a clean run. It ends nothing more now."""
    for number in interrupts.ENDINGS:
        signal.signal(number, signal.SIG_IGN)


__all__ = ["app", "main", "run", "InputError"]
