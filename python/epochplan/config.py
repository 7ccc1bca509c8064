"""Defaults from a configuration file; command-line options always win.

Looked up from the current folder upwards; the first folder that has one wins:
`epochplan.toml` (top-level keys apply to every command, a `[<command>]` table to one command),
else `pyproject.toml` with a `[tool.epochplan]` table (`[tool.epochplan.<command>]` per command).
Keys may be written with dashes or underscores (`grad-accum` = `grad_accum`).

`load_section` gives a command its file defaults (the planner); `resolve` adds the environment
(`EPOCHPLAN_<KEY>`), strict validation and the origin of every value (`epochplan check`,
`epochplan config show`).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ConfigError

STANDALONE = "epochplan.toml"
PYPROJECT = "pyproject.toml"


@dataclass(frozen=True)
class ConfigSection:
    """The merged settings for one command and where they came from (for error messages)."""

    values: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None
    origin: str = "no configuration file"


def _key(name: str) -> str:
    return name.strip().replace("-", "_")


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc}); fix its permissions or encoding") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}); fix the syntax") from None


def find_config(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """(file, its epochplan table) of the nearest configuration, or None."""
    folder = (start or Path.cwd()).resolve()
    for directory in (folder, *folder.parents):
        standalone = directory / STANDALONE
        if standalone.is_file():
            return standalone, _read(standalone)
        pyproject = directory / PYPROJECT
        if pyproject.is_file():
            table = _read(pyproject).get("tool", {}).get("epochplan")
            if table is not None:
                if not isinstance(table, dict):
                    raise ConfigError(f"{pyproject} (tool.epochplan): must be a table")
                return pyproject, table
    return None


def load_section(
    command: str, known: Iterable[str], *, start: Path | None = None, path: Path | None = None
) -> ConfigSection:
    """Settings for `command`: shared top-level keys it knows, then its own table (which must
    contain only known keys). `path` names a file explicitly instead of searching."""
    found = (path, _explicit(path)) if path is not None else find_config(start)
    if found is None:
        return ConfigSection()
    file, table = found
    known_keys = {_key(k) for k in known}
    prefix = "tool.epochplan" if file.name == PYPROJECT else ""
    values = {_key(k): v for k, v in table.items() if not isinstance(v, dict) and _key(k) in known_keys}
    own = table.get(command, {})
    # No square brackets: error lines may be printed through rich markup.
    where = f"{file} ({prefix + '.' if prefix else ''}{command})"
    if not isinstance(own, Mapping):
        raise ConfigError(f"{where}: must be a table")
    for name, value in own.items():
        if _key(name) not in known_keys:
            raise ConfigError(f"{where}: unknown key {name!r}; known keys: {', '.join(sorted(known_keys))}")
        values[_key(name)] = value
    return ConfigSection(values, file, where if own else f"{file}")


def _explicit(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise ConfigError(f"--config {path}: file not found; give an existing TOML file")
    table = _read(path)
    if path.name == PYPROJECT:
        table = table.get("tool", {}).get("epochplan", {})
    return table


# --- Resolved settings with their origin --------------------------------------------------------
#
# `load_section` above gives the planner its file defaults. Commands that are configured key by
# key (`epochplan check`, `epochplan config show`) use `resolve`, which adds the environment
# (`EPOCHPLAN_<KEY>`), validates every key of the epochplan table (unknown keys, wrong types and
# impossible values are errors naming the key and the file) and remembers where each value came
# from: command line > environment > file (the command's own table, then the shared top level)
# > default.

Parser = Callable[[Any, bool], Any]


@dataclass(frozen=True)
class Key:
    """One configuration key. `name` is the documented spelling (dashes, as in TOML);
    `parse(raw, textual)` validates a TOML value (`textual=False`) or an environment /
    command-line string (`textual=True`) and returns the value, raising ValueError(reason)."""

    name: str
    parse: Parser
    default: Any = None
    help: str = ""

    @property
    def attr(self) -> str:
        return _key(self.name)

    @property
    def env(self) -> str:
        return "EPOCHPLAN_" + self.attr.upper()

    @property
    def flag(self) -> str:
        return "--" + self.name


@dataclass(frozen=True)
class Setting:
    name: str
    value: Any
    source: str  # "default", "command line --x", "environment EPOCHPLAN_X", "<file> (tool.epochplan.check)"

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


# Parsers. Each returns the clean value or raises ValueError with the reason (the caller adds
# the key, the value and where it came from).

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


def parse_count(raw: Any, textual: bool = False) -> int:
    """A whole number of rows, 0 or more."""
    if isinstance(raw, bool):
        raise ValueError("must be a whole number, not true/false")
    if isinstance(raw, str) and textual:
        text = raw.strip().replace("_", "")
        if not text.lstrip("+-").isdigit():
            raise ValueError("must be a whole number")
        raw = int(text)
    if not isinstance(raw, int):
        raise ValueError("must be a whole number")
    if raw < 0:
        raise ValueError("must be 0 or more")
    return raw


def parse_ratio(raw: Any, textual: bool = False) -> float:
    """A ratio of at least 1 (largest / smallest)."""
    value = _number(raw, textual)
    if value < 1.0:
        raise ValueError("must be a ratio of at least 1 (largest class / smallest class)")
    return value


def parse_similarity(raw: Any, textual: bool = False) -> float:
    value = _number(raw, textual)
    if not 0.0 < value < 1.0:
        raise ValueError("must be a Jaccard similarity between 0 and 1 (exclusive), e.g. 0.7")
    return value


def parse_positive(raw: Any, textual: bool = False) -> int:
    value = parse_count(raw, textual)
    if value < 1:
        raise ValueError("must be 1 or more")
    return value


def parse_name(raw: Any, textual: bool = False) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise ValueError("must be a non-empty string (a column name)")
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


def choice(*options: str) -> Parser:
    def parse(raw: Any, textual: bool = False) -> str:
        if not isinstance(raw, str) or raw.strip() not in options:
            raise ValueError(f"must be one of {', '.join(repr(o) for o in options)}")
        return raw.strip()

    return parse


def parse_bool(raw: Any, textual: bool = False) -> bool:
    if isinstance(raw, bool):
        return raw
    if textual and isinstance(raw, str) and raw.strip().lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
        return raw.strip().lower() in ("1", "true", "yes", "on")
    raise ValueError("must be true or false")


#: Keys every command shares, written at the top level of `[tool.epochplan]` / `epochplan.toml`.
SHARED_KEYS: tuple[Key, ...] = (
    Key("text", parse_columns, None, "text column(s); several are joined with a newline"),
    Key("label", parse_name, None, "label column (label statistics, conflicting labels)"),
    Key("normalize", choice("default", "none"), "default", "default = NFKC + lowercase + collapsed whitespace; none = raw bytes"),
    Key("threshold", parse_similarity, None, "near-duplicate Jaccard threshold (audit default when unset)"),
    Key("shingle", choice("auto", "word", "char"), None, "near-duplicate shingles (audit default when unset)"),
    Key("ngram", parse_positive, None, "near-duplicate shingle length (audit default when unset)"),
    Key("num-perm", parse_positive, None, "MinHash slots (audit default when unset)"),
)

# Command tables that may appear under [tool.epochplan]; each command validates its own table.
_SECTION_KEYS: dict[str, tuple[str, ...]] = {"audit": (), "dedup": ()}


def register_section(command: str, keys: Iterable[str]) -> None:
    """Declare `command`'s table and keys so that other commands accept them at the top level."""
    _SECTION_KEYS[command] = tuple(_key(k) for k in keys)


def known_sections() -> dict[str, tuple[str, ...]]:
    from .plan_cli import SETUP_KEYS  # lazy: plan_cli imports this module

    return {**_SECTION_KEYS, "plan": tuple(_key(k) for k in SETUP_KEYS)}


def _where(file: Path, command: str | None) -> str:
    # No square brackets: error lines may be printed through rich markup.
    if file.name == PYPROJECT:
        return f"{file} (tool.epochplan{'.' + command if command else ''})"
    return f"{file}" + (f" ({command})" if command else "")


def _locate(path: Path | None, start: Path | None) -> tuple[Path, dict[str, Any]] | None:
    if path is not None:
        return path, _explicit(path)
    return find_config(start)


def resolve(
    command: str,
    keys: Iterable[Key],
    cli: Mapping[str, Any] | None = None,
    *,
    path: Path | None = None,
    start: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Resolved:
    """Settings for `command` (its `keys` plus SHARED_KEYS), each with its source.

    `cli` maps attribute names to command-line values as typed (strings, or lists for text);
    None means not given. `path` is `--config`; else the nearest file upwards from `start`.
    """
    spec = {k.attr: k for k in (*SHARED_KEYS, *keys)}
    environ = os.environ if environ is None else environ
    found = _locate(path, start)
    file_values: dict[str, Setting] = {}
    if found is not None:
        file, table = found
        file_values = _file_settings(command, spec, file, table)

    settings: dict[str, Setting] = {}
    for attr, key in spec.items():
        raw = (cli or {}).get(attr)
        if raw is not None:
            settings[attr] = Setting(key.name, _parse_cli(key, raw), f"command line {key.flag}")
        elif environ.get(key.env, "") != "":
            settings[attr] = Setting(key.name, _parse_env(key, environ[key.env]), f"environment {key.env}")
        elif attr in file_values:
            settings[attr] = file_values[attr]
        else:
            settings[attr] = Setting(key.name, key.default, "default")
    return Resolved(settings, found[0] if found else None)


def _parse_cli(key: Key, raw: Any) -> Any:
    try:
        return key.parse(raw, True)
    except ValueError as exc:
        shown = " ".join(raw) if isinstance(raw, (list, tuple)) else raw
        raise ConfigError(f"{key.flag} {shown}: {exc}") from None


def _parse_env(key: Key, raw: str) -> Any:
    try:
        return key.parse(raw, True)
    except ValueError as exc:
        raise ConfigError(f"environment {key.env}={raw!r}: {exc}; fix or unset it") from None


def _file_settings(command: str, spec: dict[str, Key], file: Path, table: Mapping[str, Any]) -> dict[str, Setting]:
    sections = known_sections()
    sections[command] = tuple(spec)
    top_known = set(spec) | {attr for keys in sections.values() for attr in keys}
    values: dict[str, Setting] = {}
    top = _where(file, None)
    _check_spellings(table, top)
    for name, value in table.items():
        attr = _key(name)
        if isinstance(value, dict):
            if name not in sections:
                raise ConfigError(f"{top}: unknown table {name!r}; known tables: {', '.join(sorted(sections))}")
            continue
        if attr not in top_known:
            raise ConfigError(f"{top}: unknown key {name!r}; known keys: {', '.join(sorted(_dash(a) for a in top_known))}")
        if attr in spec:
            values[attr] = _file_setting(spec[attr], name, value, top)
    own = table.get(command)
    if own is None:
        return values
    where = _where(file, command)
    if not isinstance(own, Mapping):
        raise ConfigError(f"{where}: must be a table")
    _check_spellings(own, where)
    for name, value in own.items():
        attr = _key(name)
        if attr not in spec:
            raise ConfigError(f"{where}: unknown key {name!r}; known keys: {', '.join(sorted(k.name for k in spec.values()))}")
        values[attr] = _file_setting(spec[attr], name, value, where)
    return values


def _file_setting(key: Key, name: str, value: Any, where: str) -> Setting:
    try:
        return Setting(key.name, key.parse(value, False), where)
    except ValueError as exc:
        raise ConfigError(f"{where}: {name} = {_toml(value)}: {exc}") from None


def _check_spellings(table: Mapping[str, Any], where: str) -> None:
    seen: dict[str, str] = {}
    for name in table:
        attr = _key(name)
        if attr in seen:
            raise ConfigError(f"{where}: {seen[attr]!r} and {name!r} are the same key; keep one")
        seen[attr] = name


def _dash(attr: str) -> str:
    return attr.replace("_", "-")


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value)
    return str(value)
