//! Conflicting labels: clusters whose labelled members carry more than one distinct label.
//!
//! Counted at the exact level and, when near detection ran, at the near level. Rows without text
//! or without a label take no part in deciding a conflict; `rows` counts every row (labelled or
//! not) of the conflicting clusters at the widest level. Examples are the largest conflicting
//! clusters of the widest level (by labelled members, ties by cluster id), each with its labelled
//! rows in row order.

use hashbrown::HashMap;

use crate::cluster_ids::NO_CLUSTER;
use crate::labels::NO_LABEL;

/// Examples reported by the audit.
pub const MAX_EXAMPLES: usize = 10;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictExample {
    pub rows: Vec<u64>,
    /// Label id of each row in `rows`.
    pub labels: Vec<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflicts {
    pub exact_clusters: u64,
    /// `None` when near detection did not run.
    pub near_clusters: Option<u64>,
    pub rows: u64,
    pub examples: Vec<ConflictExample>,
}

/// Per cluster (indexed by its id, a row number): the one label seen so far, or a mark.
const UNSEEN: u32 = NO_LABEL;
const CONFLICT: u32 = NO_LABEL - 1;

/// `exact_ids` / `near_ids`: cluster id per row (`NO_CLUSTER` for null text); `labels`: label id
/// per row (`NO_LABEL` for none). All three have one entry per row.
pub fn find_conflicts(exact_ids: &[u64], near_ids: Option<&[u64]>, labels: &[u32], max_examples: usize) -> Conflicts {
    debug_assert_eq!(exact_ids.len(), labels.len());
    let labelled = |row: usize| exact_ids[row] != NO_CLUSTER && labels[row] != NO_LABEL;
    let exact_state = cluster_states(exact_ids, labels, &labelled);
    let exact_clusters = exact_state.iter().filter(|&&s| s == CONFLICT).count() as u64;
    let (widest, widest_state) = match near_ids {
        Some(near) => (near, cluster_states(near, labels, &labelled)),
        None => (exact_ids, exact_state),
    };
    let in_conflict = |row: usize| widest[row] != NO_CLUSTER && widest_state[widest[row] as usize] == CONFLICT;

    let mut rows = 0u64;
    let mut sizes: HashMap<u64, u64> = HashMap::new();
    for (row, &cluster) in widest.iter().enumerate() {
        if in_conflict(row) {
            rows += 1;
            if labelled(row) {
                *sizes.entry(cluster).or_default() += 1;
            }
        }
    }
    let near_clusters = near_ids.map(|_| sizes.len() as u64);

    let mut largest: Vec<(u64, u64)> = sizes.into_iter().collect();
    largest.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    largest.truncate(max_examples);
    let slot: HashMap<u64, usize> = largest.iter().enumerate().map(|(i, &(id, _))| (id, i)).collect();
    let mut examples: Vec<ConflictExample> =
        largest.iter().map(|_| ConflictExample { rows: Vec::new(), labels: Vec::new() }).collect();
    if !slot.is_empty() {
        for row in (0..widest.len()).filter(|&row| labelled(row)) {
            if let Some(&i) = slot.get(&widest[row]) {
                examples[i].rows.push(row as u64);
                examples[i].labels.push(labels[row]);
            }
        }
    }
    Conflicts { exact_clusters, near_clusters, rows, examples }
}

/// Per cluster id: `UNSEEN`, its single label, or `CONFLICT`. 4 bytes a row, for the call only.
fn cluster_states(ids: &[u64], labels: &[u32], labelled: &dyn Fn(usize) -> bool) -> Vec<u32> {
    let mut state = vec![UNSEEN; ids.len()];
    for row in (0..ids.len()).filter(|&row| labelled(row)) {
        let cluster = &mut state[ids[row] as usize];
        match *cluster {
            CONFLICT => {}
            UNSEEN => *cluster = labels[row],
            seen if seen != labels[row] => *cluster = CONFLICT,
            _ => {}
        }
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;

    const N: u64 = NO_CLUSTER;
    const L: u32 = NO_LABEL;

    #[test]
    fn exact_level_only() {
        // clusters: {0,2,4} labels a,b,- ; {1,3} a,a ; 5 null text with a label ; {6,7} a,- .
        let exact = [0, 1, 0, 1, 0, N, 6, 6];
        let labels = [0, 0, 1, 0, L, 1, 0, L];
        let c = find_conflicts(&exact, None, &labels, MAX_EXAMPLES);
        assert_eq!(c.exact_clusters, 1);
        assert_eq!(c.near_clusters, None);
        assert_eq!(c.rows, 3); // the unlabelled row 4 counts too
        assert_eq!(c.examples, vec![ConflictExample { rows: vec![0, 2], labels: vec![0, 1] }]);
    }

    #[test]
    fn near_level_widens_and_orders_examples() {
        // exact clusters {0,1} {2} {3} {4,5} {6}; near joins {0,1,2} and {3,4,5,6}.
        let exact = [0, 0, 2, 3, 4, 4, 6];
        let near = [0, 0, 0, 3, 3, 3, 3];
        let labels = [0, 1, 0, 0, 1, 1, L];
        let c = find_conflicts(&exact, Some(&near), &labels, MAX_EXAMPLES);
        assert_eq!(c.exact_clusters, 1); // {0,1}
        assert_eq!(c.near_clusters, Some(2));
        assert_eq!(c.rows, 7);
        // both near clusters have 3 labelled rows: the lower id first
        assert_eq!(c.examples[0], ConflictExample { rows: vec![0, 1, 2], labels: vec![0, 1, 0] });
        assert_eq!(c.examples[1], ConflictExample { rows: vec![3, 4, 5], labels: vec![0, 1, 1] });
        assert_eq!(find_conflicts(&exact, Some(&near), &labels, 1).examples.len(), 1);
    }

    #[test]
    fn larger_clusters_come_first() {
        let exact = [0, 0, 2, 2, 2];
        let labels = [0, 1, 0, 1, 1];
        let c = find_conflicts(&exact, None, &labels, MAX_EXAMPLES);
        assert_eq!(c.examples.iter().map(|e| e.rows[0]).collect::<Vec<_>>(), vec![2, 0]);
    }
}
