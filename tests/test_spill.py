"""Past its share of --memory-budget the exact-duplicate table spills to sorted runs: the audit
must come out exactly as it does in memory (ids, clusters, summary, leakage, conflicts)."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest

from conftest import run_cli
from tokenizer_fixture import write_gpt2_tokenizer_json


@pytest.fixture(scope="module")
def gpt2_tokenizer(tmp_path_factory):
    return write_gpt2_tokenizer_json(tmp_path_factory.mktemp("gpt2") / "tokenizer.json")


def _spilling_corpus(tmp_path):
    """150k rows: at a 16 MB budget the exact table (an eighth of it) holds ~55k texts, so it
    spills twice; duplicates are spread over the whole file so most of them cross a spill."""
    rng = random.Random(11)
    words = [f"w{i}" for i in range(3000)]
    texts: list[str | None] = []
    for row in range(150_000):
        if row % 997 == 0:
            texts.append(None)
        elif row > 10 and rng.random() < 0.2:
            source = texts[rng.randrange(row)] or "null source"
            texts.append(source.upper() if rng.random() < 0.3 else source)
        elif row > 10 and rng.random() < 0.05:
            source = (texts[rng.randrange(row)] or "x").split()
            source[rng.randrange(len(source))] = rng.choice(words)
            texts.append(" ".join(source))
        else:
            texts.append(" ".join(rng.choice(words) for _ in range(rng.randrange(6, 16))))
    labels = [rng.choice(["a", "b"]) for _ in texts]
    data = tmp_path / "train.parquet"
    pl.DataFrame({"text": texts, "label": labels}).write_parquet(data, row_group_size=20_000)
    return texts, data


def test_spilled_audit_equals_the_in_memory_one(tmp_path):
    texts, data = _spilling_corpus(tmp_path)
    val = tmp_path / "val.parquet"
    pl.DataFrame({"text": texts[::50] + ["never seen in train"]}).write_parquet(val)

    outputs = []
    for budget in ("16MiB", "1GiB"):
        clusters, leaks = tmp_path / f"clusters-{budget}.parquet", tmp_path / f"leaks-{budget}.parquet"
        proc = run_cli(
            "audit",
            str(data),
            "--label",
            "label",
            "--eval",
            str(val),
            "--memory-budget",
            budget,
            "--clusters",
            str(clusters),
            "--leakage",
            str(leaks),
            "--json",
            "-",
        )
        assert proc.returncode == 0, proc.stderr
        outputs.append((json.loads(proc.stdout), pl.read_parquet(clusters), pl.read_parquet(leaks)))
    (small, small_clusters, small_leaks), (big, big_clusters, big_leaks) = outputs
    assert small["exact"]["duplicate_rows"] > 25_000
    # The report's cluster detail must survive the merge of the runs: members and size histogram.
    assert sum(size * n for size, n in small["exact"]["size_histogram"]) == 150_000 - len(range(0, 150_000, 997))
    assert all(len(t["members"]) >= 1 for t in small["exact"]["top"])
    assert small["leakage"]["val"]["exact_in_train"] > 2_000
    assert small_clusters.equals(big_clusters)
    assert small_leaks.equals(big_leaks)
    assert small == big


@pytest.mark.parametrize("near", [True, False], ids=["near", "no-near"])
def test_spilled_token_counts_equal_the_in_memory_ones(tmp_path, gpt2_tokenizer, near):
    # A row that opens an exact cluster after a spill may be a copy of a spilled row: its
    # tokens must not count as unique. The JSON, tokens blocks included, is byte-identical to
    # the in-memory audit's, with the estimate and with GPT-2's tokenizer.
    texts, data = _spilling_corpus(tmp_path)
    near_flag = [] if near else ["--no-near"]
    for tokenizer in (None, gpt2_tokenizer):
        tokenizer_flags = ["--tokenizer", str(tokenizer)] if tokenizer else []
        outputs = []
        for budget in ("16MiB", "1GiB"):
            clusters = tmp_path / f"clusters-{budget}.parquet"
            proc = run_cli(
                "audit", str(data), *near_flag, *tokenizer_flags,
                "--memory-budget", budget, "--clusters", str(clusters), "--json", "-", "-q",
            )  # fmt: skip
            assert proc.returncode == 0, proc.stderr
            outputs.append((proc.stdout, pl.read_parquet(clusters)))
        (small, small_clusters), (big, big_clusters) = outputs
        assert small_clusters.equals(big_clusters)
        assert small == big
        # And the sum is the one over the representatives' own counts (an independent check).
        exact = json.loads(small)["exact"]
        representatives = small_clusters.filter(pl.col("exact_id") == pl.col("row"))["row"].to_list()
        if tokenizer is None:
            expected = sum(-(-len(texts[r].encode()) // 4) for r in representatives)
        else:
            from tokenizers import Tokenizer

            encoder = Tokenizer.from_file(str(tokenizer))
            expected = sum(len(e.ids) for e in encoder.encode_batch([texts[r] for r in representatives], add_special_tokens=False))
        assert exact["unique_tokens"] == expected
        assert len(representatives) == exact["unique"] > 55_000  # more than the table holds at 16 MB
