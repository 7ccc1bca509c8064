//! Union-find over row numbers whose root is always the lowest row of its set.
//!
//! Union links the higher root under the lower one, so every parent is at most its child
//! (`parent[x] <= x`). That makes the root the cluster's lowest row whatever order unions come
//! in, and lets one forward pass flatten the whole forest (a parent is flattened before its
//! children). Rows marked `NO_CLUSTER` (null text) are outside every set.

use crate::cluster_ids::NO_CLUSTER;
use crate::error::{CoreError, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnionFind {
    parent: Vec<u64>,
}

impl UnionFind {
    /// Every row in a set of its own.
    pub fn new(rows: usize) -> Self {
        UnionFind { parent: (0..rows as u64).collect() }
    }

    /// Starts from an existing forest, such as exact-duplicate representatives: each entry is
    /// `NO_CLUSTER` or a row no higher than its own, which is itself in the forest.
    pub fn from_parents(parent: Vec<u64>) -> Result<Self> {
        for (row, &p) in parent.iter().enumerate() {
            if p != NO_CLUSTER && (p > row as u64 || parent[p as usize] == NO_CLUSTER) {
                return Err(CoreError::Input(format!(
                    "row {row} points at row {p}, which is not a lower member of the forest"
                )));
            }
        }
        Ok(UnionFind { parent })
    }

    pub fn len(&self) -> usize {
        self.parent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.parent.is_empty()
    }

    pub fn is_member(&self, row: u64) -> bool {
        self.parent[row as usize] != NO_CLUSTER
    }

    /// Lowest row of `row`'s set, halving the path on the way.
    #[inline]
    pub fn find(&mut self, row: u64) -> u64 {
        debug_assert!(self.is_member(row));
        let mut x = row as usize;
        loop {
            let p = self.parent[x] as usize;
            if p == x {
                return x as u64;
            }
            let grandparent = self.parent[p];
            self.parent[x] = grandparent;
            x = grandparent as usize;
        }
    }

    /// `find` without path compression, for threads that share the forest read-only.
    #[inline]
    pub fn find_frozen(&self, row: u64) -> u64 {
        debug_assert!(self.is_member(row));
        let mut x = row;
        loop {
            let p = self.parent[x as usize];
            if p == x {
                return x;
            }
            x = p;
        }
    }

    /// Joins the sets of `a` and `b`; false when they were already one set.
    #[inline]
    pub fn union(&mut self, a: u64, b: u64) -> bool {
        let (root_a, root_b) = (self.find(a), self.find(b));
        if root_a == root_b {
            return false;
        }
        let (low, high) = if root_a < root_b { (root_a, root_b) } else { (root_b, root_a) };
        self.parent[high as usize] = low;
        true
    }

    /// Points every member straight at its root, in one pass.
    pub fn compress(&mut self) {
        for x in 0..self.parent.len() {
            let p = self.parent[x];
            if p != NO_CLUSTER {
                self.parent[x] = self.parent[p as usize];
            }
        }
    }

    /// Root (lowest row) of every row's set, `NO_CLUSTER` for rows outside all sets.
    pub fn into_roots(mut self) -> Vec<u64> {
        self.compress();
        self.parent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::near::test_support::SplitMix;

    /// Lowest member of each row's connected component, by repeated relaxation: obviously right.
    fn components_min(rows: usize, edges: &[(u64, u64)]) -> Vec<u64> {
        let mut label: Vec<u64> = (0..rows as u64).collect();
        loop {
            let mut changed = false;
            for &(a, b) in edges {
                let low = label[a as usize].min(label[b as usize]);
                for x in [a, b] {
                    if label[x as usize] != low {
                        label[x as usize] = low;
                        changed = true;
                    }
                }
            }
            if !changed {
                return label;
            }
        }
    }

    #[test]
    fn roots_are_lowest_rows_in_any_union_order() {
        let mut rng = SplitMix(11);
        let rows = 500;
        let mut edges: Vec<(u64, u64)> = (0..400).map(|_| (rng.below(rows as u64), rng.below(rows as u64))).collect();
        let expected = components_min(rows, &edges);
        for _ in 0..5 {
            let mut forest = UnionFind::new(rows);
            for &(a, b) in &edges {
                forest.union(a, b);
            }
            assert_eq!(forest.into_roots(), expected);
            rng.shuffle(&mut edges);
        }
    }

    #[test]
    fn starts_from_exact_representatives_and_keeps_null_rows_out() {
        // rows 0,2,4 are one exact cluster; row 1 is null; row 3 is alone
        let mut forest = UnionFind::from_parents(vec![0, NO_CLUSTER, 0, 3, 0]).unwrap();
        assert!(!forest.is_member(1));
        assert!(forest.union(4, 3));
        assert!(!forest.union(2, 3));
        assert_eq!(forest.find_frozen(3), 0);
        assert_eq!(forest.into_roots(), vec![0, NO_CLUSTER, 0, 0, 0]);
    }

    #[test]
    fn rejects_forests_pointing_upwards_or_at_null_rows() {
        assert!(matches!(UnionFind::from_parents(vec![1, 1]), Err(CoreError::Input(_))));
        assert!(matches!(UnionFind::from_parents(vec![NO_CLUSTER, 0]), Err(CoreError::Input(_))));
    }
}
