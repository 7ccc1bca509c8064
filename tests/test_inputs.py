"""Every input kind gives the counts of the Parquet file holding the same rows: JSON arrays,
compressed JSON lines and CSV, tab-separated values, Arrow IPC (file and stream), `save_to_disk` folders, `datasets`
objects after shuffle/select, shards that differ in their other columns; and each new kind keeps
the error contract (exit 2, one line, nothing written)."""

from __future__ import annotations

import gzip
import json
import os
import re
import shlex

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.ipc as ipc
import pyarrow.parquet as pq
import pytest
import zstandard

import epochplan
from conftest import assert_clean_error, audit_json, run_cli
from epochplan.auditing import dedup_to_file
from epochplan.checking import check

datasets = pytest.importorskip("datasets")  # in the test extra: a missing one fails the install, not this file

SOURCE = "gpteacher_toolformer_similarity-0.6.parquet"  # 2396 rows, GPTeacher's own release as a JSON array


def counts(result: dict) -> dict:
    """What must match between two inputs holding the same rows in the same order."""
    near = result["near"]
    return {
        "rows": result["rows"],
        "exact": {k: result["exact"][k] for k in ("unique", "duplicate_rows", "clusters", "largest_cluster")},
        "near": {k: near[k] for k in ("unique", "duplicate_rows", "clusters", "largest_cluster")},
        "exact_top": [t["row"] for t in result["exact"]["top"]],
        "near_top": [t["row"] for t in near["top"]],
        "lengths": result["lengths"],
    }


@pytest.fixture(scope="module")
def frame(shared_data) -> pl.DataFrame:
    return pl.read_parquet(shared_data / SOURCE)


@pytest.fixture(scope="module")
def reference(shared_data) -> dict:
    result = audit_json(str(shared_data / SOURCE), "--text", "prompt")
    assert result["rows"] == 2396 and result["near"]["duplicate_rows"] > 0  # the facts the copies must reproduce
    return counts(result)


@pytest.fixture(scope="module")
def files(tmp_path_factory, frame) -> dict:
    """The same rows in every format a user meets, written with each format's own tools."""
    d = tmp_path_factory.mktemp("inputs")
    rows = frame.to_dicts()
    array = json.dumps(rows, ensure_ascii=False, indent=4).encode()  # GPTeacher's layout
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    csv_text = frame.write_csv().encode()
    tsv_text = frame.write_csv(separator="\t").encode()  # quoted where a value holds a tab, a quote or a line break
    assert b"\t" in tsv_text and b'"' in tsv_text
    made = {
        "tsv": ("data.tsv", tsv_text),
        "tsv_gz": ("data.tsv.gz", gzip.compress(tsv_text)),
        "json_array": ("data.json", array),
        "json_array_gz": ("data.json.gz", gzip.compress(array)),
        "jsonl_gz": ("data.jsonl.gz", gzip.compress(lines)),
        "jsonl_zst": ("data.jsonl.zst", zstandard.ZstdCompressor().compress(lines)),
        "json_lines_in_json_zst": ("lines.json.zst", zstandard.ZstdCompressor().compress(lines)),
        "csv_gz": ("data.csv.gz", gzip.compress(csv_text)),
        "csv_zst": ("data.csv.zst", zstandard.ZstdCompressor().compress(csv_text)),
    }
    paths = {}
    for kind, (name, data) in made.items():
        (d / name).write_bytes(data)
        paths[kind] = d / name
    table = frame.to_arrow()
    with ipc.new_file(str(d / "file.arrow"), table.schema) as writer:
        writer.write_table(table, max_chunksize=500)
    with ipc.new_stream(str(d / "stream.arrow"), table.schema) as writer:
        writer.write_table(table, max_chunksize=500)
    paths["arrow_file"], paths["arrow_stream"] = d / "file.arrow", d / "stream.arrow"
    saved = d / "saved"
    datasets.Dataset(table).save_to_disk(str(saved), max_shard_size="200KB")
    assert len(json.loads((saved / "state.json").read_text())["_data_files"]) > 1
    # A cache file beside the shards (as `map` leaves them) holds other rows: it must be ignored.
    with ipc.new_stream(str(saved / "cache-0123456789abcdef.arrow"), table.schema) as writer:
        writer.write_table(table.slice(0, 50))
    paths["save_to_disk"] = saved
    return paths


KINDS = [
    "json_array",
    "json_array_gz",
    "jsonl_gz",
    "jsonl_zst",
    "json_lines_in_json_zst",
    "csv_gz",
    "csv_zst",
    "tsv",
    "tsv_gz",
    "arrow_file",
    "arrow_stream",
    "save_to_disk",
]


@pytest.mark.parametrize("kind", KINDS)
def test_each_input_kind_counts_like_the_parquet(files, reference, kind):
    assert counts(epochplan.audit(str(files[kind]), text="prompt").to_dict()) == reference
    # Streamed formats cut batches from blocks and record batches: the cut must not matter.
    assert counts(epochplan.audit(str(files[kind]), text="prompt", batch_rows=333).to_dict()) == reference


def test_in_memory_arrow_tables_and_arrays_count_like_the_parquet(frame, reference):
    """What a pipeline holds: Arrow tables, batches, readers, and a bare column (an array or
    chunked array of strings, audited as a column named `text`)."""
    table = frame.to_arrow().combine_chunks()
    prompt = table.column("prompt")
    tables = {
        "Table": table,
        "RecordBatch": table.to_batches()[0],
        "RecordBatchReader": pa.RecordBatchReader.from_batches(table.schema, table.to_batches(max_chunksize=500)),
    }
    for name, data in tables.items():
        assert counts(epochplan.audit(data, text="prompt").to_dict()) == reference, name
    columns = {
        "ChunkedArray": pa.chunked_array(prompt.chunks[0].slice(i, 700) for i in range(0, len(prompt), 700)),
        "Array": prompt.chunks[0],
        "string_view Array": prompt.chunks[0].cast(pa.string_view()),
        "large_string Array": prompt.chunks[0].cast(pa.large_string()),
    }
    for name, data in columns.items():
        result = epochplan.audit(data)
        assert result.source.text_columns == ["text"], name
        assert counts(result.to_dict()) == reference, name
    with pytest.raises(epochplan.InputError, match="no string column"):
        epochplan.audit(pa.array([1, 2, 3]))


@pytest.mark.parametrize("kind", ["json_array", "jsonl_zst", "csv_gz", "save_to_disk"])
def test_each_input_kind_through_the_cli(files, reference, kind):
    assert counts(audit_json(str(files[kind]), "--text", "prompt")) == reference


def test_save_to_disk_reads_the_listed_shards_in_order(files):
    result = audit_json(str(files["save_to_disk"]), "--text", "prompt")
    listed = [e["filename"] for e in json.loads((files["save_to_disk"] / "state.json").read_text())["_data_files"]]
    assert [os.path.basename(p) for p in result["source"]["paths"]] == listed
    assert not any("cache-" in p for p in result["source"]["paths"])


def test_a_pattern_in_a_saved_dataset_reads_its_shards_as_a_folder_read_does(files, reference, tmp_path):
    """`'saved/*.arrow'` matched the `cache-*.arrow` file `.map()` leaves beside the shards too,
    and counted its rows with no word; it reads the listed shards, in state.json's order."""
    saved = files["save_to_disk"]
    listed = [e["filename"] for e in json.loads((saved / "state.json").read_text())["_data_files"]]
    result = audit_json(f"{saved}/*.arrow", "--text", "prompt")
    assert [os.path.basename(p) for p in result["source"]["paths"]] == listed
    assert counts(result) == reference
    assert [p.name for p in epochplan.sources.resolve_paths(f"{saved}/*")] == listed  # not state.json, dataset_info.json
    # A pattern aimed at the cache files alone reads them, as asked.
    assert [p.name for p in epochplan.sources.resolve_paths(f"{saved}/cache-*.arrow")] == ["cache-0123456789abcdef.arrow"]
    # state.json's order, not the names' (a folder of shards listed out of name order).
    shuffled = tmp_path / "shuffled"
    shuffled.mkdir()
    for name in ("b.arrow", "a.arrow", "cache-1.arrow"):
        (shuffled / name).write_bytes(b"")
    (shuffled / "state.json").write_text(json.dumps({"_data_files": [{"filename": "b.arrow"}, {"filename": "a.arrow"}]}))
    expected = epochplan.sources.resolve_paths(str(shuffled))
    assert [p.name for p in expected] == ["b.arrow", "a.arrow"]
    assert epochplan.sources.resolve_paths(f"{shuffled}/*.arrow") == expected
    # Every other match keeps its place in a `**` pattern's order: a file of the parent folder
    # after the saved dataset's subfolder stays after it.
    (tmp_path / "z.arrow").write_bytes(b"")
    (tmp_path / "a.arrow").write_bytes(b"")
    found = epochplan.sources.resolve_paths(f"{tmp_path}/**/*.arrow")
    assert [str(p.relative_to(tmp_path)) for p in found] == ["a.arrow", "shuffled/b.arrow", "shuffled/a.arrow", "z.arrow"]


def test_shuffled_and_selected_dataset_reads_the_selected_rows(frame):
    """After shuffle/select the table still holds every row; the audit must see the selection."""
    full = datasets.Dataset(frame.to_arrow())
    picked = full.shuffle(seed=0).select(range(1000))
    assert picked.data.num_rows == 2396 and len(picked) == 1000  # the pitfall is real
    order = picked._indices.column(0).to_pylist()  # the rows the selection names, in its order
    same_rows = frame[order]
    expected = epochplan.audit(same_rows, text="prompt").to_dict()
    got = epochplan.audit(picked, text="prompt").to_dict()
    assert counts(got) == counts(expected)
    assert got["rows"] == 1000
    # With an eval split that is the other rows of the shuffle, nothing selected leaks exactly.
    rest = full.shuffle(seed=0).select(range(1000, 2396))
    with_eval = epochplan.audit(picked, text="prompt", eval={"rest": rest})
    expected_leak = epochplan.audit(same_rows, text="prompt", eval={"rest": frame[rest._indices.column(0).to_pylist()]})
    assert with_eval.leakage["rest"].to_dict() == expected_leak.leakage["rest"].to_dict()


def test_dataset_dict_as_eval_names_its_splits_and_is_refused_as_train(frame):
    table = frame.to_arrow()
    splits = datasets.DatasetDict({"val": datasets.Dataset(table.slice(0, 100)), "test": datasets.Dataset(table.slice(100, 50))})
    result = epochplan.audit(frame, text="prompt", eval=splits)
    assert list(result.leakage) == ["val", "test"]
    assert result.leakage["val"].exact_in_train == 100 and result.leakage["test"].exact_in_train == 50
    with pytest.raises(epochplan.InputError, match="several splits"):
        epochplan.audit(splits, text="prompt")


def test_dedup_of_a_compressed_input_writes_the_same_rows_as_the_parquet(files, shared_data, tmp_path):
    from_parquet, from_zst = tmp_path / "a.parquet", tmp_path / "b.parquet"
    for source, out in ((shared_data / SOURCE, from_parquet), (files["jsonl_zst"], from_zst)):
        proc = run_cli("dedup", str(source), "--text", "prompt", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(from_zst).equals(pl.read_parquet(from_parquet))
    assert 0 < pl.read_parquet(from_zst).height < 2396


def test_dedup_of_a_tsv_writes_a_tsv_of_the_same_rows(files, shared_data, tmp_path):
    """A `.tsv` output from a `.tsv` input: tab-separated, every column, the rows the Parquet
    input keeps (its texts hold tabs, quotes and line breaks, so the quoting must round-trip)."""
    from_parquet, from_tsv = tmp_path / "a.parquet", tmp_path / "b.tsv"
    for source, out in ((shared_data / SOURCE, from_parquet), (files["tsv_gz"], from_tsv)):
        proc = run_cli("dedup", str(source), "--text", "prompt", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
    assert from_tsv.read_text().startswith("instruction\tinput\tresponse\tprompt\n")
    assert pl.read_csv(from_tsv, separator="\t").equals(pl.read_parquet(from_parquet))


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
@pytest.mark.parametrize("layout", ["null-first", "key-later"])
def test_a_text_field_that_starts_late_in_json_lines_is_read(frame, tmp_path, suffix, layout):
    """A sparse field: null (or absent) in the first 1,500 lines, text after. polars infers
    types from 1,000 lines: the field was Null-typed (the streamed reader then failed on its first
    value: 'got non-null value for NULL-typed column') or missing ('no string column')."""
    prompts = frame["prompt"].to_list()
    rows = [{"id": i} | ({"prompt": None} if layout == "null-first" else {}) for i in range(1500)]
    rows += [{"id": 1500 + i, "prompt": p} for i, p in enumerate(prompts)]
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    path = tmp_path / f"sparse{suffix}"
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    pl.DataFrame({"prompt": [None] * 1500 + prompts}, schema={"prompt": pl.String}).write_parquet(tmp_path / "same.parquet")
    got, want = (audit_json(str(p), "--text", "prompt", "--no-near") for p in (path, tmp_path / "same.parquet"))
    assert got["rows"] == want["rows"] == 1500 + len(prompts)
    assert (got["null_rows"], got["exact"], got["lengths"]) == (want["null_rows"], want["exact"], want["lengths"])
    assert audit_json(str(path), "--no-near")["source"]["text_columns"] == ["prompt"]  # found without --text too


PLAIN_TSV = (
    "id\tsentence\tlabel\n"
    '1\t"Good" is not the word\t1\n'
    "2\tan ordinary sentence\t0\n"
    '3\t"an unbalanced quote opens this\t1\n'
    "4\tand this row must stay a row\t0\n"
    '5\ta "quote" in the middle\t1\n'
    '6\t"Good" is not the word\t0\n'
)


@pytest.mark.parametrize("name", ["glue.tsv", "glue.tsv.gz"])
def test_a_plain_tsv_keeps_its_quotes_and_its_rows(tmp_path, name):
    """GLUE-style tab-separated values: no quoting, and texts that start with a quote. Read as
    CSV, row 1 lost its quotes and row 3's quote swallowed rows 4 to 6 (3 rows instead of 6, no
    error) in the compressed file, and the plain one failed to parse. dedup writes the kept rows
    back byte for byte, unquoted."""
    data = PLAIN_TSV.encode()
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    result = audit_json(str(tmp_path / name), "--text", "sentence", "--label", "label", "--no-near")
    assert result["rows"] == 6 and result["exact"]["duplicate_rows"] == 1
    assert result["exact"]["top"][0]["text"] == '"Good" is not the word'
    assert result["conflicts"]["rows"] == 2  # rows 1 and 6: the same sentence, labels 1 and 0
    out = tmp_path / "kept.tsv"
    proc = run_cli("dedup", str(tmp_path / name), "--text", "sentence", "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == PLAIN_TSV.rsplit("6\t", 1)[0]


def test_which_tsv_files_quote_their_values():
    from epochplan.sources.sniff import tsv_is_quoted

    quoting = pl.DataFrame({"a": ["x\ty", 'say "hi"', "b\nc"], "n": [1, 2, 3]}).write_csv(separator="\t").encode()
    only_quotes = pl.DataFrame({"a": ['say "hi"', "plain"]}).write_csv(separator="\t").encode()
    assert tsv_is_quoted(quoting) and tsv_is_quoted(only_quotes)  # a CSV writer's TSV
    assert not tsv_is_quoted(PLAIN_TSV.encode())
    assert not tsv_is_quoted(b"a\tb\n1\t2\n")  # nothing quoted: read plain
    assert not tsv_is_quoted(b'a\tb\n"x"y\t2\n')  # a quote then more text: not CSV quoting


@pytest.mark.parametrize("name", ["answers.csv", "answers.csv.gz", "answers.tsv"])
def test_a_csv_text_column_of_numbers_at_first_is_text(frame, tmp_path, name):
    """Answers that are numbers for 1,500 rows, then sentences: polars inferred Int64 from 1,000
    rows and the audit refused the column as not text, while the compressed file (pyarrow, one
    block) read it. Both now infer from the first 2 MB."""
    texts = [str(i) for i in range(1500)] + frame["prompt"].to_list()
    table = pl.DataFrame({"id": range(len(texts)), "answer": texts})
    text = table.write_csv(separator="\t" if ".tsv" in name else ",").encode()
    (tmp_path / name).write_bytes(gzip.compress(text) if name.endswith(".gz") else text)
    table.write_parquet(tmp_path / "same.parquet")
    got, want = (audit_json(str(p), "--text", "answer", "--no-near") for p in (tmp_path / name, tmp_path / "same.parquet"))
    assert (got["rows"], got["exact"], got["lengths"]) == (want["rows"], want["exact"], want["lengths"])


CELLS = (
    "id,zip,text,flag,score,label\n9007199254740993,02134,hello world,TRUE,1e5,01\n12345678901234567890,00501,hello world,false,2.50,1\n"
)


@pytest.mark.parametrize("name", ["cells.csv", "cells.csv.gz", "cells.tsv", "cells.tsv.zst"])
def test_csv_cells_are_kept_as_written(tmp_path, name):
    """A CSV has no types: dedup writes every other column back as written (zip codes keep their
    leading zeros, a 20-digit id its digits, TRUE and 1e5 their spelling), and labels are the
    text of their cells ("01" and "1" are two labels, so the pair conflicts). Before, the cells
    went through inferred types: 02134 → 2134, TRUE → true, 1e5 → 100000.0, and under gzip the
    ids became floats."""
    text = CELLS.replace(",", "\t") if ".tsv" in name else CELLS
    data = text.encode()
    if name.endswith(".gz"):
        data = gzip.compress(data)
    elif name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    (tmp_path / name).write_bytes(data)
    audit = audit_json(str(tmp_path / name), "--label", "label", "--no-near")
    assert audit["source"]["text_columns"] == ["text"]  # still chosen by the cells' types
    assert audit["conflicts"]["rows"] == 2 and audit["conflicts"]["examples"][0]["labels"] == ["01", "1"]
    out = tmp_path / ("kept.tsv" if ".tsv" in name else "kept.csv")
    proc = run_cli("dedup", str(tmp_path / name), "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert out.read_text() == text.rsplit("12345678901234567890", 1)[0]
    proc = run_cli("dedup", str(tmp_path / name), "--level", "exact", "-o", str(tmp_path / "kept.jsonl"))
    assert proc.returncode == 0, proc.stderr
    row = json.loads((tmp_path / "kept.jsonl").read_text())
    assert row == {"id": "9007199254740993", "zip": "02134", "text": "hello world", "flag": "TRUE", "score": "1e5", "label": "01"}


def test_a_csv_column_of_numbers_for_megabytes_is_text_when_named(tmp_path):
    # Numbers for more than the 2 MB the types are inferred from, then a word: --text reads it.
    pad = "p" * 60
    (tmp_path / "numbers.csv").write_text("pad,text\n" + "".join(f"{pad},{i}\n" for i in range(45_000)) + f"{pad},hello\n")
    audit = audit_json(str(tmp_path / "numbers.csv"), "--text", "text", "--no-near")
    assert audit["rows"] == 45_001 and audit["exact"]["unique"] == 45_001
    # Unnamed, the column of numbers is no text to choose: the only column of words is.
    assert audit_json(str(tmp_path / "numbers.csv"), "--no-near", "-q")["source"]["text_columns"] == ["pad"]


def test_parquet_row_groups_of_any_size_read_in_order(frame, tmp_path, monkeypatch):
    """A local Parquet file is read in windows of whole row groups (polars) and, for a group
    larger than a window's bytes, a batch at a time (pyarrow). Groups of 1 to 900 rows, windows
    from none (pyarrow only) to the whole file: every row once, in order, the same audit."""
    from epochplan.sources import readers

    path = tmp_path / "groups.parquet"
    table = frame.to_arrow()
    with pq.ParquetWriter(path, table.schema) as writer:
        start = 0
        for size in [1, 7, 900, 3, 250, 1, 600, 2, 400, 5000]:
            writer.write_table(table.slice(start, size))
            start += size
    sizes = [pq.ParquetFile(path).metadata.row_group(g).num_rows for g in range(10)]
    assert sizes[:9] == [1, 7, 900, 3, 250, 1, 600, 2, 400] and sum(sizes) == 2396
    want = epochplan.audit(frame, text="prompt").to_dict()
    meta = pq.ParquetFile(path).metadata
    prompt = [i for i in range(meta.num_columns) if meta.schema.column(i).path == "prompt"]
    size = [meta.row_group(g).column(prompt[0]).total_uncompressed_size for g in range(10)]
    for window in (0, 20_000, 400_000, 1 << 30):
        monkeypatch.setattr(readers, "PARQUET_WINDOW_BYTES", window)
        for batch_rows in (1, 333, 50_000):
            plan = list(readers._parquet_windows(meta, ["prompt"], batch_rows))
            assert [g for _, _, groups, _ in plan for g in groups] == list(range(10))
            assert [start for start, *_ in plan] == [sum(r for _, r, *_ in plan[:k]) for k in range(len(plan))]
            for k, (_, rows, groups, whole) in enumerate(plan):
                assert rows == sum(sizes[g] for g in groups)
                if not whole:  # streamed: one group too large for a window
                    assert len(groups) == 1 and size[groups[0]] > window
                    continue
                assert sum(size[g] for g in groups) <= window
                if rows < batch_rows and k < len(plan) - 1:  # cut short only where the next group does not fit
                    assert sum(size[g] for g in groups) + size[plan[k + 1][2][0]] > window
        assert any(whole for *_, whole in plan) == (window > 0)
        got = epochplan.audit(str(path), text="prompt", batch_rows=333).to_dict()
        for key in ("rows", "exact", "near", "lengths", "diversity"):
            assert got[key] == want[key], (window, key)


def test_a_file_read_as_one_column_with_another_separator_is_a_warning(tmp_path):
    """A semicolon-separated `.csv` (Excel in many locales writes one) or a comma-separated
    `.tsv` reads as one column holding whole lines: the counts are of lines, not of the text
    column, so the audit says so. A file whose values hold that character is not flagged."""
    rows = [("1", "hello world"), ("2", "Hello  World"), ("3", "other text")]
    (tmp_path / "semi.csv").write_text("id;text\n" + "".join(f"{i};{t}\n" for i, t in rows))
    (tmp_path / "commas.tsv").write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in rows))
    (tmp_path / "fine.csv").write_text('id,text\n1,"a;b"\n2,c|d\n')
    for name, header in (("semi.csv", "id;text"), ("commas.tsv", "id,text")):
        result = audit_json(str(tmp_path / name), "--no-near")
        assert result["exact"]["duplicate_rows"] == 0  # "1;hello world" and "2;Hello  World" differ
        [warning] = [w for w in result["warnings"] if w["id"] == "separator"]
        assert name in warning["message"] and repr(header) in warning["message"]
    assert audit_json(str(tmp_path / "fine.csv"), "--no-near")["warnings"] == []
    fixed = tmp_path / "fixed.csv"
    fixed.write_text("id,text\n" + "".join(f"{i},{t}\n" for i, t in rows))
    assert audit_json(str(fixed), "--no-near", "--text", "text")["exact"]["duplicate_rows"] == 1


WRITERS = {
    "parquet": lambda frame, path: frame.write_parquet(path),
    "jsonl": lambda frame, path: frame.write_ndjson(path),
    "csv": lambda frame, path: frame.write_csv(path),
    "tsv": lambda frame, path: frame.write_csv(path, separator="\t"),
    "arrow": lambda frame, path: frame.write_ipc(path),
}


@pytest.mark.parametrize("suffix", list(WRITERS))
def test_a_file_name_that_looks_like_a_glob_is_that_file(tmp_path, suffix):
    """`data[1].parquet` is a file name, not a pattern matching `data1.parquet`: the audit, its
    example texts and dedup all read the file named (polars reads a path as a glob by default)."""
    rows = [f"row {i} of the file that was named" for i in range(20)]
    named = pl.DataFrame({"text": rows[:10] + rows[:3]})  # 3 duplicate rows
    decoy = pl.DataFrame({"text": [f"decoy row {i}" for i in range(13)]})
    WRITERS[suffix](named, tmp_path / f"data[1].{suffix}")
    WRITERS[suffix](decoy, tmp_path / f"data1.{suffix}")
    result = audit_json(f"data[1].{suffix}", "--no-near", cwd=tmp_path)
    assert (result["rows"], result["exact"]["duplicate_rows"]) == (13, 3)
    assert {t["text"] for t in result["exact"]["top"]} == set(rows[:3])
    kept = epochplan.dedup(str(tmp_path / f"data[1].{suffix}"), level="exact", keep="longest")
    assert kept["text"].to_list() == rows[:10]


@pytest.mark.parametrize("kind", ["json_array", "jsonl", "csv", "jsonl_gz"])
def test_a_byte_order_mark_is_not_content(frame, reference, tmp_path, kind):
    # Windows tools (PowerShell 5's `Out-File -Encoding utf8`, Excel's "CSV UTF-8") start UTF-8
    # files with EF BB BF. Before: a JSON lines or array file failed in polars' parser
    # ("TapeError at character 0").
    rows = frame.to_dicts()
    content = {
        "json_array": json.dumps(rows, ensure_ascii=False).encode(),
        "jsonl": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(),
        "csv": frame.write_csv().encode(),
        "jsonl_gz": "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode(),
    }[kind]
    name = {"json_array": "d.json", "jsonl": "d.jsonl", "csv": "d.csv", "jsonl_gz": "d.jsonl.gz"}[kind]
    data = b"\xef\xbb\xbf" + content
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    assert counts(epochplan.audit(str(tmp_path / name), text="prompt").to_dict()) == reference


def test_shards_that_differ_in_other_columns(frame, tmp_path, reference):
    """A folder whose shards share the text column but not the rest (a column added later)."""
    shards = tmp_path / "shards"
    shards.mkdir()
    frame.slice(0, 1000).select("prompt", "response").write_parquet(shards / "part-0.parquet")
    frame.slice(1000).with_columns(source=pl.lit("v2")).write_parquet(shards / "part-1.parquet")
    (shards / "dataset_info.json").write_text("{}")  # metadata beside the data is not data
    (shards / "_SUCCESS").write_text("")
    result = audit_json(str(shards), "--text", "prompt")
    assert counts(result) == reference
    assert [os.path.basename(p) for p in result["source"]["paths"]] == ["part-0.parquet", "part-1.parquet"]
    out = tmp_path / "deduped.parquet"
    assert run_cli("dedup", str(shards), "--text", "prompt", "-o", str(out)).returncode == 0
    written = pl.read_parquet(out)
    assert set(written.columns) == {"instruction", "input", "response", "prompt", "source"}  # every column of every shard
    first_shard = written.filter(pl.col("source").is_null())
    assert first_shard.height > 0 and first_shard["instruction"].null_count() == first_shard.height  # null where a shard lacks it
    proc = run_cli("audit", str(shards), "--text", "instruction")
    assert_clean_error(proc, "part-0.parquet", "no column 'instruction'", "other files")


# --- the error contract ----------------------------------------------------------------------------


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


_LINES = b"".join(b'{"prompt": "row %d of a file cut short"}\n' % i for i in range(20000))


def _half(data: bytes) -> bytes:
    return data[: len(data) // 2]


BAD = {
    "empty.jsonl.gz": (lambda: gzip.compress(b""), ["empty.jsonl.gz", "no rows"]),
    "garbage.jsonl.gz": (lambda: b"this is not gzip at all", ["garbage.jsonl.gz: not gzip-compressed", "rename it without .gz"]),
    "truncated.jsonl.zst": (lambda: _half(zstandard.ZstdCompressor().compress(_LINES)), ["truncated.jsonl.zst", "cannot read"]),
    "truncated.csv.gz": (lambda: _half(gzip.compress(b"prompt\n" + _LINES)), ["truncated.csv.gz", "cannot read"]),
    "malformed.json": (lambda: b'[{"prompt": "a"}, {"prompt": ', ["malformed.json", "not valid JSON (line 1, column 30: Expecting value)"]),
    "empty.json": (lambda: b"", ["empty.json"]),
    "empty-array.json": (lambda: b"[]", ["no rows"]),
    "bad-lines.jsonl.gz": (
        lambda: gzip.compress(b'{"prompt": "a"}\n{"prompt": \n'),
        ["bad-lines.jsonl.gz", "not valid JSON lines (line 2, column 12"],
    ),
    "empty.arrow": (lambda: b"", ["empty.arrow", "no rows (the file is empty)"]),
    "garbage.arrow": (lambda: b"ARROW1" + b"\x00" * 40, ["garbage.arrow", "cannot read"]),
    "bad.csv.zst": (lambda: b"\x28\xb5\x2f\xfd junk", ["bad.csv.zst", "cannot read"]),
    "data.parquet.gz": (lambda: gzip.compress(b"PAR1"), ["data.parquet.gz", "store it uncompressed"]),
}


DEDUP_TOO = ("garbage.jsonl.gz", "malformed.json", "garbage.arrow")


@pytest.mark.parametrize("name", list(BAD))
def test_bad_inputs_exit_2_with_one_line_and_write_nothing(tmp_path, name):
    make, fragments = BAD[name]
    bad = _write(tmp_path / name, make())
    out = tmp_path / "out"
    out.mkdir()
    commands = [["audit", str(bad), "--text", "prompt", "--json", str(out / "a.json"), "--clusters", str(out / "c.parquet")]]
    if name in DEDUP_TOO:
        commands.append(["dedup", str(bad), "--text", "prompt", "-o", str(out / "d.parquet")])
    for args in commands:
        assert_clean_error(run_cli(*args), *fragments)
    assert os.listdir(out) == []


def _not_utf8(values: list[bytes | None], kind: str) -> pa.Array:
    """A string-typed Arrow array holding bytes that are not UTF-8, as a careless writer leaves
    them (pyarrow's Parquet reader and polars pass them through unchecked)."""
    binary, string = {
        "string": (pa.binary(), pa.string()),
        "large_string": (pa.large_binary(), pa.large_string()),
        "string_view": (pa.binary_view(), pa.string_view()),
    }[kind]
    return pa.array(values, binary).view(string)


def test_text_that_is_not_utf8_in_a_folder_names_its_file_and_its_row(tmp_path):
    # Named the folder's first file and the row of the whole input ("3 files (a.parquet …):
    # text column: row 65 …").
    folder = tmp_path / "shards"
    folder.mkdir()
    good = [b"a fine row of text %d" % i for i in range(30)]
    for name, texts in (("a", good), ("b", [*good[:25], b"caf\xe9 in latin-1", *good[25:]]), ("c", good)):
        pq.write_table(pa.table({"text": _not_utf8(texts, "string")}), folder / f"{name}.parquet")
    for batch_rows in ("7", "50000"):
        proc = run_cli("audit", str(folder), "-q", env={"EPOCHPLAN_BATCH_ROWS": batch_rows})
        assert_clean_error(proc, "b.parquet: column 'text': row 25 ", "not valid UTF-8")
        assert "a.parquet" not in proc.stderr


def test_text_that_is_not_utf8_names_its_column(tmp_path):
    """The error said "text column", whichever column it was: with several --text columns the
    user could not tell which one to re-encode."""
    bad = tmp_path / "mixed.parquet"
    pq.write_table(pa.table({"title": ["a", "b"], "body": _not_utf8([b"ok", b"caf\xe9"], "string")}), bad)
    assert_clean_error(run_cli("audit", str(bad), "--text", "body", "-q"), "mixed.parquet: column 'body': row 1 ", "UTF-8")
    proc = run_cli("audit", str(bad), "--text", "title", "--text", "body", "-q")
    assert_clean_error(proc, "columns 'title' + 'body' (joined): row 1 ", "UTF-8")
    train = tmp_path / "train.parquet"
    pl.DataFrame({"title": ["x", "y"]}).write_parquet(train)
    proc = run_cli("audit", str(train), "--text", "title", "--eval", str(bad), "--eval-text", "body", "-q")
    assert_clean_error(proc, "eval split 'mixed'", "column 'body'", "UTF-8")


def test_text_that_is_not_utf8_exits_2_naming_file_and_row(tmp_path, shared_data):
    good = [b"a fine row of text %d" % i for i in range(30)]
    texts = [*good[:25], b"caf\xe9 in latin-1, not utf-8", *good[25:]]  # row 25
    bad = tmp_path / "latin1.parquet"
    pq.write_table(pa.table({"text": _not_utf8(texts, "string"), "label": ["x"] * 31}), bad)
    out = tmp_path / "out"
    out.mkdir()
    for extra in ([], ["--no-near"], ["--label", "label"]):
        proc = run_cli("audit", str(bad), "--json", str(out / "a.json"), *extra, env={"EPOCHPLAN_BATCH_ROWS": "7"})
        assert_clean_error(proc, "latin1.parquet", "row 25 ", "not valid UTF-8")
    assert_clean_error(run_cli("dedup", str(bad), "-o", str(out / "d.parquet")), "latin1.parquet", "row 25 ", "UTF-8")
    labels = tmp_path / "labels.parquet"
    pq.write_table(pa.table({"text": [t.decode() for t in good], "label": _not_utf8([b"ok"] * 29 + [b"\xff"], "string")}), labels)
    assert_clean_error(run_cli("audit", str(labels), "--label", "label"), "labels.parquet", "label column 'label'", "row 29 ")
    proc = run_cli("audit", str(shared_data / SOURCE), "--text", "prompt", "--eval", f"val={bad}", "--eval-text", "text")
    assert_clean_error(proc, "eval split 'val'", "latin1.parquet", "not valid UTF-8")
    assert os.listdir(out) == []
    # The Python API, for each Arrow string type: short (inline) and long values, and nulls.
    for kind in ("string", "large_string", "string_view"):
        values = [b"short", None, b"a long enough value to live outside the view \xe2\x82", b"ok"]
        with pytest.raises(epochplan.InputError, match="row 2 is not valid UTF-8"):
            epochplan.audit(pa.table({"text": _not_utf8(values, kind)}))
        assert (
            epochplan.audit(pa.table({"text": _not_utf8([b"short", None, "\u00e9t\u00e9 \u65e5\u672c".encode(), b"ok"], kind)})).rows == 4
        )


def test_bad_eval_split_and_bad_saved_dataset(tmp_path, files, shared_data):
    bad = _write(tmp_path / "val.jsonl.gz", b"not gzip")
    proc = run_cli("audit", str(shared_data / SOURCE), "--text", "prompt", "--eval", str(bad))
    assert_clean_error(proc, "val.jsonl.gz: not gzip-compressed", "rename it without .gz")
    broken = tmp_path / "saved"
    broken.mkdir()
    (broken / "state.json").write_text('{"_data_files": [{"filename": "data-00000-of-00001.arrow"}]}')
    assert_clean_error(run_cli("audit", str(broken)), "data-00000-of-00001.arrow", "missing")
    (broken / "state.json").write_text("{not json")
    assert_clean_error(run_cli("audit", str(broken)), "state.json", "save_to_disk")
    (broken / "state.json").write_text('{"_data_files": [{"filename": null}]}')  # was a TypeError, exit 3
    assert_clean_error(run_cli("audit", str(broken)), "state.json", "a filename there is not a string", "save_to_disk")
    saved_dict = tmp_path / "dict"
    datasets.DatasetDict({"train": datasets.Dataset(pa.table({"prompt": ["a"]}))}).save_to_disk(str(saved_dict))
    assert_clean_error(run_cli("audit", str(saved_dict)), "DatasetDict", "train")
    assert audit_json(str(saved_dict / "train"))["rows"] == 1  # one split's folder is a saved dataset


@pytest.mark.parametrize("name", ["nulls.parquet", "nulls.json", "nulls.arrow"])
def test_an_all_null_text_column_is_audited(tmp_path, name):
    """polars writes a column of only None without a type (Null), and a JSON array of nulls reads
    so: such a text column is audited (every row a null text), named or found by its name."""
    frame = pl.DataFrame({"id": [1, 2, 3], "text": [None, None, None]})
    assert frame.schema["text"] == pl.Null
    path = tmp_path / name
    if name.endswith(".json"):
        path.write_text(json.dumps(frame.to_dicts()))
    elif name.endswith(".arrow"):
        frame.write_ipc(path)
    else:
        frame.write_parquet(path)
    for args in ([], ["--text", "text"]):
        audit = audit_json(str(path), "--no-near", *args)
        assert (audit["rows"], audit["null_rows"], audit["source"]["text_columns"]) == (3, 3, ["text"])
    proc = run_cli("dedup", str(path), "-o", str(tmp_path / "kept.parquet"))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(tmp_path / "kept.parquet").height == 0


@pytest.mark.parametrize(
    "name, encoding",
    [("excel.csv", "utf-16"), ("excel.tsv.gz", "utf-16"), ("lines.txt", "utf-16-be"), ("rows.jsonl", "utf-32")],
)
def test_a_utf16_or_utf32_file_is_refused_naming_its_encoding(tmp_path, name, encoding):
    """Excel's "Unicode Text" and pandas' encoding="utf-16" write UTF-16 with a byte order mark:
    read as UTF-8 it was audited (exit 0) as garbage, its column named '��t\\x00e\\x00x\\x00t'."""
    body = '{"text": "hello world"}\n' if name.endswith(".jsonl") else "text\nhello world\nfoo bar\n"
    if name.endswith(".tsv.gz"):
        body = "id\ttext\n1\thello\n"
    data = ("\ufeff" + body).encode(encoding) if encoding == "utf-16-be" else body.encode(encoding)
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    label = "UTF-32" if encoding == "utf-32" else "UTF-16"
    for command in (["audit"], ["dedup", "-o", str(tmp_path / "out.parquet")]):
        assert_clean_error(run_cli(command[0], str(tmp_path / name), *command[1:]), name, label, "save it as UTF-8")
    assert not (tmp_path / "out.parquet").exists()


@pytest.mark.parametrize(
    "name, data, where",
    [
        # a download cut short: the last line, past the 2 MB the columns are read from
        (
            "cut.jsonl",
            b"".join(b'{"text": "row %d of a long file"}\n' % i for i in range(80_000)) + b'{"text": "cut sh',
            "line 80001, column 10: Unterminated string",
        ),
        ("cut.jsonl.zst", b'{"text": "a"}\n{"text": "b" "c"}\n', "line 2, column 14: Expecting ',' delimiter"),
        ("array-line.jsonl", b'{"text": "a"}\n[1, 2]\n', "line 2: a JSON array, not an object"),
        ("trailing.json", b'[{"text": "a"}, {"text": "b"}] x', "line 1, column 32: Extra data"),
        ("comma.json", b'[{"text": "a"},\n {"text": "b"},\n]', "line 3, column 1: Expecting value"),
    ],
)
def test_a_broken_json_file_names_the_line(tmp_path, name, data, where):
    """polars' parser says "Syntax at character 8" or "InternalError(TapeError)"; Python's finds
    the line and column once a read failed."""
    (tmp_path / name).write_bytes(zstandard.ZstdCompressor().compress(data) if name.endswith(".zst") else data)
    for command in (["audit"], ["dedup", "-o", str(tmp_path / "out.jsonl")]):
        assert_clean_error(run_cli(command[0], str(tmp_path / name), *command[1:]), name, where)


@pytest.mark.parametrize("indent", [None, 2])
def test_a_json_object_holding_the_records_is_refused_naming_its_key(tmp_path, indent):
    """SQuAD-style `{"version": ..., "data": [...]}`: read as JSON lines it was one row whose
    only string, the version, was audited (compact), or a syntax error at line 1 (pretty)."""
    squad = {"version": "1.1", "data": [{"text": "hello world"}, {"text": "foo bar"}, {"text": "hello world"}]}
    (tmp_path / "squad.json").write_text(json.dumps(squad, indent=indent))
    assert_clean_error(
        run_cli("audit", str(tmp_path / "squad.json")), "squad.json", "one JSON object", "'data' holds 3 records", "jq -c '.data[]'"
    )
    # One record on one line is a one-row JSON lines file, as before.
    (tmp_path / "one.json").write_text(json.dumps(squad["data"][0]) + "\n")
    assert audit_json(str(tmp_path / "one.json"), "--no-near")["rows"] == 1


@pytest.mark.parametrize("name", ["squad.json.gz", "squad.json.zst"])
@pytest.mark.parametrize("indent", [None, 2])
def test_a_compressed_json_object_holding_the_records_is_refused_too(tmp_path, name, indent):
    """Compressed, the check was skipped: compact, the object was audited as one row of its
    version string (exit 0); pretty-printed, "not valid JSON lines (line 1, column 2 …)"."""
    squad = {"version": "1.1", "data": [{"text": "hello world"}, {"text": "foo bar"}, {"text": "hello world"}]}
    data = json.dumps(squad, indent=indent).encode()
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else zstandard.ZstdCompressor().compress(data))
    unpack = "zcat" if name.endswith(".gz") else "zstdcat"
    for command in (["audit"], ["dedup", "-o", str(tmp_path / "out.jsonl")]):
        proc = run_cli(command[0], str(tmp_path / name), *command[1:])
        assert_clean_error(proc, name, "one JSON object", "'data' holds 3 records", f"{unpack} FILE | jq -c '.data[]' > rows.jsonl")
    assert not (tmp_path / "out.jsonl").exists()
    # JSON lines whose first line is longer than the bytes first read: rows, not one object.
    lines = "".join(json.dumps({"text": f"row {i} " + "word " * 2000}) + "\n" for i in range(3))
    (tmp_path / "long.json.gz").write_bytes(gzip.compress(lines.encode()))
    assert audit_json(str(tmp_path / "long.json.gz"), "--no-near")["rows"] == 3


@pytest.mark.parametrize("name", ["latin.csv", "latin.csv.gz", "latin.tsv.zst", "header.csv", "late.csv", "late.csv.gz"])
def test_a_csv_that_is_not_utf8_names_the_line_and_how_to_re_encode_it(tmp_path, name):
    """Latin-1 bytes: polars said "cannot read rows (invalid utf-8 sequence)" (no line, no fix);
    pyarrow (compressed) typed the column as bytes ("no string column to audit … cast to
    pl.String") or, with --text, "CSV conversion error to string"; a header read without a word.
    Past the first 2 MB (late) the read fails, not the look at the head."""
    sep = "\t" if ".tsv" in name else ","
    if name.startswith("late"):
        data, line = f"id{sep}text\n".encode() + b"".join(b"%d%srow %d\n" % (i, sep.encode(), i) for i in range(300_000)), 300_002
    else:
        data, line = f"id{sep}text\n1{sep}ok\n".encode(), 3
    data += f"2{sep}caf".encode() + b"\xe9\n"
    if name.startswith("header"):
        data, line = data.replace(b"text", b"t\xe9xt", 1), 1
    if name.endswith(".gz"):
        data = gzip.compress(data)
    elif name.endswith(".zst"):
        data = zstandard.ZstdCompressor().compress(data)
    (tmp_path / name).write_bytes(data)
    fix = {".gz": "zcat FILE | iconv -f latin1 -t utf-8", ".zst": "zstdcat FILE | iconv -f latin1 -t utf-8"}
    command = fix.get(os.path.splitext(name)[1], "iconv -f latin1 -t utf-8 FILE")
    for args in (["audit", "--no-near"], ["audit", "--no-near", "--text", "text"], ["dedup", "-o", str(tmp_path / "out.jsonl")]):
        proc = run_cli(args[0], str(tmp_path / name), *args[1:])
        assert_clean_error(proc, f"{name}: not UTF-8 at line {line}, byte ", "re-encode the file as UTF-8", command)
    assert not (tmp_path / "out.jsonl").exists()


def test_windows_1252_quotes_get_the_cp1252_hint(tmp_path):
    """Bytes 0x80-0x9f are Windows-1252's curly quotes and dashes: following the Latin-1 hint
    would turn them into invisible control characters."""
    (tmp_path / "quotes.csv").write_bytes(b"id,text\n1,\x93quoted\x94 \x96 dash\n")
    proc = run_cli("audit", str(tmp_path / "quotes.csv"), "--no-near")
    assert_clean_error(proc, "quotes.csv: not UTF-8 at line 2, byte 3 (0x93)", "iconv -f cp1252 -t utf-8 FILE", "Windows-1252")


def _union_table() -> pa.Table:
    meta = pa.UnionArray.from_sparse(pa.array([0, 1, 0], pa.int8()), [pa.array([1, 2, 3]), pa.array(["x", "y", "z"])])
    return pa.table({"text": ["a b c", "d e f", "a b c"], "meta": meta})


def test_a_column_polars_cannot_read_is_named_not_a_rust_panic(tmp_path):
    """An extra column of a type polars has no reader for (a union, a month-day-nano interval, a
    256-bit decimal) raised pyo3's PanicException (a BaseException that `except Exception` misses)
    with a Rust backtrace on stderr, and the CLI exited 1 (the code of a failed gate)."""
    table = _union_table()
    for make in (lambda: table, lambda: table.to_batches()[0], lambda: pa.RecordBatchReader.from_batches(table.schema, table.to_batches())):
        # In memory, a column the audit does not read is no matter (as in a Parquet file);
        # dedup writes every column.
        assert epochplan.audit(make(), text="text").exact.duplicate_rows == 1
        with pytest.raises(epochplan.InputError, match=r"column 'meta' has a type polars cannot read \(sparse_union"):
            epochplan.dedup(make(), text="text")
        with pytest.raises(epochplan.InputError, match=r"column 'meta' has a type polars cannot read \(sparse_union"):
            epochplan.audit(make(), text="meta")
    interval = pa.table({"text": ["a"], "when": pa.array([pa.MonthDayNano([1, 2, 3])], pa.month_day_nano_interval())})
    with pytest.raises(epochplan.InputError, match="column 'when'"):
        epochplan.dedup(interval)
    wide = pa.table({"text": ["a"], "amount": pa.array([1], pa.decimal256(40, 2))})
    with pytest.raises(epochplan.InputError, match="column 'amount'"):
        epochplan.dedup(wide)
    path = tmp_path / "union.arrow"
    with ipc.new_file(path, table.schema) as writer:
        writer.write_table(table)
    assert_clean_error(run_cli("audit", str(path), "--text", "text"), "union.arrow", "column 'meta'", "drop or cast")
    # A half-hour UTC offset: polars' Parquet reader panicked (its text printed before the error line).
    zoned = tmp_path / "zoned.parquet"
    pq.write_table(pa.table({"text": ["a b", "a b"], "ts": pa.array([0, 1], pa.timestamp("ms", tz="+05:30"))}), zoned)
    for command in ("audit", "dedup"):
        out = ["-o", str(tmp_path / "o.parquet")] if command == "dedup" else []
        assert_clean_error(run_cli(command, str(zoned), "--text", "text", *out), "column 'ts'", "tz=+05:30")


def test_dedup_reads_a_reader_once_and_refuses_a_generator():
    """dedup reads its input twice (the audit, then the rows it keeps): a RecordBatchReader was
    used up by the audit, and dedup returned no rows without a word. It is read once, into
    memory (`sources/in_memory.py`); a generator of frames is no table and is refused."""
    table = pa.table({"text": ["a b c", "d e f", "a b c"], "id": [0, 1, 2]})
    reader = pa.RecordBatchReader.from_batches(table.schema, table.to_batches())
    assert epochplan.dedup(reader)["id"].to_list() == [0, 1]
    assert epochplan.audit(pa.RecordBatchReader.from_batches(table.schema, table.to_batches())).exact.duplicate_rows == 1
    with pytest.raises(epochplan.InputError, match="reads the input twice.*generator.*read only once"):
        epochplan.dedup(frame for frame in [pl.from_arrow(table)])


def test_integer_and_float_labels_of_two_shards_are_the_same_labels(tmp_path):
    """pandas writes an integer label column with a missing value as floats: 1 in one shard and
    1.0 in the next were two labels, and the same text under them a conflict."""
    folder = tmp_path / "shards"
    folder.mkdir()
    pq.write_table(pa.table({"text": ["s1", "s2", "s3"], "label": pa.array([1, 2, 3], pa.int64())}), folder / "a.parquet")
    floats = pa.array([1.0, 2.0, None, 2.5, -0.0], pa.float64())
    pq.write_table(pa.table({"text": ["s1", "s2", "s4", "s5", "s6"], "label": floats}), folder / "b.parquet")
    got = audit_json(str(folder), "--text", "text", "--label", "label")
    assert got["conflicts"]["rows"] == 0 and got["conflicts"]["exact_clusters"] == 0
    assert got["labels"]["counts"] == {"1": 2, "2": 2, "3": 1, "2.5": 1, "0": 1}
    # NaN (how pandas and numpy write a missing number) is no label; big whole floats are integers.
    nan = epochplan.audit(pa.table({"text": ["a", "b", "c"], "label": [1.0, float("nan"), 1e16]}), label="label", near=False).to_dict()
    assert (nan["labels"]["counts"], nan["labels"]["null_labels"]) == ({"1": 1, "10000000000000000": 1}, 1)
    # CSV cells too: pandas writes an integer column with a missing value as 1.0,,2.0.
    (tmp_path / "csv").mkdir()
    (tmp_path / "csv" / "a.csv").write_text("text,label\na1,1\na2,2\na3,1\n")
    (tmp_path / "csv" / "b.csv").write_text("text,label\nb1,1.0\nb2,\nb3,2.0\nb4,-3.0\n")
    cells = audit_json(str(tmp_path / "csv"), "--text", "text", "--label", "label", "--no-near")
    assert cells["labels"]["counts"] == {"1": 3, "2": 2, "-3": 1}
    # Lists of labels too (multi-label): [1, 2] and [2.0, 1.0] are one set.
    multi = epochplan.audit(pa.table({"text": ["x", "x"], "tags": pa.array([[1.0, 2.0], [2.0, 1.0]])}), text="text", label="tags")
    assert multi.to_dict()["labels"]["counts"] == {"1 | 2": 2}
    # Half floats: every one read as whole (polars' floor of a Float16 is the value itself), so
    # 0.25 and 0.75 were both the label "0" and the conflict between them was not seen.
    halves = pa.array(np.array([0.25, 0.75, 2.0, 1.5], dtype=np.float16))
    half = epochplan.audit(pa.table({"text": ["same", "same", "a", "b"], "label": halves}), label="label", near=False).to_dict()
    assert half["labels"]["counts"] == {"0.25": 1, "0.75": 1, "2": 1, "1.5": 1} and half["conflicts"]["rows"] == 2


@pytest.mark.parametrize("separator, suffix", [(",", "csv"), ("\t", "tsv")])
def test_compressed_delimited_files_read_like_the_plain_file(tmp_path, separator, suffix):
    """A compressed CSV/TSV (pyarrow's reader) read an empty cell as an empty string, not null,
    and skipped a blank line the plain file (polars' reader) reads as a row of nulls: rows, null
    rows, labels and every later row number differed from the same file uncompressed."""
    lines = ["", "text,label", ",a", '"",b', "hello world,", "hello world,c", "", "NA,d", "null,", "last,e"]
    body = "\n".join(lines).replace(",", separator).encode() + b"\n"
    (tmp_path / f"plain.{suffix}").write_bytes(body)
    (tmp_path / f"packed.{suffix}.gz").write_bytes(gzip.compress(body))
    (tmp_path / f"packed.{suffix}.zst").write_bytes(zstandard.ZstdCompressor().compress(body))
    keys = ("rows", "null_rows", "empty_rows", "labels", "exact", "conflicts", "lengths")
    runs = {
        name: audit_json(str(tmp_path / name), "--text", "text", "--label", "label", "--no-near")
        for name in (f"plain.{suffix}", f"packed.{suffix}.gz", f"packed.{suffix}.zst")
    }
    plain = runs.pop(f"plain.{suffix}")
    assert (plain["rows"], plain["null_rows"], plain["empty_rows"]) == (8, 2, 1)
    # However many blank lines come before the header (they were counted in its first 4 KB only).
    (tmp_path / f"blank.{suffix}.gz").write_bytes(gzip.compress(b"\n" * 5000 + body))
    runs["blank"] = audit_json(str(tmp_path / f"blank.{suffix}.gz"), "--text", "text", "--label", "label", "--no-near")
    assert plain["labels"]["null_labels"] == 3 and "NA" not in plain["labels"]["counts"]
    for name, got in runs.items():
        for key in keys:
            assert got[key] == plain[key], (name, key)


def test_dedup_keeps_a_data_column_named_like_its_row_index():
    """dedup numbers the rows in a column of its own: a data column of that name was a polars
    DuplicateError."""
    frame = pl.DataFrame({"text": ["a b", "c d", "a b"], "__epochplan_row": [7, 8, 9]})
    assert epochplan.dedup(frame, level="exact").rows() == [("a b", 7), ("c d", 8)]


@pytest.mark.parametrize("suffix", ["parquet", "arrow"])
def test_dedup_keeps_the_values_of_a_column_named_empty(tmp_path, suffix):
    """polars renames a column named "" to "column_1": dedup wrote that column all null from a
    Parquet file (values lost, exit 0) and failed on an Arrow file."""
    table = pa.Table.from_arrays([pa.array(["a b c d e f", "a b c d e f", "x y z"]), pa.array([1, 2, 3])], names=["text", ""])
    path = tmp_path / f"odd.{suffix}"
    if suffix == "parquet":
        pq.write_table(table, path)
    else:
        with ipc.new_file(path, table.schema) as writer:
            writer.write_table(table)
    for out in ("o.jsonl", "o.parquet"):
        proc = run_cli("dedup", str(path), "--level", "exact", "-o", str(tmp_path / out))
        assert proc.returncode == 0, proc.stderr
    assert [json.loads(line) for line in (tmp_path / "o.jsonl").read_text().splitlines()] == [
        {"text": "a b c d e f", "": 1},
        {"text": "x y z", "": 3},
    ]
    assert pq.read_table(tmp_path / "o.parquet").to_pylist() == [{"text": "a b c d e f", "": 1}, {"text": "x y z", "": 3}]


@pytest.mark.parametrize("suffix", ["parquet", "arrow"])
def test_dedup_writes_its_rows_back_in_the_input_schema(tmp_path, suffix):
    """Rows went through polars: string came back large_string, list large_list, binary
    large_binary, int32 dictionary indices uint32, time64[us] time64[ns], and the schema
    metadata (a `datasets` ClassLabel's names, pandas' index) was dropped."""
    table = pa.table(
        {
            "text": ["good movie here ok", "good movie here ok", "bad film"],
            "label": pa.array([1, 1, 0], pa.int64()),
            "tags": pa.array([["a"], ["a"], ["b", "c"]], pa.list_(pa.string())),
            "blob": pa.array([b"1", b"2", b"3"], pa.binary()),
            "kind": pa.array(["x", "x", "y"]).dictionary_encode(),
            "at": pa.array([1, 2, 3], pa.time64("us")),
            "attrs": pa.array([[("k", 1)], [("k", 2)], []], pa.map_(pa.string(), pa.int64())),
        }
    ).replace_schema_metadata({"huggingface": '{"info": {"features": {"label": {"names": ["neg", "pos"], "_type": "ClassLabel"}}}}'})

    def write(data: pa.Table, path, kind: str) -> None:
        if kind == "parquet":
            pq.write_table(data, path)
        else:
            with ipc.new_file(path, data.schema) as writer:
                writer.write_table(data)

    def read(path, kind: str) -> pa.Table:
        return pq.read_table(path) if kind == "parquet" else ipc.open_file(path).read_all()

    path = tmp_path / f"in.{suffix}"
    write(table, path, suffix)
    source = read(path, suffix)
    for out_suffix in ("parquet", "arrow"):
        out = tmp_path / f"out.{out_suffix}"
        proc = run_cli("dedup", str(path), "--level", "exact", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        # What pyarrow itself writes when it copies the kept rows of the input to that format;
        # an Arrow file has its dictionary columns decoded (one dictionary per column per file,
        # where each batch read brings its own).
        kept = source.take([0, 2])
        if out_suffix == "arrow":
            kept = kept.set_column(kept.schema.get_field_index("kind"), "kind", kept.column("kind").cast(pa.string()))
        write(kept, tmp_path / f"want.{out_suffix}", out_suffix)
        want = read(tmp_path / f"want.{out_suffix}", out_suffix)
        got = read(out, out_suffix)
        assert got.schema.equals(want.schema, check_metadata=True), (got.schema, want.schema)
        assert got.to_pylist() == want.to_pylist()
    # In memory too: a pyarrow Table's own schema.
    kept = epochplan.dedup(table, level="exact")
    assert kept.height == 2


def test_dedup_writes_back_an_extension_column_polars_holds_over_other_storage(tmp_path):
    """polars hands a `pa.json_()` column back as the extension over large_string, and Arrow
    casts no extension to another: dedup_to_file raised pyarrow's ArrowTypeError after the
    whole audit, and the CLI exited 3 (internal error) on an Arrow file holding one."""
    meta = pa.ExtensionArray.from_storage(pa.json_(), pa.array(['{"k": 1}', '{"k": 2}', '{"k": 3}']))
    table = pa.table({"text": ["a b", "a b", "c d"], "meta": meta})
    dedup_to_file(table, tmp_path / "api.parquet", text="text")
    path = tmp_path / "jext.arrow"
    with ipc.new_file(path, table.schema) as writer:
        writer.write_table(table)
    for out in ("cli.parquet", "cli.arrow"):
        proc = run_cli("dedup", str(path), "--text", "text", "-o", str(tmp_path / out))
        assert proc.returncode == 0, proc.stderr
    for got in (
        pq.read_table(tmp_path / "api.parquet"),
        pq.read_table(tmp_path / "cli.parquet"),
        ipc.open_file(tmp_path / "cli.arrow").read_all(),
    ):
        assert got.schema.field("meta").type == pa.json_() and got.equals(table.take([0, 2])), got.schema


def test_dedup_refuses_an_output_format_that_cannot_hold_a_column_before_the_audit(tmp_path):
    """Bytes to JSON lines were a Rust panic and exit 1, a list of messages to CSV and a 128-bit
    integer to Parquet an internal error (exit 3), each after the whole audit."""
    pq.write_table(pa.table({"text": ["a b c d e f"] * 2 + ["x y z"], "blob": [b"1", b"2", b"3"]}), tmp_path / "bin.parquet")
    pq.write_table(pa.table({"messages": [[{"role": "user", "content": "hi there"}]] * 2}), tmp_path / "chat.parquet")
    (tmp_path / "big.jsonl").write_text('{"id":12345678901234567890,"text":"a b c d e"}\n{"id":1,"text":"a b c d e"}\n')
    # Maps (an internal error, exit 3): to CSV, and to JSON lines where the keys are numbers.
    maps = pa.array([[(1, 1)], [(2, 2)], [(3, 3)]], pa.map_(pa.int64(), pa.int64()))
    pq.write_table(pa.table({"text": ["a b c d e f"] * 2 + ["x y z"], "m": maps}), tmp_path / "map.parquet")
    for name, out, fragments in [
        ("map.parquet", "o.csv", ["column 'm' is Map(Int64, Int64)", "CSV file cannot hold"]),
        ("map.parquet", "o.jsonl", ["column 'm' is Map(Int64, Int64)", "JSON-lines file cannot hold", ".parquet or .arrow"]),
        ("bin.parquet", "o.jsonl", ["column 'blob' is Binary", "JSON-lines file cannot hold", ".parquet or .arrow"]),
        ("chat.parquet", "o.csv", ["column 'messages' is List(Struct", "CSV file cannot hold"]),
        ("chat.parquet", "o.tsv", ["TSV file cannot hold"]),
        ("big.jsonl", "o.parquet", ["column 'id' is Int128", "Parquet file cannot hold", ".jsonl or .csv"]),
    ]:
        assert_clean_error(run_cli("dedup", str(tmp_path / name), "-o", str(tmp_path / out)), *fragments)
        assert not (tmp_path / out).exists()
    proc = run_cli("dedup", str(tmp_path / "chat.parquet"), "-o", str(tmp_path / "chat.jsonl"))
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "chat.jsonl").read_text()) == {"messages": [{"role": "user", "content": "hi there"}]}


def test_a_fixed_size_list_of_strings_is_text_like_a_list(tmp_path):
    """pyarrow's list_(string(), n) (polars' Array) was refused as "no string column", while a
    plain list of strings is audited one item a line."""
    fixed = pa.table({"turns": pa.array([["hi", "there"], ["hi", "there"], ["a", "b"]], pa.list_(pa.string(), 2))})
    plain = pa.table({"turns": pa.array([["hi", "there"], ["hi", "there"], ["a", "b"]], pa.list_(pa.string()))})
    pq.write_table(fixed, tmp_path / "fixed.parquet")
    pq.write_table(plain, tmp_path / "plain.parquet")
    got, want = (audit_json(str(tmp_path / name), "--no-near") for name in ("fixed.parquet", "plain.parquet"))
    for key in ("rows", "exact", "lengths", "diversity"):
        assert got[key] == want[key], key
    assert got["exact"]["duplicate_rows"] == 1 and got["exact"]["top"][0]["text"] == "hi\nthere"


def test_a_column_named_twice_is_named_in_the_error(tmp_path):
    table = pa.Table.from_arrays([pa.array(["a", "b"]), pa.array(["c", "d"])], names=["text", "text"])
    pq.write_table(table, tmp_path / "dup.parquet")
    assert_clean_error(run_cli("audit", str(tmp_path / "dup.parquet")), "dup.parquet", "column 'text' appears more than once")


def test_dedup_to_an_arrow_file_of_batches_with_their_own_dictionaries(tmp_path):
    """Each batch of an Arrow stream may carry its own dictionary; an Arrow IPC file holds one per
    column: dedup failed with "Dictionary replacement detected" (exit 3). Decoded, every value is kept."""
    batches = [
        pa.record_batch(
            {
                "text": pa.array([f"t{b} {j % 140}" for j in range(150)]),
                "cat": pa.DictionaryArray.from_arrays(
                    pa.array([j % 10 for j in range(150)], pa.int8()), pa.array([f"c{b}_{j}" for j in range(10)])
                ),
            }
        )
        for b in range(5)
    ]
    with ipc.new_stream(tmp_path / "in.arrow", batches[0].schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
    proc = run_cli(
        "dedup", str(tmp_path / "in.arrow"), "--level", "exact", "-o", str(tmp_path / "out.arrow"), env={"EPOCHPLAN_BATCH_ROWS": "150"}
    )
    assert proc.returncode == 0, proc.stderr
    got = ipc.open_stream(tmp_path / "out.arrow").read_all()  # stream in, stream out
    assert got.num_rows == 5 * 140
    assert got.column("cat").to_pylist() == [f"c{b}_{j % 10}" for b in range(5) for j in range(140)]


def test_a_column_named_empty_keeps_its_name(tmp_path):
    """polars renames a column named "" to column_0: an in-memory table's was audited and written
    back under that name, and `text=""` said "no column ''"; a Parquet file's was audited, then
    the template preview failed on it (exit 2 after the whole audit). The API now refuses a
    blank column name as the command line does (`--text ""`)."""
    table = pa.table({"": ["a b", "a b", "c d"], "id": [1, 2, 3]})
    assert epochplan.audit(table).source.text_columns == [""]
    assert epochplan.dedup(table).columns == ["", "id"]
    with pytest.raises(epochplan.InputError, match="text='': must name columns, with no empty names"):
        epochplan.audit(table, text="")
    with pytest.raises(epochplan.InputError, match="no empty names"):
        epochplan.audit(table, text=["id", " "])
    path = tmp_path / "empty_name.parquet"
    pq.write_table(table, path)
    got = audit_json(str(path))
    assert got["source"]["text_columns"] == [""] and got["exact"]["top"][0]["text"] == "a b"
    assert epochplan.audit(str(path)).template is not None
    out = tmp_path / "kept.parquet"
    assert run_cli("dedup", str(path), "-o", str(out)).returncode == 0
    assert pq.read_table(out).equals(table.take([0, 2]))
    assert_clean_error(run_cli("audit", str(path), "--text", ""), "--text", "no empty names")


def test_text_that_is_not_utf8_in_an_eval_split_names_its_row_there(tmp_path):
    """The eval split's error said "row 2 of its batch": the row within whichever batch held it
    (batch_rows, EPOCHPLAN_BATCH_ROWS), not in the split, where train's names the row."""
    texts = [b"ok %d" % i for i in range(12)]
    texts[7] = b"caf\xe9"
    bad = pa.table({"text": _not_utf8(texts, "string")})
    with pytest.raises(epochplan.InputError) as info:
        epochplan.audit(pa.table({"text": ["a", "b"]}), eval={"val": bad}, batch_rows=5)
    message = str(info.value)
    assert message.startswith("eval split 'val' (Table): column 'text': row 7 is not valid UTF-8") and "batch" not in message
    # A split of several files: its file and the row there, as for train.
    folder = tmp_path / "val"
    folder.mkdir()
    pq.write_table(pa.table({"text": [f"good {i}" for i in range(10)]}), folder / "a.parquet")
    pq.write_table(bad, folder / "b.parquet")
    train = tmp_path / "train.parquet"
    pq.write_table(pa.table({"text": ["a", "b"]}), train)
    proc = run_cli("audit", str(train), "--eval", str(folder), "-q", env={"EPOCHPLAN_BATCH_ROWS": "4"})
    assert_clean_error(proc, "b.parquet: column 'text': row 7 is not valid UTF-8")


@pytest.fixture(scope="module")
def hub(tmp_path_factory, frame) -> dict:
    """A Hugging Face Hub snapshot's layout: `data/train-0000N-of-00002.parquet` (2,000 rows) and
    `data/test-00000-of-00001.parquet` (rows 1,990-2,099: ten of them train's last ten)."""
    root = tmp_path_factory.mktemp("hub") / "hub"
    (root / "data").mkdir(parents=True)
    frame.slice(0, 1000).write_parquet(root / "data" / "train-00000-of-00002.parquet")
    frame.slice(1000, 1000).write_parquet(root / "data" / "train-00001-of-00002.parquet")
    frame.slice(1990, 110).write_parquet(root / "data" / "test-00000-of-00001.parquet")
    return {"root": root, "data": root / "data", "test": root / "data" / "test-00000-of-00001.parquet"}


def test_an_eval_file_that_is_also_a_train_file_is_refused(hub, tmp_path, frame):
    """Every row of an eval split read as train too counted as leaked (110 of 110, where 10
    are): the folder given as train held the test shard, or `--eval` was the train file itself.
    A different file with the same rows is leakage, and counted."""
    data, test = hub["data"], hub["test"]
    train_pattern, test_pattern = f"{data}/train-*.parquet", f"{data}/test-*.parquet"
    proc = run_cli("audit", str(data), "--text", "prompt", "--eval", str(test), "--json", str(tmp_path / "a.json"))
    assert_clean_error(proc, f"eval split 'test-00000-of-00001': {test} is also a train file", f"'{train_pattern}' --eval '{test_pattern}'")
    assert not (tmp_path / "a.json").exists()
    out = tmp_path / "clean.parquet"
    assert_clean_error(run_cli("dedup", str(data), "--text", "prompt", "--eval", str(test), "-o", str(out)), "is also a train file")
    assert not out.exists()
    link = tmp_path / "link.parquet"
    link.symlink_to(test)
    assert_clean_error(run_cli("audit", test_pattern, "--text", "prompt", "--eval", str(link)), f"{link} is also a train file (as {test})")
    assert_clean_error(run_cli("check", str(test), "--text", "prompt", "--eval", str(test)), "is also a train file")
    with pytest.raises(epochplan.InputError, match="is also a train file"):
        epochplan.audit(str(data), text="prompt", eval={"test": str(test)})
    same = str(test)  # the very same str object: a path, compared by its file, refused as one
    with pytest.raises(epochplan.InputError, match="is also a train file"):
        epochplan.audit(same, text="prompt", eval={"x": same})
    # The suggested patterns: train's 2,000 rows, the split named after its pattern.
    got = audit_json(train_pattern, "--text", "prompt", "--eval", test_pattern)
    expected = epochplan.audit(frame.head(2000), text="prompt", eval={"test": frame.slice(1990, 110)}).leakage["test"]
    assert got["rows"] == 2000 and list(got["leakage"]) == ["test-*"]
    assert got["leakage"]["test-*"]["exact_in_train"] == expected.exact_in_train < 110
    # In the working folder: patterns without a leading '/'; one train file: no hint of folders.
    proc = run_cli("audit", "*.parquet", "--text", "prompt", "--eval", test.name, cwd=data)
    assert_clean_error(proc, "e.g. 'train-*.parquet' --eval 'test-*.parquet'")
    proc = run_cli("audit", test.name, "--text", "prompt", "--eval", test.name, cwd=data)
    assert_clean_error(proc, "is also a train file")
    assert "folder" not in proc.stderr
    # A copy of the test file is another file: all its rows are in train, and reported so.
    copy = tmp_path / "test-copy.parquet"
    copy.write_bytes(test.read_bytes())
    assert audit_json(str(data), "--text", "prompt", "--eval", str(copy))["leakage"]["test-copy"]["exact_in_train"] == 110


def test_a_folder_of_split_shards_is_named_as_splits(hub, tmp_path, frame):
    """`hub/` keeps its splits in `data/`: the hint suggested `hub/data` or `'hub/**/*.parquet'`,
    each reading the test shard as train. It names them as splits, train apart from --eval."""
    root, data = hub["root"], hub["data"]
    proc = run_cli("audit", str(root), "--text", "prompt")
    assert_clean_error(proc, "as separate splits (train, test)", f"e.g. '{data}/train-*.parquet' --eval '{data}/test-*.parquet'")
    assert "**" not in proc.stderr
    # Split folders (a `datasets` config's layout): the folders themselves.
    conv = tmp_path / "conv"
    for split, rows in (("train", frame.head(100)), ("test", frame.slice(100, 20))):
        (conv / "default" / split).mkdir(parents=True)
        rows.write_ndjson(conv / "default" / split / "data.jsonl")
    proc = run_cli("audit", str(conv), "--text", "prompt")
    assert_clean_error(proc, "as separate splits (train, test)", f"e.g. '{conv}/default/train' --eval '{conv}/default/test'")
    # Data files in a subfolder that are not splits: the pattern that reads them all, as before.
    other = tmp_path / "other" / "shards"
    other.mkdir(parents=True)
    frame.head(10).write_parquet(other / "part-0.parquet")
    assert_clean_error(run_cli("audit", str(other.parent), "--text", "prompt"), f"'{other.parent}/**/*.parquet'")
    # FineWeb's layout: dumps under `data/`, a sample of them under `sample/`. `**` read both
    # (the sample's rows twice); the hint names the subfolders and reads one.
    web = tmp_path / "web"
    for dump in ("data/CC-MAIN-2024-10", "data/CC-MAIN-2024-18", "sample/10BT"):
        (web / dump).mkdir(parents=True)
        frame.head(10).write_parquet(web / dump / "000_00000.parquet")
    proc = run_cli("audit", str(web), "--text", "prompt")
    assert_clean_error(proc, "under several subfolders (data, sample)", f"e.g. '{web}/data/**/*.parquet'")
    assert f"'{web}/**/*.parquet'" not in proc.stderr
    # Several folders under one subfolder: the pattern that reads them all, beneath it.
    only = tmp_path / "only"
    for dump in ("data/CC-MAIN-2024-10", "data/CC-MAIN-2024-18"):
        (only / dump).mkdir(parents=True)
        frame.head(10).write_parquet(only / dump / "000_00000.parquet")
    assert_clean_error(run_cli("audit", str(only), "--text", "prompt"), f"'{only}/data/**/*.parquet' reads them all")


def _split_warnings(*args: str) -> list[str]:
    return [w["message"] for w in audit_json(*args, "--text", "prompt", "--no-near")["warnings"] if w["id"] == "mixed-splits"]


def test_files_named_as_different_splits_read_as_one_input_are_a_warning(hub, tmp_path, frame):
    """`audit hub/data` (train and test shards of a Hub snapshot) with no --eval read them as one
    train input without a word: counts mixed the splits, and test rows also in train counted as
    duplicates. A `mixed-splits` warning names the splits and the arguments that keep them apart."""
    data = hub["data"]
    apart = f"e.g. '{data}/train-*.parquet' --eval '{data}/test-*.parquet'"
    for given in (str(data), f"{data}/*.parquet"):
        [message] = _split_warnings(given)
        assert "named as different splits (train, test)" in message and apart in message
    proc = run_cli("dedup", str(data), "--text", "prompt", "--level", "exact", "-o", str(tmp_path / "out.parquet"))
    assert proc.returncode == 0 and "warning: the input's files are named as different splits (train, test)" in proc.stderr
    proc = run_cli("check", str(data), "--text", "prompt", "--no-near")
    assert "note mixed-splits: " in proc.stdout
    # One split's shards, and the eval split given apart: no warning.
    assert _split_warnings(f"{data}/train-*.parquet") == []
    assert _split_warnings(f"{data}/train-*.parquet", "--eval", f"{data}/test-*.parquet") == []
    # Split folders (a `datasets` config's layout), and one file per split (GLUE's dev.tsv, valid.jsonl).
    for split, rows in (("train", frame.head(30)), ("test", frame.slice(30, 10)), ("validation", frame.slice(40, 10))):
        (tmp_path / "conv" / split).mkdir(parents=True)
        rows.write_ndjson(tmp_path / "conv" / split / "part-0.jsonl")
        (tmp_path / "files").mkdir(exist_ok=True)
        rows.write_ndjson(tmp_path / "files" / f"{'dev' if split == 'validation' else split}.jsonl")
    conv, files = tmp_path / "conv", tmp_path / "files"
    [message] = _split_warnings(f"{conv}/*/*.jsonl")
    assert "(train, test, validation)" in message and f"e.g. '{conv}/train' --eval '{conv}/test' --eval '{conv}/validation'" in message
    [message] = _split_warnings(str(files))
    assert (
        "(train, dev, test), " in message
        and f"e.g. '{files}/train.jsonl' --eval '{files}/dev.jsonl' --eval '{files}/test.jsonl'" in message
    )
    # Names that hold a split's name inside another word, beside one split: no warning.
    other = tmp_path / "other"
    other.mkdir()
    for name in ("contest", "latest", "attest", "train", "evaluation", "developer", "value"):
        frame.slice(0, 5).write_parquet(other / f"{name}.parquet")
    assert _split_warnings(str(other)) == []
    # A train file in a folder named as a split (beside a file named as none) is one split, and
    # `val` beside `validation` one split; every train file is in the arguments suggested.
    inside = tmp_path / "sp" / "test"
    inside.mkdir(parents=True)
    for name in ("train", "extra"):
        frame.slice(0, 5).write_ndjson(inside / f"{name}.jsonl")
    assert _split_warnings(str(inside)) == []
    same = tmp_path / "same"
    same.mkdir()
    for name in ("train", "train_extra", "val", "validation"):
        frame.slice(0, 5).write_parquet(same / f"{name}.parquet")
    [message] = _split_warnings(str(same))
    assert "(train, val), " in message, message
    assert f"e.g. '{same}/train.parquet' '{same}/train_*.parquet' --eval '{same}/val.parquet' --eval '{same}/validation.parquet'" in message
    # Split folders beside a file named as a split: each folder by its own files.
    mixed = tmp_path / "ms"
    for part in ("train/part-0", "train/part-1", "validation/part-0", "test"):
        (mixed / part).parent.mkdir(parents=True, exist_ok=True)
        frame.slice(0, 5).write_ndjson(mixed / f"{part}.jsonl")
    [message] = _split_warnings(f"{mixed}/**/*.jsonl")
    assert all(f"'{mixed}/{where}'" in message for where in ("train", "validation", "test.jsonl")), message
    # Configurations of one dataset (`en/`, `fr/`), each with its splits: the arguments suggested
    # run (two eval splits of one default name, `test-*`, are named apart by their folders).
    configs = tmp_path / "configs"
    for config in ("en", "fr"):
        (configs / config).mkdir(parents=True)
        for shard, rows in (("train-00000-of-00001", frame.slice(0, 20)), ("test-00000-of-00001", frame.slice(20, 5))):
            rows.write_parquet(configs / config / f"{shard}.parquet")
    [message] = _split_warnings(f"{configs}/**/*.parquet")
    suggested = shlex.split(message.split("e.g. ", 1)[1])
    assert f"test-en={configs}/en/test-*.parquet" in suggested, suggested
    report = audit_json(*suggested, "--text", "prompt", "--no-near")
    assert sorted(report["leakage"]) == ["test-en", "test-fr"] and not [w for w in report["warnings"] if w["id"] == "mixed-splits"]


def test_the_train_data_among_the_eval_splits_is_left_out(frame, tmp_path):
    """`eval=DatasetDict(train=tr, test=te)` took the DatasetDict's own train split as an eval
    split: dedup kept none of train's rows. That split (and one that is the train object) is
    left out with a warning; a dict the caller makes keeps a split named `train`."""
    table = frame.to_arrow()
    train, test = datasets.Dataset(table.slice(0, 100)), datasets.Dataset(table.slice(95, 25))
    splits = datasets.DatasetDict({"train": train, "test": test})
    expected = epochplan.dedup(train, text="prompt", eval={"test": test})
    with pytest.warns(UserWarning, match="eval split 'train' left out: it is the train data itself"):
        kept = epochplan.dedup(train, text="prompt", eval=splits)
    assert kept.equals(expected) and 0 < kept.height < 100
    with pytest.warns(UserWarning, match="eval split 'train' left out: it is the DatasetDict's train split"):
        result = epochplan.audit(train.select(range(50)), text="prompt", eval=splits, eval_text={"train": "prompt", "test": "prompt"})
    assert list(result.leakage) == ["test"] and [w.id for w in result.warnings][-1] == "eval-split-left-out"
    assert result.to_dict()["warnings"][-1]["id"] == "eval-split-left-out"
    with pytest.warns(UserWarning, match="it is the train data itself"):
        result = epochplan.audit(train, text="prompt", eval={"mine": train, "test": test})
    assert list(result.leakage) == ["test"]
    with pytest.warns(UserWarning, match="left out"):
        summary = dedup_to_file(train, tmp_path / "clean.parquet", text="prompt", eval=splits)
    assert list(summary.leaked_by_split) == ["test"] and summary.kept == expected.height
    assert summary.warnings[-1].startswith("eval split 'train' left out")
    # A dict made by the caller names its splits on purpose: its `train` is checked.
    result = epochplan.audit(train.select(range(50)), text="prompt", eval={"train": train, "test": test})
    assert result.leakage["train"].exact_in_train == 50 and "eval-split-left-out" not in [w.id for w in result.warnings]
    with pytest.warns(UserWarning, match="left out"):
        report = check(train, text="prompt", eval=splits)
    assert [c.id for c in report.checks if c.id.startswith("leakage-exact")] == ["leakage-exact:test"]
    for only_train in (train, [train], datasets.DatasetDict({"train": train}), {"x": train}):
        with pytest.raises(epochplan.InputError, match="the train data"):
            epochplan.audit(train, text="prompt", eval=only_train)


def test_a_file_beside_its_compressed_copy_is_warned(tmp_path):
    """`gzip -k` leaves `d.jsonl` beside `d.jsonl.gz`: a folder read took both and counted every
    row twice, as its own duplicate, with no word."""
    lines = "".join(json.dumps({"text": t}) + "\n" for t in ["x", "y", "x", "z"])
    twin = tmp_path / "twin"
    twin.mkdir()
    (twin / "d.jsonl").write_text(lines)
    (twin / "d.jsonl.gz").write_bytes(gzip.compress(lines.encode()))
    (twin / "e.jsonl.zst").write_bytes(zstandard.ZstdCompressor().compress(lines.encode()))  # another file's: no copy
    held = tmp_path / "held"
    held.mkdir()
    (held / "h.csv").write_text("text\nx\n")
    (held / "h.csv.zst").write_bytes(zstandard.ZstdCompressor().compress(b"text\nx\n"))
    result = audit_json(str(twin), "--no-near", "--eval", f"ev={held}")
    assert result["rows"] == 12
    copies = [w for w in result["warnings"] if w["id"] == "compressed-copy"]
    assert len(copies) == 2, result["warnings"]
    assert f"the input reads {twin}/d.jsonl and {twin}/d.jsonl.gz" in copies[0]["message"]
    assert "counted twice" in copies[0]["message"] and "dedup keeps one" in copies[0]["message"]
    assert copies[1]["message"].startswith(f"eval split 'ev' reads {held}/h.csv and {held}/h.csv.zst")
    assert "dedup" not in copies[1]["message"]
    alone = epochplan.audit([str(twin / "d.jsonl.gz"), str(twin / "e.jsonl.zst")], near=False)
    assert not [w for w in alone.warnings if w.id == "compressed-copy"]


def test_a_file_beside_its_compressed_copy_is_warned_in_any_case_of_its_suffixes(tmp_path):
    """Suffixes are read in any case (`D.JSONL.GZ` is gzip, JSON lines): the warning compares the
    names as the readers take them, so `d.JSONL` beside `d.jsonl.gz` is one data set twice too; two
    uncompressed files are no copy."""
    lines = "".join(json.dumps({"text": t}) + "\n" for t in ["x", "y", "x", "z"])
    for k, (plain, packed) in enumerate((("D.JSONL", "D.JSONL.GZ"), ("d.jsonl", "d.jsonl.GZ"), ("d.JSONL", "d.jsonl.gz"))):
        folder = tmp_path / str(k)
        folder.mkdir()
        (folder / plain).write_text(lines)
        (folder / packed).write_bytes(gzip.compress(lines.encode()))
        result = epochplan.audit(str(folder), near=False)
        assert result.rows == 8
        [copy] = [w.message for w in result.warnings if w.id == "compressed-copy"]
        assert copy.startswith(f"the input reads {folder}/{plain} and {folder}/{packed}, which differ only by a compression suffix")
    assert copy.split(": ")[0].endswith("and the case of their type suffix")  # d.JSONL, d.jsonl.gz
    (tmp_path / "u").mkdir()
    (tmp_path / "u" / "d.JSONL").write_text(lines)
    (tmp_path / "u" / "d.jsonl").write_text(lines)
    assert not [w for w in epochplan.audit(str(tmp_path / "u"), near=False).warnings if w.id == "compressed-copy"]


def test_an_eval_split_of_mixed_file_types_is_named(tmp_path):
    """The error named a file of each type and a pattern, but not that the files were an eval
    split's: the train input looked at fault."""
    pl.DataFrame({"text": ["a", "b", "c"]}).write_parquet(tmp_path / "train.parquet")
    (tmp_path / "ev").mkdir()
    pl.DataFrame({"text": ["a", "x"]}).write_parquet(tmp_path / "ev" / "a.parquet")
    (tmp_path / "ev" / "b.jsonl").write_text('{"text": "y"}\n')
    mixed = f"inputs mix file types: Parquet ({tmp_path}/ev/a.parquet), JSON lines ({tmp_path}/ev/b.jsonl)"
    proc = run_cli("audit", str(tmp_path / "train.parquet"), "--eval", f"test={tmp_path / 'ev'}")
    assert_clean_error(proc, f"eval split 'test': {mixed}")
    proc = run_cli("dedup", str(tmp_path / "train.parquet"), "--eval", str(tmp_path / "ev"), "-o", str(tmp_path / "out.parquet"))
    assert_clean_error(proc, f"eval split 'ev': {mixed}")
    with pytest.raises(epochplan.InputError, match=re.escape(f"eval split 'test': {mixed}")):
        epochplan.audit(str(tmp_path / "train.parquet"), eval={"test": str(tmp_path / "ev")})
    assert_clean_error(run_cli("audit", str(tmp_path / "ev")), f"error: {mixed}")  # the train input's: no split to name


def test_an_eval_split_is_named_once_in_any_error_opening_it(tmp_path):
    """A missing eval file was told as "missing.parquet: no such file or folder", as if train's,
    on the command line (which resolves the eval paths first, to guard its outputs) and in the
    API; an error that names the split already is not prefixed again."""
    train = tmp_path / "train.parquet"
    pl.DataFrame({"text": ["a b", "c d", "e f"]}).write_parquet(train)
    missing = str(tmp_path / "missing.parquet")
    said = f"eval split 'test': {missing}: no such file or folder"
    for command in (["audit"], ["check"], ["dedup", "-o", str(tmp_path / "o.parquet")], ["plan", "-o", str(tmp_path / "p.txt")]):
        proc = run_cli(*command, str(train), "--eval", f"test={missing}")
        assert_clean_error(proc, said)
    assert_clean_error(run_cli("audit", str(train), "--eval", missing), f"eval split 'missing': {missing}: no such")
    with pytest.raises(epochplan.InputError, match=re.escape(said)):
        epochplan.audit(str(train), eval={"test": missing})
    # Named already (the text column's error, mixed file types): once.
    pl.DataFrame({"body": ["x y"]}).write_parquet(tmp_path / "ev.parquet")
    (tmp_path / "ev.jsonl").write_text('{"text": "y"}\n')
    for eval, opening in (
        ({"ev": str(tmp_path / "ev.parquet")}, "eval split 'ev' ("),
        ({"ev": [str(tmp_path / "ev.parquet"), str(tmp_path / "ev.jsonl")]}, "eval split 'ev': inputs mix file types"),
    ):
        with pytest.raises(epochplan.InputError) as caught:
            epochplan.audit(str(train), eval=eval)
        assert str(caught.value).startswith(opening) and str(caught.value).count("eval split 'ev'") == 1, caught.value


def test_mixed_file_types_name_a_file_of_each_and_a_pattern(tmp_path):
    """A Hub snapshot's folder holds a licence and a stats file beside its Parquet: the error named
    no file, called the `.json` "ndjson", and suggested no way to read the data alone."""
    hub = tmp_path / "hub"
    hub.mkdir()
    pl.DataFrame({"text": ["a", "b"]}).write_parquet(hub / "a.parquet")
    pl.DataFrame({"text": ["c"]}).write_parquet(hub / "b.parquet")
    (hub / "LICENSE.txt").write_text("MIT\n")
    (hub / "stats.json").write_text("{}\n")
    proc = run_cli("audit", str(hub))
    assert_clean_error(proc, f"text ({hub}/LICENSE.txt)", f"Parquet ({hub}/a.parquet)", f"JSON ({hub}/stats.json)")
    assert proc.stderr.rstrip().endswith(f"audit one type at a time, e.g. '{hub}/*.parquet'") and "ndjson" not in proc.stderr
    # A tie of one file each suggests the data set's format, not the licence's.
    (hub / "b.parquet").unlink()
    with pytest.raises(epochplan.InputError, match=r"e\.g\. '.*/hub/\*\.parquet'$"):
        epochplan.audit(str(hub))
    # The type with the most files is suggested.
    for name in ("d.jsonl", "e.jsonl"):
        (tmp_path / name).write_text('{"text": "x"}\n')
    inputs = [str(tmp_path / "d.jsonl"), str(tmp_path / "e.jsonl"), str(hub / "a.parquet"), str(hub / "LICENSE.txt")]
    with pytest.raises(
        epochplan.InputError,
        match=rf"JSON lines \(.*/d\.jsonl\), Parquet \(.*/a\.parquet\).*e\.g\. '{re.escape(str(tmp_path))}/\*\.jsonl'$",
    ):
        epochplan.audit(inputs, near=False)
