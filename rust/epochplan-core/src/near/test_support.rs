//! Deterministic random data for the near-duplicate tests.

use crate::hashing::mix64;

/// splitmix64 stream: tiny, seeded, the same on every machine.
pub struct SplitMix(pub u64);

impl SplitMix {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(1);
        mix64(self.0)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next() as u128 * n as u128) >> 64) as u64
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            items.swap(i, self.below(i as u64 + 1) as usize);
        }
    }
}

/// Two sets of random 64-bit elements whose union has `union` elements and whose Jaccard
/// similarity is as close to `jaccard` as the sizes allow; returns the exact value too.
pub fn set_pair(rng: &mut SplitMix, union: usize, jaccard: f64) -> (Vec<u64>, Vec<u64>, f64) {
    let shared = ((jaccard * union as f64).round() as usize).clamp(1, union);
    let only_a = (union - shared) / 2;
    let only_b = union - shared - only_a;
    let common: Vec<u64> = (0..shared).map(|_| rng.next()).collect();
    let mut a = common.clone();
    a.extend((0..only_a).map(|_| rng.next()));
    let mut b = common;
    b.extend((0..only_b).map(|_| rng.next()));
    (a, b, shared as f64 / union as f64)
}

/// A document of `words` random words from a vocabulary of 20 000.
pub fn document(rng: &mut SplitMix, words: usize) -> Vec<String> {
    (0..words).map(|_| format!("w{}", rng.below(20_000))).collect()
}

/// `doc` with `edits` randomly chosen words replaced by words from outside the vocabulary.
pub fn edited(rng: &mut SplitMix, doc: &[String], edits: usize) -> Vec<String> {
    let mut out = doc.to_vec();
    for _ in 0..edits {
        let at = rng.below(out.len() as u64) as usize;
        out[at] = format!("x{}", rng.next() % 1_000_000);
    }
    out
}
