"""The Python API over in-memory data: a pandas frame's index, an Arrow table's own schema and
its columns the audit does not read, `datasets` objects read in whole batches, and the
messages for arguments the API does not take."""

from __future__ import annotations

import decimal
import json

import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import epochplan
from conftest import assert_clean_error, run_cli
from epochplan.auditing import dedup_to_file
from epochplan.sources import open_source
from epochplan.sources.hf import dataset_part


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


def test_an_unnamed_index_of_strings_is_kept_and_one_of_positions_adds_no_column(tmp_path):
    frame = pd.DataFrame({"text": ["a b c", "a b c", "d e f"]}, index=["u", "v", "w"])
    assert epochplan.dedup(frame, level="exact")["__index_level_0__"].to_list() == ["u", "w"]
    # The default index, and the positions a filter or a sort left: no column (a JSON lines or
    # CSV output would carry `__index_level_0__` on every line).
    plain = frame.reset_index(drop=True)
    for positions in (plain, plain[plain.text != "x"].iloc[::-1], plain.set_axis([10, 20, 30])):
        assert epochplan.dedup(positions, level="exact").columns == ["text"]
        out = tmp_path / "positions.jsonl"
        dedup_to_file(positions, out, level="exact")
        assert set(json.loads(out.read_text().splitlines()[0])) == {"text"}
    out = tmp_path / "plain.parquet"
    dedup_to_file(plain, out, level="exact")
    assert pq.read_schema(out).names == ["text"]


def test_a_text_column_made_the_index_is_still_the_text_chosen(tmp_path):
    """`set_index("text")` beside a string label: audited on `text` (its name), not on `label`."""
    frame = pd.DataFrame({"text": ["a b c", "a b c", "d e f", "g h i"], "label": ["x", "y", "x", "x"]}).set_index("text")
    for result in _audits_of_each_form(frame, tmp_path):
        assert result.source.text_columns == ["text"]
        assert (result.rows, result.exact.duplicate_rows) == (4, 1)


def _audits_of_each_form(frame: pd.DataFrame, tmp_path):
    """The audits of a pandas frame, of it through pyarrow, and of the Parquet file pandas writes."""
    frame.to_parquet(tmp_path / "frame.parquet")
    return [epochplan.audit(data) for data in (frame, pa.Table.from_pandas(frame), str(tmp_path / "frame.parquet"))]


def test_a_string_index_is_never_the_text_column_chosen(tmp_path):
    """Not "several string columns (body, rid)": the index holds row ids. Also a Parquet file
    pandas wrote with its named index, and the same frame through pyarrow."""
    for result in _audits_of_each_form(_indexed(), tmp_path):
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


def test_dedup_of_a_file_names_the_column_it_cannot_write(tmp_path):
    """Was: "cannot read rows (precision must be between 1 and 38, got 40)", no column named."""
    path = tmp_path / "wide.parquet"
    pq.write_table(pa.table({"text": ["a b c", "a b c"], "amount": pa.array([decimal.Decimal("1.5")] * 2, pa.decimal256(40, 2))}), path)
    proc = run_cli("dedup", str(path), "--text", "text", "-o", str(tmp_path / "out.parquet"))
    assert_clean_error(proc, "wide.parquet", "column 'amount'", "decimal256(40, 2)")


def _mapped_datasets():
    datasets = pytest.importorskip("datasets")
    table = pa.table({"text": [f"row {i % 300} of the set" for i in range(1000)], "id": range(1000)})
    plain = datasets.Dataset(table)
    split = plain.train_test_split(test_size=0.1, seed=0)
    return [plain.shuffle(seed=0), split["train"], split["test"], plain.select([5, 3, 900, 3, 5])]


def test_a_shuffled_or_split_dataset_is_read_in_whole_batches_and_the_same_rows():
    """`datasets`' own iteration of a Dataset with an indices mapping gives a batch of one chunk
    a row, which the core read chunk by chunk (15-60x slower). The batches read are one chunk
    each, with the rows `datasets` gives, in its order."""
    for mapped in _mapped_datasets():
        expected = mapped.to_pandas()
        frames = list(dataset_part(mapped).read(["text", "id"], 128))
        assert [frame["text"].n_chunks() for frame in frames] == [1] * len(frames)
        assert pl.concat(frames)["id"].to_list() == expected["id"].tolist()
        assert epochplan.audit(mapped, text="text").exact.duplicate_rows == len(expected) - expected["text"].nunique()
        kept = epochplan.dedup(mapped, text="text", level="exact")
        assert kept["id"].to_list() == expected.drop_duplicates("text")["id"].tolist()


def test_a_table_of_one_row_chunks_is_read_in_whole_batches():
    table = pa.table({"text": [f"row {i % 30}" for i in range(200)], "id": range(200)})
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=1))
    frames = list(open_source(chunked).parts[0].read(["text", "id"], 64))
    assert [frame["text"].n_chunks() for frame in frames] == [1] * len(frames)
    assert pl.concat(frames)["id"].to_list() == list(range(200))
    assert epochplan.dedup(chunked, level="exact")["id"].to_list() == list(range(30))


def test_dedup_combines_a_table_of_one_row_chunks_once(monkeypatch, tmp_path):
    """dedup combined each column's 200,000 one-row chunks again wherever it was read (the
    audit's text, then every column for the kept rows): 3.5 s of a 4 s dedup. Made one chunk
    once, every column reaches polars as one chunk."""
    from epochplan.sources import parts

    table = pa.table({"text": [f"row {i % 30}" for i in range(300)], "id": range(300)})
    chunked = pa.Table.from_batches(table.to_batches(max_chunksize=1))
    converted = parts._converted
    chunks: list[int] = []

    def spy(table, column, where):
        chunks.append(table.column(column).num_chunks)
        return converted(table, column, where)

    monkeypatch.setattr(parts, "_converted", spy)
    assert epochplan.dedup(chunked, level="exact")["id"].to_list() == list(range(30))
    dedup_to_file(pa.RecordBatchReader.from_batches(chunked.schema, chunked.to_batches()), tmp_path / "kept.parquet", level="exact")
    assert pq.read_table(tmp_path / "kept.parquet").equals(table.slice(0, 30))
    assert chunks and set(chunks) == {1}, chunks
    # An audit alone combines only the columns it reads, as before.
    chunks.clear()
    assert epochplan.audit(chunked, near=False).exact.unique == 30 and chunks == [300]


def test_an_index_of_ids_is_never_audited_in_place_of_text(tmp_path):
    """Row ids as pandas' index: not the text when nothing else is ("no string column"), not a
    rival of a conversation column, and not a column the text-column warning suggests."""
    ids_only = pd.DataFrame({"score": [1.0, 2.0, 3.0, 4.0]}, index=pd.Index(["r1", "r2", "r3", "r4"], name="rid"))
    ids_only.to_parquet(tmp_path / "ids.parquet")
    for data in (ids_only, str(tmp_path / "ids.parquet")):
        with pytest.raises(epochplan.InputError, match="no string column"):
            epochplan.audit(data)
    dialog = pd.DataFrame(
        {"dialog": [["hi there", "hello"], ["hi there", "hello"], ["bye", "ok"]]}, index=pd.Index(["d1", "d2", "d3"], name="dialog_id")
    )
    dialog.to_parquet(tmp_path / "dialog.parquet")
    for data in (dialog, str(tmp_path / "dialog.parquet")):
        result = epochplan.audit(data)
        assert result.source.text_columns == ["dialog"] and result.exact.unique == 2
    prompts = pd.DataFrame({"prompt": ["a b c", "a b c", "d e f"]}, index=pd.Index(["math", "math", "art"], name="category"))
    assert not [w for w in epochplan.audit(prompts).warnings if "category" in w.message]


EMPTY = {
    "polars": lambda: pl.DataFrame(schema={"text": pl.String, "n": pl.Int32}),
    "pyarrow": lambda: pa.table({"text": pa.array([], pa.string()), "n": pa.array([], pa.int32())}),
    "pandas": lambda: pd.DataFrame({"text": pd.Series([], dtype=object), "n": pd.Series([], dtype="int32")}),
    "lazy": lambda: pl.LazyFrame({"text": ["a b"], "n": [1]}, schema={"text": pl.String, "n": pl.Int32}).filter(pl.col("n") > 5),
}


@pytest.mark.parametrize("make", EMPTY.values(), ids=list(EMPTY))
def test_dedup_of_a_frame_of_no_rows_returns_it_empty(make, tmp_path):
    """Was "no rows to audit" (an all-null frame gave an empty frame): a filter that matched
    nothing is data, and its dedup keeps none of its rows, in its columns and types."""
    kept = epochplan.dedup(make())
    assert kept.height == 0 and kept.columns == ["text", "n"] and kept.schema["n"] == pl.Int32
    for name in ("out.parquet", "out.csv"):
        summary = dedup_to_file(make(), tmp_path / name)
        assert (summary.rows, summary.kept, summary.duplicates_removed) == (0, 0, 0)
    assert pq.read_schema(tmp_path / "out.parquet").names == ["text", "n"]
    assert (tmp_path / "out.csv").read_text() == "text,n\n"
    # The options are still checked, and the audit refuses it as the command line refuses an
    # empty Parquet file.
    with pytest.raises(epochplan.InputError, match="no column 'body'"):
        epochplan.dedup(make(), text="body")
    with pytest.raises(epochplan.InputError, match="no rows to audit"):
        epochplan.audit(make())


def test_an_empty_file_is_refused_by_dedup_as_on_the_command_line(tmp_path):
    path = tmp_path / "empty.parquet"
    pq.write_table(EMPTY["pyarrow"](), path)
    proc = run_cli("dedup", str(path), "-o", str(tmp_path / "out.parquet"))
    assert_clean_error(proc, "empty.parquet: no rows to audit")
    assert not (tmp_path / "out.parquet").exists()
    for call in (epochplan.audit, epochplan.dedup):
        with pytest.raises(epochplan.InputError, match="empty.parquet: no rows to audit"):
            call(str(path))


def test_a_pandas_series_keeps_its_index_as_a_one_column_frame_does(tmp_path):
    """A Series lost its index (a DataFrame of the same rows kept it): dedup returned the text
    alone, and the kept rows could not be found in the Series again."""
    series = pd.Series(["a b c", "d e f", "a b c", "g"], index=pd.Index(["r1", "r2", "r3", "r4"], name="rid"), name="body")
    kept = epochplan.dedup(series, level="exact")
    assert kept.columns == ["body", "rid"] and kept["rid"].to_list() == ["r1", "r2", "r4"]
    assert kept.equals(epochplan.dedup(series.to_frame(), level="exact"))
    assert series.loc[kept["rid"].to_list()].tolist() == kept["body"].to_list()
    unnamed = pd.Series(["a b c", "a b c", "g"], index=["u", "v", "w"])
    assert epochplan.dedup(unnamed, level="exact").to_dict(as_series=False) == {"text": ["a b c", "g"], "__index_level_0__": ["u", "w"]}
    out = tmp_path / "kept.parquet"
    dedup_to_file(series, out, level="exact")
    back = pd.read_parquet(out)
    assert back.index.tolist() == ["r1", "r2", "r4"] and back.index.name == "rid"
    # The default index (positions) adds no column, as for a frame.
    assert epochplan.dedup(series.reset_index(drop=True), level="exact").columns == ["body"]
