"""The exception tree of epochplan, defined once. The Rust extension raises these classes too."""

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any


class EpochplanError(Exception):
    """Base of every error epochplan raises on purpose. Its message never holds a URL's secrets
    (`without_secrets`), whoever wrote it: epochplan, a reader's words it quotes, the binding."""

    def __init__(self, *args: object) -> None:
        super().__init__(*(without_secrets(a) if isinstance(a, str) else a for a in args))


class InputError(EpochplanError, ValueError):
    """The input cannot be used: missing file, unknown column, wrong type, no rows, bad option."""


class ConfigError(EpochplanError, ValueError):
    """A configuration file or option has an unknown key, a wrong type or an impossible value."""


class ConfigWarning(UserWarning):
    """A configuration that changes nothing, but is no error: a `[tool.epoch-plan]` table of
    pyproject.toml (another tool's name, maybe). The CLI prints it as `warning: …`."""


class InternalError(EpochplanError, RuntimeError):
    """A bug in epochplan (including a Rust panic). Please report it."""


class StorageError(EpochplanError, OSError):
    """Reading or writing epochplan's own files failed: a full disk, a missing or unwritable
    temp directory. The message carries the OS's words and where it happened; `errno` is set
    when the OS gave a number."""


class EngineError(EpochplanError, RuntimeError):
    """The engine running the audit failed outside epochplan's own code: a Ray worker or node
    died, the cluster went away. Nothing was written; run again (or on the local engine)."""


#: A URL's password (`https://user:PASSWORD@host/`), after the user name.
_PASSWORD = re.compile(r"(://[^/\s:@]+:)[^/\s@]+(?=@)")
#: A query (`?key=value&key=value`), wherever it stands: a reader may quote the URL, or only its
#: path and query (polars: "Object at location data.parquet?token=… not found").
#: A value ends at a space, `&`, a quote or `)`; a `:` `,` `;` `.` just before one is the
#: message's, not the value's (`URL?token=…: cannot read`).
_VALUE_TEXT = r"[^\s&#'\"<>)]*?(?=[:;,.]?(?:[\s&#'\"<>)]|\Z))"
_QUERY = re.compile(rf"\?[^\s=&#?/'\"<>]+={_VALUE_TEXT}(?:&[^\s=&#'\"<>]+(?:={_VALUE_TEXT})?)*")
_VALUE = re.compile(r"=[^&]*")


def without_secrets(text: str) -> str:
    """`text` with every URL's secrets masked: each query value (a presigned URL's
    `X-Amz-Signature`, a SAS `sig`, a `token`) and a password written `…`; the path, the query's
    keys and the user name stay, so that the URL still says which file. The one rule for a URL
    shown or written anywhere: errors (`EpochplanError`), the reports' `source.paths` and eval
    split paths, warnings."""
    text = _PASSWORD.sub(r"\1…", text)
    return _QUERY.sub(lambda m: _VALUE.sub("=…", m.group()), text)


#: Keys of a report document whose strings are the data's own (texts, previews, labels): shown
#: as the data holds them, never masked.
_DATA_KEYS = frozenset({"text", "texts", "preview", "eval_text", "train_text", "label", "labels", "label_names"})


def secrets_masked(document: Any) -> Any:
    """A report document (audit, plan, check JSON) with `without_secrets` applied to every string
    but the data's own (`_DATA_KEYS`): one written by an older version, or by hand, may hold a
    presigned URL or a password in `source.paths`, an eval split's `path` or a warning, which
    is shown masked as a new audit writes it."""
    if isinstance(document, Mapping):
        return {key: value if key in _DATA_KEYS else secrets_masked(value) for key, value in document.items()}
    if isinstance(document, list):
        return [secrets_masked(value) for value in document]
    return without_secrets(document) if isinstance(document, str) else document


def shown(text: str, limit: int = 160) -> str:
    """Text the user gave (a path, a text passed where a path goes) as an error quotes it: on
    one line, the middle of a long one left out so that both ends show."""
    text = text.replace("\n", " ")
    return text if len(text) <= limit else f"{text[: limit // 2]}…{text[-limit // 2 :]}"


def kind_of(value: object) -> str:
    """What a value is, for a message that must not show the value (a table's repr is its data,
    over many lines): its type, with the library that made it (`polars DataFrame`)."""
    kind = type(value)
    library = kind.__module__.split(".")[0]
    return kind.__name__ if library == "builtins" else f"{library} {kind.__name__}"


def refused_path(name: object, error: OSError) -> InputError:
    """A path the OS refuses (a name too long, a symlink loop, no permission): the user's input,
    named with the OS's words."""
    return InputError(f"{shown(str(name))}: {error.strerror}; check the path")


#: How the Rust extension names the columns it was handed (its errors do not know the input).
_COLUMN_ERRORS = ("text column", "label column", "eval text column")


@contextmanager
def naming_input(
    where: str,
    locate: Callable[[int], tuple[str, int] | None] | None = None,
    columns: Sequence[str] = (),
    label: str | None = None,
    first_row: int | None = None,
) -> Iterator[None]:
    """An `InputError` about a column handed to the Rust extension (for instance text that is not
    UTF-8) gets the input's name in front, so the one line says where. `locate`: the file and
    its own row for a row of the whole input (several files), named instead when the error gives
    a row. `columns` and `label`: the input's names of the text and label columns the extension
    was handed, said in place of its generic words (several text columns reach it joined).
    `first_row`: the row of the whole input the one batch handed over starts at, where the
    extension numbers a row in its batch (an eval split's): the row is named in the input."""
    try:
        yield
    except InputError as e:
        message = str(e)
        tokenizing = _TOKENIZER_ROW.match(message)
        if tokenizing is not None:  # a row the tokenizer failed on, named in its file as the Ray engine names it
            if first_row is not None:  # a row of the batch handed over: its caller names it (`ray_tasks._named`)
                raise
            row = int(tokenizing.group(2))
            place = locate(row) if locate is not None else None
            file, row = place if place is not None else (where, row)
            raise InputError(f"{tokenizing.group(1)}row {row} of {file}{tokenizing.group(3)}") from None
        if not message.startswith(_COLUMN_ERRORS):
            raise
        in_batch = _BATCH_ROW.match(message) if first_row is not None else None
        if in_batch is not None and first_row is not None:
            message = f"{in_batch.group(1)}row {first_row + int(in_batch.group(2))}{in_batch.group(3)}"
        message = _named_columns(message, columns, label)
        found = _ROW.match(message)
        place = locate(int(found.group(2))) if found is not None and locate is not None else None
        if place is not None and found is not None:
            raise InputError(f"{place[0]}: {found.group(1)}row {place[1]}{found.group(3)}") from None
        raise InputError(f"{where}: {message}") from None


def _named_columns(message: str, columns: Sequence[str], label: str | None) -> str:
    for generic in ("eval text column", "text column"):
        if message.startswith(generic) and columns:
            names = " + ".join(repr(c) for c in columns)
            named = f"column {names}" if len(columns) == 1 else f"columns {names} (joined)"
            return named + message.removeprefix(generic)
    if message.startswith("label column") and label is not None:
        return f"label column {label!r}" + message.removeprefix("label column")
    return message


#: "text column: row 5315 is not …": the column, the row of the whole input, the rest.
_ROW = re.compile(r"^(.*?: )row (\d+)( (?!of its batch).*)$", re.DOTALL)
#: "tokenizer tok.json cannot tokenize row 5315: …": the row of the whole input.
_TOKENIZER_ROW = re.compile(r"^(tokenizer .*? cannot tokenize )row (\d+)(: .*)$", re.DOTALL)
#: "eval text column: row 2 of its batch is not …": the row within the batch handed over.
_BATCH_ROW = re.compile(r"^(.*?: )row (\d+) of its batch( .*)$", re.DOTALL)


def warn_at_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """`warnings.warn` at the first frame outside this package: the user's line that called the
    API, however many of epochplan's own functions and wrappers lie between (a fixed
    `stacklevel` pointed into a wrapper once one was added; Python 3.12's `skip_file_prefixes`
    does this, 3.11 has not)."""
    import os
    import sys
    import warnings

    package = os.path.dirname(__file__) + os.sep
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(package):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)
