"""The Python API's messages for arguments it does not take: each names the argument, the
function called and what to pass instead, before any data is read."""

from __future__ import annotations

import json

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


def test_api_errors_name_the_keyword_arguments_not_the_command_line_flags(tmp_path):
    """`audit(df, text=...)` was told "choose one or more with --text", `plan(batch=0)` "--batch
    (per-device batch size)": flags the caller of a Python function never wrote."""
    two = pl.DataFrame({"question": ["a b", "c d"], "answer": ["e f", "g h"]})
    data = str(tmp_path / "in.parquet")
    FRAME.write_parquet(data)
    calls = {
        "choose one or more with text=...": lambda: epochplan.audit(two),
        "label=... takes another column than text=...": lambda: epochplan.dedup(FRAME, text="text", label="text"),
        "(give the eval split's column with eval_text='question')": lambda: epochplan.dedup(FRAME, eval={"v": two.select("question")}),
        "eval_text={'v': 'question'})": lambda: epochplan.audit(FRAME, eval={"v": two.select("question"), "w": FRAME.clone()}),
        "batch (per-device batch size): must be at least 1, got 0": lambda: epochplan.plan(samples=100, batch=0),
        "regime='pre': unknown regime": lambda: epochplan.plan(samples=100, regime="pre"),
        "epochs=2,5: use a dot": lambda: epochplan.plan(samples=100, epochs="2,5"),
        "packing=True needs seq_len=... to count": lambda: epochplan.plan(samples=100, tokens=10**4, packing=True),
        "gpus=8 is more than the 3 samples": lambda: epochplan.plan(samples=3, gpus=8),
        "lower batch=.../grad_accum=.../gpus=... or drop_last=False": lambda: epochplan.plan(samples=3, batch=8, drop_last=True),
        "give an audit (an AuditResult, its dict or JSON file, or data to audit), samples=... or tokens=...": lambda: epochplan.plan(),
        "seq_len: must be at least 1, got 0": lambda: epochplan.Setup(seq_len=0),
        "out='kept.xyz': unsupported output type .xyz": lambda: dedup_to_file(FRAME, "kept.xyz"),
        "nothing to plan (check the audit's text= column)": lambda: epochplan.plan(
            epochplan.audit(pl.DataFrame({"text": [None]}, schema={"text": pl.String}))
        ),
        "ray_address='nowhere': give HOST:PORT": lambda: dedup_to_file(data, tmp_path / "o.parquet", engine="ray", ray_address="nowhere"),
    }
    for said, call in calls.items():
        with pytest.raises(epochplan.InputError) as caught:
            call()
        assert said in str(caught.value) and "--" not in str(caught.value), str(caught.value)


def test_the_command_line_keeps_its_flags(tmp_path):
    """The command line calls the same functions: its messages still name its flags."""
    from conftest import assert_clean_error, run_cli

    pl.DataFrame({"question": ["a b"], "answer": ["e f"]}).write_parquet(tmp_path / "two.parquet")
    assert_clean_error(run_cli("audit", str(tmp_path / "two.parquet")), "choose one or more with --text")
    assert_clean_error(run_cli("plan", "--samples", "100", "--batch", "0"), "--batch (per-device batch size): must be at least 1")
    assert_clean_error(run_cli("plan", "--samples", "100", "--tokens", "10000", "--packing"), "--packing needs --seq-len to count")
    assert_clean_error(run_cli("dedup", str(tmp_path / "two.parquet"), "--text", "question", "-o", "kept.xyz"), "-o kept.xyz: unsupported")


def test_the_api_words_leave_the_data_alone(tmp_path):
    """The API's rewording of `--flag` touched the user's data: a path (`/tmp/--near/x.jsonl` read
    "/tmp/near=True/x.jsonl"), column names (`--label` read "label=..."), a quoted name; and
    garbled values: `--text meta.body` read "text=... meta.body", "--threshold 0.8." "threshold=...
    0.8.", the eval split's placeholder "eval_text=... val=COL"."""
    from epochplan.auditing.run import audit
    from epochplan.errors import in_keywords, switches

    folder = tmp_path / "--near"
    folder.mkdir()
    with pytest.raises(epochplan.InputError) as caught:
        epochplan.audit(str(folder / "missing.jsonl"))
    assert f"{folder / 'missing.jsonl'}: no such file" in str(caught.value)
    flags = pl.DataFrame({"--label": ["a", "b"], "--text": ["x", "y"], "body": ["p", "q"]})
    with pytest.raises(epochplan.InputError, match=r"columns are: '--label', '--text', body$"):
        epochplan.audit(flags, text="nope")
    with pytest.raises(epochplan.InputError, match=r"\(give the eval split's column with eval_text=\{'val': COL\}\)$"):
        epochplan.audit(FRAME, eval={"val": pl.DataFrame({"q": [1]}), "test": pl.DataFrame({"q": [2]})})
    struct = pl.DataFrame({"meta": [{"body": "x"}]})
    with pytest.raises(epochplan.InputError) as caught:
        epochplan.audit(FRAME, eval={"val": struct})
    assert "name one with eval_text='meta.body'" in str(caught.value) and "with text=" not in str(caught.value), str(caught.value)
    said = {
        "--text meta.body": "text='meta.body'",
        "use --threshold 0.8.": "use threshold=0.8.",
        "--eval val=x.jsonl": "eval={'val': 'x.jsonl'}",
        "--eval NAME=PATH": "eval={NAME: PATH}",
        "/data/--text.jsonl: no such file": "/data/--text.jsonl: no such file",
        r"C:\--text\in.jsonl: no such file": r"C:\--text\in.jsonl: no such file",
        "no column '--text'; use --text COL": "no column '--text'; use text=COL",
        "the user's --text x, 'a --near b'": "the user's text=... x, 'a --near b'",
    }
    keywords = switches(audit)
    assert {m: in_keywords(m, keywords) for m in said} == said


def test_a_type_or_kind_name_takes_the_article_it_is_said_with():
    """Messages put "a" before a type's name whatever it was: "a int", "a InMemoryDataset"."""
    from epochplan.errors import with_article

    said = (
        "an int, an object, an Int64, an OrderedDict, an array, an ndarray, an islice, an enumerate, an InMemoryDataset, "
        "an HTTPError, an IOBase, an h5py File, an arro3 Table, an xarray Dataset, an n_tokens, an ntokens, an ONNX, an "
        "Unknown, an unsigned, an 8-bit, an X, a list, a UInt64, a uint8, a utf8, a Utf8, a unicode, a one_hot, a url, a "
        "UUID, a JSONDecoder, a polars DataFrame, a FileSystemDataset, a UnionDataset, a Scanner, a generator, a str, a "
        "float, a num_tokens, a token_count, a LlamaTokenizer, a NoneType, a Series, a 1"
    ).split(", ")
    assert [with_article(phrase.split(" ", 1)[1]) for phrase in said] == said


def _never_read(self, requested_schema=None):
    raise AssertionError("never read")


#: Stands for an arro3 table (a library whose name starts with a vowel): an Arrow stream.
_Arro3Table = type("Table", (), {"__module__": "arro3.core", "__arrow_c_stream__": _never_read})


@pytest.mark.parametrize(
    ("call", "said"),
    [
        (lambda: epochplan.audit([_Arro3Table()]), "cannot read a list holding an arro3 Table as an input"),
        (lambda: epochplan.audit(5), "cannot audit an int: pass a path"),
        (lambda: epochplan.audit(object()), "cannot audit an object: pass a path"),
        (lambda: epochplan.audit(ds.dataset(FRAME.to_arrow())), "cannot audit an InMemoryDataset (pyarrow.dataset) as it is"),
        (lambda: epochplan.audit(iter(enumerate(["a b c"])), verify="exact"), "but an enumerate can be read only once"),
        (lambda: epochplan.audit(FRAME, tokenizer=5), "tokenizer=an int: give the path"),
        (lambda: epochplan.audit(_Arro3Table(), engine="ray"), "engine='ray' reads files or URLs; an arro3 Table is in this"),
        (lambda: epochplan.planning.counts_from_audit(5), "cannot plan from an int; pass an audit result"),
    ],
    ids=["list-holding", "audit-int", "audit-object", "pyarrow-dataset", "read-once", "tokenizer", "ray", "plan"],
)
def test_a_message_naming_a_type_says_an_before_a_vowel(call, said):
    """Each said "a int", "a InMemoryDataset", "a arro3 Table", "a enumerate"."""
    import epochplan.planning  # noqa: F401  (counts_from_audit)

    with pytest.raises(epochplan.InputError) as caught:
        call()
    assert said in str(caught.value), str(caught.value)


def test_the_cluster_sampler_says_an_before_a_vowel():
    """ClusterSampler(5) said "cannot read cluster ids from a int", `load_state_dict(5)` "got a int"."""
    pytest.importorskip("torch")
    from epochplan.torch import ClusterSampler

    with pytest.raises(epochplan.InputError, match=r"^ClusterSampler: cannot read cluster ids from an int \("):
        ClusterSampler(5)
    sampler = ClusterSampler(epochplan.audit(FRAME))
    with pytest.raises(epochplan.InputError, match=r"^ClusterSampler\.load_state_dict: got an int, not a dict;"):
        sampler.load_state_dict(5)


def test_the_plan_names_an_unread_token_count_column_with_its_article(tmp_path):
    """The plan's rationale said "the input has a n_tokens column" (FineWeb-style counts)."""
    from conftest import run_cli

    data = tmp_path / "in.parquet"
    pl.DataFrame({"text": [f"document number {i} with its words" for i in range(20)], "n_tokens": list(range(20))}).write_parquet(data)
    audit = tmp_path / "audit.json"
    assert run_cli("audit", str(data), "-q", "--json", str(audit)).returncode == 0
    proc = run_cli("plan", "--audit", str(audit), "--batch", "4", "--epochs", "1")
    assert proc.returncode == 0, proc.stderr
    assert "(an estimate; the input has an n_tokens column, which epochplan does not read" in proc.stdout, proc.stdout


def _cli_words(message: str) -> bool:
    """Whether a message names the command line's flags or commands, which an API call never wrote."""
    return "--" in message or "-o " in message or "epochplan audit" in message


def test_dedup_to_file_warnings_name_its_keyword_arguments_not_the_command_line(tmp_path):
    """`DedupSummary.warnings` of `dedup_to_file()` said the command line's words: "write one
    output per input file with -o DIR/", "see them with epochplan audit --label y", "pass --text
    instruction --text input --text output", "pass --text category", "Rerun with --verify exact";
    `dedup()`'s warnings said the last four too. Each now says the API's keyword arguments."""
    folder = tmp_path / "in"
    folder.mkdir()
    pl.DataFrame({"text": ["one doc here"], "i": [True]}).write_parquet(folder / "0.parquet")
    pl.DataFrame({"text": ["two docs there"], "i": [5]}).write_parquet(folder / "1.parquet")
    labelled = pl.DataFrame({"text": ["the same words here"] * 2 + ["other words"], "y": ["a", "b", "c"]})
    alpaca = pl.DataFrame({"instruction": ["say it twice"] * 3, "input": ["1", "2", "3"], "output": ["a b", "c d", "e f"]})
    categories = ["sports", "news", "tech", "food"]
    turns = [[f"write an essay about topic {i}", "now shorten it"] for i in range(80)]
    category = pl.DataFrame({"category": [categories[i % 4] for i in range(80)], "turns": turns})
    opening = "you are a helpful assistant and you answer every question with care and in detail. " * 2
    templated = pl.DataFrame({"text": [f"{opening} question number {i} about topic {i * 7}" for i in range(300)]})
    cases = {
        "one output holds it as Int64; give the files one type to choose it": (str(folder), {}),
        "the others were dropped: see them in the conflicts of an epochplan.audit with label='y'": (labelled, {"label": "y"}),
        "To audit whole examples, pass text=['instruction', 'input', 'output']": (alpaca, {}),
        "to audit 'category' instead, pass text='category'": (category, {"level": "exact"}),
        "Rerun with verify='exact' to measure the true similarity": (templated, {}),
    }
    for k, (said, (data, options)) in enumerate(cases.items()):
        warnings = dedup_to_file(data, tmp_path / f"{k}.parquet", **options).warnings
        assert any(said in w for w in warnings) and not any(_cli_words(w) for w in warnings), warnings
        if k:  # dedup() gives the same warnings (its own words for a type join: test_dedup_shards)
            with pytest.warns(UserWarning) as caught:
                epochplan.dedup(data, **options)
            given = [str(w.message) for w in caught]
            assert any(said in w for w in given) and not any(_cli_words(w) for w in given), given


def test_dedup_to_file_names_the_audit_options_it_takes_as_keywords(tmp_path):
    """Its `**options` are the audit's: an error about one named the flag (`--label`)."""
    with pytest.raises(epochplan.InputError) as caught:
        dedup_to_file(FRAME, tmp_path / "out.parquet", text="text", label="text")
    assert "label=... takes another column than text=..." in str(caught.value) and "--" not in str(caught.value), caught.value
    assert not (tmp_path / "out.parquet").exists()


def test_the_command_line_keeps_its_words_for_dedup_warnings(tmp_path):
    from conftest import run_cli

    pl.DataFrame({"instruction": ["say it twice"] * 3, "input": ["1", "2", "3"], "output": ["a b", "c d", "e f"]}).write_parquet(
        tmp_path / "alpaca.parquet"
    )
    pl.DataFrame({"text": ["the same words here"] * 2 + ["other words"], "y": ["a", "b", "c"]}).write_parquet(tmp_path / "y.parquet")
    proc = run_cli("dedup", str(tmp_path / "alpaca.parquet"), "-q", "-o", str(tmp_path / "a.parquet"))
    assert proc.returncode == 0 and "pass --text instruction --text input --text output" in proc.stderr, proc.stderr
    proc = run_cli("dedup", str(tmp_path / "y.parquet"), "--label", "y", "-q", "-o", str(tmp_path / "b.parquet"))
    assert proc.returncode == 0 and "see them with epochplan audit --label y" in proc.stderr, proc.stderr


def test_audit_warnings_name_its_keyword_arguments_not_the_command_line(tmp_path):
    """`AuditResult.warnings` of `epochplan.audit()` said the command line's words ("audit a column
    that varies with --text (answer)", "Rerun with --verify exact", "audit it too with --text",
    "--label or --text", "give --label the column", "'train-*.parquet' --eval 'test-*.parquet'",
    "(or several --text, joined a row)") where `dedup()`'s said its keyword arguments."""
    from conftest import audit_json

    opening = "you are a helpful assistant and you answer every question with care and in detail. " * 2
    pl.DataFrame(
        {
            "text": [f"{opening} question number {i} about topic {i * 7}" for i in range(300)],
            "answer": [f"answer {i} is {i * 3}" for i in range(300)],
        }
    ).write_parquet(tmp_path / "templated.parquet")
    media = pl.DataFrame({"text": ["a cat", "a cat", "a dog", "a car"], "image": [f"{i}.jpg" for i in range(4)]})
    for lang in ("en", "de"):
        (tmp_path / f"p/lang={lang}").mkdir(parents=True)
        pl.DataFrame({"text": [f"{lang} row {i}" for i in range(5)]}).write_parquet(tmp_path / f"p/lang={lang}/part-0.parquet")
    ids = pl.DataFrame({"text": [f"text {i}" for i in range(1200)], "id": [f"id{i}" for i in range(1200)]})
    (tmp_path / "hub").mkdir()
    pl.DataFrame({"text": ["tr 1", "tr 2"]}).write_parquet(tmp_path / "hub/train-00000.parquet")
    pl.DataFrame({"text": ["te 1"]}).write_parquet(tmp_path / "hub/test-00000.parquet")
    turns = {k: [[f"write an essay about topic {i}", f"{k} reply {i}"] for i in range(80)] for k in ("chosen", "rejected")}
    conversations = pl.DataFrame({"category": [["sports", "news"][i % 2] for i in range(80)], **turns})
    cases = {
        "audit a column that varies with text=... (answer)": (str(tmp_path / "templated.parquet"), {"text": "text"}),
        "Rerun with verify='exact' to measure the true similarity": (str(tmp_path / "templated.parquet"), {"text": "text"}),
        "audit it too with text=...": (media, {"near": False}),
        "cannot take them as label=... or text=...": (str(tmp_path / "p/*/*.parquet"), {"near": False}),
        "give label=... the column that holds the classes": (ids, {"near": False, "label": "id"}),
        f"e.g. '{tmp_path}/hub/train-*.parquet' with eval=['{tmp_path}/hub/test-*.parquet']": (str(tmp_path / "hub"), {"near": False}),
        "pass text='chosen' (or several, joined a row: text=['chosen', 'rejected'])": (conversations, {"near": False}),
    }
    for said, (data, options) in cases.items():
        messages = [w.message for w in epochplan.audit(data, **options).warnings]
        assert any(said in m for m in messages) and not any(_cli_words(m) for m in messages), (said, messages)
    # The command line keeps its flags.
    cli = [w["message"] for w in audit_json(str(tmp_path / "templated.parquet"), "--text", "text", "-q")["warnings"]]
    assert any("varies with --text (answer)" in m for m in cli) and any("Rerun with --verify exact" in m for m in cli), cli
    cli = [w["message"] for w in audit_json(str(tmp_path / "hub"), "--no-near", "-q")["warnings"]]
    assert any(f"'{tmp_path}/hub/train-*.parquet' --eval '{tmp_path}/hub/test-*.parquet'" in m for m in cli), cli


def test_plan_warnings_name_its_keyword_arguments_not_the_command_line(tmp_path):
    """`Plan.warnings` of `epochplan.plan()` said "lower --batch, --grad-accum or --gpus", "longer
    than --seq-len 64", "audit dedup --eval's output (or give its row count to --samples)"; and
    the audit `plan(data)` runs warned "audit it too with --text"."""
    import warnings

    said = epochplan.plan(samples=100, batch=64, gpus=4).warnings
    assert any("lower batch=..., grad_accum=... or gpus=..." in m for m in said) and not any(_cli_words(m) for m in said), said
    train = pl.DataFrame({"text": [f"train doc number {i} " + "word " * (i % 700) for i in range(400)]})
    result = epochplan.audit(train, eval={"val": train.head(5)})
    said = epochplan.plan(result, seq_len=64).warnings
    assert any("are longer than seq_len=64" in m for m in said), said
    assert any("after epochplan.dedup(data, eval=...) 395 remain" in m for m in said), said
    assert any("plan on the rows epochplan.dedup(data, eval=...) returns (or give their count as samples=...)" in m for m in said), said
    assert not any(_cli_words(m) or "`" in m for m in said), said
    path = tmp_path / "captions.parquet"
    pl.DataFrame({"text": ["a cat", "a cat", "a dog", "a car"], "image": [f"{i}.jpg" for i in range(4)]}).write_parquet(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        epochplan.plan(str(path))
    given = [str(w.message) for w in caught]
    assert any("audit it too with text=..." in m for m in given) and not any(_cli_words(m) for m in given), given
    # The command line keeps its flags and commands.
    from conftest import run_cli

    train.write_parquet(tmp_path / "train.parquet")
    train.head(5).write_parquet(tmp_path / "val.parquet")
    audit_file = tmp_path / "audit.json"
    assert (
        run_cli(
            "audit", str(tmp_path / "train.parquet"), "--eval", str(tmp_path / "val.parquet"), "-q", "--json", str(audit_file)
        ).returncode
        == 0
    )
    proc = run_cli("plan", "--audit", str(audit_file), "--seq-len", "64", "--format", "json")
    cli = json.loads(proc.stdout)["warnings"]
    assert any("after `epochplan dedup --eval` 395 remain" in m and "audit dedup --eval's output" in m for m in cli), cli
    assert any("longer than --seq-len 64" in m for m in cli), cli


def test_split_hints_name_what_the_api_function_takes(tmp_path):
    """`plan(data)` of files named as two splits suggested `eval=[...]`, which plan() does not
    take; an eval file that is also a train file was told `'train-*.parquet' eval='test-*.parquet'`
    (the command line's words half reworded). The command line keeps `--eval`."""
    import warnings

    from conftest import assert_clean_error, run_cli

    (tmp_path / "hub").mkdir()
    pl.DataFrame({"text": [f"train row {i} of words" for i in range(20)]}).write_parquet(tmp_path / "hub/train-00000.parquet")
    pl.DataFrame({"text": ["test row of words"]}).write_parquet(tmp_path / "hub/test-00000.parquet")
    train, test = f"'{tmp_path}/hub/train-*.parquet'", f"'{tmp_path}/hub/test-*.parquet'"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        epochplan.plan(str(tmp_path / "hub"))
    given = [str(w.message) for w in caught if "named as different splits" in str(w.message)]
    said = f"and plan from its result (plan() takes no eval=), e.g. audit {train} with eval=[{test}]"
    assert len(given) == 1 and said in given[0] and not _cli_words(given[0]), given
    (tmp_path / "folders/train").mkdir(parents=True)
    (tmp_path / "folders/test").mkdir()
    pl.DataFrame({"text": ["a b"]}).write_parquet(tmp_path / "folders/train/0.parquet")
    pl.DataFrame({"text": ["c d"]}).write_parquet(tmp_path / "folders/test/0.parquet")
    with pytest.raises(epochplan.InputError, match=r"plan\(\) takes no eval=\), e\.g\. audit '.*/folders/train' with eval="):
        epochplan.plan(str(tmp_path / "folders"))
    shared = str(tmp_path / "hub/test-00000.parquet")
    with pytest.raises(epochplan.InputError) as refused:
        epochplan.audit(str(tmp_path / "hub"), eval={"test": shared})
    assert str(refused.value).endswith(f"give train's files and the eval split's apart, e.g. {train} with eval=[{test}]"), refused.value
    proc = run_cli("audit", str(tmp_path / "hub"), "--eval", shared)
    assert_clean_error(proc, f"apart, e.g. {train} --eval {test}")
