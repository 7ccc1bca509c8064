//! Exact-duplicate clusters: a hash table from the 128-bit digest of a normalised text to its
//! cluster. Rows arrive in input order, so the first row seen with a digest is the lowest row of
//! its cluster and becomes the representative: no second pass and no reordering needed.

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
}

#[derive(Debug, Clone, PartialEq)]
pub struct TopCluster {
    pub row: u64,
    pub count: u64,
    pub preview: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ExactSummary {
    pub unique: u64,
    pub duplicate_rows: u64,
    pub clusters: u64,
    pub largest_cluster: u64,
    pub top: Vec<TopCluster>,
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
        Insert { representative: cluster.representative, needs_preview: cluster.size == 2 }
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
        for c in self.clusters.values() {
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
            })
            .collect();
        ExactSummary {
            unique: self.unique(),
            duplicate_rows: members - self.unique(),
            clusters,
            largest_cluster: largest,
            top,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(s.top[0], TopCluster { row: 0, count: 3, preview: "seven".into() });
        assert_eq!(s.top[1].row, 1);
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
