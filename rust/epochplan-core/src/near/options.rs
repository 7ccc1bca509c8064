//! Settings of near-duplicate detection, checked once before any work starts.

use std::path::PathBuf;
use std::str::FromStr;

use crate::error::{CoreError, Result};
use crate::normalize::Normalize;

use super::lsh::{LshPlan, check_threshold};
use super::minhash::Sketcher;
use super::shingle::Shingle;

pub const DEFAULT_NGRAM: usize = 5;
/// Characters per char shingle. On the CJK corpora of benchmarks/corpus.py (near copies with
/// 2 % of characters changed among unrelated documents, threshold 0.7) n = 2, 3 and 4 all reach
/// pair F1 1.000 and 5+ lose recall; on short documents with 5 % changed, 2 keeps F1 ≥ 0.994,
/// 3 0.94, 4 0.51. 3 rather than 2: on real short utterances (chatterbot Chinese) bigrams
/// merge different sentences that share a frame ("耻辱/担心是一种常见的人类情绪", 0.71)
/// which 3-grams keep apart (benchmarks/RESULTS.md, "Char n-gram size").
pub const DEFAULT_CHAR_NGRAM: usize = 3;
pub const DEFAULT_NUM_PERM: usize = 128;
pub const DEFAULT_THRESHOLD: f64 = 0.7;
pub const DEFAULT_MEMORY_BUDGET: u64 = 1 << 30;

/// How verified links become clusters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Clustering {
    /// Every member is verified similar to its cluster's representative: rows in order, each
    /// joins the cluster of the lowest representative it shares a band bucket with and is
    /// verified similar to, else represents a new cluster. No chaining.
    #[default]
    Representative,
    /// Connected components of verified links: A~B and B~C put A and C together however far
    /// apart they are (the behaviour before `Representative`).
    Components,
}

impl Clustering {
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
        match s {
            "representative" => Ok(Clustering::Representative),
            "components" => Ok(Clustering::Components),
            other => {
                Err(CoreError::Input(format!("unknown clustering {other:?}: use \"representative\" or \"components\"")))
            }
        }
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
            normalize: Normalize::Default,
            shingle: Shingle::Auto,
            ngram: DEFAULT_NGRAM,
            char_ngram: DEFAULT_CHAR_NGRAM,
            clustering: Clustering::Representative,
            num_perm: DEFAULT_NUM_PERM,
            threshold: DEFAULT_THRESHOLD,
            lsh: None,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            temp_dir: None,
        }
    }
}

/// The char n-gram size when none is given: `ngram` for explicit char shingles (what `ngram`
/// meant for them before `char_ngram` existed), else [`DEFAULT_CHAR_NGRAM`].
pub fn default_char_ngram(shingle: Shingle, ngram: usize) -> usize {
    if shingle == Shingle::Char { ngram } else { DEFAULT_CHAR_NGRAM }
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

    pub(crate) fn temp_dir(&self) -> PathBuf {
        self.temp_dir.clone().unwrap_or_else(std::env::temp_dir)
    }
}
