//! Shingles of a normalised text, as 64-bit hashes handed to a callback one by one, so no
//! shingle is ever allocated and the word hashes of a text are computed once.

use std::str::FromStr;

use xxhash_rust::xxh3::xxh3_64;

use crate::error::CoreError;
use crate::hashing::{mix64, word_hash};
use crate::normalize::{Normalize, is_ascii_white_space};

/// What an n-gram is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shingle {
    /// Per document: `Char` for text mostly in scripts written without spaces (Han, kana, Thai
    /// …, see [`crate::script::is_mostly_unspaced`]), `Word` for everything else. Whitespace
    /// splits a Chinese paragraph into one "word", so word n-grams would make it one shingle
    /// and no near copy of it could ever be found. For the same reason a long text with fewer
    /// words than a word n-gram (base64, DNA, minified JSON, a run of emoji: see
    /// [`LONG_TEXT_CHARS`]) takes `Char` too.
    Auto,
    /// n consecutive words (prose).
    Word,
    /// n consecutive characters (code, CJK, short text).
    Char,
}

impl Default for Shingle {
    fn default() -> Self {
        crate::defaults::SHINGLE
    }
}

impl FromStr for Shingle {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        Shingle::CHOICES.into_iter().find(|k| k.as_str() == s).ok_or_else(|| {
            let choices = crate::defaults::one_of(Shingle::CHOICES.map(Shingle::as_str));
            CoreError::Input(format!("unknown shingle kind {s:?}: use {choices}"))
        })
    }
}

/// Under `Shingle::Auto`, a text that word shingles would make one whole-text shingle (fewer
/// words than a word n-gram) takes char shingles when it has at least this many characters: a
/// 100 KB base64 string, DNA sequence or minified JSON is one "word", so a near copy of it
/// with one substitution shared nothing with it. Short rows ("How are you?") stay one
/// whole-text shingle, so short texts still never collapse together. 1,000: fewer than 5
/// words (the default n) in 1,000 characters means words of 200 characters and more on
/// average, which no prose has, and which rows of URLs, file paths or log lines (100–300
/// characters of few spaces) do not reach either: at a bound of 100, 500 product URLs of one
/// site that differ in an id and a category became 131 near-unique rows, 500 Java log lines
/// 156 (their char 12-gram Jaccard is about 0.7). Such rows stay one whole-text shingle, as
/// before. On the project's test data (GPTeacher, chatterbot) it changes no result.
pub const LONG_TEXT_CHARS: usize = 1000;

/// Characters per char shingle of such a long text at least (more if `--char-ngram` says so).
/// Not the char n of unspaced text (3): its alphabets are small. Of two unrelated random
/// strings of 100 K characters, char 3-grams measured Jaccard 1.0 for DNA (all 64 3-grams
/// occur in both), 1.0 for hex, 0.99 for minified JSON of one schema, and 8-grams 0.64 for
/// DNA (of 65,536 8-grams most occur); 12-grams 0.003, 0.0 and 0.14 — every long DNA or hex
/// row would have been a near copy of every other. A near copy with 50 substitutions in
/// 100 K characters keeps 0.989 with 12-grams (0.984 with 8-grams).
pub const LONG_TEXT_CHAR_NGRAM: usize = 12;

/// The char n of a long text of few words, for `char_n` characters per char shingle.
#[inline]
pub(crate) fn long_text_char_ngram(char_n: usize) -> usize {
    char_n.max(LONG_TEXT_CHAR_NGRAM)
}

/// Whether `Auto` shingles `normalised_text`, which word shingles split into `words` words, by
/// char [`long_text_char_ngram`]-grams although it is not mostly unspaced: fewer words than
/// `word_n` (it would be one whole-text shingle) and at least [`LONG_TEXT_CHARS`] characters.
#[inline]
pub(crate) fn long_without_words(words: usize, word_n: usize, normalised_text: &[u8]) -> bool {
    // UTF-8: a character is a byte that is no continuation byte (0b10xx_xxxx).
    words < word_n
        && normalised_text.len() >= LONG_TEXT_CHARS
        && normalised_text.iter().filter(|&&b| (b as i8) >= -0x40).count() >= LONG_TEXT_CHARS
}

/// Buffers reused from text to text by one thread.
#[derive(Debug, Default)]
pub struct ShingleScratch {
    word_hashes: Vec<u64>,
    char_starts: Vec<usize>,
    lowercase_word: Vec<u8>,
}

impl Shingle {
    pub const CHOICES: [Shingle; 3] = [Shingle::Auto, Shingle::Word, Shingle::Char];

    pub fn as_str(self) -> &'static str {
        match self {
            Shingle::Auto => "auto",
            Shingle::Word => "word",
            Shingle::Char => "char",
        }
    }

    /// The kind `normalised_text` is shingled with by script: `Auto` decided for this document
    /// by [`crate::script::is_mostly_unspaced`]. A `Word` here still turns `Char` under `Auto`
    /// for a long text of fewer words than a word n-gram ([`long_without_words`]).
    #[inline]
    pub fn resolve(self, normalised_text: &str) -> Shingle {
        match self {
            Shingle::Auto if crate::script::is_mostly_unspaced(normalised_text) => Shingle::Char,
            Shingle::Auto => Shingle::Word,
            kind => kind,
        }
    }

    /// Calls `emit` with the hash of every `n`-gram of `text` (already normalised). A text with
    /// fewer than `n` words (chars) yields exactly one shingle, the hash of the whole text: two
    /// different short texts then share nothing, and two equal ones share everything.
    /// `Auto` is resolved for `text` first, with the same `n` (the sketcher passes the n of the
    /// resolved kind): a long text of fewer than `n` words takes char n-grams of
    /// [`long_text_char_ngram`]`(n)` characters.
    #[inline]
    pub fn for_each(self, text: &str, n: usize, scratch: &mut ShingleScratch, emit: impl FnMut(u64)) {
        debug_assert!(n >= 1);
        match self.resolve(text) {
            Shingle::Char => char_ngrams(text, n, &mut scratch.char_starts, emit),
            _ => self.words_or_chars(text, n, n, scratch, emit),
        }
    }

    /// Word `word_n`-grams of `text` (not mostly unspaced), or under `Auto` its char
    /// [`long_text_char_ngram`]`(char_n)`-grams where it is long but has fewer than `word_n`
    /// words.
    #[inline]
    fn words_or_chars(
        self,
        text: &str,
        word_n: usize,
        char_n: usize,
        scratch: &mut ShingleScratch,
        emit: impl FnMut(u64),
    ) {
        let word_hashes = &mut scratch.word_hashes;
        word_hashes.clear();
        crate::script::for_each_shingle_word(text, |w| word_hashes.push(word_hash(w)));
        if self == Shingle::Auto && long_without_words(word_hashes.len(), word_n, text.as_bytes()) {
            char_ngrams(text, long_text_char_ngram(char_n), &mut scratch.char_starts, emit);
        } else {
            word_ngrams_of_hashes(word_hashes, text.as_bytes(), word_n, emit);
        }
    }

    /// `for_each` on `normalize.apply(text)` with `word_n` for word shingles and `char_n` for
    /// char shingles (`Auto` decided on the normalised text), without building the normalised
    /// text where that is safe — word shingles of ASCII text (ASCII is never unspaced), whose
    /// normalisation only lowercases and collapses whitespace, neither of which word hashes can
    /// see. Building it would cost more than all the hashing. `normalised` is scratch for the
    /// other cases.
    #[allow(clippy::too_many_arguments)]
    pub fn for_each_raw(
        self,
        text: &str,
        normalize: Normalize,
        word_n: usize,
        char_n: usize,
        scratch: &mut ShingleScratch,
        normalised: &mut String,
        emit: impl FnMut(u64),
    ) {
        if self != Shingle::Char && text.is_ascii() {
            let lowercase = normalize == Normalize::Default;
            ascii_word_hashes(text.as_bytes(), lowercase, &mut scratch.word_hashes, &mut scratch.lowercase_word);
            if scratch.word_hashes.len() >= word_n {
                emit_word_ngrams(&scratch.word_hashes, word_n, emit);
                return;
            }
        }
        let normalised = normalize.apply(text, normalised);
        match self.resolve(normalised) {
            Shingle::Char => char_ngrams(normalised, char_n, &mut scratch.char_starts, emit),
            _ => self.words_or_chars(normalised, word_n, char_n, scratch, emit),
        }
    }
}

/// Word n-gram shingles from the `word_hash` of each word of `normalised_text`, in order — for a
/// caller that has already hashed the words (the audit's statistics pass), so no word is
/// hashed twice. Same shingles as `Shingle::Word.for_each(normalised_text, n, …)`.
#[inline]
pub fn word_ngrams_of_hashes(word_hashes: &[u64], normalised_text: &[u8], n: usize, mut emit: impl FnMut(u64)) {
    if word_hashes.len() < n {
        emit(xxh3_64(normalised_text));
        return;
    }
    emit_word_ngrams(word_hashes, n, emit);
}

/// Hash of an n-gram: mix64 of Σ word_i · c_i (wrapping) with a distinct odd constant per
/// position. The products are independent, so the work per shingle is n multiplies and one
/// mix instead of a chain of n − 1 mixes (measured: a third of the shingling time). Two
/// different n-grams collide only if Σ (w_i − w'_i) · c_i ≡ 0 mod 2^64, which for the word
/// hashes' uniform 64-bit values has probability about 2^-64 — the constants being odd makes
/// every position's term a bijection, so a change in any one word always changes the sum.
#[inline]
fn emit_word_ngrams(word_hashes: &[u64], n: usize, mut emit: impl FnMut(u64)) {
    for window in word_hashes.windows(n) {
        let sum = window
            .iter()
            .enumerate()
            .fold(0u64, |sum, (i, &word)| sum.wrapping_add(word.wrapping_mul(position_constant(i))));
        emit(mix64(sum));
    }
}

/// An odd constant per position of an n-gram (fixed, so shingles are the same on every run).
#[inline]
fn position_constant(position: usize) -> u64 {
    const FIRST: [u64; 8] = [
        0x9E37_79B9_7F4A_7C15,
        0xC2B2_AE3D_27D4_EB4F,
        0x1656_67B1_9E37_79F9,
        0x85EB_CA77_C2B2_AE63,
        0x27D4_EB2F_1656_67C5,
        0xD6E8_FEB8_6659_FD93,
        0xFF51_AFD7_ED55_8CCD,
        0xC4CE_B9FE_1A85_EC53,
    ];
    match FIRST.get(position) {
        Some(&c) => c,
        None => mix64(position as u64) | 1,
    }
}

/// `word_hash` of every whitespace-separated word of ASCII `bytes`, lowercased first if asked.
fn ascii_word_hashes(bytes: &[u8], lowercase: bool, word_hashes: &mut Vec<u64>, lowercase_word: &mut Vec<u8>) {
    let mut hash = |word: &[u8]| {
        if lowercase && word.iter().any(u8::is_ascii_uppercase) {
            lowercase_word.clear();
            lowercase_word.extend(word.iter().map(u8::to_ascii_lowercase));
            xxh3_64(lowercase_word)
        } else {
            xxh3_64(word) // == word_hash(word): the same bytes
        }
    };
    word_hashes.clear();
    let mut word_start = None;
    for (i, &b) in bytes.iter().enumerate() {
        if is_ascii_white_space(b) {
            if let Some(start) = word_start.take() {
                word_hashes.push(hash(&bytes[start..i]));
            }
        } else if word_start.is_none() {
            word_start = Some(i);
        }
    }
    if let Some(start) = word_start {
        word_hashes.push(hash(&bytes[start..]));
    }
}

fn char_ngrams(text: &str, n: usize, char_starts: &mut Vec<usize>, mut emit: impl FnMut(u64)) {
    let bytes = text.as_bytes();
    if text.is_ascii() {
        // One byte per char: windows of bytes are windows of chars.
        if bytes.len() < n {
            emit(xxh3_64(bytes));
        } else {
            bytes.windows(n).for_each(|window| emit(xxh3_64(window)));
        }
        return;
    }
    char_starts.clear();
    char_starts.extend(text.char_indices().map(|(start, _)| start));
    char_starts.push(bytes.len());
    let chars = char_starts.len() - 1;
    if chars < n {
        emit(xxh3_64(bytes));
        return;
    }
    for first in 0..=chars - n {
        emit(xxh3_64(&bytes[char_starts[first]..char_starts[first + n]]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shingles(kind: Shingle, text: &str, n: usize) -> Vec<u64> {
        let mut out = Vec::new();
        kind.for_each(text, n, &mut ShingleScratch::default(), |h| out.push(h));
        out
    }

    #[test]
    fn word_ngrams_combine_word_hashes() {
        let got = shingles(Shingle::Word, "a b c d", 3);
        let [a, b, c, d] = ["a", "b", "c", "d"].map(word_hash);
        let gram = |x: u64, y: u64, z: u64| {
            let [c0, c1, c2] = [0, 1, 2].map(position_constant);
            mix64(x.wrapping_mul(c0).wrapping_add(y.wrapping_mul(c1)).wrapping_add(z.wrapping_mul(c2)))
        };
        assert_eq!(got, vec![gram(a, b, c), gram(b, c, d)]);
        assert_eq!(
            shingles(Shingle::Word, "a b", 1),
            vec![mix64(a.wrapping_mul(position_constant(0))), mix64(b.wrapping_mul(position_constant(0)))]
        );
        // word order matters, and so does a repeated word's position
        assert_ne!(shingles(Shingle::Word, "a b c", 3), shingles(Shingle::Word, "c b a", 3));
        assert_ne!(shingles(Shingle::Word, "a a b", 3), shingles(Shingle::Word, "a b a", 3));
        // positions past the table get their own odd constants
        let constants: Vec<u64> = (0..100).map(position_constant).collect();
        assert!(constants.iter().all(|c| c % 2 == 1));
        assert_eq!(constants.iter().collect::<std::collections::HashSet<_>>().len(), 100);
    }

    #[test]
    fn short_and_empty_texts_are_one_whole_text_shingle() {
        assert_eq!(shingles(Shingle::Word, "a b", 3), vec![xxh3_64(b"a b")]);
        assert_eq!(shingles(Shingle::Word, "", 5), vec![xxh3_64(b"")]);
        assert_eq!(shingles(Shingle::Char, "abc", 5), vec![xxh3_64(b"abc")]);
        assert_eq!(shingles(Shingle::Char, "", 5), vec![xxh3_64(b"")]);
        assert_ne!(shingles(Shingle::Word, "a b", 3), shingles(Shingle::Word, "a c", 3));
    }

    #[test]
    fn char_ngrams_count_chars_not_bytes() {
        assert_eq!(shingles(Shingle::Char, "abcd", 2), vec![xxh3_64(b"ab"), xxh3_64(b"bc"), xxh3_64(b"cd")]);
        let got = shingles(Shingle::Char, "héllo", 4);
        assert_eq!(got, vec![xxh3_64("héll".as_bytes()), xxh3_64("éllo".as_bytes())]);
        assert_eq!(shingles(Shingle::Char, "日本語", 3), vec![xxh3_64("日本語".as_bytes())]);
    }

    #[test]
    fn raw_ascii_fast_path_equals_normalising_first() {
        use crate::near::test_support::SplitMix;
        let pieces = ["Ab", "cd", "EF", "g", " ", "  ", "\t", "\n", "\x0B", "\x0C", "\r", "x1", "\x1c"];
        let mut rng = SplitMix(8);
        let (mut scratch, mut normalised, mut buf) = (ShingleScratch::default(), String::new(), String::new());
        for _ in 0..500 {
            let len = rng.below(30) as usize;
            let text: String = (0..len).map(|_| pieces[rng.below(pieces.len() as u64) as usize]).collect();
            for normalize in [Normalize::Default, Normalize::None] {
                for n in [1, 2, 5] {
                    let mut fast = Vec::new();
                    Shingle::Word.for_each_raw(&text, normalize, n, 3, &mut scratch, &mut normalised, |h| fast.push(h));
                    let slow = shingles(Shingle::Word, normalize.apply(&text, &mut buf), n);
                    assert_eq!(fast, slow, "{text:?} {normalize:?} n={n}");
                }
            }
        }
    }

    #[test]
    fn long_texts_of_few_words_take_char_shingles_under_auto() {
        // 1,500 characters, no space: one whole-text shingle, so a near copy shared nothing.
        let long: String = (0..1500u32).map(|i| char::from(b'a' + (i * 7 % 26) as u8)).collect();
        let chars12 = shingles(Shingle::Char, &long, LONG_TEXT_CHAR_NGRAM);
        assert!(chars12.len() > 1);
        assert_eq!(shingles(Shingle::Auto, &long, 5), chars12);
        assert_eq!(shingles(Shingle::Auto, &long, 20), shingles(Shingle::Char, &long, 20));
        assert_eq!(shingles(Shingle::Word, &long, 5), vec![xxh3_64(long.as_bytes())]);
        // 4 words: still fewer than 5; 5 words: word shingles, as before.
        let four = format!("{} b c d", &long[..1200]);
        assert_eq!(shingles(Shingle::Auto, &four, 5), shingles(Shingle::Char, &four, LONG_TEXT_CHAR_NGRAM));
        let five = format!("{four} e");
        assert_eq!(shingles(Shingle::Auto, &five, 5), shingles(Shingle::Word, &five, 5));
        // Short rows stay one whole-text shingle: 999 characters, and 999 emoji (3,996 bytes);
        // a URL of 150 characters too.
        let short = &long[..LONG_TEXT_CHARS - 1];
        assert_eq!(shingles(Shingle::Auto, short, 5), vec![xxh3_64(short.as_bytes())]);
        let emoji = "\u{1F600}".repeat(LONG_TEXT_CHARS - 1);
        assert_eq!(shingles(Shingle::Auto, &emoji, 5), vec![xxh3_64(emoji.as_bytes())]);
        let emoji = "\u{1F600}\u{1F64F}".repeat(LONG_TEXT_CHARS);
        assert_eq!(shingles(Shingle::Auto, &emoji, 5), shingles(Shingle::Char, &emoji, LONG_TEXT_CHAR_NGRAM));
        assert_eq!(shingles(Shingle::Auto, "How are you?", 5), vec![xxh3_64(b"How are you?")]);
        let url = format!("https://shop.example.com/catalog/{}?id=12345&ref=home", &long[..100]);
        assert_eq!(shingles(Shingle::Auto, &url, 5), vec![xxh3_64(url.as_bytes())]);

        // From the raw text (the sketcher's path): normalised first, chars of the long n.
        let raw = long.to_uppercase();
        let (mut scratch, mut normalised) = (ShingleScratch::default(), String::new());
        for (kind, expected) in [(Shingle::Auto, chars12.clone()), (Shingle::Word, vec![xxh3_64(long.as_bytes())])] {
            let mut got = Vec::new();
            kind.for_each_raw(&raw, Normalize::Default, 5, 3, &mut scratch, &mut normalised, |h| got.push(h));
            assert_eq!(got, expected, "{kind:?}");
        }
    }

    #[test]
    fn parse_kinds() {
        assert_eq!("word".parse::<Shingle>().unwrap(), Shingle::Word);
        assert_eq!("char".parse::<Shingle>().unwrap(), Shingle::Char);
        assert_eq!("auto".parse::<Shingle>().unwrap(), Shingle::Auto);
        assert_eq!(Shingle::Auto.resolve("我们今天去公园"), Shingle::Char);
        assert_eq!(Shingle::Auto.resolve("we went to the park"), Shingle::Word);
        assert_eq!(Shingle::Word.resolve("我们今天去公园"), Shingle::Word);
        assert!(matches!("line".parse::<Shingle>(), Err(CoreError::Input(_))));
    }
}
