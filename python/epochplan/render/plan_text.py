"""A plan as text: JSON, YAML, and ready-to-paste code for each training framework. The keyword
arguments themselves come from `planning.exports`, so the text and the API agree."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from ..errors import InputError
from ..planning import Plan
from ..planning.exports import lightning_checks, lightning_checks_drift, to_composer, to_hf, to_lightning, to_torch
from ..planning.model import epochs_text
from .yaml_text import to_yaml


def _py(value: Any) -> str:
    return json.dumps(value) if isinstance(value, str) else repr(value)


def _call(name: str, kwargs: dict[str, Any], first: tuple[str, ...] = ()) -> str:
    lines = [f"{name}("] + [f"    {line}," for line in first]
    lines += [f"    {key}={_py(value)}," for key, value in kwargs.items()]
    return "\n".join(lines + [")"])


def _header(plan: Plan, what: str) -> str:
    unique = "?" if plan.unique_samples is None else f"{plan.unique_samples:,}"
    return (
        f"# epochplan: {what} for {plan.regime} on {unique} unique samples - {epochs_text(plan.epochs.planned)}, "
        f"{plan.total_steps:,} optimizer steps (global batch {plan.global_batch_size:,})"
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
    # A checkpoint every save_steps optimizer steps (Lightning's own saves once an epoch), the
    # latest kept (save_top_k=1, the default: keeping every one fills a disk with a large model).
    saving = f"ModelCheckpoint(every_n_train_steps={plan.save_steps})"
    stopping = f'EarlyStopping(monitor="val_loss", mode="min", patience={patience}), ' if patience else ""
    text = [
        _header(plan, "Lightning Trainer"),
        "try:",
        "    from lightning.pytorch import Trainer",
        "    from lightning.pytorch.callbacks import EarlyStopping, ModelCheckpoint",
        "except ImportError:  # the pytorch-lightning package",
        "    from pytorch_lightning import Trainer",
        "    from pytorch_lightning.callbacks import EarlyStopping, ModelCheckpoint",
        "",
        "trainer = " + _call("Trainer", {**to_lightning(plan)}, first=(f"callbacks=[{stopping}{saving}]",)),
        f"# DataLoader(train, batch_size={plan.setup.per_device_batch}, shuffle=True, drop_last={plan.setup.drop_last})",
        "# val_check_interval counts training batches (eval_steps x accumulate_grad_batches).",
        f"# Warm-up ({plan.warmup_steps} steps) and decay: in configure_optimizers, return {{'optimizer': opt, 'lr_scheduler':"
        " {'scheduler': epochplan.torch.build_scheduler(opt, plan), 'interval': 'step'}}.",
    ]
    if lightning_checks_drift(plan):
        text.append(
            "# Each epoch's batches are no multiple of accumulate_grad_batches: Lightning steps on the partial last window,"
            " so from epoch 2 the checks fall off the planned steps and fewer run (Lightning has no interval in steps)."
        )
    checks, planned = lightning_checks(plan), plan.total_steps // plan.eval_steps
    if checks < planned:
        fires = f"; early stopping (patience {patience}) cannot fire" if patience and checks <= patience else ""
        text.append(
            f"# Lightning runs {checks} of the {planned} planned validation checks here (an epoch of "
            f"{plan.setup.grad_accum}-batch windows ends on a partial one){fires}: lower --grad-accum or use another framework's loop."
        )
    return "\n".join(text) + "\n"


def render_composer(plan: Plan) -> str:
    s = plan.setup
    patience = plan.early_stopping_patience
    # Composer's EarlyStopper stops once `batch - best batch > patience` (strictly): with an
    # evaluation every E batches, P evaluations without improvement need P x E - 1 batches of
    # patience (P x E would wait for one more evaluation than HF and Lightning do).
    callbacks = (
        f'[EarlyStopper(monitor=METRIC, dataloader_label="eval", patience="{patience * plan.eval_steps - 1}ba")]' if patience else "[]"
    )
    # The metric to watch is the model's own: Composer fails at the first evaluation on a name
    # the model does not report (a language model's is LanguageCrossEntropy).
    metric = (
        [
            'METRIC = "CrossEntropy"  # an eval metric your model reports: CrossEntropy (ComposerClassifier), '
            "LanguageCrossEntropy (a language model) …"
        ]
        if patience
        else []
    )
    text = [
        _header(plan, "Composer Trainer"),
        "from composer import Trainer",
        "from composer.callbacks import EarlyStopper",
        "from composer.optim import LinearWithWarmupScheduler",
        "from composer.utils import dist",
        "",
        *metric,
        (
            f"# train_dataloader = DataLoader(train, batch_size={s.per_device_batch * s.grad_accum}, "
            f"sampler=dist.get_sampler(train, shuffle=True, drop_last={s.drop_last}), drop_last={s.drop_last})"
        ),
        "trainer = "
        + _call(
            "Trainer",
            # Composer saves only into a folder: without one, save_interval saved nothing.
            {**to_composer(plan), "save_folder": "checkpoints"},
            first=(
                "model=model",
                "train_dataloader=train_dataloader",
                "eval_dataloader=eval_dataloader",
                f'schedulers=[LinearWithWarmupScheduler(t_warmup="{plan.warmup_steps}ba")]',
                f"callbacks={callbacks}",
            ),
        ),
        *_launch(plan),
    ]
    return "\n".join(text) + "\n"


def render_torch(plan: Plan) -> str:
    body = json.dumps(to_torch(plan), indent=4, sort_keys=True)
    body = body.replace(": true", ": True").replace(": false", ": False").replace(": null", ": None")
    return "\n".join([_header(plan, "plain PyTorch loop settings"), f"plan = {body}"]) + "\n"


#: The text formats of a plan, by `--format` name. A new format plugs in here.
RENDERERS: dict[str, Callable[[Plan], str]] = {
    "json": lambda p: p.to_json(),
    "yaml": lambda p: to_yaml(p.to_dict()),
    "hf": render_hf,
    "lightning": render_lightning,
    "composer": render_composer,
    "torch": render_torch,
}
#: Every `epochplan plan --format`; "table" is the terminal table (plan_table.py).
FORMATS = ("table", *RENDERERS)


def render(plan: Plan, fmt: str) -> str:
    """The plan in one of FORMATS except "table" (which the CLI prints with rich)."""
    if fmt not in RENDERERS:
        raise InputError(f"--format {fmt!r}: unknown format; use one of {', '.join(FORMATS)}")
    return RENDERERS[fmt](plan)
