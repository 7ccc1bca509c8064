"""`dedup -o DIR/`: one output shard per input file, same names and formats, the same rows as
`-o FILE` cut at the input files' boundaries; nothing of the user's overwritten."""

from __future__ import annotations

import gzip
from pathlib import Path

import polars as pl
import pytest

import epochplan
from conftest import assert_clean_error, audit_json, run_cli
from epochplan.auditing import dedup_to_file


@pytest.fixture
def shards(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    texts = [f"row {i % 37} of the shard corpus, with words enough to be a document" for i in range(300)]
    for k in range(3):
        pl.DataFrame({"id": list(range(k * 100, (k + 1) * 100)), "text": texts[k * 100 : (k + 1) * 100]}).write_parquet(
            folder / f"s{k}.parquet"
        )
    return folder


def test_one_shard_per_input_equals_the_single_file_cut_at_file_boundaries(shards, tmp_path):
    whole = tmp_path / "whole.parquet"
    assert run_cli("dedup", str(shards), "-t", "text", "--level", "exact", "-o", str(whole)).returncode == 0
    out = tmp_path / "out"
    proc = run_cli("dedup", str(shards), "-t", "text", "--level", "exact", "-o", f"{out}/")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["s0.parquet", "s1.parquet", "s2.parquet"]  # no temp folder left
    parts = [pl.read_parquet(out / f"s{k}.parquet") for k in range(3)]
    assert parts[0].height == 37 and parts[1].height == parts[2].height == 0  # every later row copies one of the first 37
    assert pl.concat(parts).equals(pl.read_parquet(whole))
    assert not list(tmp_path.glob(".out.*"))
    assert "kept 37 of 300 rows" in proc.stderr
    # -q, as audit and check take it (it was "No such option: -q"): the same rows, no summary.
    quiet = run_cli("dedup", str(shards), "-t", "text", "--level", "exact", "-o", str(tmp_path / "quiet.parquet"), "-q")
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
    assert pl.read_parquet(tmp_path / "quiet.parquet").equals(pl.read_parquet(whole))


def test_an_existing_folder_takes_new_shards_but_never_overwrites(shards, tmp_path):
    out = tmp_path / "existing"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    proc = run_cli("dedup", str(shards), "-t", "text", "-o", str(out))  # an existing folder, no trailing slash
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt", "s0.parquet", "s1.parquet", "s2.parquet"]
    before = (out / "s0.parquet").read_bytes()
    proc = run_cli("dedup", str(shards), "-t", "text", "-o", str(out))
    assert_clean_error(proc, "s0.parquet")
    assert (out / "s0.parquet").read_bytes() == before and (out / "notes.txt").read_text() == "mine"
    # The input folder itself: its files would be replaced.
    assert_clean_error(run_cli("dedup", str(shards), "-t", "text", "-o", f"{shards}/"), "s0.parquet")
    # A file where a folder above the output would be: said so (was "folder ... does not exist").
    file = shards / "s0.parquet"
    for target in (f"{file}/one.parquet", f"{file}/sub/", f"{file}/sub/one.parquet"):
        assert_clean_error(run_cli("dedup", str(shards), "-t", "text", "-o", target), f"{file} is a file, not a folder")


def test_shards_keep_their_format_and_unwritable_formats_are_refused(tmp_path):
    folder = tmp_path / "jsonl"
    folder.mkdir()
    for k in range(2):
        pl.DataFrame({"text": ["same text here", f"other {k}"]}).write_ndjson(folder / f"p{k}.jsonl")
    out = tmp_path / "out"
    proc = run_cli("dedup", str(folder), "-t", "text", "--level", "exact", "-o", f"{out}/")
    assert proc.returncode == 0, proc.stderr
    assert pl.read_ndjson(out / "p0.jsonl")["text"].to_list() == ["same text here", "other 0"]
    assert pl.read_ndjson(out / "p1.jsonl")["text"].to_list() == ["other 1"]

    packed = tmp_path / "gz"
    packed.mkdir()
    with gzip.open(packed / "a.jsonl.gz", "wt") as f:
        f.write('{"text": "x"}\n')
    assert_clean_error(run_cli("dedup", str(packed), "-t", "text", "-o", f"{tmp_path / 'o2'}/"), "a.jsonl.gz", "-o out.parquet")
    assert not (tmp_path / "o2").exists()


def test_two_inputs_with_one_name_are_refused(shards, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    pl.DataFrame({"id": [1], "text": ["x"]}).write_parquet(other / "s0.parquet")
    proc = run_cli("dedup", str(shards), str(other), "-t", "text", "-o", f"{tmp_path / 'o'}/")
    assert_clean_error(proc, "s0.parquet")


def _dedup_two_shards(tmp_path, first: pl.Series, second: pl.Series):
    """Two Parquet shards whose `extra` column is `first` and `second`, deduplicated into one
    file: (the folder, the output path, the finished `dedup -o FILE`)."""
    folder = tmp_path / "in"
    folder.mkdir()
    for k, extra in enumerate([first, second]):
        pl.DataFrame({"text": [f"document number {k}"], "extra": extra}).write_parquet(folder / f"{k}.parquet")
    target = tmp_path / "one.parquet"
    return folder, target, run_cli("dedup", str(folder), "-o", str(target))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (pl.Series([0], dtype=pl.Datetime("ns")), pl.Series([0], dtype=pl.Datetime("us", "UTC"))),
        (pl.Series([[1]]), pl.Series([{"a": 1}])),
    ],
    ids=["timestamp-zones", "list-struct"],
)
def test_a_column_the_files_hold_in_types_one_file_cannot_join_is_refused(tmp_path, first, second):
    """One output file holds the union of the columns: a column in two types polars cannot join
    was exit 3 ("SchemaError: failed to determine supertype"). Now exit 2 naming it, the files
    and their types, before any work; `-o DIR/` keeps each file's types and writes them."""
    folder, target, proc = _dedup_two_shards(tmp_path, first, second)
    assert_clean_error(proc, "column 'extra'", "0.parquet", "1.parquet", "-o DIR/", str(first.dtype), str(second.dtype))
    assert not target.exists() and not list(tmp_path.glob(".one.*"))
    out = tmp_path / "out"
    assert run_cli("dedup", str(folder), "-o", f"{out}/").returncode == 0
    assert pl.read_parquet(out / "1.parquet").schema["extra"] == second.dtype
    with pytest.raises(epochplan.InputError, match="column 'extra' is"):  # the Python API too (a raw SchemaError)
        epochplan.dedup(str(folder))


@pytest.mark.parametrize(
    ("first", "second", "changed"),
    [
        (pl.Series([9007199254740993]), pl.Series([1.5]), "9007199254740993 becomes 9007199254740992.0"),
        (
            pl.Series([1577836800000000001], dtype=pl.Int64).cast(pl.Datetime("ns")),
            pl.Series([0], dtype=pl.Datetime("us")),
            ".000000001 becomes",
        ),
        (pl.Series([[2**60 + 1]]), pl.Series([[0.5]]), "becomes"),
    ],
    ids=["int-past-2^53-float", "nanoseconds-microseconds", "list-int-list-float"],
)
def test_a_join_of_the_files_types_that_would_change_values_is_refused(tmp_path, first, second, changed):
    """polars joins Int64 and Float64 as Float64, Datetime(ns) and Datetime(us) as microseconds,
    casting without a word: `dedup -o FILE` wrote 9007199254740993 as 9007199254740992.0 and
    dropped nanoseconds. Now exit 2 naming the column, the file, the value that would change."""
    folder, target, proc = _dedup_two_shards(tmp_path, first, second)
    assert_clean_error(proc, "column 'extra'", "0.parquet", changed, "-o DIR/")
    assert not target.exists()
    with pytest.raises(epochplan.InputError, match="changes its values"):
        epochplan.dedup(str(folder))
    out = tmp_path / "out"
    assert run_cli("dedup", str(folder), "-o", f"{out}/").returncode == 0, "each file keeps its own type"
    assert pl.read_parquet(out / "0.parquet")["extra"].equals(first.alias("extra"))


@pytest.mark.parametrize(
    ("first", "second", "returned", "written"),
    [
        (
            pl.Series([[1]]),
            pl.Series([{"a": 1}]),
            "and the DataFrame dedup() returns cannot hold both (a column has one type); give the files one type",
            "and one output file cannot hold both; give the files one type",
        ),
        (
            pl.Series([9007199254740993]),
            pl.Series([1.5]),
            "(9007199254740993 becomes 9007199254740992.0); the DataFrame dedup() returns holds a column in one type: give "
            "the files one type",
            "(9007199254740993 becomes 9007199254740992.0); give the files one type",
        ),
        (
            pl.Series([2**63 + 5], dtype=pl.UInt64),
            pl.Series([-1], dtype=pl.Int64),
            None,  # dedup() returns it as Int128
            "joined as Int128, which a Parquet file cannot hold; write .jsonl or .csv, or give the files one type",
        ),
    ],
    ids=["no-join", "join-changes-values", "join-parquet-cannot-hold"],
)
def test_the_python_api_is_told_its_own_way_out_of_a_type_join(tmp_path, first, second, returned, written):
    """`epochplan.dedup()` and `dedup_to_file()` refused a join with the command line's way out,
    "write one output per input file with -o DIR/": neither takes -o, and dedup() writes no file.
    Now each says what it can do; the command line keeps its words."""
    folder, _, proc = _dedup_two_shards(tmp_path, first, second)
    assert_clean_error(proc, "-o DIR/")
    if returned is not None:
        with pytest.raises(epochplan.InputError) as caught:
            epochplan.dedup(str(folder))
        assert str(caught.value).startswith("dedup: column 'extra' is ") and str(caught.value).endswith(returned), caught.value
        assert "-o " not in str(caught.value)
    target = tmp_path / "api.parquet"
    with pytest.raises(epochplan.InputError) as caught:
        dedup_to_file(str(folder), target)
    assert str(caught.value).startswith(f"out={str(target)!r}: column 'extra' is ") and str(caught.value).endswith(written)
    assert "-o " not in str(caught.value) and not target.exists()


def test_a_join_of_the_files_types_that_keeps_every_value_is_written(tmp_path):
    """Whole numbers that floats hold exactly, float32 beside float64, a date or a bool beside
    text (written as its text; polars has no cast back from text to check, which was exit 3)
    and a bool beside whole numbers join as polars joins them, with a warning a column naming
    the files and their types (the column's type changed without a word before)."""
    import datetime

    folder = tmp_path / "in"
    folder.mkdir()
    pl.DataFrame({"text": ["one doc"], "n": [3], "f": pl.Series([0.5], dtype=pl.Float32), "d": [datetime.date(2020, 1, 2)],
                  "b": [True], "i": [True], "same": [1]}).write_parquet(folder / "0.parquet")  # fmt: skip
    pl.DataFrame({"text": ["two doc"], "n": [1.5], "f": [0.25], "d": ["soon"], "b": ["maybe"], "i": [5], "same": [2]}).write_parquet(
        folder / "1.parquet"
    )
    target = tmp_path / "one.parquet"
    proc = run_cli("dedup", str(folder), "-q", "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(target).select("n", "f", "d", "b", "i").rows() == [
        (3.0, 0.5, "2020-01-02", "true", 1),
        (1.5, 0.25, "soon", "maybe", 5),
    ]
    first, second = folder / "0.parquet", folder / "1.parquet"
    warned = {line.split("'")[1]: line for line in proc.stderr.splitlines()}
    assert sorted(warned) == ["b", "d", "f", "i", "n"]  # not `same`
    assert warned["i"] == (
        f"warning: column 'i' is Boolean in {first}, Int64 in {second}: one output holds it as Int64; write one output per "
        "input file with -o DIR/ to keep each file's own type"
    )
    assert f"Date in {first}, String in {second}: one output holds it as String" in warned["d"]
    out = tmp_path / "out"
    proc = run_cli("dedup", str(folder), "-q", "-o", f"{out}/")  # each file keeps its own types: nothing to warn
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr
    # The API's warnings in its words: dedup() takes no -o, and returns one frame (they named the
    # command line's `-o DIR/`).
    with pytest.warns(UserWarning) as caught:
        epochplan.dedup(str(folder))
    said = {str(w.message).split("'")[1]: str(w.message) for w in caught}
    assert sorted(said) == sorted(warned)
    assert said["i"] == (
        f"column 'i' is Boolean in {first}, Int64 in {second}: the DataFrame dedup() returns holds it as Int64 (a column has "
        "one type); give the files one type to choose it"
    )
    assert not any("-o DIR/" in message for message in said.values())


def test_a_column_of_nulls_in_one_file_is_no_type_of_a_join(tmp_path):
    """A column all null in one file joins the other files' type without changing a value: it
    was named in the warning ("Int64 in 0.parquet, Null in 1.parquet, Boolean in 2.parquet"),
    and warns nothing where it is the only difference."""
    folder = tmp_path / "in"
    folder.mkdir()
    columns = [
        {"n": [3], "m": [1]},
        {"n": pl.Series([None], dtype=pl.Null), "m": pl.Series([None], dtype=pl.Null)},
        {"n": [True], "m": [2]},
    ]
    for k, extra in enumerate(columns):
        pl.DataFrame({"text": [f"document number {k}"], **extra}).write_parquet(folder / f"{k}.parquet")
    assert pl.read_parquet(folder / "1.parquet").schema["n"] == pl.Null
    target = tmp_path / "one.parquet"
    proc = run_cli("dedup", str(folder), "-q", "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [
        f"warning: column 'n' is Int64 in {folder / '0.parquet'}, Boolean in {folder / '2.parquet'}: one output holds it as "
        "Int64; write one output per input file with -o DIR/ to keep each file's own type"
    ]  # and none for `m`: Int64 and nulls
    assert pl.read_parquet(target).select("n", "m").rows() == [(3, 1), (None, None), (1, 2)]


def test_a_join_a_parquet_file_cannot_hold_names_the_files_types(tmp_path):
    """UInt64 beside Int64 joins as Int128, which Parquet cannot hold: the refusal named only
    "Int128", a type neither file has."""
    folder, target, proc = _dedup_two_shards(tmp_path, pl.Series([2**63 + 5], dtype=pl.UInt64), pl.Series([-1], dtype=pl.Int64))
    assert_clean_error(
        proc, f"column 'extra' is UInt64 in {folder / '0.parquet'}, Int64 in {folder / '1.parquet'}, joined as Int128", ".jsonl", "-o DIR/"
    )
    assert not target.exists()
    # "an Arrow file", not "a Arrow file".
    proc = run_cli("dedup", str(folder), "-q", "-o", str(tmp_path / "one.arrow"))
    assert_clean_error(proc, "joined as Int128, which an Arrow file cannot hold")
    proc = run_cli("dedup", str(folder), "-q", "-o", str(tmp_path / "one.jsonl"))
    assert proc.returncode == 0 and "one output holds it as Int128" in proc.stderr, proc.stderr
    assert (tmp_path / "one.jsonl").read_text().splitlines() == [
        '{"text":"document number 0","extra":9223372036854775813}',
        '{"text":"document number 1","extra":-1}',
    ]


def test_json_lines_to_json_lines_copies_lines_whatever_their_types_join_to(tmp_path):
    """Each kept line is copied as written, so no join can change a value: an id past 2^53
    beside a float (refused as a join that changes values) and a list beside a string (exit 3)
    are written as they were."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jsonl").write_text('{"text": "alpha beta gamma", "id": 9007199254740993, "tags": ["a"]}\n')
    (folder / "b.jsonl").write_text('{"text": "delta epsilon zeta", "id": 1.5, "tags": "c"}\n')
    target = tmp_path / "out.jsonl"
    proc = run_cli("dedup", str(folder), "-o", str(target))
    assert proc.returncode == 0, proc.stderr
    assert target.read_text().splitlines() == [
        '{"text": "alpha beta gamma", "id": 9007199254740993, "tags": ["a"]}',
        '{"text": "delta epsilon zeta", "id": 1.5, "tags": "c"}',
    ]


def test_arrow_shards_of_a_saved_dataset_are_written_in_its_stream_format(tmp_path):
    """`datasets.save_to_disk` writes its `.arrow` shards in the IPC stream format, which is all
    `datasets.Dataset.from_file` reads; dedup wrote them back in the IPC file format, which it
    cannot read. Now stream in, stream out (ClassLabel names kept); a file-format input still
    gives the file format."""
    datasets = pytest.importorskip("datasets")
    import pyarrow as pa

    features = datasets.Features({"text": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])})
    saved = tmp_path / "saved"
    datasets.Dataset.from_dict({"text": ["a b c", "a b c", "d e f"], "label": [0, 1, 1]}, features=features).save_to_disk(str(saved))
    out = tmp_path / "out"
    assert run_cli("dedup", str(saved), "--level", "exact", "-o", f"{out}/").returncode == 0
    one = tmp_path / "one.arrow"
    assert run_cli("dedup", str(saved), "--level", "exact", "-o", str(one)).returncode == 0
    for written in [*out.glob("*.arrow"), one]:
        assert not written.read_bytes().startswith(b"ARROW1"), written
        kept = datasets.Dataset.from_file(str(written))
        assert kept.features == features and kept["text"] == ["a b c", "d e f"]
    as_file = tmp_path / "file.arrow"
    with pa.ipc.new_file(as_file, pa.schema([("text", pa.string())])) as writer:
        writer.write_table(pa.table({"text": ["a b c", "a b c"]}))
    assert run_cli("dedup", str(as_file), "--level", "exact", "-o", str(tmp_path / "file_o.arrow")).returncode == 0
    assert (tmp_path / "file_o.arrow").read_bytes().startswith(b"ARROW1")


@pytest.mark.parametrize("empty", [0, 1, 2], ids=["first", "middle", "last"])
def test_a_zero_byte_parquet_shard_is_an_empty_part_wherever_it_stands(tmp_path, empty):
    """A 0-byte .parquet among others (a copy cut short, a placeholder) is an empty part: it was
    skipped when it was the last file, but anywhere else reading the report's rows back opened
    its footer and failed, naming the first file ("3 files (a.parquet …): cannot read rows back
    (Parquet file size is 0 bytes)"), for audit and every dedup output alike."""
    folder = tmp_path / "in"
    folder.mkdir()
    shards = [["alpha beta gamma", "alpha beta gamma", "delta epsilon zeta"], ["delta epsilon zeta", "eta theta iota"]]
    names = ["a.parquet", "b.parquet", "c.parquet"]
    for name in names:
        if name == names[empty]:
            (folder / name).write_bytes(b"")
        else:
            rows = shards.pop(0)
            pl.DataFrame({"text": rows, "n": list(range(len(rows)))}).write_parquet(folder / name)
    truth = pl.concat([pl.read_parquet(folder / n) for n in names if n != names[empty]])  # plain polars
    unique = truth.unique("text", keep="first", maintain_order=True)
    report = audit_json(str(folder), "--text", "text")
    assert (report["rows"], report["exact"]["unique"]) == (truth.height, unique.height) == (5, 3)
    out = tmp_path / "out.parquet"
    proc = run_cli("dedup", str(folder), "-q", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(out).equals(unique)
    if empty != 1:
        return
    readers = {".jsonl": pl.read_ndjson, ".csv": pl.read_csv, ".tsv": lambda p: pl.read_csv(p, separator="\t"), ".arrow": pl.read_ipc}
    for suffix, read in readers.items():
        proc = run_cli("dedup", str(folder), "-q", "-o", str(tmp_path / f"out{suffix}"))
        assert proc.returncode == 0, (suffix, proc.stderr)
        assert read(tmp_path / f"out{suffix}").equals(unique), suffix
    proc = run_cli("dedup", str(folder), "-q", "-o", f"{tmp_path / 'dir'}/")
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(tmp_path / "dir" / "b.parquet").height == 0
    assert pl.concat([pl.read_parquet(tmp_path / "dir" / n) for n in ("a.parquet", "c.parquet")]).equals(unique)
    for data in (str(folder), [str(folder / n) for n in names]):  # the Python API, a folder or a list of files
        result = epochplan.audit(data, text="text")
        assert (result.rows, result.exact.unique) == (5, 3)
        assert epochplan.dedup(data, text="text").equals(unique)


_GLOB_READERS = {
    "parquet": pl.read_parquet,
    "arrow": pl.read_ipc,
    # A CSV holds text: a header-only first file gives polars no types to infer for the rest.
    "csv": lambda p: pl.read_csv(p, infer_schema=False),
    "tsv": lambda p: pl.read_csv(p, separator="\t", infer_schema=False),
    "jsonl": pl.read_ndjson,
}


@pytest.mark.parametrize("suffix", list(_GLOB_READERS))
def test_a_zero_byte_shard_s_output_has_the_other_shards_columns(tmp_path, suffix):
    """`dedup DIR/ -o OUT/` with a 0-byte shard among others: its output was a Parquet (Arrow)
    file of no columns, or a CSV of one blank line, so reading the output folder back as one
    (`pl.read_parquet('OUT/*.parquet')`) failed where it sorts first ("extra column in file
    outside of expected schema", "empty CSV"). Now it holds the other outputs' columns and types;
    a JSON lines one stays empty, as its input (no line names columns)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    folder = tmp_path / "in"
    folder.mkdir()
    (folder / f"a.{suffix}").write_bytes(b"")  # sorts first
    frames = [
        pl.DataFrame({"n": [1, 2, 3], "text": ["alpha beta gamma", "delta epsilon zeta", "alpha beta gamma"]}),
        pl.DataFrame({"n": [4, 5], "text": ["delta epsilon zeta", "eta theta iota"]}),
    ]
    for name, frame in zip(("b", "c"), frames):
        path = folder / f"{name}.{suffix}"
        {"parquet": frame.write_parquet, "arrow": frame.write_ipc, "csv": frame.write_csv, "jsonl": frame.write_ndjson}.get(
            suffix, lambda p: frame.write_csv(p, separator="\t")
        )(path)
    truth = pl.concat(frames).unique("text", keep="first", maintain_order=True)  # plain polars
    assert truth["n"].to_list() == [1, 2, 5]
    out = tmp_path / "out"
    proc = run_cli("dedup", str(folder), "-q", "--level", "exact", "-o", f"{out}/")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == [f"{n}.{suffix}" for n in "abc"]
    if suffix in ("csv", "tsv"):
        truth = truth.cast(pl.String)
    assert _GLOB_READERS[suffix](str(out / f"*.{suffix}")).equals(truth)
    if suffix == "parquet":
        schemas = [pq.read_schema(out / f"{n}.parquet") for n in "abc"]
        assert schemas[0].equals(schemas[1]) and schemas[0].equals(schemas[2]), schemas
    elif suffix == "arrow":
        schemas = [pa.ipc.open_file(out / f"{n}.arrow").schema for n in "abc"]
        assert schemas[0].equals(schemas[1]) and schemas[0].equals(schemas[2]), schemas
    elif suffix in ("csv", "tsv"):
        assert (out / f"a.{suffix}").read_text() == ("n,text\n" if suffix == "csv" else "n\ttext\n")
    else:
        assert (out / "a.jsonl").read_bytes() == b""
