"""Deterministic synthetic corpora with planted duplicates and their ground truth.

Rows are built from a pool of generated sentences (random words from a Zipf-like vocabulary), so
generation is vectorised in polars and fast even for millions of rows. Planted structure:
- `exact_fraction` of rows are byte-identical copies of an earlier original row;
- `variant_fraction` of rows are case/whitespace variants of an earlier original (equal after
  the default normalisation, different raw);
- `near_fraction` of rows are near copies: an earlier original with `near_edit_rate` of its
  words replaced (a number, or a (low, high) range drawn per copy) (high word-5-gram Jaccard when the rate is low);
- `far_fraction` of rows are far copies: the same with `far_edit_rate` (low Jaccard: related
  documents that are not duplicates).
The truth columns `source_row` (original row, or -1) and `kind` (original|exact|variant|near|far)
come with the text.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import polars as pl

VOCABULARY_SIZE = 30_000
POOL_SENTENCES = 200_000


def _vocabulary(rng: np.random.Generator) -> np.ndarray:
    letters = np.array(list("abcdefghijklmnopqrstuvwxyz"))
    lengths = rng.integers(2, 10, VOCABULARY_SIZE)
    return np.array(["".join(rng.choice(letters, n)) for n in lengths])


def _word_ids(rng: np.random.Generator, n: int) -> np.ndarray:
    # Zipf-like word frequencies, like natural text: a few very common words, a long tail.
    ranks = rng.zipf(1.2, n) - 1
    return np.minimum(ranks, VOCABULARY_SIZE - 1)


def generate(
    rows: int,
    words_per_row: int = 250,
    exact_fraction: float = 0.10,
    variant_fraction: float = 0.02,
    near_fraction: float = 0.0,
    near_edit_rate: float | tuple[float, float] = 0.05,
    far_fraction: float = 0.0,
    far_edit_rate: float | tuple[float, float] = (0.3, 0.5),
    seed: int = 0,
    row_offset: int = 0,
) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    vocab = _vocabulary(rng)
    sentence_words = 10
    pool_ids = _word_ids(rng, POOL_SENTENCES * sentence_words).reshape(POOL_SENTENCES, sentence_words)
    pool = pl.Series([" ".join(vocab[ids]) for ids in pool_ids])
    # Sentence 0 of a row is unique to it (its row number in words), so originals never collide.
    per_row = max(words_per_row // sentence_words, 1)
    picks = rng.integers(0, POOL_SENTENCES, (rows, per_row))
    frame = pl.DataFrame({f"s{i}": pool.gather(picks[:, i]) for i in range(per_row)})
    text = pl.concat_str(
        [pl.lit("doc"), (pl.int_range(pl.len()) + row_offset).cast(pl.String), *[pl.col(f"s{i}") for i in range(per_row)]], separator=" "
    )
    originals = frame.select(text.alias("text"))["text"]

    n_exact, n_variant, n_near, n_far = (int(rows * f) for f in (exact_fraction, variant_fraction, near_fraction, far_fraction))
    n_copies = n_exact + n_variant + n_near + n_far
    copy_rows = rng.choice(np.arange(n_copies, rows), n_copies, replace=False)  # positions that become copies
    copy_rows.sort()
    kinds = np.array(["exact"] * n_exact + ["variant"] * n_variant + ["near"] * n_near + ["far"] * n_far)
    rng.shuffle(kinds)
    # each copy copies an original that comes before it and is not itself a copy
    is_copy = np.zeros(rows, bool)
    is_copy[copy_rows] = True
    original_positions = np.flatnonzero(~is_copy)
    sources = np.array([original_positions[rng.integers(0, np.searchsorted(original_positions, r))] for r in copy_rows])

    texts = originals.to_list()
    for row, src, kind in zip(copy_rows, sources, kinds):
        base = texts[src]
        if kind == "exact":
            texts[row] = base
        elif kind == "variant":
            texts[row] = base.upper() if rng.random() < 0.5 else base.replace(" ", "  \t", 3) + "\n"
        else:
            words = base.split(" ")
            edit_rate = near_edit_rate if kind == "near" else far_edit_rate
            rate = rng.uniform(*edit_rate) if isinstance(edit_rate, tuple) else edit_rate
            k = max(1, int(len(words) * rate))
            for position in rng.choice(np.arange(1, len(words)), k, replace=False):
                words[position] = vocab[rng.integers(0, VOCABULARY_SIZE)]
            texts[row] = " ".join(words)
    source_row = np.full(rows, -1, np.int64)
    source_row[copy_rows] = sources
    kind_col = np.full(rows, "original", dtype=object)
    kind_col[copy_rows] = kinds
    return pl.DataFrame({"text": texts, "source_row": source_row, "kind": kind_col.astype(str)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--words", type=int, default=250)
    parser.add_argument("--near-fraction", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--row-offset", type=int, default=0, help="first document number (for shards)")
    args = parser.parse_args()
    write_corpus(args.out, args.rows, args.words, near_fraction=args.near_fraction, seed=args.seed, row_offset=args.row_offset)


def write_corpus(out: Path, rows: int, words: int = 250, **kwargs) -> Path:
    frame = generate(rows, words, **kwargs)
    partial = out.with_name(out.name + ".partial")
    frame.write_parquet(partial, row_group_size=50_000)
    partial.replace(out)  # an interrupted run must not leave a half file that a rerun would reuse
    print(f"wrote {out}: {frame.height:,} rows, {frame['text'].str.len_bytes().mean():,.0f} bytes/row", flush=True)
    return out


if __name__ == "__main__":
    main()
