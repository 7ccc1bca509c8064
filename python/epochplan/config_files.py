"""Where configuration comes from: `--config PATH`, else the nearest `epochplan.toml`, or
`pyproject.toml` with a `[tool.epochplan]` table, upwards from the working folder; and how a place
in such a file is named in messages. `config` validates and resolves what is read here."""

from __future__ import annotations

import difflib
import errno
import os
import re
import stat
import tomllib
import warnings
from pathlib import Path
from typing import Any

from .errors import ConfigError, ConfigWarning, refuse_symlink_loop, symlink_loop_message
from .numbers import Written

STANDALONE = "epochplan.toml"
PYPROJECT = "pyproject.toml"


def _read(path: Path) -> dict[str, Any]:
    try:
        # Floats keep their spelling: a whole-number key reads `1.000` as the flag does (refused).
        # utf-8-sig: a byte order mark some editors write is skipped, as data files' is.
        return tomllib.loads(path.read_text(encoding="utf-8-sig"), parse_float=Written)
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read ({exc}); fix its permissions or encoding") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML ({exc}); fix the syntax") from None


def find_config(start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """(file, its epochplan table) of the nearest configuration upwards from `start`, or None."""
    folder = (start or _working_folder()).resolve()
    for directory in (folder, *folder.parents):
        standalone = directory / STANDALONE
        if _is_config_file(standalone):
            table = _read(standalone)
            _warn_shadowed(directory / PYPROJECT, standalone)
            return standalone, table
        pyproject = directory / PYPROJECT
        if _is_config_file(pyproject):
            table, misspelt = _tool_table(pyproject)
            _warn_misspelt(pyproject, misspelt, table is not None)
            if table is not None:
                return pyproject, table
    return None


#: The way out of a link discovery found that leads to no file.
_LINK_FIX = "remove or repoint the link, or name the configuration file with --config"


def _is_config_file(path: Path) -> bool:
    """Whether discovery reads `path` (an epochplan.toml or pyproject.toml on the way up): a
    file, through links. Anything else there is an error naming it, not passed over (`is_file()`
    is False for it): a symlink loop, a link whose target does not exist, or a folder, FIFO,
    socket or device of that name, or a link to one. Passed over, the settings the user linked
    or meant to write there would change nothing without a word, and another file (a
    pyproject.toml beside it, one further up) or the defaults would be used instead. Both names
    are refused alike: one named epochplan.toml is there for epochplan alone, and one named
    pyproject.toml may hold [tool.epochplan] (a dangling link's target, a FIFO's writer), which
    cannot be known; a pyproject.toml that cannot be read is refused likewise (`_read`), and a
    folder or a FIFO cannot be read as a file (and a FIFO is never opened: it would block)."""
    if path.is_file():
        return True
    linked = path.is_symlink()
    try:
        mode = os.stat(path).st_mode  # through links; stat never opens a FIFO
    except OSError as e:
        if linked and e.errno == errno.ELOOP:
            raise ConfigError(symlink_loop_message(str(path), path, e, _LINK_FIX)) from None
        if linked and e.errno in (errno.ENOENT, errno.ENOTDIR):
            raise ConfigError(f"{path}: is a symlink to {os.readlink(path)}, which does not exist; {_LINK_FIX}") from None
        return False  # nothing there
    kind = _KINDS.get(stat.S_IFMT(mode), "a special file")
    if linked:
        raise ConfigError(f"{path}: is a symlink to {os.readlink(path)}, which is {kind}, not a file; {_LINK_FIX}")
    raise ConfigError(f"{path}: is {kind}, not a file; remove or rename it, or name the configuration file with --config")


#: What a non-file found at a configuration file's name is called in its error.
_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFSOCK: "a socket",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
}


def _warn_shadowed(pyproject: Path, standalone: Path) -> None:
    """epochplan.toml wins in its folder; a `[tool.epochplan]` of the pyproject.toml beside it is
    then not read (its thresholds would be missing from the gate without a word): said. A
    pyproject.toml that cannot be read is not epochplan's to judge here: it is not read either."""
    if not pyproject.is_file():
        return
    try:
        table, _ = _tool_table(pyproject)
    except ConfigError:
        return
    if table is not None:
        warnings.warn(
            f"{pyproject}: [tool.epochplan] is not read, as {standalone} beside it is (epochplan.toml wins); "
            f"move its settings into {STANDALONE} and delete the table, or name one file with --config",
            ConfigWarning,
            stacklevel=3,
        )


def _working_folder() -> Path:
    """The current folder. One that was deleted (or moved) under the command is a configuration
    error, not a search of nothing: a file above it would be left out silently, and a command
    that reads no file then works with an absolute --config."""
    try:
        return Path.cwd()
    except FileNotFoundError:
        raise ConfigError(
            f"the current folder no longer exists (deleted or moved), so no {STANDALONE} or {PYPROJECT} can be looked for above it; "
            "cd to an existing folder, or name the configuration file with --config /absolute/path"
        ) from None


def _tool_table(pyproject: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """The `[tool.epochplan]` table of a pyproject.toml, or None when it has none, and the names
    of its `tool` tables that misspell it; a `tool` or `tool.epochplan` that is not a table is a
    configuration error (it is not ours to ignore)."""
    tool = _read(pyproject).get("tool", {})
    if not isinstance(tool, dict):
        raise ConfigError(f"{pyproject}: 'tool' must be a table ([tool.epochplan] …), not {type(tool).__name__}")
    table = tool.get("epochplan")
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{pyproject} (tool.epochplan): must be a table, not {type(table).__name__}")
    return table, misspelt_tables(tool)


def _warn_misspelt(pyproject: Path, misspelt: list[str], read: bool) -> None:
    """Not an error: the table may be another tool's. Said, since its settings change nothing."""
    fix = "move its keys into [tool.epochplan]" if read else "rename it [tool.epochplan]"
    for name in misspelt:
        warnings.warn(
            f"{pyproject}: [tool.{name}] is not read by epochplan (its table is [tool.epochplan]), so its settings change nothing; {fix}",
            ConfigWarning,
            stacklevel=3,
        )


def misspelt_tables(tool: dict[str, Any]) -> list[str]:
    """The tables of pyproject's `tool` that are `epochplan` misspelt: another case or separator
    (`epoch-plan`, `epoch_plan`, `EpochPlan`), or a letter or two off (`epochpaln`)."""
    return [
        name
        for name, value in tool.items()
        if isinstance(value, dict)
        and name != "epochplan"
        and (re.sub(r"[-_.\s]", "", name.lower()) == "epochplan" or difflib.get_close_matches(name.lower(), ["epochplan"], n=1, cutoff=0.8))
    ]


def _explicit(path: Path) -> dict[str, Any]:
    refuse_symlink_loop("--config", path, ConfigError)  # not "file not found": `exists()` is False for a loop
    if path.is_dir():
        raise ConfigError(f"--config {path}: is a folder; give a TOML file (e.g. {path / STANDALONE})")
    if path.exists() and not path.is_file():
        raise ConfigError(f"--config {path}: not a regular file (a FIFO, device or socket); give a TOML file")
    if not path.is_file():
        raise ConfigError(f"--config {path}: file not found; give an existing TOML file")
    if path.name != PYPROJECT:
        table = _read(path)
        tool = table.get("tool")
        if isinstance(tool, dict) and "epochplan" in tool:  # else "unknown table 'tool'"
            raise ConfigError(
                f"--config {path}: holds [tool.epochplan], which is read only from a file named {PYPROJECT}; "
                f"drop the 'tool.epochplan' prefix ([tool.epochplan.check] -> [check]) or name the file {PYPROJECT}"
            )
        return table
    table, misspelt = _tool_table(path)
    if table is None:  # named on purpose: its settings are somewhere else, or nowhere
        has = f" (it has [tool.{misspelt[0]}]: rename it [tool.epochplan])" if misspelt else ""
        raise ConfigError(
            f"--config {path}: has no [tool.epochplan] table{has}; put the settings under [tool.epochplan] (or name an epochplan.toml)"
        )
    _warn_misspelt(path, misspelt, True)
    return table


def locate(path: Path | None = None, start: Path | None = None) -> tuple[Path, dict[str, Any]] | None:
    """The configuration `--config PATH` names, else the nearest one upwards from `start`."""
    if path is not None:
        return path, _explicit(path)
    return find_config(start)


def where(file: Path, table: str | None) -> str:
    """How a place in a file is named in messages. No square brackets: error lines may be
    printed through rich markup."""
    if file.name == PYPROJECT:
        return f"{file} (tool.epochplan{'.' + table if table else ''})"
    return f"{file}" + (f" ({table})" if table else "")
