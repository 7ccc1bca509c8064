"""Train/eval leakage on templated data: time and peak memory as the pairs grow.

Usage: python benchmarks/bench_leakage.py [--sizes 10000x2500,20000x5000,40000x10000] [--work DIR]

Instruction-formatted classification data (one long shared instruction, a short varying review,
an id): nearly every eval row shares LSH buckets with nearly every train row, so the candidate
pairs grow as train rows × eval rows, and a large share of them reach the threshold. Runs
`epochplan audit TRAIN --eval EVAL --json OUT -q` (default settings) per size and prints a
Markdown table: the pairs (train × eval), the near matches found (`--leakage` rows), the eval
rows leaking (must be all of them: every eval row is the template), wall seconds and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import measure  # noqa: E402  (first: starts the launcher while we are small)

WORDS = "good bad fine great awful nice poor okay superb dull".split()


def templated(n: int, first_id: int, rng: random.Random) -> list[str]:
    return [
        "Below is an instruction that describes a task. Write a response that appropriately completes the request. "
        "Classify the sentiment of the following product review as positive or negative and explain briefly. "
        f"Review: the item was {rng.choice(WORDS)} and {rng.choice(WORDS)}, shipping {rng.choice(WORDS)}. id {first_id + i}"
        for i in range(n)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000x2500,20000x5000,40000x10000", help="TRAINxEVAL, comma separated")
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work" / "leakage")
    args = parser.parse_args()
    import polars as pl  # after the launcher started: it forks from a small process

    args.work.mkdir(parents=True, exist_ok=True)
    print("| train × eval | pairs | near matches | eval rows leaking | seconds | peak RSS |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes.split(","):
        n_train, n_eval = (int(x) for x in size.split("x"))
        rng = random.Random(7)
        train, eval_ = args.work / f"train-{n_train}.parquet", args.work / f"eval-{n_eval}.parquet"
        pl.DataFrame({"text": templated(n_train, 0, rng)}).write_parquet(train)
        pl.DataFrame({"text": templated(n_eval, 10**7, rng)}).write_parquet(eval_)
        out, leaks = args.work / "audit.json", args.work / "leaks.parquet"
        leaks.unlink(missing_ok=True)
        run = measure(["epochplan", "audit", str(train), "--eval", str(eval_), "--json", str(out), "--leakage", str(leaks), "-q"])
        [split] = json.loads(out.read_text())["leakage"].values()
        matches = pl.scan_parquet(leaks).select(pl.len()).collect().item()
        print(
            f"| {n_train:,} × {n_eval:,} | {n_train * n_eval / 1e6:,.0f} M | {matches:,} | {split['near_in_train']:,} of {split['rows']:,} "
            f"| {run.seconds:.1f} | {run.peak_rss_mb:,.0f} MB |"
        )


if __name__ == "__main__":
    main()
