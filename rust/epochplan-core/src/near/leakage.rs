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

use std::sync::Mutex;

use hashbrown::HashMap;
use rayon::prelude::*;

use crate::column::TextColumn;
use crate::error::{CoreError, Result};
use crate::hashing::IdentityBuildHasher;

use super::exact_sets::ExactSets;
use super::index::{NearIndex, key_runs, sort_parts};
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
        // Each eval member's matches among `candidates`, best first: `estimate` of each pair.
        let verify = |matches: &mut Vec<NearMatch>,
                      eval_member: u32,
                      candidates: &mut dyn Iterator<Item = u32>,
                      estimate: &mut dyn FnMut(u32) -> Result<f64>|
         -> Result<()> {
            let first = matches.len();
            for train_member in candidates {
                let similarity = estimate(train_member)?;
                if similarity >= threshold {
                    let (eval_row, train_row) = (eval.row(eval_member), train.row(train_member));
                    matches.push(NearMatch { eval_row, train_row, similarity });
                }
            }
            let found = &mut matches[first..];
            found.sort_unstable_by(|a, b| b.similarity.total_cmp(&a.similarity).then(a.train_row.cmp(&b.train_row)));
            if let Some(limit) = max_per_eval_row {
                matches.truncate(first + limit.min(matches.len() - first));
            }
            Ok(())
        };
        let verified: Vec<Result<Vec<NearMatch>>> = match (&probe.exact, self.options.verify) {
            (Some(exact), Verify::Exact) => {
                let missing = exact.eval.missing() + exact.train.missing();
                if missing > 0 {
                    return Err(CoreError::Input(format!(
                        "verify = exact: the texts of {missing} leakage candidate rows were not given back; read the input again"
                    )));
                }
                let pairs = &exact.pairs;
                eval_groups(pairs)
                    .par_chunks(EVAL_ROWS_PER_TASK)
                    .map(|chunk| {
                        let mut matches = Vec::new();
                        for &(start, end) in chunk {
                            let eval_member = (pairs[start] >> 32) as u32;
                            let eval_set = exact.eval.set(eval_member)?;
                            let mut members = pairs[start..end].iter().map(|&pair| pair as u32);
                            let mut estimate = |t: u32| Ok(exact_jaccard(eval_set, exact.train.set(t)?));
                            verify(&mut matches, eval_member, &mut members, &mut estimate)?;
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
                candidates.per_eval_member(train.len(), |gather, chunk| {
                    let (mut eval_buf, mut train_buf) = (RecordBuf::default(), RecordBuf::default());
                    let mut matches = Vec::new();
                    for &eval_member in chunk {
                        let found = gather.of(&candidates, eval_member);
                        if found.is_empty() {
                            continue;
                        }
                        let eval_sketch = eval.sketch(eval_member, &mut eval_buf)?;
                        let mut members = found.iter().copied();
                        let mut estimate = |t: u32| Ok(similarity(eval_sketch, train.sketch(t, &mut train_buf)?));
                        verify(&mut matches, eval_member, &mut members, &mut estimate)?;
                    }
                    Ok(matches)
                })
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
        let parts = candidates.per_eval_member(self.members.len(), |gather, chunk| {
            let mut pairs = Vec::new();
            for &eval_member in chunk {
                let found = gather.of(&candidates, eval_member);
                found.sort_unstable();
                pairs.extend(found.iter().map(|&t| (eval_member as u64) << 32 | t as u64));
            }
            pairs
        });
        Ok(parts.concat())
    }

    /// Which train representatives share a band bucket with each eval member: the train members
    /// of every bucket (band and key) that holds both eval and train members, and each eval
    /// member's such buckets. Never the pairs themselves: held are 4 bytes per train member of
    /// each such bucket (at most bands × train rows, when eval and train share a template), 8 per
    /// eval member in one, and 8 per eval row.
    fn leakage_candidates(&self, probe: &NearProbe) -> Result<Candidates> {
        if probe.sketcher != self.sketcher || probe.plan != self.plan {
            return Err(CoreError::Input("the probe was made by an index with other settings".into()));
        }
        let (train, eval) = (&self.members, &probe.members);
        let parts = sort_parts(eval.len(), self.sort_limit);
        let mut candidates =
            Candidates { starts: vec![0], train: Vec::new(), of_member: Vec::new(), member_starts: Vec::new() };
        // (eval member, bucket) of every eval member in a shared bucket.
        let mut in_bucket: Vec<(u32, u32)> = Vec::new();
        let (mut eval_entries, mut found) = (Vec::new(), Vec::new());
        for band in 0..self.plan.bands {
            for part in 0..parts {
                eval.band_entries(band, part, parts, &mut eval_entries)?;
                eval_entries.par_sort_unstable();
                // The runs of one key: their [start, end) in the entries, their index by key.
                let runs = key_runs(&eval_entries, 1);
                if runs.is_empty() {
                    continue;
                }
                let run_of: HashMap<u64, u32, IdentityBuildHasher> = runs
                    .iter()
                    .enumerate()
                    .map(|(i, &(start, _))| (entry_key(eval_entries[start as usize]), i as u32))
                    .collect();
                // (run, train member) in scan order: train members increase within a run.
                found.clear();
                train.scan_band_keys(band, |train_member, key| {
                    if let Some(&run) = run_of.get(&key)
                        && self.is_representative(train_member)
                    {
                        found.push((run, train_member));
                    }
                })?;
                candidates.add_buckets(&found, runs.len(), |run, bucket| {
                    let (start, end) = runs[run];
                    in_bucket
                        .extend(eval_entries[start as usize..end as usize].iter().map(|&e| (entry_member(e), bucket)));
                });
            }
        }
        in_bucket.par_sort_unstable();
        candidates.member_starts = vec![0; eval.len() + 1];
        for &(member, _) in &in_bucket {
            candidates.member_starts[member as usize + 1] += 1;
        }
        for i in 1..candidates.member_starts.len() {
            candidates.member_starts[i] += candidates.member_starts[i - 1];
        }
        candidates.of_member = in_bucket.into_iter().map(|(_, bucket)| bucket).collect();
        Ok(candidates)
    }
}

/// The shared buckets of an eval split and the train rows; see [`NearIndex::leakage_candidates`].
struct Candidates {
    /// `train[starts[b]..starts[b + 1]]`: the train members of bucket `b`, increasing.
    starts: Vec<usize>,
    train: Vec<u32>,
    /// `of_member[member_starts[m]..member_starts[m + 1]]`: the buckets of eval member `m`.
    of_member: Vec<u32>,
    member_starts: Vec<usize>,
}

impl Candidates {
    /// Adds a bucket for each of `runs` eval runs that `found` ((run, train member), train
    /// members increasing within a run) gives train members, calling `eval_members(run, bucket)`.
    fn add_buckets(&mut self, found: &[(u32, u32)], runs: usize, mut eval_members: impl FnMut(usize, u32)) {
        let mut counts = vec![0u32; runs];
        for &(run, _) in found {
            counts[run as usize] += 1;
        }
        // Each reached run's first place in `train` (a counting sort: stable, so increasing).
        let mut next = vec![usize::MAX; runs];
        for (run, &count) in counts.iter().enumerate() {
            if count > 0 {
                let bucket = (self.starts.len() - 1) as u32;
                next[run] = *self.starts.last().unwrap_or(&0);
                self.starts.push(next[run] + count as usize);
                eval_members(run, bucket);
            }
        }
        self.train.resize(*self.starts.last().unwrap_or(&0), 0);
        for &(run, member) in found {
            self.train[next[run as usize]] = member;
            next[run as usize] += 1;
        }
    }

    /// `task(gather, eval members)` over every eval member in chunks, in parallel and in order,
    /// each thread with one `Gather` for the train members.
    fn per_eval_member<R: Send>(&self, train_members: usize, task: impl Fn(&mut Gather, &[u32]) -> R + Sync) -> Vec<R> {
        let members: Vec<u32> = (0..(self.member_starts.len().max(1) - 1) as u32).collect();
        // One scratch a thread (rayon's `map_init` makes one per split job: hundreds).
        let scratch: Vec<Mutex<Option<Gather>>> = (0..rayon::current_num_threads()).map(|_| Mutex::new(None)).collect();
        members
            .par_chunks(EVAL_ROWS_PER_TASK)
            .map(|chunk| {
                let slot = &scratch[rayon::current_thread_index().unwrap_or(0) % scratch.len()];
                match slot.try_lock() {
                    Ok(mut held) => task(held.get_or_insert_with(|| Gather::new(train_members)), chunk),
                    // held by a task this thread left to steal work (none does today): a fresh one
                    Err(_) => task(&mut Gather::new(train_members), chunk),
                }
            })
            .collect()
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

    /// The distinct train members sharing a bucket with `eval_member`, unordered.
    fn of(&mut self, candidates: &Candidates, eval_member: u32) -> &mut [u32] {
        let stamp = eval_member + 1; // members are below u32::MAX (`SketchSet::append`)
        self.found.clear();
        let m = eval_member as usize;
        for &bucket in &candidates.of_member[candidates.member_starts[m]..candidates.member_starts[m + 1]] {
            let b = bucket as usize;
            for &train_member in &candidates.train[candidates.starts[b]..candidates.starts[b + 1]] {
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
