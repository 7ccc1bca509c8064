"""Exact-duplicate audit throughput and memory: epochplan vs polars vs a Python xxhash loop.

Usage: python benchmarks/bench_exact.py [--corpus ascii|multilingual|multilingual-short] [--rows 1000000] [--rss-rows 5000000] [--repeat N] [--work DIR]

Generates a deterministic corpus (benchmarks/corpus.py; `ascii`: ~1.6 KB a row; `multilingual`:
~900 bytes a row of mixed scripts, non-ASCII in 99 % of rows; `multilingual-short`: the same with
one sentence a row, ~110 bytes, as chat and instruction data often is; all with 10 % exact copies
and 2 % case/width/whitespace variants), then runs, one after the other on the same file, each as its own
process:
- epochplan: `epochplan audit FILE --no-near --json OUT -q` end to end (the exact path) (reads, normalises, hashes, clusters,
  and computes every statistic of the audit);
- polars: `read_parquet(text) -> Series.hash() -> is_duplicated()` (no normalisation);
- xxhash: a Python loop of `xxh3_128_intdigest` over streamed batches into a dict.
Prints a Markdown table (rows/s, MB/s, ratio to polars, peak RSS) to paste into RESULTS.md.
With --rss-rows, also audits that many rows (shards of --rows) to show epochplan's peak RSS
against the number of rows.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import fastest_of_rounds, measure, python_snippet  # noqa: E402  (first: starts the launcher while we are small)

POLARS = """
import polars as pl, sys
s = pl.read_parquet(sys.argv[1], columns=["text"])["text"]
print(int(s.hash().is_duplicated().sum()))
"""

XXHASH = """
import pyarrow.parquet as pq, sys, xxhash
seen = {}
for batch in pq.ParquetFile(sys.argv[1]).iter_batches(batch_size=50_000, columns=["text"]):
    for t in batch.column(0).to_pylist():
        if t is not None:
            seen.setdefault(xxhash.xxh3_128_intdigest(t.encode()), 0)
print(len(seen))
"""


def epochplan_cmd(path: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "epochplan", "audit", str(path), "--no-near", "--json", str(out), "-q"]


def main() -> None:
    from corpus import write_corpus, write_multilingual  # after measure: the launcher must start while this process is small

    parser = argparse.ArgumentParser(description="exact-duplicate audit benchmark")
    parser.add_argument("--corpus", choices=("ascii", "multilingual", "multilingual-short"), default="ascii")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rss-rows", type=int, default=0, help="also measure epochplan's RSS at this many rows")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run every tool this many times, interleaved, and keep each one's fastest run"
    )
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)

    writers = {
        "ascii": write_corpus,
        "multilingual": write_multilingual,
        "multilingual-short": functools.partial(write_multilingual, sentences=1),
    }
    write = writers[args.corpus]
    prefix = "" if args.corpus == "ascii" else f"{args.corpus}-"
    corpus = args.work / f"exact-{prefix}{args.rows}.parquet"
    if not corpus.exists():
        write(corpus, args.rows, seed=1)
    import polars as pl

    megabytes = pl.scan_parquet(corpus).select(pl.col("text").str.len_bytes().sum()).collect().item() / 1e6
    out = args.work / "audit.json"

    jobs = {
        "epochplan audit (normalise + exact + all stats)": epochplan_cmd(corpus, out),
        "polars Series.hash + is_duplicated (raw, no stats)": python_snippet(POLARS) + [str(corpus)],
        "Python xxhash loop (raw, no stats)": python_snippet(XXHASH) + [str(corpus)],
    }
    results = fastest_of_rounds(jobs, args.repeat)
    audit = json.loads(out.read_text())

    base = results["polars Series.hash + is_duplicated (raw, no stats)"].seconds
    print(
        f"\ncorpus {args.corpus}: {args.rows:,} rows, {megabytes:,.0f} MB of text; epochplan found "
        f"{audit['exact']['duplicate_rows']:,} duplicate rows (normalised)\n"
    )
    print("| tool | seconds | rows/s | MB/s | throughput vs polars | peak RSS (MB) |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, m in results.items():
        print(
            f"| {name} | {m.seconds:.2f} | {args.rows / m.seconds:,.0f} | {megabytes / m.seconds:,.0f} | "
            f"{base / m.seconds:.2f}× | {m.peak_rss_mb:,.0f} |"
        )

    if args.rss_rows:
        shards = args.work / f"shards-{prefix}{args.rss_rows}"
        shards.mkdir(exist_ok=True)
        for i in range(args.rss_rows // args.rows):
            shard = shards / f"part-{i:03d}.parquet"
            if not shard.exists():
                write(shard, args.rows, seed=100 + i, row_offset=i * args.rows)
        near = [sys.executable, "-m", "epochplan", "audit", "--json", str(out), "-q"]
        rows = [(args.rows, corpus), (args.rss_rows, shards)]
        print("\n| rows | audit | seconds | peak RSS (MB) |\n|---:|---|---:|---:|")
        for count, path in rows:
            for label, argv in (
                ("exact only (--no-near)", epochplan_cmd(path, out)),
                ("default (exact + near)", near[:4] + [str(path)] + near[4:]),
            ):
                m = measure(argv)
                print(f"| {count:,} | {label} | {m.seconds:.1f} | {m.peak_rss_mb:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
