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


# --- Multilingual corpus (issue 14) -----------------------------------------------------------
# Documents as web and instruction data mix scripts: each has a main script (Latin with
# diacritics, English with typographic punctuation, Cyrillic, Greek, Arabic, Devanagari, Korean,
# or English with embedded Chinese/Japanese sentences, or code with its explanation) and about a
# quarter of its sentences from elsewhere (English, code, Chinese, Japanese), plus emoji. ~1 % of
# documents are plain ASCII. Chinese and Japanese appear as unspaced sentences inside otherwise
# spaced text, so every document still has word shingles (the CJK corpus covers unspaced ones).
# Vocabularies avoid letters whose case mapping does not round-trip (ß, σ/ς, dotless i, ŉ …), so
# an uppercased copy normalises back to its original. Some originals are not in NFKC themselves
# (ellipsis, no-break space, fullwidth CJK punctuation, halfwidth katakana, ligatures), as real
# text often is.

_ML_SENTENCES_PER_POOL = 40_000
_ML_SLOTS = 9  # sentences per document by default, ~100 bytes each
_ML_LATIN = "abcdefghijklmnopqrstuvwxyz"
_ML_DIACRITICS = "àáâãäåæçèéêëìíîïñòóôõöøùúûüýÿąćęłńśźżčďěňřšťůžőű"
_ML_CYRILLIC = "абвгдеёжзийклмнопрстуфхцчшщъыьэюя"
_ML_GREEK = "αβγδεζηθικλμνξοπρτυφχψωάέήίόύώ"  # no σ/ς: final sigma lowercases by context
_ML_ARABIC = "".join(chr(c) for c in range(0x0627, 0x063B)) + "".join(chr(c) for c in range(0x0641, 0x064B))
_ML_DEVANAGARI_CONSONANTS = "".join(chr(c) for c in range(0x0915, 0x093A))
_ML_DEVANAGARI_SIGNS = "ािीुूेैोौं"
_ML_HIRAGANA = "".join(chr(c) for c in range(0x3042, 0x3094))
_ML_KATAKANA = "".join(chr(c) for c in range(0x30A2, 0x30F4))
_ML_HALFWIDTH_KATAKANA = "".join(chr(c) for c in range(0xFF71, 0xFF9E))
_ML_HAN = "".join(chr(c) for c in range(0x4E00, 0x4E00 + 3000))
_ML_EMOJI = ["😀", "🎉", "👍", "🔥", "🚀", "❤️", "✅", "🙏", "😂", "🤔", "👨‍💻", "🇫🇷", "☕", "📚"]
_ML_OPEN_CLOSE = [("“", "”"), ("‘", "’"), ("«", "»"), ("„", "“"), ("「", "」")]
_ML_CODE = [
    "def {a}({b}): return {b} * 2",
    "for (int {a} = 0; {a} < {b}; {a}++) {{ total += {a}; }}",
    "const {a} = await fetch(`/api/{b}`);",
    "SELECT {a}, COUNT(*) FROM {b} GROUP BY {a};",
    "if {a} is None: raise ValueError('{b}')",
    "let {a}: Vec<u64> = {b}.iter().map(|x| x + 1).collect();",
    "{a} = [x for x in {b} if x % 2 == 0]",
    'git commit -m "fix {a} in {b}"',
]


def _ml_words(rng: np.random.Generator, n: int, make) -> np.ndarray:
    return np.array([make(rng) for _ in range(n)])


def _ml_word(letters: str, low: int, high: int):
    alphabet = np.array(list(letters))
    return lambda rng: "".join(rng.choice(alphabet, rng.integers(low, high)))


def _ml_latin_word(rng: np.random.Generator) -> str:
    letters = list(rng.choice(np.array(list(_ML_LATIN)), rng.integers(2, 10)))
    for i in np.flatnonzero(rng.random(len(letters)) < 0.15):
        letters[i] = _ML_DIACRITICS[rng.integers(0, len(_ML_DIACRITICS))]
    return "".join(letters)


def _ml_devanagari_word(rng: np.random.Generator) -> str:
    syllables = rng.integers(1, 4)
    return "".join(
        _ML_DEVANAGARI_CONSONANTS[rng.integers(0, len(_ML_DEVANAGARI_CONSONANTS))]
        + (_ML_DEVANAGARI_SIGNS[rng.integers(0, len(_ML_DEVANAGARI_SIGNS))] if rng.random() < 0.7 else "")
        for _ in range(syllables)
    )


def _ml_hangul_word(rng: np.random.Generator) -> str:
    return "".join(chr(0xAC00 + int(rng.integers(0, 11172))) for _ in range(rng.integers(1, 5)))


def _ml_spaced_pool(
    rng: np.random.Generator, vocabulary: np.ndarray, end: str, bytes_per_word: float, typographic: bool = True
) -> list[str]:
    """Sentences of ~100 bytes from a Zipf-like draw over `vocabulary`."""
    size = len(vocabulary)
    counts = np.maximum(3, (rng.uniform(80, 150, _ML_SENTENCES_PER_POOL) / bytes_per_word).astype(int))
    ids = np.minimum(rng.zipf(1.2, int(counts.sum())) - 1, size - 1)
    words = vocabulary[ids]
    sentences, at = [], 0
    for count in counts:
        sentence = list(words[at : at + count])
        at += count
        sentence[0] = sentence[0].capitalize()
        if typographic:
            roll = rng.random()
            if roll < 0.3:  # a quoted phrase
                i = int(rng.integers(0, len(sentence)))
                opening, closing = _ML_OPEN_CLOSE[rng.integers(0, len(_ML_OPEN_CLOSE))]
                sentence[i] = opening + sentence[i] + closing
            elif roll < 0.45:
                sentence.insert(int(rng.integers(1, len(sentence))), "—")
            elif roll < 0.55:
                sentence[-1] += "…"  # not NFKC: becomes "..."
            if rng.random() < 0.1:
                sentence.append(_ML_EMOJI[rng.integers(0, len(_ML_EMOJI))])
            if rng.random() < 0.05:
                sentence[int(rng.integers(0, len(sentence)))] += "\u00a0%"  # no-break space, NFKC: a space
        sentences.append(" ".join(sentence) + end)
    return sentences


def _ml_unspaced_pool(rng: np.random.Generator, japanese: bool) -> list[str]:
    han = rng.permutation(np.array(list(_ML_HAN)))  # frequency ranks not in code point order
    sentences = []
    for _ in range(_ML_SENTENCES_PER_POOL):
        chars = []
        for _ in range(int(rng.integers(15, 40))):
            roll = rng.random()
            if japanese and roll < 0.45:
                chars.append(_ML_HIRAGANA[rng.integers(0, len(_ML_HIRAGANA))])
            elif japanese and roll < 0.6:
                chars.append(_ML_KATAKANA[rng.integers(0, len(_ML_KATAKANA))])
            elif japanese and roll < 0.62:
                chars.append(_ML_HALFWIDTH_KATAKANA[rng.integers(0, len(_ML_HALFWIDTH_KATAKANA))])  # not NFKC
            else:
                chars.append(han[min(int(rng.zipf(1.1)) - 1, len(han) - 1)])
        if rng.random() < 0.5:
            chars.insert(int(rng.integers(1, len(chars))), "，" if not japanese else "、")  # fullwidth comma: not NFKC
        sentences.append("".join(chars) + ("。" if rng.random() < 0.8 else "！"))
    return sentences


def _ml_code_pool(rng: np.random.Generator, names: np.ndarray) -> list[str]:
    return [
        _ML_CODE[rng.integers(0, len(_ML_CODE))].format(a=names[rng.integers(0, len(names))], b=names[rng.integers(0, len(names))])
        for _ in range(_ML_SENTENCES_PER_POOL)
    ]


def _ml_pools(rng: np.random.Generator) -> tuple[dict[str, list[str]], dict[str, np.ndarray]]:
    vocab = {
        "latin": _ml_words(rng, 30_000, _ml_latin_word),
        "english": _ml_words(rng, 20_000, _ml_word(_ML_LATIN, 2, 10)),
        "cyrillic": _ml_words(rng, 30_000, _ml_word(_ML_CYRILLIC, 2, 11)),
        "greek": _ml_words(rng, 20_000, _ml_word(_ML_GREEK, 2, 10)),
        "arabic": _ml_words(rng, 20_000, _ml_word(_ML_ARABIC, 2, 8)),
        "devanagari": _ml_words(rng, 20_000, _ml_devanagari_word),
        "korean": _ml_words(rng, 20_000, _ml_hangul_word),
    }
    pools = {
        "latin": _ml_spaced_pool(rng, vocab["latin"], ".", 7.5),
        "english": _ml_spaced_pool(rng, vocab["english"], ".", 6.5),
        "ascii": _ml_spaced_pool(rng, vocab["english"], ".", 6.5, typographic=False),
        "cyrillic": _ml_spaced_pool(rng, vocab["cyrillic"], ".", 12.5),
        "greek": _ml_spaced_pool(rng, vocab["greek"], ";", 12.0),
        "arabic": _ml_spaced_pool(rng, vocab["arabic"], "؟", 11.0),
        "devanagari": _ml_spaced_pool(rng, vocab["devanagari"], "।", 12.0),
        "korean": _ml_spaced_pool(rng, vocab["korean"], ".", 8.5),
        "chinese": _ml_unspaced_pool(rng, japanese=False),
        "japanese": _ml_unspaced_pool(rng, japanese=True),
        "code": _ml_code_pool(rng, vocab["english"][:2000]),
    }
    vocab["ascii"] = vocab["code"] = vocab["chinese"] = vocab["japanese"] = vocab["english"]
    return pools, vocab


# main pool of a document: weight, and the pools its other sentences come from
_ML_DOCUMENTS = {
    "latin": (0.28, ("english", "code", "chinese")),
    "english": (0.16, ("code", "chinese", "japanese", "latin")),
    "cyrillic": (0.12, ("english", "code")),
    "greek": (0.05, ("english", "latin")),
    "arabic": (0.08, ("english",)),
    "devanagari": (0.08, ("english", "code")),
    "korean": (0.07, ("english", "chinese", "japanese")),
    "chinese": (0.05, ("english", "english", "code")),  # English text with Chinese sentences (mixins first)
    "japanese": (0.05, ("english", "english", "code")),
    "code": (0.05, ("english", "latin")),
    "ascii": (0.008, ("ascii",)),
}

_FULLWIDTH = {c: c + 0xFEE0 for c in range(0x21, 0x7F)}


def _ml_variant(text: str, rng: np.random.Generator) -> str:
    """A copy equal to `text` after NFKC + lowercase + whitespace collapsing, different raw."""
    roll = rng.random()
    if roll < 0.3:
        return text.upper()
    if roll < 0.55:
        return text.translate(_FULLWIDTH)  # fullwidth Latin, digits and punctuation (NFKC folds them back)
    if roll < 0.8:
        return text.replace(" ", "\u3000", 5).replace(" ", " \u00a0\t", 3) + "\n"
    return text.title()


def generate_multilingual(
    rows: int,
    exact_fraction: float = 0.10,
    variant_fraction: float = 0.02,
    near_fraction: float = 0.0,
    near_edit_rate: float | tuple[float, float] = 0.05,
    far_fraction: float = 0.0,
    far_edit_rate: float | tuple[float, float] = (0.3, 0.5),
    seed: int = 0,
    row_offset: int = 0,
    sentences: int = _ML_SLOTS,
) -> pl.DataFrame:
    """The multilingual corpus (see above): the same planted structure and truth columns as
    `generate`; variants are also fullwidth, titlecase and Unicode-whitespace copies.
    `sentences` per document: 9 (~900 bytes) by default; 1 gives chat-sized rows (~110 bytes),
    where the cost per row rather than per byte decides the speed."""
    rng = np.random.default_rng(seed)
    pools, vocab = _ml_pools(rng)
    names = list(_ML_DOCUMENTS)
    weights = np.array([_ML_DOCUMENTS[n][0] for n in names])
    main = rng.choice(len(names), rows, p=weights / weights.sum())
    # Pool of each slot: the main pool for ~3/4 of the slots (for chinese/japanese documents, the
    # main pool is the embedded language and English carries the rest), else one of its mixins.
    pool_names = list(pools)
    pool_index = {n: i for i, n in enumerate(pool_names)}
    slot_pool = np.empty((rows, sentences), np.int64)
    mix_roll = rng.random((rows, sentences))
    mix_pick = rng.integers(0, 1 << 30, (rows, sentences))
    for d, name in enumerate(names):
        in_doc = main == d
        mixins = np.array([pool_index[m] for m in _ML_DOCUMENTS[name][1]])
        share_main = 0.25 if name in ("chinese", "japanese") else 0.75
        chosen = np.where(mix_roll[in_doc] < share_main, pool_index[name], mixins[mix_pick[in_doc] % len(mixins)])
        slot_pool[in_doc] = chosen
    flat = pl.Series([s for n in pool_names for s in pools[n]])
    offsets = np.arange(len(pool_names)) * _ML_SENTENCES_PER_POOL
    picks = offsets[slot_pool] + rng.integers(0, _ML_SENTENCES_PER_POOL, (rows, sentences))
    frame = pl.DataFrame({f"s{i}": flat.gather(picks[:, i]) for i in range(sentences)})
    text = pl.concat_str(
        [pl.lit("doc"), (pl.int_range(pl.len()) + row_offset).cast(pl.String), *[pl.col(f"s{i}") for i in range(sentences)]], separator=" "
    )
    texts = frame.select(text.alias("text"))["text"].to_list()

    n_exact, n_variant, n_near, n_far = (int(rows * f) for f in (exact_fraction, variant_fraction, near_fraction, far_fraction))
    n_copies = n_exact + n_variant + n_near + n_far
    copy_rows = np.sort(rng.choice(np.arange(n_copies, rows), n_copies, replace=False))
    kinds = np.array(["exact"] * n_exact + ["variant"] * n_variant + ["near"] * n_near + ["far"] * n_far)
    rng.shuffle(kinds)
    is_copy = np.zeros(rows, bool)
    is_copy[copy_rows] = True
    original_positions = np.flatnonzero(~is_copy)
    sources = np.array([original_positions[rng.integers(0, np.searchsorted(original_positions, r))] for r in copy_rows], dtype=np.int64)
    for row, src, kind in zip(copy_rows, sources, kinds):
        base = texts[src]
        if kind == "exact":
            texts[row] = base
        elif kind == "variant":
            texts[row] = _ml_variant(base, rng)
        else:
            words = base.split(" ")
            edit_rate = near_edit_rate if kind == "near" else far_edit_rate
            rate = rng.uniform(*edit_rate) if isinstance(edit_rate, tuple) else edit_rate
            replacement = vocab[names[main[src]]]
            for position in rng.choice(np.arange(1, len(words)), max(1, int(len(words) * rate)), replace=False):
                words[position] = replacement[rng.integers(0, len(replacement))]
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
    return _write(out, generate(rows, words, **kwargs))


def write_multilingual(out: Path, rows: int, **kwargs) -> Path:
    return _write(out, generate_multilingual(rows, **kwargs))


def _write(out: Path, frame: pl.DataFrame) -> Path:
    partial = out.with_name(out.name + ".partial")
    frame.write_parquet(partial, row_group_size=50_000)
    partial.replace(out)  # an interrupted run must not leave a half file that a rerun would reuse
    print(f"wrote {out}: {frame.height:,} rows, {frame['text'].str.len_bytes().mean():,.0f} bytes/row", flush=True)
    return out


if __name__ == "__main__":
    main()
