"""What the token counts leave out, and a tokenizer given where it cannot count, through the CLI.

Counts are `encode(text, add_special_tokens=False)`; training encodes with them. A BERT-style
WordPiece tokenizer.json (built here with the `tokenizers` package, its TemplateProcessing
post-processor adding [CLS] and [SEP]) turns rows of 511 tokens into 513-token sequences: the
audit says so (`special-tokens`) unless --sample-overhead covers them. Also: data flags given to a
plain `plan` that nothing reads, files given as a tokenizer.json that are something else, and the
file and row a tokenizer fails on.
"""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest
from tokenizers import Tokenizer, models, pre_tokenizers, processors

from conftest import assert_clean_error, run_cli
from tokenizer_fixture import write_gpt2_tokenizer_json

ROWS = 50
WORDS = 511


def wordpiece(path: Path, vocab: dict[str, int]) -> Path:
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tokenizer.enable_truncation(max_length=512)  # as a Hub file has it: ignored by the counts
    path.parent.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(path))
    return path


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> tuple[Path, Path]:
    """(tokenizer.json, data): 50 distinct rows of exactly 511 WordPiece tokens each."""
    root = tmp_path_factory.mktemp("bert")
    words = [f"w{i}" for i in range(ROWS)]
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, **{w: 4 + i for i, w in enumerate(words)}}
    tokenizer = wordpiece(root / "model" / "tokenizer.json", vocab)
    # Each row: its own word, then the others in a rotation of its own: distinct, not near copies.
    rows = [" ".join(words[(i + k * (i + 1)) % ROWS] for k in range(WORDS)) for i in range(ROWS)]
    data = root / "rows.parquet"
    pl.DataFrame({"text": rows}).write_parquet(data)
    return tokenizer, data


def test_the_fixture_adds_two_tokens_to_511(bert):
    tokenizer, data = bert
    reference = Tokenizer.from_file(str(tokenizer))
    reference.no_truncation()
    rows = pl.read_parquet(data)["text"].to_list()
    assert {len(reference.encode(r, add_special_tokens=False).ids) for r in rows} == {WORDS}
    assert {len(reference.encode(r).ids) for r in rows} == {WORDS + 2}
    assert reference.post_processor.num_special_tokens_to_add(False) == 2


def test_special_tokens_are_warned_about_and_recorded(bert, tmp_path):
    """Was: `truncated_samples 0, sample_overhead 0`, no warning, while each row trains as 513 tokens."""
    tokenizer, data = bert
    out = tmp_path / "a.json"
    done = run_cli("audit", str(data), "--tokenizer", str(tokenizer), "--seq-len", "512", "--regime", "classifier", "--json", str(out))
    assert done.returncode == 0, done.stderr
    audit = json.loads(out.read_text())
    assert audit["source"]["tokenizer"]["special_tokens_per_sample"] == 2
    warned = [w for w in audit["warnings"] if w["id"] == "special-tokens"]
    assert len(warned) == 1, audit["warnings"]
    message = warned[0]["message"]
    for fragment in (str(tokenizer), "adds 2 special tokens per sample", "[CLS], [SEP]", "--sample-overhead 2"):
        assert fragment in message, message
    assert message in " ".join(done.stdout.split()) or "--sample-overhead 2" in done.stdout  # said in the terminal
    assert audit["plan"]["truncated_samples"] == 0  # the plan as asked: the warning is why it is wrong
    # plan DATA says it on stderr too.
    planned = run_cli("plan", str(data), "--tokenizer", str(tokenizer), "--seq-len", "512", "--regime", "classifier", "-o", "-")
    assert planned.returncode == 0, planned.stderr
    assert "--sample-overhead 2" in planned.stderr


def test_an_overhead_that_covers_them_plans_them_and_is_no_warning(bert, tmp_path):
    tokenizer, data = bert
    for overhead, warned in (("1", True), ("2", False), ("12", False)):
        out = tmp_path / f"a{overhead}.json"
        args = ("--tokenizer", str(tokenizer), "--seq-len", "512", "--regime", "classifier", "--sample-overhead", overhead)
        done = run_cli("audit", str(data), *args, "--json", str(out), "-q")
        assert done.returncode == 0, done.stderr
        audit = json.loads(out.read_text())
        assert any(w["id"] == "special-tokens" for w in audit["warnings"]) is warned, (overhead, audit["warnings"])
        assert ("--sample-overhead 2" in done.stderr) is warned
        assert audit["plan"]["truncated_samples"] == (0 if warned else ROWS)  # 511 + 1 fits 512; 511 + 2 does not
        planned = run_cli("plan", str(data), *args, "-o", "-")
        assert planned.returncode == 0, planned.stderr
        assert ("special tokens per sample" in planned.stderr) is warned, planned.stderr


def test_a_tokenizer_without_a_template_is_no_warning(bert, tmp_path):
    """GPT-2's tokenizer.json (a ByteLevel post-processor, which adds nothing)."""
    _, data = bert
    gpt2 = write_gpt2_tokenizer_json(tmp_path / "gpt2" / "tokenizer.json")
    assert Tokenizer.from_file(str(gpt2)).post_processor.num_special_tokens_to_add(False) == 0
    out = tmp_path / "a.json"
    done = run_cli("audit", str(data), "--tokenizer", str(gpt2), "--json", str(out), "-q")
    assert done.returncode == 0, done.stderr
    audit = json.loads(out.read_text())
    assert audit["source"]["tokenizer"]["special_tokens_per_sample"] == 0
    assert not any(w["id"] == "special-tokens" for w in audit["warnings"])


def test_data_flags_without_data_are_refused(bert, tmp_path):
    """`plan --tokens 1e6 --samples 1000 --tokenizer /nonexistent/x.json` planned, exit 0."""
    tokenizer, data = bert
    counts = ("plan", "--tokens", "1e6", "--samples", "1000")
    assert_clean_error(run_cli(*counts, "--tokenizer", "/nonexistent/x.json"), "--tokenizer needs data to count", "give DATA or --audit")
    for flags in (["--no-near"], ["--threshold", "0.5"], ["--text", "t"], ["--eval", str(data)]):
        assert_clean_error(run_cli(*counts, *flags), f"{flags[0]} needs data to audit", "give DATA")
    # Set for every command in the environment or a configuration file: not an error.
    assert run_cli(*counts, env={"EPOCHPLAN_TOKENIZER": "/nonexistent/x.json"}).returncode == 0
    (tmp_path / "epochplan.toml").write_text(f'tokenizer = "{tokenizer}"\nthreshold = 0.5\n')
    assert run_cli(*counts, cwd=tmp_path).returncode == 0
    # With --audit: the tokenizer is checked against it; the other data flags change nothing.
    audit = tmp_path / "a.json"
    assert run_cli("audit", str(data), "--tokenizer", str(tokenizer), "--json", str(audit), "-q").returncode == 0
    assert run_cli("plan", "--audit", str(audit), "--tokenizer", str(tokenizer)).returncode == 0
    assert_clean_error(run_cli("plan", "--audit", str(audit), "--label", "y"), "--label changes nothing with --audit")


def test_files_that_are_no_tokenizer_json_are_named_for_what_they_are(bert, tmp_path):
    tokenizer, data = bert
    config = tokenizer.parent / "tokenizer_config.json"
    config.write_text(json.dumps({"model_max_length": 512, "tokenizer_class": "BertTokenizer"}))
    spm = tmp_path / "spiece.model"
    spm.write_bytes(b"\n\x0e\n\x05<unk>\x15\x00\x00\x00\x00\x18\x02")
    cases = [
        (config, ["is the model's tokenizer_config.json", f"give {tokenizer} beside it"]),
        (spm, ["slow (sentencepiece) tokenizer file", "save_pretrained(DIR)"]),
        ("gpt2", ["Hub model names are not fetched", "hf download gpt2 tokenizer.json"]),
        ("https://huggingface.co/gpt2/resolve/main/tokenizer.json", ["URLs are not fetched", "curl"]),
    ]
    for given, fragments in cases:
        done = run_cli("audit", str(data), "--tokenizer", str(given), "-q", cwd=tmp_path)
        assert_clean_error(done, *fragments)


def test_a_row_the_tokenizer_fails_on_is_named_in_its_file(tmp_path):
    """Was `tokenizer … cannot tokenize row 8` (the row of the whole input) on the local engine."""
    tokenizer = Tokenizer(models.WordLevel({"the": 0}))  # no unknown token: other words fail
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.save(str(tmp_path / "tokenizer.json"))
    folder = tmp_path / "data"
    folder.mkdir()
    pl.DataFrame({"text": ["the"] * 5}).write_parquet(folder / "a.parquet")
    pl.DataFrame({"text": ["the", "the", "the", "zebra"]}).write_parquet(folder / "b.parquet")
    done = run_cli("audit", str(folder), "--tokenizer", str(tmp_path / "tokenizer.json"), "-q")
    assert_clean_error(done, f"cannot tokenize row 3 of {folder / 'b.parquet'}", "Missing [UNK]")
