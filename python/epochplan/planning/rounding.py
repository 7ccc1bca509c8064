"""Optimizer steps per epoch, counted the way each framework counts them (last partial batch,
data-parallel padding, last partial accumulation window), read from each framework's source."""

from __future__ import annotations

from fractions import Fraction

from .._epochplan import shard_size
from .citations import SRC_COMPOSER, SRC_HF, SRC_LIGHTNING, SRC_TORCH


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def exact(number: float | Fraction) -> Fraction:
    """`number` as an exact fraction: an int (a count past 2^53, which a float cannot hold) or a
    Fraction as it is, a float as the decimal it is written as (its shortest repr: --epochs 1.1,
    --packing-efficiency 0.95), where its binary value is a hair off it."""
    if isinstance(number, (int, Fraction)):
        return Fraction(number)
    return Fraction(repr(float(number)))  # float(): a numpy float reprs as np.float64(...)


def _distributed_shard(n: int, gpus: int, drop_last: bool) -> int:
    """Samples per rank under torch DistributedSampler (torch/utils/data/distributed.py): the
    core's formula, shared with `epochplan.torch.ClusterSampler`."""
    return n if gpus == 1 else shard_size(n, gpus, drop_last)


def _loader_len(n: int, batch: int, drop_last: bool) -> int:
    """len(DataLoader) (torch/utils/data/sampler.py BatchSampler.__len__)."""
    return n // batch if drop_last else ceil_div(n, batch)


def loader_batches(n: int, batch: int, gpus: int, drop_last: bool, framework: str = "torch") -> int:
    """Batches a rank's DataLoader yields per epoch over a DistributedSampler shard of `n` items.
    Lightning puts in the DistributedSampler itself with only the replicas and the rank
    (trainer/connectors/data_connector.py `_get_distributed_sampler`): its `drop_last` stays
    False, so the shard is padded, and the DataLoader's `drop_last` drops only a rank's last
    short batch. In a plain torch loop the user's sampler takes the same `drop_last`."""
    shard = _distributed_shard(n, gpus, drop_last and framework != "lightning")
    return _loader_len(shard, batch, drop_last)


def steps_per_epoch(framework: str, n: int, batch: int, grad_accum: int, gpus: int, drop_last: bool = False) -> int:
    """Optimizer steps in one pass over `n` items, counted the way `framework` counts them."""
    if framework == "hf":
        # transformers Trainer: a non-distributed sampler + BatchSampler(batch), then accelerate's
        # BatchSamplerShard deals whole batches to ranks, evened up by looping back (even_batches).
        batches = _loader_len(n, batch, drop_last)
        per_rank = batches // gpus if drop_last else ceil_div(batches, gpus)
        # trainer.py set_initial_training_values: the last partial accumulation window is a step.
        return max(ceil_div(per_rank, grad_accum), 1) if per_rank else 0
    if framework == "composer":
        # composer: one optimizer step per device batch (= batch x grad_accum samples, split into
        # micro-batches of `batch`), over a DistributedSampler shard.
        return _loader_len(_distributed_shard(n, gpus, drop_last), batch * grad_accum, drop_last)
    # lightning and plain torch: DistributedSampler shard, DataLoader(batch), and an optimizer
    # step at the end of every accumulation window including the last partial one
    # (Lightning "steps on the final batch"; epochplan's torch loop does the same).
    return ceil_div(loader_batches(n, batch, gpus, drop_last, framework), grad_accum)


def samples_trained(framework: str, n: int, batch: int, grad_accum: int, gpus: int) -> int:
    """Samples of `n` an epoch trains on when the DataLoader drops its last short batch (and, but
    under Lightning, the DistributedSampler drops the tail that does not divide among the ranks):
    whole batches only, counted as `steps_per_epoch` counts them (at most `n`; Lightning's padded
    shard can repeat a few samples)."""
    if framework == "hf":
        return min(n, (n // batch) // gpus * gpus * batch)
    if framework == "composer":
        return min(n, _distributed_shard(n, gpus, True) // (batch * grad_accum) * batch * grad_accum * gpus)
    return min(n, loader_batches(n, batch, gpus, True, framework) * batch * gpus)


FRAMEWORK_SOURCES = {"hf": SRC_HF, "lightning": SRC_LIGHTNING, "torch": SRC_TORCH, "composer": SRC_COMPOSER}
