"""The Python API over in-memory data: a pandas frame's index, an Arrow table's own schema and
its columns the audit does not read, `datasets` objects read in whole batches, and the
messages for arguments the API does not take."""

from __future__ import annotations

import decimal

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import epochplan
from epochplan.auditing import dedup_to_file


def _indexed() -> pd.DataFrame:
    return pd.DataFrame({"body": ["a b c", "a b c", "d e f"]}, index=pd.Index(["x1", "x2", "x3"], name="rid"))


def test_a_pandas_index_is_kept_by_dedup_and_dedup_to_file(tmp_path):
    frame = _indexed()
    kept = epochplan.dedup(frame, text="body", level="exact")
    assert kept.columns == ["body", "rid"]
    assert kept["rid"].to_list() == ["x1", "x3"]
    out = tmp_path / "kept.parquet"
    dedup_to_file(frame, out, text="body", level="exact")
    back = pd.read_parquet(out)
    assert back.index.tolist() == ["x1", "x3"] and back.index.name == "rid"
    assert back["body"].tolist() == ["a b c", "d e f"]


def test_an_unnamed_index_is_kept_and_the_default_one_adds_no_column(tmp_path):
    frame = pd.DataFrame({"text": ["a b c", "a b c", "d e f"]}, index=[10, 20, 30])
    assert epochplan.dedup(frame, level="exact")["__index_level_0__"].to_list() == [10, 30]
    plain = frame.reset_index(drop=True)
    assert epochplan.dedup(plain, level="exact").columns == ["text"]
    out = tmp_path / "plain.parquet"
    dedup_to_file(plain, out, level="exact")
    assert pq.read_schema(out).names == ["text"]


def test_a_string_index_is_never_the_text_column_chosen(tmp_path):
    """Not "several string columns (body, rid)": the index holds row ids. Also a Parquet file
    pandas wrote with its named index, and the same frame through pyarrow."""
    frame = _indexed()
    frame.to_parquet(tmp_path / "indexed.parquet")
    for data in (frame, pa.Table.from_pandas(frame), str(tmp_path / "indexed.parquet")):
        result = epochplan.audit(data)
        assert result.source.text_columns == ["body"]
        assert (result.rows, result.exact.duplicate_rows) == (3, 1)


def test_a_dictionary_column_of_numbers_keeps_the_input_schema(tmp_path):
    table = pa.table({"text": ["a b c", "a b c", "d e f"], "d": pa.array([1, 2, 1]).dictionary_encode()})
    out = tmp_path / "kept.parquet"
    dedup_to_file(table, out, text="text", level="exact")
    written = pq.read_table(out)
    assert written.schema.field("text").type == pa.string()  # not polars' large_string
    assert written.to_pydict() == {"text": ["a b c", "d e f"], "d": [1, 1]}
    assert written.schema.equals(pq.read_schema(_written_as_is(table.slice(0, 0), tmp_path)))


def _written_as_is(table: pa.Table, tmp_path) -> str:
    path = str(tmp_path / "as_is.parquet")
    pq.write_table(table, path)
    return path


@pytest.mark.parametrize(
    "column",
    [
        pa.array([decimal.Decimal("1.5")] * 3, pa.decimal256(40, 2)),
        pa.array([pa.MonthDayNano([1, 2, 3])] * 3, pa.month_day_nano_interval()),
    ],
    ids=["decimal256", "interval"],
)
def test_a_column_polars_cannot_read_is_no_matter_when_the_audit_does_not_read_it(column):
    table = pa.table({"text": ["a b c", "a b c", "d e f"], "amount": column})
    assert epochplan.audit(table, text="text").exact.duplicate_rows == 1
    assert epochplan.audit(table).exact.duplicate_rows == 1
    with pytest.raises(epochplan.InputError, match="column 'amount'"):  # dedup writes every column
        epochplan.dedup(table, text="text", level="exact")
    with pytest.raises(epochplan.InputError, match="column 'amount'"):  # named as the text
        epochplan.audit(table, text="amount")


def test_a_polars_frame_is_unchanged():
    frame = pl.DataFrame({"text": ["a", "a", "b"]})
    assert epochplan.dedup(frame, level="exact")["text"].to_list() == ["a", "b"]
