"""The exception tree of epochplan, defined once. The Rust extension raises these classes too."""

import contextvars
import errno
import functools
import os
import re
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar


class EpochplanError(Exception):
    """Base of every error epochplan raises on purpose. Its message never holds a URL's secrets
    (`without_secrets`), whoever wrote it: epochplan, a reader's words it quotes, the binding."""

    #: True where another library's threads may be writing to stderr as it is raised (polars'
    #: reader threads print their panics, with a backtrace under RUST_BACKTRACE=1, while the
    #: reading ends): the CLI starts its error line on a line of its own, in one write.
    after_foreign_output: bool = False

    def __init__(self, *args: object) -> None:
        super().__init__(*(without_secrets(a) if isinstance(a, str) else a for a in args))


class InputError(EpochplanError, ValueError):
    """The input cannot be used: missing file, unknown column, wrong type, no rows, bad option."""


class NoRows(InputError):
    """The input has no rows at all (an empty file, a frame of 0 rows): nothing to audit, as on
    the command line. `dedup` of an in-memory frame of 0 rows returns it as it is instead."""


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


def with_article(name: str) -> str:
    """A type's or kind's name (`int`, `OrderedDict`, `Int64`, `polars DataFrame`, a column's
    name) after "a" or "an", as it is said: "an" before a vowel sound (an int, an object, an
    Int64, an OrderedDict, an array, an ndarray, an HTTPError, an h5py File), "a" before a
    consonant sound (a list, a UInt64, a uint8, a utf8, a unicode, a one_hot). Every message that
    puts an article before a name it is given says it through this (it read "a int")."""
    return f"{'an' if _vowel_sound(name) else 'a'} {name}"


#: Letters whose names start with a vowel sound (an F, an HTTP, an S3Path); U is "you".
_VOWEL_LETTERS = frozenset("aefhilmnorsx")
#: The consonants a word may start with after each of those letters (flat, free; llama; scan,
#: string; rhythm); any other consonant, a digit or `_` says the letter's name (an ndarray, an
#: fsspec, an mlx array, an h5py File, an n_tokens column).
_ONSETS = {"f": "lr", "l": "l", "s": "chklmnpqtw", "r": "h"}
#: Lowercase names spelled out from a `u` ("you"), where a word would start "un", "ul", "up".
_SPELLED_U = ("utf", "url", "uri", "usb")


def _vowel_sound(name: str) -> bool:
    first = name.split(" ", 1)[0]
    capitals = re.match(r"[A-Z]+", first)
    if capitals is not None:
        run = capitals.group()
        rest = first[len(run) :]
        spelled = run[:-1] if rest[:1].islower() else run  # `HTTPError` is HTTP + Error, `Int64` a word
        if spelled and not (len(spelled) > 2 and re.search("[AEIOU]", spelled) and spelled[0] != "U"):
            return spelled[0].lower() in _VOWEL_LETTERS  # said letter by letter (JSON, NASA: as words)
    word = first.lower()
    if not word:
        return False
    head, next_ = word[0], word[1:2]
    if head.isdigit():
        return head == "8" or word.startswith(("11", "18"))  # an 8-bit, an 11, an 18
    if head == "u":  # "you" (a uint8, a unit, a ufunc), but an unknown, an undefined, an upper
        third = word[2:3]
        spelled = word.startswith(_SPELLED_U) or not next_.isalpha() or next_ in "aeiouy" or (third != "" and third in "aeiouy")
        return not spelled
    if head in "aeio":
        return not word.startswith(("one", "once", "eu", "ewe"))
    if word.startswith(("hour", "honest", "honor", "honour", "heir")):
        return True
    if head == "x":
        return True  # an xarray Dataset, an xml
    # The letter's name (an ndarray, an fsspec, an h5py, an n_tokens, an F), else a word (a float).
    return head in _VOWEL_LETTERS and (not next_ or (next_ not in "aeiouy" and next_ not in _ONSETS.get(head, "")))


def refused_path(name: object, error: OSError) -> InputError:
    """A path the OS refuses (a name too long, a symlink loop, no permission): the user's input,
    named with the OS's words."""
    if error.errno == errno.ELOOP:
        return InputError(symlink_loop_message(shown(str(name)), str(name), error))
    return InputError(f"{shown(str(name))}: {error.strerror}; check the path")


def refuse_symlink_loop(option: str, path: str | os.PathLike[str], error: type[EpochplanError] = InputError) -> None:
    """A path that is (or goes through) a symlink loop cannot be written or read: an InputError
    (or `error`: a ConfigError for `--config`) before the long work, not a RuntimeError from
    `Path.resolve` (exit 3), an error after it, or a "file not found" (`os.path.exists` is
    False for a loop)."""
    try:
        os.stat(path)
    except OSError as e:
        if e.errno == errno.ELOOP:
            raise error(symlink_loop_message(f"{option} {shown(os.fspath(path))}", path, e)) from None


def symlink_loop_message(
    named: str, path: str | os.PathLike[str], error: OSError, fix: str = "remove or repoint the link, or give another path"
) -> str:
    """The one line for a path the OS refuses with ELOOP: `named` (the path as the message
    names it, with its option), what loops, the OS's words and the fix (`fix`: where the user
    gave no path, one epochplan found)."""
    return f"{named}: {_symlink_loop(path)} ({error.strerror}); {fix}"


def _symlink_loop(path: str | os.PathLike[str]) -> str:
    """How a path the OS refuses with ELOOP (too many levels of symbolic links) is described:
    it is a symlink loop itself, or it goes through one (a folder of it, or the link's target),
    named as a path from where the user stands; or, where no link repeats, a chain too long."""
    link = os.fspath(path).rstrip("/") or "/"
    looping = _looping_link(link, set())
    if looping is None:
        return "goes through more symlinks in a row than the OS follows"
    at, key = looping
    if _identity(link) == key:
        return "is a symlink loop"
    if _identity(os.path.normpath(at)) == key:  # `sub/../loop` said `loop`, where that is the same link
        at = os.path.normpath(at)
    return f"goes through a symlink loop at {shown(at)}"


def _identity(path: str) -> tuple[int, int] | None:
    """The device and inode of `path` itself (a link's own), None where it cannot be looked up."""
    try:
        status = os.lstat(path)
    except OSError:
        return None
    return status.st_dev, status.st_ino


def _looping_link(path: str, seen: set[tuple[int, int]]) -> tuple[str, tuple[int, int]] | None:
    """The first symlink on the way to `path` that leads back to itself: the first part of
    `path` the OS refuses with ELOOP is a link (its folder resolves), whose target is followed
    in turn until a link repeats: that link as reached, and its device and inode (None where
    none repeats: a chain of over 40 links)."""
    parts = path.split("/")
    for end in range(1, len(parts) + 1):
        prefix = "/".join(parts[:end])
        if not prefix or prefix.endswith("/"):
            continue  # the root of an absolute path, or an empty part (`a//b`)
        try:
            os.stat(prefix)
        except OSError as e:
            if e.errno != errno.ELOOP:
                return None
            try:
                target = os.readlink(prefix)
            except OSError:
                return None
            key = _identity(prefix)
            if key is None:
                return None
            if key in seen:
                return prefix, key
            seen.add(key)
            return _looping_link(os.path.join(os.path.dirname(prefix), target), seen)
    return None


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
    import warnings

    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        level, frame = level + 1, frame.f_back
    warnings.warn(message, category, stacklevel=level)


#: This package's folder: a frame of its code is epochplan's own (the command line, or one API
#: function calling another), not the user's (`warn_at_caller`, `keyword_errors`).
_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep


# --- The Python API's words for an option: its keyword argument, not the command line's flag. ---

#: A flag as messages write it (`--seq-len`, `--no-near`): a word of its own, after a space, `(`,
#: `[` or the start (`/` only in a list of flags, `--batch/--gpus`: checked in `in_keywords`), and
#: before a space, the end or punctuation, never inside a path (`/tmp/--near/x`, `--text.jsonl`).
_FLAG = re.compile(r"(?<![^\s(\[/])--(no-)?([a-z][a-z0-9]*(?:-[a-z0-9]+)*)(?=\Z|[\s:;,)\]]|\.(?:\s|\Z)|/--)")
#: A flag that ends just before a `/` (`--batch/`): the one after it is in the same list.
_FLAG_BEFORE = re.compile(r"(?<![^\s(\[/])--[a-z][a-z0-9-]*/\Z")
#: A value written after a flag: quoted, a number (`--epochs 2,5`, `--gpus 8`, `0.8.` ending a
#: sentence), `NAME=VALUE` (`--eval NAME=PATH`, `--eval-text val=COL`), a placeholder (`COL`), or
#: a dotted name (`--text meta.body`, a struct column's field).
_END = r"(?=\Z|[\s:;,)\]]|\.(?:\s|\Z))"
_FLAG_VALUE = re.compile(
    r" ('[^']*'|\"[^\"]*\"|-?\d(?:[\d,._]*\d)?(?:[eE][+-]?\d+)?(?!\w|\.\w)"
    rf"|([\w-]+)=([^\s;,)'\"]+?){_END}|([A-Z][A-Z0-9_]*){_END}|([A-Za-z_]\w*(?:\.\w+)+){_END})"
)
#: Quoted text (a column's or split's name, a value as repr writes it): the data's own, never
#: reworded. A quote starts after no word character (not "split's").
_QUOTED = re.compile(r"(?<!\w)'[^']*'(?!\w)|(?<!\w)\"[^\"]*\"(?!\w)")
_CODE = re.compile(r"`[^`]*`")

_Function = TypeVar("_Function", bound=Callable[..., Any])
#: The words of the running call from the user's code through the API (`keyword_errors`: the
#: function's keywords and phrases, `in_keywords`), None on the command line.
_API_CALL: contextvars.ContextVar[Callable[[str], str] | None] = contextvars.ContextVar("epochplan_api_call", default=None)


def option(flag: str, value: object, keyword: str | None = None, *, placeholder: bool = False) -> str:
    """An option with its value as a message names it: `--text meta.body` on the command line,
    `text='meta.body'` in a call of the API (`keyword_errors`), where the value is a keyword
    argument's (`keyword`, else the flag's name). A mapping is one split's (`--eval-text
    val=question`, `eval_text={'val': 'question'}`). `placeholder`: the value (a mapping's
    values) stand for what to write (`COL`), unquoted: `eval_text={'val': COL}`. A list or tuple: the flag given for each
    value (`--text a --text b`), the keyword argument given the list (`text=['a', 'b']`)."""
    if in_api_call():
        name = keyword or flag.lstrip("-").replace("-", "_")
        if isinstance(value, (list, tuple)):
            return f"{name}={list(value)!r}"
        if placeholder and isinstance(value, Mapping):
            return f"{name}={{{', '.join(f'{k!r}: {v}' for k, v in value.items())}}}"
        return f"{name}={value}" if placeholder else f"{name}={value!r}"
    if isinstance(value, Mapping):
        return " ".join(f"{flag} {k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return " ".join(f"{flag} {v}" for v in value)
    return f"{flag} {value}"


def in_api_call() -> bool:
    """Whether the running call came from the user's code through the API (`keyword_errors`): a
    message then names its arguments, not the command line's (`option`)."""
    return _API_CALL.get() is not None


def keyword_errors(
    extra: Mapping[str, bool] | Callable[[], Mapping[str, bool]] = {},
    phrases: Mapping[str, str] | Callable[[], Mapping[str, str]] = {},
) -> Callable[[_Function], _Function]:
    """A public API function whose `InputError`s and `ConfigError`s name its keyword arguments
    where the message names the command line's flag for them: `audit(df, text=...)` is told
    "choose one or more with text=...", not "--text". The command line calls the same functions
    and keeps its flags: only a call from outside this package (the user's code) is reworded,
    once, by its outermost API function. A flag is reworded only where the function takes it
    as a keyword (its own, `extra`'s: name → whether it is a switch, for `**options`); a
    flag inside backticks (a command to run) is left. `phrases`: whole phrases said otherwise.
    The warnings such a call returns or gives are said in the same words (`api_words`). `extra`
    and `phrases` may be functions that give them, asked at each call from the user's code:
    tables built of the audit's modules then load with them, not with the function's module."""

    def wrap(function: _Function) -> _Function:
        own = switches(function)

        @functools.wraps(function)
        def called(*args: Any, **kwargs: Any) -> Any:
            if not _called_by_user(sys._getframe(1)):
                return function(*args, **kwargs)
            keywords = own | dict(extra() if callable(extra) else extra)
            said = phrases() if callable(phrases) else phrases
            words = functools.partial(in_keywords, keywords=keywords, phrases=said)
            api = _API_CALL.set(words)
            try:
                return function(*args, **kwargs)
            except (InputError, ConfigError) as e:
                e.args = tuple(words(a) if isinstance(a, str) else a for a in e.args)
                raise
            finally:
                _API_CALL.reset(api)

        return called  # type: ignore[return-value]

    return wrap


def api_words(message: str) -> str:
    """A warning's `message` in the words of the API function the user called (`keyword_errors`:
    its keyword arguments for the command line's flags, its phrases), as its errors are; as it is
    on the command line."""
    words = _API_CALL.get()
    return message if words is None else words(message)


def switches(function: Callable[..., Any]) -> dict[str, bool]:
    """The keyword arguments `function` takes, each with whether it is a switch (a bool): the
    `extra` of a function that passes its `**options` on to `function`."""
    import inspect

    return {
        name: isinstance(p.default, bool) or "bool" in str(p.annotation)
        for name, p in inspect.signature(function).parameters.items()
        if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
    }


def _called_by_user(frame: Any) -> bool:
    """No frame of this package's code calls this one: the user called the API."""
    while frame is not None:
        if frame.f_code.co_filename.startswith(_PACKAGE):
            return False
        frame = frame.f_back
    return True


def in_keywords(message: str, keywords: Mapping[str, bool], phrases: Mapping[str, str] = {}) -> str:
    """`message` with the flags of `keywords` (name → whether it is a switch) said as keyword
    arguments: `--seq-len 512` is `seq_len=512`, `--regime 'x'` `regime='x'`, `--no-near`
    `near=False`, `--packing` `packing=True`, `--eval NAME=PATH` `eval={NAME: PATH}`, `--batch:`
    `batch:`, any other `--text` `text=...`."""
    for phrase, said in phrases.items():
        message = message.replace(phrase, said)
    kept = [m.span() for m in _CODE.finditer(message)]
    kept += [m.span() for m in _QUOTED.finditer(message) if not any(a <= m.start() < b for a, b in kept)]
    out, done = [], 0
    for flag in _FLAG.finditer(message):
        start, end = flag.span()
        name = flag.group(2).replace("-", "_")
        if name not in keywords or any(a <= start < b for a, b in kept):
            continue
        if message[start - 1 : start] == "/" and not _FLAG_BEFORE.search(message, 0, start):
            continue  # inside a path: `/tmp/--near/`
        switch = keywords[name]
        value = _FLAG_VALUE.match(message, end)
        if flag.group(1):  # --no-X
            if not switch:
                continue
            said = f"{name}=False"
        elif value is not None and value.group(2):
            said, end = f"{name}={{{_written(value.group(2))}: {_written(value.group(3))}}}", value.end()
        elif value is not None and value.group(5):
            said, end = f"{name}={value.group(5)!r}", value.end()
        elif value is not None:
            said, end = f"{name}={value.group(1)}", value.end()
        elif switch:
            said = f"{name}=True"
        elif message.startswith((":", " ("), end):
            said = name
        else:
            said = f"{name}=..."
        out.append(message[done:start] + said)
        done = end
    return "".join(out) + message[done:]


def _written(part: str) -> str:
    """A part of `NAME=VALUE` after a flag as a Python literal: a placeholder (`NAME`, `COL`) as
    it is, anything else (a split's name, a path) quoted."""
    return part if re.fullmatch(r"[A-Z][A-Z0-9_]*", part) else repr(part)
