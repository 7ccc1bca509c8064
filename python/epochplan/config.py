"""The one configuration resolver: command line > environment `EPOCHPLAN_<KEY>` > file
(`epochplan.toml`, or `[tool.epochplan]` in `pyproject.toml`, the nearest found upwards, or
`--config PATH`) > default, with the origin of every value.

A file holds shared keys at the top level and one table per command (`check`, `plan`, `dedup`,
`audit`). A key is looked up in the running command's table, then in its home table (the setup
keys live in `plan`, which `audit` reads too), then at the top level. The whole file is validated
on every load: unknown tables and keys, wrong types and impossible values are errors naming the
key and the file, so a bad value fails every command alike.

This module knows the machinery and the keys that change how data is read and audited
(`DATA_KEYS`); each command's own keys are declared beside what they configure (the check
registry, the planner's `Setup`) and gathered in `epochplan.settings`. The library never calls
`resolve` by itself: a Python caller passes explicit arguments, or calls it on purpose.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from . import defaults
from .config_files import locate, where
from .errors import ConfigError
from .numbers import read_whole

Parser = Callable[[Any, bool], Any]


def _attr(name: str) -> str:
    return name.strip().replace("-", "_")


def _dash(attr: str) -> str:
    return attr.replace("_", "-")


@dataclass(frozen=True)
class Key:
    """One configuration key. `name` is the documented spelling (dashes, as in TOML);
    `parse(raw, textual)` validates a TOML value (`textual=False`) or an environment /
    command-line string (`textual=True`) and returns the value, raising ValueError(reason).
    `section` is the table the key lives in besides the top level (None: shared). A `path` key
    written in a file is relative to that file's folder."""

    name: str
    parse: Parser
    default: Any = None
    help: str = ""
    section: str | None = None
    path: bool = False

    @property
    def attr(self) -> str:
        return _attr(self.name)

    @property
    def env(self) -> str:
        return "EPOCHPLAN_" + self.attr.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name


#: Where a value came from, highest precedence first (`Setting.level`): the command line, an
#: `EPOCHPLAN_*` variable, the running command's table, the key's home table (`plan` for the setup
#: keys), the file's top level, the default.
COMMAND_LINE, ENVIRONMENT, COMMAND_TABLE, HOME_TABLE, TOP_LEVEL, DEFAULT = range(6)


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    source: str  # "default", "command line --x", "environment EPOCHPLAN_X", "<file> (tool.epochplan.check)"
    level: int = DEFAULT  # COMMAND_LINE … DEFAULT: which of two settings wins, whatever their source's wording

    @property
    def explicit(self) -> bool:
        return self.source != "default"


@dataclass(frozen=True)
class Resolved:
    """The settings of one command, keyed by attribute name (`max_leaked_rows`)."""

    settings: dict[str, Setting]
    path: Path | None = None

    def __getitem__(self, attr: str) -> Any:
        return self.settings[attr].value

    def values(self) -> dict[str, Any]:
        return {attr: s.value for attr, s in self.settings.items()}


# --- Parsers: each returns the clean value or raises ValueError with the reason (the caller adds
# the key, the value and where it came from). ---------------------------------------------------


def _number(raw: Any, textual: bool) -> float:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)) or (isinstance(raw, str) and not textual):
        raise ValueError("must be a number")
    try:
        value = float(raw)
    except ValueError:
        raise ValueError("must be a number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("must be a finite number")
    return value


def parse_fraction(raw: Any, textual: bool = False) -> float:
    """A share of rows between 0 and 1 (0.05 = 5 %)."""
    value = _number(raw, textual)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be a fraction between 0 and 1 (0.05 = 5 %)")
    return value


def parse_whole(raw: Any, textual: bool = False) -> int:
    """A whole number of rows, 0 or more, read as the planner reads its counts (1000, 1,000,
    1_000, 1k, 1e3; `epochplan.numbers.read_whole`), from the command line, the environment or
    a file (a TOML number, or a string such as "10k")."""
    return read_whole(raw, 0)


def parse_ratio(raw: Any, textual: bool = False) -> float:
    """A ratio of at least 1 (largest / smallest)."""
    value = _number(raw, textual)
    if value < 1.0:
        raise ValueError("must be a ratio of at least 1 (largest class / smallest class)")
    return value


def parse_similarity(raw: Any, textual: bool = False) -> float:
    value = _number(raw, textual)
    if not 0.0 < value < 1.0:
        raise ValueError(f"must be a Jaccard similarity between 0 and 1 (exclusive), e.g. {defaults.THRESHOLD}")
    return value


def parse_positive(raw: Any, textual: bool = False) -> int:
    """A whole number of at least 1, read as `parse_whole` reads one."""
    return read_whole(raw, 1)


def parse_num_perm(raw: Any, textual: bool = False) -> int:
    """MinHash slots per sketch: 1 to the core's most (`defaults.MAX_NUM_PERM`), checked here so
    that a file's value fails naming its key, not later in the core naming neither key nor file."""
    try:
        value = parse_positive(raw, textual)
    except ValueError as exc:
        raise ValueError(f"MinHash slots (num_perm) {exc}") from None
    if value > defaults.MAX_NUM_PERM:
        raise ValueError(f"MinHash slots (num_perm) must be at most {defaults.MAX_NUM_PERM} (default {defaults.NUM_PERM})")
    return value


def parse_name(raw: Any, textual: bool = False) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("must be a non-empty string (a column name, or a ray-address)")
    return raw


def parse_columns(raw: Any, textual: bool = False) -> list[str]:
    """One column name or a list of them; from the environment, comma-separated."""
    if isinstance(raw, str):
        names = [part.strip() for part in raw.split(",")] if textual else [raw]
    elif isinstance(raw, (list, tuple)):
        names = list(raw)
    else:
        raise ValueError("must be a column name or a list of column names")
    if not names or not all(isinstance(n, str) and n.strip() for n in names):
        raise ValueError("must name at least one column, with no empty names")
    return names


def parse_path(raw: Any, textual: bool = False) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("must be a file path (a non-empty string)")
    return os.path.expanduser(raw)


def choice(*options: str) -> Parser:
    def parse(raw: Any, textual: bool = False) -> str:
        if not isinstance(raw, str) or raw.strip() not in options:
            raise ValueError(f"must be one of {', '.join(repr(o) for o in options)}")
        return raw.strip()

    parse.metavar = "|".join(options)  # type: ignore[attr-defined]  # what --help shows
    return parse


def parse_bool(raw: Any, textual: bool = False) -> bool:
    if isinstance(raw, bool):
        return raw
    if textual and isinstance(raw, str) and raw.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    raise ValueError("must be true or false")


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?i?b?)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1,
    "b": 1,
    "k": 1e3,
    "kb": 1e3,
    "kib": 1024,
    "m": 1e6,
    "mb": 1e6,
    "mib": 1024**2,
    "g": 1e9,
    "gb": 1e9,
    "gib": 1024**3,
    "t": 1e12,
    "tb": 1e12,
    "tib": 1024**4,
}


def parse_size(raw: Any, textual: bool = False) -> int:
    """'512MB', '2GiB', '1e9' or a plain number of bytes, at least the core's minimum."""
    if isinstance(raw, bool) or not isinstance(raw, (int, float, str)):
        raise ValueError("not a size; write e.g. 512MB, 2GB or a number of bytes")
    text = str(raw)
    match = _SIZE.match(text.replace("_", ""))
    if match is None:
        try:
            size = float(text)
        except ValueError:
            raise ValueError("not a size; write e.g. 512MB, 2GB or a number of bytes") from None
    else:
        number, unit = match.groups()
        factor = _UNITS.get((unit or "").lower())
        if factor is None:
            raise ValueError("unknown unit; use B, KB, MB, GB, TB (or KiB, MiB, GiB)")
        size = float(number) * factor
    return defaults.check_memory_budget(size)


#: Keys that change how data is read and audited: shared by every command that reads data
#: (audit, check, dedup, plan DATA), written at the top level or in a command's table.
DATA_KEYS: tuple[Key, ...] = (
    Key("text", parse_columns, None, "text column(s): strings or conversations (lists of messages); several are joined with a newline"),
    Key("label", parse_name, None, "label column (label statistics, conflicting labels)"),
    Key(
        "normalize",
        choice(*defaults.NORMALIZE_MODES),
        defaults.NORMALIZE,
        "'default': NFKC + lowercase + collapsed whitespace; 'none': raw bytes",
    ),
    Key("near", parse_bool, defaults.NEAR, "near-duplicate detection (MinHash-LSH)"),
    Key("threshold", parse_similarity, defaults.THRESHOLD, "Jaccard similarity of near duplicates"),
    Key(
        "shingle",
        choice(*defaults.SHINGLE_KINDS),
        defaults.SHINGLE,
        "'auto': char n-grams for text in scripts written without spaces (Chinese, Japanese, Thai …) and for rows of"
        " 1,000+ characters with fewer words than --ngram (base64, DNA), word n-grams otherwise;"
        " 'word' (prose); 'char' (code, short text)",
    ),
    Key("ngram", parse_positive, defaults.NGRAM, "words per word shingle"),
    Key(
        "char-ngram",
        parse_positive,
        None,
        f"characters per char shingle (default {defaults.CHAR_NGRAM}; with shingle = char and no char-ngram: ngram, as before)",
    ),
    Key(
        "clustering",
        choice(*defaults.CLUSTERINGS),
        defaults.CLUSTERING,
        "'representative': every near-cluster member verified similar to its cluster's representative (no chains);"
        " 'components': connected components of verified links (chains)",
    ),
    Key(
        "verify",
        choice(*defaults.VERIFICATIONS),
        defaults.VERIFY,
        "'sketch': near links verified by the MinHash estimate; 'exact': by the exact Jaccard of the shingle sets"
        " (reads the candidate rows twice)",
    ),
    Key("num-perm", parse_num_perm, defaults.NUM_PERM, "MinHash slots per sketch"),
    Key(
        "memory-budget",
        parse_size,
        None,
        "memory for what grows with the data (near-duplicate sketches, the exact-duplicate table, sort buffers) before spilling to temp files, e.g. 512MB (default: a quarter of RAM, at most 1 GiB)",
    ),
    Key("engine", choice(*defaults.ENGINES), defaults.ENGINES[0], "where the input is read and measured: 'local' or 'ray' (Ray tasks)"),
    Key("ray-address", parse_name, None, "Ray cluster of engine = ray: HOST:PORT, ray://HOST:PORT or auto (default: RAY_ADDRESS)"),
    Key(
        "tokenizer",
        parse_path,
        None,
        "the model's tokenizer.json, or its model folder: exact token counts (default: an estimate, UTF-8 bytes / 4); in a file, relative to it",
        path=True,
    ),
)


# --- Resolution ---------------------------------------------------------------------------------


def resolve(
    command: str,
    sections: Mapping[str, Iterable[Key]],
    cli: Mapping[str, Any] | None = None,
    *,
    path: Path | None = None,
    start: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Resolved:
    """Settings of `command` (its keys: `sections[command]`), each with its source.

    `sections` maps every command to its keys: the file is validated against all of them.
    `cli` maps attribute names to command-line values as typed; None means not given. `path` is
    `--config`; else the nearest file upwards from `start` (the current folder by default).
    `environ` defaults to os.environ.
    """
    spec = {k.attr: k for k in sections[command]}
    environ = os.environ if environ is None else environ
    found = locate(path, start)
    file_values: dict[str, Setting] = {}
    if found is not None:
        file, table = found
        file_values = _file_settings(command, spec, _validate(file, table, sections), file)

    settings: dict[str, Setting] = {}
    for attr, key in spec.items():
        raw = (cli or {}).get(attr)
        if raw is not None:
            settings[attr] = Setting(key.name, _parse_cli(key, raw), f"command line {key.flag}", COMMAND_LINE)
        elif environ.get(key.env, "") != "":
            settings[attr] = Setting(key.name, _parse_env(key, environ[key.env]), f"environment {key.env}", ENVIRONMENT)
        elif attr in file_values:
            settings[attr] = file_values[attr]
        else:
            settings[attr] = Setting(key.name, key.default, "default")
    return Resolved(settings, found[0] if found else None)


def misspelt_variables(environ: Mapping[str, str], keys: Iterable[Key], others: Iterable[str]) -> list[str]:
    """A warning for each `EPOCHPLAN_*` variable that is set but read by nothing (neither a
    setting's `keys` nor one of the `others` epochplan reads), naming the one it is spelled close
    to when there is one: `EPOCHPLAN_THRESHHOLD=0.9` or `EPOCHPLAN_NEAR_TRESHOLD=0.9` was silently
    ignored, the audit running at the default threshold. The prefix is epochplan's namespace: a
    name close to none is warned about too, pointing at `epochplan config show`."""
    prefix = "EPOCHPLAN_"
    keys = list(keys)
    known = {key.env for key in keys} | set(others)
    flags = {key.env: key.flag for key in keys}
    # Compared without the prefix they all share, which would make every name look close.
    suffixes = {name.removeprefix(prefix): name for name in known}
    warnings = []
    for name in sorted(environ):
        if name in known or not name.upper().startswith(prefix):
            continue
        suffix = name.upper().removeprefix(prefix)
        near, by_word = _closest(suffix, suffixes)
        # Close by a word of the name only: what the one meant sets, as the word can be of another
        # sense (`EPOCHPLAN_LOG_LEVEL`: `EPOCHPLAN_LEVEL` is dedup's --level).
        meant = f" ({flags[suffixes[near]]})" if by_word and suffixes[near] in flags else ""
        hint = (
            f"did you mean {suffixes[near]}{meant}?" if near else "epochplan config show lists the settings (EPOCHPLAN_<KEY> for each key)"
        )
        warnings.append(f"environment {name} is not read by epochplan, so it changes nothing; {hint}")
    return warnings


def _closest(suffix: str, known: Iterable[str]) -> tuple[str | None, bool]:
    """The known name `suffix` is spelled close to, and whether by one of its words only: the
    whole name first, then its trailing and leading words (`NEAR_TRESHOLD` is close to no name,
    its `TRESHOLD` to `THRESHOLD`)."""
    words = suffix.split("_")
    pieces = [suffix, *("_".join(words[i:]) for i in range(1, len(words))), *("_".join(words[:i]) for i in range(len(words) - 1, 0, -1))]
    for piece in pieces:
        near = difflib.get_close_matches(piece, known, n=1, cutoff=0.8)
        if near:
            return near[0], piece != suffix
    return None, False


def check_file(path: Path, sections: Mapping[str, Iterable[Key]]) -> None:
    """Validate the file `--config PATH` names, as every command's load does, for a command that
    takes no setting from it (`report`: a script passes one --config to every command)."""
    found = locate(path)
    if found is not None:  # always: a path given is read, or refused naming it
        _validate(*found, sections)


def _parse_cli(key: Key, raw: Any) -> Any:
    try:
        return key.parse(raw, True)
    except ValueError as exc:
        reason = str(exc)
        if reason.startswith(key.flag):  # the reason already names the flag (the planner's messages do)
            raise ConfigError(reason) from None
        shown = " ".join(raw) if isinstance(raw, (list, tuple)) else raw
        raise ConfigError(f"{key.flag} {shown}: {reason}") from None


def _parse_env(key: Key, raw: str) -> Any:
    try:
        return key.parse(raw, True)
    except ValueError as exc:
        raise ConfigError(f"environment {key.env}={raw!r}: {exc}; fix or unset it") from None


# Parsed file: {table or None (top level): {attr: Setting}}.
_Parsed = dict[str | None, dict[str, Setting]]


def _validate(file: Path, table: Mapping[str, Any], sections: Mapping[str, Iterable[Key]]) -> _Parsed:
    """Every key of the file parsed by its key's rule; the first problem is a ConfigError."""
    by_section = {name: {k.attr: k for k in keys} for name, keys in sections.items()}
    every = {attr: key for keys in by_section.values() for attr, key in keys.items()}
    top = where(file, None)
    _check_spellings(table, top)
    parsed: _Parsed = {None: {}}
    for name, value in table.items():
        attr = _attr(name)
        if isinstance(value, dict):
            if name not in by_section:
                raise ConfigError(f"{top}: {_unknown('table', name, by_section)}")
            continue
        if attr not in every:
            raise ConfigError(f"{top}: {_unknown('key', name, [_dash(a) for a in every])}")
        parsed[None][attr] = _file_setting(every[attr], name, value, top, file)
    for section, keys in by_section.items():
        own = table.get(section)
        if own is None:
            continue
        here = where(file, section)
        if not isinstance(own, Mapping):
            raise ConfigError(f"{here}: must be a table")
        _check_spellings(own, here)
        parsed[section] = {}
        for name, value in own.items():
            attr = _attr(name)
            if attr not in keys:
                raise ConfigError(f"{here}: {_unknown('key', name, [k.name for k in keys.values()])}")
            parsed[section][attr] = _file_setting(keys[attr], name, value, here, file)
    return parsed


def _file_settings(command: str, spec: Mapping[str, Key], parsed: _Parsed, file: Path) -> dict[str, Setting]:
    values: dict[str, Setting] = {}
    for attr, key in spec.items():
        for table, level in ((command, COMMAND_TABLE), (key.section, HOME_TABLE), (None, TOP_LEVEL)):
            if (table is None or table in parsed) and attr in parsed.get(table, {}):
                values[attr] = replace(parsed[table][attr], level=level)
                break
    return values


def _file_setting(key: Key, name: str, value: Any, here: str, file: Path) -> Setting:
    try:
        parsed = key.parse(value, False)
    except ValueError as exc:
        raise ConfigError(f"{here}: {name} = {_toml(value)}: {exc}") from None
    if key.path:
        # A path in a file means the same file wherever the command runs from. No lexical
        # normalisation: `..` after a symlinked folder is its target's parent, as the OS reads it.
        parsed = str(file.parent / parsed)
    return Setting(key.name, parsed, here)


def _unknown(what: str, name: str, known: Iterable[str]) -> str:
    """`unknown key 'min-unique'; did you mean 'min-unique-samples'? known keys: …`"""
    known = sorted(known)
    near = difflib.get_close_matches(_dash(_attr(name)), known, n=1)
    hint = f"did you mean {near[0]!r}? " if near else ""
    return f"unknown {what} {name!r}; {hint}known {what}s: {', '.join(known)}"


def _check_spellings(table: Mapping[str, Any], here: str) -> None:
    seen: dict[str, str] = {}
    for name in table:
        attr = _attr(name)
        if attr in seen:
            raise ConfigError(f"{here}: {seen[attr]!r} and {name!r} are the same key; keep one")
        seen[attr] = name


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)  # a float as the file spelled it (`numbers.Written`)
