//! Text written without spaces between words (Chinese, Japanese, Thai, …): how to tell it
//! apart, and what a "word" of it is.
//!
//! Whitespace cannot split such text into words: a Chinese paragraph is one whitespace "word".
//! Near-duplicate shingles (`Shingle::Auto`) then take character n-grams, and the word
//! statistics take the words defined here.
//!
//! A word of unspaced text, by script. ICU4X's dictionary segmenter (`icu_segmenter` 2.x) would
//! give dictionary words for Chinese, Japanese and Thai, but measured 2–3.4 MB/s against
//! 48–61 MB/s for this rule, adds ~2.5 MB of compiled data to the binary and ~1.5 min to a
//! clean build (benchmarks/RESULTS.md, "Words of unspaced text"). Counts here are characters,
//! which is what distinct-n and length statistics of CJK text usually use anyway:
//! - Han, Hiragana, Katakana, Thai, Lao, Khmer, Myanmar, Tibetan and the other scripts of
//!   [`is_unspaced`]: every character is a word (as UAX #29 does for Han and kana), except
//!   their punctuation and symbols (the Katakana middle dot, the Tibetan tsheg, the Khmer and
//!   Myanmar full stops);
//! - any other run of letters, marks or digits (Latin, Hangul, Devanagari, numbers): one word.
//!   Every mark (General_Category M: accents written apart, the virama and nukta of Indic
//!   scripts, which are not Alphabetic) continues the run, so नमस्ते is one word, not three;
//! - whitespace and punctuation: not part of any word.

/// Whether `c` belongs to a script whose writing does not separate words with spaces: the
/// scripts of UAX #14's line-break class SA ("complex context", South East Asian: Thai, Lao,
/// Myanmar, Khmer, Tai Le, New Tai Lue, Tai Tham, Tai Viet, Ahom, whose lines break between words
/// a dictionary finds), the ideographic and syllabic scripts of East Asia (Han, kana, Bopomofo, Yi,
/// Tangut, Nüshu: class ID, a break between any two characters; Khitan Small Script, written in
/// blocks of characters), Tibetan (syllables separated by the tsheg, not words by spaces) and the scriptio continua of Balinese, Javanese and Buginese (the Unicode
/// Standard's chapter on Indonesian scripts: traditionally written without spaces between words).
///
/// By block, plus the letters of those scripts that live in other blocks: 々 〇 〻 and the
/// Hangzhou numerals (Script=Han in the CJK Symbols and Punctuation block), and 〆 〱–〵 〼
/// (Script=Common there, but letters written only in Japanese). A test checks the blocks
/// against the Unicode Scripts data that regex-syntax carries: every letter, mark or digit of
/// Script=Han, Hiragana, Katakana, Thai, … is in here.
#[inline]
pub fn is_unspaced(c: char) -> bool {
    matches!(
        c as u32,
        0x0E00..=0x0E7F          // Thai
        | 0x0E80..=0x0EFF        // Lao
        | 0x0F00..=0x0FFF        // Tibetan
        | 0x1000..=0x109F        // Myanmar
        | 0x1780..=0x17FF        // Khmer
        | 0x1950..=0x197F        // Tai Le
        | 0x1980..=0x19DF        // New Tai Lue
        | 0x19E0..=0x19FF        // Khmer symbols
        | 0x1A00..=0x1A1F        // Buginese
        | 0x1A20..=0x1AAF        // Tai Tham
        | 0x1B00..=0x1B7F        // Balinese
        | 0x3005..=0x3007        // 々 〆 〇: iteration mark, closing mark, ideographic zero
        | 0x3021..=0x3029        // Hangzhou numerals 〡–〩
        | 0x3031..=0x3035        // kana repeat marks 〱–〵
        | 0x3038..=0x303C        // Hangzhou numerals 〸–〺, 〻 vertical iteration mark, 〼 masu mark
        | 0x3040..=0x309F        // Hiragana
        | 0x30A0..=0x30FF        // Katakana
        | 0x3100..=0x312F        // Bopomofo
        | 0x31A0..=0x31BF        // Bopomofo extended
        | 0x31F0..=0x31FF        // Katakana phonetic extensions
        | 0x3400..=0x4DBF        // CJK extension A
        | 0x4E00..=0x9FFF        // CJK unified ideographs
        | 0xA000..=0xA4CF        // Yi
        | 0xA980..=0xA9DF        // Javanese
        | 0xA9E0..=0xA9FF        // Myanmar extended B
        | 0xAA60..=0xAA7F        // Myanmar extended A
        | 0xAA80..=0xAADF        // Tai Viet
        | 0xF900..=0xFAFF        // CJK compatibility ideographs
        | 0xFF66..=0xFF9F        // halfwidth Katakana
        | 0x116D0..=0x116FF      // Myanmar extended C (Pao and Eastern Pwo Karen digits)
        | 0x11700..=0x1174F      // Ahom
        | 0x16FE0..=0x16FFF      // ideographic symbols (Tangut, Nüshu iteration marks)
        | 0x17000..=0x18AFF      // Tangut, Tangut components
        | 0x18B00..=0x18CFF      // Khitan Small Script
        | 0x18D00..=0x18D7F      // Tangut supplement
        | 0x1AFF0..=0x1AFFF      // kana extended B
        | 0x1B000..=0x1B16F      // kana supplement / extended A, small kana
        | 0x1B170..=0x1B2FF      // Nüshu
        | 0x20000..=0x3347F // CJK extensions B–J, compatibility ideographs supplement
    )
}

/// Whether most letters of `text` are in unspaced scripts (more than half of the characters
/// that are alphabetic). ASCII text never is, at the cost of one `is_ascii` scan.
#[inline]
pub fn is_mostly_unspaced(text: &str) -> bool {
    if text.is_ascii() {
        return false;
    }
    let (mut letters, mut unspaced) = (0usize, 0usize);
    for c in text.chars() {
        if c.is_ascii() {
            letters += c.is_ascii_alphabetic() as usize;
        } else {
            let (letter, unspaced_letter) = letter_class(c);
            letters += letter as usize;
            unspaced += unspaced_letter as usize;
        }
    }
    unspaced * 2 > letters
}

/// (is a letter, is a letter of an unspaced script) as [`is_mostly_unspaced`] counts them:
/// alphabetic characters, and every character of the scripts of [`is_unspaced`] but their
/// punctuation and symbols.
#[inline]
pub fn letter_class(c: char) -> (bool, bool) {
    if is_unspaced_word(c) { (true, true) } else { (c.is_alphabetic(), false) }
}

/// A character of an unspaced script that is a word of its own: not punctuation or a symbol.
#[inline]
fn is_unspaced_word(c: char) -> bool {
    match c as u32 {
        // Han ideographs, the kana syllables and the Thai consonants, most of such text:
        // letters, without a lookup.
        0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0x20000..=0x3347F | 0x3041..=0x3096 | 0x30A1..=0x30FA | 0x0E01..=0x0E30 => {
            true
        }
        // Other letters and digits answer before the category lookup.
        _ => is_unspaced(c) && (c.is_alphanumeric() || !is_punctuation_or_symbol(c)),
    }
}

/// General_Category P* or S*. Not in the standard library; regex-syntax (which `regex` builds
/// on) carries the current Unicode tables, turned here into ranges once.
fn is_punctuation_or_symbol(c: char) -> bool {
    static RANGES: std::sync::OnceLock<Vec<(char, char)>> = std::sync::OnceLock::new();
    let ranges = RANGES.get_or_init(|| {
        let hir = regex_syntax::Parser::new().parse(r"[\p{P}\p{S}]").expect("a valid class");
        match hir.kind() {
            regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class)) => {
                class.iter().map(|r| (r.start(), r.end())).collect()
            }
            other => unreachable!("a Unicode class parses to a class, not {other:?}"),
        }
    });
    ranges
        .binary_search_by(|&(start, end)| {
            if end < c {
                std::cmp::Ordering::Less
            } else if start > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// Calls `emit` with every word of `text` as the module docs define it, in order.
#[inline]
pub fn for_each_word<'a>(text: &'a str, mut emit: impl FnMut(&'a str)) {
    let mut run_start: Option<usize> = None;
    for (at, c) in text.char_indices() {
        if is_unspaced_word(c) {
            if let Some(start) = run_start.take() {
                emit(&text[start..at]);
            }
            emit(&text[at..at + c.len_utf8()]);
        } else if c.is_alphanumeric() || (run_start.is_some() && unicode_normalization::char::is_combining_mark(c)) {
            // A mark (General_Category Mn, Mc, Me: unicode-normalization's table, of the same
            // Unicode version as its normalisation) keeps a run together: the virama of नमस्ते
            // is no letter but ends no word. It starts none either: the variation selector of
            // ☀️ (after a symbol, in no run) is no word.
            run_start.get_or_insert(at);
        } else if let Some(start) = run_start.take() {
            emit(&text[start..at]);
        }
    }
    if let Some(start) = run_start {
        emit(&text[start..]);
    }
}

/// Calls `emit` with every word that word shingles take from `text`: its whitespace-separated
/// words, with each character that is a word of its own in an unspaced script taken out as a
/// word (`用PyTorch训练` is 用 · PyTorch · 训 · 练). A Chinese or Japanese text that mixes in
/// Latin terms is then shingled over its characters too, where it was a few long "words" (fewer
/// than an n-gram: one whole-text shingle, never near anything). Text without such characters
/// gives exactly its whitespace words.
#[inline]
pub fn for_each_shingle_word<'a>(text: &'a str, mut emit: impl FnMut(&'a str)) {
    for word in text.split_whitespace() {
        if word.is_ascii() {
            emit(word);
            continue;
        }
        let mut start = 0;
        for (at, c) in word.char_indices() {
            if is_unspaced_word(c) {
                if start < at {
                    emit(&word[start..at]);
                }
                start = at + c.len_utf8();
                emit(&word[at..start]);
            }
        }
        if start < word.len() {
            emit(&word[start..]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<&str> {
        let mut out = Vec::new();
        for_each_word(text, |w| out.push(w));
        out
    }

    #[test]
    fn classifies_documents_by_their_letters() {
        assert!(is_mostly_unspaced("我们今天去公园散步。"));
        assert!(is_mostly_unspaced("東京は日本の首都です。"));
        assert!(is_mostly_unspaced("ภาษาไทยเขียนติดกัน"));
        assert!(is_mostly_unspaced("用 Python 写一个函数来计算平均值"));
        assert!(!is_mostly_unspaced("hello world"));
        assert!(!is_mostly_unspaced("한국어는 띄어쓰기를 합니다"));
        assert!(!is_mostly_unspaced("Привет, как дела?"));
        assert!(!is_mostly_unspaced("the word 東京 in an English sentence"));
        assert!(!is_mostly_unspaced(""));
        assert!(!is_mostly_unspaced("12345 !!!"));
    }

    #[test]
    fn unspaced_characters_are_words_and_other_runs_one_word() {
        assert_eq!(words("我们去公园。"), ["我", "们", "去", "公", "园"]);
        assert_eq!(words("用Python写2个函数"), ["用", "Python", "写", "2", "个", "函", "数"]);
        assert_eq!(words("カタカナ、ひらがな"), ["カ", "タ", "カ", "ナ", "ひ", "ら", "が", "な"]);
        assert_eq!(words("한국어 문장"), ["한국어", "문장"]);
        assert_eq!(words("  "), Vec::<&str>::new());
        assert_eq!(words("e\u{301}t\u{e9}"), ["e\u{301}t\u{e9}"]);
        // Punctuation and symbols of those scripts are no words (as 。 and ， are not).
        assert_eq!(words("コーヒー・カップ"), ["コ", "ー", "ヒ", "ー", "カ", "ッ", "プ"]);
        assert_eq!(words("བོད་ཡིག་"), ["བ", "ོ", "ད", "ཡ", "ི", "ག"]);
        assert_eq!(words("ខ្ញុំ។"), ["ខ", "្", "ញ", "ុ", "ំ"]);
        assert_eq!(words("ภาษา๚ ราคา ฿"), ["ภ", "า", "ษ", "า", "ร", "า", "ค", "า"]);
        assert_eq!(words("မြန်မာ။"), ["မ", "ြ", "န", "်", "မ", "ာ"]);
        assert!(!is_mostly_unspaced("・・・ hello"), "punctuation is no letter");
    }

    #[test]
    fn every_unspaced_script_is_one() {
        // A letter of each script written without spaces (the first of the block's letters, and
        // one further in): such text is unspaced and each of its letters a word. Tai Tham, New
        // Tai Lue, Buginese, Tangut, Khitan, Nüshu and CJK extension H were one word a row.
        let scripts = [
            ("Tai Tham", 0x1A20, 0x1A40),
            ("New Tai Lue", 0x1980, 0x19A0),
            ("Tai Le", 0x1950, 0x1960),
            ("Buginese", 0x1A00, 0x1A10),
            ("Tai Viet", 0xAA80, 0xAA90),
            ("Ahom", 0x11700, 0x11710),
            ("Tangut", 0x17000, 0x187F0),
            ("Tangut components", 0x18800, 0x18A00),
            ("Tangut supplement", 0x18D00, 0x18D08),
            ("Khitan Small Script", 0x18B00, 0x18C00),
            ("Nüshu", 0x1B170, 0x1B200),
            ("kana extended B", 0x1AFF0, 0x1AFF5),
            ("CJK extension H", 0x31350, 0x32000),
            ("CJK extension I", 0x2EBF0, 0x2EC00),
            ("Balinese", 0x1B05, 0x1B20),
            ("Javanese", 0xA984, 0xA990),
        ];
        for (name, first, further) in scripts {
            let letters: String =
                [first, further, first + 1, further + 1].map(|c| char::from_u32(c).unwrap()).iter().collect();
            assert!(is_mostly_unspaced(&letters), "{name}");
            assert_eq!(words(&letters).len(), 4, "{name}");
        }
        // Their punctuation stays no word: the Tai Tham and Buginese section marks.
        assert_eq!(words("\u{1A20}\u{1AA8}\u{1A00}\u{1A1E}"), ["\u{1A20}", "\u{1A00}"]);
    }

    #[test]
    fn marks_continue_a_run_of_letters() {
        // The virama (U+094D) and nukta (U+093C) are marks that are not Alphabetic: they ended
        // the Devanagari word inside Japanese text (11 words, नमस् · ते, where there are 10).
        assert_eq!(words("日本語でनमस्तेと言います"), ["日", "本", "語", "で", "नमस्ते", "と", "言", "い", "ま", "す"]);
        assert_eq!(words("क़िला और ज़मीन"), ["क़िला", "और", "ज़मीन"]);
        // Tamil pulli (Mn), Bengali virama, a Malayalam word, an enclosing mark (Me).
        assert_eq!(words("தமிழ் ক্ষমা മലയാളം а\u{488}б"), ["தமிழ்", "ক্ষমা", "മലയാളം", "а\u{488}б"]);
        // A mark starts no word: the variation selector after a symbol (☀️) is none.
        assert_eq!(words("今日は☀\u{FE0F}⭐\u{FE0F}"), ["今", "日", "は"]);
    }

    #[test]
    fn han_letters_outside_the_cjk_blocks_are_unspaced() {
        // 々 〇 〻 and the Hangzhou numerals are Script=Han in the CJK Symbols and Punctuation
        // block: 人々 was not mostly unspaced, one word instead of two.
        for (text, expected) in [("人々", 2), ("時々", 2), ("〇〇", 2), ("〆切", 2), ("〡〢〣", 3), ("〻〱", 2)]
        {
            assert!(is_mostly_unspaced(text), "{text}");
            assert_eq!(words(text).len(), expected, "{text}");
        }
        assert_eq!(words("人々は時々"), ["人", "々", "は", "時", "々"]);
    }

    #[test]
    fn every_letter_of_the_unspaced_scripts_is_unspaced() {
        // Against the Unicode Scripts data (regex-syntax's tables): every character of these
        // scripts but punctuation and symbols (which are no words anyway) is in `is_unspaced`.
        let scripts = "Han Hiragana Katakana Bopomofo Yi Tangut Khitan_Small_Script Nushu Thai Lao Khmer Myanmar \
                       Tai_Le New_Tai_Lue Tai_Tham Tai_Viet Ahom Tibetan Balinese Javanese Buginese";
        let mut missing = Vec::new();
        for script in scripts.split_whitespace() {
            let pattern = format!(r"[\p{{Script={script}}}--[\p{{P}}\p{{S}}]]");
            let hir = regex_syntax::Parser::new().parse(&pattern).expect("a valid class");
            let regex_syntax::hir::HirKind::Class(regex_syntax::hir::Class::Unicode(class)) = hir.kind() else {
                panic!("{pattern} is no class");
            };
            for c in class.iter().flat_map(|r| r.start()..=r.end()) {
                if !is_unspaced(c) || !is_unspaced_word(c) {
                    missing.push(format!("{script} U+{:04X}", c as u32));
                }
            }
        }
        assert!(missing.is_empty(), "{missing:?}");
    }

    #[test]
    fn the_fast_ranges_hold_no_punctuation_or_symbol() {
        // `is_unspaced_word` answers these blocks without the category lookup.
        let ranges =
            [0x3400..=0x4DBF, 0x4E00..=0x9FFF, 0x20000..=0x3347F, 0x3041..=0x3096, 0x30A1..=0x30FA, 0x0E01..=0x0E30];
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            assert!(!is_punctuation_or_symbol(c) && is_unspaced(c), "{c:?}");
        }
    }

    #[test]
    fn shingle_words_take_unspaced_characters_out_of_whitespace_words() {
        let mut out = Vec::new();
        for_each_shingle_word("用PyTorch训练, the model 東京タワー。 naïve café", |w| out.push(w));
        assert_eq!(
            out,
            ["用", "PyTorch", "训", "练", ",", "the", "model", "東", "京", "タ", "ワ", "ー", "。", "naïve", "café"]
        );
        let mut spaced = Vec::new();
        for_each_shingle_word("plain  ascii\ttext — and Ελληνικά", |w| spaced.push(w));
        assert_eq!(spaced, "plain  ascii\ttext — and Ελληνικά".split_whitespace().collect::<Vec<_>>());
    }
}
