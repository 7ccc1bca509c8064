"""Chat data: a conversation column (a list of messages, OpenAI/TRL `role`/`content` or ShareGPT
`from`/`value`) or a list of strings is audited as its messages' text, one message a line. Built
from real rows (GPTeacher toolformer: user = `prompt`, assistant = `response`), so every number
must equal the audit of `--text prompt --text response`, which joins the same texts the same way."""

from __future__ import annotations

import json

import polars as pl
import pytest

import epochplan
from conftest import assert_clean_error, audit_json, run_cli

SOURCE = "gpteacher_toolformer_dedupe-only.parquet"  # 7673 rows; 2 exact and many near duplicates of prompt+response


def _without_source(result: dict) -> dict:
    """Everything the audit counts: the source section names other columns, and the template
    warning's advice names the other string columns, which differ by construction."""
    return {k: v for k, v in result.items() if k not in ("source", "warnings")}


def _messages(role: str, content: str, user: str, assistant: str) -> pl.Expr:
    turn = lambda who, column: pl.struct(pl.lit(who).alias(role), pl.col(column).alias(content))  # noqa: E731
    return pl.concat_list(turn(user, "prompt"), turn(assistant, "response"))


@pytest.fixture(scope="module")
def original(shared_data) -> pl.DataFrame:
    return pl.read_parquet(shared_data / SOURCE)


@pytest.fixture(scope="module")
def reference(shared_data) -> dict:
    result = audit_json(str(shared_data / SOURCE), "--text", "prompt", "--text", "response")
    assert result["rows"] == 7673 and result["exact"]["duplicate_rows"] > 0 and result["near"]["duplicate_rows"] > 0
    return result


@pytest.fixture(scope="module")
def chat_files(tmp_path_factory, original) -> dict:
    d = tmp_path_factory.mktemp("chat")
    openai = original.select(
        pl.int_range(pl.len()).cast(pl.String).alias("id"), _messages("role", "content", "user", "assistant").alias("messages")
    )
    sharegpt = original.select(_messages("from", "value", "human", "gpt").alias("conversations"))
    files = {"openai_parquet": d / "chat.parquet", "openai_jsonl": d / "chat.jsonl", "sharegpt_json_array": d / "sharegpt.json"}
    openai.write_parquet(files["openai_parquet"])
    openai.write_ndjson(files["openai_jsonl"])
    files["sharegpt_json_array"].write_text(json.dumps(sharegpt.to_dicts(), ensure_ascii=False))
    return files


@pytest.mark.parametrize("layout", ["openai_parquet", "openai_jsonl", "sharegpt_json_array"])
def test_a_conversation_audits_like_its_messages_joined(chat_files, reference, layout):
    result = audit_json(str(chat_files[layout]))  # no --text: `messages` / `conversations` is chosen
    assert result["source"]["text_columns"] == ["conversations" if layout.startswith("sharegpt") else "messages"]
    assert _without_source(result) == _without_source(reference)
    # The example texts are read back from the file and rendered as the audit saw them.
    top = result["exact"]["top"][0]
    assert top["text"].count("\n") >= 1 and top == reference["exact"]["top"][0]


def test_dedup_keeps_the_conversation_column_as_it_was(chat_files, reference, tmp_path):
    out = tmp_path / "clean.parquet"
    proc = run_cli("dedup", str(chat_files["openai_parquet"]), "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    kept = pl.read_parquet(out)
    given = pl.read_parquet(chat_files["openai_parquet"])
    assert kept.height == reference["exact"]["unique"] and kept.schema == given.schema
    assert kept.equals(given.filter(pl.col("id").is_in(kept["id"].implode())))  # rows as they were, in order, not re-rendered


def test_which_column_and_how_each_kind_reads():
    conversation = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": None}, {"role": "assistant", "content": "Hi"}]
    frame = pl.DataFrame({"id": ["a", "b", "c", "d"], "messages": [conversation, conversation, [], None]})
    result = epochplan.audit(frame)
    assert result.source.text_columns == ["messages"]  # a candidate name, before the only-string-column rule
    # Before `prompt` too: in chat data (UltraChat's layout) the prompt is only the first message.
    assert epochplan.audit(frame.with_columns(prompt=pl.col("id"))).source.text_columns == ["messages"]
    assert (result.rows, result.null_rows, result.empty_rows, result.exact.unique) == (4, 1, 1, 2)
    # Any other name: chosen when it is the only text column; messages without content are left out.
    only = epochplan.audit(pl.DataFrame({"dialog": [conversation], "score": [1]}))
    assert only.source.text_columns == ["dialog"] and only.lengths.chars.max == len("Be brief.\nHi")
    # A list of strings is text when named, one item a line; as a stray column (tags) it is not a candidate.
    turns = pl.DataFrame({"body": ["x y", "x y"], "tags": [["a", None, "b"], ["a\nb"]]})
    assert epochplan.audit(turns).source.text_columns == ["body"]
    assert epochplan.audit(turns, text="tags").exact.unique == 1
    # With no string column, a list of strings is the dialogue (DailyDialog: `dialog`, `act`, `emotion`).
    dialogue = pl.DataFrame({"dialog": [["Hi!", "Hello."], ["Hi!", "Hello."], ["Bye."]], "act": [[1, 2], [1, 2], [3]]})
    assert epochplan.audit(dialogue).source.text_columns == ["dialog"] and epochplan.audit(dialogue).exact.unique == 2


def test_a_list_that_is_not_text_exits_2_naming_what_is(tmp_path):
    path = tmp_path / "scores.parquet"
    pl.DataFrame({"m": [[{"id": 1, "score": 0.5}]]}).write_parquet(path)
    proc = run_cli("audit", str(path), "--text", "m", "--json", str(tmp_path / "out.json"))
    assert_clean_error(proc, "scores.parquet", "column 'm'", "not text", "a conversation")
    assert not (tmp_path / "out.json").exists()


# Multimodal content parts: OpenAI's and Hugging Face's layouts. A part's type is in its values,
# not in the schema ({"type": "image"} adds no field), so text-looking parts may stand beside images.
def _parts(i: int) -> list[dict]:
    return [{"type": "image_url", "image_url": {"url": f"http://x/{i}.png"}}, {"type": "text", "text": "describe this image"}]


def _write(rows: list[dict], path) -> str:
    if str(path).endswith(".parquet"):
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return str(path)


REFUSED = "images would not be compared"


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_column_of_content_parts_is_refused_not_read_as_turns(tmp_path, suffix):
    # Read as a conversation of its `text` fields, every row was the one text "describe this
    # image" (20 rows, 1 unique) and dedup kept 1 of 20 different images.
    path = _write([{"content": _parts(i)} for i in range(20)], tmp_path / f"content{suffix}")
    for args in ([], ["--text", "content"]):
        proc = run_cli("audit", path, *args, "--json", str(tmp_path / "out.json"))
        assert_clean_error(proc, f"content{suffix}", "column 'content'", "content parts", REFUSED)
    assert not (tmp_path / "out.json").exists()
    proc = run_cli("dedup", path, "-o", str(tmp_path / "kept.parquet"))
    assert_clean_error(proc, "column 'content'", REFUSED)
    assert not (tmp_path / "kept.parquet").exists()
    # HF's layout: an image part with no field of its own beside text parts is refused too.
    hf = _write([{"content": [{"type": "image"}, {"type": "text", "text": "what is it"}]}] * 3, tmp_path / f"hf{suffix}")
    assert_clean_error(run_cli("audit", hf), "column 'content'", REFUSED)


@pytest.mark.parametrize("suffix", [".jsonl", ".parquet"])
def test_a_chat_column_of_parts_is_refused_not_swapped_for_another_column(tmp_path, suffix):
    question = lambda i: [{"type": "text", "text": f"question {i % 10} about cats"}]  # noqa: E731
    openai = [
        {
            "id": f"conv-{i}",
            "messages": [{"role": "user", "content": question(i)}, {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}],
        }
        for i in range(50)
    ]
    llava = [
        {
            "image_id": f"{i}.jpg",
            "conversations": [
                {"from": "human", "value": [{"type": "image"}, *question(i)]},
                {"from": "gpt", "value": [{"type": "text", "text": "a cat"}]},
            ],
        }
        for i in range(30)
    ]
    # Each audited its other string column (`id`, `image_id`): all rows unique, no warning.
    for rows, name, column in ((openai, "openai", "messages"), (llava, "llava", "conversations")):
        path = _write(rows, tmp_path / f"{name}{suffix}")
        assert_clean_error(run_cli("audit", path), f"{name}{suffix}", f"column {column!r}", "a list of parts", REFUSED, "--text")
        # The only column: refused for its parts, not "no string column to audit".
        alone = _write([{column: r[column]} for r in rows], tmp_path / f"{name}_alone{suffix}")
        proc = run_cli("audit", alone)
        assert_clean_error(proc, f"column {column!r}", "a list of parts", REFUSED)
        assert "no string column" not in proc.stderr
    # Another column named with --text is audited as asked.
    assert audit_json(str(tmp_path / f"openai{suffix}"), "--text", "id", "--no-near")["exact"]["unique"] == 50
    # In memory too, whichever way the column is chosen.
    frame = pl.DataFrame(openai)
    for text in (None, "messages"):
        with pytest.raises(epochplan.InputError, match="column 'messages' holds messages whose content is a list of parts"):
            epochplan.audit(frame, text=text, near=False)


def test_spans_with_a_type_beside_a_string_column_do_not_block_it():
    # A list of {type, text} structs without media may be other data (named entities): a string
    # column beside it is still the one chosen, as before.
    frame = pl.DataFrame({"sentence": ["Ann met Bob", "Ann met Bob"], "entities": [[{"type": "PER", "text": "Ann"}]] * 2})
    result = epochplan.audit(frame, near=False)
    assert result.source.text_columns == ["sentence"] and result.exact.unique == 1


def _mixed(i: int, parts: bool) -> dict:
    text = f"question {i % 50} about dogs number {i % 50}"
    return {
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": text}] if parts else text},
            {"role": "assistant", "content": "fine"},
        ]
    }


def test_json_lines_with_parts_in_some_lines_and_strings_in_others_are_refused(tmp_path):
    # polars reads the key as strings and each list as its JSON text: the parts rows were audited
    # as `[{"type": "text", ...}]` (100 unique of 100, exit 0).
    strings_first = [_mixed(i, i >= 50) for i in range(100)]
    cases = {
        "strings_first.jsonl": (strings_first, 51),
        "parts_first.jsonl": (strings_first[50:] + strings_first[:50], 1),
        # Past the first 2 MB the columns' types come from.
        "late.jsonl": ([_mixed(i, False) | {"pad": "x" * 300} for i in range(8000)] + [_mixed(1, True)], 8001),
        "top_level.jsonl": ([{"content": f"describe {i}"} for i in range(10)] + [{"content": _parts(1)}], 11),
        # a key in another script, as Python's json writes it (escaped): the search missed it
        "escaped.jsonl": ([{"текст": f"вопрос {i}"} for i in range(10)] + [{"текст": _parts(1)}], 11),
    }
    for name, (rows, line) in cases.items():
        path = _write(rows, tmp_path / name)
        if name == "late.jsonl":
            assert (tmp_path / name).stat().st_size > 2 << 20
        proc = run_cli("audit", path, "--no-near", "--json", str(tmp_path / "out.json"))
        column = {"top_level.jsonl": "content", "escaped.jsonl": "текст"}.get(name, "messages")
        assert_clean_error(proc, name, f"line {line:,}:", f"key {column!r}", "list of", "where other lines hold text", REFUSED)
        assert not (tmp_path / "out.json").exists()
    import gzip

    (tmp_path / "mixed.jsonl.gz").write_bytes(gzip.compress((tmp_path / "strings_first.jsonl").read_bytes()))
    assert_clean_error(run_cli("audit", str(tmp_path / "mixed.jsonl.gz"), "--no-near"), "mixed.jsonl.gz", "line 51:", REFUSED)
    assert_clean_error(run_cli("dedup", str(tmp_path / "strings_first.jsonl"), "-o", str(tmp_path / "kept.jsonl")), "line 51:", REFUSED)
    assert not (tmp_path / "kept.jsonl").exists()


def test_message_text_that_looks_like_a_json_list_is_text(tmp_path):
    # Strings that parse as JSON lists are what was said (a sorted list, a JSON answer), not parts.
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"sort {i}"},
                {"role": "assistant", "content": "[1, 2, 3]" if i % 2 else '[{"type": "x"}]'},
            ]
        }
        for i in range(20)
    ] + [{"messages": [{"role": "user", "content": "sort 0"}, {"role": "assistant", "content": '[{"type": "x"}]'}]}]
    result = audit_json(_write(rows, tmp_path / "answers.jsonl"), "--no-near")
    assert (result["rows"], result["exact"]["unique"]) == (21, 20)
    top = result["exact"]["top"][0]
    assert top["count"] == 2 and top["text"] == 'sort 0\n[{"type": "x"}]'


def test_a_text_column_named_twice_is_refused(tmp_path):
    # Joined twice, every text and token count doubled.
    path = _write([{"question": f"q {i}", "answer": "a"} for i in range(10)], tmp_path / "q.jsonl")
    for args in (["--text", "question", "--text", "question"], ["--text", "question", "--text", "answer", "--text", "question"]):
        assert_clean_error(run_cli("audit", path, *args), "'question' is named more than once")
    with pytest.raises(epochplan.InputError, match="'question' is named more than once"):
        epochplan.audit(pl.DataFrame({"question": ["q"]}), text=["question", "question"])


def test_the_label_column_named_as_text_is_refused(tmp_path):
    """`--text label --label label` ran: every distinct text its own class, every duplicate
    cluster of one label. Refused as a text column named twice is, in every command."""
    path = _write([{"question": f"q {i % 5}", "label": f"q {i % 5}"} for i in range(10)], tmp_path / "q.jsonl")
    for command in (["audit", "--no-near"], ["check", "--no-near"], ["dedup", "-o", str(tmp_path / "out.jsonl")]):
        for text in (["--text", "question"], ["--text", "label", "--text", "question"]):
            proc = run_cli(command[0], path, *command[1:], *text[-2:] if command[0] != "audit" else text, "--label", "question")
            assert_clean_error(proc, "label column 'question' is also a text column")
    assert not (tmp_path / "out.jsonl").exists()
    with pytest.raises(epochplan.InputError, match="label column 'label' is also a text column"):
        epochplan.audit(pl.DataFrame({"label": ["q"]}), text="label", label="label")


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_typed_records_and_media_records_are_not_content_parts(tmp_path, suffix):
    """Lists of typed records that are not chat parts (a dialogue's turns with a speaker,
    document elements with an id, entity spans with offsets) read as before, named or chosen;
    records with a media field but no `type` (figures with captions) do not stop the only string
    column beside them from being chosen."""
    turns = [
        {"dialogue": [{"speaker": "A", "type": "utterance", "text": f"hi {i % 5}"}, {"speaker": "B", "type": "utterance", "text": "ho"}]}
        for i in range(20)
    ]
    result = audit_json(_write(turns, tmp_path / f"turns.{suffix}"), "--no-near")
    assert (result["source"]["text_columns"], result["exact"]["unique"]) == (["dialogue"], 5)
    elements = [{"elements": [{"type": "Title", "text": f"doc {i % 4}", "element_id": f"e{i}"}]} for i in range(12)]
    assert audit_json(_write(elements, tmp_path / f"elements.{suffix}"), "--no-near", "--text", "elements")["exact"]["unique"] == 4
    figures = [{"question": f"what is shown {i % 3}", "figures": [{"image": f"{i}.png", "caption": "c"}]} for i in range(9)]
    result = audit_json(_write(figures, tmp_path / f"figures.{suffix}"), "--no-near")
    assert (result["source"]["text_columns"], result["exact"]["unique"]) == (["question"], 3)


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_merged_layouts_read_each_messages_own_text_field(tmp_path, suffix):
    """ShareGPT rows (`from`/`value`) and OpenAI rows (`role`/`content`) in one column, as a merged
    dataset holds them, read as one struct of all four fields: each message's text is the field
    it has, not one field for the whole column (which made every ShareGPT row empty, all copies
    of one another, and `dedup` dropped all but one)."""
    sharegpt = [
        {"conversations": [{"from": "human", "value": f"question {i}"}, {"from": "gpt", "value": f"answer {i}"}]} for i in range(30)
    ]
    openai = [
        {"conversations": [{"role": "user", "content": f"question {i}"}, {"role": "assistant", "content": f"answer {i}"}]}
        for i in range(25, 40)
    ]
    path = _write(sharegpt + openai, tmp_path / f"merged.{suffix}")
    result = audit_json(path, "--no-near")
    assert result["source"]["text_columns"] == ["conversations"]
    # Rows 25-29 say the same in both layouts: five copies, found whichever layout holds them.
    assert (result["rows"], result["empty_rows"], result["exact"]["unique"], result["exact"]["duplicate_rows"]) == (45, 0, 40, 5)
    assert result["exact"]["top"][0]["text"] == "question 25\nanswer 25"
    out = tmp_path / f"kept.{suffix}"
    proc = run_cli("dedup", path, "--level", "exact", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert (pl.read_parquet(out) if suffix == "parquet" else pl.read_ndjson(out)).height == 40


CATEGORIES = ["writing", "roleplay", "reasoning", "math", "coding", "extraction", "stem", "humanities"]


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_a_conversation_is_chosen_over_a_category_beside_it(tmp_path, suffix):
    """The only string column was chosen before a conversation or list of turns beside it:
    MT-Bench's question.jsonl (`category` beside `turns`) audited 80 questions as 8 texts, each
    "a copy" of nine others; Capybara (`source` beside `conversation` of input/output turns) as
    its four source names. A column that looks like metadata (few short values, or one word
    each) gives way to the one such column; a string column of text does not."""
    mt_bench = [{"question_id": 81 + i, "category": CATEGORIES[i // 10], "turns": [f"question {i}", f"follow-up {i}"]} for i in range(80)]
    result = audit_json(_write(mt_bench, tmp_path / f"question.{suffix}"), "--no-near")
    assert (result["source"]["text_columns"], result["exact"]["unique"]) == (["turns"], 80)
    assert result["exact"]["top"] == [] and result["lengths"]["words"]["max"] == 4
    sources = ["General QA", "Airoboros", "EverythingLM", "Know-Logic"]
    capybara = [
        {"source": sources[i % 4], "conversation": [{"input": f"ask {i}", "output": f"reply {i}"}, {"input": "thanks", "output": None}]}
        for i in range(40)
    ]
    result = audit_json(_write(capybara, tmp_path / f"capybara.{suffix}"), "--no-near")
    assert (result["source"]["text_columns"], result["exact"]["unique"]) == (["conversation"], 40)
    assert result["lengths"]["chars"]["max"] == len("ask 39\nreply 39\nthanks")
    # Text in the string column (spaces, many values): it stays the choice, as the README's rule says.
    titled = [{"title": f"a title number {i}", "turns": ["hi", "ho"]} for i in range(20)]
    assert audit_json(_write(titled, tmp_path / f"titled.{suffix}"), "--no-near")["source"]["text_columns"] == ["title"]


def test_a_category_beside_several_conversations_is_audited_with_a_warning(tmp_path):
    rows = [
        {
            "source": ["ultrachat", "sharegpt"][i % 2],
            "chosen": [{"role": "user", "content": f"a good reply {i}"}],
            "rejected": [{"role": "user", "content": f"a bad reply {i}"}],
        }
        for i in range(40)
    ]
    result = audit_json(_write(rows, tmp_path / "pref.parquet"), "--no-near")
    assert result["source"]["text_columns"] == ["source"]
    (warning,) = [w for w in result["warnings"] if w["id"] == "text-column"]
    assert "'source' (chosen automatically) looks like metadata" in warning["message"] and "--text chosen" in warning["message"]


def test_several_string_columns_beside_a_conversation_name_it(tmp_path):
    """LMSYS-Chat-1M: ids, a model's name and a language beside the conversation."""
    rows = [
        {
            "conversation_id": f"{i:032x}",
            "model": "vicuna-13b",
            "conversation": [{"role": "user", "content": f"hi {i}"}],
            "language": "English",
        }
        for i in range(10)
    ]
    proc = run_cli("audit", _write(rows, tmp_path / "lmsys.parquet"))
    assert_clean_error(
        proc, "several string columns (conversation_id, model, language)", "'conversation' holds a conversation", "--text conversation"
    )


def _vocabulary(i: int) -> dict:
    return {"word": f"word{i}", "examples": ["no example available"] if i % 3 else [f"the word{i} is used here"]}


SHORT_TEXTS = {
    # A vocabulary: one word a row, distinct, beside example sentences that often repeat.
    "vocab": [_vocabulary(i) for i in range(300)],
    # One-word answers beside the passages they come from.
    "answers": [{"answer": ["yes", "no", "Paris", "42"][i % 4], "passages": [f"passage {i} about a topic with words"]} for i in range(40)],
    # A few short utterances (spaces, few distinct) beside tags.
    "utterances": [{"utterance": ["Hello!", "How are you?", "Good bye."][i % 3], "tags": [f"topic {i}", f"intent {i}"]} for i in range(40)],
    # A head of blank responses, then text, beside a history of turns.
    "blank_head": [{"response": "" if i < 32 else f"reply {i}", "history": [f"previous turn {i} text"]} for i in range(64)],
    # Three rows: one word each.
    "three": [{"response": r, "history": [f"what is it {r} today"]} for r in ("Yes", "No", "Blue")],
    # A vocabulary word beside a conversation.
    "word_chat": [{"word": ["run", "jump", "walk"][i % 3], "history": [{"role": "user", "content": f"use it in a sentence {i}"}]} for i in range(40)],
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(SHORT_TEXTS))
def test_a_string_column_of_short_texts_is_not_taken_for_metadata(tmp_path, name):
    """Only a string column that describes its rows by its name (an id; a category, a source whose
    values are a few short labels) gives way to a conversation or list column beside it: one-word
    answers, vocabulary words, a few short utterances, a blank head or three rows are the text, and
    `dedup` keeps the rows they tell apart (a vocabulary lost 199 of 300 words to its examples)."""
    rows = SHORT_TEXTS[name]
    path = _write(rows, tmp_path / f"{name}.parquet")
    result = audit_json(path, "--no-near")
    string = next(iter(rows[0]))
    assert result["source"]["text_columns"] == [string]
    assert not [w for w in result["warnings"] if w["id"] == "text-column" and "looks like metadata" in w["message"]]
    if name == "vocab":
        out = tmp_path / "kept.parquet"
        proc = run_cli("dedup", path, "--level", "exact", "-o", str(out))
        assert proc.returncode == 0, proc.stderr
        assert pl.read_parquet(out).height == 300


def test_a_conversation_chosen_over_a_category_says_so(tmp_path):
    """The switch is never silent: a `text-column` warning names the string column passed over
    and the flag that audits it."""
    rows = [{"category": CATEGORIES[i // 10], "turns": [f"write an essay about topic {i}", "now shorten it"]} for i in range(80)]
    result = audit_json(_write(rows, tmp_path / "question.parquet"), "--no-near")
    assert result["source"]["text_columns"] == ["turns"]
    (warning,) = [w for w in result["warnings"] if w["id"] == "text-column"]
    assert "in place of 'category'" in warning["message"] and "pass --text category" in warning["message"]
    # Tags beside a category are no text to choose instead (two words a row, shorter than it).
    tagged = [{"category": CATEGORIES[i // 10], "tags": [f"t{i}"]} for i in range(80)]
    assert audit_json(_write(tagged, tmp_path / "tagged.parquet"), "--no-near")["source"]["text_columns"] == ["category"]


@pytest.mark.parametrize("suffix", ["jsonl", "parquet"])
def test_a_message_s_text_is_its_first_field_not_empty(tmp_path, suffix):
    """Merged layouts where a message's other field is `""` rather than null: its text is the
    field that holds some (`value`), not the empty `content` (which made every row "\\nhi")."""
    rows = [
        {"messages": [{"role": "user", "content": "", "value": f"hello there {i}"}, {"role": "assistant", "content": "hi", "value": None}]}
        for i in range(10)
    ]
    rows.append({"messages": [{"role": "user", "content": "", "value": ""}, {"role": "assistant", "content": "hi", "value": ""}]})
    result = audit_json(_write(rows, tmp_path / f"merged.{suffix}"), "--no-near")
    assert (result["rows"], result["exact"]["unique"], result["exact"]["duplicate_rows"]) == (11, 11, 0)
    assert result["lengths"]["chars"]["max"] == len("hello there 9\nhi")


def test_a_describing_column_of_many_labels_or_few_rows_gives_way_and_tags_do_not(tmp_path):
    """A `source` of thirteen names in shuffled order (Capybara's real count), a `subset` of ten,
    or a `type` in a five-row file is still labels: the conversation beside it is the text, with
    the warning (these audited the labels, silently, when giving way needed few distinct values
    among many rows). A few one-word tags beside `category` or `id` are no text; a sentence's
    tokens beside `id` (CoNLL) are."""
    names = [f"Source {chr(65 + i)}" for i in range(13)]
    capybara = [
        {"source": names[(i * 7) % 13], "conversation": [{"input": f"ask about {i} please", "output": f"reply {i}"}]} for i in range(60)
    ]
    subset = [{"subset": f"part{i % 10}", "turns": [f"question number {i}", f"answer number {i}"]} for i in range(40)]
    few = [{"type": "chat", "turns": [f"tell me about {i}", f"here is {i}"]} for i in range(5)]
    for rows, name, chosen in ((capybara, "capybara", "conversation"), (subset, "subset", "turns"), (few, "few", "turns")):
        result = audit_json(_write(rows, tmp_path / f"{name}.jsonl"), "--no-near")
        assert result["source"]["text_columns"] == [chosen], name
        skipped = next(iter(rows[0]))
        assert any(w["id"] == "text-column" and f"pass --text {skipped}" in w["message"] for w in result["warnings"]), name
    tags = [{"category": ["news", "sports"][i % 2], "tags": ["alpha", "beta", "gamma"]} for i in range(20)]
    assert audit_json(_write(tags, tmp_path / "tags.jsonl"), "--no-near")["source"]["text_columns"] == ["category"]
    conll = [{"id": str(i), "tokens": f"the quick brown fox {i} jumps over the lazy dog".split()} for i in range(20)]
    assert audit_json(_write(conll, tmp_path / "conll.jsonl"), "--no-near")["source"]["text_columns"] == ["tokens"]


def test_sentences_without_spaces_are_no_labels_and_repeating_topics_are(tmp_path):
    """A `source` of Chinese sentences (one "word" each: the script writes no spaces) beside a
    list of English references is a translation's text, not labels: it stays the choice. A
    `topic` of five-word titles that repeat is labels: the conversation beside it is the text."""
    zh = [
        "我今天很高兴见到你，希望我们以后能经常一起喝咖啡。",
        "这本书讲述了一个关于勇气和友谊的动人故事。",
        "明天早上我们要去火车站接我的爷爷奶奶。",
    ]
    translation = [{"source": f"{zh[i % 3]}{i}", "target": [f"reference translation number {i} in english"]} for i in range(30)]
    assert audit_json(_write(translation, tmp_path / "zh.parquet"), "--no-near")["source"]["text_columns"] == ["source"]
    titles = ["Causes of the French Revolution", "History of the Roman Empire", "Rise of the Ottoman state"]
    topics = [
        {
            "topic": titles[i % 3],
            "conversation": [{"role": "user", "content": f"tell me more about what happened in part {i} of this story"}],
        }
        for i in range(40)
    ]
    result = audit_json(_write(topics, tmp_path / "topics.parquet"), "--no-near")
    assert result["source"]["text_columns"] == ["conversation"]
    assert any(w["id"] == "text-column" and "pass --text topic" in w["message"] for w in result["warnings"])


def test_labels_in_any_spaced_script_give_way_and_repeated_sentences_do_not(tmp_path):
    """A category of one long word in a script with spaces (`Mathématiques`, `Программирование`)
    or a url with accents is a label: the conversation beside it is the text. A `source` of a few
    sentences repeated (a file full of copies, what the audit is for) stays the text."""
    names = ["Mathématiques", "Программирование", "Προγραμματισμός", "https://fr.wikipedia.org/wiki/Économie", "ประวัติศาสตร์"]
    rows = [
        {"category": names[i % 5], "conversation": [{"role": "user", "content": f"a question about subject number {i}"}]} for i in range(5)
    ]
    result = audit_json(_write(rows, tmp_path / "accents.jsonl"), "--no-near")
    assert result["source"]["text_columns"] == ["conversation"]
    assert any(w["id"] == "text-column" and "pass --text category" in w["message"] for w in result["warnings"])
    phrases = ["Where is the train station?", "Thank you very much.", "I love you!", "Good morning.", "See you tomorrow."]
    repeated = [{"source": phrases[i % 5], "target": [f"a reference translation of phrase {i} in german"]} for i in range(40)]
    assert audit_json(_write(repeated, tmp_path / "phrases.jsonl"), "--no-near")["source"]["text_columns"] == ["source"]
