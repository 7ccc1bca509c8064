"""A real Lightning Trainer performs exactly plan.total_steps optimizer steps.

`Trainer(**plan.to_lightning())` runs the planned steps with validation every eval_steps; a
Trainer given only the planned (whole) epochs counts the same steps by its own rounding (it steps
on the last, partial accumulation window of an epoch); ClusterSampler works inside Lightning.

Needs torch and pytorch-lightning (in the `test` extra, so CI runs these tests; importorskip only
protects users without the extra).
"""

from __future__ import annotations

import pytest

import epochplan

torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install 'epochplan[torch]')")
try:  # the `lightning` package and the standalone `pytorch_lightning` are the same code
    import lightning.pytorch as pl_lightning
except ImportError:
    pl_lightning = pytest.importorskip("pytorch_lightning", reason="Lightning not installed (pip install -e '.[test]')")

import polars as pl  # noqa: E402
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from epochplan.torch import ClusterSampler, EarlyStopping, build_scheduler  # noqa: E402

torch.set_num_threads(1)  # tiny tensors: threads only add contention


class TinyModule(pl_lightning.LightningModule):
    def __init__(self, plan=None, lr: float = 0.05) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 2)
        self.plan, self.lr = plan, lr
        self.rows: list[list[int]] = []  # training rows seen, per epoch
        self.validations = 0
        self.validated_at: list[int] = []  # optimizer steps done at each validation
        self.lrs: list[float] = []

    def training_step(self, batch, batch_idx):
        x, y, rows = batch
        if batch_idx == 0:
            self.rows.append([])
        self.rows[-1].extend(rows.tolist())
        return F.cross_entropy(self.linear(x), y)

    def on_train_batch_end(self, outputs, batch, batch_idx):
        self.lrs.append(self.trainer.optimizers[0].param_groups[0]["lr"])

    def validation_step(self, batch, batch_idx):
        x, y, _ = batch
        self.log("val_loss", F.cross_entropy(self.linear(x), y))

    def on_validation_end(self):
        if not self.trainer.sanity_checking:
            self.validations += 1
            self.validated_at.append(self.trainer.global_step)

    def configure_optimizers(self):
        optimizer = torch.optim.SGD(self.parameters(), lr=self.lr)
        if self.plan is None:
            return optimizer
        scheduler = build_scheduler(optimizer, self.plan, kind="cosine")
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def _dataset(n: int, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 4, generator=generator)
    y = (x[:, 0] > 0).long()
    return [(x[i], y[i], i) for i in range(n)]


def _trainer(**kwargs):
    return pl_lightning.Trainer(
        accelerator="cpu",
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        **kwargs,
    )


GEOMETRIES = [  # (unique samples, per-device batch, grad accumulation, whole epochs, drop_last)
    (37, 4, 3, 2, False),  # 10 batches/epoch: Lightning steps on the final 1-batch window
    (60, 8, 2, 3, False),  # 8 batches/epoch, windows line up
    (23, 5, 2, 3, True),  # drop_last: 4 batches/epoch
]


@pytest.mark.parametrize("n,batch,accum,epochs,drop_last", GEOMETRIES)
def test_lightning_counts_the_planned_steps_from_epochs(n, batch, accum, epochs, drop_last):
    plan = epochplan.plan(samples=n, batch=batch, grad_accum=accum, epochs=epochs, drop_last=drop_last, framework="lightning")
    trainer = _trainer(max_epochs=epochs, accumulate_grad_batches=accum)
    trainer.fit(TinyModule(), DataLoader(_dataset(n), batch_size=plan.batch, shuffle=True, drop_last=drop_last))
    assert trainer.global_step == plan.total_steps
    assert trainer.estimated_stepping_batches == plan.total_steps


@pytest.mark.parametrize("n,batch,accum,epochs,drop_last", GEOMETRIES)
def test_lightning_trainer_from_to_lightning_runs_the_plan(n, batch, accum, epochs, drop_last):
    plan = epochplan.plan(samples=n, batch=batch, grad_accum=accum, epochs=epochs, drop_last=drop_last, framework="lightning")
    module = TinyModule(plan)
    trainer = _trainer(**plan.to_lightning())
    trainer.fit(
        module,
        DataLoader(_dataset(n), batch_size=plan.batch, shuffle=True, drop_last=drop_last),
        DataLoader(_dataset(8, seed=1), batch_size=8),
    )
    assert trainer.global_step == plan.total_steps
    assert module.lrs[-1] == 0.0 and module.lrs[-2] > 0.0  # the cosine schedule ends on the last step
    assert module.validations >= 1


def test_lightning_with_cluster_sampler_sees_each_cluster_once_per_epoch():
    base = [f"ticket {i}: the printer on floor {i} shows error code {i * 7} after every restart" for i in range(30)]
    texts = base + base[:12]  # 42 rows, 30 unique
    result = epochplan.audit(pl.DataFrame({"text": texts}), text="text")
    plan = epochplan.plan(result, epochplan.Setup(batch=4, grad_accum=2, epochs=3, framework="lightning"))
    sampler = ClusterSampler(result, seed=11)
    module = TinyModule(plan)
    trainer = _trainer(**plan.to_lightning())
    trainer.fit(
        module, DataLoader(_dataset(len(texts)), batch_size=plan.batch, sampler=sampler), DataLoader(_dataset(8, seed=1), batch_size=8)
    )
    assert trainer.global_step == plan.total_steps
    assert len(module.rows) == 3
    for rows in module.rows:
        assert sorted(rows) == sorted(sampler.representatives.tolist())
    assert module.rows[0] != module.rows[1]  # Lightning called set_epoch


def test_lightning_early_stopping_callback_counts_validation_checks_like_ours():
    plan = epochplan.plan(samples=200, batch=4, epochs=4, framework="lightning")
    patience = plan.early_stopping_patience
    assert plan.total_steps > (patience + 1) * plan.eval_steps
    module = TinyModule(lr=0.0)  # never improves
    trainer = _trainer(callbacks=plan.lightning_callbacks(), **plan.to_lightning())
    trainer.fit(module, DataLoader(_dataset(200), batch_size=plan.batch, shuffle=True), DataLoader(_dataset(16, seed=1), batch_size=16))
    assert module.validations == patience + 1
    assert trainer.global_step == (patience + 1) * plan.eval_steps
    stopper = EarlyStopping.from_plan(plan)
    assert [stopper.step(1.0) for _ in range(patience + 1)] == [False] * patience + [True]


@pytest.mark.parametrize(
    "n,batch,accum,epochs",
    [(48, 4, 3, 3), (60, 8, 2, 3), (10, 1, 3, 3), (50, 4, 3, 2.5), (20, 4, 16, 3), (20, 4, 8, 1), (100, 8, 4, 1)],
    ids=["12-batches-by-3", "8-batches-by-2", "10-batches-by-3", "13-batches-by-3", "5-by-16", "5-by-8-once", "13-by-4-once"],
)
def test_lightning_validates_at_the_planned_steps_unless_the_export_says_it_drifts(n, batch, accum, epochs):
    """val_check_interval counts batches: the checks land on every eval_steps-th optimizer step
    when an epoch's batches are a multiple of the accumulation; otherwise Lightning's step on each
    epoch's partial window shifts them, and `lightning_checks_drift` (and the export's comment)
    says so. Found by a probe: 10 batches by 3 planned 12 checks and ran 10."""
    from epochplan.planning.exports import lightning_checks, lightning_checks_drift
    from epochplan.render.plan_text import render

    plan = epochplan.plan(samples=n, batch=batch, grad_accum=accum, epochs=epochs, framework="lightning")
    module = TinyModule(plan)
    trainer = _trainer(**plan.to_lightning())
    trainer.fit(module, DataLoader(_dataset(n), batch_size=batch), DataLoader(_dataset(8, seed=1), batch_size=8))
    planned = list(range(plan.eval_steps, plan.total_steps + 1, plan.eval_steps))
    drifts = lightning_checks_drift(plan)
    ran = module.validated_at  # where they run: drifted, or the planned ones (maybe fewer, below)
    assert (ran != planned[: len(ran)]) == drifts or not ran, (ran, planned)
    assert ("checks fall off the planned steps" in render(plan, "lightning")) == drifts
    # How many checks run, said where they are fewer than planned: an epoch of fewer batches than
    # the accumulation ran none (5 batches by 16, 3 planned), and no comment said so.
    assert module.validations == lightning_checks(plan), (module.validations, lightning_checks(plan))
    said = f"Lightning runs {module.validations} of the {len(planned)} planned validation checks"
    assert (said in render(plan, "lightning")) == (module.validations < len(planned))


@pytest.mark.parametrize("n, batch, gpus", [(999, 2, 4), (5, 1, 2), (37, 5, 3), (40, 4, 4)])
@pytest.mark.parametrize("drop_last", [True, False])
def test_multi_device_batches_are_what_lightnings_own_sampler_gives(n, batch, gpus, drop_last):
    """Lightning puts its own DistributedSampler in (replicas and rank only: drop_last False, the
    shard padded); the DataLoader's drop_last drops only a rank's short last batch. The plan cut
    the shard too: 124 steps where Lightning runs 125 (999 samples, batch 2, 4 devices)."""
    try:
        from lightning.pytorch.trainer.connectors.data_connector import _get_distributed_sampler
        from lightning.pytorch.utilities.data import _update_dataloader
    except ImportError:
        from pytorch_lightning.trainer.connectors.data_connector import _get_distributed_sampler
        from pytorch_lightning.utilities.data import _update_dataloader

    loader = DataLoader(list(range(n)), batch_size=batch, drop_last=drop_last)
    per_rank = set()
    for rank in range(gpus):
        sampler = _get_distributed_sampler(loader, shuffle=False, overfit_batches=0, num_replicas=gpus, rank=rank)
        per_rank.add(len(_update_dataloader(loader, sampler)))
    planned = epochplan.plan(samples=n, batch=batch, gpus=gpus, drop_last=drop_last, framework="lightning", epochs=1)
    assert per_rank == {planned.steps_per_epoch}


@pytest.mark.parametrize("n, batch, gpus", [(100, 64, 1), (999, 2, 4), (37, 5, 3), (41, 4, 4)])
def test_drop_last_trains_the_samples_of_whole_batches(n, batch, gpus):
    """--drop-last counted every sample's tokens (100 samples, batch 64: 10,000 tokens an epoch
    where 6,400 train, and FLOPs to match). The samples trained are those in whole batches, as
    torch's and Lightning's own samplers deal them."""
    from torch.utils.data import DistributedSampler

    from epochplan.planning.rounding import samples_trained

    try:
        from lightning.pytorch.trainer.connectors.data_connector import _get_distributed_sampler
        from lightning.pytorch.utilities.data import _update_dataloader
    except ImportError:
        from pytorch_lightning.trainer.connectors.data_connector import _get_distributed_sampler
        from pytorch_lightning.utilities.data import _update_dataloader

    data = list(range(n))
    torch_seen = sum(
        len(b)
        for rank in range(gpus)
        for b in DataLoader(
            data, batch_size=batch, drop_last=True, sampler=DistributedSampler(data, gpus, rank, shuffle=False, drop_last=True)
        )
    )
    loader = DataLoader(data, batch_size=batch, drop_last=True)
    lightning_seen = sum(
        len(b)
        for rank in range(gpus)
        for b in _update_dataloader(
            loader, _get_distributed_sampler(loader, shuffle=False, overfit_batches=0, num_replicas=gpus, rank=rank)
        )
    )
    assert samples_trained("torch", n, batch, 1, gpus) == torch_seen
    assert samples_trained("lightning", n, batch, 1, gpus) == min(n, lightning_seen)
    p = epochplan.plan(samples=n, tokens=n * 100, batch=batch, gpus=gpus, drop_last=True, framework="torch", epochs=2)
    assert p.to_dict()["tokens_total"] == round(n * 100 * torch_seen / n * 2)
