"""epochplan.torch under a real two-process torch.distributed group (gloo on 127.0.0.1):
EarlyStopping decides the same on every rank, build_scheduler warns about a plan made for another
world size, and a sampler built before init_process_group under torchrun's WORLD_SIZE warns.

The two processes run in a subprocess with a short process-group timeout and a test-level
deadline, so a regression fails instead of hanging.
"""

from __future__ import annotations

import json
import os
import pickle
import socket
import subprocess
import sys
import textwrap
import warnings

import pytest

import epochplan

torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install 'epochplan[torch]')")

from epochplan.torch import ClusterSampler, EarlyStopping  # noqa: E402

WORKER = textwrap.dedent(
    """
    import datetime, json, sys, warnings
    import torch, torch.distributed as dist, torch.multiprocessing as mp
    import epochplan
    from epochplan.torch import EarlyStopping, build_scheduler

    # Each rank evaluates its own shard: rank 0's loss stops improving at once, rank 1's keeps improving.
    LOSSES = {0: [1.0, 1.1, 1.2, 1.3, 1.4, 1.5], 1: [1.0, 0.5, 0.2, 0.1, 0.05, 0.02]}

    def worker(rank, port, out):
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2,
                                timeout=datetime.timedelta(seconds=20))
        torch.set_num_threads(1)
        stopper = EarlyStopping(patience=2)
        decisions = [stopper.step(loss) for loss in LOSSES[rank]]
        alone = EarlyStopping(patience=2, sync=False)
        unsynced = [alone.step(loss) for loss in LOSSES[rank]]
        scheduler_warnings = {}
        for gpus in (1, 2):
            plan = epochplan.plan(samples=100, batch=4, gpus=gpus, epochs=1, framework="torch")
            opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                build_scheduler(opt, plan)
                build_scheduler(opt, plan.to_torch())
            scheduler_warnings[gpus] = [str(w.message) for w in caught]
        dist.barrier()
        dist.destroy_process_group()
        json.dump(dict(decisions=decisions, unsynced=unsynced, state=stopper.state_dict(),
                       scheduler_warnings=scheduler_warnings), open(f"{out}.{rank}.json", "w"))

    if __name__ == "__main__":
        mp.spawn(worker, args=(int(sys.argv[1]), sys.argv[2]), nprocs=2, join=True)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def two_ranks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ddp")
    script = folder / "worker.py"
    script.write_text(WORKER)
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    try:
        done = subprocess.run(
            [sys.executable, str(script), str(_free_port()), str(folder / "out")],
            capture_output=True, text=True, timeout=120, env=env, cwd=folder,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("two-rank run did not finish within 120 s (a rank blocked in a collective)")
    assert done.returncode == 0, done.stderr[-3000:]
    return [json.loads((folder / f"out.{rank}.json").read_text()) for rank in (0, 1)]


def test_early_stopping_decides_the_same_on_every_rank(two_ranks):
    rank0, rank1 = two_ranks
    assert rank0["decisions"] == rank1["decisions"]
    assert rank0["state"] == rank1["state"]
    # The mean losses: 1.0, 0.8, 0.7, 0.7, 0.725, 0.76: no improvement at evaluations 4 and 5.
    assert rank0["decisions"] == [False, False, False, False, True, True]
    assert rank0["state"]["best"] == pytest.approx(0.7) and rank0["state"]["best_evaluation"] == 3
    # sync=False keeps each rank's own decision (for a metric reduced by the caller).
    assert rank0["unsynced"] == [False, False, True, True, True, True]
    assert rank1["unsynced"] == [False] * 6


def test_build_scheduler_warns_when_the_plan_is_for_another_world_size(two_ranks):
    for rank in two_ranks:
        one_gpu = rank["scheduler_warnings"]["1"]
        assert len(one_gpu) == 2  # the Plan and its to_torch() dict
        assert "made for 1 data-parallel rank (gpus=1) but torch.distributed runs 2" in one_gpu[0]
        assert "2x the planned epochs" in one_gpu[0]
        assert rank["scheduler_warnings"]["2"] == []


def test_sampler_built_before_the_process_group_under_torchrun_warns(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.warns(UserWarning, match=r"WORLD_SIZE=2 but torch.distributed is not initialised"):
        sampler = ClusterSampler([0, 1, 2, 3])
    assert sampler.num_replicas == 1
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ClusterSampler([0, 1, 2, 3], num_replicas=1, rank=0)  # explicit: the HF Trainer recipe
        ClusterSampler([0, 1, 2, 3], num_replicas=2, rank=1)
        monkeypatch.setenv("WORLD_SIZE", "1")
        ClusterSampler([0, 1, 2, 3])


def test_early_stopping_sync_outside_a_process_group_and_old_state():
    stopper = EarlyStopping.from_plan(epochplan.plan(samples=1000, batch=8, epochs=3), sync=True)
    assert [stopper.step(x) for x in (1.0, 1.0, 1.0, 1.0)][-1] is (stopper.patience <= 3)
    # A state dict saved before `sync` existed loads, and loading keeps this run's sync setting.
    old = {"patience": 2, "min_delta": 0.0, "mode": "min", "best": 0.5, "best_evaluation": 1}
    old |= {"evaluations": 3, "bad_evaluations": 1, "should_stop": False}
    restored = EarlyStopping(5, sync=False)
    restored.load_state_dict(old)
    assert restored.state_dict() == old and restored.sync is False
    assert restored.step(0.6) is True
    # A whole object pickled before `sync` existed (its __dict__ without it) steps after loading.
    pickled = EarlyStopping(2)
    del pickled.__dict__["sync"]
    loaded = pickle.loads(pickle.dumps(pickled))
    assert [loaded.step(x) for x in (1.0, 1.0, 1.0)] == [False, False, True]
