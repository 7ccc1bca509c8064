"""`--tokenizer PATH` is read once: its counter, its sha256 (in the audit JSON) and the bytes a Ray
driver ships are of the same bytes. Before, the core read the file, Python read it again to hash
it (and the Ray driver a third time): a path readable once (`--tokenizer <(cat tok.json)`, a
FIFO) counted with the real file but recorded the sha256 of empty input, which `plan --audit A
--tokenizer tok.json` then refused as another tokenizer. And a path's newline split the
messages about it over two lines."""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
import threading
import time
from pathlib import Path

import polars as pl
import pytest

import epochplan
from conftest import run_cli
from epochplan import InputError
from tokenizer_fixture import write_gpt2_tokenizer_json

TEXTS = ["hello world", "Hello   world, again!", None, "机器学习是人工智能的一个分支。", "def f(x):\n    return x * 2\n"]


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory) -> Path:
    return write_gpt2_tokenizer_json(tmp_path_factory.mktemp("gpt2") / "tokenizer.json")


@pytest.fixture
def data(tmp_path) -> Path:
    path = tmp_path / "data.parquet"
    pl.DataFrame({"text": TEXTS}, schema={"text": pl.String}).write_parquet(path)
    return path


def _tokens(document: dict) -> dict:
    """The audit's token statistics, less the tokenizer's name (which differs by the path given)."""
    return {k: v for k, v in document["lengths"]["tokens"].items() if k != "tokenizer"}


def _with_process_substitution(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    """`python -m epochplan ARGS` run by bash, which substitutes an argument `<(cat FILE)`: a
    pipe, /dev/fd/N, that can be read once."""
    line = " ".join(a if a.startswith("<(") else shlex.quote(a) for a in [sys.executable, "-m", "epochplan", *args])
    return subprocess.run(line, shell=True, executable="/bin/bash", capture_output=True, text=True, cwd=cwd, timeout=300)


def test_a_tokenizer_path_readable_once_records_the_files_sha256_and_counts(tokenizer_json, data, tmp_path):
    expected = hashlib.sha256(tokenizer_json.read_bytes()).hexdigest()
    regular = tmp_path / "regular.json"
    assert run_cli("audit", str(data), "--text", "text", "--tokenizer", str(tokenizer_json), "--json", str(regular), "-q").returncode == 0
    regular_document = json.loads(regular.read_text())
    assert regular_document["source"]["tokenizer"]["sha256"] == expected

    once = tmp_path / "once.json"
    substituted = f"<(cat {shlex.quote(str(tokenizer_json))})"
    proc = _with_process_substitution(
        ["audit", str(data), "--text", "text", "--tokenizer", substituted, "--json", str(once), "-q"], tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    document = json.loads(once.read_text())
    # Before: e3b0c442… (the sha256 of empty input: the pipe read a second time).
    assert document["source"]["tokenizer"]["sha256"] == expected
    assert document["source"]["tokenizer"]["path"].startswith("/dev/fd/")
    assert document["lengths"]["tokens"]["estimated"] is False
    assert _tokens(document) == _tokens(regular_document)

    # The plan takes the audit's counts with the real file: the same tokenizer (before: refused).
    planned = run_cli("plan", "--audit", str(once), "--tokenizer", str(tokenizer_json), "-o", "-")
    assert planned.returncode == 0, planned.stderr
    assert json.loads(planned.stdout)["unique_tokens_estimated"] is False


class _OnceFifo:
    """A FIFO that gives the file's bytes to its first reader and nothing to any later one (a
    pipe read already), until closed."""

    def __init__(self, path: Path, content: bytes) -> None:
        self.path, self.content = path, content
        self._stop = threading.Event()
        os.mkfifo(path)
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            with open(self.path, "wb") as f:  # blocks until a reader opens it (or is open still)
                if self._stop.is_set():
                    return
                f.write(self.content)
            self.content = b""
            time.sleep(0.01)

    def close(self) -> None:
        self._stop.set()
        fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)  # lets the writer's open return
        self._thread.join(timeout=10)
        os.close(fd)


def test_a_fifo_tokenizer_is_read_once_through_the_api(tokenizer_json, data, tmp_path):
    content = tokenizer_json.read_bytes()
    fifo = _OnceFifo(tmp_path / "tokenizer.fifo", content)
    try:
        result = epochplan.audit(str(data), text="text", tokenizer=str(fifo.path), near=False)
    finally:
        fifo.close()
    regular = epochplan.audit(str(data), text="text", tokenizer=str(tokenizer_json), near=False)
    assert result.source.tokenizer.sha256 == hashlib.sha256(content).hexdigest()
    assert _tokens(result.to_dict()) == _tokens(regular.to_dict())


def _one_line_error(call) -> str:
    with pytest.raises(InputError) as raised:
        call()
    message = str(raised.value)
    assert "\n" not in message, message
    assert "two\\nlines" in message, message  # the name, its newline escaped
    return message


def test_a_tokenizer_path_with_a_newline_is_named_in_one_line(tokenizer_json, data, tmp_path):
    folder = tmp_path / "two\nlines"
    folder.mkdir()
    missing = folder / "missing.json"
    assert "cannot read tokenizer file" in _one_line_error(lambda: epochplan.audit(str(data), tokenizer=str(missing)))
    assert "has no tokenizer.json" in _one_line_error(lambda: epochplan.audit(str(data), tokenizer=str(folder)))
    invalid = folder / "tokenizer.json"
    invalid.write_text('{"model": {"type": "nothing we know"}}')
    assert "not a valid Hugging Face tokenizer.json" in _one_line_error(lambda: epochplan.audit(str(data), tokenizer=str(invalid)))
    # A row the tokenizer cannot tokenize: the core's message names the file.
    from tokenizers import Tokenizer, models, pre_tokenizers

    words = Tokenizer(models.WordLevel(vocab={"hello": 0}))  # no unknown token: "bad" cannot be tokenized
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.save(str(invalid))
    bad = tmp_path / "bad.parquet"
    pl.DataFrame({"text": ["hello", "bad"]}).write_parquet(bad)
    assert "cannot tokenize row 1" in _one_line_error(lambda: epochplan.audit(str(bad), tokenizer=str(invalid), near=False))


def test_the_binding_counts_from_bytes_as_from_the_file_and_names_the_path_given(tokenizer_json):
    from epochplan._epochplan import TokenCounter

    texts = pl.Series(TEXTS, dtype=pl.String)
    named = TokenCounter.from_bytes(tokenizer_json.read_bytes(), "/nowhere/tokenizer.json")
    assert named.count(texts) == TokenCounter(str(tokenizer_json)).count(texts)
    assert str(named.path) == "/nowhere/tokenizer.json"
    with pytest.raises(InputError, match=r"^/nowhere/tokenizer\.json is not a valid Hugging Face tokenizer\.json"):
        TokenCounter.from_bytes(b"", "/nowhere/tokenizer.json")
