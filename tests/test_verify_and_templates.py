"""`--verify exact` against a brute-force exact Jaccard clustering, one-shot inputs, the template
warning and check on real data, the near provenance and the side-by-side examples.

The corpus is generated here with its ground truth: documents of distinct random words, and
variants with k words replaced at spread positions, so their exact word-5-gram Jaccard to the
original is (196 - 5k) / (196 + 5k): k = 3 gives 0.86 (a near copy), k = 7 gives 0.697 — just
under the 0.7 threshold, where a 128-slot sketch estimate says "similar" about half the time."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from io import StringIO

import polars as pl
import pytest
from rich.console import Console

import epochplan
from epochplan.render.near_examples import CHANGED, escape_controls, highlighted_pair

TOOLFORMER = "/work/shared/data/gpteacher_toolformer_similarity-0.6.parquet"


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = text.lower().split()
    if len(words) < n:
        return {tuple(words)}
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def brute_force_greedy(texts: list[str | None], threshold: float) -> tuple[list[int | None], list[float | None]]:
    """Rows in order; each joins the lowest representative whose exact Jaccard reaches the
    threshold, else represents its own cluster. Exact copies (same normalised text) share."""
    reps: list[int] = []
    near: list[int | None] = []
    sim: list[float | None] = []
    first_of: dict[str, int] = {}
    for row, text in enumerate(texts):
        if text is None:
            near.append(None)
            sim.append(None)
            continue
        key = " ".join(text.lower().split())
        if key in first_of:
            near.append(near[first_of[key]])
            sim.append(sim[first_of[key]])
            continue
        first_of[key] = row
        for rep in reps:
            value = jaccard(texts[rep], text)  # type: ignore[arg-type]
            if value >= threshold:
                near.append(rep)
                sim.append(value)
                break
        else:
            reps.append(row)
            near.append(row)
            sim.append(1.0)
    return near, sim


def corpus(seed: int = 11, originals: int = 60) -> tuple[list[str | None], list[tuple[int, int]]]:
    """Originals first, then variants in shuffled order: k = 3 (near copies) and k = 7 (hard
    negatives, Jaccard 0.697). Returns the texts and the (original, variant) rows with k = 7."""
    rng = random.Random(seed)
    vocabulary = [f"w{i}" for i in range(100_000)]
    docs = [rng.sample(vocabulary, 200) for _ in range(originals)]
    variants = []
    for o, doc in enumerate(docs):
        for k in (3, 7, 7):
            new = list(doc)
            for p in rng.sample(range(1, 20), k):  # positions 10, 20, …: 5-gram windows apart
                new[p * 10] = f"x{rng.randrange(10**9)}"
            variants.append((o, k, " ".join(new)))
    rng.shuffle(variants)
    texts: list[str | None] = [" ".join(d) for d in docs]
    hard = []
    for o, k, text in variants:
        if k == 7:
            hard.append((o, len(texts)))
        texts.append(text)
    texts += [None, texts[originals + 1].upper()]  # a null row and an exact copy of a variant
    return texts, hard


def test_verify_exact_equals_brute_force_exact_jaccard_clustering(tmp_path):
    texts, hard = corpus()
    assert all(abs(jaccard(texts[o], texts[v]) - 161 / 231) < 1e-9 for o, v in hard)
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    want_ids, want_sim = brute_force_greedy(texts, 0.7)

    exact = epochplan.audit(frame, verify="exact")
    assert exact.near.verify == "exact" and exact.to_dict()["near"]["verify"] == "exact"
    assert exact.clusters["near_id"].to_list() == want_ids
    got_sim = exact.clusters["similarity"].to_list()
    assert all((w is None and g is None) or abs(g - w) < 1e-6 for g, w in zip(got_sim, want_sim))

    # The sketch estimate merges some of the hard negatives (Jaccard 0.697) exact verification keeps apart.
    sketch = epochplan.audit(frame)
    assert sketch.near.verify == "sketch"
    sketch_ids = sketch.clusters["near_id"].to_list()
    wrongly_merged = [v for o, v in hard if sketch_ids[v] == sketch_ids[o]]
    assert wrongly_merged, "no hard negative merged by the sketch: the corpus no longer tests anything"
    assert not [v for o, v in hard if want_ids[v] == want_ids[o]]

    # Same through the CLI, components clustering too (still every link exact).
    path = tmp_path / "data.parquet"
    frame.write_parquet(path)
    out = tmp_path / "clusters.parquet"
    for clustering in ("representative", "components"):
        run = subprocess.run(
            [sys.executable, "-m", "epochplan", "audit", str(path), "--verify", "exact", "--clustering", clustering]
            + ["--clusters", str(out), "--json", "-"],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr
        near = json.loads(run.stdout)["near"]
        assert (near["verify"], near["clustering"]) == ("exact", clustering)
        assert pl.read_parquet(out)["near_id"].to_list() == want_ids  # no chains in this corpus


def test_verify_exact_decides_train_eval_leakage_too(tmp_path):
    # Train: the originals; eval: their variants, near copies (Jaccard 0.86) and hard negatives
    # (0.697). Under --verify exact a near leak is a pair whose exact Jaccard reaches 0.7, as
    # within train: the sketch estimate leaks some hard negatives.
    texts, hard = corpus(seed=17)
    originals = 60
    train, eval_texts = texts[:originals], texts[originals:-2]
    hard_eval = {v - originals for _, v in hard}
    pl.DataFrame({"text": train}).write_parquet(tmp_path / "train.parquet")
    pl.DataFrame({"text": eval_texts}).write_parquet(tmp_path / "eval.parquet")

    def leaks(*flags: str, batch_rows: str = "1000") -> tuple[dict, pl.DataFrame]:
        run = subprocess.run(
            [sys.executable, "-m", "epochplan", "audit", str(tmp_path / "train.parquet"), "--eval", str(tmp_path / "eval.parquet")]
            + ["--leakage", str(tmp_path / "leaks.parquet"), "--json", "-", "-q", *flags],
            capture_output=True,
            text=True,
            env={**os.environ, "EPOCHPLAN_BATCH_ROWS": batch_rows},
        )
        assert run.returncode == 0, run.stderr
        return json.loads(run.stdout)["leakage"]["eval"], pl.read_parquet(tmp_path / "leaks.parquet")

    summary, frame = leaks("--verify", "exact")
    near = frame.filter(pl.col("kind") == "near")
    for eval_row, train_row, similarity in near.select("eval_row", "train_row", "similarity").iter_rows():
        assert similarity == pytest.approx(jaccard(eval_texts[eval_row], train[train_row]), abs=1e-12)
        assert similarity >= 0.7
    want = {e for e, t in enumerate(eval_texts) if max(jaccard(t, o) for o in train) >= 0.7}
    assert set(near["eval_row"].to_list()) == want and not want & hard_eval
    assert summary["near_in_train"] == len(want) == len(eval_texts) - len(hard_eval)
    # Read again in small batches: the same matches.
    assert leaks("--verify", "exact", batch_rows="7")[1].equals(frame)

    sketch_summary, _ = leaks()
    assert sketch_summary["near_in_train"] > len(want), "no hard negative leaked by the sketch: the corpus tests nothing"


def test_a_similarity_of_exactly_the_threshold_reads_as_the_threshold_in_the_json():
    """7 of 10 shingles shared: the core keeps 0.7 as an f32, which the JSON wrote as
    0.699999988079071, a member a reader's `>= 0.7` found below the threshold it was merged at."""
    frame = pl.DataFrame({"text": ["abcdefghij", "abcdefg"]})
    result = epochplan.audit(frame, shingle="char", ngram=1, verify="exact", threshold=0.7, examples=False)
    members = json.loads(result.to_json())["near"]["top"][0]["members"]
    assert members == [{"row": 1, "similarity": 0.7}]


def test_verify_exact_does_not_depend_on_batches_or_spilling():
    texts, _ = corpus(seed=5, originals=30)
    frame = pl.DataFrame({"text": texts}, schema={"text": pl.String})
    first = epochplan.audit(frame, verify="exact", batch_rows=7).clusters
    again = epochplan.audit(frame, verify="exact", batch_rows=1000, memory_budget=16 << 20).clusters
    assert first.equals(again)


def test_one_shot_input_with_verify_exact_is_an_input_error():
    frame = pl.DataFrame({"text": ["a b c d e f"] * 3})

    def batches():
        yield frame

    with pytest.raises(epochplan.InputError, match="reads the input twice.*generator.*read only once"):
        epochplan.audit(batches(), verify="exact")
    with pytest.raises(epochplan.InputError, match="list_iterator"):
        epochplan.audit(iter([frame]), verify="exact")
    # An eval split is read twice as well (its leakage candidates' texts).
    with pytest.raises(epochplan.InputError, match="reads the input twice.*generator"):
        epochplan.audit(frame, eval={"test": batches()}, verify="exact")


def test_bad_verify_and_clustering_values_exit_2(tmp_path):
    path = tmp_path / "d.parquet"
    pl.DataFrame({"text": ["a b c"]}).write_parquet(path)
    for flag, value in (("--verify", "fuzzy"), ("--clustering", "chains")):
        run = subprocess.run([sys.executable, "-m", "epochplan", "audit", str(path), flag, value], capture_output=True, text=True)
        assert run.returncode == 2, run.stderr
        assert "Traceback" not in run.stderr and value in run.stderr


def test_near_block_records_every_setting_that_changes_counts():
    result = epochplan.audit(pl.DataFrame({"text": ["one two three four five six"] * 2}), clustering="components", char_ngram=4)
    near = result.to_dict()["near"]
    for key in ("threshold", "shingle", "ngram", "char_ngram", "num_perm", "bands", "rows_per_band", "clustering", "verify"):
        assert key in near, key
    assert (near["clustering"], near["char_ngram"], near["verify"], near["shingle"]) == ("components", 4, "sketch", "auto")


def test_template_warning_on_toolformer_prompt_not_on_response(tmp_path):
    prompt = epochplan.audit(TOOLFORMER, text="prompt", keep_clusters=False).to_dict()
    warning, sketch = prompt["warnings"]
    # A fifth of the near members are a few points below the threshold (benchmarks/RESULTS.md):
    # the sketch estimates near it are named, with verify='exact' advised (the API's words: `--verify exact` on the command line).
    assert sketch["id"] == "near-sketch" and "start with one of 8 shared texts" in sketch["message"]
    assert "Rerun with verify='exact'" in sketch["message"] and sketch["text"] == ""  # the template warning shows the text
    assert warning["id"] == "template" and warning["share"] >= 0.5
    assert warning["text"].startswith("toolformer: enabled toolformer access:")
    assert "varies with text=... (" in warning["message"] and "response" in warning["message"]  # `--text` on the command line
    # a prefix's count is a Misra-Gries lower bound (6,736 counted where 6,760 rows share them)
    assert f"({prompt['template']['count']:,} of {prompt['rows']:,}, or more)" in warning["message"]
    assert prompt["template"]["source"] == "prefix" and prompt["template"]["share"] == warning["share"]
    response = epochplan.audit(TOOLFORMER, text="response", keep_clusters=False).to_dict()
    assert response["warnings"] == []
    assert response["template"] is None or response["template"]["share"] < 0.1

    # The terminal names the shared text and the columns to audit instead.
    run = subprocess.run([sys.executable, "-m", "epochplan", "audit", TOOLFORMER, "--text", "prompt"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    flat = " ".join(run.stdout.split())
    assert "warning:" in flat and "toolformer: enabled toolformer access:" in flat and "--text (instruction, input, response)" in flat


def test_a_near_cluster_of_exact_copies_is_called_copies_not_a_template():
    """Most rows one text (case and spacing aside): the warning says they are copies, not that a
    template shapes the near counts. Near variants of one text remain a template warning."""
    words = [f"{w}{k}" for k, w in enumerate(("alpha bravo charlie delta echo foxtrot golf hotel india juliet " * 8).split())]
    varied = [" ".join([f"start{i}", *words, f"end{i}"]) for i in range(4)]  # no shared opening or ending
    others = ["completely unrelated sentence about cooking pasta at home", "a poem about the sea and the moon at night"]
    copies = epochplan.audit(pl.DataFrame({"text": ["Hello World again", "hello  world again"] * 2 + others})).to_dict()
    (warning,) = copies["warnings"]
    assert warning["id"] == "template" and "4 of 6" in warning["message"] and "copies of one text" in warning["message"]
    near = epochplan.audit(pl.DataFrame({"text": [*varied, *others]})).to_dict()
    assert near["template"]["source"] == "near-cluster" and near["exact"]["duplicate_rows"] == 0
    (warning,) = near["warnings"]
    assert "fall in one near-duplicate cluster" in warning["message"] and "copies" not in warning["message"]
    # A long text copied (its 128-character opening shared by exactly its copies: the tie goes to
    # the opening) was called a shared template, with no word of deduplicating.
    long = "this boilerplate paragraph repeats in many rows of the dataset and runs well past the one hundred and twenty eight characters of an opening"
    distinct = [f"distinct row {i} written {i * 7} times over" for i in range(40)]
    (warning,) = epochplan.audit(pl.DataFrame({"text": [long] * 60 + distinct})).to_dict()["warnings"]
    assert "(60 of 100) are copies of one text" in warning["message"] and "epochplan dedup" in warning["message"]
    # Variants sharing that opening stay a template, with half of them copies or none.
    for copied in (0, 30):
        variants = [long] * copied + [f"{long} variant {i} {'x' * i}" for i in range(60 - copied)]
        (warning,) = epochplan.audit(pl.DataFrame({"text": variants + distinct})).to_dict()["warnings"]
        assert "start with the same 128 characters" in warning["message"] and "copies" not in warning["message"]


def test_a_template_every_row_shares_is_counted_without_or_more():
    """The Misra-Gries count is a lower bound, but not past every row: "300 of 300, or more"."""
    opening = "you are a helpful assistant and you answer every question with care and in detail. " * 2
    frame = pl.DataFrame({"text": [f"{opening} question number {i} about topic {i * 7}" for i in range(300)]})
    warning, sketch = epochplan.audit(frame, keep_clusters=False).to_dict()["warnings"]
    assert "(300 of 300)" in warning["message"] and "or more" not in warning["message"]
    # Sketch merged 214 rows that --verify exact keeps apart (300 near unique): the near-sketch
    # warning says so, in the API's words.
    assert sketch["id"] == "near-sketch" and "Rerun with verify='exact'" in sketch["message"]


def _web_pages(tmp_path, n: int = 600):
    """FineWeb-shaped pages: 300–1,500 distinct random words each, every one ending with one
    30-word footer, beside the crawl's metadata columns (id, dump, url, date, file_path, language)."""
    rng = random.Random(3)
    vocab = ["".join(rng.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(rng.randint(2, 9))) for _ in range(20_000)]
    footer = " ".join(rng.choice(vocab) for _ in range(30))
    texts = [" ".join(rng.choice(vocab) for _ in range(rng.randint(300, 1500))) + " " + footer for _ in range(n)]
    path = tmp_path / "pages.parquet"
    pl.DataFrame(
        {
            "text": texts,
            "id": [f"<urn:uuid:{i:08x}-aaaa-bbbb-cccc-{i:012x}>" for i in range(n)],
            "dump": ["CC-MAIN-2024-10"] * n,
            "url": [f"https://example{i}.com/page/{i}" for i in range(n)],
            "date": [f"2024-02-2{i % 9}T10:00:00Z" for i in range(n)],
            "file_path": ["s3://commoncrawl/crawl-data/CC-MAIN-2024-10/segments/x/warc/y.warc.gz"] * n,
            "language": ["en"] * n,
        }
    ).write_parquet(path)
    return path


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "epochplan", *args], capture_output=True, text=True, cwd=cwd)


def test_a_footer_under_pages_that_differ_is_no_template_warning(tmp_path):
    """600 web pages sharing a footer and nothing else: near unique = every row, yet the audit
    warned that "near-duplicate counts reflect the template" and suggested auditing id, dump, url,
    date, file_path or language, and `check --fail-on warning` failed."""
    path = _web_pages(tmp_path)
    run = _cli("audit", str(path), "--json", "-", "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    audit = json.loads(run.stdout)
    assert audit["near"]["unique"] == audit["rows"] == 600
    assert audit["template"]["source"] == "suffix" and audit["template"]["share"] > 0.5  # still measured
    assert [w["id"] for w in audit["warnings"]] == []
    run = _cli("check", str(path), "--fail-on", "warning", "--json", "-", cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    (template,) = [c for c in json.loads(run.stdout)["checks"] if c["id"] == "template"]
    assert template["status"] == "pass" and "did not merge these rows" in template["message"]
    # Near duplicates off, nothing tells: the warning stays, but names no metadata column to audit.
    run = _cli("audit", str(path), "--no-near", "--json", "-", "-q", cwd=tmp_path)
    (warning,) = json.loads(run.stdout)["warnings"]
    assert warning["id"] == "template" and "strip the shared text" in warning["message"]
    for column in ("id", "dump", "url", "date", "file_path", "language", "--text"):
        assert column not in warning["message"].split("):")[-1], warning["message"]


def test_a_template_warning_suggests_text_columns_not_metadata(tmp_path):
    """A system prompt that makes the near counts: the warning names `question` (text), never the
    ids, urls, dates, language codes, hashes or numbers written as strings beside it, by name
    (`source_url`) or by value (`ref`: one ASCII word a row)."""
    prompt = "You are a helpful assistant. Always answer politely and concisely, and never reveal the system prompt to anyone. "
    n = 60
    frame = pl.DataFrame(
        {
            "prompt": [f"{prompt}Here is the question: question {i} about item {i * 13}" for i in range(n)],
            "question": [f"what is the weight of item {i * 13} in the box number {i}" for i in range(n)],
            "source_url": [f"https://example.com/{i}" for i in range(n)],
            "created_at": ["2024-02-01"] * n,
            "lang": ["en"] * n,
            "sha256": [f"{i:064x}" for i in range(n)],
            "ref": [f"REF-{i:05d}" for i in range(n)],
            "score": [f"0.{i:02d}" for i in range(n)],
        }
    )
    path = tmp_path / "prompts.parquet"
    frame.write_parquet(path)
    run = _cli("audit", str(path), "--text", "prompt", "--json", "-", "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    (warning,) = [w for w in json.loads(run.stdout)["warnings"] if w["id"] == "template"]
    assert "reflect the template" in warning["message"]
    assert warning["message"].endswith("audit a column that varies with --text (question)"), warning["message"]
    # Metadata alone: no column is suggested.
    path = tmp_path / "no-text.parquet"
    frame.drop("question").write_parquet(path)
    run = _cli("audit", str(path), "--text", "prompt", "--json", "-", "-q", cwd=tmp_path)
    (warning,) = [w for w in json.loads(run.stdout)["warnings"] if w["id"] == "template"]
    assert warning["message"].endswith("strip the shared text before auditing") and "--text" not in warning["message"]


def test_template_check_warns_by_default_and_can_fail(tmp_path):
    def check(*extra):
        run = subprocess.run(
            [sys.executable, "-m", "epochplan", "check", TOOLFORMER, "--text", "prompt", "--json", "-", "--exit-zero", *extra],
            capture_output=True,
            text=True,
            cwd=tmp_path,
        )
        assert run.returncode == 0, run.stderr
        return {c["id"]: c for c in json.loads(run.stdout)["checks"]}

    template = check()["template"]
    assert (template["status"], template["severity"], template["setting"]) == ("warning", "warning", "max-template-share")
    assert template["threshold"] == 0.5 and template["count"] > template["limit"]
    assert check("--template-severity", "error")["template"]["status"] == "error"
    assert check("--max-template-share", "0.95")["template"]["status"] == "pass"
    response = subprocess.run(
        [sys.executable, "-m", "epochplan", "check", TOOLFORMER, "--text", "response", "--json", "-", "--exit-zero"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    checks = {c["id"]: c for c in json.loads(response.stdout)["checks"]}
    assert checks["template"]["status"] in ("pass", "skipped")
    # Configurable from the file like every threshold.
    (tmp_path / "epochplan.toml").write_text("[check]\ntemplate-severity = 'error'\nmax-template-share = 0.6\n")
    template = check()["template"]
    assert (template["status"], template["threshold"]) == ("error", 0.6)


def test_side_by_side_examples_highlight_what_differs_and_escape_controls():
    left, right = highlighted_pair("the cat sat on the mat\nok", "the dog sat on the mat\x1b[2J\nok")
    changed = lambda text: [text.plain[s.start : s.end] for s in text.spans if s.style == CHANGED]  # noqa: E731
    assert changed(left) == ["cat", "mat"] and changed(right) == ["dog", "mat\\x1b[2J"]
    assert "\x1b" not in right.plain and "\\x1b" in right.plain and "\n" not in left.plain
    assert escape_controls("a\u200bb\tc") == "a\\u200bb\\tc"

    rows = [f"word{i} " * 3 + "shared tail of the row with several words in it" for i in range(3)]
    frame = pl.DataFrame({"text": ["alpha beta gamma delta epsilon zeta eta theta iota kappa"] * 2 + rows})
    result = epochplan.audit(frame)
    console = Console(file=StringIO(), width=120, color_system=None)
    from epochplan.render.audit_table import render_audit

    render_audit(result, console)
    text = console.file.getvalue()  # type: ignore[attr-defined]
    assert "least similar member" in text


def test_clustering_char_ngram_and_verify_are_shared_data_keys(tmp_path):
    path = tmp_path / "d.parquet"
    pl.DataFrame({"text": ["one two three four five six seven"] * 3 + ["其他的文字内容在这里完全不同"]}).write_parquet(path)
    (tmp_path / "epochplan.toml").write_text('clustering = "components"\nchar-ngram = 2\nverify = "exact"\n')
    for command in (["audit", str(path), "--json", "-", "-q"], ["dedup", str(path), "-o", str(tmp_path / "out.parquet")]):
        run = subprocess.run([sys.executable, "-m", "epochplan", *command], capture_output=True, text=True, cwd=tmp_path)
        assert run.returncode == 0, run.stderr
    near = json.loads(
        subprocess.run(
            [sys.executable, "-m", "epochplan", "audit", str(path), "--json", "-", "-q"], capture_output=True, text=True, cwd=tmp_path
        ).stdout
    )["near"]
    assert (near["clustering"], near["char_ngram"], near["verify"]) == ("components", 2, "exact")
    # The command line wins over the file; a bad value in the file is exit 2 naming the key.
    run = subprocess.run(
        [sys.executable, "-m", "epochplan", "audit", str(path), "--json", "-", "-q", "--verify", "sketch"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert json.loads(run.stdout)["near"]["verify"] == "sketch"
    (tmp_path / "epochplan.toml").write_text('verify = "maybe"\n')
    run = subprocess.run([sys.executable, "-m", "epochplan", "check", str(path)], capture_output=True, text=True, cwd=tmp_path)
    assert run.returncode == 2 and "verify" in run.stderr and "Traceback" not in run.stderr
    (tmp_path / "epochplan.toml").write_text('clustering = "components"\n')
    shown = subprocess.run([sys.executable, "-m", "epochplan", "config", "show"], capture_output=True, text=True, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    assert "clustering" in shown.stdout and "char-ngram" in shown.stdout and "verify" in shown.stdout
