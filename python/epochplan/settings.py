"""What each command can be configured with, and its resolved settings.

Every CLI command resolves its options here (command line > `EPOCHPLAN_<KEY>` > file >
default, `epochplan.config`); `epochplan config show` prints the same. Python callers who want
the CLI's configuration in a script call `resolve("check")` on purpose: the library itself never
reads configuration files.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import config
from .auditing.keys import BATCH_ROWS_VARIABLE, DEDUP_KEYS
from .checking.registry import CHECK_KEYS
from .config import DATA_KEYS, Key, Resolved
from .planning.setup import SETUP_KEYS
from .progress import INTERVAL_VARIABLE

#: Each command's keys. Every command that reads data takes the data keys; `audit` plans too.
COMMANDS: dict[str, tuple[Key, ...]] = {
    "audit": (*DATA_KEYS, *SETUP_KEYS),
    "check": (*DATA_KEYS, *CHECK_KEYS),
    "dedup": (*DATA_KEYS, *DEDUP_KEYS),
    "plan": (*DATA_KEYS, *SETUP_KEYS),
}


def resolve(
    command: str,
    cli: Mapping[str, Any] | None = None,
    *,
    path: Path | None = None,
    start: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Resolved:
    """The settings of `command` (audit, check, dedup, plan) and where each came from."""
    return config.resolve(command, COMMANDS, cli, path=path, start=start, environ=environ)


def check_file(path: Path) -> None:
    """Validate the configuration file `path` (`--config`) against every command's keys, for a
    command that reads no setting (`report`): a bad file fails it as it fails the others."""
    config.check_file(path, COMMANDS)


#: The variables read besides the settings' `EPOCHPLAN_<KEY>`: the batch size and the progress
#: interval (the CLI's), and where the test suite, the benchmarks and the GPU scripts find the
#: real datasets (they run the CLI with it set, which must not warn).
OTHER_VARIABLES = (BATCH_ROWS_VARIABLE, INTERVAL_VARIABLE, "EPOCHPLAN_SHARED_DATA")


def misspelt_variables(environ: Mapping[str, str]) -> list[str]:
    """Warnings for `EPOCHPLAN_*` variables set in `environ` that nothing reads, each naming the
    variable it is close to when there is one (`EPOCHPLAN_THRESHHOLD`: did you mean
    `EPOCHPLAN_THRESHOLD`?)."""
    keys = [key for keys in COMMANDS.values() for key in keys]
    return config.misspelt_variables(environ, keys, OTHER_VARIABLES)
