"""epochplan.torch.ClusterSampler resumed inside an epoch: state_dict() / load_state_dict() through
a real DataLoader, torch.save to a file, and torchdata's StatefulDataLoader.

The reference is always one uninterrupted run of a sampler built the same way: the batches before
the checkpoint plus the batches after loading it must be that epoch, and the next epoch must be
that run's next epoch. torchdata is in the package's `test` extra (scripts/test.sh installs it);
under CI (`CI=true`) its absence fails those tests instead of skipping them.
"""

from __future__ import annotations

import json
import os
import random

import pytest

import epochplan

torch = pytest.importorskip("torch", reason="PyTorch not installed (pip install 'epochplan[torch]')")
from torch.utils.data import DataLoader, Dataset  # noqa: E402

from epochplan.torch import ClusterSampler  # noqa: E402

# 61 rows in 23 clusters of uneven sizes, in a scrambled row order; row 5 has no cluster (null text).
_rng = random.Random(7)
IDS: list[int | None] = [_rng.randrange(23) for _ in range(61)]
IDS[5] = None
for _c in range(23):  # every cluster number present at least once
    IDS[6 + _c] = _c
BATCH = 5  # 12 indices a rank with 2 ranks: two batches, then a short one
EPOCH = 3  # the epoch interrupted (not 0: set_epoch must be honoured across the resume)

CONFIGS = {
    "representatives": dict(mode="representatives", seed=11),
    "representatives-random-pick": dict(mode="representatives", pick="random", seed=11),
    "inverse-size": dict(mode="inverse_size", num_samples=37, seed=11),
    "no-shuffle": dict(mode="representatives", shuffle=False),
    "2-ranks-rank-0": dict(mode="representatives", seed=11, num_replicas=2, rank=0),
    "2-ranks-rank-1": dict(mode="representatives", seed=11, num_replicas=2, rank=1),
    "2-ranks-inverse-size-drop-last-rank-1": dict(mode="inverse_size", seed=2, num_replicas=2, rank=1, drop_last=True),
}


class Rows(Dataset):
    """Item i is i, so a batch shows the row numbers the sampler gave."""

    def __len__(self) -> int:
        return len(IDS)

    def __getitem__(self, i: int) -> int:
        return i


def _loader(sampler: ClusterSampler, loader_class=DataLoader, **kwargs) -> DataLoader:
    return loader_class(Rows(), batch_size=BATCH, sampler=sampler, num_workers=0, **kwargs)


def _rows(batches) -> list[int]:
    return [int(i) for batch in batches for i in batch]


def _uninterrupted(config: dict, epochs: tuple[int, ...]) -> list[list[int]]:
    sampler = ClusterSampler(IDS, **config)
    loader = _loader(sampler)
    out = []
    for epoch in epochs:
        sampler.set_epoch(epoch)
        out.append(_rows(loader))
    return out


@pytest.mark.parametrize("name", CONFIGS)
def test_a_resumed_epoch_continues_where_the_checkpoint_stopped_and_the_next_epoch_is_unchanged(name, tmp_path):
    config = CONFIGS[name]
    whole, following = _uninterrupted(config, (EPOCH, EPOCH + 1))
    k = 2  # batches trained before the checkpoint
    assert len(whole) > k * BATCH  # something is left after the checkpoint

    sampler = ClusterSampler(IDS, **config)
    sampler.set_epoch(EPOCH)
    batches = iter(_loader(sampler))
    before = _rows(next(batches) for _ in range(k))
    torch.save(sampler.state_dict(), tmp_path / "sampler.pt")
    del sampler, batches  # the process ends here

    resumed = ClusterSampler(IDS, **config)
    state = torch.load(tmp_path / "sampler.pt")
    assert state["epoch"] == EPOCH and state["yielded"] == k * BATCH
    resumed.load_state_dict(state)
    loader = _loader(resumed)
    after = _rows(loader)  # no set_epoch: the state carries the epoch
    assert before + after == whole
    assert len(resumed) == len(whole)  # len() stays the whole epoch's count
    resumed.set_epoch(EPOCH + 1)
    assert _rows(loader) == following


def test_loading_then_calling_set_epoch_with_the_saved_epoch_resumes_as_the_readme_loop_does(tmp_path):
    config = CONFIGS["representatives-random-pick"]
    whole, following = _uninterrupted(config, (EPOCH, EPOCH + 1))
    sampler = ClusterSampler(IDS, **config)
    sampler.set_epoch(EPOCH)
    it = iter(sampler)
    before = [next(it) for _ in range(5)]  # not a multiple of the batch: counted per index
    (tmp_path / "state.json").write_text(json.dumps(sampler.state_dict()))  # plain JSON works too

    resumed = ClusterSampler(IDS, **config)
    resumed.load_state_dict(json.loads((tmp_path / "state.json").read_text()))
    epochs = []
    for epoch in range(resumed.state_dict()["epoch"], EPOCH + 2):
        resumed.set_epoch(epoch)
        epochs.append(_rows(_loader(resumed)))
    assert before + epochs[0] == whole
    assert epochs[1] == following


def test_the_count_follows_what_the_iterator_hands_out_not_iter_itself():
    sampler = ClusterSampler(IDS, seed=1)
    sampler.set_epoch(2)
    it = iter(sampler)
    assert sampler.state_dict()["yielded"] == 0
    for _ in range(6):
        next(it)
    assert sampler.state_dict()["yielded"] == 6
    assert len(list(it)) == len(sampler) - 6
    assert sampler.state_dict()["yielded"] == len(sampler)
    sampler.set_epoch(3)  # a new epoch starts from its first index
    assert sampler.state_dict()["epoch"] == 3
    assert sampler.state_dict()["yielded"] == 0


def test_a_state_saved_after_the_epochs_last_index_starts_the_next_epoch_in_full():
    config = CONFIGS["representatives"]
    whole, following = _uninterrupted(config, (EPOCH, EPOCH + 1))
    sampler = ClusterSampler(IDS, **config)
    sampler.set_epoch(EPOCH)
    assert _rows(_loader(sampler)) == whole
    state = sampler.state_dict()
    assert state["yielded"] == len(whole)

    # Resumed at the saved epoch: nothing left of it, then the next epoch.
    resumed = ClusterSampler(IDS, **config)
    resumed.load_state_dict(state)
    resumed.set_epoch(EPOCH)
    assert list(resumed) == []
    resumed.set_epoch(EPOCH + 1)
    assert _rows(_loader(resumed)) == following
    # Resumed at the next epoch, set before or after loading: the whole next epoch.
    for set_first in (True, False):
        resumed = ClusterSampler(IDS, **config)
        if set_first:
            resumed.set_epoch(EPOCH + 1)
        resumed.load_state_dict(state)
        resumed.set_epoch(EPOCH + 1)
        assert _rows(_loader(resumed)) == following


def test_moving_to_another_epoch_after_loading_a_mid_epoch_state_warns_and_starts_it_in_full():
    config = CONFIGS["representatives"]
    (following,) = _uninterrupted(config, (EPOCH + 1,))
    sampler = ClusterSampler(IDS, **config)
    sampler.set_epoch(EPOCH)
    it = iter(sampler)
    next(it)
    resumed = ClusterSampler(IDS, **config)
    resumed.load_state_dict(sampler.state_dict())
    with pytest.warns(UserWarning, match=rf"set_epoch\({EPOCH + 1}\): the loaded state resumed epoch {EPOCH} after 1 of"):
        resumed.set_epoch(EPOCH + 1)
    assert list(resumed) == following


def test_consumed_counts_what_was_trained_when_dataloader_workers_fetch_ahead(tmp_path):
    config = CONFIGS["2-ranks-rank-1"]
    whole, following = _uninterrupted(config, (EPOCH, EPOCH + 1))
    sampler = ClusterSampler(IDS, **config)
    sampler.set_epoch(EPOCH)
    loader = DataLoader(Rows(), batch_size=2, sampler=sampler, num_workers=2, prefetch_factor=2)
    batches = iter(loader)
    before = _rows(next(batches) for _ in range(3))
    assert sampler.state_dict()["yielded"] > 6  # the workers were given batches ahead
    torch.save(sampler.state_dict(consumed=3 * 2), tmp_path / "sampler.pt")
    del batches

    resumed = ClusterSampler(IDS, **config)
    resumed.load_state_dict(torch.load(tmp_path / "sampler.pt"))
    assert before + _rows(_loader(resumed)) == whole
    resumed.set_epoch(EPOCH + 1)
    assert _rows(_loader(resumed)) == following
    with pytest.raises(epochplan.InputError, match=r"consumed=99: must be a whole number from 0 to 12"):
        resumed.state_dict(consumed=99)


def test_a_state_from_a_sampler_built_differently_is_refused_with_what_differs():
    saved = ClusterSampler(IDS, seed=11, num_replicas=2, rank=1)
    saved.set_epoch(EPOCH)
    it = iter(saved)
    next(it)
    state = saved.state_dict()
    assert json.loads(json.dumps(state)) == state
    with pytest.raises(
        epochplan.InputError, match=r"built differently \(rank saved 1, here 0\); build the sampler with the saved settings"
    ):
        ClusterSampler(IDS, seed=11, num_replicas=2, rank=0).load_state_dict(state)
    with pytest.raises(epochplan.InputError, match=r"seed saved 11, here 12; num_replicas saved 2, here 1; rank saved 1, here 0"):
        ClusterSampler(IDS, seed=12).load_state_dict(state)
    with pytest.raises(epochplan.InputError, match=r"mode saved 'representatives', here 'inverse_size'"):
        ClusterSampler(IDS, "inverse_size", seed=11, num_replicas=2, rank=1).load_state_dict(state)
    # The same number of rows and clusters, other cluster ids: another audit.
    relabelled = [None if c is None else (c + 1) % 23 for c in IDS]
    relabelled[0], relabelled[1] = IDS[1], IDS[0]
    with pytest.raises(epochplan.InputError, match=r"clusters_digest saved '[0-9a-f]+', here '[0-9a-f]+'\); the cluster ids differ"):
        ClusterSampler(relabelled, seed=11, num_replicas=2, rank=1).load_state_dict(state)
    with pytest.raises(epochplan.InputError, match=r"not a ClusterSampler state \(no format, epoch, mode, "):
        saved.load_state_dict({"yielded": 3})
    with pytest.raises(epochplan.InputError, match=r"yielded=99 is outside 0\.\.12"):
        saved.load_state_dict(state | {"yielded": 99})
    with pytest.raises(epochplan.InputError, match=r"got a list, not a dict"):
        saved.load_state_dict([1, 2])


def _torchdata():
    try:
        from torchdata.stateful_dataloader import StatefulDataLoader
    except ImportError:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("torchdata is not installed; the test extra brings it: pip install -e '.[test]'")
        pytest.skip("torchdata not installed (pip install torchdata)")
    return StatefulDataLoader


@pytest.mark.parametrize("name", ["representatives", "2-ranks-rank-0", "2-ranks-inverse-size-drop-last-rank-1"])
@pytest.mark.parametrize("workers", [0, 2])
def test_stateful_dataloader_resumes_inside_an_epoch(name, workers, tmp_path):
    StatefulDataLoader = _torchdata()
    config = CONFIGS[name]
    whole, following = _uninterrupted(config, (EPOCH, EPOCH + 1))
    make = lambda sampler: StatefulDataLoader(Rows(), batch_size=BATCH, sampler=sampler, num_workers=workers)  # noqa: E731

    sampler = ClusterSampler(IDS, **config)
    sampler.set_epoch(EPOCH)
    loader = make(sampler)
    batches = iter(loader)
    before = _rows(next(batches) for _ in range(2))
    torch.save(loader.state_dict(), tmp_path / "loader.pt")
    del batches, loader

    resumed = ClusterSampler(IDS, **config)
    loader = make(resumed)
    loader.load_state_dict(torch.load(tmp_path / "loader.pt", weights_only=False))
    epochs = []
    for epoch in (EPOCH, EPOCH + 1):  # the training loop resumed at the saved epoch
        resumed.set_epoch(epoch)
        epochs.append(_rows(loader))
    assert before + epochs[0] == whole
    assert epochs[1] == following


def test_stateful_dataloader_saved_at_the_end_of_an_epoch_resumes_with_the_next_one(tmp_path):
    StatefulDataLoader = _torchdata()
    config = CONFIGS["representatives-random-pick"]
    whole, following = _uninterrupted(config, (EPOCH, EPOCH + 1))
    sampler = ClusterSampler(IDS, **config)
    loader = StatefulDataLoader(Rows(), batch_size=BATCH, sampler=sampler)
    sampler.set_epoch(EPOCH)
    assert _rows(loader) == whole
    torch.save(loader.state_dict(), tmp_path / "loader.pt")

    resumed = ClusterSampler(IDS, **config)
    loader = StatefulDataLoader(Rows(), batch_size=BATCH, sampler=resumed)
    loader.load_state_dict(torch.load(tmp_path / "loader.pt", weights_only=False))
    resumed.set_epoch(EPOCH + 1)  # the loop goes on with the next epoch; the loader loads the state now
    assert _rows(loader) == following


def test_stateful_dataloader_state_carries_the_samplers_epoch(tmp_path):
    # A loop that sets the next epoch at the end of each one resumes without a set_epoch call
    # before the first resumed batch: the epoch must come from the saved state.
    StatefulDataLoader = _torchdata()
    config = CONFIGS["representatives"]
    (whole,) = _uninterrupted(config, (EPOCH,))
    sampler = ClusterSampler(IDS, **config)
    sampler.set_epoch(EPOCH)
    loader = StatefulDataLoader(Rows(), batch_size=BATCH, sampler=sampler)
    batches = iter(loader)
    before = _rows([next(batches)])
    torch.save(loader.state_dict(), tmp_path / "loader.pt")

    resumed = ClusterSampler(IDS, **config)
    loader = StatefulDataLoader(Rows(), batch_size=BATCH, sampler=resumed)
    loader.load_state_dict(torch.load(tmp_path / "loader.pt", weights_only=False))
    assert before + _rows(loader) == whole
    assert resumed.epoch == EPOCH
