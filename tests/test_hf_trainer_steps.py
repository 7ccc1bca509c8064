"""A real transformers.Trainer performs exactly plan.total_steps optimizer steps.

For several geometries (dataset size, batch, gradient accumulation, epochs, drop_last) a tiny
model is trained with `TrainingArguments(**plan.to_hf())`; the Trainer's own step count, the
optimizer steps it really took and the LR its scheduler ended on are compared with the plan.
The Trainer is also asked to derive the step count itself from the planned epochs.

Needs torch, transformers and accelerate (all in the `test` extra, so CI runs these tests;
importorskip only protects users without the extra).
"""

from __future__ import annotations

import pytest

import epochplan

torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install 'epochplan[torch]')")
transformers = pytest.importorskip("transformers", reason="transformers not installed (pip install -e '.[test]')")
pytest.importorskip("accelerate", reason="accelerate not installed (transformers.Trainer needs it)")

import polars as pl  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from transformers import Trainer, TrainerCallback, TrainingArguments  # noqa: E402

from epochplan.torch import ClusterSampler, EarlyStopping, build_scheduler  # noqa: E402

torch.set_num_threads(1)  # tiny tensors: threads only add contention
LR = 0.01


class TinyClassifier(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 2)

    def forward(self, x, labels=None):
        logits = self.linear(x)
        return {"loss": F.cross_entropy(logits, labels), "logits": logits}


def _items(n: int, seed: int = 0, rows: bool = False) -> list[dict]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    return [{"x": x[i], "labels": y[i], **({"row": i} if rows else {})} for i in range(n)]


class StepRecorder(TrainerCallback):
    """Counts the optimizer steps the Trainer really takes and the LR after each."""

    def __init__(self) -> None:
        self.optimizer_steps = 0
        self.lrs: list[float] = []

    def on_optimizer_step(self, args, state, control, **kwargs):
        self.optimizer_steps += 1

    def on_step_end(self, args, state, control, lr_scheduler=None, **kwargs):
        self.lrs.append(lr_scheduler.get_last_lr()[0])


def _args(tmp_path, **kwargs) -> TrainingArguments:
    return TrainingArguments(
        output_dir=str(tmp_path / "out"),
        report_to="none",
        use_cpu=True,
        disable_tqdm=True,
        log_level="error",
        learning_rate=LR,
        seed=0,
        **kwargs,
    )


def _lr_trace(plan) -> list[float]:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=LR)
    scheduler = build_scheduler(optimizer, plan, kind="linear")
    lrs = []
    for _ in range(plan.total_steps):
        optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return lrs


GEOMETRIES = [  # (unique samples, per-device batch, grad accumulation, epochs, drop_last)
    (37, 4, 3, 2, False),  # 10 batches/epoch: the last accumulation window holds 1 batch
    (50, 8, 2, 1.5, False),  # fractional epochs: exported as max_steps
    (23, 5, 2, 3, True),  # drop_last: 4 full batches/epoch
    (100, 16, 1, 2, False),  # no accumulation, a partial last batch
]


@pytest.mark.parametrize("n,batch,accum,epochs,drop_last", GEOMETRIES)
def test_trainer_runs_exactly_the_planned_optimizer_steps(tmp_path, n, batch, accum, epochs, drop_last):
    plan = epochplan.plan(samples=n, batch=batch, grad_accum=accum, epochs=epochs, drop_last=drop_last)
    recorder = StepRecorder()
    trainer = Trainer(
        model=TinyClassifier(),
        args=_args(tmp_path, **plan.to_hf()),
        train_dataset=_items(n),
        eval_dataset=_items(8, seed=1),
        callbacks=[recorder],
    )
    trainer.train()
    assert trainer.state.max_steps == plan.total_steps
    assert trainer.state.global_step == plan.total_steps
    assert recorder.optimizer_steps == plan.total_steps
    # HF's own linear schedule, fed the plan's warmup_steps, ends at the last planned step...
    assert recorder.lrs[-1] == 0.0 and recorder.lrs[-2] > 0.0
    # ...and build_scheduler(kind="linear") gives the very same learning rates.
    assert recorder.lrs == pytest.approx(_lr_trace(plan), abs=1e-12)
    # Evaluations every eval_steps: total // eval_steps of them (plus none extra).
    evals = [log for log in trainer.state.log_history if "eval_loss" in log]
    assert len(evals) == plan.total_steps // plan.eval_steps


@pytest.mark.parametrize("n,batch,accum,epochs,drop_last", GEOMETRIES)
def test_trainer_derives_the_same_step_count_from_the_planned_epochs(tmp_path, n, batch, accum, epochs, drop_last):
    """Not max_steps: the Trainer computes its own step budget from num_train_epochs."""
    plan = epochplan.plan(samples=n, batch=batch, grad_accum=accum, epochs=epochs, drop_last=drop_last)
    args = _args(
        tmp_path,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=accum,
        num_train_epochs=plan.epochs.planned,
        dataloader_drop_last=drop_last,
        save_strategy="no",
    )
    trainer = Trainer(model=TinyClassifier(), args=args, train_dataset=_items(n))
    trainer.train()
    assert trainer.state.max_steps == plan.total_steps
    assert trainer.state.global_step == plan.total_steps


class ClusterTrainer(Trainer):
    """A Trainer that draws its training rows with epochplan's ClusterSampler."""

    def __init__(self, *args, cluster_sampler: ClusterSampler, **kwargs) -> None:
        self.cluster_sampler = cluster_sampler
        super().__init__(*args, **kwargs)

    def _get_train_sampler(self, *args, **kwargs):
        return self.cluster_sampler


def test_trainer_with_cluster_sampler_sees_each_cluster_once_per_epoch(tmp_path):
    base = [f"question {i}: how do I configure the widget number {i} for production use?" for i in range(45)]
    texts = base + base[:15] + [t.upper() for t in base[15:25]]  # 70 rows, 45 unique
    result = epochplan.audit(pl.DataFrame({"text": texts}), text="text")
    plan = epochplan.plan(result, epochplan.Setup(batch=4, grad_accum=2, epochs=3))
    assert plan.unique_samples == 45
    sampler = ClusterSampler(result, seed=3)
    seen: list[int] = []

    def collate(features):
        seen.extend(f["row"] for f in features if f["row"] >= 0)
        return {"x": torch.stack([f["x"] for f in features]), "labels": torch.stack([f["labels"] for f in features])}

    evaluation = [{**item, "row": -1} for item in _items(8, seed=1)]
    args = _args(tmp_path, remove_unused_columns=False, **plan.to_hf())
    trainer = ClusterTrainer(
        model=TinyClassifier(),
        args=args,
        train_dataset=_items(len(texts), rows=True),
        eval_dataset=evaluation,
        data_collator=collate,
        cluster_sampler=sampler,
    )
    trainer.train()
    assert trainer.state.global_step == plan.total_steps
    representatives = sorted(sampler.representatives.tolist())
    epochs = [seen[i * 45 : (i + 1) * 45] for i in range(3)]
    assert len(seen) == 3 * 45
    for rows in epochs:
        assert sorted(rows) == representatives  # every cluster exactly once per epoch
    assert epochs[0] != epochs[1]  # the Trainer called set_epoch: a new order each epoch


def test_hf_early_stopping_callback_stops_after_patience_evaluations_like_ours(tmp_path):
    plan = epochplan.plan(samples=200, batch=4, epochs=4)
    patience = plan.early_stopping_patience
    assert plan.total_steps > (patience + 1) * plan.eval_steps  # room to stop early
    hf_args = {**plan.to_hf(), "learning_rate": 0.0}  # a model that never improves
    args = TrainingArguments(
        output_dir=str(tmp_path / "out"), report_to="none", use_cpu=True, disable_tqdm=True, log_level="error", **hf_args
    )
    trainer = Trainer(
        model=TinyClassifier(), args=args, train_dataset=_items(200), eval_dataset=_items(16, seed=1), callbacks=plan.hf_callbacks()
    )
    trainer.train()
    losses = [log["eval_loss"] for log in trainer.state.log_history if "eval_loss" in log]
    assert len(losses) == patience + 1
    assert trainer.state.global_step == (patience + 1) * plan.eval_steps
    stopper = EarlyStopping.from_plan(plan)
    assert [stopper.step(loss) for loss in losses] == [False] * patience + [True]
