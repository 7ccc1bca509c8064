//! Near-duplicate clusters and train/eval near leakage.
//!
//! Pipeline: normalise → word (or char) n-gram hashes ([`shingle`]) → one-permutation MinHash,
//! densified by re-hashing into empty slots ([`minhash`]) → band keys with bands × rows chosen
//! from the threshold ([`lsh`]) → per band, sort (key, row) and link consecutive rows of a
//! bucket, each link verified by the sketch estimate ([`index`]) → union-find whose root is the
//! lowest row ([`union_find`]), seeded with the exact clusters so a near cluster holds its exact
//! duplicates.
//!
//! # Driving it
//! ```text
//! let mut near = NearIndex::new(options)?;
//! for batch in batches { auditor.update(batch)?; near.update(batch, Some(exact ids of the batch))?; }
//! let clusters = near.finish()?;                 // near_ids, links, summary()
//! let mut probe = near.new_probe();              // per eval split
//! for batch in eval_batches { probe.update(batch)?; }
//! let matches = near.leakage(&probe, Some(10))?;
//! ```
//! Only exact representatives are sketched: an exact duplicate joins its representative's
//! cluster directly, which saves its sketch, its band entries and its verifications.
//!
//! # Memory
//! What stays resident grows by a fixed number of bytes per row:
//! - 8 bytes per row: its exact representative (the union-find forest to start from);
//! - 8 bytes per sketched row: its row number;
//! - at `finish`, 8 more per row for the union-find copy that becomes `near_ids`.
//!
//! The bulky part, (4 · num_perm + 8 · bands) bytes per sketched row — 672 bytes at the
//! defaults — lives in memory only up to half of `memory_budget`. Past that, sketches and band
//! keys move to unnamed temporary files (one for sketches, one per band, so a band's keys are
//! one sequential read) and later batches are appended there.
//!
//! At `finish` each band is sorted in a buffer of at most max(budget / 4, 64 MiB) (16 bytes per
//! entry). When a band does not fit, its key space is cut into equal ranges and each range is
//! read, sorted and linked on its own: a bucket never straddles two ranges, so there are no runs
//! to merge. Verification reads two sketches per checked pair — slices in memory, or positional
//! reads that the page cache serves (not counted in the process's RSS).
//!
//! For 5 M rows at the defaults and a 1 GiB budget: sketches spill after ~0.85 M rows, the
//! resident state is 5 M × 24 bytes = 120 MB, the sort buffer 256 MiB, so the peak is the
//! 512 MiB before spilling plus one batch's sketches. Measured (the ignored test
//! `five_million_rows_stay_under_two_gigabytes`, exact path included): 706 MiB peak RSS.
//!
//! Leakage: the eval split is a [`NearProbe`] with its own sketches and band keys (spilling past a
//! quarter of the budget). Per band, its keys go into a hash table and the train keys stream
//! past — the train side is never sorted for leakage. Candidate pairs (8 bytes per distinct
//! eval–train pair) are held in memory: an eval split that shares buckets with a very large
//! train cluster pays for every pair.

pub mod buckets;
mod exact_sets;
pub mod index;
pub mod leakage;
pub mod lsh;
pub mod minhash;
pub mod options;
mod representative;
pub mod shingle;
mod sketch_set;
pub(crate) mod store;
pub mod union_find;

#[cfg(test)]
mod clustering_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

pub use index::{NearClusters, NearIndex, NearLink, NearSummary, NearTop};
pub use leakage::{LeakSide, NearMatch, NearProbe};
pub use lsh::LshPlan;
pub use minhash::{SketchScratch, Sketcher, exact_jaccard, similarity, sketch_hashes};
pub use options::{Clustering, NearOptions, Verify};
pub use representative::MAX_CHECKS;
pub use shingle::Shingle;
pub(crate) use sketch_set::{SketchedChunk, sketch_batch};
pub use union_find::UnionFind;
