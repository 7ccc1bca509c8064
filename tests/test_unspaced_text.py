"""Text written without spaces (Chinese, Japanese, Thai): near copies found with default flags,
word statistics counted in words, and the new clustering / similarity / template outputs.

Corpora are generated here (benchmarks/corpus.py holds the same generator for benchmarks) with
their ground truth; nothing below is an epochplan computation checked against itself."""

from __future__ import annotations

import json
import math
import random
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

import polars as pl
import pytest

import epochplan
from epochplan import _epochplan

sys.path.insert(0, str(Path(__file__).parent.parent / "benchmarks"))
from corpus import generate_unspaced  # noqa: E402

# The scripts README.md lists as written without spaces (same ranges, written out independently).
UNSPACED = re.compile(
    "[\u0e00-\u0eff\u0f00-\u0fff\u1000-\u109f\u1780-\u17ff\u1950-\u197f\u1980-\u19df\u19e0-\u19ff\u1a00-\u1a1f"
    "\u1a20-\u1aaf\u1b00-\u1b7f\u3005-\u3007\u3021-\u3029\u3031-\u3035\u3038-\u303c\u3040-\u30ff\u3100-\u312f\u31a0-\u31bf\u31f0-\u31ff\u3400-\u4dbf\u4e00-\u9fff"
    "\ua000-\ua4cf\ua980-\ua9ff\uaa60-\uaa7f\uaa80-\uaadf\uf900-\ufaff\uff66-\uff9f\U000116d0-\U000116ff\U00011700-\U0001174f"
    "\U00016fe0-\U00016fff\U00017000-\U00018aff\U00018b00-\U00018cff\U00018d00-\U00018d7f\U0001aff0-\U0001afff"
    "\U0001b000-\U0001b16f\U0001b170-\U0001b2ff\U00020000-\U0003347f]"
)


def reference_words(text: str) -> list[str]:
    """Words as README.md defines them: whitespace-separated unless most letters are in
    unspaced scripts; then each such character is a word (but their punctuation and symbols),
    other runs of letters and digits, with the marks (Unicode category M) after them, one word."""
    letters = [c for c in text if c.isalpha()]
    unspaced = [c for c in letters if UNSPACED.match(c)]
    if len(unspaced) * 2 <= len(letters):
        return text.split()
    words, run = [], ""
    for c in text:
        if UNSPACED.match(c) and unicodedata.category(c)[0] not in "PS":
            if run:
                words.append(run)
                run = ""
            words.append(c)
        elif c.isalnum() or (run and unicodedata.category(c)[0] == "M"):
            run += c
        elif run:
            words.append(run)
            run = ""
    if run:
        words.append(run)
    return words


def pair_rows(frame: pl.DataFrame) -> list[tuple[int, int]]:
    return [(int(s), int(r)) for r, s in zip(frame["row"], frame["source_row"]) if s >= 0]


@pytest.mark.parametrize("language", ["chinese", "japanese"])
def test_planted_near_copies_found_with_default_flags(language):
    corpus = generate_unspaced(2_000, language=language, near_fraction=0.1, seed=3)
    result = epochplan.audit(corpus.select("text"))
    clusters = result.clusters
    near_id = clusters["near_id"].to_list()
    pairs = pair_rows(corpus.with_row_index("row"))
    assert len(pairs) == 200
    assert all(near_id[a] == near_id[b] for a, b in pairs)
    # Exactly the planted groups: a copy is led by its (earlier) original, nothing else merged.
    truth = [s if s >= 0 else r for r, s in enumerate(corpus["source_row"])]
    assert near_id == truth
    assert result.near.unique == corpus.filter(pl.col("kind") == "original").height
    assert result.near.shingle == "auto" and result.near.char_ngram == 3
    # Each planted copy's similarity is the estimate against its original (the representative).
    sim = clusters["similarity"].to_list()
    assert all(sim[a] == 1.0 and 0.7 <= sim[b] < 1.0 for a, b in pairs)
    # Word shingles take each character of these scripts as a word (whitespace alone saw each
    # document as one shingle, and found no copy): word 5-grams find nearly every copy too.
    assert epochplan.audit(corpus.select("text"), shingle="word").near.duplicate_rows >= 190


def test_word_shingles_of_unspaced_text_take_each_character_as_a_word():
    """`shingle="word"` sketches unspaced text by its characters (each a word): two documents
    sharing 19 of 20 phrases are near copies, a third with other phrases is not."""
    rng = random.Random(7)
    phrases = ["".join(chr(rng.randrange(0x4E00, 0x9FA5)) for _ in range(8)) for _ in range(41)]
    first = " ".join(phrases[:20])
    second = " ".join(phrases[:19] + [phrases[40]])
    other = " ".join(phrases[20:40])
    result = epochplan.audit(pl.DataFrame({"text": [first, second, other]}), shingle="word")
    near_id = result.clusters["near_id"].to_list()
    assert near_id == [0, 0, 2]


def test_word_statistics_count_unspaced_words():
    texts = ["我们今天去公园散步。", "東京はデータの首都です", "ภาษาไทยเขียนติดกัน", "hello brave new world", "用Python写2个函数"]
    result = epochplan.audit(pl.DataFrame({"text": texts}))
    counts = [len(reference_words(t)) for t in texts]
    assert result.lengths.words.max == max(counts)
    assert result.lengths.words.mean == pytest.approx(sum(counts) / len(counts))
    vocabulary = {w for t in texts for w in reference_words(t.lower())}
    assert result.diversity.vocabulary == len(vocabulary)


def test_punctuation_of_unspaced_scripts_is_no_word():
    # The Katakana middle dot, the Tibetan tsheg, Khmer, Myanmar and Thai marks of punctuation,
    # the baht sign: not words, as 。 is not; marks and digits of those scripts stay words.
    texts = ["コーヒー・カップ", "བོད་ཡིག་", "ខ្ញុំ។", "ภาษา๚ ราคา ๒๐ ฿", "မြန်မာ။"]
    for text in texts:
        result = epochplan.audit(pl.DataFrame({"text": [text]}), near=False)
        assert result.lengths.words.max == len(reference_words(text)), text
        assert result.diversity.vocabulary == len(set(reference_words(text))), text
    assert reference_words("コーヒー・カップ") == list("コーヒーカップ")


def test_indic_words_and_han_iteration_marks_in_unspaced_rows(tmp_path):
    """The virama and nukta (marks, not letters) split the Devanagari word of a Japanese row:
    11 words for 10. 々 (Script=Han, outside the CJK blocks) was no unspaced letter: 人々 and 時々
    were not mostly unspaced and one whitespace word each, not two."""
    from conftest import run_cli

    texts = ["日本語でनमस्तेと言います", "人々", "時々", "ज़मीन 東京タワー", "今日は楽しかった☀️⭐️"]
    # The variation selector of ☀️ (a mark after a symbol) starts no word of its own.
    assert [len(reference_words(t)) for t in texts] == [10, 2, 2, 6, 8]
    pl.DataFrame({"text": texts}).write_parquet(tmp_path / "m.parquet")
    proc = run_cli("audit", str(tmp_path / "m.parquet"), "--json", str(tmp_path / "m.json"), "-q")
    assert proc.returncode == 0, proc.stderr
    audit = json.loads((tmp_path / "m.json").read_text())
    assert audit["lengths"]["words"]["max"] == 10
    assert audit["lengths"]["words"]["mean"] == pytest.approx(28 / 5)
    vocabulary = {w for t in texts for w in reference_words(t)}
    assert audit["diversity"]["vocabulary"] == len(vocabulary) == 26


def test_real_multilingual_chatterbot_words_are_not_one_per_utterance():
    data = pl.read_parquet("/work/shared/data/chatterbot_multilingual.parquet")
    for lang in ("chinese", "japanese"):
        texts = data.filter(pl.col("lang") == lang).select("text")
        result = epochplan.audit(texts)
        rows = texts.drop_nulls().height
        expected = sum(len(reference_words(t)) for t in texts["text"].drop_nulls())
        assert result.lengths.words.mean == pytest.approx(expected / rows)
        assert result.lengths.words.mean > 3  # was ~1: a whole utterance counted as one word


def test_chains_split_under_representative_and_merge_under_components(tmp_path):
    import random

    rng = random.Random(4)
    vocab = [f"w{i}" for i in range(20_000)]
    texts = []
    for _ in range(8):
        doc = [rng.choice(vocab) for _ in range(200)]
        for _ in range(25):
            texts.append(" ".join(doc))
            for _ in range(2):
                doc[rng.randrange(200)] = f"x{rng.randrange(10**6)}"
    frame = pl.DataFrame({"text": texts})
    rep = epochplan.audit(frame)
    comp = epochplan.audit(frame, clustering="components")
    assert rep.near.clustering == "representative" and comp.near.clustering == "components"
    assert comp.near.largest_cluster >= 20  # chained
    assert rep.near.largest_cluster < 20

    # Every member resembles its representative: exact word-5-gram Jaccard, computed here.
    def grams(t):
        w = t.split()
        return {tuple(w[i : i + 5]) for i in range(len(w) - 4)}

    c = rep.clusters
    for row, near in zip(c["row"], c["near_id"]):
        a, b = grams(texts[near]), grams(texts[row])
        assert len(a & b) / len(a | b) >= 0.58, (row, near)


def test_cli_flags_and_json_record_the_settings(tmp_path):
    corpus = generate_unspaced(500, language="chinese", near_fraction=0.1, seed=5)
    data = tmp_path / "zh.parquet"
    corpus.select("text").write_parquet(data)
    out, clusters = tmp_path / "a.json", tmp_path / "c.parquet"
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "epochplan",
            "audit",
            str(data),
            "--json",
            str(out),
            "--clusters",
            str(clusters),
            "-q",
            "--clustering",
            "components",
            "--char-ngram",
            "4",
            "--shingle",
            "auto",
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    near = json.loads(out.read_text())["near"]
    assert (near["clustering"], near["char_ngram"], near["shingle"]) == ("components", 4, "auto")
    frame = pl.read_parquet(clusters)
    assert {"row", "exact_id", "near_id", "keep"} <= set(frame.columns) and "similarity" in frame.columns
    truth = corpus.filter(pl.col("kind") == "near")["source_row"].n_unique()
    assert near["clusters"] == truth
    bad = subprocess.run([sys.executable, "-m", "epochplan", "audit", str(data), "--clustering", "chain"], capture_output=True, text=True)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_template_candidates_name_the_shared_opening():
    data = pl.read_parquet("/work/shared/data/gpteacher_toolformer_similarity-0.6.parquet")
    auditor = _epochplan.Auditor(near=False)
    auditor.update(data["prompt"])
    candidates = auditor.template_candidates()
    top = candidates[0]
    # Every prompt opens with the same tool-use boilerplate (checked with polars below).
    opening = pl.Series([" ".join(p.lower().split())[:32] for p in data["prompt"]])
    assert (top["side"], top["chars"], top["count"]) == ("prefix", 32, opening.value_counts()["count"].max())
    text = _epochplan.template_text(data["prompt"][top["row"]], top["side"], top["chars"])
    assert text == opening[0] and text.startswith("toolformer: enabled")
    long = [c for c in candidates if c["chars"] == 128 and c["side"] == "prefix"]
    assert long and math.isclose(sum(c["count"] for c in long) / data.height, 1.0, abs_tol=0.2)


def test_same_clusters_and_similarity_across_threads_batches_and_spilling(tmp_path):
    # 15 k rows × 672 bytes of sketch and band keys outgrow half of a 16 MiB budget: it spills.
    corpus = generate_unspaced(15_000, language="chinese", near_fraction=0.1, seed=9)
    data = tmp_path / "zh.parquet"
    corpus.select("text").write_parquet(data)
    runs = []
    for threads, batch, budget in (("1", "100000", "1GB"), ("2", "777", "1GB"), ("2", "1000", "16MiB")):
        out = tmp_path / f"c-{threads}-{batch}-{budget}.parquet"
        proc = subprocess.run(
            [sys.executable, "-m", "epochplan", "audit", str(data), "--clusters", str(out), "--json", "-", "-q", "--memory-budget", budget],
            capture_output=True,
            text=True,
            env={**__import__("os").environ, "RAYON_NUM_THREADS": threads, "EPOCHPLAN_BATCH_ROWS": batch},
        )
        assert proc.returncode == 0, proc.stderr
        runs.append((json.loads(proc.stdout)["near"], pl.read_parquet(out)))
    for near, frame in runs[1:]:
        assert near == runs[0][0]
        assert frame.equals(runs[0][1])


def test_chinese_with_latin_terms_finds_its_near_copies_in_train_eval_and_exact_verification():
    """More Latin letters than Han characters: word shingles, whose whitespace words were a few
    long runs (one whole-text shingle: no near copy, no near leak). The same text with one
    character changed is found in the input, as a leak of an eval split, under either
    verification, and under --normalize none (the fused and the plain sketch paths agree)."""
    base = (
        "请用PythonScript写一个function来parseJSONLines文件然后把结果writeToDatabase里面保存起来，"
        "再用PandasDataFrame做统计并且在JupyterNotebook中画图最后导出成ExcelWorkbook给同事看"
    )
    copy = base.replace("保存", "保留")
    other = "完全不同的一段话讲的是天气和DifferentTopicsAltogether没有关系的内容也不会被合并"
    train = pl.DataFrame({"text": [base, copy, other]})
    for options in ({}, {"verify": "exact"}, {"normalize": "none"}):
        result = epochplan.audit(train, **options)
        assert result.clusters["near_id"].to_list() == [0, 0, 2], options
        leaks = epochplan.audit(train.slice(0, 1), eval={"val": pl.DataFrame({"text": [copy, other]})}, **options)
        assert leaks.leakage["val"].near_in_train == 1, options


# Letters of scripts written without spaces (README, `--shingle`), by code point: Python's
# `unicodedata` may predate some of them, the core takes them by range.
UNSPACED_LETTERS = {
    "han": (0x4E00, 0x9FA5),
    "tai_tham": (0x1A20, 0x1A54),
    "new_tai_lue": (0x1980, 0x19AB),
    "buginese": (0x1A00, 0x1A16),
    "tangut": (0x17000, 0x187F7),
    "khitan": (0x18B00, 0x18CD5),
    "nushu": (0x1B170, 0x1B2FB),
    "cjk_extension_h": (0x31350, 0x323AF),
}


@pytest.mark.parametrize("script", sorted(UNSPACED_LETTERS))
def test_near_copies_found_in_every_unspaced_script(tmp_path, script):
    """5 texts of 300 letters, each with a copy that has 3 % of its letters replaced (character
    3-gram Jaccard ≈ 0.84): all 5 pairs found with default flags, and each letter a word. Tai Tham,
    New Tai Lue, Buginese, Tangut, Khitan, Nüshu and CJK extension H were one word a row: no
    shingle in common, no pair found."""
    from conftest import run_cli

    lo, hi = UNSPACED_LETTERS[script]
    rng = random.Random(11)
    rows = []
    for _ in range(5):
        letters = [chr(rng.randint(lo, hi)) for _ in range(300)]
        copy = list(letters)
        for i in rng.sample(range(300), 9):
            copy[i] = chr(rng.randint(lo, hi))
        rows += ["".join(letters), "".join(copy)]
    pl.DataFrame({"text": rows}).write_parquet(tmp_path / "q.parquet")
    proc = run_cli(
        "audit", str(tmp_path / "q.parquet"), "--clusters", str(tmp_path / "q_cl.parquet"),
        "--json", str(tmp_path / "q.json"), "-q",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    near_id = pl.read_parquet(tmp_path / "q_cl.parquet")["near_id"].to_list()
    assert near_id == [r - r % 2 for r in range(10)], script
    audit = json.loads((tmp_path / "q.json").read_text())
    assert audit["near"]["shingle"] == "auto" and audit["lengths"]["words"]["max"] == 300, script


def test_text_choice_counts_words_as_the_core_does():
    """The text choice's word counter (`text_choice.word_count`) and its letters of unspaced
    scripts are the core's: a Chinese sentence is its characters, not one whitespace "word"."""
    from epochplan.auditing import text_choice

    texts = [
        "请解释一下量子计算的基本原理是什么？",
        "東京はデータの首都です",
        "ภาษาไทยเขียนติดกัน",
        "양자 컴퓨팅의 기본 원리",
        "hello brave new world",
    ]
    texts += ["用Python写2个函数", "日本語でनमस्तेと言います", "人々", "コーヒー・カップ", "the word 東京 in English", ""]
    for text in texts:
        assert text_choice.word_count(text) == len(reference_words(text)), text
        if text:
            assert epochplan.audit(pl.DataFrame({"text": [text]}), near=False).lengths.words.max == len(reference_words(text)), text
    chars = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF)
    assert text_choice._UNSPACED.findall(chars) == UNSPACED.findall(chars)


# A label column in each script beside a conversation in that script: Chinese, Japanese and Thai
# write no spaces (each sentence was one whitespace "word", below the 3 a row that reads as text,
# so the audit measured the four labels, silently); Korean writes spaces, as English does.
CONVERSATIONS = {
    "zh": (["知乎", "百度", "微博", "豆瓣"], "请解释一下量子计算的基本原理是什么？", "量子计算利用量子比特的叠加和纠缠来进行并行计算。"),
    "ja": (["ニュース", "スポーツ", "天気", "経済"], "量子コンピュータの基本原理を説明してください。", "量子ビットの重ね合わせを利用します。"),
    "th": (["ข่าว", "กีฬา", "อากาศ", "เศรษฐกิจ"], "ช่วยอธิบายหลักการของคอมพิวเตอร์ควอนตัม", "คอมพิวเตอร์ควอนตัมใช้คิวบิต"),
    "ko": (["뉴스", "스포츠", "날씨", "경제"], "양자 컴퓨팅의 기본 원리를 설명해 주세요.", "양자 컴퓨팅은 큐비트를 사용합니다."),
    "en": (["Airoboros", "General QA", "Know-Logic", "EverythingLM"], "Please explain quantum computing.", "It uses qubits."),
}  # fmt: skip


@pytest.mark.parametrize("language", sorted(CONVERSATIONS))
def test_a_conversation_in_any_script_is_chosen_over_a_source_beside_it(language):
    sources, question, answer = CONVERSATIONS[language]
    conversation = [[{"role": "user", "content": f"{question}{i}"}, {"role": "assistant", "content": answer}] for i in range(40)]
    result = epochplan.audit(pl.DataFrame({"source": sources * 10, "conversation": conversation}), near=False)
    assert (result.source.text_columns, result.exact.unique) == (["conversation"], 40)
    assert any(w.id == "text-column" and "in place of 'source'" in w.message for w in result.warnings)
    # Beside two conversations, the source is audited and the warning names them (it said nothing).
    pairs = {"source": sources * 10, "chosen": conversation, "rejected": [list(reversed(c)) for c in conversation]}
    result = epochplan.audit(pl.DataFrame(pairs), near=False)
    assert result.source.text_columns == ["source"]
    assert any(w.id == "text-column" and "text='chosen'" in w.message for w in result.warnings)


def test_chinese_mt_bench_turns_are_chosen_and_chinese_tags_and_texts_are_not_labels(tmp_path):
    """MT-Bench translated (`category` 写作, 数学 … beside `turns` of two Chinese sentences) is its
    turns; a list of one-word Chinese tags beside a category is no text (as `sports`, `news` are
    not); a `text` of Chinese reviews beside a `label` of 正面/负面 stays the text."""
    from conftest import audit_json

    categories = ["写作", "角色扮演", "推理", "数学", "编程", "提取", "理科", "人文"]
    turns = ["写一篇关于最近去夏威夷旅行的博客文章，重点介绍文化体验。", "用字母A开头的词重写你的上一个回答。"]
    rows = [{"question_id": 81 + i, "category": categories[i // 10], "turns": [f"{turns[0]}{i}", turns[1]]} for i in range(80)]
    path = tmp_path / "question.jsonl"
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")
    result = audit_json(str(path), "--no-near")
    assert (result["source"]["text_columns"], result["exact"]["unique"]) == (["turns"], 80)
    assert any(w["id"] == "text-column" and "pass --text category" in w["message"] for w in result["warnings"])
    tags = pl.DataFrame({"category": ["新闻", "体育"] * 20, "tags": [["体育", "足球", "新闻"], ["ニュース", "天気"]] * 20})
    assert epochplan.audit(tags, near=False).source.text_columns == ["category"]
    reviews = [f"这家餐厅的菜非常好吃，服务也很周到，第{i}次来。" for i in range(40)]
    result = epochplan.audit(pl.DataFrame({"label": ["正面", "负面"] * 20, "text": reviews}), near=False)
    assert (result.source.text_columns, result.exact.unique) == (["text"], 40)
