//! The train-side near-duplicate index: rows stream in batch by batch; `finish` bands, links,
//! verifies and unions them into near clusters.

use rayon::prelude::*;

use crate::cluster_ids::NO_CLUSTER;
use crate::column::TextColumn;
use crate::error::{CoreError, Result};

use super::buckets::SharedBuckets;
use super::exact_sets::ExactSets;
use super::lsh::LshPlan;
use super::minhash::{Sketcher, similarity};
use super::options::{Clustering, NearOptions, Verify};
use super::shingle::Shingle;
use super::sketch_set::{SketchSet, SketchedChunk, entry_key, entry_member, key_part, sketch_batch};
use super::store::RecordBuf;
use super::union_find::UnionFind;

/// One band entry in a sort buffer: 64-bit key + member number, packed in a u128.
const ENTRY_BYTES: usize = 16;
/// The sort buffer never shrinks below this, whatever the budget: fewer, longer scans.
const MIN_SORT_BYTES: usize = 64 << 20;
/// `(key, members)` of the buckets of one band's key range.
type KeyedBuckets<'a> = Vec<(u64, &'a [u32])>;
/// Buckets verified per parallel task.
const BUCKETS_PER_TASK: usize = 512;

/// Near-duplicate clustering of one train split, fed batch by batch (see the module docs).
#[derive(Debug)]
pub struct NearIndex {
    pub(super) options: NearOptions,
    pub(super) sketcher: Sketcher,
    pub(super) plan: LshPlan,
    rows: u64,
    /// Exact representative of every row (`NO_CLUSTER` for null text): the forest near links
    /// are added to, so a near cluster always contains its exact duplicates.
    exact_reps: Vec<u64>,
    /// Only exact representatives are sketched: their duplicates would land in the same buckets
    /// and cost verifications that cannot change a cluster.
    pub(super) members: SketchSet,
    pub(super) sort_limit: usize,
    /// Shingle sets of the candidate rows under `Verify::Exact` (empty otherwise).
    exact: ExactSets,
    /// Set when an update failed half-way; the index then refuses further work.
    failed: bool,
    /// Set by `remap_exact`: some members turned out not to be exact representatives.
    remapped: bool,
}

/// A verified link that joined two clusters (`row < other`). Together the links form a spanning
/// forest of the near clusters over exact representatives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearLink {
    pub row: u64,
    pub other: u64,
    /// Their Jaccard similarity as verified: sketch estimate or exact (at least the threshold).
    pub similarity: f64,
}

#[derive(Debug, Clone)]
pub struct NearClusters {
    /// Per row: the representative (lowest row) of its near cluster; `NO_CLUSTER` for null text.
    pub near_ids: Vec<u64>,
    /// Per row: its Jaccard similarity to its near representative (the sketch estimate, or exact
    /// under `Verify::Exact`) — 1.0 for the representative and its exact copies, NaN for null text.
    pub similarity: Vec<f32>,
    /// Sorted by `(row, other)`. Representative clustering: each member's link to its
    /// representative; components: the links that joined two clusters.
    pub links: Vec<NearLink>,
    pub plan: LshPlan,
    /// Candidate pairs whose sketches were compared.
    pub checked_pairs: u64,
    pub clustering: Clustering,
    /// Rows that stopped after `representative::MAX_CHECKS` failed verifications (always 0 for
    /// components).
    pub capped_rows: u64,
}

impl PartialEq for NearClusters {
    fn eq(&self, other: &Self) -> bool {
        // Bitwise for the similarities: NaN (null text) equals NaN.
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        self.near_ids == other.near_ids
            && bits(&self.similarity) == bits(&other.similarity)
            && self.links == other.links
            && self.plan == other.plan
            && self.checked_pairs == other.checked_pairs
            && self.clustering == other.clustering
            && self.capped_rows == other.capped_rows
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearTop {
    pub row: u64,
    pub count: u64,
}

/// Same meanings as the exact summary: `unique` counts clusters including singletons,
/// `clusters` only those of two rows or more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NearSummary {
    pub unique: u64,
    pub duplicate_rows: u64,
    pub clusters: u64,
    pub largest_cluster: u64,
    /// Largest clusters first, ties by lowest row.
    pub top: Vec<NearTop>,
}

impl NearIndex {
    pub fn new(options: NearOptions) -> Result<Self> {
        let (sketcher, plan) = options.resolve()?;
        let budget = usize::try_from(options.memory_budget).unwrap_or(usize::MAX);
        let members = SketchSet::new(sketcher.num_perm(), plan.bands, budget / 2, options.temp_dir());
        Ok(NearIndex {
            sort_limit: (budget / 4).max(MIN_SORT_BYTES),
            options,
            sketcher,
            plan,
            rows: 0,
            exact_reps: Vec::new(),
            members,
            exact: ExactSets::default(),
            failed: false,
            remapped: false,
        })
    }

    pub fn options(&self) -> &NearOptions {
        &self.options
    }

    pub fn plan(&self) -> LshPlan {
        self.plan
    }

    pub fn sketcher(&self) -> &Sketcher {
        &self.sketcher
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Rows that were sketched (non-null exact representatives).
    pub fn sketched_rows(&self) -> usize {
        self.members.len()
    }

    /// Whether sketches went to temporary files because they outgrew half the memory budget.
    pub fn is_spilled(&self) -> bool {
        self.members.is_spilled()
    }

    /// Adds the next batch of rows (numbered on from the previous batch). `exact_ids[i]` is the
    /// exact-cluster representative of row i of the batch (as `Auditor::row_ids` gives them:
    /// `NO_CLUSTER` for null text); `None` treats every non-null row as its own representative.
    pub fn update(&mut self, texts: &dyn TextColumn, exact_ids: Option<&[u64]>) -> Result<()> {
        self.check_usable()?;
        let n = texts.len();
        let first_row = self.rows;
        let batch_ids: Vec<u64> = match exact_ids {
            Some(ids) => {
                if ids.len() != n {
                    return Err(CoreError::Input(format!("{} exact cluster ids for a batch of {n} rows", ids.len())));
                }
                self.check_exact_ids(ids, &|i| texts.get(i).is_none())?;
                ids.to_vec()
            }
            None => (0..n).map(|i| if texts.get(i).is_some() { first_row + i as u64 } else { NO_CLUSTER }).collect(),
        };
        let is_representative = |i: usize| batch_ids[i] == first_row + i as u64;
        let chunks = sketch_batch(&self.sketcher, &self.plan, texts, first_row, &is_representative);
        self.add_batch(&chunks, &batch_ids)
    }

    /// Whether [`NearIndex::update_sketched`] can take this index's sketches: word (or auto)
    /// shingles, which can be built from word hashes computed elsewhere.
    pub fn takes_word_hashes(&self) -> bool {
        self.sketcher.shingle() != Shingle::Char
    }

    /// Like [`NearIndex::update`] for a batch the caller has already sketched, in row order
    /// (see [`SketchedChunk::push_word_hashes`]): the audit builds sketches from the word hashes
    /// of its statistics pass, so no word is hashed twice. The chunks may hold every non-null
    /// row; only exact representatives are kept. `exact_ids` as in `update`.
    pub(crate) fn update_sketched(&mut self, mut chunks: Vec<SketchedChunk>, exact_ids: &[u64]) -> Result<()> {
        self.check_usable()?;
        self.check_exact_ids(exact_ids, &|i| exact_ids[i] == NO_CLUSTER)?;
        let first_row = self.rows;
        let is_representative = |row: u64| exact_ids[(row - first_row) as usize] == row;
        chunks.par_iter_mut().for_each(|chunk| chunk.retain_rows(is_representative));
        self.add_batch(&chunks, exact_ids)
    }

    fn add_batch(&mut self, chunks: &[SketchedChunk], batch_ids: &[u64]) -> Result<()> {
        self.failed = true;
        self.members.append(chunks)?;
        // Exactly what is needed: doubling would leave up to 8 unused bytes a row at 10M rows.
        // Large vectors grow in place (mremap), so this costs no copying.
        self.exact_reps.reserve_exact(batch_ids.len());
        self.exact_reps.extend_from_slice(batch_ids);
        self.rows += batch_ids.len() as u64;
        // New rows change the candidates: exact texts given so far no longer fit.
        self.exact = ExactSets::default();
        self.failed = false;
        Ok(())
    }

    /// Corrects exact representatives after the exact table was merged from spilled runs
    /// (`ExactIndex::finish`): rows sketched as representatives whose representative turned out
    /// to be an earlier row. They stay stored but drop out of buckets and leakage candidates, so
    /// clusters and links are what they would have been without spilling.
    pub(crate) fn remap_exact(&mut self, remap: &hashbrown::HashMap<u64, u64>) {
        crate::audit::remap_ids(&mut self.exact_reps, remap);
        self.remapped = true;
    }

    /// Drops band entries of members that turned out not to be exact representatives (see
    /// [`NearIndex::remap_exact`]), so that buckets are those of an unspilled exact table.
    pub(super) fn retain_representatives(&self, entries: &mut Vec<u128>) {
        if self.remapped {
            entries.retain(|&entry| self.is_representative(entry_member(entry)));
        }
    }

    /// Whether `member` is (still) the exact representative of its row.
    #[inline]
    pub(super) fn is_representative(&self, member: u32) -> bool {
        let row = self.members.row(member);
        !self.remapped || self.exact_reps[row as usize] == row
    }

    fn check_usable(&self) -> Result<()> {
        if self.failed {
            return Err(CoreError::Input("the near-duplicate index failed earlier; start a new one".into()));
        }
        Ok(())
    }

    /// `is_null(i)`: whether row i of the batch has null text.
    fn check_exact_ids(&self, ids: &[u64], is_null: &dyn Fn(usize) -> bool) -> Result<()> {
        let first_row = self.rows;
        for (i, &id) in ids.iter().enumerate() {
            let row = first_row + i as u64;
            let valid = if is_null(i) {
                id == NO_CLUSTER
            } else if id == row {
                true
            } else if id < first_row {
                self.exact_reps[id as usize] == id
            } else if id < row {
                ids[(id - first_row) as usize] == id
            } else {
                false
            };
            if !valid {
                return Err(CoreError::Input(format!(
                    "exact cluster id {id} of row {row} is invalid: it must be NO_CLUSTER for null \
                     text, else the lowest row of the row's exact cluster"
                )));
            }
        }
        Ok(())
    }

    /// Rows `first_row..` (the last batch): which were sketched (non-null exact representatives),
    /// and the member number of the first of them.
    pub fn batch_members(&self, first_row: u64) -> Result<(u32, Vec<bool>)> {
        let tail = self
            .exact_reps
            .get(first_row as usize..)
            .ok_or_else(|| CoreError::Input(format!("row {first_row} is past the rows so far")))?;
        let keep: Vec<bool> = tail.iter().enumerate().map(|(i, &e)| e == first_row + i as u64).collect();
        let first = self.members.len() - keep.iter().filter(|&&k| k).count();
        Ok((first as u32, keep))
    }

    /// Exact representative of every row so far (`NO_CLUSTER` for null text).
    pub(super) fn exact_reps(&self) -> &[u64] {
        &self.exact_reps
    }

    /// Under `Verify::Exact`, after the last batch: the rows whose texts exact verification
    /// needs (sketched rows that share a band bucket with another), increasing. Their texts go
    /// back through [`NearIndex::add_exact_texts`] in this order before [`NearIndex::finish`].
    pub fn exact_rows(&mut self) -> Result<Vec<u64>> {
        self.check_usable()?;
        if self.options.verify != Verify::Exact {
            return Err(CoreError::Input("exact_rows() needs verify = exact".into()));
        }
        let candidates = candidate_members(self)?;
        let rows = candidates.iter().map(|&m| self.members.row(m)).collect();
        self.exact.request(candidates);
        Ok(rows)
    }

    /// The texts of the next rows [`NearIndex::exact_rows`] asked for: `rows` are their row
    /// numbers (checked against the request), `texts` their raw texts.
    pub fn add_exact_texts(&mut self, rows: &[u64], texts: &dyn TextColumn) -> Result<()> {
        self.check_usable()?;
        self.exact.add(&self.sketcher, &self.members, rows, texts)
    }

    /// The shingle sets to verify with, or `None` to verify by sketches.
    pub(super) fn exact_sets(&self) -> Result<Option<&ExactSets>> {
        if self.options.verify == Verify::Sketch {
            return Ok(None);
        }
        if !self.exact.is_requested() {
            return Err(CoreError::Input(
                "verify = exact needs the candidate rows' texts: call exact_rows() and add_exact_texts() before finish()"
                    .into(),
            ));
        }
        match self.exact.missing() {
            0 => Ok(Some(&self.exact)),
            missing => Err(CoreError::Input(format!(
                "verify = exact: the texts of {missing} candidate rows were not given back; read the input again"
            ))),
        }
    }

    /// Near clusters of all rows so far, clustered as the options say. The index stays usable:
    /// more batches, leakage queries and another `finish` may follow.
    pub fn finish(&self) -> Result<NearClusters> {
        self.check_usable()?;
        match self.options.clustering {
            Clustering::Representative => {
                self.exact_sets()?;
                super::representative::cluster(self, super::representative::memberships(self)?)
            }
            Clustering::Components => self.finish_components(|band, part, parts, entries| {
                self.members.band_entries(band, part, parts, entries)?;
                self.retain_representatives(entries);
                entries.par_sort_unstable();
                Ok(shared_buckets(entries))
            }),
        }
    }

    /// [`NearIndex::finish`] with the shared band buckets computed elsewhere (see
    /// [`super::buckets`]): the same clusters, links and counts.
    pub fn finish_with_buckets(&self, buckets: &[SharedBuckets]) -> Result<NearClusters> {
        self.check_usable()?;
        super::buckets::check(buckets, self.members.len(), self.plan.bands)?;
        match self.options.clustering {
            Clustering::Representative => {
                self.exact_sets()?;
                super::representative::cluster(self, super::representative::memberships_from(self, buckets)?)
            }
            Clustering::Components => {
                // Visited as `finish` visits them: by band, key range of the sort buffer, key.
                let parts = sort_parts(self.members.len(), self.sort_limit);
                let mut groups: std::collections::BTreeMap<(usize, usize), KeyedBuckets<'_>> = Default::default();
                for (band, key, list) in buckets.iter().flat_map(SharedBuckets::iter) {
                    groups.entry((band as usize, key_part(key, parts))).or_default().push((key, list));
                }
                // Members found to be exact duplicates when the spilled exact table merged are
                // left out, as `finish` leaves them out before sorting.
                let representative = |m: &&u32| self.is_representative(**m);
                self.finish_components(|band, part, _, entries| {
                    entries.clear();
                    let mut ranges = Vec::new();
                    let mut group = groups.get_mut(&(band, part)).map(std::mem::take).unwrap_or_default();
                    group.sort_unstable_by_key(|&(key, _)| key);
                    for (key, list) in group {
                        let start = entries.len() as u32;
                        entries.extend(list.iter().filter(representative).map(|&m| ((key as u128) << 64) | m as u128));
                        if entries.len() as u32 - start >= 2 {
                            ranges.push((start, entries.len() as u32));
                        } else {
                            entries.truncate(start as usize);
                        }
                    }
                    Ok(ranges)
                })
            }
        }
    }

    /// Connected components of verified links, seeded with the exact clusters. `buckets(band,
    /// part, parts, entries)` fills `entries` with the (key, member) entries of one band's key
    /// range and returns its shared buckets.
    fn finish_components(
        &self,
        mut buckets_of: impl FnMut(usize, usize, usize, &mut Vec<u128>) -> Result<Vec<(u32, u32)>>,
    ) -> Result<NearClusters> {
        let mut forest = UnionFind::from_parents(self.exact_reps.clone())?;
        let members = &self.members;
        let threshold = self.options.threshold;
        let exact = self.exact_sets()?;
        let parts = sort_parts(members.len(), self.sort_limit);
        let mut entries = Vec::new();
        let mut links = Vec::new();
        let mut checked_pairs = 0;
        for band in 0..self.plan.bands {
            for part in 0..parts {
                let buckets = buckets_of(band, part, parts, &mut entries)?;
                // Verification reads the forest as it was before this band; the unions are
                // then applied in bucket order, so the result does not depend on threads.
                let found: Vec<Result<(Vec<NearLink>, u64)>> = buckets
                    .par_chunks(BUCKETS_PER_TASK)
                    .map(|group| link_buckets(group, &entries, members, exact, &forest, threshold))
                    .collect();
                for result in found {
                    let (candidates, checked) = result?;
                    checked_pairs += checked;
                    for link in candidates {
                        if forest.union(link.row, link.other) {
                            links.push(link);
                        }
                    }
                }
                forest.compress();
            }
        }
        links.sort_unstable_by_key(|link| (link.row, link.other));
        let near_ids = forest.into_roots();
        let similarity = self.similarity_to_roots(&near_ids, exact)?;
        Ok(NearClusters {
            near_ids,
            similarity,
            links,
            plan: self.plan,
            checked_pairs,
            clustering: Clustering::Components,
            capped_rows: 0,
        })
    }

    /// Per row, the similarity (sketch estimate, or exact with `exact`) with its cluster's root —
    /// never verified in components mode, so it shows how far a chain has drifted.
    fn similarity_to_roots(&self, near_ids: &[u64], exact: Option<&ExactSets>) -> Result<Vec<f32>> {
        let members = &self.members;
        // Sketched rows are in row order: the non-null exact representatives (and, after a
        // spilled exact table, rows that turned out to be duplicates; their value is not read).
        let member_rows: Vec<u64> = (0..members.len() as u32).map(|m| members.row(m)).collect();
        let member_of = |row: u64| member_rows.binary_search(&row).map(|m| m as u32);
        let per_member: Vec<f32> = member_rows
            .par_iter()
            .enumerate()
            .map_init(
                || (RecordBuf::default(), RecordBuf::default()),
                |(own, root_buf), (member, &row)| {
                    if self.exact_reps[row as usize] != row {
                        return Ok(f32::NAN);
                    }
                    let root = near_ids[row as usize];
                    if root == row {
                        return Ok(1.0);
                    }
                    let root_member = member_of(root)
                        .map_err(|_| CoreError::Internal(format!("near root {root} of row {row} is not sketched")))?;
                    if let Some(sets) = exact {
                        return Ok(sets.jaccard(member as u32, root_member)? as f32);
                    }
                    let a = members.sketch(member as u32, own)?;
                    Ok(similarity(a, members.sketch(root_member, root_buf)?) as f32)
                },
            )
            .collect::<Result<_>>()?;
        let mut out = Vec::with_capacity(near_ids.len());
        let mut member = 0;
        for (row, &exact) in self.exact_reps.iter().enumerate() {
            if exact == NO_CLUSTER {
                out.push(f32::NAN);
            } else if exact == row as u64 {
                while member_rows[member] < row as u64 {
                    member += 1;
                }
                out.push(per_member[member]);
            } else {
                out.push(out[exact as usize]);
            }
        }
        Ok(out)
    }
}

/// Members that share a band bucket with another member, increasing: the only ones any
/// verification can involve.
fn candidate_members(index: &NearIndex) -> Result<Vec<u32>> {
    let members = &index.members;
    let parts = sort_parts(members.len(), index.sort_limit);
    let mut shared = vec![false; members.len()];
    let mut entries = Vec::new();
    for band in 0..index.plan.bands {
        for part in 0..parts {
            members.band_entries(band, part, parts, &mut entries)?;
            index.retain_representatives(&mut entries);
            entries.par_sort_unstable();
            for (start, end) in shared_buckets(&entries) {
                for &entry in &entries[start as usize..end as usize] {
                    shared[entry_member(entry) as usize] = true;
                }
            }
        }
    }
    Ok((0..members.len() as u32).filter(|&m| shared[m as usize]).collect())
}

/// How many key-range parts keep one part's entries within `sort_limit` bytes.
pub(super) fn sort_parts(entries: usize, sort_limit: usize) -> usize {
    (entries * ENTRY_BYTES).div_ceil(sort_limit.max(ENTRY_BYTES)).max(1)
}

/// `[start, end)` of every run of two or more sorted entries with the same key.
pub(super) fn shared_buckets(entries: &[u128]) -> Vec<(u32, u32)> {
    key_runs(entries, 2)
}

/// `[start, end)` of every run of at least `min` sorted entries with the same key.
pub(super) fn key_runs(entries: &[u128], min: usize) -> Vec<(u32, u32)> {
    let mut runs = Vec::new();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || entry_key(entries[i]) != entry_key(entries[start]) {
            if i - start >= min {
                runs.push((start as u32, i as u32));
            }
            start = i;
        }
    }
    runs
}

/// Within each bucket (members in row order), checks each member against the one before it and,
/// if that fails, against the bucket's first member: linear in bucket size, and an unrelated
/// member that shares only this band cannot cut a bucket's true pairs apart. Pairs already in
/// one cluster are skipped.
fn link_buckets(
    buckets: &[(u32, u32)],
    entries: &[u128],
    members: &SketchSet,
    exact: Option<&ExactSets>,
    forest: &UnionFind,
    threshold: f64,
) -> Result<(Vec<NearLink>, u64)> {
    let (mut buf_a, mut buf_b) = (RecordBuf::default(), RecordBuf::default());
    let mut links = Vec::new();
    let mut checked = 0u64;
    let mut check = |a: u32, b: u32, checked: &mut u64| -> Result<Option<NearLink>> {
        let (row, other) = (members.row(a), members.row(b));
        if forest.find_frozen(row) == forest.find_frozen(other) {
            return Ok(None);
        }
        *checked += 1;
        let estimate = match exact {
            Some(sets) => sets.jaccard(a, b)?,
            None => similarity(members.sketch(a, &mut buf_a)?, members.sketch(b, &mut buf_b)?),
        };
        Ok((estimate >= threshold).then_some(NearLink { row, other, similarity: estimate }))
    };
    for &(start, end) in buckets {
        let (start, end) = (start as usize, end as usize);
        let head = entry_member(entries[start]);
        for i in start + 1..end {
            let (previous, current) = (entry_member(entries[i - 1]), entry_member(entries[i]));
            if let Some(link) = check(previous, current, &mut checked)? {
                links.push(link);
            } else if i - 1 > start
                && let Some(link) = check(head, current, &mut checked)?
            {
                links.push(link);
            }
        }
    }
    Ok((links, checked))
}

impl NearClusters {
    pub fn summary(&self, top_n: usize) -> NearSummary {
        let mut sizes = vec![0u64; self.near_ids.len()];
        for &id in &self.near_ids {
            if id != NO_CLUSTER {
                sizes[id as usize] += 1;
            }
        }
        let (mut unique, mut members, mut clusters, mut largest) = (0, 0, 0, 0);
        let mut multi = Vec::new();
        for (row, &size) in sizes.iter().enumerate() {
            if size == 0 {
                continue;
            }
            unique += 1;
            members += size;
            largest = largest.max(size);
            if size >= 2 {
                clusters += 1;
                multi.push(NearTop { row: row as u64, count: size });
            }
        }
        multi.sort_unstable_by(|a, b| b.count.cmp(&a.count).then(a.row.cmp(&b.row)));
        multi.truncate(top_n);
        NearSummary { unique, duplicate_rows: members - unique, clusters, largest_cluster: largest, top: multi }
    }
}
