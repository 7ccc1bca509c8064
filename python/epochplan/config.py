"""Defaults from a configuration file; command-line options always win.

Looked up from the current folder upwards; the first folder that has one wins:
`epochplan.toml` (top-level keys apply to every command, a `[<command>]` table to one command),
else `pyproject.toml` with a `[tool.epochplan]` table (`[tool.epochplan.<command>]` per command).
Keys may be written with dashes or underscores (`grad-accum` = `grad_accum`).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping
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
