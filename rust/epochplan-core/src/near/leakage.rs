//! Train/eval leakage through the train index: an eval split is sketched into a probe (never
//! into the index), then joined with the train rows band by band.
//!
//! Under `Verify::Exact` a candidate pair is kept by the exact Jaccard of its shingle sets, as
//! within the train rows: the caller asks which rows' texts that needs
//! ([`NearIndex::leakage_exact_rows`]), reads them again and hands them back
//! ([`NearIndex::leakage_add_exact_texts`]) before [`NearIndex::leakage`].
//!
//! The join is batched rather than one lookup per eval document: per band, the eval split's
//! keys go into a hash table and the train keys of that band stream past it. The train side thus
//! needs no resident lookup structure (which would cost 12 bytes × bands per train row), is never
//! sorted, and spilled train keys are read sequentially. An eval split too large for the sort
//! budget is taken in key ranges, like the train side in `finish`.

use hashbrown::HashMap;
use rayon::prelude::*;

use crate::column::TextColumn;
use crate::error::{CoreError, Result};
use crate::hashing::IdentityBuildHasher;

use super::exact_sets::ExactSets;
use super::index::{NearIndex, sort_parts};
use super::lsh::LshPlan;
use super::minhash::{Sketcher, exact_jaccard, similarity};
use super::options::Verify;
use super::sketch_set::{SketchSet, entry_key, entry_member, sketch_batch};
use super::store::RecordBuf;

/// Eval members verified per parallel task.
const EVAL_ROWS_PER_TASK: usize = 256;

/// The sketches of one eval split, made with the settings of the index that created it.
#[derive(Debug)]
pub struct NearProbe {
    sketcher: Sketcher,
    plan: LshPlan,
    rows: u64,
    members: SketchSet,
    failed: bool,
    /// Under `Verify::Exact`, once [`NearIndex::leakage_exact_rows`] ran: the candidate pairs
    /// (see [`NearIndex::leakage`]) and the shingle sets of their eval and train members.
    exact: Option<ExactCandidates>,
}

#[derive(Debug)]
struct ExactCandidates {
    pairs: Vec<u64>,
    eval: ExactSets,
    train: ExactSets,
}

/// Which side of a leakage pair texts given back belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakSide {
    Eval,
    Train,
}

/// An eval row whose sketch estimate with a train row reaches the threshold. `train_row` is the
/// lowest row of its exact cluster: its exact duplicates match equally.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearMatch {
    pub eval_row: u64,
    pub train_row: u64,
    pub similarity: f64,
}

impl NearProbe {
    /// Adds the next batch of eval rows (numbered on from the previous batch); null rows match
    /// nothing.
    pub fn update(&mut self, texts: &dyn TextColumn) -> Result<()> {
        if self.failed {
            return Err(CoreError::Input("the leakage probe failed earlier; start a new one".into()));
        }
        let chunks = sketch_batch(&self.sketcher, &self.plan, texts, self.rows, &|_| true);
        self.failed = true;
        self.members.append(&chunks)?;
        self.rows += texts.len() as u64;
        self.failed = false;
        Ok(())
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }
}

impl NearIndex {
    /// An empty probe for one eval split. It holds up to a quarter of the memory budget before
    /// spilling.
    pub fn new_probe(&self) -> NearProbe {
        let budget = usize::try_from(self.options.memory_budget).unwrap_or(usize::MAX);
        NearProbe {
            sketcher: self.sketcher.clone(),
            plan: self.plan,
            rows: 0,
            members: SketchSet::new(self.sketcher.num_perm(), self.plan.bands, budget / 4, self.options.temp_dir()),
            failed: false,
            exact: None,
        }
    }

    /// Under `Verify::Exact`, after the probe's last batch: the eval rows and the train rows
    /// (each increasing) whose texts exact verification of the leakage needs. Give their raw
    /// texts back with [`NearIndex::leakage_add_exact_texts`], each side in this order.
    pub fn leakage_exact_rows(&self, probe: &mut NearProbe) -> Result<(Vec<u64>, Vec<u64>)> {
        if self.options.verify != Verify::Exact {
            return Err(CoreError::Input("leakage_exact_rows() needs verify = exact".into()));
        }
        let pairs = self.leakage_candidates(probe)?;
        let mut eval: Vec<u32> = pairs.iter().map(|&p| (p >> 32) as u32).collect();
        eval.dedup(); // pairs are sorted by eval member
        let mut train: Vec<u32> = pairs.iter().map(|&p| p as u32).collect();
        train.par_sort_unstable();
        train.dedup();
        let rows = (
            eval.iter().map(|&m| probe.members.row(m)).collect(),
            train.iter().map(|&m| self.members.row(m)).collect(),
        );
        let (mut eval_sets, mut train_sets) = (ExactSets::default(), ExactSets::default());
        eval_sets.request(eval);
        train_sets.request(train);
        probe.exact = Some(ExactCandidates { pairs, eval: eval_sets, train: train_sets });
        Ok(rows)
    }

    /// The raw texts of the next rows of `side` that [`NearIndex::leakage_exact_rows`] asked
    /// for: `rows` are their row numbers (checked against the request).
    pub fn leakage_add_exact_texts(
        &self,
        probe: &mut NearProbe,
        side: LeakSide,
        rows: &[u64],
        texts: &dyn TextColumn,
    ) -> Result<()> {
        let Some(exact) = probe.exact.as_mut() else {
            return Err(CoreError::Input("leakage texts given before leakage_exact_rows()".into()));
        };
        match side {
            LeakSide::Eval => exact.eval.add(&self.sketcher, &probe.members, rows, texts),
            LeakSide::Train => exact.train.add(&self.sketcher, &self.members, rows, texts),
        }
    }

    /// Train rows each eval row of `probe` near-matches: candidates from any shared band bucket,
    /// kept when their similarity reaches the threshold: the sketch estimate, or under
    /// `Verify::Exact` the exact Jaccard of their shingle sets (after
    /// [`NearIndex::leakage_exact_rows`] and the texts). Sorted by eval row, then similarity
    /// (highest first), then train row; at most `max_per_eval_row` per eval row when given.
    pub fn leakage(&self, probe: &NearProbe, max_per_eval_row: Option<usize>) -> Result<Vec<NearMatch>> {
        let computed;
        let (candidates, exact) = match (&probe.exact, self.options.verify) {
            (Some(exact), Verify::Exact) => {
                let missing = exact.eval.missing() + exact.train.missing();
                if missing > 0 {
                    return Err(CoreError::Input(format!(
                        "verify = exact: the texts of {missing} leakage candidate rows were not given back; read the input again"
                    )));
                }
                (&exact.pairs, Some(exact))
            }
            (None, Verify::Exact) => {
                return Err(CoreError::Input(
                    "verify = exact needs the leakage candidates' texts: call leakage_exact_rows() and leakage_add_exact_texts() first"
                        .into(),
                ));
            }
            _ => {
                computed = self.leakage_candidates(probe)?;
                (&computed, None)
            }
        };
        let (train, eval) = (&self.members, &probe.members);
        let groups = eval_groups(candidates);
        let threshold = self.options.threshold;
        let verified: Vec<Result<Vec<NearMatch>>> = groups
            .par_chunks(EVAL_ROWS_PER_TASK)
            .map(|chunk| {
                let (mut eval_buf, mut train_buf) = (RecordBuf::default(), RecordBuf::default());
                let mut matches = Vec::new();
                for &(start, end) in chunk {
                    let eval_member = (candidates[start] >> 32) as u32;
                    let eval_sketch = match exact {
                        Some(_) => &[][..],
                        None => eval.sketch(eval_member, &mut eval_buf)?,
                    };
                    let first = matches.len();
                    for &pair in &candidates[start..end] {
                        let train_member = pair as u32;
                        let estimate = match exact {
                            Some(sets) => exact_jaccard(sets.eval.set(eval_member)?, sets.train.set(train_member)?),
                            None => similarity(eval_sketch, train.sketch(train_member, &mut train_buf)?),
                        };
                        if estimate >= threshold {
                            matches.push(NearMatch {
                                eval_row: eval.row(eval_member),
                                train_row: train.row(train_member),
                                similarity: estimate,
                            });
                        }
                    }
                    let found = &mut matches[first..];
                    found.sort_unstable_by(|a, b| {
                        b.similarity.total_cmp(&a.similarity).then(a.train_row.cmp(&b.train_row))
                    });
                    if let Some(limit) = max_per_eval_row {
                        matches.truncate(first + limit.min(matches.len() - first));
                    }
                }
                Ok(matches)
            })
            .collect();
        let mut out = Vec::new();
        for part in verified {
            out.extend(part?);
        }
        Ok(out)
    }

    /// Candidate pairs of `probe` against the train rows, `(eval member << 32) | train member`
    /// sorted and distinct: an eval row and a train representative that share a band bucket.
    fn leakage_candidates(&self, probe: &NearProbe) -> Result<Vec<u64>> {
        if probe.sketcher != self.sketcher || probe.plan != self.plan {
            return Err(CoreError::Input("the probe was made by an index with other settings".into()));
        }
        let (train, eval) = (&self.members, &probe.members);
        let parts = sort_parts(eval.len(), self.sort_limit);
        // (eval member << 32) | train member, deduplicated after every band.
        let mut candidates: Vec<u64> = Vec::new();
        let mut eval_entries = Vec::new();
        for band in 0..self.plan.bands {
            for part in 0..parts {
                eval.band_entries(band, part, parts, &mut eval_entries)?;
                eval_entries.par_sort_unstable();
                let buckets = key_ranges(&eval_entries);
                if buckets.is_empty() {
                    continue;
                }
                train.scan_band_keys(band, |train_member, key| {
                    if let Some(&(start, end)) = buckets.get(&key)
                        && self.is_representative(train_member)
                    {
                        let eval_members = eval_entries[start as usize..end as usize].iter();
                        candidates.extend(eval_members.map(|&e| (entry_member(e) as u64) << 32 | train_member as u64));
                    }
                })?;
            }
            candidates.par_sort_unstable();
            candidates.dedup();
        }
        Ok(candidates)
    }
}

/// Band key → `[start, end)` of its run in sorted entries.
fn key_ranges(entries: &[u128]) -> HashMap<u64, (u32, u32), IdentityBuildHasher> {
    let mut ranges = HashMap::with_hasher(IdentityBuildHasher);
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || entry_key(entries[i]) != entry_key(entries[start]) {
            ranges.insert(entry_key(entries[start]), (start as u32, i as u32));
            start = i;
        }
    }
    ranges
}

/// `[start, end)` of the candidates of each eval member (candidates sorted).
fn eval_groups(candidates: &[u64]) -> Vec<(usize, usize)> {
    let mut groups = Vec::new();
    let mut start = 0;
    for i in 1..=candidates.len() {
        if i == candidates.len() || candidates[i] >> 32 != candidates[start] >> 32 {
            groups.push((start, i));
            start = i;
        }
    }
    groups
}
