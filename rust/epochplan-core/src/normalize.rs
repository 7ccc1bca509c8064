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
    UNICODE_SCRATCH.with_borrow_mut(|scratch| {
        normalize_unicode(text, scratch, out);
    });
}

thread_local! {
    static UNICODE_SCRATCH: std::cell::RefCell<UnicodeScratch> = std::cell::RefCell::new(UnicodeScratch::default());
}

/// The default normalisation as the standard library and `unicode-normalization` spell it:
/// the reference that the fast path below must reproduce byte for byte (tests compare them).
pub fn normalize_default_reference(text: &str, out: &mut String) {
    out.clear();
    let lowered: String = if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        text.to_lowercase()
    } else {
        text.nfkc().collect::<String>().to_lowercase()
    };
    collapse_unicode(&lowered, out);
}

/// Raw-text counts that the audit's statistics take from the same pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawCounts {
    /// Unicode scalar values, as `str::chars().count()`.
    pub chars: u64,
    /// Whitespace-separated words, as `str::split_whitespace().count()`.
    pub words: u64,
}

/// What [`normalize_unicode_words`] counts besides writing the normalised text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnicodeCounts {
    /// Of the raw text.
    pub raw: RawCounts,
    /// Letters of the normalised text, as [`crate::script::letter_class`] classes them.
    pub letters: u64,
    /// Of those, letters of unspaced scripts.
    pub unspaced_letters: u64,
}

impl UnicodeCounts {
    /// [`crate::script::is_mostly_unspaced`] of the normalised text, without another pass.
    pub fn mostly_unspaced(&self) -> bool {
        self.unspaced_letters * 2 > self.letters
    }
}

/// Buffers [`normalize_unicode_words`] reuses across rows.
#[derive(Debug, Default)]
pub struct UnicodeScratch {
    /// NFKC of one segment that needs it.
    nfkc: String,
}

/// Default normalisation of any text fused with word splitting (the non-ASCII counterpart of
/// [`normalize_ascii_words`]): writes the normalised text into `out` (cleared first), calls
/// `on_word` with each normalised word in order, and returns the raw text's counts and the
/// normalised text's letters.
///
/// One pass over the characters, one table lookup each: most text is already in NFKC, and most
/// of the rest has only a few characters that change. Each character is lowercased, whitespace
/// collapsed, straight into `out`; at every normalisation boundary (a character with
/// NFKC_Quick_Check=Yes and combining class 0: nothing composes with or reorders across its
/// start) the output state is remembered. A character that may change under NFKC rewinds the
/// output to the last boundary; the segment from there to the next boundary is normalised on
/// its own and fed through the same lowercasing, and the pass goes on. Caseless characters (all
/// of CJK, Arabic, Devanagari …) are copied as they are. A capital sigma, whose lowercase
/// depends on its context, sends the text down the reference path.
///
/// The hot loops are the runs: a run of ASCII is measured and lowercased eight bytes at a time
/// with no per-word bookkeeping; a run that starts at a kept non-ASCII character goes on over
/// kept characters of any width (lowercase ASCII included) and single spaces between them, is
/// decoded from its bytes and copied whole (spaced scripts other than Latin, and Latin words
/// with diacritics, make one run per stretch rather than one per word). A compatibility
/// character whose NFKC is plain boundaries (fullwidth punctuation, `…`, the no-break space) is
/// written from the table. The words are found afterwards by splitting the output at its single
/// spaces (every space in the output separates two words: whitespace is collapsed, and no
/// non-space character lowercases or normalises to a space without being whitespace-flagged
/// itself).
pub fn normalize_unicode_words(
    text: &str,
    scratch: &mut UnicodeScratch,
    out: &mut String,
    on_word: impl FnMut(&[u8]),
) -> UnicodeCounts {
    let counts = normalize_unicode(text, scratch, out);
    split_at_spaces(out.as_bytes(), on_word);
    counts
}

/// [`normalize_unicode_words`] without the words: the caller may split the output at its spaces
/// with [`split_at_spaces`] once it knows the counts (the audit does not need the whitespace
/// words of mostly unspaced text).
pub(crate) fn normalize_unicode(text: &str, scratch: &mut UnicodeScratch, out: &mut String) -> UnicodeCounts {
    out.clear();
    let table = char_table();
    let mut raw = RawCounts { chars: 0, words: 0 };
    let mut in_word = false;
    let UnicodeScratch { nfkc } = scratch;
    // Bytes, handed back as a string at the end: every write below appends whole UTF-8
    // sequences (ASCII, characters copied from `text`, `char`s encoded) and every truncation
    // returns to an earlier length, so the bytes stay UTF-8. Taken out of `out` so that a panic
    // leaves it empty rather than holding a half-written text.
    let mut writer =
        Writer { out: std::mem::take(out).into_bytes(), pending_space: false, letters: 0, unspaced: 0, sigma: false };
    writer.out.reserve(text.len());
    let mut at_boundary = writer.mark();
    let mut last_boundary = 0usize;
    let mut previous_class = 0u8;
    let bytes = text.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        if bytes[at] < 0x80 {
            // A run of ASCII (most of Latin script text, code, numbers, punctuation): every
            // byte is a boundary that NFKC keeps, so the writer's state is only remembered
            // before the last one, where a following mark could need it.
            let end = at + ascii_prefix_len(&bytes[at..]);
            raw.chars += (end - at) as u64;
            raw.words += writer.push_ascii_run(&bytes[at..end], &mut in_word);
            last_boundary = end - 1;
            previous_class = 0;
            let last = bytes[end - 1];
            at_boundary = if ASCII_WHITE_SPACE[last as usize] {
                // Whitespace wrote nothing; normalising from it again sets the pending space again.
                writer.mark()
            } else {
                writer.mark_before_last(1, last.is_ascii_alphabetic() as u64, 0)
            };
            at = end;
            continue;
        }
        let (code, next) = decode_at(bytes, at);
        let flags = table.flags_of(code);
        raw.chars += 1;
        let space = flags & SPACE != 0;
        raw.words += (!space && !in_word) as u64;
        in_word = !space;
        if flags & (KEPT | SPACE) == KEPT {
            // A run of characters that NFKC and lowercasing keep, and single spaces between
            // them (most of Cyrillic, Greek, CJK, Arabic, Devanagari or Hangul text, and of
            // Latin with diacritics): copied as bytes, the writer's state remembered before its
            // last character only (each one is a boundary).
            let KeptRun { end, last, last_flags, letters, unspaced } = KeptRun::scan(bytes, at, next, flags, table);
            // Every space in the run is a single one between two kept characters: a raw
            // character that starts a raw word.
            let (chars, spaces) = chars_and_spaces(&bytes[next..end]);
            raw.chars += chars;
            raw.words += spaces;
            let (letter, unspaced_letter) = ((last_flags & LETTER != 0) as u64, (last_flags & UNSPACED != 0) as u64);
            writer.push_kept(&bytes[at..end], letters, unspaced);
            last_boundary = last;
            previous_class = 0;
            at_boundary = writer.mark_before_last(end - last, letter, unspaced_letter);
            at = end;
            continue;
        }
        // `decode_at` read a whole scalar value of valid UTF-8.
        let c = char::from_u32(code).expect("a scalar value");
        if flags & BOUNDARY != 0
            || (flags & MAYBE_STARTER != 0 && !composes_with_previous(bytes, last_boundary, at, c, table))
        {
            last_boundary = at;
            previous_class = 0;
            at_boundary = writer.mark();
        } else if flags & MARK_YES != 0 && combining_class(c) >= previous_class {
            previous_class = combining_class(c);
        } else if let Some(replacement) = table.replacement(code, flags) {
            // A compatibility character whose NFKC is starters that nothing composes with
            // (fullwidth punctuation, the ellipsis, the no-break space …): nothing composes with
            // or reorders across its start either, so it is a boundary, written as its NFKC.
            last_boundary = at;
            previous_class = 0;
            at_boundary = writer.mark();
            for n in replacement.chars() {
                writer.push(n, table.flags(n), table);
            }
            at = next;
            continue;
        } else {
            // Normalise from the last boundary up to the next one (counting the raw characters
            // on the way), in place of what was written since that boundary.
            let mut end = text.len();
            for (offset, following) in text[next..].char_indices() {
                let following_flags = table.flags(following);
                if following_flags & BOUNDARY != 0 {
                    end = next + offset;
                    break;
                }
                raw.chars += 1;
                let space = following_flags & SPACE != 0;
                raw.words += (!space && !in_word) as u64;
                in_word = !space;
            }
            writer.rewind(at_boundary);
            nfkc.clear();
            nfkc.extend(text[last_boundary..end].nfkc());
            for n in nfkc.chars() {
                writer.push(n, table.flags(n), table);
            }
            last_boundary = end;
            previous_class = 0;
            at_boundary = writer.mark();
            at = end;
            continue;
        }
        writer.push(c, flags, table);
        at = next;
    }
    let Writer { out: written, letters, unspaced, sigma, .. } = writer;
    // SAFETY: see above: `written` holds whole UTF-8 sequences only.
    *out = unsafe { String::from_utf8_unchecked(written) };
    if sigma {
        // A capital sigma's lowercase depends on the letters around it: the standard library's
        // `to_lowercase` knows the rule (Final_Sigma).
        normalize_default_reference(text, out);
        let (mut letters, mut unspaced) = (0, 0);
        for c in out.chars() {
            let flags = table.flags(c);
            letters += (flags & LETTER != 0) as u64;
            unspaced += (flags & UNSPACED != 0) as u64;
        }
        return UnicodeCounts { raw, letters, unspaced_letters: unspaced };
    }
    UnicodeCounts { raw, letters, unspaced_letters: unspaced }
}

/// A run of characters that NFKC and lowercasing keep, with single spaces between them, as
/// [`normalize_unicode`] copies it whole.
struct KeptRun {
    /// Offset after the run.
    end: usize,
    /// Offset of its last character, and that character's flags.
    last: usize,
    last_flags: u8,
    /// Letters and letters of unspaced scripts in the run.
    letters: u64,
    unspaced: u64,
}

impl KeptRun {
    /// The run that starts with the kept character at `at`, which has `flags` and ends at
    /// `next`. Out of line, with as little as possible in the loop (the raw characters and
    /// spaces are counted afterwards, eight bytes at a time): inside `normalize_unicode` its
    /// state did not fit in registers, and this loop is where Cyrillic, Greek, CJK, Hangul and
    /// Latin with diacritics spend their time.
    #[inline(never)]
    fn scan(bytes: &[u8], at: usize, next: usize, flags: u8, table: &CharTable) -> KeptRun {
        // Letters in the low half, unspaced letters in the high half, of the characters before
        // the last one (an unspaced letter is a letter: entry 2 is never used).
        const COUNTS: [u64; 4] = [0, 1, 1 << 32, 1 | 1 << 32];
        let count = |flags: u8| COUNTS[((flags >> 4) & 3) as usize];
        const _: () = assert!(LETTER == 16 && UNSPACED == 32);
        let mut counted = 0u64;
        let (mut last, mut last_flags, mut end) = (at, flags, next);
        while end < bytes.len() {
            // A single space between two kept characters (the words of spaced scripts other
            // than Latin) stays in the run: written as it is, it is what collapsing writes, and
            // it starts a word. A space that ends the text, or another space after it, ends it.
            let start = end + (bytes[end] == b' ') as usize;
            if start == bytes.len() {
                break;
            }
            // Eight ASCII bytes at a time where the run goes on over them (the rest of a Latin
            // word with diacritics, and of the text after it up to a capital): the state that
            // the steps below would reach byte by byte.
            if bytes[start] < 0x80
                && let Some(chunk) = bytes.get(end..end + 8)
            {
                let x = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
                let taken = kept_ascii_prefix(x);
                if taken > 0 {
                    // Letters of the bytes before the last one taken (the last one becomes `last`).
                    let before_last = (1u64 << (8 * (taken - 1))) - 1;
                    let letters = bytes_within(x, b'a', b'z') & before_last;
                    counted += count(last_flags) + ((letters >> 7).wrapping_mul(ONES) >> 56);
                    (last, end) = (end + taken - 1, end + taken);
                    last_flags = table.flags_of(bytes[last] as u32);
                    continue;
                }
            }
            let (following, after) = char_at(bytes, start);
            let following_flags = table.flags_of(following);
            if following_flags & (KEPT | SPACE) != KEPT {
                break;
            }
            counted += count(last_flags);
            (last, last_flags, end) = (start, following_flags, after);
        }
        counted += count(last_flags);
        KeptRun { end, last, last_flags, letters: counted & 0xFFFF_FFFF, unspaced: counted >> 32 }
    }
}

/// How many of the eight bytes `x` (little-endian) [`KeptRun::scan`] takes into a run after a
/// kept character, 0 to 8: the longest prefix of ASCII bytes that NFKC and lowercasing keep (no
/// capital letter, no whitespace but a space) and of single spaces that another such byte
/// follows within `x`. It ends on a byte that is no space.
#[inline(always)]
fn kept_ascii_prefix(x: u64) -> usize {
    // Lanes at or after the first non-ASCII byte may hold garbage (an addition there carries
    // into the lanes above); only the prefix before the first stop counts.
    let space = bytes_within(x, b' ', b' ');
    let stop = (x & HIGHS) | bytes_within(x, b'A', b'Z') | bytes_within(x, b'\t', b'\r');
    // A space stops the run unless the next byte in `x` goes on with it: not for the last byte.
    let stop = stop | (space & (((stop | space) >> 8) | (0x80 << 56)));
    (stop.trailing_zeros() / 8) as usize
}

/// Characters (bytes that do not continue a UTF-8 sequence) and spaces in `bytes`, valid UTF-8,
/// eight bytes at a time.
fn chars_and_spaces(bytes: &[u8]) -> (u64, u64) {
    // 10xxxxxx: the high bit set, the next one clear (zero padding is neither).
    let [continuations, spaces] = count_marks(bytes, |x| [x & !(x << 1) & HIGHS, space_marks(x)]);
    (bytes.len() as u64 - continuations, spaces)
}

/// Whether `c`, a starter that may compose with the character before it (NFKC_Quick_Check=Maybe,
/// combining class 0: Indic length marks such as Bengali ◌া, Hangul vowel and final jamo),
/// composes with what precedes it at `at`. Only the character right before can compose with a
/// starter (anything between would block it), and when that one is the last boundary its raw
/// form is its NFKC, so the answer is the canonical composition of the pair. Otherwise — a
/// mark, a changed character or nothing before — the answer is "maybe", and the caller
/// normalises the segment as before.
#[inline]
fn composes_with_previous(bytes: &[u8], last_boundary: usize, at: usize, c: char, table: &CharTable) -> bool {
    if last_boundary >= at {
        return true;
    }
    let (previous, end) = char_at(bytes, last_boundary);
    let Some(previous) = char::from_u32(previous) else {
        return true;
    };
    end != at || table.flags(previous) & BOUNDARY == 0 || unicode_normalization::char::compose(previous, c).is_some()
}

/// The scalar value of the UTF-8 sequence at `at` of valid UTF-8 `bytes`, ASCII or not, and the
/// offset after it.
#[inline(always)]
fn char_at(bytes: &[u8], at: usize) -> (u32, usize) {
    if bytes[at] < 0x80 { (bytes[at] as u32, at + 1) } else { decode_at(bytes, at) }
}

/// The scalar value of the multi-byte UTF-8 sequence at `at` of valid UTF-8 `bytes`, and the
/// offset after it. Decoded by hand: `str::chars` on a fresh slice per character (a boundary
/// check and an iterator each) measured as a large share of the pass on CJK text.
///
/// Away from the end of `bytes`, one bounds check covers the longest sequence (a check per byte
/// was a fifth of the instructions of a kept run's loop).
#[inline(always)]
fn decode_at(bytes: &[u8], at: usize) -> (u32, usize) {
    let lead = bytes[at] as u32;
    let Some(&[b1, b2, b3]) = bytes.get(at + 1..at + 4) else {
        return decode_near_end(bytes, at);
    };
    let (t1, t2, t3) = (b1 as u32 & 0x3F, b2 as u32 & 0x3F, b3 as u32 & 0x3F);
    if lead < 0xE0 {
        (((lead & 0x1F) << 6) | t1, at + 2)
    } else if lead < 0xF0 {
        (((lead & 0x0F) << 12) | (t1 << 6) | t2, at + 3)
    } else {
        (((lead & 0x07) << 18) | (t1 << 12) | (t2 << 6) | t3, at + 4)
    }
}

/// [`decode_at`] of a sequence in the last three bytes.
#[cold]
#[inline(never)]
fn decode_near_end(bytes: &[u8], at: usize) -> (u32, usize) {
    let lead = bytes[at] as u32;
    let tail = |i: usize| bytes[at + i] as u32 & 0x3F;
    if lead < 0xE0 {
        (((lead & 0x1F) << 6) | tail(1), at + 2)
    } else if lead < 0xF0 {
        (((lead & 0x0F) << 12) | (tail(1) << 6) | tail(2), at + 3)
    } else {
        (((lead & 0x07) << 18) | (tail(1) << 12) | (tail(2) << 6) | tail(3), at + 4)
    }
}

/// Length of the ASCII prefix of `bytes`, eight bytes at a time.
#[inline]
fn ascii_prefix_len(bytes: &[u8]) -> usize {
    let mut n = 0;
    for chunk in bytes.chunks_exact(8) {
        let word = u64::from_le_bytes(chunk.try_into().expect("eight bytes"));
        if word & 0x8080_8080_8080_8080 != 0 {
            break;
        }
        n += 8;
    }
    n + bytes[n..].iter().position(|&b| b >= 0x80).unwrap_or(bytes.len() - n)
}

/// Lowercases, collapses whitespace and trims into `out`.
struct Writer {
    out: Vec<u8>,
    pending_space: bool,
    letters: u64,
    unspaced: u64,
    /// A capital sigma was written (sticky: a rewind may only make it a false alarm).
    sigma: bool,
}

/// A [`Writer`]'s state at a normalisation boundary.
#[derive(Clone, Copy)]
struct Mark {
    out: usize,
    pending_space: bool,
    letters: u64,
    unspaced: u64,
}

impl Writer {
    #[inline(always)]
    fn mark(&self) -> Mark {
        Mark { out: self.out.len(), pending_space: self.pending_space, letters: self.letters, unspaced: self.unspaced }
    }

    fn rewind(&mut self, mark: Mark) {
        self.out.truncate(mark.out);
        self.pending_space = mark.pending_space;
        self.letters = mark.letters;
        self.unspaced = mark.unspaced;
    }

    /// Before a non-space character: the space a whitespace run left pending.
    #[inline(always)]
    fn open_word(&mut self) {
        if self.pending_space {
            self.out.push(b' ');
            self.pending_space = false;
        }
    }

    /// The state before the last character written, a non-space one of `bytes` bytes with
    /// `letters` and `unspaced` letters (0 or 1). A space right before it in the output was
    /// written for it (spaces are only written before the character that ends a whitespace run),
    /// so it was still pending then.
    #[inline(always)]
    fn mark_before_last(&self, bytes: usize, letters: u64, unspaced: u64) -> Mark {
        let out = self.out.len() - bytes;
        let pending_space = out > 0 && self.out[out - 1] == b' ';
        Mark {
            out: out - pending_space as usize,
            pending_space,
            letters: self.letters - letters,
            unspaced: self.unspaced - unspaced,
        }
    }

    /// Writes `run`, ASCII bytes, and returns how many raw words start in it; `in_word`:
    /// whether the byte before was part of a word (updated).
    ///
    /// Most runs of prose are words with single spaces between them: those are measured eight
    /// bytes at a time ([`AsciiBody`]) and written as a whole, lowercased the same way. Others
    /// (line breaks, tabs, double spaces) go word by word.
    #[inline(always)]
    fn push_ascii_run(&mut self, run: &[u8], in_word: &mut bool) -> u64 {
        let lead = run.iter().take_while(|&&b| is_ascii_white_space(b)).count();
        if lead > 0 {
            self.pending_space = !self.out.is_empty();
            *in_word = false;
        }
        let body = &run[lead..];
        let trail = body.iter().rev().take_while(|&&b| is_ascii_white_space(b)).count();
        let body = &body[..body.len() - trail];
        let mut words = 0u64;
        if !body.is_empty() {
            // `body` starts and ends with a non-space byte.
            let measured = AsciiBody::measure(body);
            words += !*in_word as u64;
            self.letters += measured.letters;
            self.open_word();
            if measured.tidy {
                // Every whitespace byte is one space between two words, each starting one.
                words += measured.spaces;
                lowercase_into(body, &mut self.out);
            } else {
                words += self.push_ascii_words(body);
            }
            *in_word = true;
        }
        if trail > 0 {
            self.pending_space = !self.out.is_empty();
            *in_word = false;
        }
        words
    }

    /// Writes `body` (ASCII, starting and ending with a non-space byte, the space before it
    /// already written) a word at a time, collapsing each whitespace run to one space; returns
    /// the number of words after the first.
    fn push_ascii_words(&mut self, body: &[u8]) -> u64 {
        let (mut i, mut words) = (0, 0);
        while i < body.len() {
            let start = i;
            while i < body.len() && !is_ascii_white_space(body[i]) {
                i += 1;
            }
            lowercase_into(&body[start..i], &mut self.out);
            if i < body.len() {
                while is_ascii_white_space(body[i]) {
                    i += 1;
                }
                self.out.push(b' ');
                words += 1;
            }
        }
        words
    }

    /// Writes `run`, whole characters that NFKC and lowercasing keep and that are not
    /// whitespace, with single spaces between them, and the number of its `letters` and
    /// `unspaced` letters.
    #[inline(always)]
    fn push_kept(&mut self, run: &[u8], letters: u64, unspaced: u64) {
        if run.is_empty() {
            return;
        }
        self.open_word();
        self.letters += letters;
        self.unspaced += unspaced;
        self.out.extend_from_slice(run);
    }

    /// Writes `c` (in NFKC) with its `flags`.
    #[inline(always)]
    fn push(&mut self, c: char, flags: u8, table: &CharTable) {
        if flags & SPACE != 0 {
            self.pending_space = !self.out.is_empty();
            return;
        }
        self.open_word();
        if c.is_ascii() {
            self.letters += c.is_ascii_alphabetic() as u64;
            self.out.push(c.to_ascii_lowercase() as u8);
        } else if flags & CASELESS != 0 {
            self.letters += (flags & LETTER != 0) as u64;
            self.unspaced += (flags & UNSPACED != 0) as u64;
            self.push_char(c);
        } else {
            self.sigma |= c == 'Σ';
            for lower in c.to_lowercase() {
                let lower_flags = table.flags(lower);
                self.letters += (lower_flags & LETTER != 0) as u64;
                self.unspaced += (lower_flags & UNSPACED != 0) as u64;
                self.push_char(lower);
            }
        }
    }

    #[inline(always)]
    fn push_char(&mut self, c: char) {
        self.out.extend_from_slice(c.encode_utf8(&mut [0u8; 4]).as_bytes());
    }
}

/// NFKC_Quick_Check=Yes and canonical combining class 0: a normalisation boundary.
const BOUNDARY: u8 = 1;
/// NFKC_Quick_Check=Yes with a non-zero combining class: unchanged while the classes of a run
/// of such marks do not decrease.
const MARK_YES: u8 = 2;
/// `char::to_lowercase` is the character itself.
const CASELESS: u8 = 4;
/// `char::is_whitespace`.
const SPACE: u8 = 8;
/// Both: NFKC and lowercasing leave the character as it is, and nothing before it changes.
const KEPT: u8 = BOUNDARY | CASELESS;
/// A letter, as [`crate::script::letter_class`] counts letters.
const LETTER: u8 = 16;
/// A letter of an unspaced script.
const UNSPACED: u8 = 32;
/// Characters below this have their flags in the table (the BMP and the supplementary plane of
/// emoji and symbols); others are computed on demand.
const TABLE_CHARS: u32 = 0x2_0000;

/// NFKC_Quick_Check=Maybe with combining class 0: a boundary unless it composes with the
/// character before it (see [`composes_with_previous`]).
const MAYBE_STARTER: u8 = 128;

/// A compatibility character (NFKC_Quick_Check=No, combining class 0) whose NFKC is boundaries
/// only: written as that NFKC without normalising the text around it. Table characters only.
const REPLACED: u8 = 64;

/// Flags of the characters below [`TABLE_CHARS`]; others are computed on demand.
struct CharTable {
    /// A fixed length: looking up a character of up to three UTF-8 bytes needs no bounds check.
    bmp: Box<[u8; TABLE_CHARS as usize]>,
    /// The NFKC of each [`REPLACED`] character.
    replacements: hashbrown::HashMap<u32, Box<str>>,
}

impl CharTable {
    #[inline(always)]
    fn flags(&self, c: char) -> u8 {
        self.flags_of(c as u32)
    }

    /// Flags of the scalar value `code`.
    #[inline(always)]
    fn flags_of(&self, code: u32) -> u8 {
        match self.bmp.get(code as usize) {
            Some(&f) => f,
            None => char_flags(char::from_u32(code).expect("a scalar value")),
        }
    }

    /// The NFKC of the scalar value `code` with `flags`, when it is [`REPLACED`].
    #[inline(always)]
    fn replacement(&self, code: u32, flags: u8) -> Option<&str> {
        if flags & REPLACED == 0 {
            return None;
        }
        self.replacements.get(&code).map(|r| &**r)
    }
}

fn char_table() -> &'static CharTable {
    static TABLE: std::sync::OnceLock<CharTable> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        // Surrogates are not chars: they get no flags and are never looked up.
        let mut bmp: Box<[u8; TABLE_CHARS as usize]> = (0u32..TABLE_CHARS)
            .map(|u| char::from_u32(u).map_or(0, char_flags))
            .collect::<Box<[u8]>>()
            .try_into()
            .expect("one entry per character");
        let mut replacements = hashbrown::HashMap::new();
        for (code, flags) in bmp.iter_mut().enumerate().filter(|(_, flags)| **flags & (BOUNDARY | MARK_YES) == 0) {
            if let Some(replacement) = char::from_u32(code as u32).and_then(replacement_of) {
                *flags |= REPLACED;
                replacements.insert(code as u32, replacement);
            }
        }
        CharTable { bmp, replacements }
    })
}

/// The NFKC of `c` when `c` is a compatibility character that starts a normalisation segment
/// of its own and whose NFKC is boundaries only: then `c` followed by a boundary normalises to
/// it whatever comes before, and nothing after it composes or reorders with it unless it starts
/// a segment with `c` (which normalising from `c` handles).
fn replacement_of(c: char) -> Option<Box<str>> {
    let boundary = |c: char| is_nfkc_quick(std::iter::once(c)) == IsNormalized::Yes && combining_class(c) == 0;
    if is_nfkc_quick(std::iter::once(c)) != IsNormalized::No || combining_class(c) != 0 {
        return None;
    }
    let nfkc: String = std::iter::once(c).nfkc().collect();
    (!nfkc.is_empty() && nfkc.chars().all(boundary)).then(|| nfkc.into_boxed_str())
}

fn char_flags(c: char) -> u8 {
    let mut flags = 0;
    match (is_nfkc_quick(std::iter::once(c)), combining_class(c)) {
        (IsNormalized::Yes, 0) => flags |= BOUNDARY,
        (IsNormalized::Yes, _) => flags |= MARK_YES,
        (IsNormalized::Maybe, 0) => flags |= MAYBE_STARTER,
        _ => {}
    }
    let mut lower = c.to_lowercase();
    if lower.len() == 1 && lower.next() == Some(c) {
        flags |= CASELESS;
    }
    if c.is_whitespace() {
        flags |= SPACE;
    }
    let (letter, unspaced) = crate::script::letter_class(c);
    if letter {
        flags |= LETTER;
    }
    if unspaced {
        flags |= UNSPACED;
    }
    flags
}

#[inline]
fn combining_class(c: char) -> u8 {
    unicode_normalization::char::canonical_combining_class(c)
}

fn collapse_ascii(bytes: &[u8], out: &mut String) {
    // Work on bytes (String::push re-encodes every char); the result is ASCII, hence UTF-8.
    let mut buf = std::mem::take(out).into_bytes();
    collapse_lowercase_ascii_into(bytes, &mut buf);
    *out = String::from_utf8(buf).unwrap_or_default();
}

/// Default normalisation of ASCII text fused with word splitting: writes the normalised text into `out` (cleared first), calls `on_word` with each normalised
/// word, and returns the number of words (which for ASCII equals the raw whitespace-separated
/// word count). The audit's hot loop for ASCII rows.
pub fn normalize_ascii_words(bytes: &[u8], out: &mut Vec<u8>, on_word: impl FnMut(&[u8])) -> u64 {
    debug_assert!(bytes.is_ascii());
    out.clear();
    collapse_lowercase_ascii_into(bytes, out);
    // Split only once the whole text is written: hashing words straight from bytes just
    // stored (wider loads over byte stores) stalls on store forwarding.
    split_at_spaces(out, on_word)
}

/// Calls `on_word` with each word of normalised text (single spaces between words, none at
/// either end) and returns how many there are. The spaces are found eight bytes at a time:
/// words are short, and a `memchr` call per word cost more.
#[inline(always)]
pub(crate) fn split_at_spaces(written: &[u8], mut on_word: impl FnMut(&[u8])) -> u64 {
    if written.is_empty() {
        return 0;
    }
    let (mut words, mut from) = (0u64, 0);
    for_each_eight_bytes(written, |offset, x, _| {
        let mut spaces = space_marks(x);
        while spaces != 0 {
            let space = offset + (spaces.trailing_zeros() / 8) as usize;
            on_word(&written[from..space]);
            (words, from) = (words + 1, space + 1);
            spaces &= spaces - 1;
        }
    });
    on_word(&written[from..]);
    words + 1
}

/// The high bit of each byte of `x` that is a space, for any bytes (UTF-8 included; unlike
/// [`bytes_within`], no byte carries into the next): a byte of `x ^ spaces` is zero exactly
/// when neither its low seven bits nor its high bit are set.
#[inline(always)]
const fn space_marks(x: u64) -> u64 {
    let y = x ^ (ONES * 0x20);
    !(((y & !HIGHS).wrapping_add(!HIGHS)) | y | !HIGHS)
}

/// Appends `bytes` (ASCII) to `out` lowercased, each run of whitespace written as one space and
/// none at either end, eight bytes at a time (SWAR). A block with no whitespace byte to drop
/// (one that follows another, or leads the text) is written whole; the others byte by byte.
/// Finding each word's end byte by byte and copying the word instead made the whole audit of
/// ASCII rows a third slower.
fn collapse_lowercase_ascii_into(bytes: &[u8], out: &mut Vec<u8>) {
    let convert = |x: u64, white: u64| {
        // Whitespace bytes become spaces (cleared, then bit 5 set); capitals get bit 5 too.
        let spread = (white >> 7).wrapping_mul(0xFF);
        (x & !spread) | (white >> 2) | (bytes_within(x, b'A', b'Z') >> 2)
    };
    let start = out.len();
    // Room for whole eight-byte stores past the last byte; cut back to the bytes kept below.
    out.resize(start + bytes.len() + 8, 0);
    let mut at = start;
    // The high bit of the byte before the block, if it is whitespace: the text's start counts
    // as whitespace, so leading whitespace is dropped.
    let mut carry = 0x80u64;
    for_each_eight_bytes(bytes, |_, x, len| {
        let white = bytes_within(x, b' ', b' ') | bytes_within(x, b'\t', b'\r');
        let dropped = white & ((white << 8) | carry);
        let converted = convert(x, white).to_le_bytes();
        if dropped == 0 {
            out[at..at + 8].copy_from_slice(&converted);
            at += len;
        } else {
            for (k, &b) in converted[..len].iter().enumerate() {
                if dropped >> (8 * k + 7) & 1 == 0 {
                    out[at] = b;
                    at += 1;
                }
            }
        }
        carry = white >> 56;
    });
    // At most one whitespace byte is left at the end, written as a space.
    if at > start && out[at - 1] == b' ' {
        at -= 1;
    }
    out.truncate(at);
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// The high bit of each byte of `x` (eight ASCII bytes) that lies in `low..=high`: adding
/// `0x80 - low` sets a byte's high bit exactly when it is at least `low`, and no byte carries
/// into the next (ASCII bytes are below 0x80).
#[inline(always)]
const fn bytes_within(x: u64, low: u8, high: u8) -> u64 {
    (x.wrapping_add(ONES * (0x80 - low as u64)) & !x.wrapping_add(ONES * (0x7F - high as u64))) & HIGHS
}

/// For each of two kinds of marks (high bits of bytes) that `marks` gives for each eight bytes
/// of `bytes` (zero-padded), how many bytes have one. The marks are added into byte lanes and
/// the lanes summed once per [`LANE_BLOCK`]: one add a word instead of a multiply
/// (`count_ones` is a loop of shifts on the baseline x86-64 target, which has no popcount
/// instruction; and the compiler vectorised a multiply per word into SSE2's emulation of
/// 64-bit multiplies).
#[inline(always)]
fn count_marks(bytes: &[u8], mut marks: impl FnMut(u64) -> [u64; 2]) -> [u64; 2] {
    let mut counts = [0u64; 2];
    for block in bytes.chunks(LANE_BLOCK) {
        let mut lanes = [0u64; 2];
        for_each_eight_bytes(block, |_, x, _| {
            let [a, b] = marks(x);
            lanes[0] += a >> 7;
            lanes[1] += b >> 7;
        });
        counts[0] += sum_lanes(lanes[0]);
        counts[1] += sum_lanes(lanes[1]);
    }
    counts
}

/// Bytes a byte lane counts at most: 255 words, so a lane cannot overflow.
const LANE_BLOCK: usize = 255 * 8;

/// The sum of the eight byte lanes of `lanes`.
#[inline(always)]
const fn sum_lanes(lanes: u64) -> u64 {
    const LOW_BYTES: u64 = 0x00FF_00FF_00FF_00FF;
    let pairs = (lanes & LOW_BYTES) + ((lanes >> 8) & LOW_BYTES);
    pairs.wrapping_mul(0x0001_0001_0001_0001) >> 48
}

/// Up to eight bytes of `chunk` as a little-endian word, zero-padded (a zero byte is neither
/// whitespace nor a letter).
#[inline(always)]
fn load_word(chunk: &[u8]) -> u64 {
    let mut word = [0u8; 8];
    word[..chunk.len()].copy_from_slice(chunk);
    u64::from_le_bytes(word)
}

/// Calls `f(offset, word, len)` for `bytes` as little-endian eight-byte words in order, `len`
/// being how many of the word's bytes are real: the last word is zero-padded (see
/// [`load_word`]) when `bytes` is not a multiple of eight long. A plain loop and one call for
/// the rest: an iterator chain here cost 2 % more instructions in the Unicode pass.
#[inline(always)]
fn for_each_eight_bytes(bytes: &[u8], mut f: impl FnMut(usize, u64, usize)) {
    let chunks = bytes.chunks_exact(8);
    let rest = chunks.remainder();
    for (i, chunk) in chunks.enumerate() {
        f(8 * i, u64::from_le_bytes(chunk.try_into().expect("eight bytes")), 8);
    }
    if !rest.is_empty() {
        f(bytes.len() - rest.len(), load_word(rest), rest.len());
    }
}

/// What [`Writer::push_ascii_run`] needs to know of a run's body, eight bytes at a time (SWAR:
/// the portable baseline x86-64 target has no wider vectors the compiler would use here).
struct AsciiBody {
    letters: u64,
    spaces: u64,
    /// Every whitespace byte is a space, and no two are neighbours.
    tidy: bool,
}

impl AsciiBody {
    #[inline(always)]
    fn measure(body: &[u8]) -> AsciiBody {
        let (mut untidy, mut carry) = (0u64, 0u64);
        let [letters, spaces] = count_marks(body, |x| {
            let space = bytes_within(x, b' ', b' ');
            let white = space | bytes_within(x, b'\t', b'\r');
            // A whitespace byte other than a space, or two in a row (the byte before the
            // first one is the last of the previous word).
            untidy |= (white ^ space) | (white & ((white << 8) | carry));
            carry = white >> 56;
            [bytes_within(x | (ONES * 0x20), b'a', b'z'), space]
        });
        AsciiBody { letters, spaces, tidy: untidy == 0 }
    }
}

/// Appends `bytes` (ASCII) to `out` lowercased, eight bytes at a time.
#[inline(always)]
fn lowercase_into(bytes: &[u8], out: &mut Vec<u8>) {
    let lower = |x: u64| x | (bytes_within(x, b'A', b'Z') >> 2);
    let start = out.len();
    out.resize(start + bytes.len(), 0);
    let target = &mut out[start..];
    let mut sources = bytes.chunks_exact(8);
    let mut targets = target.chunks_exact_mut(8);
    for (to, from) in (&mut targets).zip(&mut sources) {
        to.copy_from_slice(&lower(u64::from_le_bytes(from.try_into().expect("eight bytes"))).to_le_bytes());
    }
    let (to, from) = (targets.into_remainder(), sources.remainder());
    to.copy_from_slice(&lower(load_word(from)).to_le_bytes()[..from.len()]);
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
    use crate::near::test_support::SplitMix;

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
    fn space_marks_flag_exactly_the_spaces_among_any_bytes() {
        // Every byte value at every position, beside spaces and bytes of UTF-8 sequences.
        for b in 0..=255u8 {
            for position in 0..8 {
                for filler in [b' ', 0x80, 0xFF, 0x21, 0x1F] {
                    let mut bytes = [filler; 8];
                    bytes[position] = b;
                    let expected =
                        bytes.iter().enumerate().fold(0u64, |m, (k, &x)| m | ((x == b' ') as u64) << (8 * k + 7));
                    assert_eq!(space_marks(u64::from_le_bytes(bytes)), expected, "{bytes:?}");
                }
            }
        }
    }

    #[test]
    fn ascii_path_equals_the_reference_on_random_texts() {
        // Texts of 0-40 bytes of letters in both cases, digits, punctuation and every ASCII
        // whitespace byte, so that runs of whitespace start, end and straddle the eight-byte
        // blocks at every offset, and texts start and end with them.
        const BYTES: &[u8] = b"aZq0.,-@[` \t\n\x0B\x0C\r  ";
        let mut rng = SplitMix(7);
        let (mut out, mut reference, mut text) = (Vec::new(), String::new(), String::new());
        for _ in 0..200_000 {
            text.clear();
            let len = rng.below(41);
            text.extend((0..len).map(|_| BYTES[rng.below(BYTES.len() as u64) as usize] as char));
            let mut words = Vec::new();
            let count = normalize_ascii_words(text.as_bytes(), &mut out, |w| words.push(w.to_vec()));
            normalize_default_reference(&text, &mut reference);
            assert_eq!(out, reference.as_bytes(), "{text:?}");
            assert_eq!(norm(&text), reference, "{text:?}"); // `Normalize::apply`: eval splits, previews
            let expected: Vec<Vec<u8>> =
                reference.split(' ').filter(|w| !w.is_empty()).map(|w| w.as_bytes().to_vec()).collect();
            assert_eq!(words, expected, "{text:?}");
            assert_eq!(count, text.split_whitespace().count() as u64, "{text:?}");
        }
    }

    /// Characters where NFKC, lowercasing or whitespace are tricky: combining marks of several
    /// classes (out of order too), compositions whose second part is a starter (Hangul jamo,
    /// Oriya, halfwidth katakana + voiced mark), composition exclusions, compatibility forms,
    /// context-dependent and multi-character lowercase, Unicode whitespace, supplementary planes.
    const TRICKY: &[char] = &[
        'a',
        'A',
        'e',
        'Z',
        ' ',
        '\t',
        '\n',
        '\u{0B}',
        '.',
        '1',
        'é',
        'É',
        '\u{A0}',
        '¨',
        'ª',
        '²',
        'µ',
        '¼',
        'ß',
        'ẞ',
        'İ',
        'ı',
        'Ǆ',
        'ǅ',
        'ǆ',
        '\u{0300}',
        '\u{0301}',
        '\u{0323}',
        '\u{0327}',
        '\u{0345}',
        '\u{0340}',
        '\u{0344}',
        'Σ',
        'σ',
        'ς',
        'Ω',
        'ΐ',
        'ά',
        '\u{0313}',
        '\u{1100}',
        '\u{1161}',
        '\u{11A8}',
        '가',
        '각',
        'ﬁ',
        'Ａ',
        'ａ',
        'ｶ',
        '\u{FF9E}',
        'カ',
        '\u{3099}',
        'が',
        'क',
        '\u{0958}',
        '\u{093C}',
        '\u{094D}',
        'ा',
        '\u{0B47}',
        '\u{0B3E}',
        '\u{0B57}',
        '\u{0F73}',
        '\u{0F71}',
        '\u{0F72}',
        '\u{F900}',
        '\u{2F800}',
        '😀',
        '\u{1F1EB}',
        '\u{FE0F}',
        '\u{200D}',
        '\u{1D15E}',
        '\u{1D165}',
        '\u{0085}',
        '\u{2028}',
        '\u{3000}',
        '\u{200B}',
        '…',
        '™',
        '①',
        'Ⅻ',
        '\u{FDFA}',
        'ﻼ',
        '\u{0640}',
        'ل',
        '\u{0653}',
        'ا',
        '\u{0654}',
        '、',
        '，',
        '\u{1E9B}',
        '\u{0387}',
        ';',
        'Å',
        '\u{212B}',
        '\u{2126}',
        'K',
        '\u{212A}',
        '\u{10400}',
        '\u{1E900}',
        '\u{0130}',
    ];

    fn check_fast_equals_reference(
        text: &str,
        scratch: &mut UnicodeScratch,
        fast: &mut String,
        reference: &mut String,
    ) {
        normalize_default_reference(text, reference);
        let mut words: Vec<Vec<u8>> = Vec::new();
        let counts = normalize_unicode_words(text, scratch, fast, |w| words.push(w.to_vec()));
        assert_eq!(fast, reference, "{text:?}");
        let expected_words: Vec<Vec<u8>> =
            reference.split(' ').map(|w| w.as_bytes().to_vec()).filter(|w| !w.is_empty()).collect();
        assert_eq!(words, expected_words, "{text:?}");
        let raw = RawCounts { chars: text.chars().count() as u64, words: text.split_whitespace().count() as u64 };
        assert_eq!(counts.raw, raw, "{text:?}");
        let (mut letters, mut unspaced) = (0, 0);
        for c in reference.chars() {
            let (letter, unspaced_letter) = crate::script::letter_class(c);
            letters += letter as u64;
            unspaced += unspaced_letter as u64;
        }
        assert_eq!((counts.letters, counts.unspaced_letters), (letters, unspaced), "{text:?}");
        assert_eq!(counts.mostly_unspaced(), crate::script::is_mostly_unspaced(reference), "{text:?}");
        normalize_default_into(text, fast);
        assert_eq!(fast, reference, "{text:?}");
    }

    /// [`check_fast_equals_reference`] on `count` texts that `build` writes from a generator
    /// seeded with `seed`.
    fn check_random_texts(seed: u64, count: usize, mut build: impl FnMut(&mut SplitMix, &mut String)) {
        let mut rng = SplitMix(seed);
        let (mut scratch, mut fast, mut reference) = (UnicodeScratch::default(), String::new(), String::new());
        let mut text = String::new();
        for _ in 0..count {
            text.clear();
            build(&mut rng, &mut text);
            check_fast_equals_reference(&text, &mut scratch, &mut fast, &mut reference);
        }
    }

    /// One of `items`, drawn by `rng`.
    fn pick<'a, T: ?Sized>(rng: &mut SplitMix, items: &[&'a T]) -> &'a T {
        items[rng.below(items.len() as u64) as usize]
    }

    #[test]
    fn fast_unicode_path_equals_the_reference_on_tricky_text() {
        check_random_texts(7, 200_000, |rng, text| {
            let len = rng.below(24) as usize;
            text.extend((0..len).map(|_| TRICKY[rng.below(TRICKY.len() as u64) as usize]));
        });
    }

    #[test]
    fn counts_of_runs_longer_than_a_lane_block_are_exact() {
        // Kept runs and ASCII runs count their characters, spaces and letters in byte lanes
        // summed every `LANE_BLOCK` bytes: runs of several blocks, with a block boundary in
        // a word, a character or a space, count as the reference does.
        let (mut scratch, mut fast, mut reference) = (UnicodeScratch::default(), String::new(), String::new());
        let pieces = ["北京学习", "привет мир", "hello world", "αβγ δ", "a"];
        for (piece, repeats) in pieces.iter().flat_map(|p| [(p, 300), (p, 700), (p, 1_100)]) {
            for lead in ["", "é", "x", " é"] {
                let text = format!("{lead}{}é", piece.repeat(repeats));
                check_fast_equals_reference(&text, &mut scratch, &mut fast, &mut reference);
                let spaced = format!("{lead}{}", vec![*piece; repeats].join(" "));
                check_fast_equals_reference(&spaced, &mut scratch, &mut fast, &mut reference);
            }
        }
    }

    #[test]
    fn fast_unicode_path_equals_the_reference_after_long_ascii_runs() {
        // ASCII runs are written without remembering each boundary: a mark, NFKC change or
        // sigma right after a run of any length must still rewind to its last byte.
        let runs = ["", "a", "Ab", "abcdefg", "ABCDEFGH", "Hello World, lorem ipsum!", "x  \t y", "0123456789abcdefX"];
        check_random_texts(3, 100_000, |rng, text| {
            for i in 0..rng.below(12) {
                if i % 2 == 0 {
                    text.push_str(pick(rng, &runs));
                } else {
                    text.push(TRICKY[rng.below(TRICKY.len() as u64) as usize]);
                }
            }
        });
    }

    #[test]
    fn fast_unicode_path_equals_the_reference_on_ascii_runs_of_any_shape() {
        // ASCII runs are measured eight bytes at a time: whitespace of every kind, single and
        // doubled, at every offset and across word boundaries, between non-ASCII characters.
        let pieces =
            ["a", "Zq", "hello", "WORLD", "x1", "-", " ", " ", " ", "  ", "\t", "\n", "\r\n", "\u{0B}", "\u{0C}"];
        let joints = ["é", "Д", "北", "\u{0301}", "\u{A0}", "Σ", "ﬁ"];
        check_random_texts(11, 100_000, |rng, text| {
            for _ in 0..rng.below(4) {
                for _ in 0..rng.below(30) {
                    text.push_str(pick(rng, &pieces));
                }
                text.push_str(pick(rng, &joints));
            }
        });
    }

    #[test]
    fn fast_unicode_path_equals_the_reference_on_spaced_runs_of_kept_characters() {
        // A run of kept characters goes on over single spaces and lowercase ASCII: words of
        // every length and script, separated by every kind of whitespace, ending in every kind
        // of character that stops a run (a capital, a mark, a compatibility form, the end).
        let words =
            ["ж", "жзб", "é", "北京", "가나", "कि", "ab", "x1,", "é.", "—", "😀", "Д", "A", "ﬁ", "\u{301}", "Σ"];
        let spaces = [" ", " ", " ", "  ", "\t", "\u{A0}", "\u{3000}", ""];
        check_random_texts(13, 200_000, |rng, text| {
            for _ in 0..rng.below(10) {
                text.push_str(pick(rng, &words));
                text.push_str(pick(rng, &spaces));
            }
        });
    }

    #[test]
    fn fast_unicode_path_equals_the_reference_on_ascii_inside_kept_runs() {
        // A kept run takes ASCII eight bytes at a time: lowercase words, capitals, digits,
        // controls and whitespace of every kind, single and doubled, at every offset of the
        // eight bytes, after a kept non-ASCII character and before the characters that stop a
        // run or go on with it (marks, Maybe starters, compatibility forms, the end).
        let pieces = [
            "a", "zq", "hello", "x1", "-", ".", " ", " ", " ", "  ", "A", "Zq", "\t", "\n", "\u{0B}", "\u{0C}", "\r",
            "\u{1C}", "\u{1F}", "\u{7F}", "\0", "@[`{",
        ];
        let joints = ["é", "ж", "北", "\u{0301}", "\u{A0}", "Σ", "ﬁ", "\u{9BE}", "\u{1161}", "😀", " é", "é "];
        check_random_texts(17, 200_000, |rng, text| {
            text.push_str(pick(rng, &["é", "ж", "北", "ü"]));
            for _ in 0..rng.below(4) {
                for _ in 0..rng.below(24) {
                    text.push_str(pick(rng, &pieces));
                }
                text.push_str(pick(rng, &joints));
            }
        });
    }

    #[test]
    fn kept_ascii_prefix_takes_what_the_table_keeps() {
        // The eight-byte step of `KeptRun::scan` decides by byte ranges what the table says:
        // an ASCII byte goes on with a run exactly when it is kept and no whitespace, and it
        // is a letter exactly when it is one of a-z or A-Z (never of an unspaced script).
        let table = char_table();
        for b in 0u8..0x80 {
            let flags = table.flags_of(b as u32);
            let goes_on = !b.is_ascii_uppercase() && !is_ascii_white_space(b);
            assert_eq!(flags & (KEPT | SPACE) == KEPT, goes_on, "{b:#x}");
            assert_eq!(flags & LETTER != 0, b.is_ascii_alphabetic(), "{b:#x}");
            assert_eq!(flags & UNSPACED, 0, "{b:#x}");
            // First, before letters; then after a letter and before a byte that stops the run.
            let first = kept_ascii_prefix(u64::from_le_bytes([b, b'a', b'a', b'a', b'a', b'a', b'a', b'a']));
            assert_eq!(first, if goes_on || b == b' ' { 8 } else { 0 }, "{b:#x}");
            let second = kept_ascii_prefix(u64::from_le_bytes([b'a', b, 0x80, b'a', b'a', b'a', b'a', b'a']));
            assert_eq!(second, if goes_on { 2 } else { 1 }, "{b:#x}");
        }
        let prefix = |bytes: &[u8; 8]| kept_ascii_prefix(u64::from_le_bytes(*bytes));
        assert_eq!(prefix(b"abcdefgh"), 8);
        assert_eq!(prefix(b"abc defg"), 8);
        assert_eq!(prefix(b" abcdefg"), 8);
        assert_eq!(prefix(b"abcdefg "), 7);
        assert_eq!(prefix(b"abc  efg"), 3);
        assert_eq!(prefix(b"abc Defg"), 3);
        assert_eq!(prefix(b"abcD efg"), 3);
        assert_eq!(prefix(b"abc\tdefg"), 3);
        assert_eq!(prefix(&[b'a', b'b', b' ', 0xC3, 0xA9, b'c', b'd', b'e']), 2);
        assert_eq!(prefix(&[0xC3, 0xA9, b'c', b'd', b'e', b'f', b'g', b'h']), 0);
    }

    #[test]
    fn fast_unicode_path_equals_the_reference_around_starters_that_may_compose() {
        // Starters with NFKC_Quick_Check=Maybe (Indic length marks, Hangul jamo) are boundaries
        // unless they compose with the character before: every pair that composes (the raw
        // character or its NFKC), in contexts that block it or add to it, and each such starter
        // after characters that do not.
        let (mut scratch, mut fast, mut reference) = (UnicodeScratch::default(), String::new(), String::new());
        let maybe: Vec<char> =
            (0u32..0x11_0000).filter_map(char::from_u32).filter(|&c| char_flags(c) & MAYBE_STARTER != 0).collect();
        assert!(
            maybe.contains(&'\u{9BE}') && maybe.contains(&'\u{1161}'),
            "Bengali AA and Hangul A are Maybe starters"
        );
        let mut pairs = 0;
        for &c in &maybe {
            for text in
                [format!("{c}"), format!("a{c}"), format!(" {c}{c}"), format!("Ж{c}\u{301}"), format!("ক{c}ী {c}")]
            {
                check_fast_equals_reference(&text, &mut scratch, &mut fast, &mut reference);
            }
            for s in (0u32..0x11_0000).filter_map(char::from_u32) {
                // `s` itself composes with `c`, or its NFKC ends in a character that does
                // (Hangul compatibility jamo, halfwidth forms).
                let nfkc_last = std::iter::once(s).nfkc().last().unwrap_or(s);
                let compose = unicode_normalization::char::compose;
                if compose(s, c).is_none() && compose(nfkc_last, c).is_none() {
                    continue;
                }
                pairs += 1;
                for text in [
                    format!("{s}{c}"),
                    format!("x {s}{c}y"),
                    format!("{s}{c}{c}"),
                    format!("{s}\u{301}{c}"),
                    format!("{s}\u{93C}{c}"),
                    format!("{c}{s}{c}ক"),
                    format!("{s}{s}{c}\u{1163}\u{11A8}"),
                ] {
                    check_fast_equals_reference(&text, &mut scratch, &mut fast, &mut reference);
                }
            }
        }
        assert!(pairs > 1000, "{pairs} composing pairs");
    }

    #[test]
    fn fast_unicode_path_equals_the_reference_on_every_character() {
        // Each scalar value alone and between a base letter and a combining mark, so every
        // character meets the boundary logic at least once.
        let (mut scratch, mut fast, mut reference) = (UnicodeScratch::default(), String::new(), String::new());
        for c in (0u32..0x11_0000).filter_map(char::from_u32) {
            let texts = [
                format!("Ae{c}\u{301} x"),
                format!("{c}\u{308}\u{323}Σ"),
                format!(" {c}{c} "),
                // After a space inside a run of kept characters, and before a mark there.
                format!("ж {c} ж {c}\u{301}"),
            ];
            for text in texts {
                check_fast_equals_reference(&text, &mut scratch, &mut fast, &mut reference);
            }
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
