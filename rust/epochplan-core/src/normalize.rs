//! Text normalisation shared by exact hashing, near-duplicate shingling and vocabulary counts.
//!
//! `Default`: Unicode NFKC, then lowercase, then every run of whitespace collapsed to one ASCII
//! space, then trimmed. `None`: the raw text, byte for byte.

use std::str::FromStr;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfkc_quick};

use crate::error::CoreError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalize {
    Default,
    None,
}

impl Default for Normalize {
    fn default() -> Self {
        crate::defaults::NORMALIZE
    }
}

impl FromStr for Normalize {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, CoreError> {
        Normalize::CHOICES.into_iter().find(|m| m.as_str() == s).ok_or_else(|| {
            let choices = crate::defaults::one_of(Normalize::CHOICES.map(Normalize::as_str));
            CoreError::Input(format!("unknown normalize mode {s:?}: use {choices}"))
        })
    }
}

impl Normalize {
    pub const CHOICES: [Normalize; 2] = [Normalize::Default, Normalize::None];

    pub fn as_str(self) -> &'static str {
        match self {
            Normalize::Default => "default",
            Normalize::None => "none",
        }
    }

    /// Normalised form of `text`. Borrows when nothing changes (`None` mode); otherwise writes
    /// into `buf`, which callers reuse across rows so the hot loop does not allocate.
    pub fn apply<'a>(self, text: &'a str, buf: &'a mut String) -> &'a str {
        match self {
            Normalize::None => text,
            Normalize::Default => {
                normalize_default_into(text, buf);
                buf.as_str()
            }
        }
    }
}

/// Whitespace as Rust's `char::is_whitespace` (Unicode White_Space) defines it, for ASCII bytes.
/// Note `u8::is_ascii_whitespace` leaves out vertical tab, which White_Space includes.
#[inline]
pub(crate) const fn is_ascii_white_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r')
}

/// NFKC + lowercase + collapse whitespace + trim, written into `out` (cleared first).
pub fn normalize_default_into(text: &str, out: &mut String) {
    out.clear();
    if text.is_ascii() {
        // ASCII is invariant under NFKC and its lowercase is ASCII: one pass over bytes.
        collapse_ascii(text.as_bytes(), out);
        return;
    }
    let lowered: String = if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        text.to_lowercase()
    } else {
        text.nfkc().collect::<String>().to_lowercase()
    };
    collapse_unicode(&lowered, out);
}

fn collapse_ascii(bytes: &[u8], out: &mut String) {
    // Work on bytes (String::push re-encodes every char); the result is ASCII, hence UTF-8.
    let mut buf = std::mem::take(out).into_bytes();
    buf.reserve(bytes.len());
    let mut pending_space = false;
    for &b in bytes {
        if is_ascii_white_space(b) {
            pending_space = !buf.is_empty();
        } else {
            if pending_space {
                buf.push(b' ');
                pending_space = false;
            }
            buf.push(b.to_ascii_lowercase());
        }
    }
    *out = String::from_utf8(buf).unwrap_or_default();
}

/// Default normalisation of ASCII text fused with word splitting, in one pass over the bytes:
/// writes the normalised text into `out` (cleared first), calls `on_word` with each normalised
/// word, and returns the number of words (which for ASCII equals the raw whitespace-separated
/// word count). The audit's hot loop: one pass instead of normalise + count + split.
pub fn normalize_ascii_words(bytes: &[u8], out: &mut Vec<u8>, mut on_word: impl FnMut(&[u8])) -> u64 {
    debug_assert!(bytes.is_ascii());
    out.clear();
    out.reserve(bytes.len());
    let mut words = 0u64;
    let mut i = 0;
    let n = bytes.len();
    // Word at a time: find the word's end, then copy it lowercased in one go (a loop the
    // compiler vectorises) — about twice as fast as pushing byte by byte.
    loop {
        while i < n && ASCII_WHITE_SPACE[bytes[i] as usize] {
            i += 1;
        }
        if i == n {
            break;
        }
        let start = i;
        let mut upper = false;
        while i < n && !ASCII_WHITE_SPACE[bytes[i] as usize] {
            upper |= bytes[i].is_ascii_uppercase();
            i += 1;
        }
        if !out.is_empty() {
            out.push(b' ');
        }
        let word_start = out.len();
        out.extend(bytes[start..i].iter().map(u8::to_ascii_lowercase));
        // A word already in lowercase is handed over from the input, not from the bytes just
        // written: reading those back (wider loads over byte stores) stalls on store
        // forwarding, which measured as the single hottest instruction of the audit.
        on_word(if upper { &out[word_start..] } else { &bytes[start..i] });
        words += 1;
    }
    words
}

/// `is_ascii_white_space` as a table: one load instead of six compares in the hot loop.
static ASCII_WHITE_SPACE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        table[b] = is_ascii_white_space(b as u8);
        b += 1;
    }
    table
};

fn collapse_unicode(text: &str, out: &mut String) {
    let mut pending_space = false;
    for c in text.chars() {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        let mut buf = String::new();
        Normalize::Default.apply(s, &mut buf).to_string()
    }

    #[test]
    fn ascii_case_and_whitespace() {
        assert_eq!(norm("  Hello\t\tWORLD \n"), "hello world");
        assert_eq!(norm("a\x0Bb"), "a b"); // vertical tab is whitespace
        assert_eq!(norm(""), "");
        assert_eq!(norm(" \n\t "), "");
    }

    #[test]
    fn nfkc_folds_compatibility_forms() {
        assert_eq!(norm("ｆｕｌｌｗｉｄｔｈ"), "fullwidth");
        assert_eq!(norm("ﬁne"), "fine"); // ligature
        assert_eq!(norm("x²"), "x2");
        assert_eq!(norm("Café"), norm("Cafe\u{301}")); // composed == decomposed
        assert_eq!(norm("①"), "1");
    }

    #[test]
    fn non_ascii_whitespace_collapses() {
        // NBSP, ideographic space, em space, line separator, next line
        assert_eq!(norm("a\u{00A0}b\u{3000}c\u{2003}\u{2028}d\u{0085}e"), "a b c d e");
    }

    #[test]
    fn unicode_lowercase() {
        assert_eq!(norm("ÀÉÎ ΣΟΦΟΣ"), "àéî σοφος");
        assert_eq!(norm("Straße"), "straße");
    }

    #[test]
    fn fused_ascii_path_equals_normalise_then_split() {
        for text in ["", "  ", "One", "  Hello\t\tWORLD \n", "a\x0Bb  c\r\n", "x y z "] {
            let mut out = Vec::new();
            let mut words: Vec<String> = Vec::new();
            let count = normalize_ascii_words(text.as_bytes(), &mut out, |w| {
                words.push(String::from_utf8(w.to_vec()).unwrap())
            });
            let expected = norm(text);
            assert_eq!(String::from_utf8(out).unwrap(), expected);
            let expected_words: Vec<String> = expected.split_whitespace().map(String::from).collect();
            assert_eq!(words, expected_words);
            assert_eq!(count, text.split_whitespace().count() as u64);
        }
    }

    #[test]
    fn none_mode_is_identity() {
        let mut buf = String::new();
        assert_eq!(Normalize::None.apply("  A  b ", &mut buf), "  A  b ");
    }

    #[test]
    fn parse_modes() {
        assert_eq!("default".parse::<Normalize>().unwrap(), Normalize::Default);
        assert_eq!("none".parse::<Normalize>().unwrap(), Normalize::None);
        assert!("nfc".parse::<Normalize>().is_err());
    }
}
