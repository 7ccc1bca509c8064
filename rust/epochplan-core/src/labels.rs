//! Labels: interned to small ids (one u32 per row is all the audit keeps of them), counted, and
//! summarised by balance statistics.

use hashbrown::HashMap;

use crate::error::{CoreError, Result};

/// Label id of a row without a label.
pub const NO_LABEL: u32 = u32::MAX;

#[derive(Debug, Clone, Default)]
pub struct LabelCounter {
    ids: HashMap<String, u32>,
    /// Label text by id.
    names: Vec<String>,
    /// Rows by id.
    counts: Vec<u64>,
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

    /// Counts one row's label and returns its id (`NO_LABEL` for none). Ids are given in order
    /// of first appearance, so they are the same for the same input.
    pub fn add(&mut self, label: Option<&str>) -> Result<u32> {
        let Some(label) = label else {
            self.nulls += 1;
            return Ok(NO_LABEL);
        };
        let id = match self.ids.get(label) {
            Some(&id) => id,
            None => {
                let id = u32::try_from(self.names.len()).ok().filter(|&id| id != NO_LABEL).ok_or_else(|| {
                    CoreError::Input(format!(
                        "more than {} distinct labels: is the label column really a label?",
                        NO_LABEL - 1
                    ))
                })?;
                self.ids.insert(label.to_owned(), id);
                self.names.push(label.to_owned());
                self.counts.push(0);
                id
            }
        };
        self.counts[id as usize] += 1;
        Ok(id)
    }

    /// The text of label `id`.
    pub fn name(&self, id: u32) -> &str {
        &self.names[id as usize]
    }

    pub fn summary(&self) -> LabelSummary {
        let mut counts: Vec<(String, u64)> = self.names.iter().cloned().zip(self.counts.iter().copied()).collect();
        counts.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let total: u64 = self.counts.iter().sum();
        let k = counts.len();
        let balanced = counts.windows(2).all(|w| w[0].1 == w[1].1);
        let entropy_normalized = (k >= 2).then(|| {
            if balanced {
                return 1.0; // the sum below drifts past 1 (1.0000000000000002 for five classes of one row)
            }
            let h: f64 = counts
                .iter()
                .map(|&(_, c)| {
                    let p = c as f64 / total as f64;
                    -p * p.ln()
                })
                .sum();
            (h / (k as f64).ln()).min(1.0) // at most 1 whatever the rounding: a reader's `<= 1` holds
        });
        let imbalance_ratio = (k >= 1).then(|| {
            let max = counts.iter().map(|c| c.1).max().unwrap_or(0) as f64;
            let min = counts.iter().map(|c| c.1).min().unwrap_or(1) as f64;
            max / min
        });
        LabelSummary { counts, null_labels: self.nulls, entropy_normalized, imbalance_ratio }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalised_entropy_is_never_past_one() {
        for (classes, each) in [(5, 1), (3, 7), (50_000, 2)] {
            let mut c = LabelCounter::new();
            for i in 0..classes * each {
                c.add(Some(&format!("class {}", i % classes))).unwrap();
            }
            assert_eq!(c.summary().entropy_normalized, Some(1.0), "{classes} classes of {each}");
        }
        let mut c = LabelCounter::new();
        for i in 0..50_001 {
            c.add(Some(&format!("class {}", i % 50_000))).unwrap(); // one class has a row more
        }
        let e = c.summary().entropy_normalized.unwrap();
        assert!(e <= 1.0 && e > 0.999_999, "{e}");
    }

    #[test]
    fn balanced_and_imbalanced() {
        let mut c = LabelCounter::new();
        for l in ["a", "b", "a", "b"] {
            c.add(Some(l)).unwrap();
        }
        c.add(None).unwrap();
        let s = c.summary();
        assert!((s.entropy_normalized.unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(s.imbalance_ratio, Some(1.0));
        assert_eq!(s.null_labels, 1);

        let mut c = LabelCounter::new();
        for l in ["b", "a", "a", "a"] {
            c.add(Some(l)).unwrap();
        }
        let s = c.summary();
        // H = -(.75 ln .75 + .25 ln .25) / ln 2 = 0.811278...
        assert!((s.entropy_normalized.unwrap() - 0.8112781244591328).abs() < 1e-12);
        assert_eq!(s.imbalance_ratio, Some(3.0));
        assert_eq!(s.counts, vec![("a".into(), 3), ("b".into(), 1)]);
    }

    #[test]
    fn ids_in_order_of_first_appearance() {
        let mut c = LabelCounter::new();
        let ids: Vec<u32> = [Some("x"), None, Some("y"), Some("x")].into_iter().map(|l| c.add(l).unwrap()).collect();
        assert_eq!(ids, vec![0, NO_LABEL, 1, 0]);
        assert_eq!((c.name(0), c.name(1)), ("x", "y"));
    }

    #[test]
    fn single_class_has_no_entropy() {
        let mut c = LabelCounter::new();
        c.add(Some("x")).unwrap();
        assert_eq!(c.summary().entropy_normalized, None);
        assert_eq!(c.summary().imbalance_ratio, Some(1.0));
    }
}
