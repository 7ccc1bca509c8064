"""Past its share of --memory-budget the exact-duplicate table spills to sorted runs: the audit
must come out exactly as it does in memory (ids, clusters, summary, leakage, conflicts)."""

from __future__ import annotations

import json
import random

import polars as pl

from conftest import run_cli


def test_spilled_audit_equals_the_in_memory_one(tmp_path):
    # 16 MB budget: the exact table (an eighth of it) holds ~55k texts, so 150k rows spill it
    # twice; duplicates are spread over the whole file so most of them cross a spill.
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
