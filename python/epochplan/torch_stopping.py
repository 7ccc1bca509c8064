"""Early stopping counted in evaluations, the same decision on every data-parallel rank.

Public as `epochplan.torch.EarlyStopping` (split out of `torch.py` to keep it short). Needs PyTorch
only under an initialised `torch.distributed` process group, imported lazily by its absolute name.
"""

from __future__ import annotations

import importlib
import math
import numbers
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    from .planning import Plan

_STATE = ("patience", "min_delta", "mode", "best", "best_evaluation", "evaluations", "bad_evaluations", "should_stop")


def _world_mean(metric: float) -> float:
    """The metric averaged over the ranks of an initialised process group of more than one
    process (an all_reduce every rank must join); the metric itself otherwise."""
    torch = importlib.import_module("torch")
    dist = torch.distributed
    if not (dist.is_available() and dist.is_initialized()):
        return metric
    world = dist.get_world_size()
    if world <= 1:
        return metric
    # NCCL reduces only CUDA tensors (on this rank's device); gloo and mixed backends take CPU ones.
    device = torch.device("cuda", torch.cuda.current_device()) if str(dist.get_backend()) == "nccl" else torch.device("cpu")
    value = torch.tensor([metric], dtype=torch.float64, device=device)
    dist.all_reduce(value, op=dist.ReduceOp.SUM)
    return float(value.item()) / world


class EarlyStopping:
    """Stop after `patience` evaluations in a row without an improvement of more than `min_delta`.

        stopper = EarlyStopping.from_plan(plan)
        if stopper.step(eval_loss): break      # call once per evaluation, on every rank

    `mode="min"` for losses, `"max"` for accuracy-like metrics. A non-finite metric never counts
    as an improvement. `patience=None` never stops (the plan's choice for pre-training).

    Under an initialised `torch.distributed` process group of more than one process, `step()`
    averages the metric over the ranks (an all_reduce, on the current CUDA device for NCCL, on the
    CPU otherwise) before deciding, so every rank keeps the same state and stops at the same
    evaluation (a rank that stopped alone would leave the others blocked in DDP's next allreduce).
    `step()` must then be called on **every** rank, at the same evaluations. `sync=False` decides
    on the metric as given: for a metric you already reduce yourself, or a `step()` called on one
    rank only (then share its decision with the others yourself, e.g. by a broadcast).
    """

    #: Also the value of an object pickled before `sync` existed (its `__dict__` lacks it).
    sync = True

    def __init__(self, patience: int | None, min_delta: float = 0.0, mode: str = "min", *, sync: bool = True) -> None:
        if patience is not None and (isinstance(patience, bool) or not isinstance(patience, int) or patience < 1):
            raise InputError(f"EarlyStopping patience={patience!r}: a whole number of evaluations >= 1, or None")
        if mode not in ("min", "max"):
            raise InputError(f"EarlyStopping mode={mode!r}: use 'min' or 'max'")
        if isinstance(min_delta, bool) or not isinstance(min_delta, numbers.Real) or not min_delta >= 0:
            raise InputError(f"EarlyStopping min_delta={min_delta!r}: must be a number >= 0")
        self.patience = patience
        self.min_delta = float(min_delta)
        self.mode = mode
        self.sync = bool(sync)
        self.best: float | None = None
        self.best_evaluation: int | None = None  # 1-based number of the best evaluation
        self.evaluations = 0
        self.bad_evaluations = 0
        self.should_stop = False

    @classmethod
    def from_plan(cls, plan: Plan | Mapping[str, Any], min_delta: float = 0.0, mode: str = "min", *, sync: bool = True) -> EarlyStopping:
        """Patience from `plan.early_stopping_patience` (evaluate every `plan.eval_steps` steps)."""
        if isinstance(plan, Mapping) and "early_stopping_patience" not in plan:
            # Not a silent `None` (never stop): an export without the key (`to_hf()`) is the wrong dict.
            raise InputError("EarlyStopping.from_plan: the dict has no early_stopping_patience; pass the Plan or plan.to_dict()")
        patience = plan["early_stopping_patience"] if isinstance(plan, Mapping) else plan.early_stopping_patience
        return cls(patience, min_delta=min_delta, mode=mode, sync=sync)

    def improved(self, metric: float) -> bool:
        if not math.isfinite(metric):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return metric < self.best - self.min_delta
        return metric > self.best + self.min_delta

    def step(self, metric: float) -> bool:
        """Record one evaluation; True when training should stop now. With `sync` (the default)
        under a multi-process torch.distributed group: a collective, call it on every rank."""
        metric = float(metric)
        if self.sync:
            metric = _world_mean(metric)
        self.evaluations += 1
        if self.improved(metric):
            self.best, self.best_evaluation, self.bad_evaluations = metric, self.evaluations, 0
        else:
            self.bad_evaluations += 1
        self.should_stop = self.patience is not None and self.bad_evaluations >= self.patience
        return self.should_stop

    __call__ = step

    def state_dict(self) -> dict[str, Any]:
        """The counters and settings; `sync` is not state (it belongs to how this run is launched)."""
        return {k: getattr(self, k) for k in _STATE}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for key, value in state.items():
            if key in _STATE:
                setattr(self, key, value)

    def __repr__(self) -> str:
        return (
            f"EarlyStopping(patience={self.patience}, min_delta={self.min_delta}, mode={self.mode!r}, "
            f"best={self.best}, bad_evaluations={self.bad_evaluations})"
        )
