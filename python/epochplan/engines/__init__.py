"""Engines: where the audit's first stage (read + measure every batch) runs. The second stage
(absorb, in input order) and everything after it always run in this process, in the core.

- `local`: this process, batch after batch (rayon threads inside each batch).
- `ray`: Ray tasks over the input files on a cluster (`pip install 'epochplan[ray]'`).

Both hand the core the same batches (the same readers, the same batch boundaries), so the
audit is the same number for number."""

from __future__ import annotations

import os
import sys

from ..defaults import ENGINES
from ..errors import InputError, kind_of, with_article
from ..sources.in_memory import Held
from .base import Engine, MeasureSpec
from .local import LocalEngine

__all__ = ["ENGINES", "Engine", "MeasureSpec", "close_engines", "open_engine", "refuse_in_memory"]


def open_engine(engine: str = "local", ray_address: str | None = None) -> Engine:
    """The engine named `engine`, connected (Ray: to `ray_address`, else `RAY_ADDRESS`, else a
    local Ray started here). Connecting happens now, before any data is read."""
    if engine == "local":
        if ray_address is not None:
            raise InputError(f"ray_address={ray_address!r} given with engine='local'; use engine='ray' or drop the address")
        return LocalEngine()
    if engine == "ray":
        from .ray_engine import RayEngine

        return RayEngine.connect(ray_address)
    raise InputError(f"engine={engine!r}: use one of {', '.join(ENGINES)}")


def refuse_in_memory(engine: str, data: object) -> None:
    """engine='ray' reads files or URLs (each task reads its own): data held in this process is
    refused before Ray is started (some seconds) and before the data is read."""
    if engine != "ray":
        return
    items = data if isinstance(data, (list, tuple)) else [data]
    held = next((item for item in items if not isinstance(item, (str, os.PathLike))), None)
    if held is not None:
        kind = held.kind if isinstance(held, Held) else kind_of(held)
        raise InputError(
            f"engine='ray' reads files or URLs; {with_article(kind)} is in this process's memory: use engine='local' or write it to files"
        )


def close_engines() -> None:
    """Close what the engines opened in this process (the Ray connection epochplan made), for a
    command about to exit; see `ray_engine.disconnect`. Nothing to do when Ray was not used
    (its engine module not even imported)."""
    ray_engine = sys.modules.get(f"{__name__}.ray_engine")
    if ray_engine is not None:
        ray_engine.disconnect()
