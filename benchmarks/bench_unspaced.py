"""Unspaced scripts and clustering: the measurements behind issue 12's defaults.

Usage: python benchmarks/bench_unspaced.py [char-ngram|clustering|toolformer|cjk|all] [--rows N]

- char-ngram: pair F1 of near clusters on the Chinese and Japanese corpora of corpus.py
  (`generate_unspaced`: near copies with 2 % of characters changed, among unrelated documents)
  at threshold 0.7, for char n-gram sizes 2-8. Truth: the planted groups.
- clustering: time of `finish_near` (link, verify, cluster) under `representative` and
  `components`, on the planted corpus of bench_near.py and on a template-heavy one (every row
  the same sentence with its row number), same sketches.
- toolformer: near clusters per GPTeacher toolformer tier (`prompt`), both clusterings and
  exact verification, and the template signal on `prompt` and `response`.
- cjk: epochplan (default, `--clustering components`, `--verify exact`) vs rensa and datasketch
  end to end on the Chinese corpus written to Parquet (`--rows`), the peers given the same
  char 3-gram shingles (their word shingles would see one shingle per document).
Prints Markdown tables for RESULTS.md. Timings are one run each on a shared machine.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from measure import measure, python_snippet  # noqa: E402, I001  (first: starts the launcher while we are small)

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

import epochplan  # noqa: E402
from corpus import generate, generate_unspaced  # noqa: E402
from epochplan import _epochplan  # noqa: E402

DATA = Path("/work/shared/data")


def pair_scores(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall, F1 over pairs of rows placed in one cluster."""

    def pairs(labels: np.ndarray) -> int:
        _, counts = np.unique(labels, return_counts=True)
        return int((counts * (counts - 1) // 2).sum())

    both = pairs(predicted.astype(np.int64) * (truth.max() + 1) + truth)
    p, t = pairs(predicted), pairs(truth)
    precision = both / p if p else 1.0
    recall = both / t if t else 1.0
    return precision, recall, 2 * precision * recall / (precision + recall) if precision + recall else 0.0


# (label, generate_unspaced arguments): the corpus, then a harder one that separates the
# sizes the first one ties: short documents (40-120 characters) with 5 % of characters changed.
CJK_CORPORA = [("2 %", {}), ("short, 5 %", {"chars_per_row": (40, 120), "char_change_rate": 0.05})]


def char_ngram(rows: int) -> None:
    print(f"\n### Char n-gram size (threshold 0.7, {rows:,} rows, 10 % near copies)\n")
    print("| corpus | changed | n | precision | recall | F1 | clusters (truth) |")
    print("|---|---|---|---|---|---|---|")
    for language, (label, kwargs) in [(lang, c) for c in CJK_CORPORA for lang in ("chinese", "japanese")]:
        corpus = generate_unspaced(rows, language, near_fraction=0.1, seed=1, **kwargs)
        truth = np.array([s if s >= 0 else r for r, s in enumerate(corpus["source_row"])])
        truth_clusters = corpus.filter(pl.col("kind") == "near")["source_row"].n_unique()
        for n in range(2, 9):
            result = epochplan.audit(corpus.select("text"), char_ngram=n)
            predicted = result.clusters["near_id"].to_numpy()
            precision, recall, f1 = pair_scores(predicted, truth)
            print(
                f"| {language} | {label} | {n} | {precision:.4f} | {recall:.4f} | {f1:.4f} | {result.near.clusters:,} ({truth_clusters:,}) |"
            )


def finish_time(texts: pl.Series, clustering: str, batch: int = 50_000) -> tuple[float, dict]:
    auditor = _epochplan.Auditor(near=True, keep_row_ids=True, clustering=clustering)
    for start in range(0, len(texts), batch):
        auditor.update(texts.slice(start, batch))
    started = time.perf_counter()
    auditor.finish_near()
    return time.perf_counter() - started, auditor.summary()["near"]


def clustering(rows: int) -> None:
    planted = generate(rows, 200, near_fraction=0.1, near_edit_rate=(0.01, 0.02), far_fraction=0.05, seed=0)["text"]
    template = pl.select(pl.format("row {} of a long enough text to take some time to hash", pl.int_range(rows)).alias("text"))["text"]
    chains = []
    rng = np.random.default_rng(2)
    for _ in range(rows // 50):
        doc = [f"w{x}" for x in rng.integers(0, 20_000, 200)]
        for _ in range(50):
            chains.append(" ".join(doc))
            for at in rng.integers(0, 200, 2):
                doc[at] = f"x{rng.integers(0, 10**6)}"
    corpora = {
        "planted (bench_near)": planted,
        "template (row N of the same sentence)": template,
        "chains of 50 (2 words apart)": pl.Series(chains),
    }
    print(f"\n### Clustering cost ({rows:,} rows, finish_near only)\n")
    print("| corpus | clustering | finish s | near unique | clusters | largest | checked pairs | capped rows |")
    print("|---|---|---|---|---|---|---|---|")
    for name, texts in corpora.items():
        for mode in ("components", "representative"):
            seconds, near = finish_time(texts, mode)
            print(
                f"| {name} | {mode} | {seconds:.2f} | {near['unique']:,} | {near['clusters']:,} | {near['largest_cluster']:,} | "
                f"{near['checked_pairs']:,} | {near['capped_rows']:,} |"
            )


def toolformer() -> None:
    print("\n### GPTeacher toolformer tiers (`prompt`, default settings)\n")
    print("near unique / clusters / largest per clustering; template = the audit's template share and warning\n")
    print("| tier | rows | components | representative | representative, --verify exact | template (prompt) | template (response) |")
    print("|---|---|---|---|---|---|---|")
    for tier in ("dedupe-only", "similarity-0.9", "similarity-0.8", "similarity-0.7", "similarity-0.6"):
        path = DATA / f"gpteacher_toolformer_{tier}.parquet"
        cells = []
        for kwargs in ({"clustering": "components"}, {}, {"verify": "exact"}):
            near = epochplan.audit(path, text="prompt", keep_clusters=False, **kwargs).near
            cells.append(f"{near.unique:,} / {near.clusters:,} / {near.largest_cluster:,}")
        for column in ("prompt", "response"):
            result = epochplan.audit(path, text=column, keep_clusters=False)
            share = f"{result.template.share:.2f}" if result.template else "-"
            cells.append(f"{share}{' (warns)' if result.warnings else ''}")
        rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        print(f"| {tier} | {rows:,} | " + " | ".join(cells) + " |")


def cjk(rows: int, work: Path) -> None:
    from bench_near import DATASKETCH, EPOCHPLAN_RUNS, RENSA

    work.mkdir(parents=True, exist_ok=True)
    path = work / f"cjk-chinese-{rows}.parquet"
    corpus = generate_unspaced(rows, "chinese", near_fraction=0.1, seed=1)
    corpus.write_parquet(path)
    truth = np.array([s if s >= 0 else r for r, s in enumerate(corpus["source_row"])])
    char_shingles = "def shingles(text):\n    t = text.lower()\n    return [t[i:i + 3] for i in range(len(t) - 2)] or [t]\n"
    print(f"\n### Chinese corpus ({rows:,} rows, 10 % near copies at 2 % of characters, threshold 0.7)\n")
    print("| tool | seconds | docs/s | peak RSS (MB) | precision | recall | F1 |")
    print("|---|---|---|---|---|---|---|")
    clusters = work / "cjk-clusters.parquet"
    runs = []
    for name, flags in EPOCHPLAN_RUNS:
        m = measure([sys.executable, "-m", "epochplan", "audit", str(path), "--clusters", str(clusters), "-q", *flags])
        runs.append((name, m, pl.read_parquet(clusters)["near_id"].to_numpy().astype(np.int64)))
    for name, script in (("rensa (char 3-grams)", RENSA), ("datasketch bulk (char 3-grams)", DATASKETCH)):
        out = work / "cjk-peer.npy"
        # The peers' own shingle function, replaced by char 3-grams (defined after it, so it wins).
        script = script.replace("parent = list(range(len(texts)))", char_shingles + "parent = list(range(len(texts)))")
        m = measure(python_snippet(script) + [str(path), "0.7", str(out), str(rows)])
        runs.append((name, m, np.load(out)))
    for name, m, predicted in runs:
        precision, recall, f1 = pair_scores(predicted, truth)
        print(f"| {name} | {m.seconds:.1f} | {rows / m.seconds:,.0f} | {m.peak_rss_mb:,.0f} | {precision:.4f} | {recall:.4f} | {f1:.4f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("what", nargs="?", default="all", choices=["char-ngram", "clustering", "toolformer", "cjk", "all"])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--work", type=Path, default=Path(__file__).parent / "work")
    args = parser.parse_args()
    if args.what in ("char-ngram", "all"):
        char_ngram(args.rows)
    if args.what in ("clustering", "all"):
        clustering(args.rows * 5)
    if args.what in ("toolformer", "all"):
        toolformer()
    if args.what in ("cjk", "all"):
        cjk(args.rows, args.work)


if __name__ == "__main__":
    main()
