"""The binding's algorithm entry points, called directly: conflicting labels, keep flags, the
exact-before-near leak policy, the DistributedSampler shard formula, defaults and choices, and
storage errors. Each is checked against an independent reference (polars, torch, the OS)."""

from __future__ import annotations

import errno
import random
import shutil
import sys

import numpy as np
import polars as pl
import pytest

import epochplan
from conftest import assert_clean_error, run_cli
from epochplan import _epochplan
from epochplan.auditing.leakage import near_columns
from epochplan.errors import EpochplanError, StorageError

WORDS = [f"w{i}" for i in range(400)]


# --- references ---------------------------------------------------------------------------
def reference_conflicts(labels: list[str | None], exact_ids: np.ndarray, near_ids: np.ndarray | None) -> dict:
    """Conflicting labels as epochplan's Python layer computed them before the core did
    (`find_conflicts` in python/epochplan/audit.py at 408798e), kept here as the reference."""

    def id_series(name: str, ids: np.ndarray) -> pl.Series:
        null = ids == np.uint64(_epochplan.NO_CLUSTER)
        return pl.Series(name, ids, dtype=pl.UInt64).set(pl.Series(null), None)

    frame = pl.DataFrame([id_series("exact_id", exact_ids), pl.Series("label", labels, dtype=pl.String)])
    frame = frame.with_row_index("row")
    if near_ids is not None:
        frame = frame.with_columns(id_series("near_id", near_ids))
    labelled = frame.drop_nulls(["exact_id", "label"])

    def conflicting(level: str) -> pl.DataFrame:
        return labelled.group_by(level).agg(pl.col("label").n_unique().alias("labels"), pl.len().alias("size")).filter(pl.col("labels") > 1)

    exact = conflicting("exact_id")
    level = "near_id" if near_ids is not None else "exact_id"
    widest = conflicting(level) if near_ids is not None else exact
    members = labelled.join(widest.select(level, "size"), on=level).sort(["size", level, "row"], descending=[True, False, False])
    examples = []
    for _, group in members.group_by(level, maintain_order=True):
        if len(examples) == 10:
            break
        examples.append({"rows": group["row"].to_list(), "labels": group["label"].to_list()})
    return {
        "exact_clusters": exact.height,
        "near_clusters": widest.height if near_ids is not None else None,
        "rows": int(frame.join(widest.select(level), on=level).height),
        "examples": examples,
    }


def ids(raw: bytes | None) -> np.ndarray:
    assert raw is not None
    return np.frombuffer(raw, dtype="<u8")


def random_corpus(seed: int, rows: int) -> tuple[list[str | None], list[str | None]]:
    """Texts with exact copies (case and spacing changed), near copies (last word changed: one
    shingle of 20 differs), unrelated texts and nulls; labels from a few values and nulls."""
    rng = random.Random(seed)
    texts: list[str | None] = []
    for _ in range(rows):
        roll = rng.random()
        earlier = [t for t in texts[-50:] if t is not None]
        if roll < 0.05:
            texts.append(None)
        elif roll < 0.3 and earlier:
            source = rng.choice(earlier)
            texts.append(source.upper() if rng.random() < 0.5 else source.replace(" ", "  ", 1))
        elif roll < 0.5 and earlier:
            words = rng.choice(earlier).split()
            words[-1] = rng.choice(WORDS)
            texts.append(" ".join(words))
        else:
            texts.append(" ".join(rng.choice(WORDS) for _ in range(24)))
    label_values = ["pos", "neg", "neutral", None]
    weights = [rng.random() for _ in label_values]
    labels = rng.choices(label_values, weights=weights, k=rows)
    return texts, labels


def run_auditor(texts, labels, *, near: bool, batch: int, keep_row_ids: bool = True) -> _epochplan.Auditor:
    auditor = _epochplan.Auditor(keep_row_ids=keep_row_ids, near=near)
    for start in range(0, len(texts), batch):
        auditor.update(
            pl.Series(texts[start : start + batch], dtype=pl.String),
            None if labels is None else pl.Series(labels[start : start + batch], dtype=pl.String),
        )
    auditor.finish_near()
    return auditor


# --- conflicting labels ---------------------------------------------------------------------
@pytest.mark.parametrize("near", [False, True])
@pytest.mark.parametrize("seed", range(12))
def test_conflicts_equal_the_python_reference_on_random_inputs(seed: int, near: bool):
    texts, labels = random_corpus(seed, rows=random.Random(seed).randint(1, 900))
    auditor = run_auditor(texts, labels, near=near, batch=97)
    exact_ids = ids(auditor.row_ids())
    near_ids = ids(auditor.near_ids()) if near else None
    got = auditor.conflicts()
    assert got == reference_conflicts(labels, exact_ids, near_ids)
    # The planted copies must produce conflicts, or this test compares empty results.
    if seed < 4 and len(texts) > 200:
        assert got["exact_clusters"] > 0 and got["examples"]


def test_conflicts_on_real_data_equal_the_reference(shared_data):
    # chatterbot: the same utterance appears in several topic files, so `file` conflicts for real.
    frame = pl.read_parquet(shared_data / "chatterbot_english.parquet")
    texts, labels = frame["text"].to_list(), frame["file"].to_list()
    for near in (False, True):
        auditor = run_auditor(texts, labels, near=near, batch=1000)
        got = auditor.conflicts()
        expected = reference_conflicts(labels, ids(auditor.row_ids()), ids(auditor.near_ids()) if near else None)
        assert got == expected
        assert got["exact_clusters"] > 0 and got["rows"] > got["exact_clusters"], got


def test_conflicts_match_the_public_audit_result(shared_data):
    path = shared_data / "chatterbot_english.parquet"
    result = epochplan.audit(path, text="text", label="file")
    frame = pl.read_parquet(path)
    auditor = run_auditor(frame["text"].to_list(), frame["file"].to_list(), near=True, batch=5000)
    assert result.conflicts is not None
    public = result.conflicts.to_dict()
    for group in public["examples"]:
        assert len(group.pop("texts")) == min(10, len(group["rows"]))  # the report's texts, added by Python
        firsts = group.pop("first_of_label")  # each label's first row and its text, added by Python too
        assert [f["row"] for f in firsts] == [group["rows"][group["labels"].index(f["label"])] for f in firsts]
        assert len({f["label"] for f in firsts}) == len(firsts) == min(10, len(set(group["labels"])))
    assert auditor.conflicts() == public


def test_conflicts_none_without_labels_and_labels_kept_without_keep_row_ids():
    texts = ["a b", "A  B", "c", None]
    assert run_auditor(texts, None, near=False, batch=2).conflicts() is None
    auditor = run_auditor(texts, ["x", "y", "x", "y"], near=False, batch=2, keep_row_ids=False)
    assert auditor.conflicts() == {
        "exact_clusters": 1,
        "near_clusters": None,
        "rows": 2,
        "examples": [{"rows": [0, 1], "labels": ["x", "y"]}],
    }
    assert auditor.conflicts(max_examples=0)["examples"] == []


def test_labels_after_the_first_batch_are_an_input_error():
    auditor = _epochplan.Auditor()
    auditor.update(pl.Series(["a"]))
    with pytest.raises(epochplan.InputError, match="first batch"):
        auditor.update(pl.Series(["b"]), pl.Series(["x"]))


def test_a_column_without_an_arrow_stream_is_refused_naming_one_that_has_it():
    """A pyarrow Array has no __arrow_c_stream__ (only __arrow_c_array__); the message once
    named "pyarrow array" as an example of what works. The ChunkedArray it names does."""
    import pyarrow as pa

    auditor = _epochplan.Auditor()
    with pytest.raises(epochplan.InputError) as info:
        auditor.update(pa.array(["a", "b"]))
    message = str(info.value)
    assert "\n" not in message and "pyarrow ChunkedArray" in message and "pyarrow array" not in message
    auditor.update(pa.chunked_array([pa.array(["a", "b"])]))
    assert auditor.rows == 2


def test_conflicts_and_keep_flags_with_near_need_finish_near():
    auditor = _epochplan.Auditor(near=True)
    auditor.update(pl.Series(["a b c"]), pl.Series(["x"]))
    with pytest.raises(epochplan.InputError, match="finish_near"):
        auditor.keep_flags()
    with pytest.raises(epochplan.InputError, match="finish_near"):
        auditor.conflicts()


# --- keep flags -----------------------------------------------------------------------------
@pytest.mark.parametrize("near", [False, True])
def test_keep_flags_mark_the_lowest_row_of_each_widest_cluster(near: bool):
    texts, _ = random_corpus(3, rows=700)
    auditor = run_auditor(texts, None, near=near, batch=128)
    keep = np.frombuffer(auditor.keep_flags(), dtype=np.bool_)
    widest = ids(auditor.near_ids() if near else auditor.row_ids())
    frame = pl.DataFrame({"row": np.arange(len(texts)), "cluster": widest})
    frame = frame.filter(pl.col("cluster") != _epochplan.NO_CLUSTER)
    lowest = frame.group_by("cluster").agg(pl.col("row").min())["row"].to_list()
    expected = np.zeros(len(texts), dtype=np.bool_)
    expected[lowest] = True
    assert (keep == expected).all()
    assert 0 < keep.sum() < len(texts) - sum(t is None for t in texts)  # duplicates were found


def test_keep_flags_equal_the_public_clusters_table(shared_data):
    path = shared_data / "gpteacher_toolformer_dedupe-only.parquet"
    result = epochplan.audit(path, text="prompt")
    assert result.clusters is not None
    auditor = run_auditor(pl.read_parquet(path)["prompt"].to_list(), None, near=True, batch=3000)
    keep = np.frombuffer(auditor.keep_flags(), dtype=np.bool_)
    assert keep.tolist() == result.clusters["keep"].to_list()


def test_keep_flags_none_without_row_ids_or_near():
    auditor = run_auditor(["a", "a"], None, near=False, batch=2, keep_row_ids=False)
    assert auditor.keep_flags() is None


# --- leak policy ----------------------------------------------------------------------------
def test_exclude_exact_drops_exactly_the_exact_pairs():
    texts, _ = random_corpus(5, rows=600)
    auditor = run_auditor(texts, None, near=True, batch=150)
    present = [t for t in texts if t is not None]
    rng = random.Random(1)
    eval_texts = [rng.choice(present) for _ in range(60)]  # exact copies
    eval_texts += [" ".join(t.split()[:-1] + ["changed"]) for t in rng.sample(present, 60)]  # near copies
    eval_texts += [None, "unrelated words only here"]

    def finish(**kwargs):
        auditor.eval_begin()
        auditor.eval_update(pl.Series(eval_texts, dtype=pl.String))
        rows, exact, near = auditor.eval_finish(**kwargs)
        return rows, exact, near_columns(near).rows()

    rows, exact, near_all = finish()
    rows2, exact2, near_only = finish(exclude_exact=True)
    assert (rows, exact) == (rows2, exact2) == (len(eval_texts), exact)
    exact_pairs = set(exact)
    assert len(exact_pairs) >= 60
    # what Python did before (anti-join on (eval_row, train_row)), in the same order
    assert near_only == [m for m in near_all if (m[0], m[1]) not in exact_pairs]
    assert len(near_only) < len(near_all)
    assert any(m[0] >= 60 for m in near_only)

    # the per-row limit counts near-only matches, best first
    _, _, best = finish(exclude_exact=True, max_per_eval_row=1)
    first_per_row = {}
    for m in near_only:
        first_per_row.setdefault(m[0], m)
    assert best == list(first_per_row.values())


def test_exclude_exact_equals_the_public_leak_report(shared_data):
    train = shared_data / "gpteacher_toolformer_dedupe-only.parquet"
    eval_path = shared_data / "gpteacher_toolformer_similarity-0.9.parquet"
    result = epochplan.audit(train, text="prompt", eval=eval_path)
    auditor = run_auditor(pl.read_parquet(train)["prompt"].to_list(), None, near=True, batch=4000)
    auditor.eval_begin()
    auditor.eval_update(pl.read_parquet(eval_path)["prompt"])
    _, exact, near = auditor.eval_finish(exclude_exact=True)
    leaks = result.leaks
    got_near = sorted((e, t) for e, t, _ in near_columns(near).rows())
    assert got_near == sorted(leaks.filter(pl.col("kind") == "near").select("eval_row", "train_row").rows())
    assert sorted(exact) == sorted(leaks.filter(pl.col("kind") == "exact").select("eval_row", "train_row").rows())
    assert exact and got_near


# --- shard formula --------------------------------------------------------------------------
def test_shard_size_equals_torch_distributed_sampler():
    from torch.utils.data import DistributedSampler

    checked = 0
    for n in range(0, 70):
        for world in range(1, 10):
            for drop_last in (False, True):
                sampler = DistributedSampler(range(n), num_replicas=world, rank=world - 1, shuffle=False, drop_last=drop_last)
                assert _epochplan.shard_size(n, world, drop_last) == len(sampler) == len(list(sampler)), (n, world, drop_last)
                checked += 1
    assert checked == 70 * 9 * 2
    assert _epochplan.shard_size(10**12 + 7, 8, False) == -(-(10**12 + 7) // 8)
    with pytest.raises(epochplan.InputError, match="world size"):
        _epochplan.shard_size(10, 0)


# --- defaults and choices -------------------------------------------------------------------
def test_defaults_and_choices_are_declared_by_the_core():
    d = _epochplan.DEFAULTS
    assert d == {
        "normalize": "default",
        "shingle": "auto",
        "threshold": 0.7,
        "ngram": 5,
        "char_ngram": 3,
        "clustering": "representative",
        "verify": "sketch",
        "template_share": 0.5,
        "num_perm": 128,
        "max_num_perm": 1024,
        "near_max_checks": 64,
        "memory_budget": 1 << 30,
        "min_memory_budget": 16 << 20,
    }
    assert _epochplan.CHOICES == {
        "normalize": ["default", "none"],
        "shingle": ["auto", "word", "char"],
        "clustering": ["representative", "components"],
        "verify": ["sketch", "exact"],
    }
    for option, names in _epochplan.CHOICES.items():
        assert d[option] in names, option

    # The binding's own signature defaults are the same constants.
    auditor = _epochplan.Auditor(near=True)
    auditor.update(pl.Series(["one two three four five six", "One  two three four five six"]))
    auditor.finish_near()
    near = auditor.summary()["near"]
    settings = ("threshold", "ngram", "shingle", "num_perm", "char_ngram", "clustering", "verify")
    assert {k: near[k] for k in settings} == {k: d[k] for k in settings}
    assert near["duplicate_rows"] == 1  # "default" normalisation merged the two

    for option, names in _epochplan.CHOICES.items():
        for name in names:
            _epochplan.Auditor(**{option: name})
        with pytest.raises(epochplan.InputError) as info:
            _epochplan.Auditor(**{option: "bogus"})
        assert all(f'"{name}"' in str(info.value) for name in names), str(info.value)


def test_memory_budget_for_a_machine():
    assert _epochplan.memory_budget_for(64 << 30) == _epochplan.DEFAULTS["memory_budget"]
    assert _epochplan.memory_budget_for(2 << 30) == 512 << 20
    assert _epochplan.memory_budget_for(256 << 20) == 64 << 20
    assert _epochplan.memory_budget_for() == _epochplan.memory_budget_for(4 << 30)
    assert _epochplan.memory_budget_for(0) >= _epochplan.DEFAULTS["min_memory_budget"]


# --- storage errors -------------------------------------------------------------------------
def unique_texts(rows: int) -> list[str]:
    rng = random.Random(11)
    return [" ".join(rng.choice(WORDS) for _ in range(12)) + f" {i}" for i in range(rows)]


def test_a_spill_failure_is_a_storage_error_with_the_os_message(tmp_path):
    spill_dir = tmp_path / "spill"
    spill_dir.mkdir()
    auditor = _epochplan.Auditor(near=True, memory_budget=16 << 20, temp_dir=str(spill_dir))
    shutil.rmtree(spill_dir)  # gone after the check at construction: the spill itself fails
    texts = unique_texts(40_000)  # ~25 MB of sketches and band keys: past half the budget
    with pytest.raises(StorageError) as info:
        for start in range(0, len(texts), 10_000):
            auditor.update(pl.Series(texts[start : start + 10_000]))
    error = info.value
    assert isinstance(error, OSError) and isinstance(error, EpochplanError)
    assert not isinstance(error, epochplan.InternalError)
    assert error.errno == errno.ENOENT
    message = str(error)
    assert str(spill_dir) in message and "No such file or directory" in message, message
    assert "memory budget" in message  # what to do about it


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="needs Linux's TMPDIR semantics")
def test_cli_reports_a_spill_failure_as_exit_2_with_the_os_message(tmp_path):
    data = tmp_path / "data.parquet"
    pl.DataFrame({"text": unique_texts(40_000)}).write_parquet(data)
    missing = tmp_path / "no-such-temp-dir"
    proc = run_cli("audit", str(data), "--memory-budget", "16MiB", env={"TMPDIR": str(missing)})
    assert_clean_error(proc, "No such file or directory", str(missing))
    assert "internal error" not in proc.stderr
