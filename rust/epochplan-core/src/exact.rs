//! Exact-duplicate clusters: a hash table from the 128-bit digest of a normalised text to its
//! cluster. Rows arrive in input order, so the first row seen with a digest is the lowest row of
//! its cluster and becomes the representative: no second pass and no reordering needed.

use std::collections::BTreeMap;

use hashbrown::HashMap;

use crate::hashing::IdentityBuildHasher;
use crate::normalize::Normalize;

/// Characters of normalised text kept as a cluster's preview (only for clusters of size >= 2).
pub const PREVIEW_CHARS: usize = 80;

/// Characters past the preview that a normalised prefix must reach before it is trusted: only
/// the last few characters of a normalised prefix can differ from the whole text's (NFKC
/// composes across the cut, a final sigma lowercases by context, trailing space is trimmed).
const PREVIEW_MARGIN: usize = 64;

/// A cluster's preview: the first `PREVIEW_CHARS` characters of `text` normalised with
/// `normalize`. Normalises only a prefix of a long text (growing it until it is long enough):
/// the audit takes a preview of every duplicated cluster, and normalising whole 10 KB texts for
/// 80 characters measured as 4 % of a default audit, on its serial path.
pub fn preview(text: &str, normalize: Normalize, buf: &mut String) -> String {
    let mut prefix_bytes = (PREVIEW_CHARS + PREVIEW_MARGIN) * 4;
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

fn first_chars(normalised_text: &str) -> String {
    normalised_text.chars().take(PREVIEW_CHARS).collect()
}

/// Rows kept per duplicated cluster besides its representative, for a report to show side by
/// side: the first ones seen, so the lowest rows.
pub const MEMBER_ROWS: usize = 5;

/// Up to [`MEMBER_ROWS`] member rows inline (no allocation per cluster).
#[derive(Debug, Clone, Copy, Default)]
struct MemberRows {
    rows: [u64; MEMBER_ROWS],
    len: u8,
}

impl MemberRows {
    fn push(&mut self, row: u64) {
        if (self.len as usize) < MEMBER_ROWS {
            self.rows[self.len as usize] = row;
            self.len += 1;
        }
    }

    fn as_slice(&self) -> &[u64] {
        &self.rows[..self.len as usize]
    }
}

#[derive(Debug, Clone, Copy)]
struct Cluster {
    representative: u64,
    size: u64,
}

#[derive(Debug, Default)]
pub struct ExactIndex {
    clusters: HashMap<u128, Cluster, IdentityBuildHasher>,
    /// Previews of clusters that have at least two members, keyed by representative row.
    previews: HashMap<u64, String>,
    /// The first member rows after the representative of clusters with at least two members
    /// (48 bytes a duplicated cluster), keyed by representative row.
    members: HashMap<u64, MemberRows>,
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

/// What inserting one row found.
pub struct Insert {
    pub representative: u64,
    /// The row is the second member of its cluster: the caller should supply a preview.
    pub needs_preview: bool,
}

impl ExactIndex {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    pub fn insert(&mut self, digest: u128, row: u64) -> Insert {
        let cluster = self.clusters.entry(digest).or_insert(Cluster { representative: row, size: 0 });
        cluster.size += 1;
        let (representative, size) = (cluster.representative, cluster.size);
        if (2..=MEMBER_ROWS as u64 + 1).contains(&size) {
            self.members.entry(representative).or_default().push(row);
        }
        Insert { representative, needs_preview: size == 2 }
    }

    pub fn set_preview(&mut self, representative: u64, preview: String) {
        self.previews.insert(representative, preview);
    }

    pub fn preview(&self, representative: u64) -> Option<&str> {
        self.previews.get(&representative).map(String::as_str)
    }

    /// Representative row of the cluster with this digest, if any row had it.
    pub fn lookup(&self, digest: u128) -> Option<u64> {
        self.clusters.get(&digest).map(|c| c.representative)
    }

    pub fn unique(&self) -> u64 {
        self.clusters.len() as u64
    }

    pub fn summary(&self, top_n: usize) -> ExactSummary {
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
            idx.insert(if row % 2 == 0 { 1 } else { row as u128 + 100 }, row);
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
            digests.iter().enumerate().map(|(row, &d)| idx.insert(d, row as u64).representative).collect();
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
    fn preview_of_a_prefix_equals_preview_of_the_whole_text() {
        let pieces = ["Word ", "ΣΊΣΥΦΟΣ ", "e\u{301}", "  \t", "ﬁ", "Ǆ", "x", "\u{3000}", "日本 "];
        let mut buf = String::new();
        for seed in 0..400usize {
            let text: String = (0..seed).map(|i| pieces[(i * 7 + seed) % pieces.len()]).collect();
            for normalize in [Normalize::Default, Normalize::None] {
                let whole: String = normalize.apply(&text, &mut String::new()).chars().take(PREVIEW_CHARS).collect();
                assert_eq!(preview(&text, normalize, &mut buf), whole, "{text:?}");
            }
        }
    }

    #[test]
    fn ties_order_by_row() {
        let mut idx = ExactIndex::new();
        for (row, d) in [5u128, 3, 5, 3].iter().enumerate() {
            idx.insert(*d, row as u64);
        }
        let rows: Vec<u64> = idx.summary(10).top.iter().map(|t| t.row).collect();
        assert_eq!(rows, vec![0, 1]);
    }
}
