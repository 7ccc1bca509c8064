//! Settings of near-duplicate detection, checked once before any work starts.

use std::path::PathBuf;

use crate::defaults;
use crate::error::{CoreError, Result};
use crate::normalize::Normalize;

use super::lsh::{LshPlan, check_threshold};
use super::minhash::Sketcher;
use super::shingle::Shingle;

#[derive(Debug, Clone, PartialEq)]
pub struct NearOptions {
    pub normalize: Normalize,
    pub shingle: Shingle,
    /// Words (or chars) per shingle.
    pub ngram: usize,
    /// Slots per sketch.
    pub num_perm: usize,
    /// Jaccard similarity at and above which two texts are near duplicates.
    pub threshold: f64,
    /// Bands × rows per band; `None` derives them from `threshold` (the usual choice).
    pub lsh: Option<LshPlan>,
    /// Bytes of sketches, band keys and sort buffers to hold in memory; beyond it they go to
    /// temporary files. Per-row bookkeeping (24 bytes a row) comes on top.
    pub memory_budget: u64,
    /// Where temporary files go; `None` is the system temp directory.
    pub temp_dir: Option<PathBuf>,
}

impl Default for NearOptions {
    fn default() -> Self {
        NearOptions {
            normalize: defaults::NORMALIZE,
            shingle: defaults::SHINGLE,
            ngram: defaults::NGRAM,
            num_perm: defaults::NUM_PERM,
            threshold: defaults::THRESHOLD,
            lsh: None,
            memory_budget: defaults::MEMORY_BUDGET,
            temp_dir: None,
        }
    }
}

impl NearOptions {
    /// The sketcher and the band plan these options describe, or why they are unusable.
    pub fn resolve(&self) -> Result<(Sketcher, LshPlan)> {
        check_threshold(self.threshold)?;
        let sketcher = Sketcher::new(self.normalize, self.shingle, self.ngram, self.num_perm)?;
        let plan = match self.lsh {
            Some(plan) => LshPlan::new(plan.bands, plan.rows_per_band, self.num_perm)?,
            None => LshPlan::optimal(self.threshold, self.num_perm)?,
        };
        if let Some(dir) = &self.temp_dir
            && !dir.is_dir()
        {
            return Err(CoreError::Input(format!(
                "temp directory {} does not exist or is not a directory",
                dir.display()
            )));
        }
        Ok((sketcher, plan))
    }

    pub(crate) fn temp_dir(&self) -> PathBuf {
        self.temp_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}
