//! Spilled exact-duplicate tables: runs of `(digest, representative, size)` records sorted by
//! digest, one per spill, in unnamed temporary files; merged once at the end.
//!
//! Runs are written in row order, so where a digest occurs in several runs, its first run holds
//! the cluster's lowest row: the true representative. The representatives it has in later runs
//! are provisional, and the merge maps each of them to the true one. A record also carries the
//! first member rows its table saw after its representative; rows of later runs are higher, so
//! the cluster's lowest members are those of its runs concatenated in run order. A record of a
//! table spilled after the first one also carries its representative's held weight (see
//! [`crate::exact`]): the merge counts it where that representative is the true one.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::Path;

use hashbrown::HashMap;

use crate::error::Result;
use crate::exact::{MEMBER_ROWS, MemberRows};
use crate::near::store::{Column, RecordBuf};

/// A record is words of a run's column (width 1): digest low, digest high, representative, a
/// header (the size, the member count at bit 56, a held weight at bit 60), the members, and the
/// held weight when there is one. Most clusters are one row with no members: 4 or 5 words,
/// where fixed-width records of eleven words made every spill write and read back 2-3 times as
/// many bytes (and temporary files that large).
const MAX_WORDS: usize = 5 + MEMBER_ROWS;
const MEMBERS_SHIFT: u32 = 56;
const MEMBERS_MASK: u64 = 0xF;
const HAS_WEIGHT: u64 = 1 << 60;
const SIZE_MASK: u64 = (1 << MEMBERS_SHIFT) - 1;
const RECORD_BYTES: usize = MAX_WORDS * 8;
const _: () = assert!(MEMBER_ROWS as u64 <= MEMBERS_MASK, "the member count takes four bits of the header");
/// Records a run reader fetches at a time, at least and at most.
const MIN_BLOCK: usize = 1 << 10;
const MAX_BLOCK: usize = 1 << 15;

/// One cluster of a table being spilled.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RunEntry {
    pub digest: u128,
    pub representative: u64,
    pub size: u64,
    pub members: MemberRows,
    /// The representative's weight when it was held (opened after the first spill).
    pub held_weight: Option<u32>,
}

#[derive(Debug, Default)]
pub(crate) struct Runs {
    runs: Vec<Column<u64>>,
}

/// One of the largest clusters found by the merge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MergedTop {
    pub representative: u64,
    pub size: u64,
    /// A representative of the cluster (true or provisional) that has a stored preview.
    pub preview_rep: Option<u64>,
    /// The cluster's lowest rows after its representative.
    pub members: MemberRows,
}

#[derive(Debug)]
pub(crate) struct MergedRuns {
    pub unique: u64,
    pub members: u64,
    pub clusters: u64,
    pub largest: u64,
    /// Largest first, ties by lowest row.
    pub top: Vec<MergedTop>,
    /// Clusters by size, 1 included.
    pub size_histogram: BTreeMap<u64, u64>,
    /// Provisional representative → true representative.
    pub remap: HashMap<u64, u64>,
    /// `weight → clusters` over the true representatives that had a held weight.
    pub settled_weights: BTreeMap<u64, u64>,
}

impl Runs {
    pub fn is_empty(&self) -> bool {
        self.runs.is_empty()
    }

    /// Writes `entries` (sorted by digest) as a new run.
    pub fn write(&mut self, entries: impl Iterator<Item = RunEntry>, dir: &Path) -> Result<()> {
        let mut column = Column::new(1);
        column.spill(dir)?; // file-backed from the first record
        let mut words = Vec::with_capacity(MAX_BLOCK * MAX_WORDS);
        let mut entries = entries.peekable();
        while entries.peek().is_some() {
            words.clear();
            for e in entries.by_ref().take(MAX_BLOCK) {
                let members = e.members.as_slice();
                debug_assert!(e.size <= SIZE_MASK);
                let header = e.size
                    | (members.len() as u64) << MEMBERS_SHIFT
                    | if e.held_weight.is_some() { HAS_WEIGHT } else { 0 };
                words.extend_from_slice(&[e.digest as u64, (e.digest >> 64) as u64, e.representative, header]);
                words.extend_from_slice(members);
                if let Some(weight) = e.held_weight {
                    words.push(u64::from(weight));
                }
            }
            column.append(&words)?;
        }
        self.runs.push(column);
        Ok(())
    }

    fn readers(&self, buffer_bytes: usize) -> Vec<RunReader<'_>> {
        let block = (buffer_bytes / RECORD_BYTES / self.runs.len().max(1)).clamp(MIN_BLOCK, MAX_BLOCK);
        self.runs.iter().map(|column| RunReader::new(column, block)).collect()
    }

    /// Merges every run: cluster counts, the `top_n` largest clusters, and the map from
    /// provisional to true representatives. `has_preview(rep)` says which representatives have
    /// a stored preview. Reads at most about `buffer_bytes` at a time.
    pub fn merge(&self, top_n: usize, buffer_bytes: usize, has_preview: &dyn Fn(u64) -> bool) -> Result<MergedRuns> {
        let mut readers = self.readers(buffer_bytes);
        let mut heap = BinaryHeap::new();
        for (run, reader) in readers.iter_mut().enumerate() {
            if let Some(record) = reader.peek()? {
                heap.push(Reverse((record.digest, run)));
            }
        }
        let mut merged = MergedRuns {
            unique: 0,
            members: 0,
            clusters: 0,
            largest: 0,
            top: Vec::new(),
            size_histogram: BTreeMap::new(),
            remap: HashMap::new(),
            settled_weights: BTreeMap::new(),
        };
        // Min-heap of the best clusters so far: its top is the smallest, then highest row.
        let mut best: BinaryHeap<Reverse<Candidate>> = BinaryHeap::new();
        // Representatives of one digest, in run order.
        let mut group: Vec<(usize, u64, MemberRows)> = Vec::new();
        while let Some(Reverse((digest, _))) = heap.peek().copied() {
            group.clear();
            // (run, held weight) of the digest's record in its earliest run
            let mut first_weight: (usize, Option<u32>) = (usize::MAX, None);
            let mut size = 0;
            while let Some(&Reverse((d, run))) = heap.peek() {
                if d != digest {
                    break;
                }
                heap.pop();
                let record = readers[run].take()?;
                group.push((run, record.representative, record.members));
                if run < first_weight.0 {
                    first_weight = (run, record.held_weight);
                }
                size += record.size;
                if let Some(next) = readers[run].peek()? {
                    heap.push(Reverse((next.digest, run)));
                }
            }
            group.sort_unstable_by_key(|g| g.0);
            let representative = group[0].1;
            for &(_, provisional, _) in &group[1..] {
                merged.remap.insert(provisional, representative);
            }
            // The provisional representatives' held weights are dropped: their rows joined an
            // earlier cluster.
            if let Some(weight) = first_weight.1 {
                *merged.settled_weights.entry(u64::from(weight)).or_insert(0) += 1;
            }
            *merged.size_histogram.entry(size).or_insert(0) += 1;
            merged.unique += 1;
            merged.members += size;
            merged.largest = merged.largest.max(size);
            if size >= 2 {
                merged.clusters += 1;
                let candidate = (size, Reverse(representative));
                let better =
                    best.len() < top_n || best.peek().is_some_and(|Reverse(worst)| (worst.0, worst.1) < candidate);
                if better {
                    let preview_rep = group.iter().map(|&(_, r, _)| r).find(|&r| has_preview(r));
                    let mut members = group[0].2;
                    for &(_, provisional, later) in &group[1..] {
                        members.push(provisional);
                        for &row in later.as_slice() {
                            members.push(row);
                        }
                    }
                    best.push(Reverse((size, Reverse(representative), preview_rep, members.as_slice().to_vec())));
                    if best.len() > top_n {
                        best.pop();
                    }
                }
            }
        }
        let mut top: Vec<MergedTop> = best
            .into_iter()
            .map(|Reverse((size, Reverse(representative), preview_rep, rows))| {
                let mut members = MemberRows::default();
                for row in rows {
                    members.push(row);
                }
                MergedTop { representative, size, preview_rep, members }
            })
            .collect();
        top.sort_unstable_by(|a, b| b.size.cmp(&a.size).then(a.representative.cmp(&b.representative)));
        merged.top = top;
        Ok(merged)
    }

    /// The true representative of each digest of `queries` (sorted by digest) that some run
    /// holds, `None` for the others. Streams every run once.
    pub fn lookup_sorted(&self, queries: &[u128], buffer_bytes: usize) -> Result<Vec<Option<u64>>> {
        debug_assert!(queries.is_sorted());
        let mut found = vec![None; queries.len()];
        // Runs in row order: the first run that holds a digest has its lowest row.
        for mut reader in self.readers(buffer_bytes) {
            let mut q = 0;
            while q < queries.len() {
                let Some(record) = reader.peek()? else { break };
                match record.digest.cmp(&queries[q]) {
                    std::cmp::Ordering::Less => {
                        reader.take()?;
                    }
                    // The reader stays: the next query may ask for the same digest.
                    std::cmp::Ordering::Equal => {
                        found[q] = found[q].or(Some(record.representative));
                        q += 1;
                    }
                    std::cmp::Ordering::Greater => q += 1,
                }
            }
        }
        Ok(found)
    }
}

/// (size, Reverse(representative), preview_rep, members): ordered so that the worst candidate
/// is the smallest cluster, ties the highest row (representatives are unique, so the later
/// fields never decide).
type Candidate = (u64, Reverse<u64>, Option<u64>, Vec<u64>);

#[derive(Debug, Clone, Copy)]
struct Record {
    digest: u128,
    representative: u64,
    size: u64,
    members: MemberRows,
    held_weight: Option<u32>,
}

impl Record {
    /// Its length in the run.
    fn words(&self) -> usize {
        4 + self.members.as_slice().len() + usize::from(self.held_weight.is_some())
    }
}

/// Reads a run front to back in blocks.
struct RunReader<'a> {
    column: &'a Column<u64>,
    block: usize,
    /// Next record of the column to fetch.
    next: usize,
    words: Vec<u64>,
    position: usize,
    io: RecordBuf<u64>,
}

impl<'a> RunReader<'a> {
    fn new(column: &'a Column<u64>, block: usize) -> Self {
        RunReader { column, block, next: 0, words: Vec::new(), position: 0, io: RecordBuf::default() }
    }

    /// The next record, without taking it.
    fn peek(&mut self) -> Result<Option<Record>> {
        // A whole record in the buffer: the unread words move to its front and the next block
        // follows them.
        if self.words.len() - self.position < MAX_WORDS && self.next < self.column.len() {
            self.words.drain(..self.position);
            self.position = 0;
            self.column.read_records(self.next, self.block * MAX_WORDS, &mut self.io, &mut self.words)?;
            self.next += self.block * MAX_WORDS;
        }
        if self.position == self.words.len() {
            return Ok(None);
        }
        let w = &self.words[self.position..];
        let header = w[3];
        let member_count = ((header >> MEMBERS_SHIFT) & MEMBERS_MASK) as usize;
        let mut members = MemberRows::default();
        for &row in &w[4..4 + member_count] {
            members.push(row);
        }
        let held_weight = (header & HAS_WEIGHT != 0).then(|| w[4 + member_count] as u32);
        Ok(Some(Record {
            digest: w[0] as u128 | (w[1] as u128) << 64,
            representative: w[2],
            size: header & SIZE_MASK,
            members,
            held_weight,
        }))
    }

    fn take(&mut self) -> Result<Record> {
        let record = self.peek()?.expect("take after a successful peek");
        self.position += record.words();
        Ok(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(digest: u128, representative: u64, size: u64, members: usize, weight: Option<u32>) -> RunEntry {
        let mut rows = MemberRows::default();
        (1..=members as u64).for_each(|m| rows.push(representative + m));
        RunEntry { digest, representative, size, members: rows, held_weight: weight }
    }

    #[test]
    fn runs_of_many_blocks_merge_every_record_once() {
        // Two runs of 40k records of every length (0 to MEMBER_ROWS members, a held weight or
        // not) that share 20k digests, read back a block of MIN_BLOCK records' words at a time:
        // records straddle the blocks.
        let dir = std::env::temp_dir();
        let mut runs = Runs::default();
        let first =
            |d: u64| entry(d as u128, d * 10, 1 + d % 3, (d % 6) as usize, d.is_multiple_of(2).then_some(d as u32 % 7));
        let later = |d: u64| {
            entry(d as u128, 1_000_000 + d, 1, (d % 5) as usize, (!d.is_multiple_of(2)).then_some(d as u32 % 5))
        };
        runs.write((0..40_000).map(first), &dir).unwrap();
        runs.write((20_000..60_000).map(later), &dir).unwrap();
        let merged = runs.merge(3, 0, &|_| false).unwrap();
        assert_eq!(merged.unique, 60_000);
        let sizes: u64 = (0..40_000).map(|d| 1 + d % 3).sum::<u64>() + 40_000;
        assert_eq!(merged.members, sizes);
        assert_eq!(merged.remap.len(), 20_000);
        assert!((20_000..40_000u64).all(|d| merged.remap[&(1_000_000 + d)] == d * 10));
        let mut weights = BTreeMap::new();
        for d in 0..60_000u64 {
            let weight = if d < 40_000 { first(d).held_weight } else { later(d).held_weight };
            if let Some(w) = weight {
                *weights.entry(u64::from(w)).or_insert(0) += 1;
            }
        }
        assert_eq!(merged.settled_weights, weights);
        // The largest clusters (size 4: 3 + 1) keep their members of both runs, lowest first.
        let top = &merged.top[0];
        assert_eq!((top.representative, top.size), (20_000 * 10, 4));
        let d = 20_000u64;
        let mut expected: Vec<u64> = (1..=(d % 6)).map(|m| d * 10 + m).collect();
        expected.push(1_000_000 + d);
        expected.extend((1..=(d % 5)).map(|m| 1_000_000 + d + m));
        expected.truncate(MEMBER_ROWS);
        assert_eq!(top.members.as_slice(), expected.as_slice());
        let queries: Vec<u128> = (0..70_000u128).step_by(7).collect();
        let found = runs.lookup_sorted(&queries, 0).unwrap();
        for (q, f) in queries.iter().zip(found) {
            let d = *q as u64;
            let expected = if d < 40_000 { Some(d * 10) } else { (d < 60_000).then_some(1_000_000 + d) };
            assert_eq!(f, expected, "digest {d}");
        }
    }
}
