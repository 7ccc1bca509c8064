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
come with the text. `generate_unspaced` builds Chinese or Japanese corpora (no spaces between
words) with near copies at a share of changed characters, the same way.
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


# Unspaced scripts (Chinese, Japanese): `generate_unspaced`.
HAN_POOL = 3_500  # about the number of characters in everyday Chinese use
HIRAGANA_PARTICLES = ["の", "は", "を", "に", "が", "で", "と", "も", "から", "まで", "より", "へ"]
JAPANESE_ENDINGS = ["です。", "ます。", "でした。", "する。", "ません。", "だった。"]


def _power_law(n: int, exponent: float) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** exponent
    return p / p.sum()


def _han_words(rng: np.random.Generator, size: int) -> np.ndarray:
    # Everyday characters (a random 3,500 of the CJK block) with a power-law frequency whose
    # most common character is ~5 % of all (as 的 is in Chinese text); words of 1-3 characters.
    chars = 0x4E00 + rng.choice(0x9FA5 - 0x4E00, HAN_POOL, replace=False)
    ranks = rng.choice(HAN_POOL, (size, 3), p=_power_law(HAN_POOL, 0.8))
    lengths = rng.choice([1, 2, 3], size, p=[0.25, 0.6, 0.15])
    return np.array(["".join(chr(chars[r]) for r in ranks[i, : lengths[i]]) for i in range(size)])


def _katakana_words(rng: np.random.Generator, size: int) -> np.ndarray:
    lengths = rng.integers(2, 6, size)
    return np.array(["".join(chr(0x30A1 + int(c)) for c in rng.integers(0, 86, n)) for n in lengths])


def generate_unspaced(
    rows: int,
    language: str = "chinese",
    chars_per_row: tuple[int, int] = (150, 400),
    near_fraction: float = 0.1,
    char_change_rate: float = 0.02,
    seed: int = 0,
) -> pl.DataFrame:
    """Chinese or Japanese documents (no spaces between words) from a pool of generated
    sentences — Zipf-distributed words of everyday Han characters; Japanese adds hiragana
    particles, katakana words and verb endings — each opened by its own row number so no two
    originals are equal. `near_fraction` of rows are near copies of an earlier original with
    `char_change_rate` of the characters replaced by other Han characters (as a typo, a variant
    character or an edit would). Truth columns as `generate`: `source_row` and `kind`
    (original|near)."""
    if language not in ("chinese", "japanese"):
        raise ValueError(f"language={language!r}: chinese or japanese")
    rng = np.random.default_rng(seed)
    words = _han_words(rng, 20_000)
    katakana = _katakana_words(rng, 2_000)
    counts = rng.integers(4, 12, 20_000)
    # Most common word ~6 % of all; drawn at once (one cumulative table, not one per sentence).
    all_ranks = rng.choice(len(words), int(counts.sum()), p=_power_law(len(words), 0.9))
    starts = np.concatenate([[0], np.cumsum(counts)])
    sentences = []
    for i in range(len(counts)):
        n = int(counts[i])
        ranks = all_ranks[starts[i] : starts[i + 1]]
        if language == "chinese":
            parts = list(words[ranks])
            sentence = "".join(parts) + ("。" if rng.random() < 0.6 else "，")
        else:
            parts = [katakana[rng.integers(0, len(katakana))] if rng.random() < 0.15 else w for w in words[ranks]]
            particles = rng.choice(HIRAGANA_PARTICLES, n)
            sentence = "".join(p + q for p, q in zip(parts, particles)) + JAPANESE_ENDINGS[rng.integers(0, len(JAPANESE_ENDINGS))]
        sentences.append(sentence)
    sentences = np.array(sentences)
    lengths = rng.integers(chars_per_row[0], chars_per_row[1], rows)
    texts = []
    for row in range(rows):
        text = f"第{row}条："
        while len(text) < lengths[row]:
            text += sentences[rng.integers(0, len(sentences))]
        texts.append(text)

    n_near = int(rows * near_fraction)
    copy_rows = np.sort(rng.choice(np.arange(n_near, rows), n_near, replace=False))
    is_copy = np.zeros(rows, bool)
    is_copy[copy_rows] = True
    originals = np.flatnonzero(~is_copy)
    sources = np.array([originals[rng.integers(0, np.searchsorted(originals, r))] for r in copy_rows], dtype=np.int64)
    han = np.array([chr(c) for c in 0x4E00 + rng.integers(0, 0x9FA5 - 0x4E00, 10_000)])
    for row, source in zip(copy_rows, sources):
        chars = list(texts[source])
        changes = max(1, round(len(chars) * char_change_rate))
        for at in rng.choice(len(chars), changes, replace=False):
            chars[at] = han[rng.integers(0, len(han))]
        texts[row] = "".join(chars)
    source_row = np.full(rows, -1, np.int64)
    source_row[copy_rows] = sources
    kind = np.where(is_copy, "near", "original")
    return pl.DataFrame({"text": texts, "source_row": source_row, "kind": kind})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--words", type=int, default=250)
    parser.add_argument("--near-fraction", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--row-offset", type=int, default=0, help="first document number (for shards)")
    parser.add_argument("--language", choices=["chinese", "japanese"], help="an unspaced corpus (generate_unspaced) instead")
    args = parser.parse_args()
    if args.language:
        frame = generate_unspaced(args.rows, args.language, near_fraction=args.near_fraction or 0.1, seed=args.seed)
        partial = args.out.with_name(args.out.name + ".partial")
        frame.write_parquet(partial)
        partial.replace(args.out)
        print(f"wrote {args.out}: {frame.height:,} rows", flush=True)
        return
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
