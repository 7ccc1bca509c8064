"""Token counts in the audit and the plan, end to end through the CLI, against references.

The audit's `lengths.tokens` (total, max, mean, nearest-rank quantiles, histogram) and the unique
token sums are compared with the Python `tokenizers` library's `encode(add_special_tokens=False)`
counts with GPT-2's real tokenizer (built offline in tokenizer_fixture.py), on real data
(chatterbot in 28 languages, GPTeacher code prompts) plus hand-picked texts: English, code,
Chinese, emoji, empty strings and nulls. The plan's truncation and packing are compared with a
brute-force count and a textbook first-fit-decreasing loop on the same lengths.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from tokenizers import Tokenizer

import epochplan
from tokenizer_fixture import write_gpt2_tokenizer_json

DATA = Path("/work/shared/data")
HAND = [
    "The quick brown fox jumps over the lazy dog. It's 4:30pm; we'll see.",
    "the quick  brown fox jumps over the lazy dog. it's 4:30pm; we'll see.",  # exact copy once normalised
    "def fib(n: int) -> int:\n    return n if n < 2 else fib(n - 1) + fib(n - 2)  # naive\n",
    "机器学习是人工智能的一个分支，它使用统计方法让计算机从数据中“学习”。",
    "Emoji: 😀😃😄 👩‍👩‍👧‍👦 🇯🇵🇫🇷 👍🏽 ❤️ — and “smart quotes” … ©®™",
    "",
    None,
    " ",
    None,
    "Document one.<|endoftext|>Document two.",
    "word " * 900,
]


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "epochplan", *args], capture_output=True, text=True, cwd=cwd)


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory) -> Path:
    return write_gpt2_tokenizer_json(tmp_path_factory.mktemp("gpt2") / "tokenizer.json")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> tuple[Path, list[str | None]]:
    multilingual = pl.read_parquet(DATA / "chatterbot_multilingual.parquet")["text"].to_list()
    code = pl.read_parquet(DATA / "gpteacher_codegen-instruct.parquet")["prompt"].to_list()[:1500]
    texts = HAND + multilingual + code
    path = tmp_path_factory.mktemp("corpus") / "data.parquet"
    pl.DataFrame({"text": texts}, schema={"text": pl.String}).write_parquet(path)
    return path, texts


@pytest.fixture(scope="module")
def library_counts(tokenizer_json, corpus) -> list[int | None]:
    reference = Tokenizer.from_file(str(tokenizer_json))
    texts = corpus[1]
    encodings = iter(reference.encode_batch([t for t in texts if t is not None], add_special_tokens=False))
    return [None if t is None else len(next(encodings).ids) for t in texts]


@pytest.fixture(scope="module")
def audited(tokenizer_json, corpus, tmp_path_factory) -> tuple[dict, pl.DataFrame]:
    out = tmp_path_factory.mktemp("audit")
    done = run_cli(
        "audit", str(corpus[0]), "--tokenizer", str(tokenizer_json), "--json", str(out / "a.json"),
        "--clusters", str(out / "c.parquet"), "-q",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads((out / "a.json").read_text()), pl.read_parquet(out / "c.parquet")


def nearest_rank(values: list[int], q: float) -> int:
    return int(np.quantile(np.array(values), q, method="inverted_cdf"))


def test_lengths_equal_the_tokenizers_library(audited, library_counts, tokenizer_json):
    audit, _ = audited
    tokens = audit["lengths"]["tokens"]
    counts = [c for c in library_counts if c is not None]
    assert tokens["estimated"] is False
    assert tokens["tokenizer"] == str(tokenizer_json)
    assert tokens["total"] == sum(counts)
    assert tokens["max"] == max(counts)
    assert tokens["mean"] == pytest.approx(sum(counts) / len(counts))
    for q in ("p50", "p90", "p99"):
        assert tokens[q] == nearest_rank(counts, int(q[1:]) / 100), q
    # Histogram: power-of-two bins [0,1), [1,2), [2,4), ..., up to the bin of the max.
    expected = Counter(0 if c == 0 else c.bit_length() for c in counts)
    bins = tokens["histogram"]
    assert [b[:2] for b in bins] == [[0, 1]] + [[1 << (k - 1), 1 << k] for k in range(1, len(bins))]
    assert [b[2] for b in bins] == [expected.get(k, 0) for k in range(len(bins))]
    assert bins[-1][0] <= max(counts) < bins[-1][1]
    # The estimate stays, and the counts differ from it on this multilingual data.
    assert abs(tokens["total"] - audit["lengths"]["tokens_estimate"]) > 0.05 * tokens["total"]
    assert audit["source"]["tokenizer"]["path"] == str(tokenizer_json)
    assert audit["source"]["tokenizer"]["sha256"] == hashlib.sha256(Path(tokenizer_json).read_bytes()).hexdigest()


def test_unique_tokens_sum_the_representatives(audited, library_counts):
    audit, clusters = audited
    assert audit["near"] is not None  # near detection is on by default
    rows = clusters.sort("row")
    assert rows.height == len(library_counts)
    sums, tables = {}, {}
    for level in ("exact", "near"):
        ids = rows[f"{level}_id"].to_list()
        reps = [library_counts[r] for r, i in enumerate(ids) if i == r]
        sums[level], tables[level] = sum(reps), sorted(Counter(reps).items())
        assert audit[level]["unique_tokens"] == sums[level], level
        assert len(reps) == audit[level]["unique"]
    assert sums["near"] < sums["exact"]  # chatterbot has near copies across files
    assert [tuple(x) for x in audit["lengths"]["tokens"]["unique_lengths"]] == tables["near"]


def test_estimate_without_a_tokenizer_is_labelled(corpus):
    texts = [t for t in corpus[1][:400]]
    result = epochplan.audit(pl.DataFrame({"text": texts}, schema={"text": pl.String}), near=False)
    tokens = result.to_dict()["lengths"]["tokens"]
    estimates = [math.ceil(len(t.encode()) / 4) for t in texts if t is not None]
    assert (tokens["estimated"], tokens["tokenizer"]) == (True, None)
    assert tokens["total"] == sum(estimates) and tokens["max"] == max(estimates)
    assert result.to_dict()["source"]["tokenizer"] is None
    assert result.exact.unique_tokens is not None and result.near is None


def test_python_api_takes_the_tokenizer(tokenizer_json):
    reference = Tokenizer.from_file(str(tokenizer_json))
    frame = pl.DataFrame({"prompt": ["机器学习 😀", "def f(x):\n  return x", None, "Hello world", "hello  WORLD"]})
    result = epochplan.audit(frame, text="prompt", tokenizer=str(tokenizer_json), near=False)
    expected = [len(reference.encode(t, add_special_tokens=False).ids) for t in frame["prompt"].to_list() if t is not None]
    assert result.lengths.tokens is not None
    assert (result.lengths.tokens.total, result.lengths.tokens.max) == (sum(expected), max(expected))
    assert result.exact.unique_tokens == sum(expected[:3])  # "hello  WORLD" is a copy of row 3


def ffd_sequences(lengths: list[int], seq_len: int) -> int:
    """The textbook loop: whole sequences for long samples, remainders largest first, first fit."""
    full = sum(n // seq_len for n in lengths)
    free: list[int] = []
    for piece in sorted((n % seq_len for n in lengths if n % seq_len), reverse=True):
        for i, room in enumerate(free):
            if room >= piece:
                free[i] -= piece
                break
        else:
            free.append(seq_len - piece)
    return full + len(free)


@pytest.mark.parametrize(("seq_len", "overhead"), [(32, 0), (64, 7), (200, 0)])
def test_plan_truncation_and_packing_equal_brute_force(audited, library_counts, tmp_path, seq_len, overhead):
    audit, clusters = audited
    path = tmp_path / "a.json"
    path.write_text(json.dumps(audit))
    ids = clusters.sort("row")["near_id"].to_list()
    lengths = [library_counts[r] + overhead for r, i in enumerate(ids) if i == r]

    done = run_cli("plan", "--audit", str(path), "--seq-len", str(seq_len), "--sample-overhead", str(overhead), "-o", "-")
    assert done.returncode == 0, done.stderr
    unpacked = json.loads(done.stdout)
    cut = [n for n in lengths if n > seq_len]
    assert unpacked["truncated_samples"] == len(cut)
    assert unpacked["truncated_tokens"] == sum(n - seq_len for n in cut)
    assert unpacked["tokens_per_epoch"] == sum(min(n, seq_len) for n in lengths)
    assert unpacked["sample_overhead"] == overhead and unpacked["setup"]["sample_overhead"] == overhead
    assert unpacked["unique_tokens"] == audit["near"]["unique_tokens"]
    fields = {r["field"] for r in unpacked["rationale"]}
    assert {"truncated_samples", "truncated_tokens", "tokens_per_epoch", "unique_tokens"} <= fields
    assert ("sample_overhead" in fields) == (overhead > 0)
    share = len(cut) / len(lengths)
    assert any("longer than --seq-len" in w for w in unpacked["warnings"]) == (share >= 0.05)

    done = run_cli("plan", "--audit", str(path), "--seq-len", str(seq_len), "--packing", "--sample-overhead", str(overhead), "-o", "-")
    assert done.returncode == 0, done.stderr
    packed = json.loads(done.stdout)
    sequences = ffd_sequences(lengths, seq_len)
    assert packed["samples_per_epoch"] == sequences
    assert packed["packing_efficiency"] == round(sum(lengths) / (sequences * seq_len), 4)
    assert packed["tokens_per_epoch"] == sum(lengths)


def test_truncation_warning_in_the_terminal(tokenizer_json, corpus):
    done = run_cli("audit", str(corpus[0]), "--tokenizer", str(tokenizer_json), "--seq-len", "16", "--no-near")
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "unique tokens (tokenizer)" in out
    assert "│ tokens │" in done.stdout  # the token row of the lengths table
    assert "longer than --seq-len 16" in out


def test_bad_tokenizer_exits_2_before_the_data_is_read(tmp_path):
    missing_data = str(tmp_path / "no-such-data.parquet")
    not_json = tmp_path / "tokenizer.json"
    not_json.write_text("this is not json")
    folder = tmp_path / "folder"
    folder.mkdir()
    for tokenizer in (tmp_path / "missing.json", not_json, folder):
        for command in (["audit"], ["check"], ["plan"], ["dedup", "-o", str(tmp_path / "out.parquet")]):
            done = run_cli(command[0], missing_data, *command[1:], "--tokenizer", str(tokenizer))
            assert done.returncode == 2, (command, tokenizer, done.stderr)
            lines = done.stderr.strip().splitlines()
            assert len(lines) == 1 and str(tokenizer) in lines[0] and "no-such-data" not in lines[0], lines
            assert "Traceback" not in done.stderr


def test_a_model_folder_reads_its_tokenizer_json(audited, tokenizer_json, corpus, tmp_path):
    # `--tokenizer` takes the model folder too, as `from_pretrained` does: its tokenizer.json
    # gives the same counts, and the audit names the file it read.
    model = tmp_path / "my model"
    model.mkdir()
    (model / "tokenizer.json").write_bytes(Path(tokenizer_json).read_bytes())
    (model / "config.json").write_text("{}")
    done = run_cli("audit", str(corpus[0]), "--tokenizer", str(model), "--json", "-", "-q")
    assert done.returncode == 0, done.stderr
    audit = json.loads(done.stdout)
    assert audit["source"]["tokenizer"]["path"] == str(model / "tokenizer.json")
    assert audit["lengths"]["tokens"] == audited[0]["lengths"]["tokens"] | {"tokenizer": str(model / "tokenizer.json")}
    # A folder with only a slow tokenizer's files says what to write.
    (model / "tokenizer.json").unlink()
    (model / "tokenizer.model").write_bytes(b"sentencepiece")
    done = run_cli("audit", str(corpus[0]), "--tokenizer", str(model))
    assert done.returncode == 2 and "has no tokenizer.json" in done.stderr and str(model) in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_config_path_is_relative_to_the_config_file(tokenizer_json, corpus, tmp_path):
    project = tmp_path / "project"
    (project / "models").mkdir(parents=True)
    (project / "models" / "tokenizer.json").write_bytes(Path(tokenizer_json).read_bytes())
    (project / "pyproject.toml").write_text('[tool.epochplan]\ntokenizer = "models/tokenizer.json"\nnear = false\n')
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run_cli("audit", str(corpus[0]), "--config", str(project / "pyproject.toml"), "--json", "-", cwd=elsewhere)
    assert done.returncode == 0, done.stderr
    audit = json.loads(done.stdout)
    assert audit["source"]["tokenizer"]["path"] == str(project / "models" / "tokenizer.json")
    assert audit["lengths"]["tokens"]["estimated"] is False
    shown = run_cli("config", "show", "--config", str(project / "pyproject.toml"), cwd=elsewhere)
    assert "tokenizer" in shown.stdout
    # A wrong relative path names the resolved file.
    (project / "pyproject.toml").write_text('[tool.epochplan]\ntokenizer = "models/missing.json"\n')
    done = run_cli("check", str(corpus[0]), "--config", str(project / "pyproject.toml"), cwd=elsewhere)
    assert done.returncode == 2 and str(project / "models" / "missing.json") in done.stderr


def test_plan_from_an_audit_without_token_keys_still_works(audited, tmp_path):
    audit, _ = audited
    old = json.loads(json.dumps(audit))
    for level in ("exact", "near"):
        del old[level]["unique_tokens"]
    del old["lengths"]["tokens"]
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    done = run_cli("plan", "--audit", str(path), "--seq-len", "64", "-o", "-")
    assert done.returncode == 0, done.stderr
    plan = json.loads(done.stdout)
    assert plan["truncated_samples"] is None and "tokens_estimate" in plan["rationale"][1]["detail"]


def test_every_output_says_whether_unique_tokens_are_counted_or_estimated(tokenizer_json, tmp_path):
    """The plan table said "(estimate)" beside tokenizer counts and the Markdown headline gave
    the bytes/4 estimate unlabelled: each now says which it is, as the JSON does."""
    data = tmp_path / "d.parquet"
    pl.DataFrame({"text": ["hello world", "foo bar baz", "hello world"]}).write_parquet(data)
    counted = run_cli("plan", str(data), "--tokenizer", str(tokenizer_json), "-o", str(tmp_path / "p.json"))
    estimated = run_cli("plan", str(data), "-o", str(tmp_path / "e.json"))
    assert counted.returncode == 0 and estimated.returncode == 0, counted.stderr + estimated.stderr
    row = next(line for line in counted.stdout.splitlines() if "unique tokens" in line)
    assert "estimate" not in row, row
    assert "(estimate)" in next(line for line in estimated.stdout.splitlines() if "unique tokens" in line)
    assert json.loads((tmp_path / "p.json").read_text())["unique_tokens_estimated"] is False
    assert json.loads((tmp_path / "e.json").read_text())["unique_tokens_estimated"] is True
    given = run_cli("plan", "--samples", "10", "--tokens", "1000", "-o", str(tmp_path / "g.json"))
    assert given.returncode == 0 and json.loads((tmp_path / "g.json").read_text())["unique_tokens_estimated"] is False

    markdown = run_cli("audit", str(data), "--tokenizer", str(tokenizer_json), "--markdown", "-", "-q")
    assert "Unique tokens (tokenizer counts):" in markdown.stdout, markdown.stdout
    markdown = run_cli("audit", str(data), "--markdown", "-", "-q")
    assert "Unique tokens (estimate, UTF-8 bytes / 4):" in markdown.stdout, markdown.stdout

    # All-null text has no token lengths; a tokenizer still did the (zero) counting.
    nulls = tmp_path / "nulls.parquet"
    pl.DataFrame({"text": [None, None]}, schema={"text": pl.String}).write_parquet(nulls)
    terminal = " ".join(run_cli("audit", str(nulls), "--tokenizer", str(tokenizer_json)).stdout.split())
    assert "unique tokens (tokenizer)" in terminal and "unique tokens (estimate" not in terminal, terminal
    markdown = run_cli("audit", str(nulls), "--tokenizer", str(tokenizer_json), "--markdown", "-", "-q")
    assert "Unique tokens (tokenizer counts): 0." in markdown.stdout, markdown.stdout


def test_plan_refuses_a_tokenizer_its_audit_did_not_count_with(tokenizer_json, tmp_path):
    """`plan --audit A.json --tokenizer T` plans on the audit's counts: an audit made with the
    bytes/4 estimate was planned on silently, as if T had counted (exit 0). Now exit 2 saying
    how to get T's counts; the audit made with T plans as before."""
    data = tmp_path / "d.parquet"
    pl.DataFrame({"text": ["hello world", "foo bar baz"]}).write_parquet(data)
    assert run_cli("audit", str(data), "--json", str(tmp_path / "est.json"), "-q").returncode == 0
    assert run_cli("audit", str(data), "--tokenizer", str(tokenizer_json), "--json", str(tmp_path / "tok.json"), "-q").returncode == 0
    refused = run_cli("plan", "--audit", str(tmp_path / "est.json"), "--tokenizer", str(tokenizer_json))
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "bytes/4 estimate" in refused.stderr and "--tokenizer" in refused.stderr
    planned = run_cli("plan", "--audit", str(tmp_path / "tok.json"), "--tokenizer", str(tokenizer_json), "-o", "-")
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["unique_tokens_estimated"] is False
    assert run_cli("plan", "--audit", str(tmp_path / "est.json")).returncode == 0
