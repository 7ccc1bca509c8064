"""The Python API's messages for arguments it does not take: each names the argument, the
function called and what to pass instead, before any data is read."""

from __future__ import annotations

import polars as pl
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

import epochplan
from epochplan.auditing import dedup_to_file

FRAME = pl.DataFrame({"text": ["a b c", "a b c", "d e f"]})


@pytest.mark.parametrize(
    "call",
    [
        lambda: epochplan.audit(FRAME, progress=1),
        lambda: epochplan.dedup(FRAME, progress=1),
        lambda: dedup_to_file(FRAME, "never-written.parquet", progress=1),
    ],
    ids=["audit", "dedup", "dedup_to_file"],
)
def test_a_progress_that_is_not_callable_is_refused_up_front(call):
    """Was Python's "'int' object is not callable" from the engine, after the data was read."""
    with pytest.raises(epochplan.InputError, match=r"progress=1: must be a function"):
        call()


def test_a_misspelt_keyword_names_the_function_called(tmp_path):
    """Was "audit() got an unexpected keyword argument 'txt'" for a call of dedup."""
    with pytest.raises(TypeError, match=r"^dedup\(\) got an unexpected keyword argument 'txt'; did you mean 'text'\?"):
        epochplan.dedup(FRAME, txt="text")
    with pytest.raises(TypeError, match=r"^dedup_to_file\(\) got an unexpected keyword argument 'txt'"):
        dedup_to_file(FRAME, tmp_path / "out.parquet", txt="text")
    assert not (tmp_path / "out.parquet").exists()


def test_memory_budget_takes_the_sizes_its_hint_gives():
    """The hint said "e.g. 16MiB or 64MB", and memory_budget="64MB" was then refused."""
    with pytest.raises(epochplan.InputError, match="memory_budget=10: must be at least 16 MiB.*64MB"):
        epochplan.audit(FRAME, memory_budget=10)
    assert epochplan.audit(FRAME, memory_budget="64MB").to_dict() == epochplan.audit(FRAME, memory_budget=64_000_000).to_dict()
    assert epochplan.audit(FRAME, memory_budget="1GiB").exact.duplicate_rows == 1
    with pytest.raises(epochplan.InputError, match="memory_budget='64XB': not a size"):
        epochplan.audit(FRAME, memory_budget="64XB")
    with pytest.raises(epochplan.InputError, match="memory_budget='1MB': must be at least 16 MiB"):
        epochplan.audit(FRAME, memory_budget="1MB")


def test_plan_of_data_with_an_audit_option_says_to_audit_first():
    """Was "unknown setup field 'text'"."""
    with pytest.raises(epochplan.InputError, match=r"text=\.\.\.: an option of the audit.*plan\(epochplan\.audit\(data, text=\.\.\.\)"):
        epochplan.plan(FRAME, text="text", batch=2)
    assert epochplan.plan(epochplan.audit(FRAME, text="text"), batch=2).to_dict()


@pytest.mark.parametrize("table", [pa.table({}), pl.DataFrame()], ids=["pyarrow", "polars"])
def test_a_table_without_columns_says_so(table):
    """Was "no string column to audit; columns are: " and nothing after it."""
    with pytest.raises(epochplan.InputError, match="the table has no columns"):
        epochplan.audit(table)


def test_a_pyarrow_dataset_or_scanner_says_what_to_pass(tmp_path):
    path = tmp_path / "d.parquet"
    pq.write_table(FRAME.to_arrow(), path)
    dataset = ds.dataset(path)
    with pytest.raises(epochplan.InputError, match=r"FileSystemDataset \(pyarrow\.dataset\).*pl\.scan_pyarrow_dataset\(ds\).*ds\.files"):
        epochplan.audit(dataset)
    with pytest.raises(epochplan.InputError, match=r"Scanner \(pyarrow\.dataset\).*scanner\.to_reader\(\)"):
        epochplan.audit(dataset.scanner())
    assert epochplan.audit(pl.scan_pyarrow_dataset(dataset)).exact.duplicate_rows == 1
    assert epochplan.audit(dataset.scanner().to_reader()).exact.duplicate_rows == 1
