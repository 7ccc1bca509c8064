"""Hand a plan to PyTorch: a cluster-aware sampler, a learning-rate schedule sized to the plan,
and early stopping counted in evaluations.

    from epochplan.torch import ClusterSampler, build_scheduler, EarlyStopping
    sampler = ClusterSampler(result, mode="representatives", seed=0)
    loader = DataLoader(ds, batch_size=plan.batch, sampler=sampler)
    scheduler = build_scheduler(optimizer, plan, kind="cosine")   # step it once per optimizer step
    stopper = EarlyStopping.from_plan(plan)

Importing this module needs PyTorch (`pip install 'epochplan[torch]'`); the rest of epochplan
does not. The module shares its name with the `torch` package, so PyTorch is imported by its
absolute name through importlib (never a relative import of this file).
"""

from __future__ import annotations

import importlib
import itertools
import math
import os
import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ._epochplan import shard_size
from .auditing.result import AuditResult
from .defaults import MAX_WHOLE
from .errors import InputError
from .numbers import whole_within
from .planning.schedule import WarmupDecay as _WarmupDecay
from .torch_clusters import Clusters, ids_series
from .torch_state import CONFIG, clusters_digest, read_state, sampler_state
from .torch_stopping import EarlyStopping

if TYPE_CHECKING:
    from .planning import Plan


class TorchNotInstalledError(InputError, ImportError):
    """PyTorch is missing. An InputError like every epochplan input problem, and an ImportError so
    `try: import epochplan.torch except ImportError` and `pytest.importorskip` work as usual."""


def _import_torch() -> Any:
    try:
        return importlib.import_module("torch")
    except ModuleNotFoundError as exc:
        if exc.name not in ("torch", None):
            raise  # torch itself is installed but broken: show the real error
        raise TorchNotInstalledError(
            "PyTorch is not installed: pip install 'epochplan[torch]' (on a CPU-only machine, install the CPU "
            "wheel first: pip install torch --index-url https://download.pytorch.org/whl/cpu)"
        ) from None


torch = _import_torch()

MODES = ("representatives", "inverse_size")
PICKS = ("representative", "random")
SCHEDULES = ("linear", "cosine", "onecycle")

__all__ = [
    "ClusterSampler",
    "EarlyStopping",
    "build_scheduler",
    "TorchNotInstalledError",
    "MODES",
    "SCHEDULES",
]


# --- The sampler ------------------------------------------------------------------------------
class ClusterSampler(torch.utils.data.Sampler):
    """Yield dataset row indices so that each duplicate cluster counts once per epoch.

    `clusters`: an `AuditResult` (run with `keep_clusters=True`), its `.clusters` DataFrame (`near_id`
    is used when present, else `exact_id`), or a sequence / array / Series of cluster ids, one per
    row (any hashable value; None, or NaN in a float array, marks a row that is never sampled).
    Row i of the audit must be item i of the dataset the DataLoader reads.

    Modes:
    - `"representatives"`: each cluster exactly once per epoch. `pick="representative"` yields its
      lowest row (what `epochplan dedup` keeps); `pick="random"` a uniformly chosen member, drawn
      afresh each epoch (every row of a size-k cluster then has expected exposure 1/k).
    - `"inverse_size"`: rows drawn with replacement with weight 1/k (k = cluster size), so every
      cluster has the same expected exposure, 1 per epoch by default; individual clusters may be
      seen 0, 1, 2... times in an epoch. Drawn as: a uniform cluster, then a uniform member.

    An epoch is `num_clusters` draws (the plan's `unique_samples`; also its `samples_per_epoch`
    when it does not pack, while a packed plan counts the sequences the samples fill), or
    `num_samples` in inverse_size mode. Order is reshuffled from `seed + epoch` (call `set_epoch` every epoch;
    every rank must use the same seed). With `num_replicas` > 1 the epoch's index list is cut into
    equal shards exactly like `torch.utils.data.DistributedSampler`: padded by repeating its start,
    or trimmed with `drop_last=True`; `rank` takes every `num_replicas`-th index. Without
    arguments, they come from an initialised `torch.distributed` process group, else 1 and 0 (with
    a warning when WORLD_SIZE > 1, as torchrun sets it: build the sampler after init_process_group).
    Frameworks that shard by themselves must not shard twice: with Lightning pass
    `Trainer(use_distributed_sampler=False)` and let this sampler shard; with the HF Trainer
    (accelerate deals whole batches to processes) pass `num_replicas=1, rank=0`.

    Resuming inside an epoch: `state_dict()` is a small plain dict (this rank's epoch and how many
    indices the current epoch has yielded, plus the configuration); `load_state_dict(state)` on a
    sampler built the same way makes the next iteration yield the rest of that epoch, in the same
    order (torchdata's `StatefulDataLoader` calls both). `len()` stays the whole epoch's count.
    """

    def __init__(
        self,
        clusters: AuditResult | pl.DataFrame | Sequence[Any] | np.ndarray | pl.Series,
        mode: str = "representatives",
        *,
        seed: int = 0,
        shuffle: bool = True,
        pick: str = "representative",
        num_samples: int | None = None,
        num_replicas: int | None = None,
        rank: int | None = None,
        drop_last: bool = False,
    ) -> None:
        if mode not in MODES:
            raise InputError(f"ClusterSampler mode={mode!r}: use one of {', '.join(MODES)}")
        if pick not in PICKS:
            raise InputError(f"ClusterSampler pick={pick!r}: use one of {', '.join(PICKS)}")
        if num_samples is not None:
            if mode != "inverse_size":
                raise InputError("ClusterSampler num_samples: only for mode='inverse_size' (representatives is one per cluster)")
            whole = whole_within(num_samples, 1)
            if whole is None:
                raise InputError(f"ClusterSampler num_samples={num_samples!r}: must be a whole number from 1 to {MAX_WHOLE:,}")
            num_samples = whole
        ids, self.level = ids_series(clusters)
        self._clusters = Clusters(ids)
        self.mode = mode
        self.pick = pick
        whole_seed = whole_within(seed, -(2**63), 2**63 - 1)  # torch.Generator takes any 64-bit seed
        if whole_seed is None:
            raise InputError(f"ClusterSampler seed={seed!r}: must be a whole number (a 64-bit one)")
        self.seed = whole_seed
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.epoch = 0
        self.num_replicas, self.rank = _replicas(num_replicas, rank)
        self.epoch_size = num_samples if num_samples is not None else self._clusters.count
        # torch DistributedSampler's count per rank (padded, or the tail dropped with drop_last).
        self.num_samples = shard_size(self.epoch_size, self.num_replicas, self.drop_last)
        self.total_size = self.num_samples * self.num_replicas
        self._yielded = 0  # indices of this epoch handed out by the current iterator
        self._iteration = 0  # which iterator counts: an older one stops counting
        self._resume: tuple[int, int] | None = None  # (epoch, indices to skip) from load_state_dict
        self._digest: str | None = None

    # -- what the sampler knows about the data
    @property
    def num_clusters(self) -> int:
        """Distinct clusters among non-null rows (the plan's unique samples)."""
        return self._clusters.count

    @property
    def num_rows(self) -> int:
        return self._clusters.rows

    @property
    def representatives(self) -> np.ndarray:
        """Lowest row of each cluster, in row order (the rows `epochplan dedup` keeps)."""
        return self._clusters.representatives.copy()

    @property
    def cluster_sizes(self) -> np.ndarray:
        """Rows per cluster, clusters in the order of `representatives`."""
        return self._clusters.sizes.copy()

    @property
    def row_cluster(self) -> np.ndarray:
        """Cluster number (index into `representatives`) of every row; -1 for rows never sampled."""
        return self._clusters.row_cluster.copy()

    def weights(self) -> np.ndarray:
        """Per-row sampling weight 1/k (0 for rows without a cluster), e.g. for WeightedRandomSampler."""
        c = self._clusters
        out = np.zeros(c.rows, dtype=np.float64)
        valid = c.row_cluster >= 0
        out[valid] = 1.0 / c.sizes[c.row_cluster[valid]]
        return out

    # -- the Sampler protocol
    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for this epoch (seeded by seed + epoch, identical on every rank)."""
        epoch = int(epoch)
        if epoch != self.epoch:
            self._iteration += 1
            self._yielded = 0
        self.epoch = epoch
        if self._resume is not None and self._resume[0] != epoch:
            loaded, skip = self._resume
            self._resume = None
            if 0 < skip < self.num_samples:
                warnings.warn(
                    f"ClusterSampler.set_epoch({epoch}): the loaded state resumed epoch {loaded} after {skip} of its "
                    f"{self.num_samples} indices; epoch {epoch} starts from its first index instead (to resume, "
                    f"set_epoch({loaded}) or none after load_state_dict)",
                    UserWarning,
                    stacklevel=2,
                )

    # -- resuming inside an epoch
    def _config(self) -> dict[str, Any]:
        if self._digest is None:
            self._digest = clusters_digest(self._clusters.row_cluster)
        values = {"num_clusters": self.num_clusters, "num_rows": self.num_rows, "clusters_digest": self._digest}
        return {key: values[key] if key in values else getattr(self, key) for key in CONFIG}

    def state_dict(self, consumed: int | None = None) -> dict[str, Any]:
        """This rank's place in the epoch: a plain dict of ints, strings and bools (JSON-able).

        It counts the indices the current iterator has handed out. A DataLoader with
        `num_workers` > 0 fetches batches ahead of the training loop, so with a plain DataLoader
        pass `consumed=` the indices trained on this epoch (batches x batch_size);
        torchdata's `StatefulDataLoader` keeps the count of what it returned by itself.
        """
        yielded = self._yielded
        if consumed is not None:
            whole = whole_within(consumed, 0, self.num_samples)
            if whole is None:
                raise InputError(f"ClusterSampler.state_dict consumed={consumed!r}: must be a whole number from 0 to {self.num_samples}")
            yielded = whole
        return sampler_state(self._config(), self.epoch, yielded)

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Resume where `state` stopped: the next iteration yields the rest of its epoch (the
        sampler moves to that epoch). A state saved after the epoch's last index has nothing left:
        it applies only while the sampler is at that epoch, so `set_epoch(epoch + 1)`, before or
        after loading, starts the next epoch in full. Refused (InputError) when the state was
        saved by a sampler built differently (cluster ids, mode, pick, shuffle, seed, num_samples,
        num_replicas, rank, drop_last)."""
        epoch, skip = read_state(state, self._config(), self.num_samples)
        self._resume = (epoch, skip)
        if skip < self.num_samples:
            self.set_epoch(epoch)
        if self.epoch == epoch:
            self._iteration += 1
            self._yielded = skip

    def __len__(self) -> int:
        """Indices this rank yields per epoch."""
        return self.num_samples

    def __iter__(self):
        skip = 0
        if self._resume is not None:
            loaded, skip = self._resume
            self._resume = None
            skip = skip if loaded == self.epoch else 0
        self._iteration += 1
        self._yielded = skip
        return self._counted(self._rank_indices(), skip, self._iteration)

    def _counted(self, indices: list[int], skip: int, iteration: int):
        """The indices after the first `skip`, counted as they are handed out (while this is the
        sampler's current iterator)."""
        for index in itertools.islice(indices, skip, None):
            if iteration == self._iteration:
                self._yielded += 1
            yield index

    def _rank_indices(self) -> list[int]:
        indices = self._epoch_indices()
        if self.drop_last:
            indices = indices[: self.total_size]
        else:
            padding = self.total_size - indices.numel()
            if padding > 0:
                repeats = math.ceil(padding / indices.numel())
                indices = torch.cat([indices, indices.repeat(repeats)[:padding]])
        assert indices.numel() == self.total_size
        return indices[self.rank : self.total_size : self.num_replicas].tolist()

    def _epoch_indices(self) -> Any:
        """Row indices of the whole epoch (every rank computes the same list)."""
        c = self._clusters
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch)
        if self.mode == "inverse_size":
            # P(row) = 1/C x 1/k: each cluster equally likely, then a uniform member of it.
            chosen = torch.randint(c.count, (self.epoch_size,), generator=generator)
            return self._members(chosen, generator, uniform=True)
        chosen = torch.randperm(c.count, generator=generator) if self.shuffle else torch.arange(c.count)
        return self._members(chosen, generator, uniform=self.pick == "random")

    def _members(self, chosen: Any, generator: Any, *, uniform: bool) -> Any:
        c = self._clusters
        if not uniform:
            return torch.from_numpy(c.representatives)[chosen]
        sizes = torch.from_numpy(c.sizes)[chosen]
        within = (torch.rand(chosen.numel(), generator=generator, dtype=torch.float64) * sizes).long()
        within = torch.minimum(within, sizes - 1)  # guard the rare rand() * k rounding up to k
        return torch.from_numpy(c.members)[torch.from_numpy(c.offsets)[chosen] + within]

    def __repr__(self) -> str:
        return (
            f"ClusterSampler(mode={self.mode!r}, level={self.level!r}, clusters={self.num_clusters}, "
            f"rows={self.num_rows}, per_epoch={self.epoch_size}, replicas={self.num_replicas}, rank={self.rank})"
        )


def _replicas(num_replicas: int | None, rank: int | None) -> tuple[int, int]:
    dist = torch.distributed
    initialised = dist.is_available() and dist.is_initialized()
    if num_replicas is None:
        num_replicas = dist.get_world_size() if initialised else 1
        world = os.environ.get("WORLD_SIZE", "").strip()
        if not initialised and world.isdigit() and int(world) > 1:
            # torchrun set WORLD_SIZE but the process group does not exist yet: every process
            # would draw the whole epoch, the same indices on every rank.
            warnings.warn(
                f"ClusterSampler: WORLD_SIZE={world} but torch.distributed is not initialised, so the sampler does not "
                "shard (1 replica: every rank draws the same whole epoch); build it after "
                "torch.distributed.init_process_group, or pass num_replicas= and rank=",
                UserWarning,
                stacklevel=3,
            )
    replicas = whole_within(num_replicas, 1)
    if replicas is None:
        raise InputError(f"ClusterSampler num_replicas={num_replicas!r}: must be a whole number from 1 to {MAX_WHOLE:,}")
    if rank is None and not initialised and num_replicas > 1:
        # As torch's DistributedSampler: rank 0 in every process would give them all one shard.
        raise InputError(
            f"ClusterSampler num_replicas={num_replicas} without rank and no torch.distributed process group: "
            "pass rank= (this process's rank) or call torch.distributed.init_process_group first"
        )
    if rank is None:
        rank = dist.get_rank() if initialised else 0
    whole_rank = whole_within(rank, 0, replicas - 1)
    if whole_rank is None:
        raise InputError(f"ClusterSampler rank={rank!r}: must be in [0, {replicas - 1}]")
    return replicas, whole_rank


# --- Learning-rate schedule -------------------------------------------------------------------
def _plan_steps(plan: Plan | Mapping[str, Any]) -> tuple[int, int]:
    """(total optimizer steps, warm-up steps) from a Plan, plan.to_dict() or plan.to_torch()."""
    if isinstance(plan, Mapping):
        total, warmup = plan.get("total_steps"), plan.get("warmup_steps")
    else:
        total, warmup = getattr(plan, "total_steps", None), getattr(plan, "warmup_steps", None)
    if isinstance(total, bool) or not isinstance(total, int) or total < 1:
        raise InputError(f"build_scheduler: plan total_steps={total!r}; pass an epochplan.Plan (or its dict)")
    if isinstance(warmup, bool) or not isinstance(warmup, int) or not 0 <= warmup < total:
        raise InputError(f"build_scheduler: plan warmup_steps={warmup!r} must be in [0, total_steps={total})")
    return total, warmup


def _plan_gpus(plan: Plan | Mapping[str, Any]) -> int | None:
    """The data-parallel size the plan counts on: setup.gpus (Plan, to_dict()) or world_size (to_torch())."""
    if isinstance(plan, Mapping):
        setup = plan.get("setup")
        gpus = setup.get("gpus") if isinstance(setup, Mapping) else plan.get("world_size")
    else:
        gpus = getattr(getattr(plan, "setup", None), "gpus", None)
    return gpus if isinstance(gpus, int) and not isinstance(gpus, bool) and gpus >= 1 else None


def _check_world(plan: Plan | Mapping[str, Any]) -> None:
    """Warn when the plan was made for another data-parallel size than the running process group:
    each rank then takes planned/actual of the planned steps per epoch, so total_steps trains
    actual/planned times the planned epochs."""
    dist = torch.distributed
    planned = _plan_gpus(plan)
    if planned is None or not (dist.is_available() and dist.is_initialized()):
        return
    world = dist.get_world_size()
    if world != planned:
        warnings.warn(
            f"build_scheduler: the plan was made for {planned} data-parallel rank{'s' if planned > 1 else ''} (gpus={planned}) "
            f"but torch.distributed runs {world}: an epoch takes about {planned}/{world} of the planned steps per epoch, "
            f"so plan.total_steps trains about {world / planned:g}x the planned epochs; "
            f"re-plan with gpus={world} (--gpus {world})",
            UserWarning,
            stacklevel=3,
        )


def build_scheduler(
    optimizer: Any,
    plan: Plan | Mapping[str, Any],
    kind: str = "linear",
    *,
    min_lr_ratio: float = 0.0,
    max_lr: float | Sequence[float] | None = None,
    **onecycle: Any,
) -> Any:
    """A learning-rate scheduler that ends exactly at `plan.total_steps` optimizer steps.

    Call `scheduler.step()` once per optimizer step (after `optimizer.step()`), never per
    micro-batch: the plan's steps already account for gradient accumulation and data-parallel
    size, for the plan's `gpus` (a warning when an initialised torch.distributed group has another
    world size: the steps would then cover that many times more, or fewer, epochs). Every kind follows one contract: after k calls the LR is the schedule's value at step k;
    it reaches its final value after exactly `plan.total_steps` calls and is above it from the
    end of warm-up until then (warm-up itself starts from 0, below a non-zero final value).

    - `"linear"` / `"cosine"`: warm-up from 0 to the optimizer's LR over `plan.warmup_steps`, then
      decay to `min_lr_ratio` x LR (transformers' linear / cosine schedules when 0). A LambdaLR.
    - `"onecycle"`: `torch.optim.lr_scheduler.OneCycleLR` peaking at `max_lr` (default: each
      group's current LR) after `max(plan.warmup_steps, 1)` steps and annealing to
      max_lr / (div_factor x final_div_factor). OneCycleLR counts LR values, including the one
      before the first step, so it is built with `total_steps = plan.total_steps + 1`. Extra
      keyword arguments (anneal_strategy, div_factor, final_div_factor, cycle_momentum...) go to it;
      cycle_momentum defaults to off for optimizers without momentum or betas.
    """
    total, warmup = _plan_steps(plan)
    _check_world(plan)
    if kind not in SCHEDULES:
        raise InputError(f"build_scheduler kind={kind!r}: use one of {', '.join(SCHEDULES)}")
    lr_scheduler = torch.optim.lr_scheduler
    if kind != "onecycle":
        if onecycle or max_lr is not None:
            extra = ", ".join(sorted(onecycle) + (["max_lr"] if max_lr is not None else []))
            raise InputError(f"build_scheduler: {extra} only apply to kind='onecycle'")
        if not 0.0 <= float(min_lr_ratio) < 1.0:
            raise InputError(f"build_scheduler min_lr_ratio={min_lr_ratio}: must be in [0, 1)")
        return lr_scheduler.LambdaLR(optimizer, _WarmupDecay(kind, total, warmup, float(min_lr_ratio)))
    if min_lr_ratio:
        raise InputError("build_scheduler: min_lr_ratio is for linear/cosine; OneCycleLR ends at max_lr / (div_factor x final_div_factor)")
    fixed = {"total_steps", "epochs", "steps_per_epoch", "pct_start"} & set(onecycle)
    if fixed:
        raise InputError(f"build_scheduler: {', '.join(sorted(fixed))} come from the plan; do not pass them")
    peak = max(warmup, 1)
    if total <= peak:
        raise InputError(f"build_scheduler kind='onecycle' needs more than {peak} planned steps (plan has {total})")
    if "cycle_momentum" not in onecycle:
        # SGD and RMSprop have a `momentum` default of 0 when it is off: that is no momentum to cycle.
        onecycle["cycle_momentum"] = bool(optimizer.defaults.get("momentum", 0)) or "betas" in optimizer.defaults
    if max_lr is None:
        max_lr = [group["lr"] for group in optimizer.param_groups]
    # OneCycleLR's first phase ends at step pct_start x total_steps - 1: make that `peak`.
    return lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total + 1, pct_start=(peak + 1) / (total + 1), **onecycle)
