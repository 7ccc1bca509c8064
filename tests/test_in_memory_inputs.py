"""In-memory inputs that may not give the same rows twice are read once: a polars LazyFrame (a
join or a `unique()` runs in another row order each time), an Arrow C stream (a database cursor,
a wrapper over a RecordBatchReader: its rows come once), and other libraries' Arrow objects
(arro3, nanoarrow: their schemas are not pyarrow's). An audit and a dedup read their input
several times (the ingest, verify="exact", example texts, the rows dedup keeps): every read
must see the same rows."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import epochplan
from epochplan.auditing import dedup_to_file

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
