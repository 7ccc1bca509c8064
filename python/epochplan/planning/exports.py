"""Hand a plan to a training framework: keyword-argument dicts (the ready-to-paste text of each is
render/plan_text.py).

Every export runs exactly `plan.total_steps` optimizer steps: frameworks other than the one the
plan was rounded for get `max_steps` (or Composer's `"<N>ba"`) rather than an epoch count, so a
difference in how they round the last partial batch cannot change the run length.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..errors import InputError
from .rounding import loader_batches

if TYPE_CHECKING:  # type-only: model.py imports this module to give Plan its export methods
    from .model import Plan

SAVE_TOTAL_LIMIT = 2  # best + latest: HF keeps the best checkpoint on top of the limit


def _whole_epochs(plan: Plan) -> int | None:
    """The epoch count to hand HF as num_train_epochs, when that gives exactly total_steps."""
    epochs = plan.epochs.planned
    exact = plan.framework == "hf" and plan.budget != "steps" and float(epochs).is_integer()
    if exact and math.ceil(epochs * plan.steps_per_epoch) == plan.total_steps:
        return int(epochs)
    return None


def _early_stopping(plan: Plan) -> bool:
    return plan.early_stopping_patience is not None


def to_hf(plan: Plan) -> dict[str, Any]:
    """transformers.TrainingArguments keyword arguments (add `output_dir`)."""
    s = plan.setup
    args: dict[str, Any] = {
        "per_device_train_batch_size": s.per_device_batch,
        "gradient_accumulation_steps": s.grad_accum,
        "warmup_steps": plan.warmup_steps,
        "eval_strategy": "steps",
        "eval_steps": plan.eval_steps,
        "save_strategy": "steps",
        "save_steps": plan.save_steps,
        "save_total_limit": SAVE_TOTAL_LIMIT,
        "logging_steps": plan.eval_steps,
        "dataloader_drop_last": s.drop_last,
    }
    epochs = _whole_epochs(plan)
    if epochs is not None:
        args["num_train_epochs"] = epochs
    else:
        args["max_steps"] = plan.total_steps
    if _early_stopping(plan):
        args.update(load_best_model_at_end=True, metric_for_best_model="eval_loss", greater_is_better=False)
    return args


def hf_callbacks(plan: Plan) -> list[Any]:
    """[transformers.EarlyStoppingCallback] with the plan's patience (empty for pre-training)."""
    if not _early_stopping(plan):
        return []
    try:
        from transformers import EarlyStoppingCallback
    except ImportError:
        raise InputError("hf_callbacks() needs transformers: pip install transformers") from None
    return [EarlyStoppingCallback(early_stopping_patience=plan.early_stopping_patience)]


def to_lightning(plan: Plan) -> dict[str, Any]:
    """lightning.Trainer keyword arguments. `val_check_interval` counts training batches (not
    optimizer steps) across epochs because `check_val_every_n_epoch=None`: the checks fall on
    the planned steps while each epoch's batches are a multiple of `accumulate_grad_batches`
    (see `lightning_checks_drift`); Lightning has no interval in optimizer steps."""
    s = plan.setup
    return {
        "max_steps": plan.total_steps,
        "max_epochs": -1,
        "accumulate_grad_batches": s.grad_accum,
        "val_check_interval": plan.eval_steps * s.grad_accum,
        "check_val_every_n_epoch": None,
        "devices": s.gpus,
    }


def lightning_checks_drift(plan: Plan) -> bool:
    """Whether Lightning's validation checks drift from the planned steps: an epoch of batches
    that is no multiple of `accumulate_grad_batches` ends on a partial window, which Lightning
    steps on, so each later epoch's checks fall that many batches off the planned steps (and
    the run holds fewer of them). Not with one epoch or less."""
    s = plan.setup
    batches = loader_batches(plan.samples_per_epoch, s.per_device_batch, s.gpus, s.drop_last, "lightning")
    return s.grad_accum > 1 and batches % s.grad_accum != 0 and plan.total_steps > plan.steps_per_epoch


def lightning_checks(plan: Plan) -> int:
    """How many validation checks Lightning runs under `to_lightning`: `val_check_interval`
    counts training batches across epochs, and an epoch's partial last accumulation window is a
    step of its own, so the batches of `total_steps` steps may hold fewer whole intervals than
    the plan's evaluations (an epoch of fewer batches than `accumulate_grad_batches` holds none:
    no check in the whole run)."""
    s = plan.setup
    batches = loader_batches(plan.samples_per_epoch, s.per_device_batch, s.gpus, s.drop_last, "lightning")
    per_epoch = -(-batches // s.grad_accum)  # optimizer steps an epoch, the partial window one
    epochs, rest = divmod(plan.total_steps, per_epoch)
    return (epochs * batches + min(rest * s.grad_accum, batches)) // (plan.eval_steps * s.grad_accum)


def lightning_callbacks(plan: Plan) -> list[Any]:
    """[EarlyStopping(monitor="val_loss")] with the plan's patience (Lightning counts validation checks)."""
    if not _early_stopping(plan):
        return []
    try:
        from lightning.pytorch.callbacks import EarlyStopping
    except ImportError:
        try:
            from pytorch_lightning.callbacks import EarlyStopping  # type: ignore[no-redef]
        except ImportError:
            raise InputError("lightning_callbacks() needs Lightning: pip install lightning") from None
    return [EarlyStopping(monitor="val_loss", mode="min", patience=plan.early_stopping_patience)]


def to_composer(plan: Plan) -> dict[str, Any]:
    """composer.Trainer keyword arguments. Composer steps the optimizer once per dataloader batch,
    so the DataLoader batch is batch x grad_accum and the micro-batch is the per-device batch.
    Composer saves only into a `save_folder`, which is the caller's to give (the `composer` text
    sets one): without it `save_interval` saves nothing."""
    return {
        "max_duration": f"{plan.total_steps}ba",
        "eval_interval": f"{plan.eval_steps}ba",
        "save_interval": f"{plan.save_steps}ba",
        "device_train_microbatch_size": plan.setup.per_device_batch,
    }


def to_torch(plan: Plan) -> dict[str, Any]:
    """Everything a hand-written loop needs. The loop steps the optimizer after every
    `grad_accum` batches and after the last batch of an epoch (partial window flushed)."""
    s = plan.setup
    return {
        "batch_size": s.per_device_batch,
        "grad_accum": s.grad_accum,
        "world_size": s.gpus,
        "global_batch_size": plan.global_batch_size,
        "drop_last": s.drop_last,
        "samples_per_epoch": plan.samples_per_epoch,
        "steps_per_epoch": plan.steps_per_epoch,
        "total_steps": plan.total_steps,
        "epochs": round(plan.epochs.planned, 4),
        "warmup_steps": plan.warmup_steps,
        "eval_every_steps": plan.eval_steps,
        "save_every_steps": plan.save_steps,
        "early_stopping_patience": plan.early_stopping_patience,
        "step_on_last_partial_window": True,
        "seq_len": plan.seq_len,
        "packing": plan.packing,
    }
