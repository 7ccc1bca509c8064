//! Per-row cluster ids, the convention exact and near detection share: a row's cluster id is the
//! lowest row of its cluster (its representative), and rows without text belong to no cluster.
//! What follows from that convention alone — which rows represent their cluster — lives here too,
//! so the clusters file, dedup and the samplers all keep the same rows.

/// Cluster id stored for rows without a cluster (null text).
pub const NO_CLUSTER: u64 = u64::MAX;

/// Per row: does it represent its cluster (its id is its own row number)? Null rows do not.
/// `ids` are the cluster ids of the widest level computed (near when on, else exact).
pub fn keep_flags(ids: &[u64]) -> Vec<bool> {
    ids.iter().enumerate().map(|(row, &id)| id == row as u64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn representatives_are_kept_and_null_rows_are_not() {
        assert_eq!(keep_flags(&[0, NO_CLUSTER, 0, 3, 3, 5]), vec![true, false, false, true, false, true]);
        assert!(keep_flags(&[]).is_empty());
    }
}
