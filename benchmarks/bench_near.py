"""Near-duplicate detection: epochplan vs rensa vs datasketch, speed, memory and accuracy.

Usage: python benchmarks/bench_near.py [--corpus planted|straddle|multilingual] [--rows 100000] [--repeat N]
       [--datasketch-rows 100000] [--datasketch-update-rows 20000] [--thresholds 0.7,0.8] [--work DIR]

Corpora (benchmarks/corpus.py), ~200-word documents, 10 % exact copies, 2 % case/whitespace
variants, and:
- `planted` (the issue's corpus): 10 % near copies at a low edit rate (1-2 % of the words
  replaced: true word-5-gram Jaccard about 0.80-0.93) and 5 % far copies at a high one (30-50 %:
  Jaccard below 0.3);
- `straddle` (a stress test): 10 % near copies at 1-4 % edits, Jaccard about 0.66-0.96, so a
  quarter of the planted pairs lie within 0.05 of 0.7. Here the F1 ceiling of any 128-slot
  estimate is below 0.99; the script prints it (see `ideal_sketch_groups`);
- `multilingual`: the planted structure on `corpus.generate_multilingual`'s mixed-script
  documents (~900 bytes; variants also fullwidth and Unicode-whitespace copies).
Ground truth per threshold: a planted pair is a true pair when the exact word-5-gram Jaccard of
the pair (computed here, on NFKC + lowercase text: epochplan's normalisation; the peers below
only lowercase, as their documentation does) is at least the threshold; unrelated documents are assumed dissimilar
(random 200-word documents share almost no 5-grams). Pairs are counted within clusters (all
pairs of a cluster), per tool.

Each tool runs end to end from the Parquet file to clusters, in its own process:
- epochplan: `epochplan audit FILE --clusters OUT --threshold T -q` (reads, normalises, shingles,
  sketches, LSH, verifies, clusters, plus every statistic of the audit), with the defaults
  (representative clustering, sketch verification), `--clustering components` (the linking
  before issue 12) and `--verify exact` (the input read twice, links by exact Jaccard);
- rensa: read with polars, lowercase + split, word 5-gram token sets, `RMinHash.
  digest_matrix_from_token_sets` (its bulk path), `RMinHashLSH.insert_matrix`, query each
  document, verify candidates by the digests' slot agreement, union-find;
- datasketch (bulk): the same shingles, `MinHash.bulk` (its fastest documented path),
  `MinHashLSH` insert + query, verify with `MinHash.jaccard`, union-find;
- datasketch (update): the same, but each MinHash built the way datasketch's documentation
  first shows it: `m = MinHash(num_perm=128)` then `m.update(shingle)` per shingle.
All use 128 permutations. Prints Markdown tables to paste into RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import unicodedata
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import fastest_of_rounds, measure, python_snippet  # noqa: E402, I001  (first: starts the launcher while we are small)

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

PEER_COMMON = r"""
import sys, numpy as np, polars as pl
path, threshold, out, limit = sys.argv[1], float(sys.argv[2]), sys.argv[3], int(sys.argv[4])
texts = pl.read_parquet(path, columns=["text"])["text"].head(limit).to_list()
def shingles(text):
    w = text.lower().split()
    return [" ".join(w[i:i + 5]) for i in range(len(w) - 4)] or [" ".join(w)]
parent = list(range(len(texts)))
def find(x):
    while parent[x] != x:
        parent[x] = parent[parent[x]]
        x = parent[x]
    return x
def union(a, b):
    a, b = find(a), find(b)
    if a != b:
        parent[max(a, b)] = min(a, b)
"""

RENSA = (
    PEER_COMMON
    + r"""
from rensa import RMinHash, RMinHashLSH
bands = 16 if threshold < 0.75 else 8
matrix = RMinHash.digest_matrix_from_token_sets([shingles(t) for t in texts], 128, 42)
lsh = RMinHashLSH(threshold, 128, bands)
lsh.insert_matrix(matrix)
digests = np.asarray(matrix.to_rows(), dtype=np.uint32)
for i in range(len(texts)):
    m = RMinHash(128, 42)
    m.update(shingles(texts[i]))
    for j in lsh.query(m):
        if j != i and np.mean(digests[i] == digests[j]) >= threshold:
            union(i, j)
np.save(out, np.array([find(i) for i in range(len(texts))], dtype=np.int64))
"""
)

DATASKETCH_LSH = r"""
lsh = MinHashLSH(threshold=threshold, num_perm=128)
for i, m in enumerate(minhashes):
    lsh.insert(i, m)
for i, m in enumerate(minhashes):
    for j in lsh.query(m):
        if j != i and m.jaccard(minhashes[j]) >= threshold:
            union(i, j)
np.save(out, np.array([find(i) for i in range(len(texts))], dtype=np.int64))
"""

DATASKETCH = (
    PEER_COMMON
    + r"""
from datasketch import MinHash, MinHashLSH
sets = [[s.encode("utf8") for s in shingles(t)] for t in texts]
minhashes = MinHash.bulk(sets, num_perm=128)
"""
    + DATASKETCH_LSH
)

DATASKETCH_UPDATE = (
    PEER_COMMON
    + r"""
from datasketch import MinHash, MinHashLSH
minhashes = []
for t in texts:
    m = MinHash(num_perm=128)
    for s in shingles(t):
        m.update(s.encode("utf8"))
    minhashes.append(m)
"""
    + DATASKETCH_LSH
)

PLANTED = dict(near_fraction=0.10, near_edit_rate=(0.01, 0.02), far_fraction=0.05, far_edit_rate=(0.3, 0.5))

#: epochplan's default (representative clustering, sketch verification) first: the speed-ups are
#: relative to it.
EPOCHPLAN_RUNS = (
    ("epochplan", []),
    ("epochplan --clustering components", ["--clustering", "components"]),
    ("epochplan --verify exact", ["--verify", "exact"]),
)

CORPORA = {
    "planted": ("write_corpus", dict(words=200, **PLANTED)),
    "straddle": ("write_corpus", dict(words=200, near_fraction=0.10, near_edit_rate=(0.01, 0.04))),
    "multilingual": ("write_multilingual", PLANTED),
}


def shingle_set(text: str) -> set[str]:
    w = unicodedata.normalize("NFKC", text).lower().split()
    return {" ".join(w[i : i + 5]) for i in range(len(w) - 4)} or {" ".join(w)}


def planted_jaccards(corpus: pl.DataFrame) -> np.ndarray:
    """Per row: the exact word-5-gram Jaccard with the original it copies (NaN for originals)."""
    source = corpus["source_row"].to_numpy()
    texts = corpus["text"].to_list()
    jaccard = np.full(len(texts), np.nan)
    for row in np.flatnonzero(source >= 0):
        a, b = shingle_set(texts[row]), shingle_set(texts[source[row]])
        jaccard[row] = len(a & b) / len(a | b)
    return jaccard


def truth_groups(corpus: pl.DataFrame, jaccard: np.ndarray, threshold: float) -> np.ndarray:
    """Cluster id per row: planted copies whose true Jaccard with their original reaches the
    threshold join the original's group; everything else is its own group."""
    source = corpus["source_row"].to_numpy()
    group = np.arange(len(source))
    linked = np.flatnonzero((source >= 0) & (jaccard >= threshold))
    group[linked] = source[linked]
    return group


def ideal_sketch_groups(corpus: pl.DataFrame, jaccard: np.ndarray, threshold: float, slots: int = 128, seed: int = 0) -> np.ndarray:
    """The clusters an ideal 128-slot MinHash pipeline would give: every planted pair is a
    candidate (no LSH misses) and is linked when its estimate, Binomial(slots, J) / slots as for
    classic MinHash, reaches the threshold. Its F1 bounds what any such sketch can do here."""
    rng = np.random.default_rng(seed)
    source = corpus["source_row"].to_numpy()
    group = np.arange(len(source))
    rows = np.flatnonzero(source >= 0)
    estimate = rng.binomial(slots, jaccard[rows]) / slots
    linked = rows[estimate >= threshold]
    group[linked] = source[linked]
    return group


def pair_scores(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    def pairs(counts: np.ndarray) -> int:
        return int((counts * (counts - 1) // 2).sum())

    both = pl.DataFrame({"p": predicted, "t": truth})
    tp = pairs(both.group_by("p", "t").len()["len"].to_numpy())
    pp = pairs(both.group_by("p").len()["len"].to_numpy())
    tt = pairs(both.group_by("t").len()["len"].to_numpy())
    precision = tp / pp if pp else 1.0
    recall = tp / tt if tt else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def main() -> None:
    parser = argparse.ArgumentParser(description="near-duplicate benchmark")
    parser.add_argument("--corpus", choices=sorted(CORPORA), default="planted")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--datasketch-rows", type=int, default=100_000, help="datasketch is slow: cap its documents")
    parser.add_argument(
        "--datasketch-update-rows", type=int, default=20_000, help="cap for datasketch's per-shingle update loop (0 skips it)"
    )
    parser.add_argument("--thresholds", default="0.7,0.8")
    parser.add_argument(
        "--repeat", type=int, default=1, help="run every tool this many times, interleaved, and keep each one's fastest run"
    )
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    corpus_path = args.work / f"near-{args.corpus}-{args.rows}.parquet"
    if not corpus_path.exists():
        writer, settings = CORPORA[args.corpus]
        settings = ", ".join(f"{k}={v!r}" for k, v in settings.items())
        measure(
            python_snippet(
                f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); from corpus import {writer}; "
                f"{writer}(__import__('pathlib').Path({str(corpus_path)!r}), {args.rows}, {settings}, seed=2)"
            )
        )
    corpus = pl.read_parquet(corpus_path)
    jaccard = planted_jaccards(corpus)
    print(
        f"corpus {args.corpus}: {corpus.height:,} docs, {corpus['text'].str.len_bytes().mean():,.0f} bytes/doc, kinds "
        f"{dict(sorted(corpus['kind'].value_counts().iter_rows()))}"
    )
    kinds = corpus["kind"].to_numpy()
    for kind in ("near", "far"):
        j = jaccard[kinds == kind]
        if len(j):
            print(f"true Jaccard of {kind} copies: min {j.min():.3f}, median {np.median(j):.3f}, max {j.max():.3f}")
    print()

    print("| tool | threshold | docs | seconds | docs/s | epochplan speed-up | peak RSS (MB) | precision | recall | F1 |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ceilings = []
    for threshold in (float(t) for t in args.thresholds.split(",")):
        truth = truth_groups(corpus, jaccard, threshold)
        ceilings.append((threshold, pair_scores(ideal_sketch_groups(corpus, jaccard, threshold), truth)))
        clusters = args.work / "clusters.parquet"
        out = args.work / "peer.npy"
        jobs = []  # (name, argv, docs, where its clusters are written)
        for name, flags in EPOCHPLAN_RUNS:
            command = [sys.executable, "-m", "epochplan", "audit", str(corpus_path), "--clusters", str(clusters)]
            jobs.append((name, [*command, "--threshold", str(threshold), "-q", *flags], corpus.height, clusters))
        peers = (
            ("rensa", RENSA, args.rows),
            ("datasketch (bulk)", DATASKETCH, args.datasketch_rows),
            ("datasketch (update)", DATASKETCH_UPDATE, args.datasketch_update_rows),
        )
        for name, script, limit in peers:
            if limit > 0:
                argv = python_snippet(script) + [str(corpus_path), str(threshold), str(out), str(limit)]
                jobs.append((name, argv, min(limit, corpus.height), out))
        predictions = {}
        written = {name: path for name, _argv, _docs, path in jobs}

        def collect(name: str) -> None:
            if written[name] == clusters:
                predictions[name] = pl.read_parquet(clusters)["near_id"].to_numpy().astype(np.int64)
            else:
                predictions[name] = np.load(out)

        timings = fastest_of_rounds({name: argv for name, argv, _docs, _w in jobs}, args.repeat, collect)
        runs = {name: (timings[name], docs, predictions[name]) for name, _argv, docs, _w in jobs}
        base = runs["epochplan"][0].seconds / runs["epochplan"][1]
        for name, (m, docs, predicted) in runs.items():
            p, r, f1 = pair_scores(predicted, truth[:docs])
            speedup = (m.seconds / docs) / base
            print(
                f"| {name} | {threshold} | {docs:,} | {m.seconds:.1f} | {docs / m.seconds:,.0f} | "
                f"{speedup:.1f}× | {m.peak_rss_mb:,.0f} | {p:.4f} | {r:.4f} | {f1:.4f} |",
                flush=True,
            )
    print()
    for threshold, (p, r, f1) in ceilings:
        print(
            f"ceiling at {threshold}: an ideal 128-slot MinHash (every planted pair a candidate, Binomial "
            f"estimate) scores precision {p:.4f}, recall {r:.4f}, F1 {f1:.4f} on this corpus"
        )


if __name__ == "__main__":
    main()
