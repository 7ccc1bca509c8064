//! Exact length distribution in memory bounded by the number of *distinct* lengths, not rows:
//! lengths are integers, so a count per length gives exact quantiles without keeping every value.

use std::collections::BTreeMap;

/// Lengths below this go to a dense array; longer (rare) ones to a sorted map.
const DENSE_LIMIT: usize = 1 << 16;

#[derive(Debug, Clone, Default)]
pub struct LengthDistribution {
    dense: Vec<u64>,
    sparse: BTreeMap<u64, u64>,
    count: u64,
    sum: u128,
    max: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LengthSummary {
    pub mean: f64,
    pub p50: u64,
    pub p90: u64,
    pub p99: u64,
    pub max: u64,
    /// `[lo, hi, count]`: power-of-two bins [0, 1), [1, 2), [2, 4), ... up to the bin holding
    /// `max`, contiguous (empty bins included), `count` values with lo <= length < hi. About 64
    /// bins at most whatever the number of rows, so a report can draw it at any size.
    pub histogram: Vec<[u64; 3]>,
}

/// Index of the power-of-two bin holding `length`: 0 for [0, 1), k for [2^(k-1), 2^k).
fn bin_of(length: u64) -> usize {
    (u64::BITS - length.leading_zeros()) as usize
}

/// Bounds of bin `k` (see [`bin_of`]); the last bin's upper bound saturates at u64::MAX.
fn bin_bounds(k: usize) -> (u64, u64) {
    if k == 0 {
        return (0, 1);
    }
    let lo = 1u64 << (k - 1);
    (lo, lo.saturating_mul(2))
}

impl LengthDistribution {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, length: u64) {
        self.add_many(length, 1);
    }

    pub fn add_many(&mut self, length: u64, times: u64) {
        if (length as usize) < DENSE_LIMIT {
            let idx = length as usize;
            if self.dense.len() <= idx {
                self.dense.resize(idx + 1, 0);
            }
            self.dense[idx] += times;
        } else {
            *self.sparse.entry(length).or_insert(0) += times;
        }
        self.count += times;
        self.sum += length as u128 * times as u128;
        self.max = self.max.max(length);
    }

    pub fn merge(&mut self, other: &LengthDistribution) {
        for (length, &times) in other.dense.iter().enumerate() {
            if times > 0 {
                self.add_many(length as u64, times);
            }
        }
        for (&length, &times) in &other.sparse {
            self.add_many(length, times);
        }
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn sum(&self) -> u128 {
        self.sum
    }

    /// (length, count) for every length that occurs, ascending.
    pub fn iter(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let dense = self.dense.iter().enumerate().filter(|(_, times)| **times > 0);
        let dense = dense.map(|(length, &times)| (length as u64, times));
        dense.chain(self.sparse.iter().map(|(&length, &times)| (length, times)))
    }

    /// Nearest-rank quantile: the smallest length `v` with at least `ceil(q * n)` values `<= v`
    /// (numpy's `method="inverted_cdf"`). Always a length that occurs in the data.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q * self.count as f64).ceil() as u64).clamp(1, self.count);
        let mut seen = 0u64;
        for (length, &times) in self.dense.iter().enumerate() {
            seen += times;
            if seen >= rank {
                return Some(length as u64);
            }
        }
        for (&length, &times) in &self.sparse {
            seen += times;
            if seen >= rank {
                return Some(length);
            }
        }
        Some(self.max)
    }

    /// Counts in power-of-two bins (see [`LengthSummary::histogram`]); empty without values.
    pub fn histogram(&self) -> Vec<[u64; 3]> {
        if self.count == 0 {
            return Vec::new();
        }
        let mut counts = vec![0u64; bin_of(self.max) + 1];
        for (length, &times) in self.dense.iter().enumerate() {
            counts[bin_of(length as u64)] += times;
        }
        for (&length, &times) in &self.sparse {
            counts[bin_of(length)] += times;
        }
        counts
            .into_iter()
            .enumerate()
            .map(|(k, count)| {
                let (lo, hi) = bin_bounds(k);
                [lo, hi, count]
            })
            .collect()
    }

    pub fn summary(&self) -> Option<LengthSummary> {
        if self.count == 0 {
            return None;
        }
        Some(LengthSummary {
            mean: self.sum as f64 / self.count as f64,
            p50: self.quantile(0.50)?,
            p90: self.quantile(0.90)?,
            p99: self.quantile(0.99)?,
            max: self.max,
            histogram: self.histogram(),
        })
    }
}

/// The byte form an engine ships between processes (see [`crate::stages`]): every field, so a
/// merge after the trip is the merge before it.
impl LengthDistribution {
    pub(crate) fn write(&self, w: &mut crate::wire::Writer) {
        w.u64s(&self.dense);
        w.len(self.sparse.len());
        for (&length, &times) in &self.sparse {
            w.u64(length);
            w.u64(times);
        }
        w.u64(self.count);
        w.u128(self.sum);
        w.u64(self.max);
    }

    pub(crate) fn read(r: &mut crate::wire::Reader<'_>) -> crate::error::Result<Self> {
        let dense = r.u64s()?;
        let mut sparse = BTreeMap::new();
        for _ in 0..r.len(16)? {
            sparse.insert(r.u64()?, r.u64()?);
        }
        Ok(LengthDistribution { dense, sparse, count: r.u64()?, sum: r.u128()?, max: r.u64()? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let mut d = LengthDistribution::new();
        for v in 1..=100 {
            d.add(v);
        }
        let s = d.summary().unwrap();
        assert_eq!((s.p50, s.p90, s.p99, s.max), (50, 90, 99, 100));
        assert!((s.mean - 50.5).abs() < 1e-12);
    }

    #[test]
    fn long_lengths_and_merge() {
        let mut a = LengthDistribution::new();
        let mut b = LengthDistribution::new();
        a.add(3);
        b.add(1_000_000);
        b.add(3);
        a.merge(&b);
        assert_eq!(a.count(), 3);
        assert_eq!(a.quantile(0.5), Some(3));
        assert_eq!(a.quantile(1.0), Some(1_000_000));
        assert_eq!(a.summary().unwrap().max, 1_000_000);
    }

    #[test]
    fn power_of_two_histogram() {
        let mut d = LengthDistribution::new();
        for v in [0, 1, 2, 3, 4, 7, 8, 100, 1_000_000] {
            d.add(v);
        }
        let h = d.histogram();
        assert_eq!(&h[..5], &[[0, 1, 1], [1, 2, 1], [2, 4, 2], [4, 8, 2], [8, 16, 1]]);
        // contiguous up to the bin holding the max, empty bins included
        assert!(h.windows(2).all(|w| w[0][1] == w[1][0]));
        assert_eq!(*h.last().unwrap(), [1 << 19, 1 << 20, 1]);
        assert_eq!(h.iter().map(|b| b[2]).sum::<u64>(), d.count());
        assert_eq!(h.iter().find(|b| b[0] == 64).unwrap()[2], 1); // 100 in [64, 128)
    }

    #[test]
    fn histogram_merges_and_handles_extremes() {
        let mut a = LengthDistribution::new();
        a.add(5);
        let mut b = LengthDistribution::new();
        b.add(u64::MAX);
        a.merge(&b);
        let h = a.histogram();
        assert_eq!(h.len(), 65);
        assert_eq!(*h.last().unwrap(), [1 << 63, u64::MAX, 1]);
        assert_eq!(h[3], [4, 8, 1]);
        assert!(LengthDistribution::new().histogram().is_empty());
    }

    #[test]
    fn empty_has_no_summary() {
        assert!(LengthDistribution::new().summary().is_none());
    }
}
