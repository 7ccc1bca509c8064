//! Exact-duplicate clusters: a hash table from the 128-bit digest of a normalised text to its
//! cluster. Rows arrive in input order, so the first row seen with a digest is the lowest row of
//! its cluster and becomes the representative: no second pass and no reordering needed.
//!
//! Past its memory limit the table spills: it is written to a temporary file as a run sorted by
//! digest and starts empty again (see [`crate::exact_runs`]). A digest seen again after its first
//! row went to a run gets a provisional representative (its first row in the later table);
//! [`ExactIndex::finish`] merges the runs and says which provisional representatives belong to
//! which true one, so that per-row ids can be corrected.
//!
//! Each row comes with a weight (the audit's token count) that belongs to its cluster when the
//! row opens it. Before the first spill an opening row is the true representative and the caller
//! counts its weight at once; after it, the index holds the weight beside the table (it spills
//! with it) and the merge counts only those of true representatives
//! ([`ExactIndex::settled_weights`]), so nothing counted per cluster depends on spilling.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hashbrown::HashMap;

use crate::error::Result;
use crate::exact_runs::{MergedRuns, RunEntry, Runs};
use crate::hashing::IdentityBuildHasher;
use crate::normalize::Normalize;

/// Characters (code points) of normalised text kept at most as a cluster's preview (only for
/// clusters of size >= 2).
pub const PREVIEW_CHARS: usize = 80;

/// Characters past the preview that a normalised prefix must reach before it is trusted: only
/// the last few characters of a normalised prefix can differ from the whole text's (NFKC
/// composes across the cut, a final sigma lowercases by context, trailing space is trimmed).
const PREVIEW_MARGIN: usize = 64;

/// Raw characters past the margin in the first prefix [`preview`] normalises.
const PREVIEW_SLACK: usize = 16;

/// A cluster's preview: the longest start of `text` normalised with `normalize` that ends on a
/// grapheme-cluster boundary (UAX #29: a letter with its marks, an emoji sequence, a flag) and
/// holds at most `PREVIEW_CHARS` characters. Normalises only a prefix of a long text (growing it
/// until it is long enough): the audit takes a preview of every duplicated cluster, and
/// normalising whole 10 KB texts for 80 characters measured as 4 % of a default audit, on its
/// serial path.
///
/// The first prefix tried is `PREVIEW_CHARS + PREVIEW_MARGIN + PREVIEW_SLACK` raw characters
/// long (normalising seldom takes more than the slack away: collapsed whitespace, composed
/// marks); a fixed 576 bytes normalised three to four times the characters needed of Latin text.
pub fn preview(text: &str, normalize: Normalize, buf: &mut String) -> String {
    let mut prefix_bytes =
        text.char_indices().nth(PREVIEW_CHARS + PREVIEW_MARGIN + PREVIEW_SLACK).map_or(text.len(), |(at, _)| at);
    loop {
        if prefix_bytes >= text.len() {
            return first_chars(normalize.apply(text, buf));
        }
        let mut cut = prefix_bytes;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let normalised = normalize.apply(&text[..cut], buf);
        if normalised.chars().count() >= PREVIEW_CHARS + PREVIEW_MARGIN {
            return first_chars(normalised);
        }
        prefix_bytes *= 4;
    }
}

/// The whole grapheme clusters of `normalised_text` that fit in `PREVIEW_CHARS` characters. A
/// boundary depends only on the characters before it and the one after, which the margin keeps.
/// A first cluster longer than that alone (a letter under dozens of stacked marks) is cut at
/// `PREVIEW_CHARS` characters rather than shown as nothing.
///
/// The boundary is looked for backwards from the character past the limit, with a cursor that
/// finds the same boundaries as the forward segmentation: segmenting 80 characters forwards
/// measured 1.3 % of the audit of the multilingual benchmark (a preview per duplicated cluster).
fn first_chars(normalised_text: &str) -> String {
    use unicode_segmentation::GraphemeCursor;
    let Some((cut, _)) = normalised_text.char_indices().nth(PREVIEW_CHARS) else {
        return normalised_text.to_string();
    };
    let len = normalised_text.len();
    let at_cut = GraphemeCursor::new(cut, len, true).is_boundary(normalised_text, 0);
    let end = match at_cut {
        Ok(true) => Ok(Some(cut)),
        Ok(false) => GraphemeCursor::new(cut, len, true).prev_boundary(normalised_text, 0),
        Err(e) => Err(e),
    };
    match end {
        Ok(Some(end)) if end > 0 => normalised_text[..end].to_string(),
        Ok(_) => normalised_text.chars().take(PREVIEW_CHARS).collect(),
        // The whole text is one chunk: a cursor asks for no more context (kept as a fallback).
        Err(_) => first_chars_forwards(normalised_text),
    }
}

/// [`first_chars`] by segmenting forwards from the start.
fn first_chars_forwards(normalised_text: &str) -> String {
    use unicode_segmentation::UnicodeSegmentation;
    let (mut end, mut chars) = (0, 0);
    for cluster in normalised_text.graphemes(true) {
        let n = cluster.chars().count();
        if chars + n > PREVIEW_CHARS {
            if end == 0 {
                return normalised_text.chars().take(PREVIEW_CHARS).collect();
            }
            break;
        }
        chars += n;
        end += cluster.len();
    }
    normalised_text[..end].to_string()
}

/// Rows kept per duplicated cluster besides its representative, for a report to show side by
/// side: the first ones seen, so the lowest rows.
pub const MEMBER_ROWS: usize = 5;

/// Up to [`MEMBER_ROWS`] member rows inline (no allocation per cluster).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct MemberRows {
    rows: [u64; MEMBER_ROWS],
    len: u8,
}

impl MemberRows {
    pub(crate) fn push(&mut self, row: u64) {
        if (self.len as usize) < MEMBER_ROWS {
            self.rows[self.len as usize] = row;
            self.len += 1;
        }
    }

    pub(crate) fn as_slice(&self) -> &[u64] {
        &self.rows[..self.len as usize]
    }
}

#[derive(Debug, Clone, Copy)]
struct Cluster {
    representative: u64,
    size: u64,
}

/// Heap bytes of one table bucket: digest, representative, size, and hashbrown's control byte.
pub(crate) const BUCKET_BYTES: usize = 16 + 8 + 8 + 1;
/// Heap bytes of one member-rows bucket: representative, rows, length, control byte.
const MEMBER_BUCKET_BYTES: usize = 8 + std::mem::size_of::<MemberRows>() + 1;
/// Heap bytes of one held-weight bucket: representative, weight (padded), control byte.
const WEIGHT_BUCKET_BYTES: usize = std::mem::size_of::<(u64, u32)>() + 1;
/// Previews kept at most (the first clusters to reach two members; the largest clusters of a
/// dataset are among them almost always, and a caller can read a missing one back from its
/// row): a preview per duplicated cluster would otherwise grow with the rows.
pub const MAX_PREVIEWS: usize = 1 << 16;

#[derive(Debug)]
pub struct ExactIndex {
    clusters: HashMap<u128, Cluster, IdentityBuildHasher>,
    /// Previews of clusters that have at least two members, keyed by representative row.
    previews: HashMap<u64, String>,
    /// The first member rows after the representative of clusters with at least two members
    /// (48 bytes a duplicated cluster), keyed by representative row.
    members: HashMap<u64, MemberRows>,
    /// Weights of the rows that opened a cluster of the resident table since the first spill,
    /// keyed by row: such a row may be a provisional representative, so its weight waits for
    /// the merge. Empty before the first spill.
    held_weights: HashMap<u64, u32>,
    /// The table spills once its buckets would take more than this many bytes.
    resident_limit: usize,
    temp_dir: PathBuf,
    /// Spilled tables, oldest rows first.
    runs: Runs,
    /// After `finish` on a spilled index: the merged clusters.
    merged: Option<MergedRuns>,
}

impl Default for ExactIndex {
    fn default() -> Self {
        Self::with_limit(usize::MAX, std::env::temp_dir())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopCluster {
    pub row: u64,
    pub count: u64,
    pub preview: String,
    /// Up to [`MEMBER_ROWS`] other members, lowest rows first.
    pub members: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExactSummary {
    pub unique: u64,
    pub duplicate_rows: u64,
    pub clusters: u64,
    pub largest_cluster: u64,
    pub top: Vec<TopCluster>,
    /// `[size, clusters]` for every cluster size that occurs, 1 included, ascending.
    pub size_histogram: Vec<[u64; 2]>,
}

/// Largest clusters a merge keeps (the audit reports 10).
const TOP_CANDIDATES: usize = 64;

/// What inserting one row found.
pub struct Insert {
    pub representative: u64,
    /// The row is the second member of its cluster: the caller should supply a preview.
    pub needs_preview: bool,
    /// The row opened its cluster and is certainly its representative: the caller counts the
    /// row's weight now. False for every other row, including one that opened a cluster after a
    /// spill (its weight is held for the merge).
    pub settled_opening: bool,
}

impl ExactIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// An index whose table spills to files in `temp_dir` past `resident_limit` bytes.
    pub fn with_limit(resident_limit: usize, temp_dir: PathBuf) -> Self {
        ExactIndex {
            clusters: HashMap::with_hasher(IdentityBuildHasher),
            previews: HashMap::new(),
            members: HashMap::new(),
            held_weights: HashMap::new(),
            resident_limit,
            temp_dir,
            runs: Runs::default(),
            merged: None,
        }
    }

    /// Whether part of the table went to temporary files.
    pub fn is_spilled(&self) -> bool {
        !self.runs.is_empty()
    }

    /// Spills the table if inserting `rows` more could grow it past the memory limit. Call
    /// before each batch.
    pub fn make_room(&mut self, rows: usize) -> Result<()> {
        let holds = self.clusters.len() + rows;
        let capacity = if holds <= self.clusters.capacity() {
            self.clusters.capacity()
        } else {
            // hashbrown doubles its buckets, and fills them to 7/8
            (holds * 8 / 7).next_power_of_two() * 7 / 8
        };
        // The member rows of duplicated clusters spill with the table they belong to.
        let members_bytes = self.members.capacity() * 8 / 7 * MEMBER_BUCKET_BYTES;
        // Held weights: at most one per cluster of the table, and only once spilled.
        let weights_bytes = if self.is_spilled() { capacity * 8 / 7 * WEIGHT_BUCKET_BYTES } else { 0 };
        let needed = capacity * 8 / 7 * BUCKET_BYTES + members_bytes + weights_bytes;
        if self.clusters.is_empty() || needed <= self.resident_limit {
            return Ok(());
        }
        self.spill()
    }

    fn spill(&mut self) -> Result<()> {
        let members = std::mem::take(&mut self.members);
        let weights = std::mem::take(&mut self.held_weights);
        // Sorted as compact (digest, cluster) pairs, and made records only as they are written:
        // sorting whole records (~100 bytes with their member rows) took twice as long and held
        // three times the memory, at the moment the table is largest.
        let mut table: Vec<(u128, Cluster)> = self.clusters.drain().collect();
        self.clusters = HashMap::with_hasher(IdentityBuildHasher); // give the buckets back
        table.sort_unstable_by_key(|&(digest, _)| digest);
        let entries = table.iter().map(|&(digest, c)| RunEntry {
            digest,
            representative: c.representative,
            size: c.size,
            members: members.get(&c.representative).copied().unwrap_or_default(),
            held_weight: weights.get(&c.representative).copied(),
        });
        self.runs.write(entries, &self.temp_dir)
    }

    /// Merges the runs of a spilled index (after the last row): the table goes to a last run
    /// and is freed. Returns, for each provisional representative, its cluster's true one.
    /// `None` when nothing was spilled. Idempotent.
    pub fn finish(&mut self) -> Result<Option<&HashMap<u64, u64>>> {
        if self.runs.is_empty() {
            return Ok(None);
        }
        if self.merged.is_none() {
            if !self.clusters.is_empty() {
                self.spill()?;
            }
            self.merged =
                Some(self.runs.merge(TOP_CANDIDATES, self.resident_limit, &|rep| self.previews.contains_key(&rep))?);
        }
        Ok(self.merged.as_ref().map(|m| &m.remap))
    }

    /// The representative of each of `digests` (sorted) in a spilled index, after `finish`.
    pub fn lookup_spilled(&self, digests: &[u128]) -> Result<Vec<Option<u64>>> {
        self.runs.lookup_sorted(digests, self.resident_limit)
    }

    /// Adds `row` (rows in increasing order) with its `weight` (see the module docs).
    #[inline]
    pub fn insert(&mut self, digest: u128, row: u64, weight: u32) -> Insert {
        let cluster = self.clusters.entry(digest).or_insert(Cluster { representative: row, size: 0 });
        cluster.size += 1;
        let (representative, size) = (cluster.representative, cluster.size);
        if (2..=MEMBER_ROWS as u64 + 1).contains(&size) {
            self.members.entry(representative).or_default().push(row);
        }
        let mut settled_opening = size == 1;
        if settled_opening && self.is_spilled() {
            self.held_weights.insert(row, weight);
            settled_opening = false;
        }
        Insert { representative, needs_preview: size == 2, settled_opening }
    }

    /// `(weight, clusters)` of the true representatives whose weight was held (they opened their
    /// cluster after the first spill), ascending; empty unless spilled. After `finish`.
    pub fn settled_weights(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        self.merged.iter().flat_map(|m| m.settled_weights.iter().map(|(&w, &n)| (w, n)))
    }

    pub fn set_preview(&mut self, representative: u64, preview: String) {
        if self.previews.len() < MAX_PREVIEWS {
            self.previews.insert(representative, preview);
        }
    }

    /// Whether a preview for this representative would be kept.
    pub fn wants_preview(&self) -> bool {
        self.previews.len() < MAX_PREVIEWS
    }

    pub fn preview(&self, representative: u64) -> Option<&str> {
        self.previews.get(&representative).map(String::as_str)
    }

    /// Representative row of the cluster with this digest, if any row had it. Only the
    /// resident table: a spilled index answers eval lookups through [`ExactIndex::lookup_spilled`].
    pub fn lookup(&self, digest: u128) -> Option<u64> {
        self.clusters.get(&digest).map(|c| c.representative)
    }

    pub fn unique(&self) -> u64 {
        match &self.merged {
            Some(m) => m.unique,
            None => self.clusters.len() as u64,
        }
    }

    /// Cluster counts and the largest clusters. A spilled index answers after `finish`.
    pub fn summary(&self, top_n: usize) -> ExactSummary {
        if let Some(m) = &self.merged {
            let top = m
                .top
                .iter()
                .take(top_n)
                .map(|t| TopCluster {
                    row: t.representative,
                    count: t.size,
                    preview: t.preview_rep.and_then(|r| self.previews.get(&r)).cloned().unwrap_or_default(),
                    members: t.members.as_slice().to_vec(),
                })
                .collect();
            return ExactSummary {
                unique: m.unique,
                duplicate_rows: m.members - m.unique,
                clusters: m.clusters,
                largest_cluster: m.largest,
                top,
                size_histogram: m.size_histogram.iter().map(|(&size, &count)| [size, count]).collect(),
            };
        }
        let mut members = 0u64;
        let mut clusters = 0u64;
        let mut largest = 0u64;
        let mut multi: Vec<(u64, u64)> = Vec::new();
        let mut sizes: BTreeMap<u64, u64> = BTreeMap::new();
        for c in self.clusters.values() {
            *sizes.entry(c.size).or_insert(0) += 1;
            members += c.size;
            largest = largest.max(c.size);
            if c.size >= 2 {
                clusters += 1;
                multi.push((c.size, c.representative));
            }
        }
        // Largest first; ties by lowest row, so the list is the same on every run.
        multi.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let top = multi
            .into_iter()
            .take(top_n)
            .map(|(count, row)| TopCluster {
                row,
                count,
                preview: self.previews.get(&row).cloned().unwrap_or_default(),
                members: self.members.get(&row).map(|m| m.as_slice().to_vec()).unwrap_or_default(),
            })
            .collect();
        ExactSummary {
            unique: self.unique(),
            duplicate_rows: members - self.unique(),
            clusters,
            largest_cluster: largest,
            top,
            size_histogram: sizes.into_iter().map(|(size, count)| [size, count]).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_the_lowest_rows_capped() {
        let mut idx = ExactIndex::new();
        for row in 0..20u64 {
            idx.insert(if row % 2 == 0 { 1 } else { row as u128 + 100 }, row, 0);
        }
        let s = idx.summary(1);
        assert_eq!(s.top[0].row, 0);
        assert_eq!(s.top[0].members, vec![2, 4, 6, 8, 10]);
        assert_eq!(s.size_histogram, vec![[1, 10], [10, 1]]);
        let rows: u64 = s.size_histogram.iter().map(|[size, n]| size * n).sum();
        assert_eq!(rows, 20);
    }

    #[test]
    fn representative_is_first_row_and_counts_add_up() {
        let mut idx = ExactIndex::new();
        let digests = [7u128, 9, 7, 7, 11, 9];
        let reps: Vec<u64> =
            digests.iter().enumerate().map(|(row, &d)| idx.insert(d, row as u64, 0).representative).collect();
        assert_eq!(reps, vec![0, 1, 0, 0, 4, 1]);
        idx.set_preview(0, "seven".into());
        let s = idx.summary(10);
        assert_eq!((s.unique, s.duplicate_rows, s.clusters, s.largest_cluster), (3, 3, 2, 3));
        assert_eq!(s.top[0], TopCluster { row: 0, count: 3, preview: "seven".into(), members: vec![2, 3] });
        assert_eq!(s.top[1].row, 1);
        assert_eq!(s.top[1].members, vec![5]);
        assert_eq!(s.size_histogram, vec![[1, 1], [2, 1], [3, 1]]);
    }

    #[test]
    fn first_chars_finds_the_boundary_forward_segmentation_finds() {
        // Texts around the limit of clusters that join across many characters: marks, emoji
        // ZWJ sequences and modifiers, flags (pairs of regional indicators), Hangul jamo, Indic
        // conjuncts and spacing marks, prepended concatenation marks, CR LF.
        let pieces = [
            "x",
            "ab",
            " ",
            "e\u{301}",
            "\u{301}",
            "\u{200D}",
            "\u{1F468}",
            "\u{1F469}\u{200D}\u{1F467}",
            "\u{1F3FD}",
            "\u{1F1EF}",
            "\u{1F1F5}",
            "\u{1100}",
            "\u{1161}",
            "\u{11A8}",
            "가",
            "क",
            "\u{94D}",
            "ष",
            "\u{93F}",
            "\u{600}",
            "\r",
            "\n",
            "\r\n",
            "\u{FE0F}",
            "น\u{E49}\u{E33}",
            "字",
        ];
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for _ in 0..50_000 {
            let mut text = String::new();
            let target = PREVIEW_CHARS - 12 + (state % 30) as usize;
            while text.chars().count() < target {
                state = crate::hashing::mix64(state);
                text.push_str(pieces[(state % pieces.len() as u64) as usize]);
            }
            assert_eq!(first_chars(&text), first_chars_forwards(&text), "{text:?}");
        }
        let long_cluster = format!("e{}", "\u{301}".repeat(100));
        assert_eq!(first_chars(&long_cluster), first_chars_forwards(&long_cluster));
        assert_eq!(first_chars(&long_cluster).chars().count(), PREVIEW_CHARS);
    }

    #[test]
    fn preview_of_a_prefix_equals_preview_of_the_whole_text() {
        let pieces = ["Word ", "ΣΊΣΥΦΟΣ ", "e\u{301}", "  \t", "ﬁ", "Ǆ", "x", "\u{3000}", "日本 "];
        let mut buf = String::new();
        for seed in 0..400usize {
            let text: String = (0..seed).map(|i| pieces[(i * 7 + seed) % pieces.len()]).collect();
            for normalize in [Normalize::Default, Normalize::None] {
                let whole = first_chars(normalize.apply(&text, &mut String::new()));
                assert_eq!(preview(&text, normalize, &mut buf), whole, "{text:?}");
            }
        }
    }

    #[test]
    fn previews_end_on_a_whole_visible_character() {
        let mut buf = String::new();
        let cut = |filler: usize, tail: &str, buf: &mut String| {
            let text = format!("{}{tail}{}", "x".repeat(filler), "y".repeat(200));
            preview(&text, Normalize::None, buf)
        };
        let family = "\u{1F468}\u{200D}\u{1F469}\u{200D}\u{1F467}\u{200D}\u{1F466}"; // 7 code points
        for (tail, len) in [("น\u{E49}\u{E33}", 3), (family, 7), ("\u{1F1EF}\u{1F1F5}", 2), ("e\u{301}", 2)] {
            for filler in PREVIEW_CHARS - len + 1..PREVIEW_CHARS {
                let shown = cut(filler, tail, &mut buf);
                // The cluster that would pass the limit is left out whole, never split.
                assert_eq!(shown, "x".repeat(filler), "{tail:?} after {filler}");
            }
            let fits = cut(PREVIEW_CHARS - len, tail, &mut buf);
            assert!(fits.ends_with(tail) && fits.chars().count() == PREVIEW_CHARS, "{tail:?}");
        }
        // Plain text keeps all 80 characters; one cluster longer than that alone is cut by code point.
        assert_eq!(cut(300, "", &mut buf).chars().count(), PREVIEW_CHARS);
        let zalgo = format!("a{}", "\u{301}".repeat(100));
        assert_eq!(preview(&zalgo, Normalize::None, &mut buf).chars().count(), PREVIEW_CHARS);
    }

    #[test]
    fn held_weights_count_only_true_representatives() {
        // Weights (token counts) of the rows that open a cluster, summed per weight: the same
        // whether or not the table spilled, though after a spill many openings are provisional.
        let rows: Vec<(u128, u32)> =
            (0..3_000u64).map(|row| (((row * 7919) % 1_000) as u128, (row % 13) as u32)).collect();
        let weights = |limit: usize| {
            let dir = std::env::temp_dir();
            let mut idx = ExactIndex::with_limit(limit, dir);
            let mut counted: BTreeMap<u64, u64> = BTreeMap::new();
            for (batch, chunk) in rows.chunks(100).enumerate() {
                idx.make_room(chunk.len()).unwrap();
                for (i, &(digest, weight)) in chunk.iter().enumerate() {
                    let found = idx.insert(digest, (batch * 100 + i) as u64, weight);
                    if found.settled_opening {
                        *counted.entry(u64::from(weight)).or_insert(0) += 1;
                    }
                }
            }
            let remap = idx.finish().unwrap().map(|r| r.len());
            for (weight, n) in idx.settled_weights() {
                *counted.entry(weight).or_insert(0) += n;
            }
            (idx.is_spilled(), remap, counted, idx.summary(3).size_histogram)
        };
        let (spilled, remap, small, small_sizes) = weights(4 << 10);
        assert!(spilled && remap.unwrap() > 100, "the small table must spill and find provisional rows");
        let (spilled, _, big, big_sizes) = weights(usize::MAX);
        assert!(!spilled);
        assert_eq!(small.values().sum::<u64>(), 1_000);
        assert_eq!(small, big);
        assert_eq!(small_sizes, big_sizes);
    }

    #[test]
    fn ties_order_by_row() {
        let mut idx = ExactIndex::new();
        for (row, d) in [5u128, 3, 5, 3].iter().enumerate() {
            idx.insert(*d, row as u64, 0);
        }
        let rows: Vec<u64> = idx.summary(10).top.iter().map(|t| t.row).collect();
        assert_eq!(rows, vec![0, 1]);
    }
}
