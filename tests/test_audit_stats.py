"""Statistics of the audit against independent computations with numpy / Python."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import timedelta

import numpy as np
import polars as pl
import pyarrow as pa
import pytest

import epochplan
from conftest import run_cli
from test_exact_reference import reference_normalize
from test_unspaced_text import reference_words

TEXTS = [
    "The quick brown fox",
    "the  QUICK brown fox",
    None,
    "",
    "Jumps over the lazy dog, again and again",
    "naïve café — déjà vu",
    "日本語 のテキスト",
    "a " * 40,
    "The quick brown fox",
]


def quantile(values, q):
    return int(np.quantile(np.array(values), q, method="inverted_cdf"))


def test_lengths_match_numpy():
    result = epochplan.audit(pl.DataFrame({"text": TEXTS}))
    present = [t for t in TEXTS if t is not None]
    chars = [len(t) for t in present]
    words = [len(reference_words(t)) for t in present]  # "日本語 のテキスト" is 8 words, not 2
    for stats, values in ((result.lengths.chars, chars), (result.lengths.words, words)):
        assert stats.mean == pytest.approx(np.mean(values))
        assert (stats.p50, stats.p90, stats.p99, stats.max) == tuple([quantile(values, q) for q in (0.5, 0.9, 0.99)] + [max(values)])
    total_bytes = sum(len(t.encode()) for t in present)
    assert result.lengths.tokens_estimate == total_bytes // 4


def test_diversity_matches_python_counts():
    result = epochplan.audit(pl.DataFrame({"text": TEXTS}))
    words, bigrams = [], []
    for t in TEXTS:
        if t is None:
            continue
        w = reference_words(reference_normalize(t))
        words += w
        bigrams += list(zip(w, w[1:]))
    assert result.diversity.vocabulary == len(set(words))
    assert result.diversity.distinct_1 == pytest.approx(len(set(words)) / len(words))
    assert result.diversity.distinct_2 == pytest.approx(len(set(bigrams)) / len(bigrams))
    assert result.diversity.estimated is False


def test_label_statistics():
    labels = ["a", "a", "a", "b", None, "c", "a", "b", "c"]
    result = epochplan.audit(pl.DataFrame({"text": TEXTS, "y": labels}), label="y")
    counts = Counter(label for label in labels if label is not None)
    assert result.labels.counts == dict(counts)
    assert result.labels.null_labels == 1
    n = sum(counts.values())
    h = -sum(c / n * math.log(c / n) for c in counts.values())
    assert result.labels.entropy_normalized == pytest.approx(h / math.log(3))
    assert result.labels.imbalance_ratio == pytest.approx(4 / 2)


def test_numeric_labels_are_counted_as_text():
    result = epochplan.audit(pl.DataFrame({"text": ["x", "y", "z"], "y": [1, 1, 2]}), label="y")
    assert result.labels.counts == {"1": 2, "2": 1}


@pytest.mark.parametrize("kind", ["strings", "integers", "array"])
def test_a_multi_label_row_has_its_set_of_labels_as_its_label(tmp_path, kind):
    """Multi-label data (GoEmotions' `labels`: a list of ints): a row's label is its set of
    labels, so the same set in another order is no conflict, another set is, and label balance
    counts each combination. Before: 'cannot read rows (cannot cast List type ...)'."""
    texts = ["good movie", "Good  movie", "bad movie", "Bad movie", "fine", "meh", "ok", "okay"]
    sets = [["joy", "love"], ["love", "joy", "joy"], ["anger"], ["anger", "fear"], [], None, ["joy", None], ["joy"]]
    codes = {"joy": 3, "love": 7, "anger": 1, "fear": 9}
    if kind == "strings":
        frame = pl.DataFrame({"text": texts, "labels": sets})
        name = {"joy": "joy", "love": "love", "anger": "anger", "fear": "fear"}
    else:
        frame = pl.DataFrame({"text": texts, "labels": [None if s is None else [codes.get(x) for x in s] for s in sets]})
        name = {k: str(v) for k, v in codes.items()}
    if kind == "array":  # fixed-size lists: two labels a row
        frame = pl.DataFrame(
            {"text": texts[:4], "labels": [[3, 7], [7, 3], [1, 1], [1, 9]]}, schema_overrides={"labels": pl.Array(pl.Int64, 2)}
        )
    frame.write_parquet(tmp_path / "emotions.parquet")
    result = epochplan.audit(str(tmp_path / "emotions.parquet"), label="labels").to_dict()
    joy_love = " | ".join(sorted([name["joy"], name["love"]]))
    anger_fear = " | ".join(sorted([name["anger"], name["fear"]]))
    if kind == "array":
        assert result["labels"]["counts"] == {joy_love: 2, name["anger"]: 1, anger_fear: 1}
    else:
        assert result["labels"]["counts"] == {joy_love: 2, name["anger"]: 1, anger_fear: 1, "": 1, name["joy"]: 2}
        assert result["labels"]["null_labels"] == 1
    conflicts = result["conflicts"]
    assert (conflicts["exact_clusters"], conflicts["rows"]) == (1, 2)  # bad movie: {anger} vs {anger, fear}
    assert conflicts["examples"][0]["rows"] == [2, 3]


def test_a_struct_label_column_is_refused_in_one_line(tmp_path):
    pl.DataFrame({"text": ["a", "b"], "meta": [{"y": 1}, {"y": 2}]}).write_parquet(tmp_path / "d.parquet")
    with pytest.raises(epochplan.InputError, match="label column 'meta' is Struct.*a list of them"):
        epochplan.audit(str(tmp_path / "d.parquet"), label="meta")
    # A Duration failed while reading ("cannot read rows (casting from Duration to String …)").
    pl.DataFrame({"text": ["a", "b"], "took": [timedelta(1), timedelta(2)]}).write_parquet(tmp_path / "t.parquet")
    with pytest.raises(epochplan.InputError, match="label column 'took' is Duration.*a list of them"):
        epochplan.audit(str(tmp_path / "t.parquet"), label="took")


def test_input_kinds_agree():
    frame = pl.DataFrame({"text": TEXTS})
    expected = epochplan.audit(frame).to_dict()
    for data in (frame.lazy(), frame.to_arrow(), pa.table({"text": pa.array(TEXTS, pa.large_string())})):
        got = epochplan.audit(data).to_dict()
        assert got == expected, type(data)


def test_several_text_columns_join_with_newline(shared_data):
    path = shared_data / "gpteacher_toolformer_similarity-0.8.parquet"
    joined = epochplan.audit(path, text=["instruction", "input"], normalize="none")
    prompt = epochplan.audit(path, text="prompt", normalize="none")
    assert joined.source.text_columns == ["instruction", "input"]
    assert joined.clusters["exact_id"].to_list() == prompt.clusters["exact_id"].to_list()
    assert joined.lengths == prompt.lengths


def test_joined_row_is_null_only_when_all_parts_are_null():
    frame = pl.DataFrame({"a": ["x", None, None], "b": [None, "y", None]})
    result = epochplan.audit(frame, text=["a", "b"])
    assert result.null_rows == 1
    assert result.exact.unique == 2


def test_to_dict_is_the_json_contract():
    result = epochplan.audit(pl.DataFrame({"text": TEXTS}))
    d = result.to_dict()
    assert d["schema"] == "epochplan.audit/1"
    assert {"schema", "source", "rows", "null_rows", "empty_rows", "exact", "lengths", "labels", "diversity"} <= set(d)
    assert set(d["source"]) == {"paths", "text_columns", "label_column", "normalize", "tokenizer", "token_count_column"}
    # Keys only grow: today's are all there (the report's histograms and example texts came later).
    assert set(d["exact"]) >= {
        "unique",
        "duplicate_rows",
        "duplicate_fraction",
        "clusters",
        "largest_cluster",
        "top",
        "size_histogram",
        "unique_tokens",
    }
    assert set(d["lengths"]) >= {"chars", "words", "tokens_estimate"}
    assert set(d["lengths"]["chars"]) >= {"mean", "p50", "p90", "p99", "max", "histogram"}
    assert set(d["diversity"]) == {"vocabulary", "distinct_1", "distinct_2", "estimated", "vocabulary_estimated", "bigrams_estimated"}
    assert d["labels"] is None
    top = d["exact"]["top"][0]
    assert {k: top[k] for k in ("row", "count", "preview")} == {"row": 0, "count": 3, "preview": "the quick brown fox"}
    assert top["text"] == TEXTS[0]  # as read, not normalised
    assert top["members"] == [{"row": 1, "text": TEXTS[1]}, {"row": 8, "text": TEXTS[8]}]
    assert d["exact"]["duplicate_fraction"] == pytest.approx(2 / len(TEXTS))


def test_non_string_text_column_raises_input_error():
    with pytest.raises(epochplan.InputError, match="not text"):
        epochplan.audit(pl.DataFrame({"text": [1, 2]}), text="text")
    assert issubclass(epochplan.InputError, ValueError)
    assert issubclass(epochplan.InputError, epochplan.EpochplanError)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"char_ngram": -1}, "char_ngram=-1"),
        ({"char_ngram": 2**70}, "char_ngram="),
        ({"char_ngram": 1.5}, "char_ngram=1.5"),
        ({"threshold": "0.8"}, "threshold='0.8'"),
        ({"batch_rows": 2.5}, "batch_rows=2.5"),
        ({"batch_rows": True}, "batch_rows=True"),
        ({"batch_rows": 2**70}, "batch_rows="),
        ({"text": 5}, "text=5"),
        ({"label": 3}, "label=3"),
    ],
)
def test_argument_errors_name_the_argument(kwargs, fragment):
    """Each was Python's OverflowError/TypeError from deep inside, or a read error blaming the data."""
    with pytest.raises(epochplan.InputError) as info:
        epochplan.audit(pl.DataFrame({"text": ["a b", "c d"]}), **kwargs)
    assert fragment in str(info.value)


def test_numpy_numbers_are_numbers():
    """A numpy integer or float (what a config loaded with numpy, or a sweep over np.arange,
    gives) was refused: "ngram=np.int64(5): must be a whole number", "threshold=np.float32(0.8):
    must be a number between 0 and 1"."""
    frame = pl.DataFrame({"text": ["a b c d e f g", "a b c d e f h", "x y z"] * 3})
    plain = dict(ngram=3, threshold=0.5, num_perm=64, batch_rows=2, memory_budget=64 << 20, char_ngram=4)
    numpy = dict(
        ngram=np.int64(3),
        threshold=np.float64(0.5),
        num_perm=np.uint16(64),
        batch_rows=np.int32(2),
        memory_budget=np.int64(64 << 20),
        char_ngram=np.int8(4),
    )
    assert epochplan.audit(frame, **numpy).to_dict() == epochplan.audit(frame, **plain).to_dict()
    assert epochplan.audit(frame, threshold=np.float32(0.8)).near.threshold == pytest.approx(0.8)
    with pytest.raises(epochplan.InputError, match="ngram=np.True_: must be a whole number"):
        epochplan.audit(frame, ngram=np.True_)


@pytest.mark.parametrize("flag", ["near", "keep_clusters", "examples"])
def test_a_flag_that_is_not_a_bool_names_the_argument(flag):
    """near="no" was pyo3's TypeError ("'str' object is not an instance of 'bool'"), and
    examples="no" was taken as true."""
    with pytest.raises(epochplan.InputError, match=f"{flag}='no': must be True or False"):
        epochplan.audit(pl.DataFrame({"text": ["a b", "c d"]}), **{flag: "no"})
    assert epochplan.audit(pl.DataFrame({"text": ["a b", "c d"]}), **{flag: np.False_}).rows == 2


@pytest.mark.parametrize("option", ["near", "keep_clusters"])
def test_dedup_names_the_audit_options_it_sets_itself(option, tmp_path):
    """dedup(df, near=False) was Python's "got multiple values for keyword argument 'near'"."""
    from epochplan.auditing import dedup_to_file

    frame = pl.DataFrame({"text": ["a b", "a b"]})
    with pytest.raises(epochplan.InputError, match=f"{option}=False: dedup "):
        epochplan.dedup(frame, **{option: False})
    with pytest.raises(epochplan.InputError, match=f"{option}=False: dedup "):
        dedup_to_file(frame, tmp_path / "out.parquet", **{option: False})
    assert not (tmp_path / "out.parquet").exists()


def test_eval_split_names_are_strings():
    """An int name made the leaks' `split` column an int; an int beside a str name failed in
    polars (SchemaError) after the whole audit."""
    frame = pl.DataFrame({"text": ["a b", "a b"]})
    for splits in ({0: frame}, {0: frame, "test": frame}):
        with pytest.raises(epochplan.InputError, match="eval split name 0 \\(int\\): name eval splits with strings"):
            epochplan.audit(frame, eval=splits)
    assert epochplan.audit(frame, eval={"0": frame.clone()}).leaks["split"].to_list() == ["0", "0"]


def test_zero_rows_raises_input_error():
    with pytest.raises(epochplan.InputError, match="no rows"):
        epochplan.audit(pl.DataFrame({"text": []}, schema={"text": pl.String}))


def test_column_choice():
    frame = pl.DataFrame({"id": [1], "content": ["c"], "prompt": ["p"]})
    assert epochplan.audit(frame).source.text_columns == ["content"]
    assert epochplan.audit(pl.DataFrame({"id": [1], "body": ["b"]})).source.text_columns == ["body"]
    with pytest.raises(epochplan.InputError, match="several string columns"):
        epochplan.audit(pl.DataFrame({"x": ["a"], "y": ["b"]}))
    # The label column is not a candidate: a sentence/label dataset audits its sentences.
    sst = pl.DataFrame({"sentence": ["good film", "bad film", "good film"], "label": ["pos", "neg", "neg"]})
    result = epochplan.audit(sst, label="label")
    assert result.source.text_columns == ["sentence"] and result.conflicts is not None
    assert result.conflicts.exact_clusters == 1
    with pytest.raises(epochplan.InputError, match="several string columns"):
        epochplan.audit(sst.with_columns(other=pl.lit("o")), label="label")


def test_estimated_diversity_never_exceeds_one():
    """Past a million distinct items the counters are HyperLogLog estimates, which can overshoot
    the number of items when nearly all are distinct: distinct-2 came out 1.0047 on these rows
    (1.25 M bigrams, all different). A share of distinct n-grams is at most 1."""
    import random

    rng = random.Random(1)
    rows = [" ".join("%x" % rng.getrandbits(40) for _ in range(50)) for _ in range(25_000)]
    d = epochplan.audit(pl.DataFrame({"text": rows}), near=False, keep_clusters=False).to_dict()["diversity"]
    assert d["estimated"] is True
    assert 0.95 < d["distinct_1"] <= 1.0 and 0.95 < d["distinct_2"] <= 1.0
    assert d["vocabulary"] <= 25_000 * 50
    assert d["vocabulary_estimated"] is True and d["bigrams_estimated"] is True


def test_the_terminal_marks_only_the_estimated_counter(tmp_path):
    """4,000 words make 1.2 M distinct bigrams: the bigram counter is a HyperLogLog estimate, the
    vocabulary exact; the terminal said "vocabulary 4,000 (HyperLogLog estimate)"."""
    import random

    rng = random.Random(2)
    vocab = [f"w{i}" for i in range(4_000)]
    rows = [" ".join(rng.choice(vocab) for _ in range(100)) for _ in range(12_500)]
    path = tmp_path / "pages.parquet"
    pl.DataFrame({"text": rows}).write_parquet(path)
    run = run_cli("audit", str(path), "--no-near", "--json", str(tmp_path / "a.json"))
    assert run.returncode == 0, run.stderr
    d = json.loads((tmp_path / "a.json").read_text())["diversity"]
    assert (d["vocabulary"], d["vocabulary_estimated"], d["bigrams_estimated"], d["estimated"]) == (4_000, False, True, True)
    (vocabulary,) = [line for line in run.stdout.splitlines() if line.startswith("vocabulary ")]
    assert "4,000" in vocabulary and "HyperLogLog" not in vocabulary
    (distinct,) = [line for line in run.stdout.splitlines() if "distinct-1 / distinct-2" in line]
    assert "distinct-2: HyperLogLog estimate" in distinct and "distinct-1 and" not in distinct
