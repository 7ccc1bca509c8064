"""epochplan.torch.ClusterSampler: per-epoch coverage of duplicate clusters, 1/k exposure, and
data-parallel shards identical to torch's DistributedSampler.

Needs PyTorch (`pip install 'epochplan[torch]'`; scripts/test.sh installs the CPU wheel, so in CI
these tests run). The import-error test below runs without PyTorch too.
"""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from collections import Counter

import numpy as np
import polars as pl
import pytest

import epochplan


def test_epochplan_imports_without_torch_and_epochplan_torch_says_how_to_install():
    # Block `import torch` in a fresh interpreter, whether or not torch is installed here.
    code = textwrap.dedent(
        """
        import sys
        sys.modules["torch"] = None  # makes `import torch` raise ModuleNotFoundError
        import epochplan, epochplan.planning, epochplan.planning.exports
        plan = epochplan.plan(samples=100, batch=10)
        assert plan.total_steps > 0
        try:
            import epochplan.torch
        except ImportError as exc:
            assert isinstance(exc, epochplan.InputError), type(exc).__mro__
            print("MESSAGE:", exc)
        else:
            raise SystemExit("epochplan.torch imported without torch")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "PyTorch is not installed: pip install 'epochplan[torch]'" in proc.stdout


def test_importing_epochplan_does_not_import_torch():
    code = "import sys, epochplan, epochplan.planning, epochplan.planning.exports; print('torch' in sys.modules)"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "False"


torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install 'epochplan[torch]')")
from torch.utils.data import DataLoader, DistributedSampler  # noqa: E402

from epochplan.torch import ClusterSampler  # noqa: E402


def _epoch(sampler: ClusterSampler, epoch: int) -> list[int]:
    sampler.set_epoch(epoch)
    return list(sampler)


# Cluster ids for 12 rows: clusters {0,3,7}, {1}, {2,5}, {4,8,9,10,11}, {6}; row 12 has no text.
IDS = [0, 1, 2, 0, 4, 2, 6, 0, 4, 4, 4, 4, None]
CLUSTERS = {0: [0, 3, 7], 1: [1], 2: [2, 5], 4: [4, 8, 9, 10, 11], 6: [6]}
ROW_TO_CLUSTER = {row: c for c, rows in CLUSTERS.items() for row in rows}


def test_representatives_yield_each_cluster_once_per_epoch_reshuffled_with_the_seed():
    sampler = ClusterSampler(IDS, mode="representatives", seed=7)
    assert len(sampler) == sampler.num_clusters == 5
    orders = []
    for epoch in range(6):
        rows = _epoch(sampler, epoch)
        assert sorted(rows) == [0, 1, 2, 4, 6]  # the lowest row of each cluster, each once
        orders.append(rows)
    assert len({tuple(o) for o in orders}) > 1  # set_epoch reshuffles
    again = ClusterSampler(IDS, seed=7)
    assert _epoch(again, 3) == orders[3]  # seed + epoch reproduce the order
    assert ClusterSampler(IDS, shuffle=False).representatives.tolist() == [0, 1, 2, 4, 6]
    assert list(ClusterSampler(IDS, shuffle=False)) == [0, 1, 2, 4, 6]
    assert 12 not in {r for e in range(6) for r in _epoch(sampler, e)}  # null id never sampled


def test_random_pick_covers_each_cluster_once_and_each_member_with_probability_one_over_k():
    sampler = ClusterSampler(IDS, pick="random", seed=1)
    seen = Counter()
    epochs = 3000
    for epoch in range(epochs):
        rows = _epoch(sampler, epoch)
        assert sorted(ROW_TO_CLUSTER[r] for r in rows) == sorted(CLUSTERS)  # one member per cluster
        seen.update(rows)
    for members in CLUSTERS.values():
        k = len(members)
        for row in members:
            # Binomial(epochs, 1/k): stay within 5 standard deviations.
            sd = math.sqrt(epochs * (1 / k) * (1 - 1 / k)) or 1e-9
            assert abs(seen[row] - epochs / k) <= 5 * sd, (row, seen[row], epochs / k)


def test_inverse_size_gives_every_cluster_equal_expected_exposure():
    # 40 clusters with sizes 1..40 (820 rows): plain uniform row sampling would show cluster 40
    # forty times as often as cluster 1.
    sizes = np.arange(1, 41)
    ids = np.repeat(np.arange(40), sizes)
    np.random.default_rng(0).shuffle(ids)
    sampler = ClusterSampler(ids, mode="inverse_size", seed=123)
    assert len(sampler) == 40  # one epoch = as many draws as there are unique samples
    epochs = 500
    draws = np.concatenate([np.asarray(_epoch(sampler, e)) for e in range(epochs)])
    per_cluster = np.bincount(ids[draws], minlength=40)
    expected = epochs  # 1 per cluster per epoch
    chi2 = float(((per_cluster - expected) ** 2 / expected).sum())
    # chi-square with 39 degrees of freedom: the 0.999 quantile is 72.05.
    assert chi2 < 72.05, (chi2, per_cluster)
    assert abs(per_cluster.mean() - expected) < 1e-9  # exactly 40 x 500 draws
    # The same statistic for uniform row sampling is enormous: the test can tell them apart.
    uniform = np.bincount(ids[np.random.default_rng(1).integers(0, ids.size, draws.size)], minlength=40)
    assert float(((uniform - expected) ** 2 / expected).sum()) > 1000
    # Within a cluster every row gets 1/k of its cluster's exposure.
    big = np.flatnonzero(ids == 39)
    per_row = np.bincount(draws, minlength=ids.size)[big]
    assert per_row.sum() == per_cluster[39] and per_row.min() > 0
    # Weights exposed for other samplers are 1/k.
    weights = sampler.weights()
    assert np.allclose(weights, 1.0 / sizes[ids])


def test_inverse_size_num_samples_and_representatives_reject_it():
    sampler = ClusterSampler(IDS, mode="inverse_size", num_samples=11, seed=0)
    assert len(sampler) == 11 and len(list(sampler)) == 11
    assert all(r != 12 for r in sampler)
    with pytest.raises(epochplan.InputError, match="num_samples"):
        ClusterSampler(IDS, mode="representatives", num_samples=3)
    # numpy's integers are whole numbers (np.int64(5) was refused: it is no `int`).
    numpy_sized = ClusterSampler(IDS, mode="inverse_size", num_samples=np.int64(5), seed=0)
    assert len(numpy_sized) == 5 and type(numpy_sized.num_samples) is int
    for bad in (0, 2.0, True, 2**63):
        with pytest.raises(epochplan.InputError, match="num_samples="):
            ClusterSampler(IDS, mode="inverse_size", num_samples=bad)


@pytest.mark.parametrize("n,replicas,drop_last", [(10, 3, False), (10, 3, True), (12, 4, False), (7, 2, True), (5, 8, False)])
def test_shards_match_distributed_sampler_when_every_row_is_unique(n, replicas, drop_last):
    for rank in range(replicas):
        ours = ClusterSampler(list(range(n)), shuffle=False, num_replicas=replicas, rank=rank, drop_last=drop_last)
        theirs = DistributedSampler(range(n), num_replicas=replicas, rank=rank, shuffle=False, drop_last=drop_last)
        assert len(ours) == len(theirs)
        assert list(ours) == list(theirs)


@pytest.mark.parametrize("replicas,drop_last", [(2, False), (3, False), (3, True), (4, True)])
def test_shuffled_shards_cover_each_cluster_once_across_ranks(replicas, drop_last):
    ids = np.repeat(np.arange(31), 3)  # 31 clusters of 3 rows
    shards = []
    for rank in range(replicas):
        sampler = ClusterSampler(ids, seed=5, num_replicas=replicas, rank=rank, drop_last=drop_last)
        shards.append(_epoch(sampler, 2))
    assert len({len(s) for s in shards}) == 1  # equal-length shards: ranks step in lockstep
    clusters = Counter(int(ids[r]) for shard in shards for r in shard)
    if drop_last:
        assert set(clusters.values()) == {1} and len(clusters) == 31 - 31 % replicas
    else:
        padding = len(shards[0]) * replicas - 31
        assert set(clusters) == set(range(31))  # every cluster on some rank
        assert sum(clusters.values()) == 31 + padding
        assert sum(1 for v in clusters.values() if v == 2) == padding  # only the padding repeats
    if replicas * len(shards[0]) == 31 or drop_last:
        assert not set(shards[0]) & set(shards[1])


def test_dataloader_length_matches_the_plan_per_rank():
    # plain-torch plan: DistributedSampler shard, then DataLoader(batch), then accumulation.
    ids = np.repeat(np.arange(103), 2)
    for gpus, batch, accum in [(1, 8, 1), (2, 8, 2), (3, 5, 3)]:
        plan = epochplan.plan(samples=103, batch=batch, grad_accum=accum, gpus=gpus, framework="torch", epochs=1)
        for rank in range(gpus):
            sampler = ClusterSampler(ids, num_replicas=gpus, rank=rank)
            loader = DataLoader(list(range(ids.size)), batch_size=plan.batch, sampler=sampler)
            assert math.ceil(len(loader) / accum) == plan.steps_per_epoch


def test_audit_result_uses_near_clusters_when_present_and_matches_the_plan():
    texts = [f"record {i} of the catalogue, with a few words about item number {i}" for i in range(40)]
    rows = texts + [t.upper() for t in texts[:10]] + [None] * 3 + texts[:5]
    result = epochplan.audit(pl.DataFrame({"text": rows}), text="text")
    sampler = ClusterSampler(result)
    assert sampler.level == ("near" if "near_id" in result.clusters.columns else "exact")
    plan = epochplan.plan(result, epochplan.Setup(batch=4, epochs=2))
    assert sampler.num_clusters == plan.samples_per_epoch == plan.unique_samples == 40
    keep = result.clusters.filter(pl.col("keep")).get_column("row").to_list()
    assert sampler.representatives.tolist() == keep
    for epoch in range(3):
        assert sorted(_epoch(sampler, epoch)) == keep
    loader = DataLoader(rows, batch_size=plan.batch, sampler=sampler)
    assert len(loader) == math.ceil(40 / plan.batch)


def test_dataframe_input_prefers_near_id_and_falls_back_to_exact_id():
    frame = pl.DataFrame(
        {"row": [0, 1, 2, 3, 4], "exact_id": [0, 1, 0, None, 4], "near_id": [0, 0, 0, None, 4], "keep": [True, False, False, False, True]},
        schema_overrides={"row": pl.UInt64, "exact_id": pl.UInt64, "near_id": pl.UInt64},
    )
    near = ClusterSampler(frame, shuffle=False)
    assert near.level == "near" and list(near) == [0, 4]
    exact = ClusterSampler(frame.drop("near_id"), shuffle=False)
    assert exact.level == "exact" and list(exact) == [0, 1, 4]
    shuffled_rows = ClusterSampler(frame.reverse(), shuffle=False)  # rows out of order: sorted back
    assert list(shuffled_rows) == [0, 4]


def test_other_id_inputs():
    assert list(ClusterSampler(pl.Series([5, 5, None, 2]), shuffle=False)) == [0, 3]
    assert list(ClusterSampler(np.array([1.0, np.nan, 1.0, 3.0]), shuffle=False)) == [0, 3]
    assert list(ClusterSampler(torch.tensor([9, 9, 8]), shuffle=False)) == [0, 2]
    assert list(ClusterSampler(("b", "a", "b"), shuffle=False)) == [0, 1]
    sampler = ClusterSampler(IDS)
    assert sampler.cluster_sizes.tolist() == [3, 1, 2, 5, 1]
    assert sampler.row_cluster.tolist() == [0, 1, 2, 0, 3, 2, 4, 0, 3, 3, 3, 3, -1]


def test_pandas_and_mixed_type_ids_keep_their_clusters():
    """pandas (a `.clusters.to_pandas()` frame or one of its columns, NaN for null text), object
    arrays with NaN, and ids of mixed types (`1` and `"1"` are two clusters) were read wrong:
    the null-text row sampled, the frame's column names taken for ids, or two ids merged."""
    import pandas as pd

    clusters = epochplan.audit(pl.DataFrame({"text": ["a b c", None, "a b c", None, "d e f"]})).clusters
    assert list(ClusterSampler(clusters.to_pandas(), shuffle=False)) == [0, 4]
    assert list(ClusterSampler(clusters.to_pandas()["near_id"], shuffle=False)) == [0, 4]
    assert list(ClusterSampler(pd.Series([3.0, float("nan"), 3.0, 1.0]), shuffle=False)) == [0, 3]
    assert list(ClusterSampler(np.array([1.0, np.nan, 1.0, 2.0], dtype=object), shuffle=False)) == [0, 3]
    assert ClusterSampler([1, "1", 2]).num_clusters == 3
    assert list(ClusterSampler([(1, 2), (1, 2), (3,)], shuffle=False)) == [0, 2]
    with pytest.raises(epochplan.InputError, match="unhashable"):
        ClusterSampler([[1], [2]])


def test_errors_are_input_errors():
    with pytest.raises(epochplan.InputError, match="mode"):
        ClusterSampler(IDS, mode="uniform")
    with pytest.raises(epochplan.InputError, match="null"):
        ClusterSampler([None, None])
    with pytest.raises(epochplan.InputError, match="keep_clusters=True"):
        ClusterSampler(epochplan.audit(pl.DataFrame({"text": ["a", "b"]}), keep_clusters=False))
    with pytest.raises(epochplan.InputError, match="near_id or exact_id"):
        ClusterSampler(pl.DataFrame({"row": [0], "cluster": [0]}))
    with pytest.raises(epochplan.InputError, match="rank"):
        ClusterSampler(IDS, num_replicas=2, rank=2)
    with pytest.raises(epochplan.InputError, match="string"):
        ClusterSampler("abc")
    for seed in ("x", 2**64, 1.5):
        with pytest.raises(epochplan.InputError, match="seed="):
            ClusterSampler(IDS, seed=seed)
    # torch's DistributedSampler raises here too: rank 0 in every process would give them all one shard.
    with pytest.raises(epochplan.InputError, match="without rank and no torch.distributed process group"):
        ClusterSampler(IDS, num_replicas=4)
    assert ClusterSampler(IDS, num_replicas=np.int64(2), rank=np.int64(1), seed=np.int64(3)).rank == 1
    # Past 64 bits: was an OverflowError from the core's shard_size.
    with pytest.raises(epochplan.InputError, match="num_replicas=1180591620717411303424: must be a whole number from 1 to"):
        ClusterSampler(IDS, num_replicas=2**70, rank=0)


def test_early_stopping_refuses_a_dict_without_patience():
    """`to_hf()` has no patience: it gave patience None, an early stop that never stops."""
    from epochplan.torch import EarlyStopping

    plan = epochplan.plan(samples=2000, batch=16)
    assert EarlyStopping.from_plan(plan).patience == EarlyStopping.from_plan(plan.to_dict()).patience == plan.early_stopping_patience
    with pytest.raises(epochplan.InputError, match="no early_stopping_patience"):
        EarlyStopping.from_plan(plan.to_hf())
    with pytest.raises(epochplan.InputError, match="min_delta='0.1'"):
        EarlyStopping(3, min_delta="0.1")
