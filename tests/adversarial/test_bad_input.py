"""Bad input and odd paths: one clear line and exit 2 (or the documented result), never a
traceback, an internal error or a silently wrong audit (issue 11 items 4, 7-10, 19)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import polars as pl
import pytest

import epochplan
from epochplan import InputError

from .helpers import assert_clean_error, run_cli, texts, write_texts


@pytest.fixture()
def data(tmp_path: Path) -> Path:
    return write_texts(tmp_path / "data.parquet", 30)


# --- item 4: an existing path is a path, even with glob characters ---------------------------------


def test_a_file_named_like_a_glob_is_read_as_itself(tmp_path):
    write_texts(tmp_path / "data[1].parquet", 220)
    write_texts(tmp_path / "data1.parquet", 50)
    proc = run_cli("audit", "data[1].parquet", "--json", "-", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == 220
    pattern = run_cli("audit", "data?.parquet", "--json", "-", "-q", cwd=tmp_path)  # a missing path is still a pattern
    assert json.loads(pattern.stdout)["rows"] == 50


def test_a_file_name_that_is_not_utf8(tmp_path, data):
    # Linux allows any bytes but "/" in a name; pyarrow and polars take paths as UTF-8 text.
    odd = os.fsdecode(b"data-\xff")  # as Python holds it: \udcff
    # Outputs are written (the name goes to pyarrow as bytes). Before: exit 3, UnicodeEncodeError.
    for out, read in ((f"{odd}.parquet", pl.read_parquet), (f"{odd}.arrow", pl.read_ipc), (f"{odd}/", None)):
        proc = run_cli("dedup", str(data), "-o", out, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        if read is not None:
            with open(tmp_path / out, "rb") as f:
                assert read(f).height == 30
    proc = run_cli("audit", str(data), "--clusters", f"clusters-{odd}.parquet", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    with open(tmp_path / f"clusters-{odd}.parquet", "rb") as f:
        assert pl.read_parquet(f).height == 30
    # A tokenizer file with such a name is read, and its path written into the JSON as the
    # escape of the same string (before: exit 3 writing the JSON, to a file or to stdout).
    from tokenizer_fixture import write_gpt2_tokenizer_json

    tokenizer = tmp_path / f"tokenizer-{odd}.json"
    os.rename(write_gpt2_tokenizer_json(tmp_path / "tokenizer.json"), tokenizer)  # the writer takes UTF-8 names only
    for target in ("audit.json", "-"):
        proc = run_cli("audit", str(data), "--tokenizer", str(tokenizer), "--json", target, "-q", cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        written = json.loads(proc.stdout if target == "-" else (tmp_path / target).read_text())
        assert written["source"]["tokenizer"]["path"] == str(tokenizer) and written["lengths"]["tokens"]["estimated"] is False
    # An input with such a name is named, with what to do (before: a codec message), alone,
    # in a folder or matched by a pattern.
    for given in (f"{odd}.parquet", f"{odd}/", "data-?.parquet"):
        proc = run_cli("audit", given, "--json", "out.json", cwd=tmp_path)
        assert_clean_error(proc, "data-", "not valid UTF-8", "rename it")
        assert not (tmp_path / "out.json").exists()


def test_a_path_too_long_for_the_file_system_exits_2_naming_it(tmp_path, data):
    # Linux refuses a name over 255 bytes (ENAMETOOLONG), which Python 3.11's Path.exists()
    # raises. Before: "internal error: OSError ... (please report it)", exit 3, for an input, an
    # eval split, a config file and every output.
    long = "x" * 300
    cases = [
        ["audit", f"{long}.parquet"],
        ["audit", str(data), "--eval", f"{long}.parquet"],
        ["audit", str(data), "--config", f"{long}.toml"],
        ["audit", str(data), "--json", f"{long}.json"],
        ["audit", str(data), "--html", f"{long}.html"],
        ["dedup", str(data), "-o", f"{long}.parquet"],
        ["plan", "--audit", f"{long}.json"],
        ["check", str(data), "--junit", f"{long}.xml"],
    ]
    for args in cases:
        proc = run_cli(*args, cwd=tmp_path)
        assert_clean_error(proc, "xxxxxxxxxx", "too long")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["data.parquet"], args
    with pytest.raises(InputError, match="too long"):
        epochplan.audit(f"{long}.parquet")


def test_a_list_of_texts_given_as_inputs_says_inputs_are_paths(tmp_path):
    with pytest.raises(InputError, match=r"no such file or folder; inputs are paths: .*pl\.DataFrame"):
        epochplan.audit(["the first text of the list", "the second text"])
    with pytest.raises(InputError, match="no such file or folder$"):
        epochplan.audit([str(tmp_path / "missing.parquet")])


def test_standard_input_and_a_pipe_exit_2_saying_to_write_a_file(tmp_path, data):
    # The audit reads its input more than once (example rows are read back), which a pipe cannot
    # give. Before: "-: no such file or folder"; a FIFO: "cannot read input (No such device)".
    fifo = tmp_path / "rows.jsonl"
    os.mkfifo(fifo)
    for given in ("-", str(fifo)):
        proc = run_cli("audit", given, "--json", "out.json", cwd=tmp_path)
        assert_clean_error(proc, given, "read more than once", "write it to a file first")
        assert not (tmp_path / "out.json").exists()


def test_a_folder_whose_data_is_in_a_subfolder_says_where(tmp_path):
    # A Hugging Face Hub snapshot keeps its shards in data/; a folder read does not descend.
    # Before: "folder has no data file" alone. A hidden cache folder is not suggested.
    for folder in ("data", ".cache"):
        (tmp_path / "snapshot" / folder).mkdir(parents=True)
    write_texts(tmp_path / "snapshot" / "data" / "train-00000-of-00001.parquet", 40)
    write_texts(tmp_path / "snapshot" / ".cache" / "old.parquet", 10)
    (tmp_path / "snapshot" / "README.md").write_text("# a dataset card")
    proc = run_cli("audit", "snapshot", cwd=tmp_path)
    assert_clean_error(proc, "snapshot: folder has no data file", "data files are in snapshot/data", "'snapshot/**/*.parquet'")
    assert ".cache" not in proc.stderr
    suggested = run_cli("audit", "snapshot/**/*.parquet", "--json", "-", "-q", cwd=tmp_path)
    assert suggested.returncode == 0 and json.loads(suggested.stdout)["rows"] == 40


# --- item 7: numbers out of range are input errors -------------------------------------------------


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--ngram", "-3"], "--ngram"),
        (["--num-perm", "-5"], "--num-perm"),
        (["--ngram", "18446744073709551616"], "--ngram"),
        (["--num-perm", "18446744073709551616"], "--num-perm"),
        (["--memory-budget", "1e30"], "--memory-budget"),
        (["--memory-budget", "inf"], "--memory-budget"),
        (["--memory-budget", "nan"], "--memory-budget"),
        (["--memory-budget", "2^64"], "--memory-budget"),
    ],
)
def test_out_of_range_numbers_exit_2(tmp_path, data, args, fragment):
    assert_clean_error(run_cli("audit", str(data), *args, "-q", cwd=tmp_path), fragment)


def test_plan_from_an_audit_json_that_is_a_list_exits_2(tmp_path):
    (tmp_path / "list.json").write_text("[1, 2, 3]")
    assert_clean_error(run_cli("plan", "--audit", "list.json", cwd=tmp_path), "not an epochplan.audit/1")


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"ngram": -1}, "ngram=-1"),
        ({"num_perm": 2**64}, "num_perm="),
        ({"ngram": 2.5}, "ngram=2.5"),
        ({"memory_budget": 2**70}, "memory_budget="),
    ],
)
def test_the_api_rejects_out_of_range_settings_with_input_error(data, kwargs, fragment):
    with pytest.raises(InputError, match=fragment):
        epochplan.audit(data, **kwargs)


def test_the_api_rejects_a_list_of_numbers_with_input_error():
    with pytest.raises(InputError, match="cannot read 1"):
        epochplan.audit([1, 2, 3])


# --- item 8: the memory floor is 16 MiB, named by the flag -----------------------------------------


def test_memory_budget_below_16_mib_names_the_flag_and_the_unit(tmp_path, data):
    proc = run_cli("audit", str(data), "--memory-budget", "16MB", "-q", cwd=tmp_path)
    assert_clean_error(proc, "--memory-budget 16MB", "16 MiB")
    assert "memory_budget=" not in proc.stderr
    assert run_cli("audit", str(data), "--memory-budget", "16MiB", "-q", cwd=tmp_path).returncode == 0
    with pytest.raises(InputError, match="16 MiB"):
        epochplan.audit(data, memory_budget=16_000_000)


# --- item 9: a shard whose text column is not text ---------------------------------------------------


def test_an_int64_shard_beside_string_shards_exits_2_naming_it(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    write_texts(folder / "a.parquet", 20)
    pl.DataFrame({"text": list(range(20))}).write_parquet(folder / "b.parquet")
    proc = run_cli("audit", str(folder), "-q", cwd=tmp_path)
    assert_clean_error(proc, "b.parquet", "'text'", "Int64")


def test_a_json_lines_shard_of_numbers_beside_text_shards_exits_2_naming_it(tmp_path):
    """The same for a format whose types are inferred per file (issue 15's readers)."""
    folder = tmp_path / "shards"
    folder.mkdir()
    pl.DataFrame({"text": texts(20)}).write_ndjson(folder / "a.jsonl")
    pl.DataFrame({"text": list(range(20))}).write_ndjson(folder / "b.jsonl")
    assert_clean_error(run_cli("audit", str(folder), "-q", cwd=tmp_path), "b.jsonl", "'text'", "Int64")


def test_an_all_null_shard_beside_string_shards_is_fine(tmp_path):
    folder = tmp_path / "shards"
    folder.mkdir()
    write_texts(folder / "a.parquet", 20)
    pl.DataFrame({"text": [None] * 5}, schema={"text": pl.Null}).write_parquet(folder / "b.parquet")
    proc = run_cli("audit", str(folder), "--json", "-", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["null_rows"] == 5


# --- item 10: an all-null text column is audited, and says why there is no plan --------------------


def test_an_all_null_text_column_is_audited_with_null_statistics_and_no_plan(tmp_path):
    pl.DataFrame({"text": [None] * 12}, schema={"text": pl.String}).write_parquet(tmp_path / "nulls.parquet")
    proc = run_cli("audit", "nulls.parquet", "--json", "audit.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    audit = json.loads((tmp_path / "audit.json").read_text())
    assert audit["rows"] == 12 and audit["null_rows"] == 12
    assert audit["lengths"]["chars"] is None and audit["lengths"]["words"] is None
    assert audit["plan"] is None
    assert "no non-null text rows" in audit["plan_skipped"] and "text" in audit["plan_skipped"]
    assert "no plan" in proc.stdout and "no non-null text rows" in proc.stdout
    plan = run_cli("plan", "--audit", "audit.json", cwd=tmp_path)  # planning it is still an input error
    assert_clean_error(plan, "no non-null text rows")
    # The report says why there is no plan and no cluster, not that the JSON lacks the keys.
    assert run_cli("report", "audit.json", "-o", "r.html", cwd=tmp_path).returncode == 0
    page = (tmp_path / "r.html").read_text()
    assert "No plan: the audit has no non-null text rows" in page and "none was given" not in page
    assert "No clusters: the audit has no non-null text" in page and "has no <code>exact.size_histogram" not in page


# --- item 19: remote paths are read as URLs, never mangled into local ones --------------------------
# (Issue 15 added real remote reads; tests/test_remote.py reads s3:// and http:// from loopback
# servers. Here: a URL that cannot be read is named as given, never as a local path `s3:/...`.)


@pytest.mark.parametrize(
    "url, fragment",
    [
        ("ftp://bucket/x.parquet", "unsupported URL scheme"),
        ("hf://not-a-repo/x.parquet", "invalid Hugging Face path"),
        ("az://container/x.parquet", "AZURE_STORAGE_ACCOUNT_NAME"),
    ],
)
def test_a_remote_path_is_named_as_given(tmp_path, url, fragment):
    proc = run_cli("audit", url, "-q", cwd=tmp_path, env={"AZURE_STORAGE_ACCOUNT_NAME": "", "AWS_EC2_METADATA_DISABLED": "true"})
    assert_clean_error(proc, url, fragment)
    assert "no such file or folder" not in proc.stderr


def test_a_remote_eval_split_is_named_as_given(tmp_path, data):
    proc = run_cli("check", str(data), "--eval", "val=ftp://bucket/val.parquet", cwd=tmp_path)
    assert_clean_error(proc, "ftp://bucket/val.parquet")
    assert "ftp:/bucket" not in proc.stderr.replace("ftp://bucket", "")


def test_interrupt_while_loading_is_exit_130_without_traceback(tmp_path):
    """Ctrl-C before the CLI has even loaded (here: raised by the first import) is still 130."""
    code = "import builtins, runpy, sys\nreal = builtins.__import__\n"
    code += "def hook(name, *a, **k):\n    if name == 'cli':\n        raise KeyboardInterrupt\n    return real(name, *a, **k)\n"
    code += "builtins.__import__ = hook\nsys.argv = ['epochplan', '--help']\nrunpy.run_module('epochplan', run_name='__main__')\n"
    import subprocess

    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 130, proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_shard_without_the_text_column_is_named(tmp_path):
    # No column was shared to choose from: the file that lacks the text column is named, where
    # the message named the first file and listed no columns.
    folder = tmp_path / "shards"
    folder.mkdir()
    write_texts(folder / "a.parquet", 20)
    pl.DataFrame({"other": ["x"]}).write_parquet(folder / "b.parquet")
    assert_clean_error(run_cli("audit", str(folder), "-q", cwd=tmp_path), "b.parquet", "no column 'text'", "every file needs it")


def test_a_symlink_that_leads_nowhere_says_why(tmp_path):
    (tmp_path / "loop1").symlink_to("loop2")
    (tmp_path / "loop2").symlink_to("loop1")
    (tmp_path / "dangling.parquet").symlink_to(tmp_path / "gone.parquet")
    assert_clean_error(run_cli("audit", "loop1", cwd=tmp_path), "loop1", "Too many levels of symbolic links")
    assert_clean_error(run_cli("audit", "dangling.parquet", cwd=tmp_path), "dangling.parquet", "No such file or directory")


@pytest.mark.parametrize("value", ["0", "-3", "99999999999999999999"])
def test_a_batch_size_out_of_range_names_the_variable(tmp_path, data, value):
    proc = run_cli("audit", str(data), "-q", cwd=tmp_path, env={"EPOCHPLAN_BATCH_ROWS": value})
    assert_clean_error(proc, f"EPOCHPLAN_BATCH_ROWS={value}", "between 1 and")
    assert "data.parquet" not in proc.stderr  # the data file is not to blame


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"rows": "many"}, "not a whole number"),
        ({"near": {"unique": -5}}, "do not add up: -5 near-unique"),
        ({"near": {"unique": 0}}, "do not add up: 0 near-unique"),
        ({"exact": {"unique": 10**9}}, "do not add up"),
    ],
)
def test_plan_from_an_audit_with_impossible_counts_says_which(tmp_path, data, change, fragment):
    audit = json.loads(run_cli("audit", str(data), "--json", "-", *([] if "near" in change else ["--no-near"]), cwd=tmp_path).stdout)
    for key, value in change.items():
        audit[key] = {**audit[key], **value} if isinstance(value, dict) else value
    (tmp_path / "audit.json").write_text(json.dumps(audit))
    proc = run_cli("plan", "--audit", "audit.json", cwd=tmp_path)
    assert_clean_error(proc, "audit", fragment)
    assert "None" not in proc.stderr


def test_the_same_file_given_twice_is_refused(tmp_path, data):
    # Read twice, every row was its own exact duplicate: half the data reported as copies.
    folder = tmp_path / "shards"
    folder.mkdir()
    (folder / "a.parquet").write_bytes(data.read_bytes())
    (tmp_path / "link.parquet").symlink_to(data)
    for args in ([str(data), str(data)], [str(data), "link.parquet"], [str(folder), str(folder / "a.parquet")]):
        assert_clean_error(run_cli("audit", *args, cwd=tmp_path), "given twice", "give each file once")
    assert audit_json_rows(tmp_path, str(data), str(folder / "a.parquet")) == 60  # a copy is another file


def audit_json_rows(cwd: Path, *inputs: str) -> int:
    proc = run_cli("audit", *inputs, "--json", "-", "--no-near", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["rows"]


def test_empty_texts_packed_are_audited_with_no_plan(tmp_path):
    # Every text "": packed, no tokens make no sequences. The audit was lost to "--gpus 1 is more
    # than the 0 samples per epoch … use at most 0 GPUs".
    pl.DataFrame({"text": ["", "", ""]}).write_parquet(tmp_path / "empty.parquet")
    proc = run_cli("audit", "empty.parquet", "--seq-len", "8", "--packing", "--json", "a.json", "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    audit = json.loads((tmp_path / "a.json").read_text())
    assert audit["plan"] is None and "no tokens to pack" in audit["plan_skipped"] and audit["rows"] == 3
    assert_clean_error(run_cli("plan", "--audit", "a.json", "--seq-len", "8", "--packing", cwd=tmp_path), "no tokens to pack")


def test_an_unreadable_file_in_a_folder_is_named(tmp_path):
    # The error named the folder's first file ("3 files (a.csv …): cannot read rows (CSV
    # malformed …)") although a.csv was fine: the Ray engine named b.csv.
    folder = tmp_path / "shards"
    folder.mkdir()
    good = "".join(f"{i},row number {i} of a good file\n" for i in range(60))
    (folder / "a.csv").write_text("id,text\n" + good)
    (folder / "b.csv").write_text("id,text\n" + good[:400] + 'x,"unterminated\n' + good[400:])
    (folder / "c.csv").write_text("id,text\n" + good)
    proc = run_cli("audit", str(folder), "-q", cwd=tmp_path)
    # The quote opens on a line cut short: its third field (the check of every line's fields).
    assert_clean_error(proc, "b.csv: line 15 has 3 fields where the header has 2")
    assert "a.csv" not in proc.stderr


def test_a_list_of_tables_is_named_by_type_not_by_its_data():
    """A list of frames gave a multi-line error holding the first frame's repr: its rows, data
    text included, in an error message (and in the logs that keep it)."""
    frames = [pl.DataFrame({"text": ["secret text a"]}), pl.DataFrame({"text": ["b"]})]
    with pytest.raises(InputError) as info:
        epochplan.audit(frames)
    message = str(info.value)
    assert "\n" not in message and "secret" not in message
    assert (
        message
        == "cannot read a list holding a polars DataFrame as an input: pass one table (concatenate them first), or a list of file paths"
    )
    with pytest.raises(InputError, match="cannot read 5 \\(int\\) as an input: give a path"):
        epochplan.audit([5])


@pytest.mark.parametrize("option", ["shingle", "clustering", "verify", "normalize"])
@pytest.mark.parametrize("value", [None, 1, ["word"], b"word"])
def test_a_choice_of_the_wrong_type_is_an_input_error_naming_it(data, option, value):
    # Only `normalize` was checked: clustering=None reached the binding, whose TypeError read
    # "'None' is not an instance of 'str'", naming neither the option nor its choices.
    choices = {"shingle": "auto, word, char", "clustering": "representative, components", "verify": "sketch, exact"}
    with pytest.raises(InputError, match=f"^{option}=.*use one of " + choices.get(option, "default, none")):
        epochplan.audit(data, text="text", **{option: value})


@pytest.mark.parametrize("spec", ["snapshot", "snapshot/*.parquet", "snapshot/*"])
def test_a_link_to_nothing_in_a_folder_or_a_pattern_is_named(tmp_path, spec):
    """A Hugging Face hub cache snapshot whose blob is missing: its data file, a link to nothing,
    was left out of the folder or pattern without a word (exit 0, its rows missing)."""
    folder = tmp_path / "snapshot"
    folder.mkdir()
    write_texts(folder / "a.parquet", 30)
    (folder / "b.parquet").symlink_to("../blobs/9f86d081884c7d65")
    for command in (["audit", "-q"], ["dedup", "-o", str(tmp_path / "out.parquet")]):
        proc = run_cli(command[0], spec, *command[1:], cwd=tmp_path)
        assert_clean_error(proc, "snapshot/b.parquet: a link to ../blobs/9f86d081884c7d65, which does not exist", "download the file again")
    assert not (tmp_path / "out.parquet").exists()
    # Links in a loop are named as a loop, not as a link to a file that does not exist.
    (folder / "b.parquet").unlink()
    (folder / "c.parquet").symlink_to("d.parquet")
    (folder / "d.parquet").symlink_to("c.parquet")
    assert_clean_error(run_cli("audit", spec, "-q", cwd=tmp_path), "snapshot/c.parquet: a link to d.parquet that leads back to itself")


# --- compressed files and Feather V1: what is wrong with the file, and the fix ----------------------


def _gzipped_lines(rows: int) -> tuple[bytes, bytes]:
    import gzip

    plain = "".join(json.dumps({"text": f"row {i}"}) + "\n" for i in range(rows)).encode()
    return plain, gzip.compress(plain)


def test_a_gzip_file_of_two_members_is_read_whole(tmp_path):
    """gzip(1), Python's `gzip` and pyarrow read the members one after the other (`cat a.gz b.gz`)."""
    import gzip

    plain, packed = _gzipped_lines(1500)
    path = tmp_path / "d.jsonl.gz"
    path.write_bytes(packed + packed)
    with gzip.open(path) as f:  # as Python's gzip reads it
        rows = len(f.read().splitlines())
    proc = run_cli("audit", str(path), "--json", "-", "-q", "--no-near", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["rows"] == rows == 3000
    proc = run_cli("dedup", str(path), "-o", "out.jsonl", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out.jsonl").read_bytes() == plain


def test_a_gzip_file_padded_with_zeros_says_so_with_the_fix(tmp_path):
    """gzip(1) reads the data before zero padding; pyarrow's reader stops there, and said only
    "cannot read input (zlib inflate failed: unknown compression method)". It is not read with
    Python's `gzip` instead: pyarrow's readers read ahead on threads of their own, and from a
    Python stream such a thread could outlive an input error (the process ended by SIGABRT)."""
    _, packed = _gzipped_lines(1500)
    (tmp_path / "d.jsonl.gz").write_bytes(packed + bytes(4096))
    for args in (["audit", "d.jsonl.gz", "-q"], ["dedup", "d.jsonl.gz", "-o", "out.jsonl"]):
        assert_clean_error(
            run_cli(*args, cwd=tmp_path),
            "d.jsonl.gz: bytes that are not gzip follow the end of its gzip data",
            "zcat FILE | gzip > FIXED.gz",
        )
    assert not (tmp_path / "out.jsonl").exists()


@pytest.mark.parametrize("name", ["fake.jsonl.gz", "fake.csv.gz", "fake.jsonl.zst"])
def test_a_plain_file_named_as_compressed_says_so(tmp_path, name):
    # Before: "cannot read input (zlib inflate failed: incorrect header check)", no fix given.
    plain, _ = _gzipped_lines(50)
    (tmp_path / name).write_bytes(plain if "jsonl" in name else b"text\n" + b"".join(b"row %d\n" % i for i in range(50)))
    suffix = "." + name.rsplit(".", 1)[1]
    compression = "gzip" if suffix == ".gz" else "zstd"
    proc = run_cli("audit", name, "-q", cwd=tmp_path)
    assert_clean_error(proc, f"{name}: not {compression}-compressed, though its name ends in {suffix}", f"rename it without {suffix}")


def test_a_gzip_file_cut_short_or_followed_by_garbage_says_which(tmp_path):
    _, packed = _gzipped_lines(1500)
    (tmp_path / "cut.jsonl.gz").write_bytes(packed[: len(packed) // 2])
    assert_clean_error(
        run_cli("audit", "cut.jsonl.gz", "-q", cwd=tmp_path),
        "cut.jsonl.gz: cannot read input (Truncated compressed stream)",
        "the file is truncated or corrupt",
        "copy or write it again",
    )
    (tmp_path / "junk.jsonl.gz").write_bytes(packed + b"trailing junk")
    proc = run_cli("audit", "junk.jsonl.gz", "-q", cwd=tmp_path)
    assert_clean_error(proc, "junk.jsonl.gz: bytes that are not gzip follow the end of its gzip data", "zcat FILE | gzip > FIXED.gz")


@pytest.mark.parametrize("name", ["v1.feather", "v1.arrow"])
def test_a_feather_v1_file_is_named_with_how_to_convert_it(tmp_path, name):
    # Before: "cannot read input (Expected to read 826361158 metadata bytes, but only read 172)".
    import warnings

    import pyarrow as pa
    import pyarrow.feather as feather

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # pyarrow deprecates writing V1
        feather.write_feather(pa.table({"text": ["a", "b"]}), str(tmp_path / name), version=1)
    proc = run_cli("audit", name, "-q", cwd=tmp_path)
    assert_clean_error(
        proc, f"{name}: a Feather version 1 file, which epochplan does not read", "write_feather(f.read_table(", "or as Parquet"
    )
