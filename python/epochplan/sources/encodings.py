"""Which legacy encoding a file that is not UTF-8 is in, judged from a sample of its bytes, so that
the advice to re-encode it names the right one — or says that the bytes do not tell.

Strict decoding alone does not: Latin-1 decodes any bytes, and Chinese, Japanese and Korean bytes
often decode in each other's encodings, or as Latin letters. A candidate is named only when its
text reads as that script does: the letters are of the one script, nothing else is left over
(control characters, box drawing, halfwidth katakana), and the text has the script's shape — its
most common characters, Japanese kana, Russian words in one case, Latin words that are mostly
ASCII. Python's codecs decode; `iconv` names the same encodings.

Not `charset-normalizer` (or `chardet`), though well kept: they always name a best guess, and a
wrong name here is advice that garbles the file without an error. On samples of the ChatterBot
corpus (3 and 30 rows a language) charset-normalizer 3.5 named cp1250 for German, French and
Portuguese text in cp1252/Latin-1 (ã becomes ă), cp775 for French, big5hkscs for Turkish, cp932
for Thai and mac_cyrillic for Russian in cp1251; this module named none of them wrongly, and
says that the bytes do not tell where it cannot judge (Turkish, Hebrew, Thai, KOI8-U)."""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple


class Encoding(NamedTuple):
    codec: str  # Python's name
    iconv: str  # iconv's (glibc and libiconv) name
    named: str  # what a person calls it
    script: str  # "ja", "zh", "ko", "cyrillic", "latin", "utf16"


CANDIDATES = (
    Encoding("cp932", "cp932", "Japanese Shift-JIS", "ja"),
    Encoding("euc_jp", "euc-jp", "Japanese EUC-JP", "ja"),
    Encoding("gb18030", "gb18030", "Chinese GBK", "zh"),
    Encoding("cp950", "cp950", "Chinese Big5", "zh"),
    Encoding("cp949", "cp949", "Korean EUC-KR", "ko"),
    Encoding("cp1251", "cp1251", "Cyrillic Windows-1251", "cyrillic"),
    Encoding("koi8_r", "koi8-r", "Cyrillic KOI8-R", "cyrillic"),
    Encoding("cp1252", "cp1252", "Windows-1252", "latin"),
    Encoding("latin1", "latin1", "Latin-1", "latin"),
)
UTF16 = {"le": Encoding("utf_16_le", "utf-16le", "UTF-16LE", "utf16"), "be": Encoding("utf_16_be", "utf-16be", "UTF-16BE", "utf16")}

# The most frequent Chinese characters (simplified, then the traditional forms of those that
# differ): two in five characters of running text are among them, of mis-decoded text few.
COMMON_HAN = frozenset(
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出也得里后自会家可下而过天去能对小多然于心学么之都好看起发"
    "当没成只如事把还用第样道想作种开美总从无情己面最女但现前些所同日手又行意动方期它头经长儿回位分爱老因很给名法间知世"
    "什两次使身者被高已亲其进此话常与活正感见明问力理点文几定本公特做外孩相西果走将月十实向声车全信重三机工物气每并别真"
    "打太新比才便再书部水像眼等体却加电主界门利海受听表德少克代员许先口由死安写性马光白或住难望教命花结乐色更拉东神记处"
    "让母父应直字场平报友关放至张认接告入笑内英军候民岁往何度山觉路带万男边风解叫任金快原吃妈变通师立象数四失满战远格士"
    "音轻目条呢你她您吗吧啊谢请喜欢朋问题哪谁怎工作时间今明昨聊"
    "這個們來為國說時裡後會過對麼發當沒還樣種開總從無現頭經長兒愛給間兩親進話與見問點幾實聲車電門書體東記處讓應場報關張"
    "認軍歲覺邊風觀聽學氣員許難樂結條輕聊歡謝請誰題嗎"
)
# The most frequent Hangul syllables: about two in five of Korean text.
COMMON_HANGUL = frozenset(
    "이다의는에을하가고한지서로기사리도자대어수그시인나일으있니들해여게적상과요정부것만전주장라제아보구되성동와은를세우습원비했경계소화없마내신면안무요까네저"
)
# Punctuation of Latin and Cyrillic text in Latin-1 and Windows-125x; other characters of
# U+0080-U+02FF that are not letters (¤ ¦ ³ ¾ …) are what mis-decoded bytes look like.
LATIN_PUNCT = frozenset("\xa0¡¢£¥§©«®°±²³¹¼½¾·»¿´¨¶×÷‘’“”„–—…•€™№")
# Blocks of symbols that text uses (general punctuation, currency, letterlike, arrows, shapes,
# stars, CJK punctuation, fullwidth forms); box drawing, blocks and mathematics are not among them.
TEXT_SYMBOLS = (
    (0x2000, 0x206F),
    (0x20A0, 0x20CF),
    (0x2100, 0x214F),
    (0x2190, 0x21FF),
    (0x25A0, 0x26FF),
    (0x3000, 0x303F),
    (0xFF01, 0xFF60),
    (0xFFE0, 0xFFE6),
)
WORD = re.compile(r"[^\W\d_]+")
GLUED_SYMBOL = re.compile(r"(?<=[^\W\d_])(?:[^\w\s\x00-\x7f’]|[¹²³¼½¾])(?=[^\W\d_])")
UTF8_CHAR = re.compile(rb"[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf]{2}|[\xf0-\xf4][\x80-\xbf]{3}")
GLUED_CJK = re.compile(r"(?<=[A-Za-z])[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7a3\uf900-\ufaff](?=[A-Za-z])")


def kind(char: str) -> str:
    """The class of a character that is not ASCII: a script's letter, "punct", or "odd"."""
    code = ord(char)
    if 0x3040 <= code <= 0x30FF:
        return "kana"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0xF900 <= code <= 0xFAFF:
        return "han"
    if 0xAC00 <= code <= 0xD7A3 or 0x3131 <= code <= 0x318E:
        return "hangul"  # syllables, and the letters alone of chat ("ㅋㅋ")
    if 0x0410 <= code <= 0x044F or char in "ЁёІіЇїЄєҐґЎў":
        return "cyrillic"  # Russian, Ukrainian, Belarusian
    if 0x0400 <= code <= 0x04FF:
        return "cyrillic_other"  # Serbian, Macedonian: a few in their text, many in mis-decoded bytes
    if char in LATIN_PUNCT or any(low <= code <= high for low, high in TEXT_SYMBOLS):
        return "punct"
    if code <= 0x024F and char.isalpha() and char != "ƒ":
        return "latin"
    return "odd"


def reads_as(text: str, script: str) -> bool:
    """Whether `text` (decoded as `script`'s encoding) reads as that script is written."""
    counts: dict[str, int] = {}
    for char in text:
        if char >= "\x80" or (char < " " and char not in "\t\n\r"):
            name = kind(char)
            counts[name] = counts.get(name, 0) + 1
    glued = GLUED_CJK if script in ("ja", "zh", "ko") else GLUED_SYMBOL
    counts["odd"] = counts.get("odd", 0) + len(glued.findall(text))
    total = sum(counts.values())
    if not total or counts["odd"] > total * 0.02:
        return False
    kana, han, hangul, cyrillic, latin = (counts.get(name, 0) for name in ("kana", "han", "hangul", "cyrillic", "latin"))
    if script == "ja":  # kana in every Japanese sentence; Chinese and Korean have none
        return hangul + cyrillic + latin == 0 and kana >= 4 and kana >= 0.15 * (kana + han) and (han > 0 or kana >= 10)
    if script == "zh":
        common = sum(char in COMMON_HAN for char in text)
        return kana + hangul + cyrillic + latin == 0 and han >= 8 and common >= 0.3 * han
    if script == "ko":
        common = sum(char in COMMON_HANGUL for char in text)
        return kana + cyrillic + latin == 0 and hangul >= 8 and han <= 0.1 * hangul and common >= 0.25 * hangul
    words = [word for word in WORD.findall(text) if any(char >= "\x80" for char in word)]
    if script == "cyrillic":
        return (
            kana + han + hangul + latin == 0
            and cyrillic >= 20
            and _reads_as_cyrillic(text, words, cyrillic, counts.get("cyrillic_other", 0))
        )
    if script == "latin":
        return kana + han + hangul + cyrillic + counts.get("cyrillic_other", 0) == 0 and _reads_as_latin(text, words, latin)
    return False


def _reads_as_cyrillic(text: str, words: list[str], cyrillic: int, rare: int) -> bool:
    # Russian read in the other Cyrillic encoding swaps the cases: "ъ МЕ КЧАКЧ ВХРЮРЭ".
    upper = sum(char.isupper() for char in text if char >= "\x80")
    swapped = sum(re.search(r"[а-яё][А-ЯЁ]", word) is not None for word in words)  # Greek: "КблзмЭсб"
    # Latin-1 read as Windows-1251: "cafй", Italian's "è" the word "и".
    mixed = sum(re.search(r"[a-z]", word, re.I) is not None for word in words)
    short = sum(len(word) == 1 for word in words)
    # Vowels are two letters in five of Russian, Ukrainian and Bulgarian text, ъ rare; Hebrew
    # or Greek read as Windows-1251 gives lowercase letters with few vowels.
    lower = text.lower()
    vowels = sum(char in "аеиоуыэюяёіїє" for char in lower)
    return (
        0.33 * cyrillic <= vowels <= 0.55 * cyrillic
        and lower.count("ъ") <= 0.015 * cyrillic
        and upper <= 0.3 * cyrillic
        and swapped <= 0.1 * len(words)
        and rare <= 0.1 * cyrillic
        and mixed <= 0.2 * len(words)
        and short <= 0.5 * cyrillic
    )


def _reads_as_latin(text: str, words: list[str], latin: int) -> bool:
    # Accented letters sit in words of mostly ASCII letters; Cyrillic or Greek read as Latin-1
    # makes words of accented letters only ("Ýòî ðóññêèé").
    long = [word for word in words if len(word) >= 4]  # Dutch "één", French "été"
    foreign = sum(2 * sum(char >= "\x80" for char in word) > len(word) for word in long)
    ascii_letters = sum("a" <= char <= "z" for char in text.lower())
    # Turkish read as Latin-1: ı ş ğ become ý þ ð, letters of Icelandic alone. Central European
    # (Windows-1250) text: Czech ř with ě ů č ň become ø with ì ù è ò, Polish ń with ę ñ with ê,
    # Hungarian ő with ű õ with û — letters that no one Western language has together.
    letters = set(text.lower())
    turkish = not letters.isdisjoint("ýþð")
    central = ("ø" in letters and not letters.isdisjoint("ìùèò")) or {"ñ", "ê"} <= letters or {"õ", "û"} <= letters
    return not turkish and not central and ascii_letters >= 2 * latin and foreign <= 0.5 * len(long)


def mixes_utf8(sample: bytes) -> bool:
    """Whether most of `sample`'s bytes past ASCII are UTF-8 after all: a UTF-8 file with a few
    bytes of another encoding, which re-encoding the whole file would garble. (Legacy Chinese,
    Japanese and Korean bytes look like UTF-8 at most about three in five times.)"""
    chars = UTF8_CHAR.findall(sample)
    return len(chars) >= 3 and sum(map(len, chars)) >= 0.8 * sum(byte >= 0x80 for byte in sample)


def decoded(sample: bytes, codec: str) -> str | None:
    """`sample` decoded strictly (a character cut at its end left out), or None."""
    try:
        return codecs.getincrementaldecoder(codec)("strict").decode(sample, final=False)
    except UnicodeDecodeError:
        return None


def likely_encodings(sample: bytes, offset: int = 0) -> list[Encoding]:
    """The encodings `sample` (bytes that are not UTF-8, from the start of a line, at `offset` in
    the file) reads well in: one when the bytes tell, several when they read as more than one,
    none when they do not."""
    # UTF-16 without a byte order mark (a NUL in each ASCII character): its characters start at
    # even offsets, so that the sample after a little-endian line end (0a 00) starts with a NUL.
    start = offset % 2
    for encoding in UTF16.values() if b"\x00" in sample else ():
        text = decoded(sample[start:], encoding.codec)
        if text is not None and any(reads_as(text, script) for script in ("latin", "cyrillic", "ja", "zh", "ko")):
            return [encoding]
    found = [
        encoding for encoding in CANDIDATES if (text := decoded(sample, encoding.codec)) is not None and reads_as(text, encoding.script)
    ]
    if any(encoding.codec == "cp1252" for encoding in found):
        # The same text in both unless bytes 0x80-0x9f are in it: Windows-1252's quotes and
        # dashes, Latin-1's invisible control characters.
        windows = any(0x80 <= byte <= 0x9F for byte in sample)
        found = [encoding for encoding in found if encoding.codec != ("latin1" if windows else "cp1252")]
    return found
