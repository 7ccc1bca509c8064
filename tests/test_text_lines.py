"""Plain text files (`.txt`, also gzip / zstd): one row a line, in a column named `text`, as the
Hugging Face `datasets` text loader reads them. Built from real utterances (chatterbot, 28
languages, one line each), so every count must equal the audit of the Parquet holding the same
lines; locally, compressed, with Windows line ends, in a folder of shards, and over HTTP."""

from __future__ import annotations

import functools
import gzip
import threading
import unicodedata
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import polars as pl
import pytest
import zstandard

import epochplan
from conftest import assert_clean_error, audit_json, run_cli
from test_inputs import counts

SOURCE = "chatterbot_multilingual.parquet"  # 15258 single-line utterances, many exact repeats


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def lines(shared_data) -> list[str]:
    texts = pl.read_parquet(shared_data / SOURCE)["text"].to_list()
    assert not any("\n" in t or "\r" in t for t in texts)  # one row a line is the same rows
    return texts


@pytest.fixture(scope="module")
def reference(lines, tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("reference") / "lines.parquet"
    pl.DataFrame({"text": lines}).write_parquet(path)
    result = audit_json(str(path))
    assert result["rows"] == 15258 and result["exact"]["duplicate_rows"] > 2000 and result["empty_rows"] == 0
    return counts(result)


@pytest.fixture(scope="module")
def files(lines, tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("text")
    data = ("\n".join(lines) + "\n").encode()
    made = {
        "txt": data,
        "txt_crlf_no_final_newline": "\r\n".join(lines).encode(),
        "txt.gz": gzip.compress(data),
        "txt.zst": zstandard.ZstdCompressor().compress(data),
    }
    paths = {}
    for name, content in made.items():
        suffix = name if name.startswith("txt.") else "txt"
        paths[name] = d / f"{name.replace('.', '_')}.{suffix}"
        paths[name].write_bytes(content)
    shards = d / "shards"
    shards.mkdir()
    for k in range(3):
        (shards / f"part-{k}.txt").write_text("".join(t + "\n" for t in lines[k * 6000 : (k + 1) * 6000]))
    paths["folder"] = shards
    return paths


@pytest.mark.parametrize("kind", ["txt", "txt_crlf_no_final_newline", "txt.gz", "txt.zst", "folder"])
def test_a_text_file_counts_like_the_parquet_of_its_lines(files, reference, kind):
    result = epochplan.audit(str(files[kind]))  # no --text: the column is `text`
    assert result.source.text_columns == ["text"]
    assert counts(result.to_dict()) == reference
    # Blocks of lines are cut into batches: the cut must not matter.
    assert counts(epochplan.audit(str(files[kind]), batch_rows=777).to_dict()) == reference


def test_a_text_file_over_http(files, reference, tmp_path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Quiet, directory=str(files["txt.gz"].parent)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{files['txt.gz'].name}"
        assert counts(audit_json(url)) == reference
        # A byte order mark is dropped here too, as the streamed readers drop it.
        marked = files["txt.gz"].parent / "marked.txt"
        marked.write_bytes(b"\xef\xbb\xbfsame\nsame\n")
        assert epochplan.audit(f"http://127.0.0.1:{server.server_address[1]}/marked.txt").exact.unique == 1
    finally:
        server.shutdown()
        server.server_close()


def test_empty_lines_are_empty_rows_and_dedup_writes_the_kept_lines(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_bytes(b"\xef\xbb\xbffirst line\n\nsecond line\r\nfirst line\n\n")  # a byte order mark is not content
    result = epochplan.audit(str(path))
    assert (result.rows, result.empty_rows, result.exact.unique) == (5, 2, 3)
    out = tmp_path / "kept.jsonl"
    proc = run_cli("dedup", str(path), "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_ndjson(out)["text"].to_list() == ["first line", "", "second line"]


@pytest.mark.parametrize("name", ["mac.txt", "mac.txt.gz"])
def test_a_lone_carriage_return_ends_a_line_as_in_the_datasets_loader(tmp_path, name):
    """Classic Mac OS line ends (`\r`) and a stray `\r` before `\r\n`: the `datasets` text loader
    reads the file in Python's text mode (universal newlines), so each `\r` ends a line. Before,
    a `\r`-only file was one row, and `a\r\r\n` one row `a\r`."""
    content = b"line one\rline two\rline one\r" + b"tail\r\r\nlast\n"
    path = tmp_path / name
    path.write_bytes(gzip.compress(content) if name.endswith(".gz") else content)
    want = ["line one", "line two", "line one", "tail", "", "last"]
    assert want == content.decode().splitlines()  # what text mode reads
    result = epochplan.audit(str(path), near=False)
    assert (result.rows, result.empty_rows, result.exact.unique) == (6, 1, 5)
    out = tmp_path / "kept.jsonl"
    proc = run_cli("dedup", str(path), "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_ndjson(out)["text"].to_list() == ["line one", "line two", "tail", "", "last"]


def test_carriage_return_lines_stream_and_end_as_in_text_mode(tmp_path, monkeypatch):
    """A file of `\r` line ends is cut into blocks at them (it was held whole, copied once a
    block), never between the `\r` and `\n` of one line end; a last line of `\r` alone or of
    spaces is a row, as text mode reads it."""
    from epochplan.sources import lines

    monkeypatch.setattr(lines, "BLOCK_BYTES", 7)
    seen: list[bytes] = []
    blocks = lines.stream_blocks
    monkeypatch.setattr(lines, "stream_blocks", lambda *a: (seen.append(b) or b for b in blocks(*a)))
    for content in [b"one\rtwo\rthree\rone\r", b"a\r\nbb\r\nccc\r\ndddd\r\n", b"a\n\r", b"\r", b"x\n   ", b"tail\r\r\nlast"]:
        path = tmp_path / "lines.txt"
        path.write_bytes(content)
        seen.clear()
        result = epochplan.audit(str(path), near=False, examples=False)
        want = content.decode().splitlines()
        assert (result.rows, result.exact.unique) == (len(want), len(set(want))), content
        assert all(not (a.endswith(b"\r") and b.startswith(b"\n")) for a, b in zip(seen, seen[1:])), seen
        if content.startswith(b"one"):
            assert len(seen) > 2  # streamed, not one block


@pytest.mark.parametrize(
    "content, fragments",
    [
        (b"", ["no rows", "empty"]),
        (b"fine\nnot \xff utf-8\n", ["not UTF-8 at line 2, byte 5 (0xff)", "iconv -f latin1 -t utf-8 FILE > utf8.txt"]),
    ],
    ids=["empty", "not-utf8"],
)
def test_a_bad_text_file_exits_2_with_one_line(tmp_path, content, fragments):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    proc = run_cli("audit", str(path), "--json", str(tmp_path / "out.json"))
    assert_clean_error(proc, "bad.txt", *fragments)
    assert not (tmp_path / "out.json").exists()


def test_dedup_writes_text_files_back_and_an_emptied_shard_stays_readable(lines, tmp_path):
    shards = tmp_path / "shards"
    shards.mkdir()
    (shards / "a.txt").write_text("".join(t + "\n" for t in lines[:3000]))
    (shards / "b.txt").write_text("".join(t + "\n" for t in lines[:50]))  # every row a copy of one in a.txt
    out = tmp_path / "clean"
    proc = run_cli("dedup", str(shards), "--level", "exact", "-o", f"{out}/")
    assert proc.returncode == 0, proc.stderr
    assert (out / "b.txt").read_bytes() == b""  # emptied, still written: one shard per input
    kept = (out / "a.txt").read_text().splitlines()
    first = {}  # the first line of each normalised text (NFKC, lowercase, whitespace runs collapsed)
    for line in lines[:3000]:
        first.setdefault(" ".join(unicodedata.normalize("NFKC", line).lower().split()), line)
    assert kept == list(first.values())  # first copies, in order, a line each
    # The folder with its empty shard is an input again (before: "no rows (the file is empty)").
    again = epochplan.audit(str(out))
    assert again.rows == len(kept) and again.exact.duplicate_rows == 0
    # One file out of text files; a .txt out of other inputs is refused (it may hold other
    # columns, nulls or line breaks).
    proc = run_cli("dedup", str(shards), "--level", "exact", "-o", str(tmp_path / "one.txt"))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "one.txt").read_text().splitlines() == kept
    parquet = tmp_path / "rows.parquet"
    pl.DataFrame({"text": lines[:10]}).write_parquet(parquet)
    assert_clean_error(run_cli("dedup", str(parquet), "-o", str(tmp_path / "no.txt")), "no.txt", "text-file inputs")
    assert not (tmp_path / "no.txt").exists()


def test_an_empty_file_is_no_rows_alone_and_an_empty_shard_among_others(tmp_path, shared_data):
    folder = tmp_path / "shards"
    folder.mkdir()
    rows = pl.read_parquet(shared_data / SOURCE).head(500).select("text")
    (folder / "a.jsonl").write_text(rows.write_ndjson())
    (folder / "b.jsonl").write_bytes(b"")
    (folder / "c.json").write_text("[]")
    result = epochplan.audit(str(folder))
    assert result.rows == 500 and result.exact.unique == rows["text"].n_unique()
    assert_clean_error(run_cli("audit", str(folder / "b.jsonl")), "b.jsonl", "no rows")
    (folder / "a.jsonl").write_bytes(b"")
    assert_clean_error(run_cli("audit", str(folder)), "no rows", "every file is empty")


@pytest.mark.parametrize("suffix", [".parquet", ".arrow"])
def test_an_empty_binary_shard_is_skipped_as_an_empty_text_shard_is(tmp_path, shared_data, suffix):
    # A 0-byte .parquet or .arrow beside others (a copy cut short, a placeholder) was an error,
    # while a 0-byte .jsonl was skipped.
    folder = tmp_path / "shards"
    folder.mkdir()
    rows = pl.read_parquet(shared_data / SOURCE).head(500).select("text")
    (rows.write_parquet if suffix == ".parquet" else rows.write_ipc)(folder / f"a{suffix}")
    (folder / f"b{suffix}").write_bytes(b"")
    assert epochplan.audit(str(folder), near=False).rows == 500
    assert_clean_error(run_cli("audit", str(folder / f"b{suffix}")), f"b{suffix}", "no rows (the file is empty)")
