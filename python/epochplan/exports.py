"""Hand a plan to a training framework: keyword-argument dicts and ready-to-paste text.

Every export runs exactly `plan.total_steps` optimizer steps: frameworks other than the one the
plan was rounded for get `max_steps` (or Composer's `"<N>ba"`) rather than an epoch count, so a
difference in how they round the last partial batch cannot change the run length.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any

from .errors import InputError

if TYPE_CHECKING:
    from .plan import Plan

FORMATS = ("table", "json", "yaml", "hf", "lightning", "composer", "torch")
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
    optimizer steps) across epochs because `check_val_every_n_epoch=None`."""
    s = plan.setup
    return {
        "max_steps": plan.total_steps,
        "max_epochs": -1,
        "accumulate_grad_batches": s.grad_accum,
        "val_check_interval": plan.eval_steps * s.grad_accum,
        "check_val_every_n_epoch": None,
        "devices": s.gpus,
    }


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
    so the DataLoader batch is batch x grad_accum and the micro-batch is the per-device batch."""
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


# --- Text rendering ---------------------------------------------------------------------------
def _py(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _call(name: str, kwargs: dict[str, Any], first: tuple[str, ...] = ()) -> str:
    lines = [f"{name}("] + [f"    {line}," for line in first]
    lines += [f"    {key}={_py(value)}," for key, value in kwargs.items()]
    return "\n".join(lines + [")"])


def _header(plan: Plan, what: str) -> str:
    unique = "?" if plan.unique_samples is None else f"{plan.unique_samples:,}"
    return (
        f"# epochplan: {what} for {plan.regime} on {unique} unique samples - {plan.epochs.planned:.4g} epochs, "
        f"{plan.total_steps:,} optimizer steps (global batch {plan.global_batch_size})"
    )


def render_hf(plan: Plan) -> str:
    text = [_header(plan, "HF TrainingArguments"), "from transformers import EarlyStoppingCallback, TrainingArguments", ""]
    text.append("args = " + _call("TrainingArguments", to_hf(plan), first=('output_dir="out"',)))
    patience = plan.early_stopping_patience
    text.append(f"callbacks = [EarlyStoppingCallback(early_stopping_patience={patience})]" if patience else "callbacks = []")
    text.append("# trainer = Trainer(model=model, args=args, train_dataset=train, eval_dataset=val, callbacks=callbacks)")
    text += _launch(plan)
    return "\n".join(text) + "\n"


def _launch(plan: Plan) -> list[str]:
    """The data-parallel size is not a TrainingArguments/Composer field: say how to launch."""
    gpus = plan.setup.gpus
    return [f"# launch on {gpus} data-parallel processes, e.g. torchrun --nproc_per_node {gpus} train.py"] if gpus > 1 else []


def render_lightning(plan: Plan) -> str:
    patience = plan.early_stopping_patience
    callbacks = f'[EarlyStopping(monitor="val_loss", mode="min", patience={patience})]' if patience else "[]"
    text = [
        _header(plan, "Lightning Trainer"),
        "from lightning.pytorch import Trainer",
        "from lightning.pytorch.callbacks import EarlyStopping",
        "",
        "trainer = " + _call("Trainer", {**to_lightning(plan)}, first=(f"callbacks={callbacks}",)),
        f"# DataLoader(train, batch_size={plan.setup.per_device_batch}, shuffle=True, drop_last={plan.setup.drop_last})",
        "# val_check_interval counts training batches (eval_steps x accumulate_grad_batches).",
    ]
    return "\n".join(text) + "\n"


def render_composer(plan: Plan) -> str:
    s = plan.setup
    patience = plan.early_stopping_patience
    callbacks = (
        f'[EarlyStopper(monitor="CrossEntropy", dataloader_label="eval", patience="{patience * plan.eval_steps}ba")]'
        if patience else "[]"
    )
    text = [
        _header(plan, "Composer Trainer"),
        "from composer import Trainer",
        "from composer.callbacks import EarlyStopper",
        "from composer.optim import LinearWithWarmupScheduler",
        "from composer.utils import dist",
        "",
        (
            f"# train_dataloader = DataLoader(train, batch_size={s.per_device_batch * s.grad_accum}, "
            f"sampler=dist.get_sampler(train, shuffle=True, drop_last={s.drop_last}), drop_last={s.drop_last})"
        ),
        "trainer = " + _call("Trainer", to_composer(plan), first=(
            "model=model", "train_dataloader=train_dataloader", "eval_dataloader=eval_dataloader",
            f'schedulers=[LinearWithWarmupScheduler(t_warmup="{plan.warmup_steps}ba")]',
            f"callbacks={callbacks}",
        )),
        *_launch(plan),
    ]
    return "\n".join(text) + "\n"


def render_torch(plan: Plan) -> str:
    body = json.dumps(to_torch(plan), indent=4, sort_keys=True)
    body = body.replace(": true", ": True").replace(": false", ": False").replace(": null", ": None")
    return "\n".join([_header(plan, "plain PyTorch loop settings"), f"plan = {body}"]) + "\n"


_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def _yaml_key(key: str) -> str:
    return key if _PLAIN_KEY.match(key) and key not in ("null", "true", "false") else _yaml_scalar(key)


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return json.dumps(value)
    return json.dumps(str(value), ensure_ascii=False)  # a JSON string is a YAML double-quoted scalar


def _yaml_lines(value: Any, indent: int) -> list[str]:
    pad = "  " * indent
    if isinstance(value, dict):
        if not value:
            return [pad + "{}"]
        lines = []
        for key in sorted(value):
            item = value[key]
            if isinstance(item, (dict, list)) and item:
                lines.append(f"{pad}{_yaml_key(str(key))}:")
                lines.extend(_yaml_lines(item, indent + 1))
            else:
                lines.append(f"{pad}{_yaml_key(str(key))}: {_yaml_inline(item)}")
        return lines
    if isinstance(value, list):
        lines = []
        for item in value:
            if isinstance(item, (dict, list)) and item:
                nested = _yaml_lines(item, indent + 1)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.append(f"{pad}- {_yaml_inline(item)}")
        return lines
    return [pad + _yaml_scalar(value)]


def _yaml_inline(value: Any) -> str:
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    return _yaml_scalar(value)


def to_yaml(data: Any) -> str:
    """A small YAML emitter (no PyYAML dependency): sorted keys, JSON-quoted strings."""
    return "\n".join(_yaml_lines(data, 0)) + "\n"


def render(plan: Plan, fmt: str) -> str:
    """The plan in one of FORMATS except "table" (which the CLI prints with rich)."""
    renderers = {
        "json": lambda p: p.to_json(),
        "yaml": lambda p: to_yaml(p.to_dict()),
        "hf": render_hf,
        "lightning": render_lightning,
        "composer": render_composer,
        "torch": render_torch,
    }
    if fmt not in renderers:
        raise InputError(f"--format {fmt!r}: unknown format; use one of {', '.join(FORMATS)}")
    return renderers[fmt](plan)
