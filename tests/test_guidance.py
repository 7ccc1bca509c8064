"""What the user is told when epochplan makes a choice for them or skips a signal: the text
column chosen automatically, labels kept by `dedup`, a check's skip reason, an eval split's
column, the JSON report's examples."""

from __future__ import annotations

import json
import random
import unicodedata

import polars as pl
import pytest

import epochplan
from conftest import audit_json, run_cli


def _alpaca(path):
    """Alpaca-shaped rows: 30 share one instruction, each with its own input and output."""
    rows = [
        {
            "instruction": "Classify the sentiment of the sentence.",
            "input": f"sentence number {i} about topic {i * 7}",
            "output": f"label {i}",
        }
        for i in range(30)
    ]
    rows += [{"instruction": f"Write a poem about item {i}.", "input": "", "output": f"poem {i}"} for i in range(10)]
    pl.DataFrame(rows).write_parquet(path)
    return path


def test_a_text_column_chosen_automatically_beside_example_parts_is_a_warning(tmp_path):
    data = str(_alpaca(tmp_path / "alpaca.parquet"))
    result = audit_json(data, "--no-near")
    [warning] = [w for w in result["warnings"] if w["id"] == "text-column"]
    assert "'instruction' (chosen automatically)" in warning["message"]
    assert "--text instruction --text input --text output" in warning["message"]
    quiet = run_cli("audit", data, "--no-near", "-q")
    assert quiet.returncode == 0 and "chosen automatically" in quiet.stderr
    dedup = run_cli("dedup", data, "-o", str(tmp_path / "out.parquet"), "--level", "exact")
    assert dedup.returncode == 0 and "--text instruction --text input --text output" in dedup.stderr
    check = run_cli("check", data, "--no-near")
    assert "text-column" in check.stdout + check.stderr
    # named columns, or metadata beside whole examples, are no reason to warn
    assert not [w for w in audit_json(data, "--no-near", "--text", "instruction")["warnings"] if w["id"] == "text-column"]
    chat = tmp_path / "chat.parquet"
    pl.DataFrame({"id": ["a", "b"], "text": ["one text", "another text"], "lang": ["en", "de"]}).write_parquet(chat)
    assert audit_json(str(chat), "--no-near")["warnings"] == []


def test_dedup_with_a_label_warns_of_clusters_whose_labels_conflict(tmp_path):
    data = tmp_path / "labelled.parquet"
    texts = [f"news item number {i} about the markets today" for i in range(6)]
    pl.DataFrame({"text": texts + texts[:3], "label": ["a"] * 6 + ["b", "a", "b"]}).write_parquet(data)
    proc = run_cli("dedup", str(data), "--label", "label", "--level", "exact", "-o", str(tmp_path / "out.parquet"))
    assert proc.returncode == 0, proc.stderr
    assert "2 kept rows stand for exact-duplicate clusters whose rows carry different labels in 'label'" in proc.stderr
    assert "first (lowest) row's label" in proc.stderr and "epochplan audit --label label" in proc.stderr
    agreeing = run_cli("dedup", str(data), "--level", "exact", "-o", str(tmp_path / "plain.parquet"))
    assert "different labels" not in agreeing.stderr


def test_the_template_check_passes_long_rows_that_share_nothing():
    """50 distinct 320-character rows: the check said "no row is long enough to share a
    template"; they are long enough and share nothing, so the check passes with 0 rows."""
    import random

    import epochplan
    from epochplan.checking.rules import run_checks

    rng = random.Random(7)
    words = ["alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "theta", "zeta", "lambda"]
    texts = [" ".join(rng.choice(words) + str(rng.randrange(1000)) for _ in range(40))[:320] for _ in range(50)]
    frame = pl.DataFrame({"text": texts})
    [template] = [c for c in run_checks(epochplan.audit(frame).to_dict()) if c.id == "template"]
    assert template.status == "pass" and template.count == 0 and "no shared long opening" in template.message
    [off] = [c for c in run_checks(epochplan.audit(frame, near=False).to_dict()) if c.id == "template"]
    assert off.status == "skipped" and "long enough" not in off.message and "near duplicates were off" in off.message


def test_an_eval_split_in_another_chat_layout_is_told_to_use_eval_text(tmp_path):
    turns = [{"from": "human", "value": "hello there"}, {"from": "gpt", "value": "hi, how can I help"}]
    pl.DataFrame({"conversations": [turns, turns[:1]]}).write_parquet(tmp_path / "sharegpt.parquet")
    messages = [{"role": "user", "content": "hello there"}, {"role": "assistant", "content": "hi"}]
    pl.DataFrame({"messages": [messages]}).write_parquet(tmp_path / "held.parquet")
    proc = run_cli("audit", str(tmp_path / "sharegpt.parquet"), "--eval", str(tmp_path / "held.parquet"), "--no-near", "-q")
    assert proc.returncode == 2
    assert "no column 'conversations'" in proc.stderr and "(give the eval split's column with --eval-text messages)" in proc.stderr


def test_a_check_at_the_json_example_cap_does_not_claim_the_json_has_the_rest():
    from epochplan.auditing.result import EXAMPLES
    from epochplan.checking.rules import Check
    from epochplan.render.check_table import example_lines

    examples = [{"eval_row": i, "train_row": i, "kind": "exact"} for i in range(EXAMPLES)]
    check = Check("leakage", "leakage", "error", "error", "max-leaked-rows", 0, count=11, examples=examples)
    assert example_lines(check)[-1] == f"... {EXAMPLES - 5} more in the JSON report (it keeps the first {EXAMPLES} examples, not every one)"
    assert example_lines(Check("x", "x", "error", "error", "s", 0, examples=examples[:7]))[-1] == "... 2 more in the JSON report"


def test_media_beside_the_audited_text_is_a_warning(tmp_path):
    """Captions beside 30 distinct images: 3 distinct captions, so the audit's 3 unique rows are
    right only for the text; the warning says the images were not compared."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    images = pa.array([{"bytes": bytes([i]) * 64, "path": f"{i}.png"} for i in range(30)])
    pq.write_table(pa.table({"image": images, "caption": [f"a photo of a cat, pose {i % 3}" for i in range(30)]}), tmp_path / "img.parquet")
    result = audit_json(str(tmp_path / "img.parquet"), "--no-near")
    assert result["exact"]["unique"] == 3
    [warning] = [w for w in result["warnings"] if w["id"] == "media-column"]
    assert "media column(s) image" in warning["message"] and "'caption'" in warning["message"]
    # the path of the images audited itself: compared by name
    named = audit_json(str(tmp_path / "img.parquet"), "--no-near", "--text", "image.path")
    [warning] = [w for w in named["warnings"] if w["id"] == "media-column"]
    assert "'image.path', the name or path of a media column" in warning["message"]
    # a path column named as media by convention (LLaVA), and none without media
    llava = tmp_path / "llava.parquet"
    pl.DataFrame({"image": [f"{i}.jpg" for i in range(4)], "text": ["describe it"] * 4}).write_parquet(llava)
    assert [w["id"] for w in audit_json(str(llava), "--no-near")["warnings"]].count("media-column") == 1
    # rows without media first (an empty list), base64 images, URLs without a file suffix
    mixed = tmp_path / "mixed.jsonl"
    rows = [{"text": "describe", "images": []}] * 40 + [{"text": "describe", "images": [f"img/{i}.jpg"]} for i in range(20)]
    mixed.write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert [w["id"] for w in audit_json(str(mixed), "--no-near")["warnings"]] == ["media-column"]
    for values in (["/9j/4AAQSkZJRg" + str(i) for i in range(4)], [f"https://images.example.com/photo-{i}?w=800" for i in range(4)]):
        encoded = tmp_path / "encoded.parquet"
        pl.DataFrame({"question": ["q"] * 4, "image": values}).write_parquet(encoded)
        assert [w["id"] for w in audit_json(str(encoded), "--no-near", "--text", "question")["warnings"]] == ["media-column"]
    png = tmp_path / "png.parquet"
    pl.DataFrame({"text": ["a", "a"], "blob": [b"\x89PNG\r\n\x1a\n" + bytes([i]) for i in range(2)]}).write_parquet(png)
    assert [w["id"] for w in audit_json(str(png), "--no-near")["warnings"]] == ["media-column"]
    # no media: other columns, captions in a column named `image`, digests in a binary column
    plain = tmp_path / "plain.parquet"
    pl.DataFrame(
        {"text": ["a", "b"], "path": ["x", "y"], "image": ["a cat on a mat", "a dog"], "sha": [bytes(range(16)), bytes(16)]}
    ).write_parquet(plain)
    assert audit_json(str(plain), "--no-near", "--text", "text")["warnings"] == []
    assert audit_json(str(plain), "--no-near", "--text", "image")["warnings"] == []


def test_labels_differing_in_case_or_spaces_and_the_no_label_sentinel_are_warnings(tmp_path):
    texts = [f"review number {i} of the product" for i in range(8)]
    variants = tmp_path / "variants.parquet"
    pl.DataFrame(
        {"text": texts + texts[:2], "label": ["positive"] * 4 + ["Positive", " positive"] + ["negative"] * 2 + ["positive", "NEGATIVE "]}
    ).write_parquet(variants)
    result = audit_json(str(variants), "--no-near", "--label", "label")
    [warning] = [w for w in result["warnings"] if w["id"] == "label-variants"]
    assert "'positive', ' positive', 'Positive'" in warning["message"] and "'negative', 'NEGATIVE '" in warning["message"]
    assert warning["share"] == 1.0
    nli = tmp_path / "nli.parquet"
    pl.DataFrame({"text": texts, "label": [0, 1, 2, 0, 1, 2, -1, -1]}).write_parquet(nli)
    [warning] = [w for w in audit_json(str(nli), "--no-near", "--label", "label")["warnings"] if w["id"] == "label-sentinel"]
    assert warning["message"].startswith("2 rows have the label -1") and warning["share"] == 0.25
    # -1 as a class of its own (-1/0/1 sentiment, ±1, a scale) is no reason to warn
    for values in ([-1, 0, 1, -1, 0, 1, 0, 1], [-1, 1, -1, 1, 1, 1, -1, 1], [-2, -1, 0, 1, 2, 0, 1, 2]):
        scale = tmp_path / "scale.parquet"
        pl.DataFrame({"text": texts, "label": values}).write_parquet(scale)
        assert audit_json(str(scale), "--no-near", "--label", "label")["warnings"] == [], values


def test_labels_differing_in_unicode_form_are_variants_shown_apart():
    """`café` composed and decomposed, full-width `ｐｏｓｉｔｉｖｅ`, a ligature and decomposed
    Hangul look like (or are) one label but were two classes without a word. The warning names
    them so that they can be told apart; the classes stay as they are (not merged)."""
    nfd = lambda text: unicodedata.normalize("NFD", text)  # noqa: E731
    labels = ["café", nfd("café"), "ｐｏｓｉｔｉｖｅ", "positive", nfd("긍정"), "긍정", "other"]
    texts = ["the cat sat on the mat", "The  cat sat on the mat", "一只猫", "一只猫", "x y", "x z", "z"]
    result = epochplan.audit(pl.DataFrame({"text": texts, "label": labels}), label="label", near=False)
    [warning] = [w for w in result.warnings if w.id == "label-variants"]
    assert "differ only in case, spaces or Unicode form" in warning.message
    assert "'cafe\\u0301', 'café'" in warning.message and "'ｐｏｓｉｔｉｖｅ' (NFKC 'positive')" in warning.message
    assert "'\\u1100\\u1173\\u11bc\\u110c\\u1165\\u11bc', '긍정'" in warning.message
    assert warning.share == pytest.approx(6 / 7)
    assert result.labels.counts == dict.fromkeys(labels, 1) and result.conflicts.exact_clusters == 2
    ligature = epochplan.audit(pl.DataFrame({"text": ["a", "b"], "label": ["ﬁle", "file"]}), label="label", near=False)
    assert "'ﬁle' (NFKC 'file')" in ligature.warnings[0].message
    # Labels of one letter apart under NFKC are no variants: `Å` and `A`, `é` and `e`.
    other = epochplan.audit(pl.DataFrame({"text": ["a", "b", "c", "d"], "label": ["Å", "A", "é", "e"]}), label="label", near=False)
    assert not [w for w in other.warnings if w.id == "label-variants"]


def test_a_label_column_of_ids_or_text_is_a_warning_and_many_real_classes_are_not(tmp_path):
    """--label id by mistake (every row its own label) said nothing: class counts, balance and
    conflicting labels of 3,000 one-row classes."""
    rows = 3_000
    texts = [f"sentence number {i} about topic {i * 7}" for i in range(rows)]
    data = tmp_path / "data.parquet"
    ids, classes = [f"row-{i:05d}" for i in range(rows)], [i % 1_500 for i in range(rows)]
    pl.DataFrame({"text": texts, "id": ids, "label": classes}).write_parquet(data)
    [warning] = [w for w in audit_json(str(data), "--no-near", "--label", "id")["warnings"] if w["id"] == "label-cardinality"]
    assert "'id' has 3,000 distinct values among 3,000 labelled rows" in warning["message"] and warning["share"] == 1.0
    quiet = run_cli("audit", str(data), "--no-near", "-q", "--label", "id")
    assert quiet.returncode == 0 and "looks like an id or free text" in quiet.stderr
    # 1,500 classes of two rows each, and 1,000 classes of one row each: classes, no warning
    assert audit_json(str(data), "--no-near", "--label", "label")["warnings"] == []
    few = tmp_path / "few.parquet"
    pl.DataFrame({"text": texts[:1_000], "label": [f"class {i}" for i in range(1_000)]}).write_parquet(few)
    assert audit_json(str(few), "--no-near", "--label", "label")["warnings"] == []
    # Multi-label data: 2-5 tags of 30 a row make thousands of combinations, but 30 classes.
    rng = random.Random(3)
    tags = [sorted(rng.sample([f"tag{t}" for t in range(30)], rng.randint(2, 5))) for _ in range(rows)]
    multi = tmp_path / "multi.parquet"
    pl.DataFrame({"text": texts, "labels": tags}).write_parquet(multi)
    report = audit_json(str(multi), "--no-near", "--label", "labels")
    assert len(report["labels"]["counts"]) > 1_500 and report["warnings"] == [], report["warnings"]


def test_hive_partition_keys_are_named_not_lost_silently(tmp_path):
    """`data/lang=en/part-0.parquet`: `lang` is in the paths, not the files; --label lang said
    only "no label column 'lang'; columns are: text, label", and dedup dropped it silently."""
    for lang in ("en", "de"):
        (tmp_path / f"lang={lang}").mkdir()
        pl.DataFrame({"text": [f"{lang} row {i}" for i in range(5)], "label": [i % 2 for i in range(5)]}).write_parquet(
            tmp_path / f"lang={lang}" / "part-0.parquet"
        )
    pattern = str(tmp_path / "*" / "*.parquet")
    proc = run_cli("audit", pattern, "--no-near", "-q", "--label", "lang")
    assert proc.returncode == 2 and "'lang' is a partition key of the paths (lang=… folders)" in proc.stderr
    assert "hive_partitioning=True" in proc.stderr and "Traceback" not in proc.stderr
    [warning] = [w for w in audit_json(pattern, "--no-near")["warnings"] if w["id"] == "partition-keys"]
    assert "partitions (lang=…)" in warning["message"]
    dedup = run_cli("dedup", pattern, "--level", "exact", "-o", str(tmp_path / "out.parquet"))
    assert dedup.returncode == 0 and "dedup does not write them" in dedup.stderr
    # folders above what the input's files share are no partitions (a `job=42/` working folder)
    work = tmp_path / "job=42" / "data"
    work.mkdir(parents=True)
    for i in range(2):
        pl.DataFrame({"text": [f"row {i}"]}).write_parquet(work / f"part-{i}.parquet")
    assert audit_json(str(work), "--no-near")["warnings"] == []
    assert audit_json(str(work / "part-0.parquet"), "--no-near")["warnings"] == []
    # a key the files have as a column is read from the files: no warning
    (tmp_path / "k=1").mkdir()
    pl.DataFrame({"text": ["a", "b"], "k": [1, 1]}).write_parquet(tmp_path / "k=1" / "part.parquet")
    assert audit_json(str(tmp_path / "k=1" / "part.parquet"), "--no-near")["warnings"] == []


def test_a_pandas_index_is_never_the_text_to_choose(tmp_path):
    """A pandas frame with a string index writes `__index_level_0__` beside its one text
    column: the audit said "several string columns (review, __index_level_0__)"."""
    import pandas as pd

    frame = pd.DataFrame({"review": ["good", "bad", "good"]}, index=["r1", "r2", "r3"])
    frame.to_parquet(tmp_path / "reviews.parquet")
    result = audit_json(str(tmp_path / "reviews.parquet"), "--no-near")
    assert result["source"]["text_columns"] == ["review"] and result["exact"]["unique"] == 2
    assert result["warnings"] == []


def test_plan_of_data_says_what_the_audit_says_of_its_input(tmp_path):
    """`epochplan plan DATA` and `epochplan.plan(data)` audit the data first and kept only its
    counts: a media column beside the captions (whose rows count as duplicates) went unsaid.
    The command prints the audit's warnings on stderr; the API gives them as UserWarnings at
    the caller's line."""
    import warnings

    import epochplan

    path = tmp_path / "captions.parquet"
    rows = {"text": ["a photo of a cat", "a photo of a cat", "a dog on grass", "a red car"], "image": [f"{i}.jpg" for i in range(4)]}
    pl.DataFrame(rows).write_parquet(path)
    media = "media column(s) image, which the audit does not compare"
    proc = run_cli("plan", str(path), "--format", "json")
    assert proc.returncode == 0 and media in proc.stderr, proc.stderr
    json.loads(proc.stdout)  # stdout keeps the plan alone
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        epochplan.plan(str(path))
    assert [w.filename for w in caught if media in str(w.message)] == [__file__]
    assert not run_cli("plan", "--samples", "1000").stderr  # counts alone: no audit, nothing said


def test_the_python_dedup_gives_the_warnings_the_cli_prints(tmp_path):
    """`epochplan.dedup` returns rows only: the media, label and partition warnings `dedup`
    prints on the command line were lost, and a pipeline kept rows whose images differ without a
    word. They are Python `UserWarning`s now, each once (the eval split left out too), and stay
    in `audit`'s `result.warnings`."""
    import warnings

    import datasets

    import epochplan

    path = tmp_path / "captions.parquet"
    rows = {
        "text": ["a photo of a cat", "a photo of a cat", "a dog on grass", "a red car"],
        "label": ["pos", "Pos", "neg", "neg"],
        "image": [f"{i}.jpg" for i in range(4)],
    }
    pl.DataFrame(rows).write_parquet(path)
    cli = run_cli("dedup", str(path), "--label", "label", "--text", "text", "-o", str(tmp_path / "out.parquet"))
    assert cli.returncode == 0, cli.stderr
    said = [line.removeprefix("warning: ") for line in cli.stderr.splitlines() if line.startswith("warning: ")]
    assert len(said) == 3  # media-column, label-variants, the kept row whose cluster's labels conflict
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        kept = epochplan.dedup(str(path), text="text", label="label")
    assert kept.height == 3
    # In the API's words (its keyword arguments, not the command line's flags and commands).
    api = [
        m.replace("audit it too with --text", "audit it too with text=...").replace(
            "see them with epochplan audit --label label", "see them in the conflicts of an epochplan.audit with label='label'"
        )
        for m in said
    ]
    assert [str(w.message) for w in caught] == api and {w.category for w in caught} == {UserWarning}
    assert api != said and not any("--" in m for m in api)
    assert {w.filename for w in caught} == {__file__}  # at the caller's line, not inside epochplan
    result = epochplan.audit(str(path), text="text", label="label", near=False)
    assert [w.id for w in result.warnings] == ["media-column", "label-variants"]
    # partition keys, through the Python API too
    for lang in ("en", "de"):
        (tmp_path / f"lang={lang}").mkdir()
        pl.DataFrame({"text": [f"{lang} row {i}" for i in range(5)]}).write_parquet(tmp_path / f"lang={lang}" / "part-0.parquet")
    with pytest.warns(UserWarning, match="partitions \\(lang=…\\)"):
        epochplan.dedup(str(tmp_path / "*" / "*.parquet"), level="exact")
    # a DatasetDict's train split left out: warned once (by the audit), not again by dedup
    train = datasets.Dataset.from_dict({"text": [f"row {i}" for i in range(6)]})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        epochplan.dedup(train, eval=datasets.DatasetDict({"train": train, "test": train.select(range(2))}))
    assert len([w for w in caught if "left out" in str(w.message)]) == 1
