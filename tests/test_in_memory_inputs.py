"""In-memory inputs that may not give the same rows twice are read once: a polars LazyFrame (a
join or a `unique()` runs in another row order each time), an Arrow C stream (a database cursor,
a wrapper over a RecordBatchReader: its rows come once), and other libraries' Arrow objects
(arro3, nanoarrow: their schemas are not pyarrow's). An audit and a dedup read their input
several times (the ingest, verify="exact", example texts, the rows dedup keeps): every read
must see the same rows."""

from __future__ import annotations

import errno
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import epochplan
from epochplan.auditing import dedup_to_file
from epochplan.sources import lazy_file

N = 20_000
UNIQUE = 5_000


def _joined() -> tuple[pl.LazyFrame, pl.DataFrame]:
    """A LazyFrame whose rows come in another order at each collect (a join on a shuffled
    frame), and its texts: N rows holding UNIQUE distinct texts."""
    frame = pl.DataFrame({"id": range(N), "text": [f"sample text number {i % UNIQUE}" for i in range(N)]})
    meta = pl.DataFrame({"id": range(N), "source": ["a"] * N}).sample(fraction=1.0, shuffle=True, seed=0)
    return frame.lazy().join(meta.lazy(), on="id"), frame


def test_a_lazy_join_is_collected_once():
    """dedup numbered the rows of one run of the join and read the rows it kept from another: a
    fifth of its rows were duplicates and as many unique texts were lost, without a word."""
    lazy, frame = _joined()
    for data in (lazy, frame.lazy().unique()):
        out = epochplan.dedup(data, text="text", level="exact")
        assert out.height == UNIQUE and out["text"].n_unique() == UNIQUE
        assert out.columns == data.collect_schema().names()
    # verify="exact" reads the candidates' texts back: from the same rows as the first pass.
    result = epochplan.audit(lazy, text="text", verify="exact")
    assert result.exact.unique == result.near.unique == UNIQUE
    # Example texts are read back by row number: each is its cluster's text.
    for top in result.exact.top:
        assert top.text is not None and all(member.text == top.text for member in top.members)


def test_a_lazy_join_to_a_file_and_as_an_eval_split(tmp_path):
    lazy, frame = _joined()
    out = tmp_path / "kept.parquet"
    summary = dedup_to_file(lazy, out, text="text", level="exact")
    kept = pl.read_parquet(out)
    assert summary.kept == kept.height == kept["text"].n_unique() == UNIQUE
    # keep="longest" reads every text's length from the same rows the audit numbered.
    assert epochplan.dedup(lazy, text="text", level="exact", keep="longest")["text"].n_unique() == UNIQUE
    # An eval split is read twice under verify="exact" (its candidates' texts): the same rows.
    train = frame.head(UNIQUE)
    leaks = epochplan.audit(train, text="text", eval={"val": lazy}, verify="exact")
    assert leaks.leakage["val"].rows == N and leaks.leakage["val"].exact_in_train == N


def test_a_lazy_frame_that_fails_when_collected_is_still_an_input_error():
    broken = pl.LazyFrame({"text": ["a", "b"]}).select(pl.col("text").str.to_integer().cast(pl.String))
    with pytest.raises(epochplan.InputError, match="polars LazyFrame"):
        epochplan.audit(broken, text="text")


class OneShot:
    """An Arrow C stream that gives its rows once, as a database cursor does (ADBC, DuckDB), or
    a wrapper over a pyarrow RecordBatchReader: it has no table to read again."""

    def __init__(self, data: pa.Table | pa.ChunkedArray) -> None:
        if isinstance(data, pa.Table):
            self._stream = pa.RecordBatchReader.from_batches(data.schema, data.to_batches(max_chunksize=2))
        else:
            self._stream = data
        self.reads = 0

    def __arrow_c_stream__(self, requested_schema=None):
        self.reads += 1
        assert self.reads == 1, "the stream was asked for twice: its rows come once"
        return self._stream.__arrow_c_stream__(requested_schema)


TABLE = pa.table({"text": ["a b c", "a b c", "d e f", "g", "d e f"], "id": [0, 1, 2, 3, 4]})


def test_a_one_shot_arrow_stream_is_read_once(tmp_path):
    """dedup returned an empty frame and dedup_to_file said "no rows to audit": the audit had
    read the stream, and the rows to keep were read from it again."""
    assert epochplan.dedup(OneShot(TABLE), text="text")["id"].to_list() == [0, 2, 3]
    summary = dedup_to_file(OneShot(TABLE), tmp_path / "kept.parquet", text="text")
    assert summary.kept == 3 and pq.read_table(tmp_path / "kept.parquet").equals(TABLE.take([0, 2, 3]))
    assert epochplan.audit(OneShot(TABLE), text="text", verify="exact").near.unique == 3
    result = epochplan.audit(TABLE, text="text", eval={"val": OneShot(TABLE)}, verify="exact")
    assert result.leakage["val"].exact_in_train == 5
    # A stream of strings, not of a table: one column named text.
    column = OneShot(pa.chunked_array([["x y", "x y"], ["z"]]))
    assert epochplan.audit(column).exact.unique == 2
    # A pyarrow RecordBatchReader is such a stream: read once, dedup has its rows.
    reader = pa.RecordBatchReader.from_batches(TABLE.schema, TABLE.to_batches())
    assert epochplan.dedup(reader, text="text")["id"].to_list() == [0, 2, 3]


class ForeignSchema:
    """Another library's schema (arro3, nanoarrow): it exports itself, it is not pyarrow's."""

    def __init__(self, schema: pa.Schema) -> None:
        self._schema = schema

    def __arrow_c_schema__(self):
        return self._schema.__arrow_c_schema__()


class ForeignTable:
    """Another library's table (arro3's Table): readable again, its `schema` not pyarrow's."""

    def __init__(self, table: pa.Table) -> None:
        self._table = table
        self.schema = ForeignSchema(table.schema)

    def __arrow_c_schema__(self):
        return self._table.schema.__arrow_c_schema__()

    def __arrow_c_stream__(self, requested_schema=None):
        return self._table.__arrow_c_stream__(requested_schema)


class ForeignReader(OneShot):
    """Another library's one-shot reader (arro3's RecordBatchReader): its `schema` cannot be
    asked for once the stream was read."""

    def __init__(self, table: pa.Table) -> None:
        super().__init__(table)
        self._pyarrow_schema = table.schema

    @property
    def schema(self) -> ForeignSchema:
        if self.reads:
            raise OSError("Stream already closed.")
        return ForeignSchema(self._pyarrow_schema)

    def __arrow_c_schema__(self):
        return self._pyarrow_schema.__arrow_c_schema__()


def test_other_libraries_arrow_objects_are_read_through_pyarrow(tmp_path):
    """A schema that is not pyarrow's failed: "'Schema' object is not iterable" (nanoarrow),
    "Stream already closed" (arro3's reader, its schema asked for after polars read it), and a
    TypeError writing dedup_to_file's output in the input's schema (arro3's Table)."""
    table = TABLE.replace_schema_metadata({"origin": "kept"})
    assert epochplan.audit(ForeignTable(table), text="text").exact.unique == 3
    assert epochplan.audit(ForeignReader(table), text="text").exact.unique == 3
    assert epochplan.dedup(ForeignReader(table), text="text")["id"].to_list() == [0, 2, 3]
    out = tmp_path / "kept.parquet"
    dedup_to_file(ForeignTable(table), out, text="text")
    written = pq.read_table(out)
    assert written.equals(table.take([0, 2, 3])) and written.schema.metadata == {b"origin": b"kept"}


def _temp_folder(tmp_path, monkeypatch) -> Path:
    """A temporary folder of this test's own, where epochplan puts the file a LazyFrame is run
    into (`tempfile`'s default folder, as TMPDIR sets it)."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def _scan_with_an_unused_column(tmp_path, rows: int = 1_000) -> pl.LazyFrame:
    texts = [f"sample text number {i % 10}" for i in range(rows)]
    pl.DataFrame({"text": texts, "label": [str(i % 2) for i in range(rows)], "blob": [f"{i}" * 50 for i in range(rows)]}).write_parquet(
        tmp_path / "blob.parquet"
    )
    return pl.scan_parquet(tmp_path / "blob.parquet")


def test_a_lazy_frame_is_run_into_a_temporary_file_of_the_columns_read_and_removed(tmp_path, monkeypatch):
    """Collected, a LazyFrame was held in memory whole, every column: a scan with a large column
    the audit never reads took its size in RAM, and a scan larger than memory ran out of it. It
    is run once into a temporary Parquet file instead (the audit's columns; dedup's all), which
    is gone when the call returns."""
    temp = _temp_folder(tmp_path, monkeypatch)
    lazy = _scan_with_an_unused_column(tmp_path)
    held: list[list[str]] = []

    def look(rows: int) -> None:  # during the audit: the file it reads from
        held.extend(pq.read_schema(file).names for file in temp.glob("epochplan-*.parquet"))

    result = epochplan.audit(lazy, text="text", label="label", near=False, progress=look)
    assert result.exact.unique == 10 and held and all(names == ["text", "label"] for names in held)
    assert not list(temp.iterdir())
    held.clear()
    assert epochplan.dedup(lazy, text="text", level="exact", progress=look).height == 10
    assert held and all(names == ["text", "label", "blob"] for names in held)
    assert not list(temp.iterdir())


def test_the_temporary_file_is_removed_after_an_error_or_an_interrupt(tmp_path, monkeypatch):
    temp = _temp_folder(tmp_path, monkeypatch)
    broken = pl.LazyFrame({"text": ["a", "b"]}).select(pl.col("text").str.to_integer().cast(pl.String))
    with pytest.raises(epochplan.InputError, match="^polars LazyFrame: cannot run its query"):
        epochplan.dedup(broken, text="text")
    assert not list(temp.iterdir())

    def interrupt(rows: int) -> None:
        assert list(temp.glob("epochplan-*.parquet")), "the audit reads a temporary file"
        raise KeyboardInterrupt

    lazy = _scan_with_an_unused_column(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        epochplan.audit(lazy, text="text", progress=interrupt)
    assert not list(temp.iterdir())
    with pytest.raises(KeyboardInterrupt):
        dedup_to_file(lazy, tmp_path / "kept.parquet", text="text", progress=interrupt)
    assert not list(temp.iterdir()) and not (tmp_path / "kept.parquet").exists()
    # An eval split is run once too, for its text column, and removed with the train's.
    assert epochplan.audit(lazy.select("text"), eval={"val": lazy}, near=False).leakage["val"].exact_in_train == 1_000
    assert not list(temp.iterdir())


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full to fill the disk")
def test_a_full_or_missing_temporary_folder_is_one_line_naming_the_lazy_frame(tmp_path, monkeypatch):
    temp = _temp_folder(tmp_path, monkeypatch)
    lazy = _scan_with_an_unused_column(tmp_path)
    # Every write of the temporary file lands on /dev/full: "No space left on device".
    monkeypatch.setattr(lazy_file, "arrow_sink", lambda path: pa.OSFile("/dev/full", "wb"))
    with pytest.raises(epochplan.StorageError) as full:
        epochplan.dedup(lazy, text="text")
    message = str(full.value)
    assert message.startswith("polars LazyFrame: ") and "\n" not in message
    assert f"in {temp} (No space left on device)" in message and "TMPDIR" in message and full.value.errno == errno.ENOSPC
    assert not list(temp.iterdir())
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    with pytest.raises(epochplan.StorageError, match=r"^polars LazyFrame: .*\(No such file or directory\).*TMPDIR"):
        epochplan.audit(lazy, text="text")


def test_a_column_the_temporary_file_cannot_hold_is_refused_before_the_query_runs():
    lazy = pl.LazyFrame({"text": ["a", "b"], "big": pl.Series([1, 2], dtype=pl.Int128)})
    with pytest.raises(epochplan.InputError, match="^polars LazyFrame: column 'big' is Int128.*cast or drop it"):
        epochplan.dedup(lazy, text="text")
    # The audit runs only the columns it reads: the others' types do not matter to it.
    assert epochplan.audit(lazy, text="text").exact.unique == 2


#: What a child process prints: its own peak resident memory in KiB, the high-water mark of its
#: address space (VmHWM). Not `ru_maxrss`: Linux carries the peak of the process image replaced
#: by exec into it, and a child spawned by vfork counts this test process's peak as its own.
PEAK_RSS = """
import sys
import polars as pl
import epochplan
result = epochplan.audit(pl.scan_parquet(sys.argv[1]), text="text", near=False)
assert result.rows == int(sys.argv[2]), result.rows
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
print(status["VmHWM"].split()[0])
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the peak memory from /proc (Linux)")
def test_a_column_the_audit_does_not_read_is_never_in_memory(tmp_path):
    """The reviewer's case, wider: an audit of `pl.scan_parquet` whose file has a large column
    the audit never reads. Collected, the frame held that column whole (800 MB here); run once
    for the text column, the process stays far below that. The file is small on disk (each
    value compresses to a few bytes), so the test writes and reads little."""
    rows, width = 4_000, 200_000
    schema = pa.schema([("text", pa.string()), ("blob", pa.string())])
    with pq.ParquetWriter(tmp_path / "blob.parquet", schema, compression="zstd") as writer:
        for start in range(0, rows, 250):
            numbers = range(start, start + 250)
            texts = [f"sample text number {i}" for i in numbers]
            writer.write_table(pa.table({"text": texts, "blob": [f"{i:08d}" + "x" * width for i in numbers]}, schema=schema))
    unused = rows * width
    proc = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, str(tmp_path / "blob.parquet"), str(rows)], capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 0, proc.stderr
    peak = int(proc.stdout.split()[-1]) * 1024
    assert peak < unused / 2, f"peak RSS {peak / 1e6:.0f} MB for an unused column of {unused / 1e6:.0f} MB"
