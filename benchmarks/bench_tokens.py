"""Exact token counting: epochplan's TokenCounter against the Python `tokenizers` library
(`encode_batch`, `encode_batch_fast`) and tiktoken, on the same documents with GPT-2's tokenizer,
in one run. The script checks that every tool gives the same count for every document (no timing
is asserted) and prints a Markdown table.

Documents: synthetic ones from corpus.py (Zipf-like random words) and real ones from
../shared/data (English and 27 other languages of dialogue, code instructions and answers),
combined and lightly perturbed so that few are byte-identical, plus some containing
`<|endoftext|>`. All tools run in this process on the machine's cores (rayon in epochplan and
tokenizers, threads in tiktoken).

    python benchmarks/bench_tokens.py --synthetic 50000 --real 60000
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
from corpus import generate  # noqa: E402
from tokenizer_fixture import ENDOFTEXT, gpt2_tiktoken, write_gpt2_tokenizer_json  # noqa: E402

SHARED_DATA = Path(os.environ.get("EPOCHPLAN_SHARED_DATA", Path(__file__).resolve().parent.parent.parent / "shared" / "data"))


def real_documents(count: int, seed: int) -> list[str]:
    """`count` documents of 1-4 real texts each, with a number and a case change mixed in."""
    multilingual = pl.read_parquet(SHARED_DATA / "chatterbot_multilingual.parquet")["text"]
    english = pl.read_parquet(SHARED_DATA / "chatterbot_english.parquet")["text"]
    codegen = pl.read_parquet(SHARED_DATA / "gpteacher_codegen-instruct.parquet")
    toolformer = pl.read_parquet(SHARED_DATA / "gpteacher_toolformer_dedupe-only.parquet")
    pool = pl.concat([multilingual, english, codegen["prompt"], codegen["response"], toolformer["prompt"], toolformer["response"]])
    pool = pool.drop_nulls().to_list()
    rng = np.random.default_rng(seed)
    documents = []
    for i in range(count):
        parts = [pool[j] for j in rng.integers(0, len(pool), rng.integers(1, 5))]
        if rng.random() < 0.3:
            parts[0] = parts[0].upper()
        if i % 500 == 0:
            parts.insert(1, ENDOFTEXT)
        documents.append(f"({rng.integers(0, 100_000)}) " + "\n\n".join(parts))
    return documents


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synthetic", type=int, default=50_000, help="documents from corpus.py")
    parser.add_argument("--words", type=int, default=150, help="words per synthetic document")
    parser.add_argument("--real", type=int, default=60_000, help="documents built from ../shared/data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=10_000, help="documents per call, the same for every tool")
    args = parser.parse_args()

    import tokenizers

    from epochplan._epochplan import TokenCounter

    documents = generate(args.synthetic, args.words, seed=args.seed)["text"].to_list() + real_documents(args.real, args.seed)
    series = pl.Series("text", documents, dtype=pl.String)
    mb = series.str.len_bytes().sum() / 1e6
    non_ascii = (series.str.len_bytes() != series.str.len_chars()).sum()
    print(f"{len(documents):,} documents, {mb:,.0f} MB, {non_ascii:,} with non-ASCII text; {os.cpu_count()} CPUs", flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        path = str(write_gpt2_tokenizer_json(Path(tmp) / "tokenizer.json"))
        load_s, counter = timed(lambda: TokenCounter(path))
        reference = tokenizers.Tokenizer.from_file(path)
        # The same tokenizer with its ByteLevel pre-tokenizer wrapped in a one-step Sequence: the
        # same counts, but epochplan then takes its general path (the library's pre-tokenizer), which
        # shows what the byte-level shortcut adds to the piece cache.
        config = json.loads(Path(path).read_text())
        config["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [config["pre_tokenizer"]]}
        general_path = Path(tmp) / "general.json"
        general_path.write_text(json.dumps(config))
        general = TokenCounter(str(general_path))
    encoding = gpt2_tiktoken()

    runs: list[tuple[str, float, np.ndarray]] = []

    def run(name: str, fn) -> None:
        seconds, counts = timed(fn)
        runs.append((name, seconds, np.asarray(counts, dtype=np.int64)))
        print(f"{name}: {seconds:.2f} s", flush=True)

    # Every tool gets the documents in the same batches, so that no tool holds 100k encodings at once.
    batches = [documents[i : i + args.batch] for i in range(0, len(documents), args.batch)]
    series_batches = [series.slice(i, args.batch) for i in range(0, len(documents), args.batch)]
    threads = os.cpu_count() or 1

    def per_batch(count_batch, inputs):
        return lambda: [n for batch in inputs for n in count_batch(batch)]

    run(
        "tokenizers `encode_batch` (add_special_tokens=False)",
        per_batch(lambda b: [len(e.ids) for e in reference.encode_batch(b, add_special_tokens=False)], batches),
    )
    if hasattr(reference, "encode_batch_fast"):
        run(
            "tokenizers `encode_batch_fast`",
            per_batch(lambda b: [len(e.ids) for e in reference.encode_batch_fast(b, add_special_tokens=False)], batches),
        )
    run(
        "tiktoken `encode_batch` (same GPT-2 files)",
        per_batch(lambda b: [len(ids) for ids in encoding.encode_batch(b, allowed_special="all", num_threads=threads)], batches),
    )
    run("epochplan `TokenCounter.count` (first pass, empty cache)", per_batch(counter.count, series_batches))
    run("epochplan `TokenCounter.count` (second pass, warm cache)", per_batch(counter.count, series_batches))
    run("epochplan general path: library pre-tokenizer + piece cache (first pass)", per_batch(general.count, series_batches))

    expected = runs[0][2]
    for name, _, counts in runs:
        if not np.array_equal(counts, expected):
            bad = int(np.flatnonzero(counts != expected)[0])
            sys.exit(f"{name} disagrees with encode_batch on document {bad}: {counts[bad]} vs {expected[bad]}: {documents[bad][:200]!r}")
    tokens = int(expected.sum())
    baseline = runs[0][1]
    print(
        f"\nAll {len(runs)} tools agree on every document: {tokens:,} tokens "
        f"({tokens / len(documents):,.0f} per document, {mb * 1e6 / tokens:.2f} bytes per token). "
        f"TokenCounter load: {load_s:.2f} s.\n"
    )
    print("| tool | seconds | tokens/s | vs `encode_batch` |")
    print("|---|---:|---:|---:|")
    for name, seconds, _ in runs:
        print(f"| {name} | {seconds:.2f} | {tokens / seconds:,.0f} | {baseline / seconds:.2f}× |")


if __name__ == "__main__":
    main()
