"""Remote inputs read through real servers on loopback, started and stopped here: an S3-compatible
server (moto in server mode) and an HTTP server that answers range requests, as object stores and
CDNs do. No client may probe a cloud metadata address: AWS_EC2_METADATA_DISABLED is set and
every endpoint is 127.0.0.1. gs://, az:// and hf:// have no server here: their errors are tested."""

from __future__ import annotations

import functools
import gzip
import io
import json
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath

import polars as pl
import pytest

import epochplan
from conftest import assert_clean_error, audit_json, run_cli

pytest.importorskip("moto")  # in the test extra (moto[server]): a missing one fails the install, not this file

TRAIN = "gpteacher_toolformer_similarity-0.6.parquet"
EVAL = "gpteacher_toolformer_similarity-0.7.parquet"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, process: subprocess.Popen) -> None:
    for _ in range(600):  # a readiness wait, not a timing assertion
        if process.poll() is not None:
            raise RuntimeError(f"the S3 server exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("the S3 server did not start listening")


@pytest.fixture(scope="module")
def s3(shared_data, tmp_path_factory):
    """A moto S3 server on loopback with bucket `bucket1`: two Parquet shards of the train file,
    a gzip JSON lines copy of the eval file and a folder with a metadata file."""
    import pyarrow.fs as pafs

    port = _free_port()
    env = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ALLOW_HTTP": "true",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        _wait_for(port, server)
        fs = pafs.S3FileSystem(
            endpoint_override=f"127.0.0.1:{port}", scheme="http", access_key="test", secret_key="test", allow_bucket_creation=True
        )
        fs.create_dir("bucket1")
        local = tmp_path_factory.mktemp("s3-upload")
        train = pl.read_parquet(shared_data / TRAIN)
        train.slice(0, 1200).write_parquet(local / "part-0.parquet")
        train.slice(1200).write_parquet(local / "part-1.parquet")
        (local / "val.jsonl.gz").write_bytes(
            gzip.compress(pl.read_parquet(shared_data / EVAL).rename({"prompt": "question"}).write_ndjson().encode())
        )
        (local / "dataset_info.json").write_text("{}")
        (local / "squad.json.gz").write_bytes(
            gzip.compress(json.dumps({"version": "1", "data": [{"text": "a b c"}, {"text": "d e f"}]}).encode())
        )
        for name in ("part-0.parquet", "part-1.parquet", "dataset_info.json"):
            pafs.copy_files(str(local / name), f"bucket1/shards/{name}", destination_filesystem=fs)
        for name, key in (("part-0.parquet", "k=a"), ("part-1.parquet", "k=b")):  # a Hive-style layout
            pafs.copy_files(str(local / name), f"bucket1/hive/{key}/{name}", destination_filesystem=fs)
        pafs.copy_files(str(local / "val.jsonl.gz"), "bucket1/eval/val.jsonl.gz", destination_filesystem=fs)
        pafs.copy_files(str(local / "squad.json.gz"), "bucket1/objects/squad.json.gz", destination_filesystem=fs)
        yield env
    finally:
        server.terminate()
        server.wait()


class RangeHandler(SimpleHTTPRequestHandler):
    """Static files with single-range requests (`Range: bytes=a-b`), as real file servers answer
    them; polars' HTTP object store asks for ranges."""

    def log_message(self, *args):
        pass

    def send_head(self):
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if match is None or not path.is_file():
            return super().send_head()
        size = path.stat().st_size
        first, last = match.groups()
        start = max(0, size - int(last)) if not first else int(first)
        end = size - 1 if not first or not last else min(int(last), size - 1)
        if start >= size:
            self.send_error(416)
            return None
        f = open(path, "rb")
        f.seek(start)
        self.send_response(206)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        self._remaining = end - start + 1
        return f

    def copyfile(self, source, outputfile):
        remaining = getattr(self, "_remaining", None)
        if remaining is None:
            return super().copyfile(source, outputfile)
        while remaining > 0:
            chunk = source.read(min(remaining, 64 << 10))
            if not chunk:
                break
            outputfile.write(chunk)
            remaining -= len(chunk)


class WholeFileHandler(SimpleHTTPRequestHandler):
    """Static files without byte ranges, as `python -m http.server` serves them: polars' reader
    cannot read from it, so epochplan reads a local copy."""

    def log_message(self, *args):
        pass


#: File names an http URL may hold as they are: polars' reader percent-encodes them, urllib did not.
HTTP_ODD_NAMES = ("sp ace.csv", "ünï.csv", "sp ace.parquet", "ünï.parquet", "sp ace.jsonl")


@pytest.fixture(scope="module", params=[RangeHandler, WholeFileHandler], ids=["ranges", "whole-files"])
def http(shared_data, tmp_path_factory, request):
    root = tmp_path_factory.mktemp("http-root")
    pl.read_parquet(shared_data / TRAIN).write_parquet(root / "train.parquet")
    tsv = pl.read_parquet(shared_data / TRAIN).write_csv(separator="\t").encode()
    (root / "train.tsv").write_bytes(tsv)
    (root / "train.tsv.gz").write_bytes(gzip.compress(tsv))
    # A GLUE-style plain TSV, and JSON lines whose text field is null for its first 1,500 lines.
    (root / "glue.tsv").write_text('id\ttext\n1\t"Good" is it\n2\t"unbalanced\n3\tthird\n4\t"Good" is it\n')
    sparse = "".join(json.dumps({"id": i, "text": None if i < 1500 else f"t{i % 7}"}) + "\n" for i in range(1600))
    (root / "sparse.jsonl").write_text(sparse)
    (root / "sparse.jsonl.gz").write_bytes(gzip.compress(sparse.encode()))
    # JSON lines whose `label` key first appears past the 2 MB the columns are read from.
    late = [{"text": f"early row {i} " + "padding " * 10} for i in range(30_000)] + [
        {"text": f"late {i}", "label": i % 2} for i in range(10)
    ]
    (root / "late.jsonl").write_text("".join(json.dumps(row) + "\n" for row in late))
    (root / "cut.jsonl").write_bytes(b'{"text": "fine"}\n{"text": "an emoji cut \\ud83d"}\n')
    val = pl.read_parquet(shared_data / EVAL).rename({"prompt": "question"})
    (root / "val.jsonl.gz").write_bytes(gzip.compress(val.write_ndjson().encode()))
    (root / "val.json").write_text(json.dumps(val.to_dicts()))
    odd = pl.DataFrame({"text": [f"row {i % 7} of an oddly named file" for i in range(20)]})
    for name in HTTP_ODD_NAMES:
        {".csv": odd.write_csv, ".parquet": odd.write_parquet, ".jsonl": odd.write_ndjson}[Path(name).suffix](root / name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(request.param, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def local(shared_data):
    """The same audit from the local files: what every remote read must reproduce."""
    eval_frame = pl.read_parquet(shared_data / EVAL).rename({"prompt": "question"})
    return epochplan.audit(str(shared_data / TRAIN), text="prompt", eval={"val": eval_frame}, eval_text="question").to_dict()


def _without_eval(block, *more: str):
    """An audit block without what only an audit with eval splits counts (`leaked_unique`: the
    reference `local` has one) and the keys `more`."""
    if not isinstance(block, dict):
        return block
    return {k: v for k, v in block.items() if k not in ("leaked_unique", *more)}


def _same(got: dict, want: dict) -> None:
    for key in ("rows", "exact", "lengths"):
        assert got[key] == want[key], key
    assert {k: v for k, v in got["near"].items() if k != "top"} == {k: v for k, v in want["near"].items() if k != "top"}
    assert got["leakage"]["val"]["exact_in_train"] == want["leakage"]["val"]["exact_in_train"] > 0
    assert got["leakage"]["val"]["near_in_train"] == want["leakage"]["val"]["near_in_train"]


@pytest.mark.parametrize(
    "pattern",
    [
        "shards/*.parquet",
        "shards/part-?.parquet",
        "shards/part-[01].parquet",
        "shards/part-[0-9]*",
        # A query with the store's options after a pattern, and a `?` before a Hive `key=value`
        # folder: the `?` was taken for a query whenever an `=` followed it anywhere.
        "shards/part-?.parquet?region=us-east-1",
        "hiv?/k=*/part-*.parquet",
    ],
)
def test_s3_glob_and_s3_eval_through_the_cli(s3, local, pattern):
    # `?` and `[..]` too: pyarrow's URI parser took `?` for a query ("Unexpected query
    # parameter") and refused `[`.
    got = audit_json(
        f"s3://bucket1/{pattern}",
        "--text",
        "prompt",
        "--eval",
        "val=s3://bucket1/eval/val.jsonl.gz",
        "--eval-text",
        "question",
        env=s3,
    )
    _same(got, local)
    folders = ["hive/k=a", "hive/k=b"] if pattern.startswith("hiv") else ["shards", "shards"]
    assert got["source"]["paths"] == [f"s3://bucket1/{folders[0]}/part-0.parquet", f"s3://bucket1/{folders[1]}/part-1.parquet"]


def test_s3_folder_takes_its_data_files(s3, local, monkeypatch):
    for name, value in s3.items():
        monkeypatch.setenv(name, value)
    result = epochplan.audit("s3://bucket1/shards/", text="prompt", eval={"val": "s3://bucket1/eval/val.jsonl.gz"}, eval_text="question")
    _same(result.to_dict(), local)
    assert [p.rsplit("/", 1)[1] for p in result.source.paths] == ["part-0.parquet", "part-1.parquet"]  # not dataset_info.json


def test_dedup_from_s3_writes_locally(s3, tmp_path, shared_data):
    out = tmp_path / "deduped.parquet"
    proc = run_cli("dedup", "s3://bucket1/shards/*.parquet", "--text", "prompt", "--level", "exact", "-o", str(out), env=s3)
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(out).equals(epochplan.dedup(str(shared_data / TRAIN), text="prompt", level="exact"))


@pytest.mark.parametrize(
    "spec, fragments",
    [
        ("s3://bucket1/shards/nothing-*.parquet", ["matches no object"]),
        # No folder before the pattern: pyarrow's raw "[Errno 2] Path does not exist" and a credentials hint.
        ("s3://bucket1/no-folder/*.parquet", ["s3://bucket1/no-folder/*.parquet: the pattern matches no object"]),
        ("s3://bucket1/shards/missing.parquet", ["missing.parquet", "no such object"]),
        ("s3://no-such-bucket/x/*.parquet", ["no-such-bucket", "AWS_"]),
        ("s3://bucket1/eval/val.jsonl.gz", ["val.jsonl.gz", "no column 'prompt'"]),
        # One object holding the records: was audited as one row of its version string.
        ("s3://bucket1/objects/squad.json.gz", ["squad.json.gz", "one JSON object", "'data' holds 2 records"]),
        # No bucket: the account's buckets were taken for a folder's subfolders.
        ("s3://", ["s3://: no bucket in the URL", "s3://BUCKET/PATH"]),
        ("s3:///x.parquet", ["s3:///x.parquet: no bucket in the URL"]),
    ],
)
def test_s3_errors_are_one_line(s3, tmp_path, spec, fragments):
    proc = run_cli("audit", spec, "--text", "prompt", "--json", str(tmp_path / "a.json"), env=s3)
    assert_clean_error(proc, *fragments)
    assert not (tmp_path / "a.json").exists()


def _feather_v1(path: Path) -> None:
    import warnings

    import pyarrow as pa
    import pyarrow.feather as feather

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pyarrow deprecates writing V1
        feather.write_feather(pa.table({"text": ["a", "b"]}), str(path), version=1)


#: Files whose bytes are not what their names say, and the words a local file of that name gets.
MISLABELED = {
    "plain.csv.zst": ["not zstd-compressed, though its name ends in .zst", "rename it without .zst"],
    "plain.jsonl.gz": ["not gzip-compressed, though its name ends in .gz", "rename it without .gz"],
    "plain.txt.zst": ["not zstd-compressed, though its name ends in .zst", "rename it without .zst"],
    "v1.feather": ["a Feather version 1 file, which epochplan does not read", "write_feather(f.read_table(", "or as Parquet"],
}


def _write_mislabeled(folder: Path, name: str) -> Path:
    path = folder / name
    if name.endswith(".feather"):
        _feather_v1(path)
    else:
        path.write_text('{"text": "a"}\n' if ".jsonl" in name else "text\na\nb\n")
    return path


@pytest.mark.parametrize("command", ["audit", "dedup"])
@pytest.mark.parametrize("name", list(MISLABELED))
def test_s3_files_not_what_their_names_say_are_named_as_local_ones(s3, tmp_path, name, command):
    """An object not compressed as its name says was "truncated or corrupt" (zstd) or "bytes that
    are not gzip follow the end of its gzip data" (gzip), where a local one is named so with the
    fix; a Feather V1 object's command read the URL, which pyarrow's read_table cannot."""
    import pyarrow.fs as pafs

    local = _write_mislabeled(tmp_path, name)
    fs = pafs.S3FileSystem(
        endpoint_override=s3["AWS_ENDPOINT_URL"].removeprefix("http://"), scheme="http", access_key="test", secret_key="test"
    )
    pafs.copy_files(str(local), f"bucket1/mislabeled/{name}", destination_filesystem=fs)
    url = f"s3://bucket1/mislabeled/{name}"
    words = MISLABELED[name]
    assert_clean_error(run_cli("audit", name, "-q", cwd=tmp_path), f"error: {name}: {words[0]}", *words[1:])
    more = ["-o", str(tmp_path / "out.parquet")] if command == "dedup" else []
    # The Feather V1 command converts the file downloaded (pyarrow's read_table cannot read a URL).
    remote = ["download it, then write it as Feather version 2", f"read_table('{name}')"] if name.endswith(".feather") else []
    assert_clean_error(run_cli(command, url, "-q", *more, env=s3), f"error: {url}: {words[0]}", *words[1:], *remote)
    assert not (tmp_path / "out.parquet").exists()


def test_s3_gzip_data_followed_by_junk_still_says_so(s3, tmp_path):
    """Whole gzip data with bytes after it: its first bytes are gzip's, so not "not compressed"."""
    import pyarrow.fs as pafs

    (tmp_path / "junk.jsonl.gz").write_bytes(gzip.compress(b'{"text": "a"}\n' * 50) + b"trailing junk")
    fs = pafs.S3FileSystem(
        endpoint_override=s3["AWS_ENDPOINT_URL"].removeprefix("http://"), scheme="http", access_key="test", secret_key="test"
    )
    pafs.copy_files(str(tmp_path / "junk.jsonl.gz"), "bucket1/mislabeled-junk/junk.jsonl.gz", destination_filesystem=fs)
    proc = run_cli("audit", "s3://bucket1/mislabeled-junk/junk.jsonl.gz", "-q", env=s3)
    assert_clean_error(proc, "junk.jsonl.gz: bytes that are not gzip follow the end of its gzip data", "zcat FILE | gzip > FIXED.gz")


def test_s3_folder_whose_data_is_in_subfolders_says_where(s3, local):
    """A Hive layout keeps its files in `k=a/`: "folder has no data file" alone, where a local
    folder names the subfolders and a pattern that reads them."""
    proc = run_cli("audit", "s3://bucket1/hive", "--text", "prompt", env=s3)
    assert_clean_error(
        proc,
        "s3://bucket1/hive: folder has no data file",
        "data files are in s3://bucket1/hive/k=a, s3://bucket1/hive/k=b",
        "'s3://bucket1/hive/**/*.parquet'",
    )
    got = audit_json("s3://bucket1/hive/**/*.parquet", "--text", "prompt", env=s3)
    assert got["rows"] == local["rows"]


#: Keys that a URL spells differently from the key (escapes, a query, a fragment, a pattern),
#: each a Parquet file of its own rows ("KEY row I").
ODD_KEYS = ("odd/a+b.parquet", "odd/a%2Bb.parquet", "odd/x#1.parquet", "odd/sp ace.parquet", "odd/données.parquet", "odd/q?x.parquet")
#: How a listing names them: `%`, `?` escaped, so that each URL reads back as its own key.
ODD_URLS = [
    "s3://bucket1/odd/a%252Bb.parquet",
    "s3://bucket1/odd/a+b.parquet",
    "s3://bucket1/odd/données.parquet",
    "s3://bucket1/odd/q%3Fx.parquet",
    "s3://bucket1/odd/sp ace.parquet",
    "s3://bucket1/odd/x#1.parquet",
]


@pytest.fixture(scope="module")
def odd_keys(s3):
    """ODD_KEYS, a Spark-style Hive key (`cat=a%3Ab`: Spark escapes the `:` of a value) and
    `br[1].parquet` beside `br1.parquet` in `bucket1`, the rows of each file of its own;
    {key: rows}."""
    import pyarrow.fs as pafs

    fs = pafs.S3FileSystem(
        endpoint_override=s3["AWS_ENDPOINT_URL"].removeprefix("http://"), scheme="http", access_key="test", secret_key="test"
    )
    files = {}
    for i, key in enumerate((*ODD_KEYS, "spark/cat=a%3Ab/part-0.parquet", "names/br[1].parquet", "names/br1.parquet")):
        frame = pl.DataFrame({"text": [f"{key} row {j} " + "x" * j for j in range(3 + i)]})
        with fs.open_output_stream(f"bucket1/{key}") as out:
            frame.write_parquet(out)
        files[key] = frame
    return files


@pytest.mark.parametrize("spec", ["odd/", "odd/*", "odd/*.parquet"])
def test_s3_keys_with_escapes_are_each_read_once(s3, odd_keys, spec):
    """`a+b.parquet` was read twice and `a%2Bb.parquet` never (the listed key went back into a
    URL unescaped, and `%2B` decodes to `+`); `données`, `sp ace` and `x#1` failed or read `x`."""
    got = audit_json(f"s3://bucket1/{spec}", env=s3)
    assert got["source"]["paths"] == ODD_URLS
    rows = sum(odd_keys[key].height for key in ODD_KEYS)
    assert (got["rows"], got["exact"]["unique"], got["exact"]["duplicate_rows"]) == (rows, rows, 0)


def test_s3_dedup_writes_every_listed_object_once(s3, odd_keys, tmp_path):
    """Through polars too (`--keep longest` measures the rows with polars' reader, which reads a
    URL's key as written): the same objects as pyarrow's reads."""
    out = tmp_path / "kept.parquet"
    proc = run_cli("dedup", "s3://bucket1/odd/", "--keep", "longest", "-o", str(out), env=s3)
    assert proc.returncode == 0, proc.stderr
    assert sorted(pl.read_parquet(out)["text"]) == sorted(t for key in ODD_KEYS for t in odd_keys[key]["text"])


def test_s3_dedup_to_a_folder_names_shards_as_the_objects(s3, odd_keys, tmp_path):
    """`-o DIR/` keeps each input's file name: a listed object's escaped URL gave shards named
    `a%252Bb.parquet` and `q%3Fx.parquet` for the objects `a%2Bb.parquet` and `q?x.parquet`."""
    out = tmp_path / "kept"
    proc = run_cli("dedup", "s3://bucket1/odd/", "-o", f"{out}/", env=s3)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(key.removeprefix("odd/") for key in ODD_KEYS)
    for key in ODD_KEYS:
        assert pl.read_parquet(out / key.removeprefix("odd/"))["text"].to_list() == odd_keys[key]["text"].to_list()


@pytest.mark.parametrize(
    "spec, key",
    [
        # A URL's escapes are decoded, as pyarrow always read them: `%2B` is `+` ...
        ("odd/a%2Bb.parquet", "odd/a+b.parquet"),
        ("odd/a%2Bb.*", "odd/a+b.parquet"),  # in a pattern too
        # ... and a `%` of the key is `%25`, as a listing writes it (a Spark Hive value).
        ("odd/a%252Bb.parquet", "odd/a%2Bb.parquet"),
        ("spark/cat=a%253Ab/", "spark/cat=a%3Ab/part-0.parquet"),
        ("spark/*/part-0.parquet", "spark/cat=a%3Ab/part-0.parquet"),
        ("odd/sp ace.parquet", "odd/sp ace.parquet"),
    ],
)
def test_s3_url_escapes_decode_to_the_key(s3, odd_keys, spec, key):
    got = audit_json(f"s3://bucket1/{spec}", env=s3)
    assert got["rows"] == got["exact"]["unique"] == odd_keys[key].height


def test_s3_dedup_keep_longest_of_an_escaped_url(s3, odd_keys, tmp_path):
    """polars measured the key as written (`a%2Bb.parquet`, 4 rows) against the audit of
    `a+b.parquet` (3 rows): an internal ShapeError."""
    out = tmp_path / "kept.parquet"
    proc = run_cli("dedup", "s3://bucket1/odd/a%2Bb.parquet", "--keep", "longest", "-o", str(out), env=s3)
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(out)["text"].to_list() == odd_keys["odd/a+b.parquet"]["text"].to_list()


@pytest.mark.parametrize(
    "spec, key, path",
    [
        # An existing key is itself, as an existing local path is: it was a pattern, and read
        # br1.parquet instead (without one: "the pattern matches no object").
        ("names/br[1].parquet", "names/br[1].parquet", "s3://bucket1/names/br[1].parquet"),
        ("names/br%5B1%5D.parquet", "names/br[1].parquet", "s3://bucket1/names/br%5B1%5D.parquet"),
        ("names/br[0-9].parquet", "names/br1.parquet", "s3://bucket1/names/br1.parquet"),  # no such key: a pattern
        ("names/br?1?.parquet", "names/br[1].parquet", "s3://bucket1/names/br%5B1%5D.parquet"),
    ],
)
def test_s3_existing_key_with_glob_characters_is_read_as_itself(s3, odd_keys, spec, key, path):
    got = audit_json(f"s3://bucket1/{spec}", env=s3)
    assert got["source"]["paths"] == [path]
    assert got["rows"] == got["exact"]["unique"] == odd_keys[key].height


def test_s3_one_object_given_twice_is_refused(s3, odd_keys):
    """`a%2Bb` and `a+b` are spellings of one key: it was read twice, each row a duplicate."""
    proc = run_cli("audit", "s3://bucket1/odd/a+b.parquet", "s3://bucket1/odd/a%2Bb.parquet", env=s3)
    assert_clean_error(proc, "given twice", "give each file once")


def test_http_train_and_compressed_eval_with_eval_text(http, local):
    got = audit_json(f"{http}/train.parquet", "--text", "prompt", "--eval", f"val={http}/val.jsonl.gz", "--eval-text", "question")
    _same(got, local)
    assert got["source"]["paths"] == [f"{http}/train.parquet"]


@pytest.mark.parametrize("name", ["train.tsv", "train.tsv.gz"])
def test_http_tab_separated_values_count_like_the_parquet(http, local, name):
    got = epochplan.audit(f"{http}/{name}", text="prompt").to_dict()
    for key in ("rows", "exact", "lengths"):
        assert _without_eval(got[key]) == _without_eval(local[key]), key
    assert _without_eval(got["near"], "top") == _without_eval(local["near"], "top")


def test_http_row_files_infer_columns_from_their_first_lines(http):
    """Over http as locally: a plain TSV keeps its quotes and rows, and a JSON lines text field
    null for 1,500 lines is text (polars alone infers from 100 rows: Null, then a failure)."""
    glue = epochplan.audit(f"{http}/glue.tsv", text="text").to_dict()
    assert glue["rows"] == 4 and glue["exact"]["duplicate_rows"] == 1
    assert glue["exact"]["top"][0]["text"] == '"Good" is it'
    for name in ("sparse.jsonl", "sparse.jsonl.gz"):
        got = epochplan.audit(f"{http}/{name}", text="text").to_dict()
        assert (got["rows"], got["null_rows"], got["exact"]["unique"]) == (1600, 1500, 7), name


def test_http_json_lines_key_past_the_head_is_read_when_asked_for(http):
    got = epochplan.audit(f"{http}/late.jsonl", label="label", near=False).to_dict()
    assert got["rows"] == 30_010 and got["labels"]["counts"] == {"0": 5, "1": 5}


def test_http_json_lines_faults_name_the_url_and_the_line(http):
    """Read over ranges (polars' scan) or from a local copy: a lone surrogate escape is found and
    named with the URL, not the copy's temporary path (nor missed: the scan had no check)."""
    with pytest.raises(epochplan.InputError) as caught:
        epochplan.audit(f"{http}/cut.jsonl", near=False)
    assert str(caught.value).startswith(f"{http}/cut.jsonl: not valid JSON lines (line 2: \\ud83d is half")


def test_http_json_array_eval_named_by_its_file(http, local):
    result = epochplan.audit(f"{http}/train.parquet", text="prompt", eval=[f"{http}/val.json"], eval_text={"val": "question"})
    _same(result.to_dict(), local)


@pytest.mark.parametrize(
    "make_spec, fragments",
    [
        (lambda base: f"{base}/missing.parquet", ["missing.parquet", "cannot read"]),
        (lambda base: f"{base}/*.parquet", ["globs do not work"]),
    ],
)
def test_http_errors_are_one_line(http, make_spec, fragments):
    assert_clean_error(run_cli("audit", make_spec(http), "--text", "prompt"), *fragments)


@pytest.mark.parametrize(
    "spec, env, fragments",
    [
        # No credentials file where the environment says: refused before any request is made.
        ("gs://bucket/data.parquet", {"GOOGLE_APPLICATION_CREDENTIALS": "/nonexistent/key.json"}, ["gs://bucket/data.parquet"]),
        ("az://container/data.parquet", {"AZURE_STORAGE_ACCOUNT_NAME": ""}, ["AZURE_STORAGE_ACCOUNT_NAME"]),
        ("hf://not-a-repo/data.parquet", {}, ["hf://not-a-repo/data.parquet", "invalid Hugging Face path"]),
        ("ftp://host/data.parquet", {}, ["unsupported URL scheme ftp://"]),
    ],
)
def test_other_object_stores_fail_with_one_line(tmp_path, spec, env, fragments):
    # Metadata servers pointed at a closed loopback port, should a client look for one.
    loopback = {"AWS_EC2_METADATA_DISABLED": "true", "GCE_METADATA_HOST": "127.0.0.1:9", "GCE_METADATA_ROOT": "127.0.0.1:9"}
    proc = run_cli("audit", spec, "--json", str(tmp_path / "a.json"), env={**loopback, **env})
    assert_clean_error(proc, *fragments)
    assert not (tmp_path / "a.json").exists()


def test_http_dedup_writes_the_rows_of_the_file_and_leaves_no_copy(http, shared_data, tmp_path):
    """From either server (a copy is downloaded where the server has no byte ranges): the
    deduplicated rows of the file, and no downloaded copy left in TMPDIR once the run ends."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    out = tmp_path / "deduped.parquet"
    proc = run_cli("dedup", f"{http}/train.parquet", "--text", "prompt", "--level", "exact", "-o", str(out), env={"TMPDIR": str(scratch)})
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(out).equals(epochplan.dedup(str(shared_data / TRAIN), text="prompt", level="exact"))
    assert list(scratch.iterdir()) == []


def test_http_url_with_a_query_is_read_as_its_file(http, local):
    """A presigned URL (`file.parquet?X-Amz-Signature=…`) was refused: "unsupported file type
    .parquet?x=1"."""
    got = audit_json(f"{http}/train.parquet?X-Amz-Signature=abc&x=1", "--text", "prompt")
    for key in ("rows", "exact", "lengths"):
        assert _without_eval(got[key]) == _without_eval(local[key]), key


class HalfBodyHandler(SimpleHTTPRequestHandler):
    """Says the whole file's length, sends half of it and closes (a server that dies mid-download),
    without byte ranges."""

    def log_message(self, *args):
        pass

    def copyfile(self, source, outputfile):
        data = source.read()
        outputfile.write(data[: len(data) // 2])


def test_http_download_cut_short_is_an_error_and_later_downloads_still_work(tmp_path, shared_data):
    """A server that closed after half the file gave half the rows and exit 0 (urllib's reads end
    quietly); after a failed download every later one in the process failed ("File exists")."""
    root = tmp_path / "root"
    root.mkdir()
    lines = "text\n" + "".join(f"row {i} of the file\n" for i in range(1000))
    (root / "d.csv").write_text(lines)
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(HalfBodyHandler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    whole = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(WholeFileHandler, directory=str(root)))
    threading.Thread(target=whole.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        assert_clean_error(run_cli("audit", f"{base}/d.csv"), "d.csv", "download ended after", "bytes")
        with pytest.raises(epochplan.InputError, match="download ended after"):
            epochplan.audit(f"{base}/d.csv")  # in this process: the next download must still work
        assert epochplan.audit(f"http://127.0.0.1:{whole.server_address[1]}/d.csv").rows == 1000
    finally:
        for s in (server, whole):
            s.shutdown()
            s.server_close()


def test_http_url_secrets_are_in_no_report_and_no_error(http, tmp_path):
    """A presigned URL's query (`X-Amz-Signature`, a token) was written whole into the JSON's
    `source.paths`, the HTML report (twice), the Markdown (and so the CI step summary), and up
    to three times into an error line, polars' own words included."""
    secret = "SECRET0123456789"
    query = f"?X-Amz-Signature={secret}&token={secret}"
    summary = tmp_path / "summary.md"
    outputs = {"--json": tmp_path / "a.json", "--html": tmp_path / "r.html", "--markdown": tmp_path / "m.md"}
    proc = run_cli(
        "audit",
        f"{http}/train.parquet{query}",
        "--text",
        "prompt",
        "--eval",
        f"val={http}/val.jsonl.gz?token={secret}",
        "--eval-text",
        "question",
        *(str(a) for pair in outputs.items() for a in pair),
        env={"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary)},
    )
    assert proc.returncode == 0, proc.stderr
    for path in (*outputs.values(), summary):
        assert secret not in path.read_text(), path.name
    assert secret not in proc.stdout + proc.stderr
    got = json.loads(outputs["--json"].read_text())
    assert got["source"]["paths"] == [f"{http}/train.parquet?X-Amz-Signature=…&token=…"]  # still says which file
    assert got["leakage"]["val"]["path"] == f"{http}/val.jsonl.gz?token=…"
    for name in ("missing.parquet", "missing.csv"):  # polars' error, urllib's
        proc = run_cli("audit", f"{http}/{name}?token={secret}", "--text", "prompt")
        assert_clean_error(proc, f"{http}/{name}?token=…: cannot read")
        assert secret not in proc.stderr


#: Names whose glob matches differ by the set rules: `^` and `]` as characters, a hidden file.
GLOB_NAMES = ("a.parquet", "b.parquet", "^.parquet", "].parquet", ".hidden.parquet", "sub/c.parquet")


@pytest.mark.parametrize(
    "pattern", ["[^a].parquet", "[!a].parquet", "[]a].parquet", "[z-a].parquet", "*.parquet", ".*.parquet", "**/*.parquet"]
)
def test_s3_glob_matches_the_names_a_local_glob_does(s3, tmp_path, monkeypatch, pattern):
    """`[^a]` negated remotely (Python's glob reads `^` as a character: `[!a]` negates), so
    another file was read; `[]a]` and `[z-a]` failed with the regex module's words ("bad escape",
    "bad character range") and a credentials hint; `*` took hidden files a local glob leaves."""
    import pyarrow.fs as pafs

    from epochplan.sources import resolve_paths
    from epochplan.sources.remote import file_name

    fs = pafs.S3FileSystem(
        endpoint_override=s3["AWS_ENDPOINT_URL"].removeprefix("http://"), scheme="http", access_key="test", secret_key="test"
    )
    for name in GLOB_NAMES:
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(b"")
        with fs.open_output_stream(f"bucket1/globs/{name}") as out:
            out.write(b"")
    for name, value in s3.items():
        monkeypatch.setenv(name, value)

    def names(spec: str) -> list[str] | str:
        try:
            return [str(PurePosixPath(str(p)).parent.name) + "/" + file_name(p) for p in resolve_paths(spec)]
        except epochplan.InputError as e:
            return re.sub(r"^.*: the pattern matches no (file|object);.*$", "no match", str(e))

    local = names(str(tmp_path / pattern))
    assert names(f"s3://bucket1/globs/{pattern}") == (
        local if isinstance(local, str) else [n.replace(tmp_path.name, "globs") for n in local]
    )


@pytest.mark.parametrize("name", HTTP_ODD_NAMES)
def test_http_url_with_a_space_or_a_non_ascii_letter_reads_its_file(http, name):
    """urllib sent the URL as written: "URL can't contain control characters" (a space), "'ascii'
    codec can't encode" (ü); a server without byte ranges was then taken for one that has them,
    and polars failed ("Range request not supported")."""
    got = epochplan.audit(f"{http}/{name}", near=False).to_dict()
    assert (got["rows"], got["exact"]["unique"]) == (20, 7)
    escaped = urllib.parse.quote(name)  # an escaped URL reads the same file
    assert epochplan.audit(f"{http}/{escaped}", near=False).rows == 20


class GzipEncodingHandler(SimpleHTTPRequestHandler):
    """Every file gzip-compressed for the transfer (`Content-Encoding: gzip`), without byte ranges."""

    def log_message(self, *args):
        pass

    def do_GET(self):
        body = gzip.compress(Path(self.translate_path(self.path)).read_bytes())
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_http_file_gzip_encoded_for_the_transfer_is_named_so(tmp_path):
    """Read as the file itself: "not UTF-8 … iconv -f cp1252" for a CSV, "not a Parquet file"."""
    frame = pl.DataFrame({"text": ["a", "b"]})
    frame.write_csv(tmp_path / "d.csv")
    frame.write_parquet(tmp_path / "d.parquet")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(GzipEncodingHandler, directory=str(tmp_path)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        for name in ("d.csv", "d.parquet"):
            url = f"http://127.0.0.1:{server.server_address[1]}/{name}"
            assert_clean_error(run_cli("audit", url), f"{url}: the server sent the file gzip-encoded (Content-Encoding: gzip)")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("command", ["audit", "check", "dedup"])
def test_http_download_is_shown_in_the_progress(http, request, tmp_path, command):
    """A file from a server without byte ranges is downloaded whole before its first row is read:
    the progress said nothing meanwhile. Now it names the download (`EPOCHPLAN_PROGRESS_SECONDS=0`:
    a line at each report, the first one as the download starts)."""
    out = {
        "audit": ["--json", str(tmp_path / "a.json")],
        "check": ["--json", str(tmp_path / "c.json")],
        "dedup": ["-o", str(tmp_path / "d.parquet")],
    }
    proc = run_cli(command, f"{http}/train.parquet", "--text", "prompt", *out[command], env={"EPOCHPLAN_PROGRESS_SECONDS": "0"})
    assert proc.returncode in (0, 1), proc.stderr  # check: 1 when the gate fails on this data
    downloads = [line for line in proc.stderr.splitlines() if "downloading train.parquet: 0 of " in line]
    if "whole-files" in request.node.callspec.id:
        assert downloads and re.search(r"of [\d,]+ MB \(0 rows read\), \d+ s$", downloads[0]), proc.stderr
    else:  # read in ranges, nothing downloaded
        assert not downloads and "downloading" not in proc.stderr, proc.stderr


class ShortRangeHandler(RangeHandler):
    """A server (or a proxy) whose range replies are short: 206 with a `Content-Range` and a
    `Content-Length` of the whole span asked for, but half its bytes (`short_body=False`: a
    `Content-Length` of the bytes sent, as a proxy that rewrites it would). Only ranges in the
    file's second half that end before its end: the footer is whole, so the file opens."""

    short_body = False
    #: Whether only ranges of the second half, before the footer, are cut.
    second_half = True
    #: Whether a whole-file reply (200, no `Range`) is cut to half its bytes too.
    whole_too = False

    def send_head(self):
        match = re.fullmatch(r"bytes=(\d+)-(\d+)", self.headers.get("Range", ""))
        path = Path(self.translate_path(self.path))
        if self.whole_too and not self.headers.get("Range") and path.is_file():
            data = path.read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(data) if self.short_body else len(data) // 2))
            self.send_header("Connection", "close")
            self.end_headers()
            self._body = data[: len(data) // 2]
            return io.BytesIO(b"")
        if match is None or not path.is_file():
            return super().send_head()
        data, (start, end) = path.read_bytes(), map(int, match.groups())
        size, end = len(data), min(int(match.group(2)), len(data) - 1)
        body = data[start : end + 1]
        if (not self.second_half or (start >= size // 2 and end < size - 1)) and len(body) > 1000:
            body = body[: len(body) // 2]
        self.send_response(206)
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Content-Length", str(end - start + 1 if self.short_body else len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self._body = body
        return io.BytesIO(b"")

    def copyfile(self, source, outputfile):
        body = getattr(self, "_body", None)
        if body is None:
            return super().copyfile(source, outputfile)
        outputfile.write(body)
        self.close_connection = True


class ShortBodyHandler(ShortRangeHandler):
    """Every reply over 1,000 bytes cut in half, its `Content-Length` the whole span's: the body
    ends before it (the connection closed early)."""

    short_body, second_half, whole_too = True, False, True


class ShortAllRangesHandler(ShortRangeHandler):
    """Every range reply over 1,000 bytes cut in half, the last one too; whole-file replies whole."""

    second_half = False


class ShortEveryReplyHandler(ShortRangeHandler):
    """Every reply over 1,000 bytes cut in half, the last range and a whole-file reply too, each
    `Content-Length` rewritten to the bytes sent (a proxy's): only a range reply's
    `Content-Range` still says how large the file is."""

    second_half, whole_too = False, True


class ChunkedHandler(RangeHandler):
    """Honest range replies; a whole-file reply without a `Content-Length`: chunked, or
    (`chunked=False`) ended by closing the connection, as HTTP/1.0 servers do. `cut`: half the
    file is sent, and the connection closed before the last chunk."""

    protocol_version = "HTTP/1.1"
    chunked, cut = True, False

    def send_head(self):
        path = Path(self.translate_path(self.path))
        if self.headers.get("Range") or not path.is_file():
            return super().send_head()
        data = path.read_bytes()
        self.send_response(200)
        self.send_header("Transfer-Encoding" if self.chunked else "Connection", "chunked" if self.chunked else "close")
        self.end_headers()
        self._chunks = data[: len(data) // 2] if self.cut else data
        return io.BytesIO(b"")

    def copyfile(self, source, outputfile):
        body = getattr(self, "_chunks", None)
        if body is None:
            return super().copyfile(source, outputfile)
        for i in range(0, len(body), 1 << 16):
            chunk = body[i : i + (1 << 16)]
            outputfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk) if self.chunked else chunk)
        if self.chunked and not self.cut:
            outputfile.write(b"0\r\n\r\n")
        self.close_connection = self.cut or not self.chunked


class ChunkedCutHandler(ChunkedHandler):
    cut = True


class UnsizedCutHandler(ChunkedHandler):
    chunked, cut = False, True


@pytest.fixture(scope="module")
def short_files(tmp_path_factory):
    """A Parquet file of 10 row groups, and the same rows as CSV, TSV, JSON lines, gzip or zstd
    JSON lines and CSV, and an Arrow IPC file of 10 record batches."""
    import pyarrow as pa
    import zstandard

    root = tmp_path_factory.mktemp("short-root")
    frame = pl.DataFrame({"text": [f"row {i} " + "x" * (i % 50) for i in range(200_000)]})
    frame.write_parquet(root / "x.parquet", row_group_size=20_000)
    frame.write_csv(root / "x.csv")
    frame.write_csv(root / "x.tsv", separator="\t")
    frame.write_ndjson(root / "x.jsonl")
    (root / "x.jsonl.gz").write_bytes(gzip.compress(frame.write_ndjson().encode()))
    (root / "x.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(frame.write_ndjson().encode()))
    (root / "x.csv.gz").write_bytes(gzip.compress(frame.write_csv().encode()))
    with pa.ipc.new_file(root / "x.arrow", frame.to_arrow().schema) as writer:  # 10 record batches
        for batch in frame.to_arrow().to_batches(max_chunksize=20_000):
            writer.write_batch(batch)
    return root


def _serving(handler, root: Path):
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def _one_error_line(proc: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit 2 with the error line, no Python traceback; polars' own panic messages (its reader's
    threads print them on stderr before it gives up) may stand before it."""
    assert proc.returncode == 2, (proc.returncode, proc.stdout[-2000:], proc.stderr[-3000:])
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, proc.stderr[-3000:]
    for fragment in fragments:
        assert fragment in errors[0], (fragment, errors[0])


def test_http_parquet_short_range_replies_are_an_error_not_fewer_rows(short_files, tmp_path):
    """polars' reader, given half the bytes of each range it asked for in the file's second half,
    ended the file early without an error: 120,000 of its 200,000 rows audited, exit 0 (how
    many depends on which ranges polars asks for at once). The
    rows read are counted against the footer's count."""
    server, base = _serving(ShortRangeHandler, short_files)
    try:
        url = f"{base}/x.parquet"
        expected = (f"{url}: read ", " of the 200,000 rows its Parquet footer states; the server sent fewer bytes than it announced")
        for proc in (
            run_cli("audit", url, "--no-near", "--json", str(tmp_path / "a.json")),
            run_cli("dedup", url, "--level", "exact", "-o", str(tmp_path / "d.parquet")),
        ):
            _one_error_line(proc, *expected)
        assert not (tmp_path / "a.json").exists()
        assert not (tmp_path / "d.parquet").exists()
    finally:
        server.shutdown()
        server.server_close()
    honest, base = _serving(RangeHandler, short_files)  # the same file, whole replies: every row
    try:
        assert audit_json(f"{base}/x.parquet", "--no-near")["rows"] == 200_000
    finally:
        honest.shutdown()
        honest.server_close()


@pytest.mark.parametrize(("name", "fresh"), [("http://127.0.0.1:1/x.parquet", True), ("x.parquet", False)])
def test_a_short_remote_parquet_error_is_written_on_a_line_of_its_own(name, fresh):
    """polars' fetch threads print their panics (a backtrace under RUST_BACKTRACE=1) while the
    short reading ends, so the error line was once cut into a backtrace frame's line:
    `…task::rawerror: http://…` (once in CI, by a race). It is written in one write that starts
    with a newline; a local file's error, where nothing else prints, is not."""
    from epochplan.sources.batches import footer_checked
    from epochplan.sources.parts import Part

    def read(columns, batch_rows):
        yield pl.DataFrame({"text": ["a", "b"]})

    part = Part(name=name, schema=pl.Schema({"text": pl.String}), read=read, scan=pl.LazyFrame, rows=3, rows_stated=True)
    with pytest.raises(epochplan.InputError, match="read 2 of the 3 rows") as caught:
        list(footer_checked(part, part.read(["text"], 10)))
    assert caught.value.after_foreign_output is fresh
    script = "import sys; from epochplan.cli.root import _fail; _fail(2, 'x', fresh_line=sys.argv[1] == 'True')"
    proc = subprocess.run([sys.executable, "-c", script, str(fresh)], capture_output=True, text=True, check=True)
    assert proc.stderr == ("\n" if fresh else "") + "error: x\n"


@pytest.mark.parametrize("name", ["x.parquet", "x.csv", "x.jsonl", "x.jsonl.gz"])
def test_http_reply_shorter_than_its_content_length_is_an_error(short_files, name):
    """A body that ends before its Content-Length: an error in every format (polars' reader
    for Parquet, the download for the row formats), which says the transfer ended early rather
    than pointing at the credentials."""
    server, base = _serving(ShortBodyHandler, short_files)
    said = "ended early" if name == "x.parquet" else "the server sent fewer bytes than it announced"
    try:
        _one_error_line(run_cli("audit", f"{base}/{name}", "--no-near"), f"{base}/{name}", said)
    finally:
        server.shutdown()
        server.server_close()


ROW_FILES = ["x.csv", "x.tsv", "x.jsonl", "x.jsonl.gz", "x.jsonl.zst", "x.csv.gz"]


@pytest.mark.parametrize("name", ROW_FILES)
def test_http_row_file_with_short_range_replies_reads_every_row(short_files, tmp_path, name):
    """polars' CSV and JSON lines readers, given half the bytes of each range they asked for
    (the last one too), ended the file early without an error: 105,122 of 200,000 CSV rows,
    exit 0 (JSON lines: "Syntax at character 0; check the URL and the credentials"). Row files
    over http are read from a download, whole replies, counted against what the server
    announced: every row, in the CLI, dedup and the Python API."""
    server, base = _serving(ShortAllRangesHandler, short_files)
    try:
        url = f"{base}/{name}"
        assert audit_json(url, "--no-near")["rows"] == 200_000
        assert epochplan.audit(url, near=False).rows == 200_000
        out = tmp_path / "d.parquet"
        proc = run_cli("dedup", url, "--level", "exact", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        assert pl.read_parquet(out).height == 200_000  # every row differs
    finally:
        server.shutdown()
        server.server_close()


def test_http_arrow_file_with_short_range_replies_reads_every_row(short_files):
    """polars' Arrow IPC reader, given half the bytes of each range it asked for in the file's
    second half (its footer whole), ended the file early: 100,000 of 200,000 rows, exit 0 (and
    a Rust panic's note on stderr). Read from a download: every row."""
    server, base = _serving(ShortRangeHandler, short_files)
    try:
        assert audit_json(f"{base}/x.arrow", "--no-near")["rows"] == 200_000
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("name", ["x.csv", "x.jsonl.gz"])
def test_http_row_file_from_a_proxy_that_cuts_every_reply_is_an_error(short_files, tmp_path, name):
    """A proxy that cuts every reply, whole ones too, and rewrites each Content-Length to match:
    half the CSV's rows, exit 0. The download is counted against the size the range reply's
    Content-Range announces: an error naming the URL, no output written."""
    server, base = _serving(ShortEveryReplyHandler, short_files)
    try:
        url = f"{base}/{name}"
        size = (short_files / name).stat().st_size
        said = (url, f"the download ended after {size // 2:,} of {size:,} bytes: the server sent fewer bytes than it announced")
        _one_error_line(run_cli("audit", url, "--no-near", "--json", str(tmp_path / "a.json")), *said)
        assert not (tmp_path / "a.json").exists()
        _one_error_line(run_cli("dedup", url, "--level", "exact", "-o", str(tmp_path / "d.parquet")), *said)
        assert not (tmp_path / "d.parquet").exists()
        with pytest.raises(epochplan.InputError, match="the server sent fewer bytes than it announced"):
            epochplan.audit(url, near=False)
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("handler", [ChunkedHandler, ChunkedCutHandler, UnsizedCutHandler], ids=["chunked", "chunked-cut", "unsized-cut"])
def test_http_row_file_without_a_content_length(short_files, handler):
    """A whole-file reply without a Content-Length: chunked and whole, every row; chunked and
    cut before its last chunk, or ended by a close before the size a range reply announces, an
    error (not half the rows)."""
    server, base = _serving(handler, short_files)
    try:
        url = f"{base}/x.csv"
        if handler is ChunkedHandler:
            assert audit_json(url, "--no-near")["rows"] == 200_000
        else:
            _one_error_line(run_cli("audit", url, "--no-near"), url, "the server sent fewer bytes than it announced")
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("name", ["x.parquet", "x.jsonl.gz", "x.csv.gz"])
def test_truncated_remote_file_is_named_truncated_not_a_credentials_problem(s3, short_files, tmp_path, name):
    """A compressed file or a Parquet file cut short (an upload that stopped), on S3 and over
    http: "cannot read input (unexpected end of file); check the URL and the credentials …",
    or polars' words alone. The file was read: it is truncated, and a whole copy is the fix."""
    import pyarrow.fs as pafs

    whole = (short_files / name).read_bytes() if name != "x.csv.gz" else gzip.compress((short_files / "x.csv").read_bytes())
    root = tmp_path / "cut"
    root.mkdir()
    (root / name).write_bytes(whole[: len(whole) * 3 // 5])
    fs = pafs.S3FileSystem(
        endpoint_override=s3["AWS_ENDPOINT_URL"].removeprefix("http://"), scheme="http", access_key="test", secret_key="test"
    )
    pafs.copy_files(str(root / name), f"bucket1/cut/{name}", destination_filesystem=fs)
    server, base = _serving(RangeHandler, root)
    try:
        for url, env in ((f"s3://bucket1/cut/{name}", s3), (f"{base}/{name}", None)):
            proc = run_cli("audit", url, "--no-near", env=env)
            assert_clean_error(proc, url, "the file is truncated or corrupt", "again, whole")
            assert "credentials" not in proc.stderr
        # A missing file whose path names corruption (CIFAR-10-C's `cifar10_corrupted`) is a
        # missing file: the words of the path are not the reader's.
        missing = f"{base}/cifar10_corrupted/truncated-{name}"
        proc = run_cli("audit", missing, "--no-near")
        assert_clean_error(proc, "credentials")
        assert "truncated or corrupt" not in proc.stderr
    finally:
        server.shutdown()
        server.server_close()
