//! Shared templates: many rows that start (or end) with the same long text.
//!
//! A template that dominates a column (tool-use boilerplate before every prompt) makes rows
//! look near-duplicate whatever varies after it, so the audit warns and names the text. The
//! signal is cheap and streaming: per non-null row, the hashes of its first and last
//! `n` normalised characters for each n of [`TEMPLATE_CHARS`], counted with a Misra–Gries
//! summary of [`TRACKED`] counters per (side, n). Any text shared by more than 1/(TRACKED + 1) of
//! the rows is guaranteed to be among the counters, its count short by at most that fraction of
//! the rows. Rows are folded in row order, so the counts do not depend on threads or batch
//! sizes. Only rows longer than `n` characters count: a shorter row would be all template.

use hashbrown::HashMap;
use xxhash_rust::xxh3::xxh3_64;

use crate::normalize::Normalize;

/// Prefix/suffix lengths in characters: a short one that catches a common opening, a long one
/// that only a real template shares.
pub const TEMPLATE_CHARS: [usize; 2] = [32, 128];
/// Counters per (side, length).
pub const TRACKED: usize = 32;
const SIDES: usize = 2;
const TRACKERS: usize = SIDES * TEMPLATE_CHARS.len();

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    Prefix,
    Suffix,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Prefix => "prefix",
            Side::Suffix => "suffix",
        }
    }
}

/// Hashes of one row's prefixes and suffixes; `None` where the row is not longer than the length.
#[derive(Debug, Clone, Copy, Default)]
pub struct RowEnds([Option<u64>; TRACKERS]);

impl RowEnds {
    /// Of `normalised` (the text as the exact digest sees it).
    #[inline]
    pub fn of(normalised: &[u8]) -> RowEnds {
        let mut out = RowEnds::default();
        let ascii = normalised.is_ascii();
        let (heads, tails) = if ascii {
            (
                TEMPLATE_CHARS.map(|chars| (normalised.len() > chars).then_some(chars)),
                TEMPLATE_CHARS.map(|chars| (normalised.len() > chars).then(|| normalised.len() - chars)),
            )
        } else {
            (char_starts_from_start(normalised), char_starts_from_end(normalised))
        };
        for (i, (head, tail)) in heads.into_iter().zip(tails).enumerate() {
            if let (Some(head), Some(tail)) = (head, tail) {
                out.0[i * SIDES] = Some(xxh3_64(&normalised[..head]));
                out.0[i * SIDES + 1] = Some(xxh3_64(&normalised[tail..]));
            }
        }
        out
    }
}

const ONES: u64 = 0x0101_0101_0101_0101;

/// Characters that start in the eight bytes `x`: those that are not continuation bytes
/// (`10xxxxxx`), counted with one multiply.
#[inline(always)]
fn starts_in(x: u64) -> usize {
    let continuation = (x & !(x << 1)) & (ONES * 0x80);
    8 - ((continuation >> 7).wrapping_mul(ONES) >> 56) as usize
}

/// For each n of [`TEMPLATE_CHARS`] (ascending), the byte offset after the first n characters
/// of `text`, if it has more than n. One pass; whole words of eight bytes are skipped while
/// the next boundary is not in them.
fn char_starts_from_start(text: &[u8]) -> [Option<usize>; TEMPLATE_CHARS.len()] {
    let mut found = [None; TEMPLATE_CHARS.len()];
    let (mut at, mut seen) = (0usize, 0usize);
    for (slot, &chars) in found.iter_mut().zip(&TEMPLATE_CHARS) {
        while let Some(chunk) = text.get(at..at + 8) {
            let starts = starts_in(u64::from_le_bytes(chunk.try_into().expect("eight bytes")));
            if seen + starts > chars {
                break;
            }
            (seen, at) = (seen + starts, at + 8);
        }
        loop {
            let Some(&b) = text.get(at) else { return found };
            if b & 0xC0 != 0x80 {
                if seen == chars {
                    *slot = Some(at);
                    break;
                }
                seen += 1;
            }
            at += 1;
        }
    }
    found
}

/// For each n of [`TEMPLATE_CHARS`], the byte offset of the last n characters of `text`, if it
/// has more than n; one pass from the end, as [`char_starts_from_start`].
fn char_starts_from_end(text: &[u8]) -> [Option<usize>; TEMPLATE_CHARS.len()] {
    let mut found = [None; TEMPLATE_CHARS.len()];
    let (mut end, mut seen) = (text.len(), 0usize);
    for (slot, &chars) in found.iter_mut().zip(&TEMPLATE_CHARS) {
        while end >= 8 {
            let starts = starts_in(u64::from_le_bytes(text[end - 8..end].try_into().expect("eight bytes")));
            if seen + starts >= chars {
                break;
            }
            (seen, end) = (seen + starts, end - 8);
        }
        loop {
            if end == 0 {
                return found;
            }
            end -= 1;
            if text[end] & 0xC0 != 0x80 {
                seen += 1;
                if seen == chars {
                    *slot = (end > 0).then_some(end);
                    break;
                }
            }
        }
    }
    found
}

#[derive(Debug, Clone, Copy)]
struct Counter {
    count: u64,
    /// A row that has this text (the first one since the counter was last taken).
    row: u64,
}

/// One template candidate: `count` rows (a lower bound) share the `chars` characters at `side`
/// of row `row`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateCandidate {
    pub side: Side,
    pub chars: usize,
    pub count: u64,
    pub row: u64,
}

#[derive(Debug, Default)]
pub struct TemplateCounter {
    trackers: Vec<HashMap<u64, Counter>>,
    /// Rows long enough for each tracker.
    considered: [u64; TRACKERS],
}

impl TemplateCounter {
    pub fn new() -> Self {
        TemplateCounter { trackers: vec![HashMap::with_capacity(TRACKED + 1); TRACKERS], considered: [0; TRACKERS] }
    }

    /// Counts row `row`; rows must come in row order.
    pub fn add(&mut self, row: u64, ends: &RowEnds) {
        for (i, hash) in ends.0.iter().enumerate() {
            let Some(hash) = *hash else { continue };
            self.considered[i] += 1;
            let tracker = &mut self.trackers[i];
            if let Some(counter) = tracker.get_mut(&hash) {
                counter.count += 1;
            } else if tracker.len() < TRACKED {
                tracker.insert(hash, Counter { count: 1, row });
            } else {
                // Misra–Gries: a new text that finds no free counter takes one from everybody.
                tracker.retain(|_, counter| {
                    counter.count -= 1;
                    counter.count > 0
                });
            }
        }
    }

    /// Texts shared by at least `min_count` rows, most shared first (ties: shorter `chars`
    /// first, prefix before suffix, lower row).
    pub fn candidates(&self, min_count: u64) -> Vec<TemplateCandidate> {
        let mut out = Vec::new();
        for (i, tracker) in self.trackers.iter().enumerate() {
            let side = if i % SIDES == 0 { Side::Prefix } else { Side::Suffix };
            let chars = TEMPLATE_CHARS[i / SIDES];
            out.extend(tracker.values().filter(|c| c.count >= min_count).map(|c| TemplateCandidate {
                side,
                chars,
                count: c.count,
                row: c.row,
            }));
        }
        out.sort_unstable_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.chars.cmp(&b.chars))
                .then((a.side as u8).cmp(&(b.side as u8)))
                .then(a.row.cmp(&b.row))
        });
        out
    }
}

/// Long openings (or endings) summed into one template signal: a tool-use dataset has one
/// template per tool (GPTeacher toolformer: 8 tools cover 88 % of the rows, none more than 16 %).
pub const TEMPLATES_COUNTED: usize = 8;

/// Where a template signal comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateSource {
    /// `count` rows start (or end) with one of `templates` texts of `chars` characters, each
    /// shared by two rows or more.
    Ends { side: Side, chars: usize, templates: usize },
    /// The largest near cluster holds `count` rows.
    NearCluster,
}

impl TemplateSource {
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateSource::Ends { side, .. } => side.as_str(),
            TemplateSource::NearCluster => "near-cluster",
        }
    }
}

/// The strongest sign that a shared template dominates a column: `count` of the `rows`
/// non-null rows share it; `row` is one of them (its text shows the most shared template).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TemplateSignal {
    pub source: TemplateSource,
    pub count: u64,
    pub rows: u64,
    pub row: u64,
}

impl TemplateSignal {
    pub fn share(&self) -> f64 {
        if self.rows == 0 { 0.0 } else { self.count as f64 / self.rows as f64 }
    }

    /// The largest of: the rows opening (or ending) with one of the [`TEMPLATES_COUNTED`] most
    /// shared long texts (the longest of [`TEMPLATE_CHARS`]: a short opening such as "write a
    /// function that" is common without any template), and the largest near cluster
    /// (`(count, representative row)`), over `rows` non-null rows. Ties go to the shared text,
    /// which names the template more precisely. `None` when neither exists.
    pub fn strongest(counter: &TemplateCounter, largest_near: Option<(u64, u64)>, rows: u64) -> Option<TemplateSignal> {
        let longest = TEMPLATE_CHARS[TEMPLATE_CHARS.len() - 1];
        let candidates = counter.candidates(2);
        let mut best: Option<TemplateSignal> = None;
        for side in [Side::Prefix, Side::Suffix] {
            let shared: Vec<&TemplateCandidate> =
                candidates.iter().filter(|c| c.chars == longest && c.side == side).take(TEMPLATES_COUNTED).collect();
            let Some(top) = shared.first() else { continue };
            let signal = TemplateSignal {
                source: TemplateSource::Ends { side, chars: longest, templates: shared.len() },
                count: shared.iter().map(|c| c.count).sum(),
                rows,
                row: top.row,
            };
            if best.is_none_or(|b| signal.count > b.count) {
                best = Some(signal);
            }
        }
        if let Some((count, row)) = largest_near
            && best.is_none_or(|b| count > b.count)
        {
            best = Some(TemplateSignal { source: TemplateSource::NearCluster, count, rows, row });
        }
        best
    }
}

/// The shared text a candidate names: the first or last `chars` characters of `text`
/// normalised with `normalize`.
pub fn shared_text(text: &str, normalize: Normalize, side: Side, chars: usize) -> String {
    let normalised = normalize.apply(text, &mut String::new()).to_owned();
    match side {
        Side::Prefix => normalised.chars().take(chars).collect(),
        Side::Suffix => {
            let total = normalised.chars().count();
            normalised.chars().skip(total.saturating_sub(chars)).collect()
        }
    }
}

impl RowEnds {
    /// Presence bits, then the hashes present (see [`crate::stages`]).
    pub(crate) fn write(&self, w: &mut crate::wire::Writer) {
        const { assert!(TRACKERS <= 8) };
        let present = self.0.iter().enumerate().filter(|(_, h)| h.is_some()).fold(0u8, |bits, (i, _)| bits | 1 << i);
        w.u8(present);
        self.0.iter().flatten().for_each(|&h| w.u64(h));
    }

    pub(crate) fn read(r: &mut crate::wire::Reader<'_>) -> crate::error::Result<Self> {
        let present = r.u8()?;
        let mut out = RowEnds::default();
        for (i, slot) in out.0.iter_mut().enumerate() {
            if present & (1 << i) != 0 {
                *slot = Some(r.u64()?);
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {

    /// Byte offset after the first `chars` characters, if the text has more than `chars`.
    fn char_boundary_from_start(text: &[u8], chars: usize) -> Option<usize> {
        let mut seen = 0;
        for (at, &b) in text.iter().enumerate() {
            if b & 0xC0 != 0x80 {
                if seen == chars {
                    return Some(at);
                }
                seen += 1;
            }
        }
        None
    }

    /// Byte offset of the last `chars` characters, if the text has more than `chars`.
    fn char_boundary_from_end(text: &[u8], chars: usize) -> Option<usize> {
        let mut seen = 0;
        for at in (0..text.len()).rev() {
            if text[at] & 0xC0 != 0x80 {
                seen += 1;
                if seen == chars {
                    return (at > 0).then_some(at);
                }
            }
        }
        None
    }

    #[test]
    fn char_boundaries_match_a_character_count() {
        let alphabet = ["a", "é", "北", "😀", " "];
        let mut rng = crate::near::test_support::SplitMix(5);
        for _ in 0..20_000 {
            let text: String =
                (0..rng.below(200)).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize]).collect();
            let bytes = text.as_bytes();
            let expected_heads = TEMPLATE_CHARS.map(|n| char_boundary_from_start(bytes, n));
            let expected_tails = TEMPLATE_CHARS.map(|n| char_boundary_from_end(bytes, n));
            assert_eq!(char_starts_from_start(bytes), expected_heads, "{text:?}");
            assert_eq!(char_starts_from_end(bytes), expected_tails, "{text:?}");
            let chars = text.chars().count();
            for (i, n) in TEMPLATE_CHARS.iter().enumerate() {
                assert_eq!(expected_heads[i].is_some(), chars > *n);
                assert_eq!(expected_heads[i].map(|at| text[..at].chars().count()), (chars > *n).then_some(*n));
            }
        }
    }
    use super::*;

    fn counter(texts: &[&str]) -> TemplateCounter {
        let mut counter = TemplateCounter::new();
        for (row, text) in texts.iter().enumerate() {
            counter.add(row as u64, &RowEnds::of(text.as_bytes()));
        }
        counter
    }

    #[test]
    fn a_shared_long_prefix_is_counted_and_named() {
        let template = "tool: enabled. a wrapper around a search engine, useful for when you need to answer \
                        questions about current events; input is a query. ";
        let mut texts: Vec<String> =
            (0..300).map(|i| format!("{template}question number {i} about topic {}", i * 7)).collect();
        texts.extend(
            (0..700).map(|i| format!("an unrelated row {i} with enough characters to pass the length bar {}", i * 13)),
        );
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let found = counter(&refs).candidates(2);
        let long = found.iter().find(|c| c.chars == 128 && c.side == Side::Prefix).unwrap();
        assert!(long.count >= 300 - 1000 / (TRACKED as u64 + 1) && long.count <= 300, "{long:?}");
        assert!(long.row < 300);
        let text = shared_text(&texts[long.row as usize], Normalize::Default, long.side, long.chars);
        assert_eq!(text, template.chars().take(128).collect::<String>());
        // No suffix is shared by more than a couple of rows.
        assert!(found.iter().filter(|c| c.side == Side::Suffix).all(|c| c.count < 10), "{found:?}");
    }

    #[test]
    fn the_strongest_signal_wins() {
        let template = "x".repeat(200);
        let mut texts: Vec<String> = (0..60).map(|i| format!("{template} row {i}")).collect();
        texts.extend((0..40).map(|i| format!("{i} unrelated row of its own that is long enough {}", "y".repeat(150))));
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let counter = counter(&refs);
        let signal = TemplateSignal::strongest(&counter, Some((30, 5)), 100).unwrap();
        assert_eq!(signal.source, TemplateSource::Ends { side: Side::Prefix, chars: 128, templates: 1 });
        assert!(signal.count >= 60 - 100 / (TRACKED as u64 + 1) && signal.count <= 60, "{signal:?}");
        assert!(signal.share() > 0.5);
        let near = TemplateSignal::strongest(&counter, Some((90, 7)), 100).unwrap();
        assert_eq!((near.source, near.count, near.row, near.share()), (TemplateSource::NearCluster, 90, 7, 0.9));
        assert_eq!(TemplateSignal::strongest(&TemplateCounter::new(), None, 10), None);
    }

    #[test]
    fn several_templates_add_up() {
        // One template per tool, none shared by a third of the rows, together by all of them.
        let texts: Vec<String> =
            (0..400).map(|i| format!("tool {}: {} question {i}", i % 4, format!("{}", i % 4).repeat(140))).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let signal = TemplateSignal::strongest(&counter(&refs), None, 400).unwrap();
        assert_eq!(signal.source, TemplateSource::Ends { side: Side::Prefix, chars: 128, templates: 4 });
        assert_eq!((signal.count, signal.share()), (400, 1.0));
        // Rows that share nothing give no text signal at all.
        let unique: Vec<String> = (0..300).map(|i| format!("{i} {} {i}", "x".repeat(200))).collect();
        let refs: Vec<&str> = unique.iter().map(String::as_str).collect();
        assert_eq!(TemplateSignal::strongest(&counter(&refs), None, 300), None);
    }

    #[test]
    fn short_rows_and_unicode_boundaries() {
        let ends = RowEnds::of("short".as_bytes());
        assert!(ends.0.iter().all(Option::is_none));
        let text = "日本語".repeat(20); // 60 chars: long enough for 32, not for 128
        let ends = RowEnds::of(text.as_bytes());
        assert!(ends.0[0].is_some() && ends.0[1].is_some() && ends.0[2].is_none());
        assert_eq!(ends.0[0], Some(xxh3_64("日本語".repeat(11).chars().take(32).collect::<String>().as_bytes())));
        assert_eq!(shared_text(&text, Normalize::Default, Side::Suffix, 4), "語日本語");
    }

    #[test]
    fn few_distinct_openings_are_counted_exactly() {
        // 7 openings, fewer than TRACKED: Misra–Gries never has to take a counter away.
        let texts: Vec<String> = (0..500).map(|i| format!("{}{:0>40} tail {i}", i % 7, "")).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        let prefixes: Vec<(u64, u64)> = counter(&refs)
            .candidates(1)
            .into_iter()
            .filter(|c| c.side == Side::Prefix && c.chars == 32)
            .map(|c| (c.count, c.row))
            .collect();
        assert_eq!(prefixes, vec![(72, 0), (72, 1), (72, 2), (71, 3), (71, 4), (71, 5), (71, 6)]);
    }
}
