//! Settings of near-duplicate detection, checked once before any work starts.

use std::path::PathBuf;
use std::str::FromStr;

use crate::defaults;
use crate::error::{CoreError, Result};
use crate::normalize::Normalize;

use super::lsh::{LshPlan, check_threshold};
use super::minhash::Sketcher;
use super::shingle::Shingle;

/// How verified links become clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Clustering {
    /// Every member is verified similar to its cluster's representative: rows in order, each
    /// joins the cluster of the lowest representative it shares a band bucket with and is
    /// verified similar to, else represents a new cluster. No chaining.
    Representative,
    /// Connected components of verified links: A~B and B~C put A and C together however far
    /// apart they are (the behaviour before `Representative`).
    Components,
}

impl Default for Clustering {
    fn default() -> Self {
        defaults::CLUSTERING
    }
}

impl Clustering {
    pub const CHOICES: [Clustering; 2] = [Clustering::Representative, Clustering::Components];

    pub fn as_str(self) -> &'static str {
        match self {
            Clustering::Representative => "representative",
            Clustering::Components => "components",
        }
    }
}

impl FromStr for Clustering {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        Clustering::CHOICES.into_iter().find(|c| c.as_str() == s).ok_or_else(|| {
            let choices = defaults::one_of(Clustering::CHOICES.map(Clustering::as_str));
            CoreError::Input(format!("unknown clustering {s:?}: use {choices}"))
        })
    }
}

/// What decides whether a candidate pair (two rows sharing a band bucket) is similar enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verify {
    /// The sketch estimate of the Jaccard similarity (standard error about 0.04 at 128 slots).
    Sketch,
    /// The exact Jaccard similarity of the two shingle sets. The texts of the candidate rows are
    /// read a second time ([`super::NearIndex::exact_rows`], [`super::NearIndex::add_exact_texts`]).
    Exact,
}

impl Default for Verify {
    fn default() -> Self {
        defaults::VERIFY
    }
}

impl Verify {
    pub const CHOICES: [Verify; 2] = [Verify::Sketch, Verify::Exact];

    pub fn as_str(self) -> &'static str {
        match self {
            Verify::Sketch => "sketch",
            Verify::Exact => "exact",
        }
    }
}

impl FromStr for Verify {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self> {
        Verify::CHOICES.into_iter().find(|v| v.as_str() == s).ok_or_else(|| {
            let choices = defaults::one_of(Verify::CHOICES.map(Verify::as_str));
            CoreError::Input(format!("unknown verification {s:?}: use {choices}"))
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NearOptions {
    pub normalize: Normalize,
    pub shingle: Shingle,
    /// Words per word shingle.
    pub ngram: usize,
    /// Characters per char shingle (`Shingle::Char`, and unspaced documents under `Auto`).
    pub char_ngram: usize,
    pub clustering: Clustering,
    pub verify: Verify,
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
            char_ngram: defaults::CHAR_NGRAM,
            clustering: defaults::CLUSTERING,
            verify: defaults::VERIFY,
            num_perm: defaults::NUM_PERM,
            threshold: defaults::THRESHOLD,
            lsh: None,
            memory_budget: defaults::MEMORY_BUDGET,
            temp_dir: None,
        }
    }
}

/// The char n-gram size when none is given: `ngram` for explicit char shingles (what `ngram`
/// meant for them before `char_ngram` existed), else [`defaults::CHAR_NGRAM`].
pub fn default_char_ngram(shingle: Shingle, ngram: usize) -> usize {
    if shingle == Shingle::Char { ngram } else { defaults::CHAR_NGRAM }
}

impl NearOptions {
    /// The sketcher and the band plan these options describe, or why they are unusable.
    pub fn resolve(&self) -> Result<(Sketcher, LshPlan)> {
        check_threshold(self.threshold)?;
        let sketcher =
            Sketcher::new(self.normalize, self.shingle, self.ngram, self.num_perm)?.with_char_ngram(self.char_ngram)?;
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

    /// Where spilled files go: the given folder, else the system temp directory.
    pub fn temp_dir(&self) -> PathBuf {
        self.temp_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}
