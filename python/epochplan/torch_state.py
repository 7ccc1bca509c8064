"""Where a `ClusterSampler` stands inside an epoch, as a small plain dict, and the checks that a
saved one fits the sampler it is loaded into.

Used by `epochplan.torch.ClusterSampler.state_dict` / `load_state_dict` (split out of `torch.py` to
keep it short). Needs no PyTorch: the state holds only ints, strings and bools, so it goes through
`torch.save`, JSON, or torchdata's `StatefulDataLoader` alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from .errors import InputError, with_article

FORMAT = 1
# What the sampler was built with: a state resumes only a sampler built the same way. The order
# is the order differences are named in.
CONFIG = (
    "mode",
    "pick",
    "shuffle",
    "seed",
    "num_replicas",
    "rank",
    "drop_last",
    "epoch_size",
    "num_clusters",
    "num_rows",
    "clusters_digest",
)
_WHERE = "ClusterSampler.load_state_dict"


def clusters_digest(row_cluster: np.ndarray) -> str:
    """A short fingerprint of every row's cluster number (another audit, or the same rows in
    another order, gives another one)."""
    data = np.ascontiguousarray(row_cluster, dtype=np.int64)
    return hashlib.blake2b(memoryview(data).cast("B"), digest_size=8).hexdigest()


def sampler_state(config: Mapping[str, Any], epoch: int, yielded: int) -> dict[str, Any]:
    """The state dict: format, the epoch and how many of this rank's indices it has yielded, then
    the configuration."""
    return {"format": FORMAT, "epoch": int(epoch), "yielded": int(yielded), **{key: config[key] for key in CONFIG}}


def _whole(state: Mapping[str, Any], key: str) -> int:
    value = state[key]
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(f"{_WHERE}: `{key}` is {value!r}, not a whole number; pass what sampler.state_dict() returned")
    return int(value)


def read_state(state: Any, config: Mapping[str, Any], per_epoch: int) -> tuple[int, int]:
    """(epoch, yielded) of a saved state, after checking it was saved by a sampler configured as
    `config`, whose rank yields `per_epoch` indices an epoch."""
    if not isinstance(state, Mapping):
        raise InputError(f"{_WHERE}: got {with_article(type(state).__name__)}, not a dict; pass what sampler.state_dict() returned")
    missing = [key for key in ("format", "epoch", "yielded", *CONFIG) if key not in state]
    if missing:
        raise InputError(f"{_WHERE}: not a ClusterSampler state (no {', '.join(missing)}); pass what sampler.state_dict() returned")
    version = _whole(state, "format")
    if version != FORMAT:
        raise InputError(
            f"{_WHERE}: state format {version} is not one this epochplan reads ({FORMAT}); load it with the epochplan that saved it"
        )
    differ = [f"{key} saved {state[key]!r}, here {config[key]!r}" for key in CONFIG if state[key] != config[key]]
    if differ:
        hint = (
            "the cluster ids differ: build the sampler from the same audit and dataset"
            if all(key in ("clusters_digest", "num_clusters", "num_rows") for key in CONFIG if state[key] != config[key])
            else "build the sampler with the saved settings (a state resumes one rank of one configuration)"
        )
        raise InputError(f"{_WHERE}: the state was saved by a sampler built differently ({'; '.join(differ)}); {hint}")
    epoch, yielded = _whole(state, "epoch"), _whole(state, "yielded")
    if not 0 <= yielded <= per_epoch:
        raise InputError(f"{_WHERE}: yielded={yielded} is outside 0..{per_epoch} (the indices this rank yields an epoch)")
    return epoch, yielded
