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
//!
//! The join keeps, per band, the train members of each eval bucket (not the pairs): each eval
//! row's distinct candidates are then gathered from its buckets and verified at once. On
//! templated data nearly every eval row shares buckets with nearly every train row, and the
//! pairs, held all at once and sorted band by band, cost 8 bytes each and most of the run; the
//! buckets cost at most 4 bytes × bands per train row.

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
        let pairs = self.leakage_pairs(probe)?;
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
        let (train, eval) = (&self.members, &probe.members);
        let threshold = self.options.threshold;
        let keep = |matches: &mut Vec<NearMatch>, first: usize| {
            let found = &mut matches[first..];
            found.sort_unstable_by(|a, b| b.similarity.total_cmp(&a.similarity).then(a.train_row.cmp(&b.train_row)));
            if let Some(limit) = max_per_eval_row {
                matches.truncate(first + limit.min(matches.len() - first));
            }
        };
        let verified: Vec<Result<Vec<NearMatch>>> = match (&probe.exact, self.options.verify) {
            (Some(exact), Verify::Exact) => {
                let missing = exact.eval.missing() + exact.train.missing();
                if missing > 0 {
                    return Err(CoreError::Input(format!(
                        "verify = exact: the texts of {missing} leakage candidate rows were not given back; read the input again"
                    )));
                }
                let candidates = &exact.pairs;
                eval_groups(candidates)
                    .par_chunks(EVAL_ROWS_PER_TASK)
                    .map(|chunk| {
                        let mut matches = Vec::new();
                        for &(start, end) in chunk {
                            let eval_member = (candidates[start] >> 32) as u32;
                            let eval_set = exact.eval.set(eval_member)?;
                            let first = matches.len();
                            for &pair in &candidates[start..end] {
                                let estimate = exact_jaccard(eval_set, exact.train.set(pair as u32)?);
                                if estimate >= threshold {
                                    let (eval_row, train_row) = (eval.row(eval_member), train.row(pair as u32));
                                    matches.push(NearMatch { eval_row, train_row, similarity: estimate });
                                }
                            }
                            keep(&mut matches, first);
                        }
                        Ok(matches)
                    })
                    .collect()
            }
            (None, Verify::Exact) => {
                return Err(CoreError::Input(
                    "verify = exact needs the leakage candidates' texts: call leakage_exact_rows() and leakage_add_exact_texts() first"
                        .into(),
                ));
            }
            _ => {
                // Each eval row's candidates are verified as they are gathered: the pairs are never
                // all held (on templated data they grow as train rows × eval rows).
                let candidates = self.leakage_candidates(probe)?;
                let members: Vec<u32> = (0..eval.len() as u32).collect();
                members
                    .par_chunks(EVAL_ROWS_PER_TASK)
                    .map_init(
                        || Gather::new(train.len()),
                        |gather, chunk| {
                            let (mut eval_buf, mut train_buf) = (RecordBuf::default(), RecordBuf::default());
                            let mut matches = Vec::new();
                            for &eval_member in chunk {
                                let found = gather.of(&candidates, eval_member);
                                if found.is_empty() {
                                    continue;
                                }
                                let eval_sketch = eval.sketch(eval_member, &mut eval_buf)?;
                                let first = matches.len();
                                for &train_member in found.iter() {
                                    let estimate = similarity(eval_sketch, train.sketch(train_member, &mut train_buf)?);
                                    if estimate >= threshold {
                                        let (eval_row, train_row) = (eval.row(eval_member), train.row(train_member));
                                        matches.push(NearMatch { eval_row, train_row, similarity: estimate });
                                    }
                                }
                                keep(&mut matches, first);
                            }
                            Ok(matches)
                        },
                    )
                    .collect()
            }
        };
        let mut out = Vec::new();
        for part in verified {
            out.extend(part?);
        }
        Ok(out)
    }

    /// Candidate pairs of `probe` against the train rows, `(eval member << 32) | train member`,
    /// sorted and distinct: an eval row and a train representative that share a band bucket.
    fn leakage_pairs(&self, probe: &NearProbe) -> Result<Vec<u64>> {
        let candidates = self.leakage_candidates(probe)?;
        let members: Vec<u32> = (0..probe.members.len() as u32).collect();
        let parts: Vec<Vec<u64>> = members
            .par_chunks(EVAL_ROWS_PER_TASK)
            .map_init(
                || Gather::new(self.members.len()),
                |gather, chunk| {
                    let mut pairs = Vec::new();
                    for &eval_member in chunk {
                        let found = gather.of(&candidates, eval_member);
                        found.sort_unstable();
                        pairs.extend(found.iter().map(|&t| (eval_member as u64) << 32 | t as u64));
                    }
                    pairs
                },
            )
            .collect();
        Ok(parts.concat())
    }

    /// Which train representatives share a band bucket with each eval member: per band, the
    /// train members of every eval bucket key, and each eval member's bucket. Never the pairs
    /// themselves: held are 4 bytes per eval member and band, and 4 per train representative
    /// and band whose key an eval row has (at most 4 bytes × bands per train row, when eval and
    /// train share a template).
    fn leakage_candidates(&self, probe: &NearProbe) -> Result<BandCandidates> {
        if probe.sketcher != self.sketcher || probe.plan != self.plan {
            return Err(CoreError::Input("the probe was made by an index with other settings".into()));
        }
        let (train, eval) = (&self.members, &probe.members);
        let bands = self.plan.bands;
        let parts = sort_parts(eval.len(), self.sort_limit);
        let mut buckets_of = vec![NO_BUCKET; eval.len() * bands];
        let mut tables = Vec::with_capacity(bands);
        let mut eval_entries = Vec::new();
        for band in 0..bands {
            // (bucket, train member) in scan order: train members increase within a bucket.
            let mut found: Vec<(u32, u32)> = Vec::new();
            let mut buckets = 0u32;
            for part in 0..parts {
                eval.band_entries(band, part, parts, &mut eval_entries)?;
                eval_entries.par_sort_unstable();
                let mut ids = HashMap::with_hasher(IdentityBuildHasher);
                let mut start = 0;
                for i in 1..=eval_entries.len() {
                    if i == eval_entries.len() || entry_key(eval_entries[i]) != entry_key(eval_entries[start]) {
                        for &entry in &eval_entries[start..i] {
                            buckets_of[entry_member(entry) as usize * bands + band] = buckets;
                        }
                        ids.insert(entry_key(eval_entries[start]), buckets);
                        buckets += 1;
                        start = i;
                    }
                }
                if ids.is_empty() {
                    continue;
                }
                train.scan_band_keys(band, |train_member, key| {
                    if let Some(&bucket) = ids.get(&key)
                        && self.is_representative(train_member)
                    {
                        found.push((bucket, train_member));
                    }
                })?;
            }
            tables.push(BucketTable::new(buckets as usize, &found));
        }
        Ok(BandCandidates { bands, buckets_of, tables })
    }
}

const NO_BUCKET: u32 = u32::MAX;

/// Per band, the train members of each eval bucket; see [`NearIndex::leakage_candidates`].
struct BandCandidates {
    bands: usize,
    /// `buckets_of[eval member × bands + band]`: the member's bucket in that band's table.
    buckets_of: Vec<u32>,
    tables: Vec<BucketTable>,
}

/// Train members by bucket, each bucket's increasing (a counting sort of the scan's pairs).
struct BucketTable {
    starts: Vec<usize>,
    members: Vec<u32>,
}

impl BucketTable {
    fn new(buckets: usize, found: &[(u32, u32)]) -> Self {
        let mut starts = vec![0usize; buckets + 1];
        for &(bucket, _) in found {
            starts[bucket as usize + 1] += 1;
        }
        for i in 1..starts.len() {
            starts[i] += starts[i - 1];
        }
        let mut next = starts.clone();
        let mut members = vec![0u32; found.len()];
        for &(bucket, member) in found {
            members[next[bucket as usize]] = member;
            next[bucket as usize] += 1;
        }
        BucketTable { starts, members }
    }

    fn bucket(&self, bucket: u32) -> &[u32] {
        &self.members[self.starts[bucket as usize]..self.starts[bucket as usize + 1]]
    }
}

/// One thread's scratch for gathering an eval member's distinct candidates: the last eval
/// member each train member was gathered for (a stamp, so nothing is cleared between members).
struct Gather {
    stamps: Vec<u32>,
    found: Vec<u32>,
}

impl Gather {
    fn new(train_members: usize) -> Self {
        Gather { stamps: vec![0; train_members], found: Vec::new() }
    }

    /// The distinct train members sharing a bucket with `eval_member` in any band, unordered.
    fn of(&mut self, candidates: &BandCandidates, eval_member: u32) -> &mut [u32] {
        let stamp = eval_member + 1; // members are below u32::MAX (`SketchSet::append`)
        self.found.clear();
        let bands = candidates.bands;
        let of_member = &candidates.buckets_of[eval_member as usize * bands..(eval_member as usize + 1) * bands];
        for (table, &bucket) in candidates.tables.iter().zip(of_member) {
            if bucket == NO_BUCKET {
                continue;
            }
            for &train_member in table.bucket(bucket) {
                let seen = &mut self.stamps[train_member as usize];
                if *seen != stamp {
                    *seen = stamp;
                    self.found.push(train_member);
                }
            }
        }
        &mut self.found
    }
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
