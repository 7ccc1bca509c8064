"""`epochplan audit` as a user runs it: a subprocess, real files, exit codes, output files."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import polars as pl
import pytest

from conftest import REPO, assert_clean_error, audit_json, run_cli

SAMPLE = REPO / "examples" / "data" / "sample.parquet"


def cargo_version() -> str:
    for line in (REPO / "Cargo.toml").read_text().splitlines():
        if line.startswith("version"):
            return line.split('"')[1]
    raise AssertionError("no version in Cargo.toml")


def test_version_comes_from_cargo():
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"epochplan {cargo_version()}"


def test_summary_on_example_dataset():
    proc = run_cli("audit", str(SAMPLE), "--label", "label")
    assert proc.returncode == 0, proc.stderr
    assert "unique samples: 300 (exact)" in proc.stdout
    assert "labels" in proc.stdout


def test_terminal_token_total_is_the_sum_the_unique_count_is_part_of(tmp_path):
    """1,000 distinct short texts: the terminal showed "tokens 972" (total bytes / 4) beside
    "unique tokens 1,000" (each text's bytes / 4 rounded up): more unique tokens than tokens."""
    data = tmp_path / "short.jsonl"
    data.write_text("".join(json.dumps({"text": f"w{i}"}) + "\n" for i in range(1000)))
    proc = run_cli("audit", str(data), "--no-near", env={"COLUMNS": "150"})
    assert proc.returncode == 0, proc.stderr
    counts = {}
    for line in proc.stdout.splitlines():
        for name in ("tokens (estimate, bytes/4)", "unique tokens (estimate, bytes/4)"):
            if line.strip().startswith(name):
                counts[name] = int(line.strip()[len(name) :].split()[0].replace(",", ""))
    assert counts == {"tokens (estimate, bytes/4)": 1000, "unique tokens (estimate, bytes/4)": 1000}


def test_json_file_and_clusters_parquet(tmp_path):
    out, clusters = tmp_path / "audit.json", tmp_path / "clusters.parquet"
    proc = run_cli("audit", str(SAMPLE), "--json", str(out), "--clusters", str(clusters), "-q")
    assert proc.returncode == 0, proc.stderr
    text = out.read_text()
    data = json.loads(text)
    assert text == json.dumps(data, sort_keys=True, indent=2, ensure_ascii=False) + "\n"  # sorted keys
    assert data["exact"]["duplicate_rows"] == 100
    frame = pl.read_parquet(clusters)
    today = {"row": pl.UInt64, "exact_id": pl.UInt64, "near_id": pl.UInt64, "keep": pl.Boolean}
    assert {name: frame.schema[name] for name in today} == today  # a superset: issue 12 adds `similarity`
    assert frame.schema["similarity"] == pl.Float32
    assert frame.schema["exact_size"] == frame.schema["near_size"] == pl.UInt64  # issue 15 adds the cluster sizes
    assert frame.height == 400
    # Each row's cluster size, counted here independently: 1/k weights sum to one per cluster.
    for level in ("exact", "near"):
        counts = frame.group_by(f"{level}_id").len()
        expected = frame.join(counts, on=f"{level}_id").sort("row")["len"].cast(pl.UInt64)
        assert frame[f"{level}_size"].to_list() == expected.to_list()
        assert (1 / frame[f"{level}_size"]).sum() == pytest.approx(frame[f"{level}_id"].n_unique())
    assert frame["exact_size"].max() > 1
    assert frame["exact_id"].n_unique() == 300
    assert frame["keep"].sum() == data["near"]["unique"]  # keep marks near representatives
    assert sorted(os.listdir(tmp_path)) == ["audit.json", "clusters.parquet"]  # no temp files left


def test_json_is_deterministic_across_thread_counts(tmp_path, shared_data):
    path = str(shared_data / "chatterbot_english.parquet")
    one = run_cli("audit", path, "--json", "-", env={"RAYON_NUM_THREADS": "1"})
    two = run_cli("audit", path, "--json", "-", env={"RAYON_NUM_THREADS": "2"})
    assert one.returncode == two.returncode == 0
    assert one.stdout == two.stdout


def test_folder_glob_jsonl_csv_and_row_order(tmp_path):
    frame = pl.read_parquet(SAMPLE)
    (tmp_path / "shards").mkdir()
    frame[:150].write_parquet(tmp_path / "shards" / "part-0.parquet")
    frame[150:].write_parquet(tmp_path / "shards" / "part-1.parquet")
    frame.write_ndjson(tmp_path / "sample.jsonl")
    frame.write_csv(tmp_path / "sample.csv")
    whole = audit_json(str(SAMPLE), "--text", "prompt")
    for args in (
        [str(tmp_path / "shards")],
        [str(tmp_path / "shards" / "*.parquet")],
        [str(tmp_path / "sample.jsonl")],
        [str(tmp_path / "sample.csv")],
    ):
        got = audit_json(*args, "--text", "prompt")
        assert got["exact"] == whole["exact"], args  # same rows, same representatives, same order
        assert got["lengths"] == whole["lengths"]
    assert audit_json(str(tmp_path / "shards"))["source"]["paths"] == [
        str(tmp_path / "shards" / "part-0.parquet"),
        str(tmp_path / "shards" / "part-1.parquet"),
    ]


@pytest.mark.parametrize(
    "make_args, fragments",
    [
        (lambda d: [str(d / "missing.parquet")], ["missing.parquet", "no such file"]),
        (lambda d: [str(d / "nothing-*.parquet")], ["matches no file"]),
        (lambda d: [str(d / "bad.parquet")], ["bad.parquet", "not a Parquet file"]),
        (lambda d: [str(d / "truncated.parquet")], ["truncated.parquet", "cannot read"]),
        (lambda d: [str(d / "notes.docx")], ["unsupported file type"]),
        (lambda d: [str(SAMPLE), "--text", "nope"], ["no column 'nope'", "prompt, response, label"]),
        (lambda d: [str(d / "numbers.parquet"), "--text", "n"], ["'n'", "not text"]),
        (lambda d: [str(d / "numbers.parquet")], ["no string column"]),
        (lambda d: [str(d / "nested.jsonl")], ["several string columns (meta.text, meta.title)", "--text"]),
        (lambda d: [str(d / "nested.jsonl"), "--text", "meta.body"], ["no column 'meta.body'", "--text meta.text"]),
        (lambda d: [str(d / "bytes.parquet")], ["no string column", "column body holds bytes", "cast"]),
        (lambda d: [str(d / "empty.parquet")], ["no rows"]),
        (lambda d: [str(SAMPLE), "--label", "nope"], ["no label column 'nope'"]),
        (lambda d: [str(SAMPLE), "--json", str(d / "no-such-dir" / "a.json")], ["--json", "does not exist"]),
        (lambda d: [str(SAMPLE), "--json", str(d / "bad.parquet" / "a.json")], ["--json", "bad.parquet is a file, not a folder"]),
        (lambda d: [str(SAMPLE), "--clusters", str(d)], ["--clusters", "is a directory"]),
        (lambda d: [str(SAMPLE), "--clusters", str(SAMPLE)], ["is one of the input files"]),
        (lambda d: [str(SAMPLE), "--normalize", "nfc"], ["nfc"]),
    ],
    ids=[
        "missing",
        "empty-glob",
        "not-parquet",
        "truncated",
        "unsupported",
        "unknown-column",
        "non-string",
        "no-string-column",
        "text-in-a-struct",
        "struct-field-missing",
        "bytes-column",
        "zero-rows",
        "unknown-label",
        "json-dir-missing",
        "json-dir-is-a-file",
        "clusters-is-dir",
        "overwrite-input",
        "bad-normalize",
    ],
)
def test_input_errors_exit_2_with_one_line(tmp_path, make_args, fragments):
    (tmp_path / "bad.parquet").write_text("this is not parquet")
    data = SAMPLE.read_bytes()
    (tmp_path / "truncated.parquet").write_bytes(data[: len(data) // 2])
    (tmp_path / "notes.docx").write_text("hello")
    pl.DataFrame({"n": [1, 2, 3]}).write_parquet(tmp_path / "numbers.parquet")
    (tmp_path / "nested.jsonl").write_text('{"meta": {"text": "hello", "title": "a"}}\n{"meta": {"text": "hi", "title": "b"}}\n')
    pl.DataFrame({"body": [b"hello", b"hi"], "n": [1, 2]}).write_parquet(tmp_path / "bytes.parquet")
    pl.DataFrame({"text": []}, schema={"text": pl.String}).write_parquet(tmp_path / "empty.parquet")
    before = sorted(os.listdir(tmp_path))
    sample_bytes = SAMPLE.read_bytes()
    args = make_args(tmp_path)
    if "--json" not in args:
        args += ["--json", str(tmp_path / "out.json")]
    assert_clean_error(run_cli("audit", *args), *fragments)
    assert sorted(os.listdir(tmp_path)) == before  # no output, no temp file left behind
    assert SAMPLE.read_bytes() == sample_bytes


def test_a_binary_text_column_is_refused_not_passed_over(tmp_path):
    """A `text` column stored as bytes (no UTF-8 annotation: The Pile and some crawl dumps ship it
    so) was no text candidate: the audit chose `meta.pile_set_name`, `id` or `url` instead, and
    `dedup` kept one row of four. Every command, every format and the Python API refuse it, with
    the cast that fixes it."""
    import pyarrow as pa
    import pyarrow.feather as feather
    import pyarrow.parquet as pq

    import epochplan

    pages = [b"page one text about cats", b"page two text about dogs", b"page three text", b"page four"]
    tables = {
        "pile_binary.parquet": pa.table({"text": pa.array(pages, pa.binary()), "meta": pa.array([{"pile_set_name": "Pile-CC"}] * 4)}),
        "id_binary.parquet": pa.table({"id": ["1", "2", "3", "4"], "text": pa.array(pages, pa.binary())}),
        "url_lbinary.parquet": pa.table({"text": pa.array(pages, pa.large_binary()), "url": list("abcd")}),
        "content_binary.arrow": pa.table({"content": pa.array(pages, pa.large_binary()), "url": list("abcd")}),
    }
    for name, table in tables.items():
        path = tmp_path / name
        if name.endswith(".parquet"):
            pq.write_table(table, path)
        else:
            feather.write_feather(table, path)
        column = "content" if "content" in table.column_names else "text"
        for args in (["audit", str(path)], ["check", str(path)], ["dedup", str(path), "-o", str(tmp_path / f"out-{name}")]):
            assert_clean_error(run_cli(*args), f"column {column!r} holds bytes", "cast(pl.String)", "cast(pa.string())")
        assert not (tmp_path / f"out-{name}").exists()
    # Named with --text: the same cast is named.
    assert_clean_error(run_cli("audit", str(tmp_path / "id_binary.parquet"), "--text", "text"), "is Binary", "cast(pl.String)")
    # Cast as the message says, the pages are audited.
    table = pq.read_table(tmp_path / "id_binary.parquet")
    table = table.set_column(table.schema.get_field_index("text"), "text", table["text"].cast(pa.string()))
    pq.write_table(table, tmp_path / "cast.parquet")
    assert audit_json(str(tmp_path / "cast.parquet"))["exact"]["unique"] == 4
    # The Python API: a pyarrow table and a polars frame with a Binary column.
    for data in (tables["id_binary.parquet"], pl.DataFrame({"text": pages, "id": ["1", "2", "3", "4"]})):
        for call in (epochplan.audit, epochplan.dedup):
            with pytest.raises(epochplan.InputError, match="column 'text' holds bytes"):
                call(data)
    # Several string columns beside a binary one: the error names it too.
    pq.write_table(pa.table({"a": list("abcd"), "b": list("wxyz"), "blob": pa.array(pages, pa.binary())}), tmp_path / "several.parquet")
    assert_clean_error(run_cli("audit", str(tmp_path / "several.parquet")), "several string columns (a, b)", "'blob' holds bytes")
    # Images under a text column's name (`content` of PNG bytes) are media, not text to cast: the
    # caption or chat beside them is audited, as before, with the media-column warning.
    png = [b"\x89PNG\r\n\x1a\n" + bytes([i]) for i in range(4)]
    captions = pl.DataFrame({"content": png, "caption": ["a cat on a mat", "a dog", "a dog", "a red car"]})
    captions.write_parquet(tmp_path / "captions.parquet")
    report = audit_json(str(tmp_path / "captions.parquet"))
    assert report["source"]["text_columns"] == ["caption"] and [w["id"] for w in report["warnings"]] == ["media-column"]


def test_ctrl_c_exits_130_without_output(tmp_path):
    # 400 batches: the interrupt lands while batches are still streaming. Readiness is the first
    # progress line on stderr (one a batch with EPOCHPLAN_PROGRESS_SECONDS=0), not a sleep.
    n = 400_000
    pl.select(pl.format("row {} of a long enough text to take some time to hash", pl.int_range(n)).alias("text")).write_parquet(
        tmp_path / "big.parquet"
    )
    out = tmp_path / "audit.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "epochplan", "audit", str(tmp_path / "big.parquet"), "--json", str(out), "-q"],
        env={**os.environ, "EPOCHPLAN_BATCH_ROWS": "1000", "EPOCHPLAN_PROGRESS_SECONDS": "0", "RAYON_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        # A shell running us in the background ignores SIGINT, and children inherit that;
        # restore the default so the child behaves as in a user's terminal.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stderr is not None
    seen = []
    while not any("rows" in line for line in seen):
        line = proc.stderr.readline()
        assert line, f"the audit ended before its first progress line: {''.join(seen)}"
        seen.append(line)
    proc.send_signal(signal.SIGINT)
    try:
        stderr = proc.communicate(timeout=120)[1]  # a bound against a hang, not a timing check
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert sorted(os.listdir(tmp_path)) == ["big.parquet"]


def test_an_ignored_sigint_stays_ignored_and_every_row_is_read(tmp_path):
    """A job started with `&` from a script inherits SIGINT ignored. Importing polars put its own
    handler there, and a SIGINT then made polars end its JSON-lines scan early: the audit counted
    50,000 of 600,000 rows (or found "no rows") and exited 0. Every run here is sent a SIGINT
    every 20 ms while it reads."""
    data = tmp_path / "rows.jsonl"
    data.write_text("".join(json.dumps({"text": f"row {i} of the data"}) + "\n" for i in range(600_000)))
    for trial in range(2):
        out = tmp_path / f"a{trial}.json"
        proc = subprocess.Popen(
            [sys.executable, "-m", "epochplan", "audit", str(data), "--no-near", "-q", "--json", str(out)],
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
            stderr=subprocess.PIPE,
            text=True,
        )
        while proc.poll() is None:
            time.sleep(0.02)
            try:
                proc.send_signal(signal.SIGINT)
            except ProcessLookupError:
                break
        assert proc.wait() == 0, proc.stderr.read()
        assert json.loads(out.read_text())["rows"] == 600_000


def test_near_examples_off_a_terminal_are_a_readable_width(shared_data):
    """In a log or a pipe the side-by-side near clusters were 10,000 columns wide (two halves
    padded with spaces to the uncut width); they wrap at 160 columns, every word kept."""
    proc = run_cli("audit", str(shared_data / "gpteacher_toolformer_similarity-0.6.parquet"), "--text", "prompt")
    assert proc.returncode == 0, proc.stderr
    rows = [line for line in proc.stdout.splitlines() if line.startswith(("┃", "│ toolformer"))]
    assert rows and max(len(line) for line in rows) <= 160
    assert "Tell me what happened during the Apollo" in proc.stdout


@pytest.mark.parametrize("command", ["audit", "plan"])
def test_a_setup_wrong_whatever_the_data_fails_before_the_data_is_read(tmp_path, command):
    # `--packing` without `--seq-len` was raised after the whole audit, and its outputs were lost.
    # A file that is no Parquet shows the order: the setup's error comes first, the data is not read.
    (tmp_path / "broken.parquet").write_bytes(b"not a parquet file at all")
    outputs = ["--json", "out.json", "-q"] if command == "audit" else ["-o", "out.json"]
    assert_clean_error(run_cli(command, "broken.parquet", "--packing", *outputs, cwd=tmp_path), "--packing needs --seq-len")
    if command == "plan":  # data and --samples contradict each other, whatever the file holds
        assert_clean_error(run_cli("plan", "broken.parquet", "--samples", "5", cwd=tmp_path), "give one source of counts")
    assert not (tmp_path / "out.json").exists()
    assert "broken.parquet" in run_cli(command, "broken.parquet", *outputs, cwd=tmp_path).stderr  # the file is bad indeed


def test_only_what_the_data_cannot_fill_skips_the_plan(monkeypatch):
    """`audit` turned every input error of the planner into `plan_skipped` and exit 0: an audit
    whose counts do not add up (a bug in epochplan) would have passed as "no plan". Only the
    planner's `DataCannotFill` (this data, this setup) does now; anything else stops the command."""
    import dataclasses
    import importlib

    import epochplan
    from epochplan.errors import InputError
    from epochplan.planning import Setup

    cli_audit = importlib.import_module("epochplan.cli.audit")
    result = epochplan.audit(str(SAMPLE))
    _, skipped = cli_audit._plan_or_why_not(result, Setup(gpus=10**6))
    assert skipped is not None and skipped.startswith("--gpus 1000000 is more than the 298 samples per epoch")
    # The same audit with exact counts that cannot be (more unique rows than rows).
    broken = dataclasses.replace(result, exact=dataclasses.replace(result.exact, unique=result.rows * 2))
    with pytest.raises(InputError, match="counts do not add up"):
        cli_audit._plan_or_why_not(broken, Setup())

    def planner_bug(*args, **kwargs):
        raise InputError("a planner bug")

    monkeypatch.setattr(cli_audit, "plan", planner_bug)
    with pytest.raises(InputError, match="a planner bug"):
        cli_audit._plan_or_why_not(result, Setup())


@pytest.mark.parametrize(
    "setup, reason",
    [
        (["--gpus", "5000"], "--gpus 5000 is more than the 1,893 samples per epoch"),
        (["--drop-last", "--batch", "4096"], "--drop-last with 1,893 samples per epoch and a global batch of 4,096 leaves 0 steps"),
    ],
)
def test_a_setup_this_data_cannot_fill_keeps_the_audit_and_says_why(tmp_path, shared_data, setup, reason):
    # Raised after the audit: exit 2 and none of --json/--clusters/--html written. Now the audit
    # is written with no plan and the reason, as for an all-null text column, and exits 0.
    data = str(shared_data / "chatterbot_english.parquet")
    outputs = ["--json", "a.json", "--clusters", "c.parquet", "--html", "r.html"]
    proc = run_cli("audit", data, *setup, *outputs, "-q", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"no plan: {reason}" in proc.stderr  # -q: the reason on stderr with the warnings
    audit = json.loads((tmp_path / "a.json").read_text())
    assert audit["plan"] is None and audit["plan_skipped"].startswith(reason) and audit["near"]["unique"] == 1893
    assert (tmp_path / "c.parquet").stat().st_size > 0 and f"No plan: {reason}" in (tmp_path / "r.html").read_text()
    shown = run_cli("audit", data, *setup, cwd=tmp_path)
    assert shown.returncode == 0 and f"no plan: {reason}" in shown.stdout
    # Planning that audit is still an error, with the same reason.
    assert_clean_error(run_cli("plan", "--audit", "a.json", *setup, cwd=tmp_path), reason)


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_reports_on_stdout_are_utf8_whatever_the_locale(tmp_path, encoding):
    """`--json -` / `--markdown -` on a stdout whose encoding is ASCII or Latin-1 (a C locale, a
    PYTHONIOENCODING) wrote `ü` as the six characters `\\xfc` and 😀 as `\\U0001f600`: invalid
    JSON, exit 0. The documents are UTF-8, as the same output in a file is."""
    data = tmp_path / "uni.parquet"
    texts = ["Grüße aus München 😀", "naïve café ☕ déjà vu", "Grüße aus München 😀"]
    pl.DataFrame({"text": texts}).write_parquet(data)
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    for option in ("--json", "--markdown"):
        proc = subprocess.run([sys.executable, "-m", "epochplan", "audit", str(data), option, "-", "-q"], capture_output=True, env=env)
        assert proc.returncode == 0, proc.stderr
        out = proc.stdout.decode("utf-8")  # fails on anything but UTF-8
        assert "\\x" not in out and "\\U" not in out and "\\u" not in out
        if option == "--json":
            shown = json.dumps(json.loads(out), ensure_ascii=False)
            assert "Grüße aus München 😀" in shown


def test_batch_rows_from_the_environment_are_read_as_every_count_is(tmp_path, shared_data):
    """EPOCHPLAN_BATCH_ROWS went through int(): `2k`, `2,000` and `2e3` were refused while
    `1_0_0` (Python's int) was 100. Now the one rule for counts (numbers.py) reads it."""
    data = shared_data / "chatterbot_english.parquet"
    reference = run_cli("audit", str(data), "--json", "-", "-q")
    assert reference.returncode == 0, reference.stderr
    for spelled in ("2k", "2,000", "2e3"):
        proc = run_cli("audit", str(data), "--json", "-", "-q", env={"EPOCHPLAN_BATCH_ROWS": spelled})
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout)["exact"] == json.loads(reference.stdout)["exact"]
    assert_clean_error(
        run_cli("audit", str(data), "-q", env={"EPOCHPLAN_BATCH_ROWS": "1_0_0"}), "EPOCHPLAN_BATCH_ROWS=1_0_0: a comma or underscore"
    )
