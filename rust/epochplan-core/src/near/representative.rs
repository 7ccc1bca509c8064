//! Near clusters without chaining: every member verified similar to its cluster's
//! representative.
//!
//! Connected components of verified links chain: A~B~C~D puts A and D together when they share
//! nothing, and one cluster can swallow a whole topic. Here rows are taken in order; a row joins
//! the cluster of the lowest-row representative it shares a band bucket with and whose sketch
//! estimate (or exact Jaccard, under `Verify::Exact`) with it reaches the threshold, else it represents a cluster of its own. Exact
//! duplicates are not sketched and follow their exact representative, so they always share its
//! cluster. The result depends only on the rows and their order: not on threads, batch sizes
//! or spilling.
//!
//! Two passes:
//! 1. Buckets (parallel sorts, as in components mode): per band, and per key range when a band
//!    does not fit the sort buffer, every bucket holding two or more members gets a number;
//!    each member's bucket numbers are kept (4 bytes per membership, 8 while sorting, so in
//!    memory: a bucket with one member cannot matter and is not stored).
//! 2. Greedy, in member order: the representatives of each bucket form a list in row order; a
//!    member walks the lists of its buckets merged in row order, verifying each representative
//!    until one passes. A member that joins nobody is appended to all its buckets' lists.
//!
//! A member is verified against at most [`MAX_CHECKS`] representatives, lowest rows first. On
//! the planted corpora a member checks about one; only buckets crowded with representatives
//! that are mutually below the threshold (one sentence shared by every row, numbers aside)
//! reach the cap, and there it keeps the cost near that of components (benchmarks/RESULTS.md:
//! 100 k such rows took 14 s with a cap of 1024, 74 M checks). A member that reaches the cap
//! gets a second chance: up to [`MAX_CHECKS`] more representatives, those sharing the most of
//! its uncrowded buckets first (a near copy of it shares most of its bands, and those buckets
//! hold few rows; the crowded ones are the template's). A member that still finds none
//! represents its own cluster — never a wrong merge, only a duplicate possibly missed — and
//! `capped_rows` counts it.

use rayon::prelude::*;

use crate::cluster_ids::NO_CLUSTER;
use crate::error::{CoreError, Result};

use super::buckets::SharedBuckets;
use super::index::{NearClusters, NearIndex, NearLink, shared_buckets, sort_parts};
use super::minhash::similarity;
use super::options::Clustering;
use super::sketch_set::entry_member;
use super::store::RecordBuf;

/// Representatives verified per member at most (see the module docs).
pub const MAX_CHECKS: usize = 64;
const NO_NODE: u32 = u32::MAX;

/// Bucket numbers of each member: `buckets[offsets[m]..offsets[m + 1]]`.
pub(super) struct Memberships {
    offsets: Vec<usize>,
    buckets: Vec<u32>,
    bucket_count: usize,
}

impl Memberships {
    fn of(&self, member: usize) -> &[u32] {
        &self.buckets[self.offsets[member]..self.offsets[member + 1]]
    }
}

/// The shared buckets of the index's own band keys, sorted here (the local engine).
pub(super) fn memberships(index: &NearIndex) -> Result<Memberships> {
    let members = &index.members;
    let parts = sort_parts(members.len(), index.sort_limit);
    let mut entries = Vec::new();
    // (member << 32) | bucket
    let mut pairs: Vec<u64> = Vec::new();
    let mut bucket_count: u64 = 0;
    for band in 0..index.plan.bands {
        for part in 0..parts {
            members.band_entries(band, part, parts, &mut entries)?;
            index.retain_representatives(&mut entries);
            entries.par_sort_unstable();
            for (start, end) in shared_buckets(&entries) {
                if bucket_count >= u32::MAX as u64 {
                    return Err(CoreError::Input(format!(
                        "more than {} shared band buckets: split the input or raise the threshold",
                        u32::MAX
                    )));
                }
                let bucket = bucket_count;
                bucket_count += 1;
                let group = &entries[start as usize..end as usize];
                pairs.extend(group.iter().map(|&e| (entry_member(e) as u64) << 32 | bucket));
            }
        }
    }
    drop(entries);
    Ok(memberships_of(pairs, members.len(), bucket_count as usize))
}

/// The shared buckets an engine computed (see [`super::buckets`]), numbered in the order given:
/// the clustering merges a member's buckets in row order, so numbering does not matter.
pub(super) fn memberships_from(index: &NearIndex, buckets: &[SharedBuckets]) -> Result<Memberships> {
    let mut pairs: Vec<u64> = Vec::new();
    let mut bucket_count: u64 = 0;
    for (_, _, list) in buckets.iter().flat_map(SharedBuckets::iter) {
        // Members found to be exact duplicates when the spilled exact table merged are left out,
        // as `memberships` leaves them out before sorting.
        let kept = list.iter().filter(|&&m| index.is_representative(m)).count();
        if kept < 2 {
            continue;
        }
        if bucket_count >= u32::MAX as u64 {
            return Err(CoreError::Input(format!(
                "more than {} shared band buckets: split the input or raise the threshold",
                u32::MAX
            )));
        }
        pairs.extend(list.iter().filter(|&&m| index.is_representative(m)).map(|&m| (m as u64) << 32 | bucket_count));
        bucket_count += 1;
    }
    Ok(memberships_of(pairs, index.members.len(), bucket_count as usize))
}

/// `pairs`: (member << 32) | bucket, any order.
fn memberships_of(mut pairs: Vec<u64>, members: usize, bucket_count: usize) -> Memberships {
    pairs.par_sort_unstable();
    let mut offsets = vec![0usize; members + 1];
    for &pair in &pairs {
        offsets[(pair >> 32) as usize + 1] += 1;
    }
    for m in 0..members {
        offsets[m + 1] += offsets[m];
    }
    let buckets = pairs.iter().map(|&pair| pair as u32).collect();
    Memberships { offsets, buckets, bucket_count }
}

/// The representatives of each bucket, in row order, as linked lists in one arena.
struct RepresentativeLists {
    head: Vec<u32>,
    tail: Vec<u32>,
    /// Representatives in each bucket's list.
    len: Vec<u32>,
    /// (member, next node)
    nodes: Vec<(u32, u32)>,
}

impl RepresentativeLists {
    fn new(buckets: usize) -> Self {
        RepresentativeLists {
            head: vec![NO_NODE; buckets],
            tail: vec![NO_NODE; buckets],
            len: vec![0; buckets],
            nodes: Vec::new(),
        }
    }

    fn push(&mut self, bucket: u32, member: u32) {
        let node = self.nodes.len() as u32;
        self.nodes.push((member, NO_NODE));
        let b = bucket as usize;
        match self.tail[b] {
            NO_NODE => self.head[b] = node,
            tail => self.nodes[tail as usize].1 = node,
        }
        self.tail[b] = node;
        self.len[b] += 1;
    }

    /// The representatives from `from` on (by member number) in the lists of `buckets` holding
    /// at most [`MAX_CHECKS`] representatives, most shared buckets first, then lowest row: the
    /// second chance of a member whose first [`MAX_CHECKS`] checks, lowest rows first, found no
    /// match. Its true near copy shares most of its bands, and those buckets are not the
    /// crowded ones a shared template fills. Depends only on which buckets the member shares
    /// with whom, not on how buckets are numbered (engines number them differently).
    fn most_shared(&self, buckets: &[u32], from: u32, out: &mut Vec<(u32, u32)>) {
        out.clear();
        let mut found: Vec<u32> = Vec::new();
        for &b in buckets {
            if self.len[b as usize] as usize > MAX_CHECKS {
                continue;
            }
            let mut node = self.head[b as usize];
            while node != NO_NODE {
                let (member, next) = self.nodes[node as usize];
                if member >= from {
                    found.push(member);
                }
                node = next;
            }
        }
        found.sort_unstable();
        for run in found.chunk_by(|a, b| a == b) {
            out.push((run[0], run.len() as u32));
        }
        out.sort_unstable_by_key(|&(member, shared)| (std::cmp::Reverse(shared), member));
        out.truncate(MAX_CHECKS);
    }
}

pub(super) fn cluster(index: &NearIndex, memberships: Memberships) -> Result<NearClusters> {
    let members = &index.members;
    let threshold = index.options.threshold;
    let exact = index.exact_sets()?;
    let mut lists = RepresentativeLists::new(memberships.bucket_count);
    // Per member: the member it joined (itself for a representative) and the estimate.
    let mut joined: Vec<u32> = (0..members.len() as u32).collect();
    let mut estimate = vec![1.0f32; members.len()];
    let (mut own, mut other) = (RecordBuf::default(), RecordBuf::default());
    let mut cursors: Vec<u32> = Vec::with_capacity(index.plan.bands);
    let (mut checked_pairs, mut capped_rows) = (0u64, 0u64);
    let mut links = Vec::new();
    let mut second_chance: Vec<(u32, u32)> = Vec::new();
    for member in 0..members.len() {
        let buckets = memberships.of(member);
        if buckets.is_empty() {
            continue;
        }
        cursors.clear();
        cursors.extend(buckets.iter().map(|&b| lists.head[b as usize]).filter(|&n| n != NO_NODE));
        let mut checks = 0;
        let mut found = None;
        if !cursors.is_empty() {
            // Exact verification compares shingle sets and reads no sketch.
            let sketch = if exact.is_none() { Some(members.sketch(member as u32, &mut own)?) } else { None };
            let mut verify = |representative: u32| -> Result<f64> {
                match (exact, sketch) {
                    (Some(sets), _) => sets.jaccard(member as u32, representative),
                    (None, Some(sketch)) => Ok(similarity(sketch, members.sketch(representative, &mut other)?)),
                    (None, None) => Err(CoreError::Internal("no sketch and no exact set to verify".into())),
                }
            };
            // Merge the lists in row order, each representative once.
            let mut capped_at = None;
            while let Some(lowest) = cursors.iter().map(|&n| lists.nodes[n as usize].0).min() {
                for cursor in cursors.iter_mut() {
                    if lists.nodes[*cursor as usize].0 == lowest {
                        *cursor = lists.nodes[*cursor as usize].1;
                    }
                }
                cursors.retain(|&n| n != NO_NODE);
                if checks == MAX_CHECKS {
                    capped_at = Some(lowest);
                    break;
                }
                checks += 1;
                let value = verify(lowest)?;
                if value >= threshold {
                    found = Some((lowest, value));
                    break;
                }
            }
            if let Some(from) = capped_at {
                // Every representative below `from` was checked; the second chance takes the
                // unchecked ones that share the most uncrowded buckets with the member.
                lists.most_shared(buckets, from, &mut second_chance);
                for &(representative, _) in &second_chance {
                    checks += 1;
                    let value = verify(representative)?;
                    if value >= threshold {
                        found = Some((representative, value));
                        break;
                    }
                }
                capped_rows += found.is_none() as u64;
            }
        }
        checked_pairs += checks as u64;
        match found {
            Some((representative, value)) => {
                joined[member] = representative;
                estimate[member] = value as f32;
                links.push(NearLink {
                    row: members.row(representative),
                    other: members.row(member as u32),
                    similarity: value,
                });
            }
            None => buckets.iter().for_each(|&b| lists.push(b, member as u32)),
        }
    }
    drop(lists);
    drop(memberships);
    links.sort_unstable_by_key(|link| (link.row, link.other));

    // Rows: sketched rows are the non-null exact representatives, in row order (and, after a
    // spilled exact table, rows that turned out to be duplicates: in no bucket, skipped here);
    // an exact duplicate takes its exact representative's cluster and similarity.
    let exact_reps = index.exact_reps();
    let mut near_ids = Vec::with_capacity(exact_reps.len());
    let mut similarity_per_row = Vec::with_capacity(exact_reps.len());
    let mut member = 0usize;
    for (row, &exact) in exact_reps.iter().enumerate() {
        if exact == NO_CLUSTER {
            near_ids.push(NO_CLUSTER);
            similarity_per_row.push(f32::NAN);
        } else if exact == row as u64 {
            while members.row(member as u32) < row as u64 {
                member += 1;
            }
            near_ids.push(members.row(joined[member]));
            similarity_per_row.push(estimate[member]);
            member += 1;
        } else {
            near_ids.push(near_ids[exact as usize]);
            similarity_per_row.push(similarity_per_row[exact as usize]);
        }
    }
    Ok(NearClusters {
        near_ids,
        similarity: similarity_per_row,
        links,
        plan: index.plan,
        checked_pairs,
        clustering: Clustering::Representative,
        capped_rows,
    })
}
