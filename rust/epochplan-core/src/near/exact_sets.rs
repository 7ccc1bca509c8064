//! Shingle sets of the candidate rows, for exact verification (`Verify::Exact`).
//!
//! A sketch estimate has a standard error of about 0.04 at 128 slots, so a pair near the
//! threshold is a coin flip. With exact verification the index, once every row is in, names the
//! rows that share a band bucket with another row ([`super::NearIndex::exact_rows`]); the caller
//! reads their texts again and hands them back in that order
//! ([`super::NearIndex::add_exact_texts`]); clustering then compares shingle sets instead of
//! sketches. Only candidate rows are held: 8 bytes per distinct shingle of each (about the size
//! of the text itself), in memory — the price of the option, documented in the README.

use rayon::prelude::*;

use crate::column::TextColumn;
use crate::error::{CoreError, Result};

use super::minhash::{SketchScratch, Sketcher, exact_jaccard};
use super::sketch_set::SketchSet;

#[derive(Debug, Default)]
pub(super) struct ExactSets {
    /// Members whose sets are needed, increasing; `None` until the candidates are known.
    wanted: Option<Vec<u32>>,
    /// Set of `wanted[i]`: `hashes[offsets[i]..offsets[i + 1]]`, for the members received so far.
    offsets: Vec<usize>,
    hashes: Vec<u64>,
}

impl ExactSets {
    pub fn is_requested(&self) -> bool {
        self.wanted.is_some()
    }

    pub fn request(&mut self, wanted: Vec<u32>) {
        self.wanted = Some(wanted);
        self.offsets = vec![0];
        self.hashes.clear();
    }

    fn received(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Members still waiting for their text (0 when every set is in).
    pub fn missing(&self) -> usize {
        self.wanted.as_ref().map_or(0, |w| w.len() - self.received())
    }

    /// The next `count` wanted members, in order, or why `count` does not fit.
    fn next_members(&self, count: usize) -> Result<&[u32]> {
        let Some(wanted) = &self.wanted else {
            return Err(CoreError::Input("exact texts given before exact_rows()".into()));
        };
        let start = self.received();
        wanted.get(start..start + count).ok_or_else(|| {
            CoreError::Input(format!(
                "{count} exact texts given but only {} more rows were asked for",
                wanted.len() - start
            ))
        })
    }

    /// Adds the sets of the next `texts.len()` wanted members: `rows` are their row numbers in
    /// `members` (checked against the request), `texts` their raw texts.
    pub fn add(
        &mut self,
        sketcher: &Sketcher,
        members: &SketchSet,
        rows: &[u64],
        texts: &dyn TextColumn,
    ) -> Result<()> {
        if rows.len() != texts.len() {
            return Err(CoreError::Input(format!("{} row numbers for {} exact texts", rows.len(), texts.len())));
        }
        for (&member, &row) in self.next_members(rows.len())?.iter().zip(rows) {
            let expected = members.row(member);
            if row != expected {
                return Err(CoreError::Input(format!(
                    "exact text of row {row} given where row {expected} was asked for next"
                )));
            }
        }
        let sets: Vec<Result<Vec<u64>>> = (0..texts.len())
            .into_par_iter()
            .map_init(SketchScratch::default, |scratch, i| {
                let text = texts.get(i).ok_or_else(|| {
                    CoreError::Input(format!("row {} was sketched but its text is null when read again", rows[i]))
                })?;
                let mut set = Vec::new();
                sketcher.shingle_set(text, scratch, &mut set);
                Ok(set)
            })
            .collect();
        for set in sets {
            let set = set?;
            self.hashes.extend_from_slice(&set);
            self.offsets.push(self.hashes.len());
        }
        Ok(())
    }

    pub fn set(&self, member: u32) -> Result<&[u64]> {
        let wanted = self.wanted.as_deref().unwrap_or_default();
        match wanted[..self.received()].binary_search(&member) {
            Ok(i) => Ok(&self.hashes[self.offsets[i]..self.offsets[i + 1]]),
            Err(_) => Err(CoreError::Internal(format!("no shingle set for near member {member}"))),
        }
    }

    /// Exact Jaccard similarity of two candidate members.
    pub fn jaccard(&self, a: u32, b: u32) -> Result<f64> {
        Ok(exact_jaccard(self.set(a)?, self.set(b)?))
    }
}
