//! Packing samples into fixed-length sequences, first-fit-decreasing, from a length table.
//!
//! A sample longer than the sequence length fills whole sequences and leaves a remainder (no
//! token is dropped); the remainders are then placed largest first, each into the first
//! sequence with room, a new one when none has. The first sequence with room is found in a
//! max-tree over the free space of every sequence, so millions of samples pack in a second.

use std::collections::BTreeMap;

use crate::error::{CoreError, Result};

/// What packing a length distribution gives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Packing {
    /// Sequences of `seq_len` slots filled.
    pub sequences: u64,
    /// Tokens packed (every token of every sample).
    pub tokens: u64,
    /// tokens / (sequences x seq_len); 1.0 when there is no token.
    pub efficiency: f64,
}

/// Pack `(length, samples)` items into sequences of `seq_len` tokens, first-fit-decreasing.
pub fn first_fit_decreasing(items: impl IntoIterator<Item = (u64, u64)>, seq_len: u64) -> Result<Packing> {
    let capacity = u32::try_from(seq_len)
        .ok()
        .filter(|&c| c > 0)
        .ok_or_else(|| CoreError::Input(format!("sequence length {seq_len}: must be between 1 and {}", u32::MAX)))?;
    let mut tokens = 0u64;
    let mut full = 0u64;
    // Remainders by size: at most `seq_len` distinct values, whatever the number of samples.
    let mut pieces: BTreeMap<u32, u64> = BTreeMap::new();
    for (length, samples) in items {
        if length == 0 || samples == 0 {
            continue;
        }
        tokens += length * samples;
        full += length / seq_len * samples;
        let piece = (length % seq_len) as u32;
        if piece > 0 {
            *pieces.entry(piece).or_insert(0) += samples;
        }
    }
    let piece_count: u64 = pieces.values().sum();
    let piece_tokens: u64 = pieces.iter().map(|(&p, &n)| p as u64 * n).sum();
    // First fit leaves at most one sequence half empty or emptier, so it never opens more than
    // 2 x tokens / capacity + 1 sequences: the tree is sized to that, not to the sample count.
    let bound = piece_count.min(2 * piece_tokens / capacity as u64 + 2) as usize;
    let mut free = FreeTree::new(bound.max(1), capacity);
    let mut opened = 0usize;
    for (&piece, &count) in pieces.iter().rev() {
        for _ in 0..count {
            let at = free.first_with(piece).expect("tree sized for every sequence first fit can open");
            free.take(at, piece);
            opened = opened.max(at + 1);
        }
    }
    let sequences = full + opened as u64;
    let efficiency = if tokens == 0 { 1.0 } else { tokens as f64 / (sequences as f64 * seq_len as f64) };
    Ok(Packing { sequences, tokens, efficiency })
}

/// Free slots of every sequence (unopened ones have all of them) in a max-tree: the leftmost
/// sequence with at least `n` free slots in O(log sequences).
struct FreeTree {
    leaves: usize,
    max: Vec<u32>,
}

impl FreeTree {
    fn new(sequences: usize, capacity: u32) -> Self {
        let leaves = sequences.next_power_of_two();
        FreeTree { leaves, max: vec![capacity; 2 * leaves] }
    }

    fn first_with(&self, n: u32) -> Option<usize> {
        if self.max[1] < n {
            return None;
        }
        let mut node = 1;
        while node < self.leaves {
            node = if self.max[2 * node] >= n { 2 * node } else { 2 * node + 1 };
        }
        Some(node - self.leaves)
    }

    fn take(&mut self, sequence: usize, n: u32) {
        let mut node = sequence + self.leaves;
        self.max[node] -= n;
        while node > 1 {
            node /= 2;
            self.max[node] = self.max[2 * node].max(self.max[2 * node + 1]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::near::test_support::SplitMix;

    /// The textbook loop: every remainder, largest first, into the first sequence with room.
    fn brute_force(lengths: &[u64], seq_len: u64) -> (u64, u64) {
        let full: u64 = lengths.iter().map(|l| l / seq_len).sum();
        let mut pieces: Vec<u64> = lengths.iter().map(|l| l % seq_len).filter(|&p| p > 0).collect();
        pieces.sort_unstable_by(|a, b| b.cmp(a));
        let mut free: Vec<u64> = Vec::new();
        for p in pieces {
            match free.iter_mut().find(|f| **f >= p) {
                Some(f) => *f -= p,
                None => free.push(seq_len - p),
            }
        }
        (full + free.len() as u64, lengths.iter().sum())
    }

    #[test]
    fn equals_the_textbook_loop() {
        let mut rng = SplitMix(7);
        for case in 0..200 {
            let seq_len = 1 + rng.below(300);
            let n = rng.below(400) as usize;
            let spread = 1 + rng.below(3 * seq_len);
            let lengths: Vec<u64> = (0..n).map(|_| rng.below(spread)).collect();
            let mut table: BTreeMap<u64, u64> = BTreeMap::new();
            for &l in &lengths {
                *table.entry(l).or_insert(0) += 1;
            }
            let packed = first_fit_decreasing(table, seq_len).unwrap();
            let (sequences, tokens) = brute_force(&lengths, seq_len);
            assert_eq!((packed.sequences, packed.tokens), (sequences, tokens), "case {case}");
            if tokens > 0 {
                assert_eq!(packed.efficiency, tokens as f64 / (sequences * seq_len) as f64);
            }
        }
    }

    #[test]
    fn edge_cases() {
        let empty = first_fit_decreasing([], 8).unwrap();
        assert_eq!((empty.sequences, empty.tokens, empty.efficiency), (0, 0, 1.0));
        let exact = first_fit_decreasing([(16, 3)], 8).unwrap();
        assert_eq!((exact.sequences, exact.efficiency), (6, 1.0));
        assert!(first_fit_decreasing([(1, 1)], 0).is_err());
        // Many identical samples: the tree bound, not the sample count, sizes the work.
        let many = first_fit_decreasing([(3, 1_000_000)], 8).unwrap();
        assert_eq!(many.sequences, 500_000); // two 3-token samples per 8-token sequence
    }
}
