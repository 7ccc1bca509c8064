"""Near-duplicate clusters, leakage, conflicts and dedup against planted ground truth."""

from __future__ import annotations

import json
import random

import polars as pl
import pytest

import epochplan
from conftest import assert_clean_error, audit_json, run_cli

WORDS = [f"w{i}" for i in range(5000)]


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)} if len(words) >= n else {tuple(words)}


def jaccard(a: str, b: str) -> float:
    x, y = shingles(a), shingles(b)
    return len(x & y) / len(x | y)


def edit(text: str, rate: float, rng: random.Random) -> str:
    words = text.split()
    for i in rng.sample(range(len(words)), max(1, int(len(words) * rate))):
        words[i] = rng.choice(WORDS)
    return " ".join(words)


@pytest.fixture(scope="module")
def planted():
    """200 originals of 120 words; 40 exact copies, 40 near copies (2 % edits), 40 far copies
    (40 % edits), each pointing at its original; then shuffled. Ground truth: true Jaccard."""
    rng = random.Random(7)
    originals = [" ".join(rng.choice(WORDS) for _ in range(120)) for _ in range(200)]
    rows = [(t, "original", i) for i, t in enumerate(originals)]
    for kind, rate in (("exact", 0.0), ("near", 0.02), ("far", 0.40)):
        for src in rng.sample(range(200), 40):
            rows.append((originals[src] if kind == "exact" else edit(originals[src], rate, rng), kind, src))
    rng.shuffle(rows)
    first_row = {}
    for row, (_, kind, src) in enumerate(rows):
        if kind == "original":
            first_row[src] = row
    texts = [t for t, _, _ in rows]
    return texts, rows, first_row


def same_cluster(ids: list[int], a: int, b: int) -> bool:
    return ids[a] == ids[b]


def test_planted_pairs_recovered(planted):
    texts, rows, first_row = planted
    result = epochplan.audit(pl.DataFrame({"text": texts}))
    ids = result.clusters["near_id"].to_list()
    checked = {"near": 0, "far": 0}
    for row, (text, kind, src) in enumerate(rows):
        if kind == "original":
            continue
        original_row = first_row[src]
        similarity = jaccard(text, texts[original_row])
        if kind in ("exact", "near"):
            assert similarity >= 0.8, similarity  # the planted copy really is well above 0.7
            assert same_cluster(ids, row, original_row), (kind, row, similarity)
            checked["near"] += kind == "near"
        else:
            assert similarity <= 0.4
            assert not same_cluster(ids, row, original_row), (row, similarity)
            checked["far"] += 1
    assert checked == {"near": 40, "far": 40}
    # every original not copied stays a singleton; representatives are the lowest rows
    sizes = result.clusters.group_by("near_id").len()
    assert sizes["len"].max() <= 3
    assert (result.clusters.filter(pl.col("keep"))["row"] == result.clusters.filter(pl.col("keep"))["near_id"]).all()
    assert result.near.unique == 200 + 40  # originals + far copies
    assert result.exact.unique == 200 + 40 + 40


def test_near_clusters_contain_exact_clusters(planted):
    texts, _, _ = planted
    clusters = epochplan.audit(pl.DataFrame({"text": texts})).clusters
    per_exact = clusters.group_by("exact_id").agg(pl.col("near_id").n_unique())
    assert (per_exact["near_id"] == 1).all()


def test_short_texts_do_not_collapse():
    texts = ["yes", "no", "ok thanks", "yes", "hello there friend"]
    result = epochplan.audit(pl.DataFrame({"text": texts}))
    assert result.clusters["near_id"].to_list() == [0, 1, 2, 0, 4]


def test_leakage_names_train_rows(planted, tmp_path):
    texts, rows, first_row = planted
    rng = random.Random(3)
    originals = [first_row[s] for s in range(200)]
    eval_rows = [texts[originals[0]], edit(texts[originals[1]], 0.02, rng), "completely unrelated text " * 5, None]
    result = epochplan.audit(pl.DataFrame({"text": texts}), eval={"val": pl.DataFrame({"text": eval_rows})})
    leak = result.leakage["val"]
    assert (leak.rows, leak.exact_in_train, leak.near_in_train) == (4, 1, 2)
    exact = result.leaks.filter(pl.col("kind") == "exact")
    assert exact.select("eval_row", "train_row").rows() == [(0, originals[0])]
    near = result.leaks.filter((pl.col("kind") == "near") & (pl.col("eval_row") == 1))
    assert originals[1] in near["train_row"].to_list()
    assert result.exact.unique == epochplan.audit(pl.DataFrame({"text": texts})).exact.unique  # eval never joins train


def test_leakage_cli_and_parquet(tmp_path, shared_data):
    train = shared_data / "gpteacher_toolformer_similarity-0.6.parquet"
    val = tmp_path / "val.parquet"
    pl.read_parquet(train)[:50].vstack(
        pl.read_parquet(shared_data / "chatterbot_english.parquet")
        .select(prompt=pl.col("text"), instruction=pl.col("text"), input=pl.lit(""), response=pl.lit(""))[:10]
        .select("instruction", "input", "response", "prompt")
    ).write_parquet(val)
    leaks = tmp_path / "leaks.parquet"
    proc = run_cli(
        "audit", str(train), "--text", "prompt", "--eval", f"heldout={val}", "--eval", str(val), "--leakage", str(leaks), "--json", "-"
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)["leakage"]
    assert set(report) == {"heldout", "val"}
    assert report["heldout"]["exact_in_train"] == 50
    assert report["heldout"]["near_in_train"] >= 50
    assert len(report["heldout"]["examples"]) == 10
    frame = pl.read_parquet(leaks)
    assert frame.columns == ["split", "eval_row", "train_row", "similarity", "kind"]
    assert set(frame["kind"]) == {"exact", "near"}
    assert frame.filter((pl.col("split") == "heldout") & (pl.col("kind") == "exact"))["eval_row"].to_list() == list(range(50))


def test_toolformer_tiers_near_excess_falls(shared_data):
    fractions = []
    for tier in ("dedupe-only", "similarity-0.9", "similarity-0.8", "similarity-0.7", "similarity-0.6"):
        result = epochplan.audit(shared_data / f"gpteacher_toolformer_{tier}.parquet", text="prompt", keep_clusters=False)
        assert result.near.duplicate_rows > result.exact.duplicate_rows
        fractions.append((result.near.duplicate_rows, result.near.duplicate_fraction))
    counts = [c for c, _ in fractions]
    shares = [f for _, f in fractions]
    assert counts == sorted(counts, reverse=True) and len(set(counts)) == 5
    assert shares == sorted(shares, reverse=True)


def test_same_clusters_on_any_thread_count(tmp_path, shared_data):
    data = str(shared_data / "gpteacher_codegen-instruct.parquet")
    outputs = []
    for threads in ("1", "2"):
        out = tmp_path / f"clusters-{threads}.parquet"
        proc = run_cli("audit", data, "--text", "prompt", "--clusters", str(out), "--json", "-", env={"RAYON_NUM_THREADS": threads})
        assert proc.returncode == 0, proc.stderr
        outputs.append((proc.stdout, pl.read_parquet(out)))
    assert outputs[0][0] == outputs[1][0]
    assert outputs[0][1].equals(outputs[1][1])
    # Today's columns are all there (issue 12 adds `similarity`, issue 15 the cluster sizes).
    assert outputs[0][1].columns[:4] == ["row", "exact_id", "near_id", "keep"]
    assert {"similarity", "exact_size", "near_size"} <= set(outputs[0][1].columns)


def test_conflicting_labels():
    texts = ["the cat sat on the mat today", "The cat sat on the mat today", "a dog", "a dog", "unique row here"]
    labels = ["pos", "neg", "x", "x", None]
    result = epochplan.audit(pl.DataFrame({"text": texts, "y": labels}), label="y")
    c = result.conflicts
    assert (c.exact_clusters, c.near_clusters, c.rows) == (1, 1, 2)
    assert c.examples[0].rows == [0, 1] and sorted(c.examples[0].labels) == ["neg", "pos"]
    assert result.to_dict()["conflicts"]["examples"][0]["rows"] == [0, 1]


def test_no_near_leaves_exact_only():
    result = epochplan.audit(pl.DataFrame({"text": ["a b c", "A B C"]}), near=False)
    assert result.near is None and "near" not in result.to_dict()
    assert result.clusters.columns == ["row", "exact_id", "keep", "exact_size"]
    assert result.clusters["exact_size"].to_list() == [2, 2]


def test_char_shingles_and_settings_in_json():
    # char 3-gram Jaccard of the first two is 0.78 (renamed variable); the third shares little
    code = [
        "for index in range(len(values)): total += values[index]",
        "for idx in range(len(values)): total += values[idx]",
        "print('hello world')",
    ]
    result = epochplan.audit(pl.DataFrame({"text": code}), shingle="char", ngram=3, threshold=0.5)
    d = result.to_dict()["near"]
    assert (d["shingle"], d["ngram"], d["threshold"], d["num_perm"]) == ("char", 3, 0.5, 128)
    assert d["bands"] * d["rows_per_band"] <= 128
    assert result.clusters["near_id"].to_list()[:2] == [0, 0]


def test_dedup_api_and_cli(tmp_path, shared_data):
    path = shared_data / "chatterbot_english.parquet"
    frame = pl.read_parquet(path)
    exact = epochplan.dedup(frame, level="exact")
    assert exact.columns == frame.columns and exact.height == 4419 - 2522
    assert epochplan.dedup(frame.lazy(), level="exact").equals(exact)
    near = epochplan.dedup(path)
    assert near.height == epochplan.audit(path).near.unique
    out = tmp_path / "dedup.parquet"
    proc = run_cli("dedup", str(path), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert pl.read_parquet(out).equals(near)
    jsonl = tmp_path / "dedup.jsonl"
    assert run_cli("dedup", str(path), "-o", str(jsonl), "--level", "exact").returncode == 0
    assert pl.read_ndjson(jsonl).height == exact.height


def test_dedup_keep_longest():
    frame = pl.DataFrame({"text": ["Hello world", "hello   WORLD", "other"], "id": [1, 2, 3]})
    assert epochplan.dedup(frame, level="exact")["id"].to_list() == [1, 3]
    assert epochplan.dedup(frame, level="exact", keep="longest")["id"].to_list() == [2, 3]


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["--threshold", "1.5"], "threshold"),
        (["--ngram", "0"], "ngram"),
        (["--no-near", "--threshold", "1.5"], "threshold"),
        (["--num-perm", "0"], "num_perm"),
        (["--shingle", "byte"], "byte"),
        (["--memory-budget", "lots"], "--memory-budget"),
        (["--eval", "missing.parquet"], "missing.parquet"),
        (["--leakage", "leaks.parquet"], "--eval"),
    ],
)
def test_new_flag_errors(tmp_path, args, fragment):
    sample = pl.DataFrame({"text": ["a b c d e f"] * 3})
    sample.write_parquet(tmp_path / "in.parquet")
    proc = run_cli("audit", str(tmp_path / "in.parquet"), *args, cwd=tmp_path)
    assert_clean_error(proc, fragment)
    assert not (tmp_path / "leaks.parquet").exists()


def test_eval_without_the_text_column(tmp_path):
    pl.DataFrame({"text": ["a"]}).write_parquet(tmp_path / "train.parquet")
    pl.DataFrame({"body": ["a"]}).write_parquet(tmp_path / "val.parquet")
    proc = run_cli("audit", str(tmp_path / "train.parquet"), "--eval", str(tmp_path / "val.parquet"))
    assert_clean_error(proc, "eval split 'val'", "no column 'text'")


def test_dedup_refuses_to_overwrite_input(tmp_path):
    path = tmp_path / "in.parquet"
    pl.DataFrame({"text": ["a", "a"]}).write_parquet(path)
    before = path.read_bytes()
    assert_clean_error(run_cli("dedup", str(path), "-o", str(path)), "input")
    assert path.read_bytes() == before


def test_near_only_cluster_preview_uses_the_core_normaliser():
    # Two near (not exact) duplicates: the representative has no stored exact preview, so it is
    # read back and normalised by the core (fullwidth folded, ideographic space collapsed, lowered).
    words = " ".join(f"w{i}" for i in range(40))
    texts = ["ＴＨＥ\u3000Report " + words + " end", "the report " + words + " fin"]
    result = epochplan.audit(pl.DataFrame({"text": texts}))
    assert result.exact.clusters == 0 and result.near.clusters == 1
    assert result.near.top[0].preview == ("the report " + words)[:80]


def _templated_with_copies(groups: int, seed: int = 2) -> list[str]:
    """`groups` different rows that share one 80-word text in their middle (their own 6 words
    before it, 20 after), then a copy of each with one word added (Jaccard 0.99 to its original):
    row groups + i copies row i."""
    rng = random.Random(seed)
    shared = " ".join(rng.choice(WORDS) for _ in range(80))
    rows = []
    for _ in range(groups):
        head = " ".join(rng.choice(WORDS) for _ in range(6))
        slot = " ".join(rng.choice(WORDS) for _ in range(20))
        rows.append(f"{head} {shared} {slot}")
    return rows + [row + " thanks" for row in rows]


@pytest.mark.parametrize("groups", [150, 400])
def test_a_copy_beyond_the_check_cap_still_joins_its_original(tmp_path, groups):
    """A row whose band buckets hold more than the cap's worth of earlier, different rows (a
    shared template) is verified against those sharing the most of its uncrowded buckets too:
    its true copy, far beyond the 64 lowest rows, is found. Before, about a quarter of the copies
    stood alone at 150 groups (near.unique 191 of 150) and no warning said so."""
    path = tmp_path / "templated.parquet"
    pl.DataFrame({"text": _templated_with_copies(groups)}).write_parquet(path)
    out, clusters = tmp_path / "audit.json", tmp_path / "clusters.parquet"
    run_cli("audit", str(path), "--verify", "exact", "--json", str(out), "--clusters", str(clusters), "-q")
    audit = json.loads(out.read_text())
    near_ids = pl.read_parquet(clusters)["near_id"].to_list()
    assert [near_ids[groups + i] for i in range(groups)] == list(range(groups))
    assert audit["near"]["unique"] == groups
    # The rows that reached the cap and found nothing are named in a warning.
    capped = [w for w in audit["warnings"] if w["id"] == "near-capped"]
    assert len(capped) == 1 and "may be missed" in capped[0]["message"]
    # The Markdown headline keeps the whole message, its advice too (it was cut at 300 characters).
    markdown = run_cli("audit", str(path), "--verify", "exact", "--markdown", "-", "-q").stdout
    assert capped[0]["message"] in " ".join(markdown.split()), markdown
    # check judges no such thing, but its terminal says so beside the gate.
    gate = run_cli("check", str(path), "--verify", "exact", "--exit-zero")
    assert "note near-capped:" in " ".join(gate.stdout.split()), gate.stdout


def test_templated_leakage_writes_every_match_in_order(tmp_path, monkeypatch):
    """Instruction-templated train and eval rows, a few eval rows exact copies: nearly every eval
    row near-matches many train rows. The --leakage file holds exact matches first, then near
    ones, each by eval row, near ones best first, then by train row (the core's order: the
    matches are no longer sorted again), and equals the Python API's `leaks`; written in slices
    it is the same file."""
    from epochplan import outputs

    rng = random.Random(3)
    words = "good bad fine great awful nice poor okay superb dull".split()

    def row(i: int) -> str:
        return (
            "Below is an instruction that describes a task. Classify the sentiment of the following product review "
            f"as positive or negative. Review: the item was {rng.choice(words)} and {rng.choice(words)}, shipping "
            f"{rng.choice(words)}. id {i}"
        )

    train_texts = [row(i) for i in range(300)]
    eval_texts = [row(10_000 + i) for i in range(60)] + train_texts[5:8]
    train, val = tmp_path / "train.parquet", tmp_path / "val.parquet"
    pl.DataFrame({"text": train_texts}).write_parquet(train)
    pl.DataFrame({"text": eval_texts}).write_parquet(val)
    proc = run_cli("audit", str(train), "--eval", str(val), "--leakage", str(tmp_path / "leaks.parquet"), "-q")
    assert proc.returncode == 0, proc.stderr
    leaks = pl.read_parquet(tmp_path / "leaks.parquet")
    assert leaks.columns == ["split", "eval_row", "train_row", "similarity", "kind"]
    assert leaks.height > 60 * 10 and set(leaks["kind"]) == {"exact", "near"}
    ordered = leaks.sort(["kind", "eval_row", "similarity", "train_row"], descending=[False, False, True, False], maintain_order=True)
    assert leaks.equals(ordered)
    assert leaks.filter(pl.col("kind") == "exact").select("eval_row", "train_row").rows() == [(60, 5), (61, 6), (62, 7)]
    result = epochplan.audit(str(train), eval=str(val))
    assert result.leaks.equals(leaks)
    assert result.leakage["val"].near_in_train == leaks["eval_row"].n_unique()
    monkeypatch.setattr(outputs, "WRITE_SLICE_ROWS", 97)
    outputs.write_parquet(tmp_path / "sliced.parquet", result.leaks)
    assert pl.read_parquet(tmp_path / "sliced.parquet").equals(leaks)


def _char_jaccard(a: str, b: str, n: int) -> float:
    x, y = ({t[i : i + n] for i in range(len(t) - n + 1)} for t in (a, b))
    return len(x & y) / len(x | y)


def test_long_rows_without_spaces_find_their_near_copies(tmp_path):
    """A 100 KB row without spaces (base64, DNA) was one whole-text shingle (fewer words than a
    word 5-gram): a copy with 50 characters changed was no near copy, by sketch or exact Jaccard.
    Under `--shingle auto` such a long row takes character 12-grams: the copies are found,
    unrelated DNA rows (which share every character 3-gram) stay apart, short rows too."""
    rng = random.Random(5)
    base64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    rows = []
    for alphabet in (base64, "ACGT"):
        original = [rng.choice(alphabet) for _ in range(100_000)]
        copy = list(original)
        for i in rng.sample(range(100_000), 50):
            copy[i] = "!"
        rows += ["".join(original), "".join(copy)]
    rows += ["".join(rng.choice("ACGT") for _ in range(100_000)) for _ in range(2)]
    rows += ["How are you?", "How are you!"]
    # Ground truth: the pairs' 12-gram Jaccard is high; unrelated DNA shares all 64 3-grams.
    assert min(_char_jaccard(rows[k].lower(), rows[k + 1].lower(), 12) for k in (0, 2)) > 0.98
    assert _char_jaccard(rows[2], rows[4], 12) < 0.02 and _char_jaccard(rows[4], rows[5], 3) == 1.0
    pl.DataFrame({"text": rows}).write_parquet(tmp_path / "long.parquet")
    for verify in ("sketch", "exact"):
        clusters = tmp_path / f"{verify}.parquet"
        audit = audit_json(str(tmp_path / "long.parquet"), "--verify", verify, "--clusters", str(clusters))
        assert pl.read_parquet(clusters)["near_id"].to_list() == [0, 0, 2, 2, 4, 5, 6, 7], verify
        assert (audit["near"]["clusters"], audit["near"]["shingle"]) == (2, "auto"), verify
    # `--shingle word` keeps one whole-text shingle per row.
    audit = audit_json(str(tmp_path / "long.parquet"), "--shingle", "word")
    assert audit["near"]["clusters"] == 0
