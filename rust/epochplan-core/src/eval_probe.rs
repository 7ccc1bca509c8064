//! Train/eval leakage: an eval split is streamed through the train audit's indexes without
//! being added to them. Exact matches come from the digest table; near matches from the near
//! index's probe join (see `near::leakage`).

use crate::audit::{Auditor, digest_batch};
use crate::column::TextColumn;
use crate::error::{CoreError, Result};
use crate::near::{NearMatch, NearProbe};

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
    near: Option<NearProbe>,
}

impl EvalProbe {
    pub fn rows(&self) -> u64 {
        self.rows
    }

    pub fn exact_matches(&self) -> &[ExactMatch] {
        &self.exact
    }
}

impl Auditor {
    pub fn new_eval_probe(&self) -> EvalProbe {
        EvalProbe { rows: 0, exact: Vec::new(), near: self.near_index().map(|n| n.new_probe()) }
    }

    /// Add the next batch of an eval split (rows numbered from 0 within the split).
    pub fn probe_update(&self, probe: &mut EvalProbe, texts: &dyn TextColumn) -> Result<()> {
        let digests = digest_batch(texts, self.options().normalize);
        for (i, digest) in digests.into_iter().enumerate() {
            if let Some(train_row) = digest.and_then(|d| self.exact_index().lookup(d)) {
                probe.exact.push(ExactMatch { eval_row: probe.rows + i as u64, train_row });
            }
        }
        if let Some(near) = probe.near.as_mut() {
            near.update(texts)?;
        }
        probe.rows += texts.len() as u64;
        Ok(())
    }

    /// Near matches of the probe's rows (up to `max_per_eval_row` each, best first); empty when
    /// near detection is off.
    pub fn probe_near_matches(&self, probe: &EvalProbe, max_per_eval_row: Option<usize>) -> Result<Vec<NearMatch>> {
        match (self.near_index(), probe.near.as_ref()) {
            (Some(index), Some(near)) => index.leakage(near, max_per_eval_row),
            (None, None) => Ok(Vec::new()),
            _ => Err(CoreError::Internal("eval probe and audit disagree on near detection".into())),
        }
    }
}
