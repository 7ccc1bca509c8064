"""A CSV or TSV header that names a column twice is exit 2 naming the file and the column:
polars' reader (plain local files) renamed the second `text_duplicated_0`, so the audit read
one of them without a word and `dedup` wrote the renamed header back; pyarrow's (compressed
files) said "input: column 'text' appears more than once", without the file."""

from __future__ import annotations

import pytest

import epochplan
from conftest import assert_clean_error, audit_json, run_cli, write_compressed
from epochplan import InputError

FIX = "rename the columns in the header so that each name appears once"


@pytest.mark.parametrize("name", ["twice.csv", "twice.tsv", "twice.csv.gz", "twice.tsv.zst", "mac.csv"])
def test_a_column_named_twice_is_refused(tmp_path, name):
    sep = "\t" if ".tsv" in name else ","
    text = "text,text\na,b\na,c\n".replace(",", sep)
    write_compressed(tmp_path / name, text.replace("\n", "\r") if name == "mac.csv" else text)
    want = f"{name}: its header names column 'text' more than once"
    for args in (["audit", "--no-near"], ["audit", "--no-near", "--text", "text"], ["dedup", "-o", str(tmp_path / "out.csv")]):
        assert_clean_error(run_cli(args[0], str(tmp_path / name), *args[1:]), want, FIX)
    assert not (tmp_path / "out.csv").exists()
    with pytest.raises(InputError, match=want):
        epochplan.audit(str(tmp_path / name), near=False)


def test_every_repeated_column_is_named(tmp_path):
    (tmp_path / "both.csv").write_text('text,label,"text",label,id\na,1,b,2,3\n')
    proc = run_cli("audit", str(tmp_path / "both.csv"), "--no-near")
    assert_clean_error(proc, "both.csv: its header names columns 'text', 'label' more than once", FIX)


def test_unnamed_columns_are_still_read(tmp_path):
    """Excel's trailing empty columns (`text,label,,`) are no repeated names."""
    (tmp_path / "excel.csv").write_text("text,label,,\na,1,,\nb,2,,\na,1,,\n")
    result = audit_json(str(tmp_path / "excel.csv"), "--no-near", "--text", "text")
    assert (result["rows"], result["exact"]["unique"]) == (3, 2)


@pytest.mark.parametrize("name", ["twice.csv", "twice.tsv"])
def test_an_hf_file_naming_a_column_twice_is_refused(tmp_path, hub, name):
    """polars' reader of hf:// renamed the second `text_duplicated_0`, without a word."""
    files, env = hub
    (files / name).write_text("text,text\na,b\na,c\n".replace(",", "\t" if name.endswith(".tsv") else ","))
    url = f"hf://datasets/user/repo/{name}"
    want = f"{url}: its header names column 'text' more than once"
    for args in (["audit", "--no-near"], ["dedup", "-o", str(tmp_path / "out.csv")]):
        assert_clean_error(run_cli(args[0], url, *args[1:], env=env), want, FIX)
    assert not (tmp_path / "out.csv").exists()
