"""epochplan.torch.build_scheduler and EarlyStopping: the LR schedule ends exactly at the plan's
last optimizer step; a plain loop with gradient accumulation does exactly plan.total_steps steps.

Needs PyTorch; the comparison with transformers' schedules also needs transformers (both are in
the `test` extra, so CI runs them; importorskip only protects users without them).
"""

from __future__ import annotations

import math

import pytest

import epochplan

torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install 'epochplan[torch]')")
from torch.utils.data import DataLoader  # noqa: E402

from epochplan.torch import ClusterSampler, EarlyStopping, build_scheduler  # noqa: E402

torch.set_num_threads(1)  # tiny tensors: threads only add contention

BASE_LR = 0.1
GEOMETRIES = [  # (unique samples, per-device batch, grad accumulation, epochs)
    (1000, 8, 4, 3),
    (37, 4, 3, 2),
    (250, 16, 1, 1.5),
    (4, 4, 1, 1),  # a one-step run: no warm-up
]


def _plan(n, batch, accum, epochs, **kw):
    return epochplan.plan(samples=n, batch=batch, grad_accum=accum, epochs=epochs, framework="torch", **kw)


def _optimizer(lr=BASE_LR, **kw):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr, **kw)


def _trace(scheduler, steps):
    """LR after 0, 1, ..., steps scheduler steps."""
    lrs = [scheduler.get_last_lr()[0]]
    for _ in range(steps):
        scheduler.optimizer.step()
        scheduler.step()
        lrs.append(scheduler.get_last_lr()[0])
    return lrs


@pytest.mark.parametrize("kind", ["linear", "cosine"])
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_warmup_decay_ends_exactly_at_total_steps(kind, geometry):
    plan = _plan(*geometry)
    total, warmup = plan.total_steps, plan.warmup_steps
    lrs = _trace(build_scheduler(_optimizer(), plan, kind=kind), total + 3)
    assert lrs[total] == 0.0  # final value reached after the last planned optimizer step...
    assert all(lr > 0 for lr in lrs[warmup:total])  # ...and not a step earlier
    assert lrs[total:] == [0.0] * 4  # held there if stepped further
    assert lrs[warmup] == pytest.approx(BASE_LR)  # peak right after warm-up
    if warmup:
        assert lrs[0] == 0.0 and all(a < b for a, b in zip(lrs[:warmup], lrs[1 : warmup + 1]))
    assert all(a >= b for a, b in zip(lrs[warmup:], lrs[warmup + 1 :]))  # then only decays


@pytest.mark.parametrize("geometry", GEOMETRIES[:3])
def test_min_lr_ratio_is_the_floor_reached_at_total_steps(geometry):
    plan = _plan(*geometry)
    lrs = _trace(build_scheduler(_optimizer(), plan, kind="cosine", min_lr_ratio=0.1), plan.total_steps + 1)
    assert lrs[plan.total_steps] == pytest.approx(0.1 * BASE_LR, abs=1e-15)
    assert lrs[plan.total_steps - 1] > 0.1 * BASE_LR
    assert lrs[-1] == lrs[plan.total_steps]


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_same_numbers_as_transformers_schedules(kind):
    transformers = pytest.importorskip("transformers")
    hf_factory = {
        "linear": transformers.get_linear_schedule_with_warmup,
        "cosine": transformers.get_cosine_schedule_with_warmup,
    }[kind]
    for geometry in GEOMETRIES:
        plan = _plan(*geometry)
        ours = _trace(build_scheduler(_optimizer(), plan, kind=kind), plan.total_steps)
        theirs = _trace(hf_factory(_optimizer(), plan.warmup_steps, plan.total_steps), plan.total_steps)
        assert ours == pytest.approx(theirs, abs=1e-12)


@pytest.mark.parametrize("geometry", GEOMETRIES[:3])
def test_onecycle_peaks_after_warmup_and_ends_at_total_steps(geometry):
    plan = _plan(*geometry)
    total, peak = plan.total_steps, max(plan.warmup_steps, 1)
    optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=BASE_LR)
    scheduler = build_scheduler(optimizer, plan, kind="onecycle", div_factor=25.0, final_div_factor=1e4)
    assert isinstance(scheduler, torch.optim.lr_scheduler.OneCycleLR)
    lrs = _trace(scheduler, total)  # stepping exactly total_steps times must not raise
    assert lrs[0] == pytest.approx(BASE_LR / 25)
    assert max(lrs) == pytest.approx(BASE_LR) and lrs.index(max(lrs)) == peak
    final = BASE_LR / 25 / 1e4
    assert lrs[total] == pytest.approx(final, rel=1e-9)
    assert lrs[total - 1] > final * 1.001


def test_onecycle_without_momentum_and_plan_dicts():
    plan = _plan(1000, 8, 4, 3)
    scheduler = build_scheduler(_optimizer(), plan.to_torch(), kind="onecycle")  # SGD without momentum
    assert _trace(scheduler, plan.total_steps)[-1] < BASE_LR / 1e4
    lambda_lr = build_scheduler(_optimizer(), plan.to_dict(), kind="linear")
    assert _trace(lambda_lr, plan.total_steps)[-1] == 0.0
    # SGD and RMSprop list `momentum` (0) among their defaults: still no momentum to cycle.
    for optimizer in (_optimizer(), torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(2))], lr=BASE_LR)):
        build_scheduler(optimizer, plan, kind="onecycle")
        assert optimizer.param_groups[0]["momentum"] == 0
    with_momentum = _optimizer(momentum=0.9)
    build_scheduler(with_momentum, plan, kind="onecycle")
    assert with_momentum.param_groups[0]["momentum"] == pytest.approx(0.95)  # cycled: max_momentum at step 0


def test_scheduler_state_survives_a_checkpoint():
    plan = _plan(1000, 8, 4, 3)
    first = build_scheduler(_optimizer(), plan, kind="cosine")
    _trace(first, 17)
    resumed = build_scheduler(_optimizer(), plan, kind="cosine")
    resumed.load_state_dict(first.state_dict())
    assert _trace(resumed, 5) == pytest.approx(_trace(first, 5))


def test_scheduler_errors():
    plan = _plan(1000, 8, 4, 3)
    with pytest.raises(epochplan.InputError, match="kind"):
        build_scheduler(_optimizer(), plan, kind="step")
    with pytest.raises(epochplan.InputError, match="onecycle"):
        build_scheduler(_optimizer(), plan, kind="linear", div_factor=10)
    with pytest.raises(epochplan.InputError, match="from the plan"):
        build_scheduler(_optimizer(), plan, kind="onecycle", total_steps=5)
    with pytest.raises(epochplan.InputError, match="more than 1 planned steps"):
        build_scheduler(_optimizer(), _plan(4, 4, 1, 1), kind="onecycle")
    with pytest.raises(epochplan.InputError, match="total_steps"):
        build_scheduler(_optimizer(), {"warmup_steps": 1}, kind="linear")


@pytest.mark.parametrize(
    "n,batch,accum,epochs,drop_last",
    [
        (103, 8, 3, 2, False),  # 13 batches/epoch: windows 3+3+3+3+1 -> 5 steps/epoch
        (64, 8, 4, 1.5, False),  # a fractional epoch: the run ends mid-epoch
        (50, 7, 2, 3, True),  # drop_last: 7 batches -> 4 steps/epoch
    ],
)
def test_plain_loop_with_accumulation_does_exactly_the_planned_steps(n, batch, accum, epochs, drop_last):
    """The loop the example uses: step after every `accum` batches and after the epoch's last batch."""
    ids = [i // 2 for i in range(2 * n)]  # every text twice: n clusters of 2 rows
    plan = _plan(n, batch, accum, epochs, drop_last=drop_last)
    torch.manual_seed(0)
    data = torch.randn(2 * n, 3)
    model = torch.nn.Linear(3, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    scheduler = build_scheduler(optimizer, plan, kind="linear")
    sampler = ClusterSampler(ids, seed=0)
    loader = DataLoader(data, batch_size=plan.batch, sampler=sampler, drop_last=drop_last)
    steps = epoch = samples = 0
    while steps < plan.total_steps:
        sampler.set_epoch(epoch)
        batches = len(loader)
        for i, x in enumerate(loader):
            model(x).pow(2).mean().backward()
            samples += len(x)
            if (i + 1) % accum and i + 1 < batches:
                continue
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad()
            steps += 1
            if steps == plan.total_steps:
                break
        epoch += 1
    assert steps == plan.total_steps
    assert scheduler.get_last_lr()[0] == 0.0
    assert epoch == math.ceil(epochs)
    if float(epochs).is_integer() and not drop_last:
        assert samples == n * epochs  # each cluster seen exactly `epochs` times


# --- Early stopping ---------------------------------------------------------------------------
def test_early_stopping_counts_evaluations_without_improvement():
    stopper = EarlyStopping(patience=3)
    decisions = [stopper.step(m) for m in [1.0, 0.9, 0.95, 0.91, 0.89, 0.9, 0.9, 0.9]]
    assert decisions == [False] * 7 + [True]
    assert stopper.best == 0.89 and stopper.best_evaluation == 5 and stopper.evaluations == 8


def test_early_stopping_min_delta_and_max_mode():
    stopper = EarlyStopping(patience=2, min_delta=0.05)
    assert [stopper.step(m) for m in [1.0, 0.97, 0.96]] == [False, False, True]  # 0.03 is not enough
    accuracy = EarlyStopping(patience=1, mode="max")
    assert [accuracy.step(m) for m in [0.5, 0.6, 0.6]] == [False, False, True]
    nan = EarlyStopping(patience=2)
    assert [nan.step(m) for m in [1.0, float("nan"), float("inf")]] == [False, False, True]


def test_early_stopping_from_plan_and_state():
    plan = epochplan.plan(samples=2000, batch=16, epochs=5)
    stopper = EarlyStopping.from_plan(plan)
    assert stopper.patience == plan.early_stopping_patience >= 3
    assert EarlyStopping.from_plan(plan.to_torch()).patience == plan.early_stopping_patience
    for _ in range(plan.early_stopping_patience):
        stopper.step(1.0)
    restored = EarlyStopping(1)
    restored.load_state_dict(stopper.state_dict())
    assert restored.step(1.0) is True
    pretrain = epochplan.plan(tokens=1e6, seq_len=128, regime="pretrain", batch=8)
    never = EarlyStopping.from_plan(pretrain)
    assert never.patience is None and not any(never.step(1.0) for _ in range(100))
    with pytest.raises(epochplan.InputError):
        EarlyStopping(0)
    with pytest.raises(epochplan.InputError):
        EarlyStopping(3, mode="up")
