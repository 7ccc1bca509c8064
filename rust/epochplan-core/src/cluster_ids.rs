//! Per-row cluster ids, the convention exact and near detection share: a row's cluster id is the
//! lowest row of its cluster (its representative), and rows without text belong to no cluster.
//! What follows from that convention alone — which rows represent their cluster — lives here too,
//! so the clusters file, dedup and the samplers all keep the same rows.

use std::collections::{BTreeMap, HashMap};

/// Cluster id stored for rows without a cluster (null text).
pub const NO_CLUSTER: u64 = u64::MAX;

/// A member of a cluster shown beside its representative.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Member {
    pub row: u64,
    /// Similarity to the representative, when the level has one per row.
    pub similarity: Option<f32>,
}

/// `[size, clusters]` for every cluster size that occurs (1 = a row without duplicates),
/// ascending. Bounded by the number of distinct sizes, not rows.
pub fn size_histogram(ids: &[u64]) -> Vec<[u64; 2]> {
    let mut sizes: HashMap<u64, u64> = HashMap::new();
    for &id in ids {
        if id != NO_CLUSTER {
            *sizes.entry(id).or_insert(0) += 1;
        }
    }
    let mut histogram: BTreeMap<u64, u64> = BTreeMap::new();
    for size in sizes.into_values() {
        *histogram.entry(size).or_insert(0) += 1;
    }
    histogram.into_iter().map(|(size, clusters)| [size, clusters]).collect()
}

/// For each of `representatives`, up to `max` other members of its cluster, in one pass over
/// `ids`: without `similarity` the lowest rows; with it the least similar to the representative
/// first (ties: lowest row), so a reviewer sees the members most worth checking.
pub fn members(ids: &[u64], representatives: &[u64], similarity: Option<&[f32]>, max: usize) -> Vec<Vec<Member>> {
    let slot: HashMap<u64, usize> = representatives.iter().enumerate().map(|(i, &rep)| (rep, i)).collect();
    let mut found: Vec<Vec<Member>> = vec![Vec::new(); representatives.len()];
    if max == 0 {
        return found;
    }
    // (similarity, row) ascending is the order shown; the kept set is the `max` smallest.
    let key = |m: &Member| (m.similarity.unwrap_or(0.0), m.row);
    for (row, &id) in ids.iter().enumerate() {
        let row = row as u64;
        if id == NO_CLUSTER || id == row {
            continue;
        }
        let Some(&i) = slot.get(&id) else { continue };
        let member = Member { row, similarity: similarity.map(|s| s[row as usize]) };
        let kept = &mut found[i];
        if kept.len() < max {
            kept.push(member);
        } else if similarity.is_some() {
            let (worst, _) = kept
                .iter()
                .enumerate()
                .max_by(|a, b| key(a.1).partial_cmp(&key(b.1)).unwrap_or(std::cmp::Ordering::Equal))
                .expect("max > 0 when kept is full");
            if key(&member) < key(&kept[worst]) {
                kept[worst] = member;
            }
        }
    }
    for kept in &mut found {
        kept.sort_by(|a, b| key(a).partial_cmp(&key(b)).unwrap_or(std::cmp::Ordering::Equal));
    }
    found
}

/// Per row: does it represent its cluster (its id is its own row number)? Null rows do not.
/// `ids` are the cluster ids of the widest level computed (near when on, else exact).
pub fn keep_flags(ids: &[u64]) -> Vec<bool> {
    ids.iter().enumerate().map(|(row, &id)| id == row as u64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_histogram_counts_every_size() {
        let ids = [0, 0, 2, NO_CLUSTER, 0, 5, 5, 7];
        assert_eq!(size_histogram(&ids), vec![[1, 2], [2, 1], [3, 1]]);
        assert!(size_histogram(&[]).is_empty());
    }

    #[test]
    fn members_lowest_rows_without_similarity() {
        let ids = [0, 0, 2, 0, 2, 0, 0, NO_CLUSTER, 0];
        let found = members(&ids, &[0, 2, 9], None, 3);
        let rows = |v: &Vec<Member>| v.iter().map(|m| m.row).collect::<Vec<_>>();
        assert_eq!(rows(&found[0]), vec![1, 3, 5]);
        assert_eq!(rows(&found[1]), vec![4]);
        assert!(found[2].is_empty());
        assert!(found[0].iter().all(|m| m.similarity.is_none()));
    }

    #[test]
    fn members_least_similar_first_ties_by_row() {
        let ids = [0, 0, 0, 0, 0, 0];
        let sim = [1.0, 0.9, 0.75, 1.0, 0.75, 0.8];
        let found = members(&ids, &[0], Some(&sim), 3);
        let got: Vec<(u64, f32)> = found[0].iter().map(|m| (m.row, m.similarity.unwrap())).collect();
        assert_eq!(got, vec![(2, 0.75), (4, 0.75), (5, 0.8)]);
        assert!(members(&ids, &[0], Some(&sim), 0)[0].is_empty());
    }

    #[test]
    fn representatives_are_kept_and_null_rows_are_not() {
        assert_eq!(keep_flags(&[0, NO_CLUSTER, 0, 3, 3, 5]), vec![true, false, false, true, false, true]);
        assert!(keep_flags(&[]).is_empty());
    }
}
