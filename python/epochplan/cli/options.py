"""Every command-line option shared by two or more commands, declared once.

Options backed by a configuration key are generated from that key (its flag, help and default),
so the flag, the `EPOCHPLAN_<KEY>` variable and the file key are one declaration. A command takes
a group of them with `@takes(DATA, SETUP, ...)`: the values arrive, keyed by attribute, in its
`given` argument (None = not given), ready for `epochplan.settings.resolve`.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from ..auditing.keys import DEDUP_KEYS
from ..auditing.tokenizer import TOKENIZER_FILE, load_tokenizer
from ..checking.registry import CHECK_KEYS, THRESHOLD_KEYS
from ..config import DATA_KEYS, Key, Resolved
from ..planning import SETUP_KEYS
from ..progress import RowProgress

#: Short forms, kept from the first releases.
_SHORT = {"text": "-t", "label": "-l"}
#: Keys given as a --x/--no-x switch.
_SWITCHES = {"near", "packing", "drop_last"}


def _help(key: Key) -> str:
    text = key.help[:1].upper() + key.help[1:]
    if key.default is not None and "default" not in key.help:
        shown = str(key.default).lower() if isinstance(key.default, bool) else key.default
        text += f" (default {shown})"
    return text + "."


#: The placeholder --help shows for each parser's value: what to type, not the Python type.
_METAVARS = {
    "parse_fraction": "FRACTION",
    "parse_whole": "COUNT",  # whole numbers as people write counts: 2k, 1,000, 1e3 (numbers.py)
    "parse_positive": "COUNT",
    "parse_num_perm": "COUNT",
    "parse_ratio": "RATIO",
    "parse_similarity": "FLOAT",
    "parse_size": "SIZE",
    "parse_name": "COLUMN",
    "parse_columns": "COLUMN",
    "parse_bool": "BOOLEAN",
}


#: Keys whose value is not what their parser's placeholder says.
_KEY_METAVARS = {"ray_address": "ADDRESS"}


def _metavar(key: Key) -> str:
    if key.attr in _KEY_METAVARS:
        return _KEY_METAVARS[key.attr]
    shown = getattr(key.parse, "metavar", None)  # choices and the setup keys carry their own
    return shown if shown is not None else _METAVARS.get(getattr(key.parse, "__name__", ""), "VALUE")


def key_option(key: Key, panel: str | None = None, help: str | None = None) -> Any:
    """The typer annotation of `key`'s option: text as typed (the key's parser reads it, exactly
    as it reads the environment), a switch for booleans, a repeatable option for text columns.
    `help`: the command's own words for a key it reads but uses otherwise (dedup's label)."""
    flags = [f"--{key.name}/--no-{key.name}"] if key.attr in _SWITCHES else [key.flag]
    if key.attr in _SHORT:
        flags.append(_SHORT[key.attr])
    kind: Any = bool | None if key.attr in _SWITCHES else list[str] | None if key.attr == "text" else str | None
    metavar = "" if key.attr in _SWITCHES else _metavar(key)  # a switch takes no value
    return Annotated[kind, typer.Option(*flags, help=help or _help(key), rich_help_panel=panel, show_default=False, metavar=metavar)]


def _parameter(attr: str, annotation: Any) -> inspect.Parameter:
    return inspect.Parameter(attr, inspect.Parameter.KEYWORD_ONLY, default=None, annotation=annotation)


EvalOption = Annotated[
    list[str] | None,
    typer.Option(
        "--eval",
        help="Eval split to check for leakage into train: PATH or NAME=PATH (name defaults to the file name without its format and compression suffixes); repeatable.",
        show_default=False,
        metavar="[NAME=]PATH",
    ),
]

EvalTextOption = Annotated[
    list[str] | None,
    typer.Option(
        "--eval-text",
        help="Text column of the eval splits when it differs from train's: COL for every split, NAME=COL for one; repeatable.",
        show_default=False,
    ),
]
#: The options that name eval splits; not configuration keys (they name data, not settings).
EVAL_ATTRS = ("eval_splits", "eval_text")

# What dedup does with the data keys that only serve statistics: it reads and checks them like
# every command (so one configuration serves all), but it keeps rows, not labels or tokens.
_DEDUP_HELP = {
    "label": "Label column: clusters whose rows disagree on it are counted in a warning (dedup keeps one row a cluster, with its label).",
    "tokenizer": "A tokenizer.json or model folder: loaded (so checked), then unused (dedup keeps rows, not tokens).",
}

# Groups of options, each a list of parameters added to a command's signature.
DATA = [_parameter(k.attr, key_option(k)) for k in DATA_KEYS] + [
    _parameter("eval_splits", EvalOption),
    _parameter("eval_text", EvalTextOption),
]
DEDUP_DATA = [_parameter(k.attr, key_option(k, help=_DEDUP_HELP.get(k.attr))) for k in DATA_KEYS] + DATA[len(DATA_KEYS) :]
SETUP = [_parameter(k.attr, key_option(k, "Training setup (see `epochplan plan --help`)")) for k in SETUP_KEYS]
CHECK = [_parameter(k.attr, key_option(k, "Thresholds" if k in THRESHOLD_KEYS else None)) for k in CHECK_KEYS]
DEDUP = [_parameter(k.attr, key_option(k)) for k in DEDUP_KEYS]

DataArgument = Annotated[
    list[str],
    typer.Argument(
        help="Parquet/JSONL/JSON/CSV/TSV/Arrow/text file(s) (JSONL, JSON, CSV, TSV and text also .gz/.zst), folder(s), quoted glob pattern(s) or URL(s)."
    ),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config", help="TOML file (default: epochplan.toml, or pyproject.toml with tool.epochplan, found upwards).", show_default=False
    ),
]
QuietOption = Annotated[bool, typer.Option("--quiet", "-q", help="No terminal summary.")]


def takes(*groups: Sequence[inspect.Parameter]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the options of `groups` to a command; it receives their values as `given`."""
    added = [p for group in groups for p in group]

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "given"]
        names = {p.name for p in added}

        @functools.wraps(command)
        def wrapper(**kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in list(kwargs) if name in names}
            return command(**kwargs, given=given)

        parameters = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own] + added
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        return wrapper

    return decorate


def cli_values(given: dict[str, Any]) -> dict[str, Any]:
    """The command-line values the configuration resolver reads (everything but --eval, --eval-text)."""
    # typer hands an empty list for a repeatable option not given: that is "not given" too.
    return {attr: (value or None) if isinstance(value, list) else value for attr, value in given.items() if attr not in EVAL_ATTRS}


def eval_splits(given: dict[str, Any]) -> tuple[dict[str, str], str | dict[str, str] | None]:
    """--eval and --eval-text: ({name: path}, the `eval_text` argument of `epochplan.audit`)."""
    from ..sources import parse_eval, parse_eval_text  # the readers' modules: loaded by a command that reads data

    splits = parse_eval(given.get("eval_splits"))
    return splits, parse_eval_text(given.get("eval_text"), splits)


def read_files(resolved: Resolved) -> list[Path]:
    """Files a command reads besides its data, which no output may replace: the configuration
    file and the tokenizer."""
    files = [resolved.path] if resolved.path is not None else []
    tokenizer = resolved.settings.get("tokenizer")
    if tokenizer is not None and isinstance(tokenizer.value, (str, Path)):
        files.append(Path(tokenizer.value))
        # A model folder is read through its tokenizer.json: that file is the input to keep.
        if files[-1].is_dir():
            files.append(files[-1] / TOKENIZER_FILE)
    return files


def audit_options(resolved: Resolved) -> dict[str, Any]:
    """Keyword arguments of `epochplan.audit` for the data settings set anywhere (command line,
    environment, file); the others keep the defaults of `epochplan.audit`, which are the same.
    A tokenizer is loaded here: call this before reading any data, so a bad tokenizer file is
    the error reported, not a later one."""
    values = {key.attr: resolved[key.attr] for key in DATA_KEYS if resolved.settings[key.attr].explicit}
    if resolved["engine"] != "ray":
        # A configured address says where to go when Ray is used; on the local engine it is
        # unused, not an error (`epochplan.audit` refuses one passed with engine='local', but
        # here it may come from a file or the environment, and `--engine local` overrides them).
        values.pop("ray_address", None)
    if values.get("tokenizer") is not None:
        values["tokenizer"] = load_tokenizer(values["tokenizer"])
    return values


# Report outputs, taken by `audit` and `check` (and `--no-examples` by `report` too).
HtmlOption = Annotated[
    Path | None,
    typer.Option(
        "--html", help="Write the report as one self-contained HTML page (offline, under 1 MB) to PATH ('-' = stdout).", show_default=False
    ),
]
ExamplesOption = Annotated[
    bool,
    typer.Option(
        "--examples/--no-examples",
        help="Keep example texts from the data (cluster members, leaked eval rows, conflicting rows) in what this command "
        "writes; --no-examples keeps every text out (public CI artifacts, eval items, personal data).",
    ),
]


@contextlib.contextmanager
def data_progress(data: Any, description: str) -> Iterator[RowProgress]:
    """The progress of a command reading `data`, entered before its rows are counted: counting
    them may download the input first (a server without byte ranges), which it shows."""
    from ..sources import count_rows, open_source

    with RowProgress(None, description) as progress:
        progress.set_total(count_rows(open_source(data)))
        yield progress
