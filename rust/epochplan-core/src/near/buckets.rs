//! Shared band buckets computed outside the index: the band-key shuffle of a distributed engine.
//!
//! Locally, [`NearIndex::finish`] sorts each band's (key, member) entries itself. An engine can
//! instead (1) cut every measured batch's band entries of the exact representatives into
//! partitions by a hash of (band, key) ([`crate::stages::BatchMeasure::band_partitions`]), (2) sort
//! each partition on its own and keep the buckets of two or more members ([`shared_buckets`]),
//! and (3) hand those buckets to [`NearIndex::finish_with_buckets`], which clusters exactly as
//! `finish` does. Partitions and buckets may arrive in any order: representative clustering
//! merges a member's buckets in row order (so bucket numbers do not matter), and components
//! clustering regroups buckets by (band, key range, key), the order `finish` visits them in.

use crate::error::{CoreError, Result};
use crate::hashing::mix64;
use crate::wire::{Reader, Writer};

const ENTRIES_MAGIC: &[u8] = b"EPBE\x01";
const BUCKETS_MAGIC: &[u8] = b"EPBB\x01";

/// One band entry of an exact representative: its band, the band's key and its member number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct BandEntry {
    pub band: u32,
    pub key: u64,
    pub member: u32,
}

/// Which of `partitions` reduce tasks sorts the entries of `(band, key)`.
#[inline]
pub fn partition_of(band: u32, key: u64, partitions: u32) -> u32 {
    let h = mix64(key ^ (band as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    ((h as u128 * partitions as u128) >> 64) as u32
}

pub fn entries_to_bytes(entries: &[BandEntry]) -> Vec<u8> {
    let mut w = Writer::default();
    w.bytes.extend_from_slice(ENTRIES_MAGIC);
    w.len(entries.len());
    for e in entries {
        w.u32(e.band);
        w.u64(e.key);
        w.u32(e.member);
    }
    w.bytes
}

pub fn entries_from_bytes(bytes: &[u8], out: &mut Vec<BandEntry>) -> Result<()> {
    let mut r = Reader::new(bytes);
    r.magic(ENTRIES_MAGIC)?;
    let n = r.len(16)?;
    out.reserve(n);
    for _ in 0..n {
        out.push(BandEntry { band: r.u32()?, key: r.u64()?, member: r.u32()? });
    }
    r.expect_end()
}

/// The shared buckets of one partition: `(band, key)` and the bucket's members, increasing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedBuckets {
    pub(crate) buckets: Vec<(u32, u64, u32, u32)>,
    pub(crate) members: Vec<u32>,
}

impl SharedBuckets {
    pub fn len(&self) -> usize {
        self.buckets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buckets.is_empty()
    }

    /// `(band, key, members)` of each bucket.
    pub fn iter(&self) -> impl Iterator<Item = (u32, u64, &[u32])> {
        self.buckets.iter().map(|&(band, key, start, end)| (band, key, &self.members[start as usize..end as usize]))
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes.extend_from_slice(BUCKETS_MAGIC);
        w.len(self.buckets.len());
        for (band, key, members) in self.iter() {
            w.u32(band);
            w.u64(key);
            w.u32s(members);
        }
        w.bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        r.magic(BUCKETS_MAGIC)?;
        let mut out = SharedBuckets::default();
        for _ in 0..r.len(20)? {
            let (band, key) = (r.u32()?, r.u64()?);
            let start = out.members.len() as u32;
            out.members.extend(r.u32s()?);
            out.buckets.push((band, key, start, out.members.len() as u32));
        }
        r.expect_end()?;
        Ok(out)
    }
}

/// The reduce of the shuffle: sort one partition's entries (from every map, in any order) and
/// keep each (band, key) that two or more members share.
pub fn shared_buckets(mut entries: Vec<BandEntry>) -> SharedBuckets {
    entries.sort_unstable();
    let mut out = SharedBuckets::default();
    let mut start = 0;
    for i in 1..=entries.len() {
        if i == entries.len() || (entries[i].band, entries[i].key) != (entries[start].band, entries[start].key) {
            if i - start >= 2 {
                let first = out.members.len() as u32;
                out.members.extend(entries[start..i].iter().map(|e| e.member));
                out.buckets.push((entries[start].band, entries[start].key, first, out.members.len() as u32));
            }
            start = i;
        }
    }
    out
}

/// Checks that bucket members name sketched members of an index with `members` of them and
/// `bands` bands.
pub(crate) fn check(buckets: &[SharedBuckets], members: usize, bands: usize) -> Result<()> {
    for (band, _, list) in buckets.iter().flat_map(SharedBuckets::iter) {
        if band as usize >= bands
            || list.iter().any(|&m| m as usize >= members)
            || list.windows(2).any(|w| w[0] >= w[1])
        {
            return Err(CoreError::Input(
                "band buckets that do not belong to this audit (band, member or order out of range)".into(),
            ));
        }
    }
    Ok(())
}
