"""Files that are not UTF-8: the advice to re-encode them names the encoding their bytes read as,
or says that the bytes do not tell. It named only Latin-1 or Windows-1252, whose `iconv` turned
Shift-JIS, GBK, EUC-KR or Windows-1251 text into mojibake that then audited with exit 0.
Python's codecs are the ground truth: the file decoded with the named encoding is the text."""

from __future__ import annotations

import gzip
import os
import re

import pytest

import epochplan
from conftest import assert_clean_error, run_cli
from epochplan.sources.encodings import likely_encodings
from epochplan.sources.utf8 import Fault, not_utf8_error

TEXTS = {
    "ja": "東京は日本の首都です。今日はとても良い天気ですね。私は毎朝コーヒーを飲みます。",
    "zh": "北京是中国的首都。今天天气很好，我们去公园散步吧。我喜欢看书和听音乐。",
    "zh-tw": "台北是台灣最大的城市。今天天氣很好，我們去公園散步吧。我喜歡看書和聽音樂。",
    "ko": "서울은 한국의 수도입니다. 오늘 날씨가 정말 좋네요. 저는 매일 아침 커피를 마십니다.",
    "ru": "Москва является столицей России. Сегодня очень хорошая погода. Я каждое утро пью кофе.",
    "fr": "Paris est la capitale de la France. Il fait très beau aujourd'hui. Je bois un café chaque matin.",
    "de": "Berlin ist die Hauptstadt. Heute ist das Wetter schön, „gern“ – natürlich.",
    "he": "ירושלים היא בירת ישראל. היום מזג האוויר טוב מאוד. אני שותה קפה כל בוקר.",
    "el": "Η Αθήνα είναι η πρωτεύουσα της Ελλάδας. Σήμερα ο καιρός είναι πολύ καλός. Πίνω καφέ κάθε πρωί.",
    "tr": "Ankara Türkiye'nin başkentidir. Bugün hava çok güzel. Her sabah kahve içerim.",
    "th": "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย วันนี้อากาศดีมาก",
}


def _named(message: str) -> str:
    """The encoding in the message's `iconv -f NAME` (Python's codecs know iconv's names)."""
    return re.search(r"iconv -f (\S+) -t utf-8", message).group(1)


@pytest.mark.parametrize(
    "language, codec, iconv, said",
    [
        ("ja", "cp932", "cp932", "Japanese Shift-JIS"),
        ("zh", "gbk", "gb18030", "Chinese GBK"),
        ("ko", "euc_kr", "cp949", "Korean EUC-KR"),
        ("ru", "cp1251", "cp1251", "Cyrillic Windows-1251"),
        ("ru", "koi8_r", "koi8-r", "Cyrillic KOI8-R"),
    ],
)
def test_a_csv_in_an_asian_or_cyrillic_encoding_gets_that_encoding_s_iconv(tmp_path, language, codec, iconv, said):
    """`iconv -f cp1252` or `-f latin1` was the advice for each of these."""
    rows = [TEXTS[language][:12], TEXTS[language][12:40], TEXTS[language][40:]]
    data = ("id,text\n" + "".join(f"{i},{row}\n" for i, row in enumerate(rows))).encode(codec)
    (tmp_path / "legacy.csv").write_bytes(data)
    proc = run_cli("audit", str(tmp_path / "legacy.csv"), "--no-near")
    assert_clean_error(
        proc, "legacy.csv: not UTF-8 at line 2, byte 3 ", f"its bytes read as {said}", f"iconv -f {iconv} -t utf-8 FILE > utf8.csv"
    )
    assert data.decode(_named(proc.stderr)) == data.decode(codec)


@pytest.mark.parametrize("codec, iconv", [("utf_16_le", "utf-16le"), ("utf_16_be", "utf-16be")])
def test_utf16_without_a_byte_order_mark_is_named_in_its_byte_order(tmp_path, codec, iconv):
    """The bad line of a little-endian file starts on the NUL of the line end before it (0a 00):
    read from there, its bytes read as big-endian text too, whose iconv garbles the whole file."""
    data = "text\nÜzgün müsün?\nÇok kötüsün\nMerhaba dünya, nasılsın?\n".encode(codec)
    (tmp_path / "wide.csv").write_bytes(data)
    proc = run_cli("audit", str(tmp_path / "wide.csv"), "--no-near")
    assert_clean_error(proc, "wide.csv: not UTF-8 at line 2, byte ", f"iconv -f {iconv} -t utf-8 FILE > utf8.csv")
    assert data.decode(_named(proc.stderr)) == data.decode(codec)


def test_a_text_file_names_the_line_and_the_encoding(tmp_path):
    """A `.txt` file said "column 'text': row 1 is not valid UTF-8 … the column is typed as
    string", a column the user never typed, and no line; its lines end in `\\r`, `\\r\\n`, `\\n`."""
    data = b"first\rsecond\r\n" + (TEXTS["ru"] + "\n").encode("cp1251")
    (tmp_path / "notes.txt.gz").write_bytes(gzip.compress(data))
    with pytest.raises(epochplan.InputError) as caught:
        epochplan.audit(str(tmp_path / "notes.txt.gz"), near=False)
    message = str(caught.value)
    assert "notes.txt.gz: not UTF-8 at line 3, byte 1 (0xcc)" in message and "row" not in message, message
    assert "zcat FILE | iconv -f cp1251 -t utf-8 > utf8.txt" in message and "Excel" not in message, message


@pytest.mark.parametrize(
    "language, codec, expected",
    [
        ("ja", "cp932", "cp932"),
        ("ja", "euc_jp", "euc_jp"),
        ("zh", "gb18030", "gb18030"),
        ("zh-tw", "cp950", "cp950"),
        ("ko", "cp949", "cp949"),
        ("ru", "cp1251", "cp1251"),
        ("ru", "koi8_r", "koi8_r"),
        ("fr", "latin1", "latin1"),
        ("de", "cp1252", "cp1252"),  # „ “ – are bytes 0x84 0x93 0x96: Latin-1's control characters
        ("ja", "utf_16_le", "utf_16_le"),
    ],
)
def test_the_bytes_read_as_their_own_encoding_alone(language, codec, expected):
    sample = "\n".join([TEXTS[language]] * 2).encode(codec) + "\n".encode(codec)
    assert [encoding.codec for encoding in likely_encodings(sample)] == [expected]


@pytest.mark.parametrize(
    "language, codec",
    [("he", "cp1255"), ("el", "cp1253"), ("tr", "cp1254"), ("ru", "iso8859_5"), ("ru", "cp866"), ("th", "cp874")],
)
def test_an_encoding_that_is_not_a_candidate_is_not_named_as_another(language, codec):
    """Hebrew and Greek bytes decode as Cyrillic letters in Windows-1251, Turkish as Latin-1
    letters (ı ş ğ as ý þ ð): naming those encodings would garble the text without a word."""
    sample = (TEXTS[language] + "\n").encode(codec)
    assert likely_encodings(sample) == []
    message = str(not_utf8_error("data.csv", Fault("line 2, byte 1 (0xe0)", sample), None))
    assert "its bytes do not tell which encoding it is in" in message and "file -i FILE" in message, message
    assert "iconv -f ENCODING -t utf-8 FILE > utf8.csv" in message, message


def test_random_bytes_are_not_named():
    assert likely_encodings(os.urandom(4096).replace(b"\n", b" ")) == []


def test_bytes_that_read_as_two_encodings_name_both_to_try():
    sample = "それを隠そうとする\n".encode("euc_jp")  # also Chinese characters in Big5
    message = str(not_utf8_error("jp.csv", Fault("line 2, byte 1 (0xa4)", sample), None))
    assert "its bytes read as Japanese EUC-JP (euc-jp) or Chinese Big5 (cp950)" in message, message
    assert "see which is right with iconv -f ENCODING -t utf-8 FILE | head" in message, message


@pytest.mark.parametrize(
    "name, after, fix",
    [
        ("mixed.csv", "more — “UTF-8” text, déjà vu\n", "(LC_ALL=C.UTF-8 grep -naxv '.*' FILE lists them)"),
        ("mixed.txt.gz", "", "(zcat FILE | LC_ALL=C.UTF-8 grep -naxv '.*' lists them)"),  # UTF-8 only before the line
    ],
)
def test_a_utf8_file_with_a_few_other_bytes_is_not_re_encoded_whole(tmp_path, name, after, fix):
    """`iconv -f latin1` over a file that is UTF-8 but for one line turns its é into Ã©."""
    data = "text\nnaïve café\n".encode() + b"bad caf\xe9 here\n" + after.encode()
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    proc = run_cli("audit", str(tmp_path / name), "--no-near")
    assert_clean_error(proc, f"{name}: not UTF-8 at line 3, byte 8 (0xe9), though most of its other bytes are", fix)
    assert "iconv" not in proc.stderr


@pytest.mark.parametrize(
    "name, codec, said, fix",
    [
        ("legacy.jsonl", "cp932", "Japanese Shift-JIS", "iconv -f cp932 -t utf-8 FILE > utf8.jsonl"),
        ("legacy.jsonl.gz", "cp1251", "Cyrillic Windows-1251", "zcat FILE | iconv -f cp1251 -t utf-8 > utf8.jsonl"),
        ("legacy.json", "gbk", "Chinese GBK", "iconv -f gb18030 -t utf-8 FILE > utf8.json"),
    ],
)
def test_a_json_file_in_a_legacy_encoding_gets_that_encoding_s_iconv(tmp_path, name, codec, said, fix):
    """JSON and JSON lines files said "not valid JSON lines (line 1, byte 10: not UTF-8); fix or
    drop that line": every line of such a file holds its text, and the fix is to re-encode it."""
    import json

    language = {"cp932": "ja", "cp1251": "ru", "gbk": "zh"}[codec]
    rows = [{"text": TEXTS[language][i : i + 20]} for i in range(0, 60, 20)]
    text = (
        json.dumps(rows, ensure_ascii=False) if name.endswith(".json") else "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    )
    data = text.encode(codec)
    (tmp_path / name).write_bytes(gzip.compress(data) if name.endswith(".gz") else data)
    proc = run_cli("audit", str(tmp_path / name), "--no-near")
    assert_clean_error(proc, f"{name}: not UTF-8 at line 1, byte ", f"its bytes read as {said}", fix)
    assert "Excel" not in proc.stderr and "drop that line" not in proc.stderr
    assert data.decode(_named(proc.stderr)) == data.decode(codec)


def test_a_json_lines_file_with_one_bad_line_is_told_to_fix_that_line(tmp_path):
    """A JSON lines file that is UTF-8 but for one line: that line named, not the whole file re-encoded."""
    data = "".join(f'{{"text": "naïve café {i}"}}\n' for i in range(5)).encode() + b'{"text": "caf\xe9"}\n'
    (tmp_path / "mixed.jsonl").write_bytes(data)
    with pytest.raises(epochplan.InputError) as caught:
        epochplan.audit(str(tmp_path / "mixed.jsonl"), near=False)
    assert "mixed.jsonl: not UTF-8 at line 6, byte 14 (0xe9), though most of its other bytes are" in str(caught.value)
    assert "iconv" not in str(caught.value)
