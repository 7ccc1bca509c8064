//! Train/eval leakage: an eval split is streamed through the train audit's indexes without
//! being added to them. Exact matches come from the digest table; near matches from the near
//! index's probe join (see `near::leakage`).

use crate::audit::{Auditor, digest_batch};
use crate::column::TextColumn;
use crate::error::{CoreError, Result};
use crate::near::{LeakSide, NearMatch, NearProbe};

/// An eval row whose normalised text equals a train row's. `train_row` is the representative
/// (lowest row) of the train exact cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExactMatch {
    pub eval_row: u64,
    pub train_row: u64,
}

pub struct EvalProbe {
    rows: u64,
    exact: Vec<ExactMatch>,
    /// Against a spilled exact table: `(digest, eval row)` of every non-null row, looked up in
    /// the runs at the end (one sequential read of each run instead of a search per row).
    pending: Vec<(u128, u64)>,
    /// The exact matches found for `pending`.
    resolved: std::sync::OnceLock<Vec<ExactMatch>>,
    near: Option<NearProbe>,
}

impl EvalProbe {
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Exact matches, by eval row. Against a spilled exact table, only after
    /// `Auditor::probe_finish_exact` (which `probe_near_matches` calls).
    pub fn exact_matches(&self) -> &[ExactMatch] {
        self.resolved.get().unwrap_or(&self.exact)
    }
}

impl Auditor {
    pub fn new_eval_probe(&self) -> EvalProbe {
        EvalProbe {
            rows: 0,
            exact: Vec::new(),
            pending: Vec::new(),
            resolved: std::sync::OnceLock::new(),
            near: self.near_index().map(|n| n.new_probe()),
        }
    }

    /// Add the next batch of an eval split (rows numbered from 0 within the split).
    pub fn probe_update(&self, probe: &mut EvalProbe, texts: &dyn TextColumn) -> Result<()> {
        let digests = digest_batch(texts, self.options().normalize);
        if self.exact_index().is_spilled() {
            let first = probe.rows;
            probe.pending.extend(digests.iter().enumerate().filter_map(|(i, d)| Some(((*d)?, first + i as u64))));
        } else {
            for (i, digest) in digests.into_iter().enumerate() {
                if let Some(train_row) = digest.and_then(|d| self.exact_index().lookup(d)) {
                    probe.exact.push(ExactMatch { eval_row: probe.rows + i as u64, train_row });
                }
            }
        }
        if let Some(near) = probe.near.as_mut() {
            near.update(texts)?;
        }
        probe.rows += texts.len() as u64;
        Ok(())
    }

    /// Resolves the exact matches of a probe against a spilled exact table (after its last
    /// batch, before `exact_matches`); nothing to do otherwise.
    pub fn probe_finish_exact(&self, probe: &EvalProbe) -> Result<()> {
        if probe.pending.is_empty() || probe.resolved.get().is_some() {
            return Ok(());
        }
        let mut pending = probe.pending.clone();
        pending.sort_unstable();
        let digests: Vec<u128> = pending.iter().map(|p| p.0).collect();
        let found = self.exact_index().lookup_spilled(&digests)?;
        let mut matches: Vec<ExactMatch> = pending
            .iter()
            .zip(found)
            .filter_map(|(&(_, eval_row), train_row)| Some(ExactMatch { eval_row, train_row: train_row? }))
            .collect();
        matches.sort_unstable_by_key(|m| m.eval_row);
        let _ = probe.resolved.set(matches);
        Ok(())
    }

    /// Under near detection with `Verify::Exact`, after the probe's last batch: the eval rows
    /// and train rows whose raw texts verifying its near matches needs (each increasing), to be
    /// given back with [`Auditor::probe_add_exact_texts`] before the near matches are asked for.
    /// `None` when near detection is off or verifies by sketches.
    pub fn probe_exact_rows(&self, probe: &mut EvalProbe) -> Result<Option<(Vec<u64>, Vec<u64>)>> {
        match (self.near_index(), probe.near.as_mut()) {
            (Some(index), Some(near)) if index.options().verify == crate::near::Verify::Exact => {
                index.leakage_exact_rows(near).map(Some)
            }
            _ => Ok(None),
        }
    }

    /// The raw texts of the next rows of `side` that [`Auditor::probe_exact_rows`] asked for.
    pub fn probe_add_exact_texts(
        &self,
        probe: &mut EvalProbe,
        side: LeakSide,
        rows: &[u64],
        texts: &dyn TextColumn,
    ) -> Result<()> {
        match (self.near_index(), probe.near.as_mut()) {
            (Some(index), Some(near)) => index.leakage_add_exact_texts(near, side, rows, texts),
            _ => Err(CoreError::Input("leakage texts given without near detection".into())),
        }
    }

    /// Near matches of the probe's rows that are not also exact matches, up to
    /// `max_per_eval_row` per eval row (best first); empty when near detection is off.
    ///
    /// The leak policy: a pair matched exactly is also a near match (similarity 1.0); it is
    /// reported once, as exact. Pairs are compared as (eval row, train representative): both
    /// sides name the train row by the lowest row of its exact cluster.
    pub fn probe_near_only_matches(
        &self,
        probe: &EvalProbe,
        max_per_eval_row: Option<usize>,
    ) -> Result<Vec<NearMatch>> {
        let mut matches = self.probe_near_matches(probe, None)?;
        // Exact matches are in eval-row order, at most one per eval row (one digest, one cluster).
        let exact = probe.exact_matches();
        let is_exact = |m: &NearMatch| {
            exact.binary_search_by_key(&m.eval_row, |e| e.eval_row).is_ok_and(|i| exact[i].train_row == m.train_row)
        };
        matches.retain(|m| !is_exact(m));
        if let Some(limit) = max_per_eval_row {
            // Matches come grouped by eval row, best first: keep the first `limit` of each group.
            let mut taken = 0;
            let mut current = None;
            matches.retain(|m| {
                if current != Some(m.eval_row) {
                    current = Some(m.eval_row);
                    taken = 0;
                }
                taken += 1;
                taken <= limit
            });
        }
        Ok(matches)
    }

    /// Near matches of the probe's rows (up to `max_per_eval_row` each, best first), exact
    /// matches included; empty when near detection is off.
    pub fn probe_near_matches(&self, probe: &EvalProbe, max_per_eval_row: Option<usize>) -> Result<Vec<NearMatch>> {
        self.probe_finish_exact(probe)?;
        match (self.near_index(), probe.near.as_ref()) {
            (Some(index), Some(near)) => index.leakage(near, max_per_eval_row),
            (None, None) => Ok(Vec::new()),
            _ => Err(CoreError::Internal("eval probe and audit disagree on near detection".into())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::AuditOptions;
    use crate::near::NearOptions;
    use crate::normalize::Normalize;

    const BASE: &str = "the committee met on tuesday to discuss the annual budget and agreed to postpone the vote";

    #[test]
    fn an_exact_pair_is_reported_once_as_exact() {
        let options =
            AuditOptions { normalize: Normalize::Default, keep_row_ids: false, near: Some(NearOptions::default()) };
        let mut auditor = Auditor::new(options).unwrap();
        let near_copy = BASE.replace("tuesday", "monday");
        let train = vec![Some(BASE.to_string()), Some(BASE.to_uppercase()), Some(near_copy.clone())];
        auditor.update(&train, None).unwrap();
        auditor.finish_near().unwrap();

        let mut probe = auditor.new_eval_probe();
        // eval 0: an exact copy of train 0 (and a near copy of train 2); eval 1: a near copy only.
        let eval = vec![Some(BASE.to_string()), Some(near_copy.replace("vote", "ballot")), None];
        auditor.probe_update(&mut probe, &eval).unwrap();
        assert_eq!(probe.exact_matches(), &[ExactMatch { eval_row: 0, train_row: 0 }]);

        let all = auditor.probe_near_matches(&probe, None).unwrap();
        let pairs = |ms: &[NearMatch]| ms.iter().map(|m| (m.eval_row, m.train_row)).collect::<Vec<_>>();
        assert!(pairs(&all).contains(&(0, 0)), "{all:?}");
        let near_only = auditor.probe_near_only_matches(&probe, None).unwrap();
        assert!(!pairs(&near_only).contains(&(0, 0)), "{near_only:?}");
        let expected: Vec<_> = all.iter().filter(|m| (m.eval_row, m.train_row) != (0, 0)).copied().collect();
        assert_eq!(near_only, expected);
        assert!(pairs(&near_only).contains(&(1, 2)), "{near_only:?}");

        // The limit counts near-only matches: eval 0 keeps its best non-exact match.
        let best = auditor.probe_near_only_matches(&probe, Some(1)).unwrap();
        let mut first_per_row = expected.clone();
        first_per_row.dedup_by_key(|m| m.eval_row);
        assert_eq!(best, first_per_row);
    }
}
