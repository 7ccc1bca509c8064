//! Label counts and their balance statistics.

use std::collections::BTreeMap;

#[derive(Debug, Clone, Default)]
pub struct LabelCounter {
    counts: BTreeMap<String, u64>,
    nulls: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LabelSummary {
    /// Sorted by label, so output is deterministic.
    pub counts: Vec<(String, u64)>,
    pub null_labels: u64,
    /// Shannon entropy over classes divided by ln(K); 1.0 = perfectly balanced.
    /// None when there are fewer than two classes (0/0).
    pub entropy_normalized: Option<f64>,
    /// Largest class count / smallest class count. None without classes.
    pub imbalance_ratio: Option<f64>,
}

impl LabelCounter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, label: Option<&str>) {
        match label {
            None => self.nulls += 1,
            Some(l) => {
                if let Some(c) = self.counts.get_mut(l) {
                    *c += 1;
                } else {
                    self.counts.insert(l.to_owned(), 1);
                }
            }
        }
    }

    pub fn summary(&self) -> LabelSummary {
        let total: u64 = self.counts.values().sum();
        let k = self.counts.len();
        let entropy_normalized = (k >= 2).then(|| {
            let h: f64 = self
                .counts
                .values()
                .map(|&c| {
                    let p = c as f64 / total as f64;
                    -p * p.ln()
                })
                .sum();
            h / (k as f64).ln()
        });
        let imbalance_ratio = (k >= 1).then(|| {
            let max = *self.counts.values().max().unwrap_or(&0) as f64;
            let min = *self.counts.values().min().unwrap_or(&1) as f64;
            max / min
        });
        LabelSummary {
            counts: self.counts.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            null_labels: self.nulls,
            entropy_normalized,
            imbalance_ratio,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_and_imbalanced() {
        let mut c = LabelCounter::new();
        for l in ["a", "b", "a", "b"] {
            c.add(Some(l));
        }
        c.add(None);
        let s = c.summary();
        assert!((s.entropy_normalized.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(s.imbalance_ratio, Some(1.0));
        assert_eq!(s.null_labels, 1);

        let mut c = LabelCounter::new();
        for l in ["a", "a", "a", "b"] {
            c.add(Some(l));
        }
        let s = c.summary();
        // H = -(.75 ln .75 + .25 ln .25) / ln 2 = 0.811278...
        assert!((s.entropy_normalized.unwrap() - 0.8112781244591328).abs() < 1e-12);
        assert_eq!(s.imbalance_ratio, Some(3.0));
        assert_eq!(s.counts, vec![("a".into(), 3), ("b".into(), 1)]);
    }

    #[test]
    fn single_class_has_no_entropy() {
        let mut c = LabelCounter::new();
        c.add(Some("x"));
        assert_eq!(c.summary().entropy_normalized, None);
        assert_eq!(c.summary().imbalance_ratio, Some(1.0));
    }
}
