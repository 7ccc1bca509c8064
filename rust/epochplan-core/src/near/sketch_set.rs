//! The sketches and band keys of a set of rows — the train index, or one eval split — held in
//! memory up to a byte limit and in temporary files beyond it.
//!
//! Members are numbered 0, 1, … in row order (`u32`, so one band entry is a 64-bit key plus a
//! 32-bit member number). Band keys are stored band by band, so the per-band work at the end
//! reads one compact column instead of every sketch.

use std::path::PathBuf;

use rayon::prelude::*;

use crate::column::TextColumn;
use crate::error::{CoreError, Result};

use super::lsh::LshPlan;
use super::minhash::{SketchScratch, Sketcher};
use super::store::{Column, RecordBuf};

/// Band keys are scanned in runs of this many records.
const SCAN_RECORDS: usize = 1 << 16;

/// Sketches of one parallel chunk of a batch, members in row order.
#[derive(Debug, Default)]
pub(crate) struct SketchedChunk {
    rows: Vec<u64>,
    sketches: Vec<u32>,
    /// Member-major: the `bands` keys of the first member, then of the second, …
    band_keys: Vec<u64>,
}

impl SketchedChunk {
    pub(crate) fn with_capacity(members: usize, slots: usize, bands: usize) -> Self {
        SketchedChunk {
            rows: Vec::with_capacity(members),
            sketches: Vec::with_capacity(members * slots),
            band_keys: Vec::with_capacity(members * bands),
        }
    }

    /// Appends `row` (after every row held), its sketch written by `sketch` into `slots` zeroed
    /// slots, then its band keys.
    #[inline]
    fn push(&mut self, row: u64, slots: usize, plan: &LshPlan, sketch: impl FnOnce(&mut [u32])) {
        let start = self.sketches.len();
        self.sketches.resize(start + slots, 0);
        sketch(&mut self.sketches[start..]);
        let key_start = self.band_keys.len();
        self.band_keys.resize(key_start + plan.bands, 0);
        plan.band_keys(&self.sketches[start..], &mut self.band_keys[key_start..]);
        self.rows.push(row);
    }

    /// Appends `row`, sketched from the `word_hash` of each word of its normalised text (as
    /// [`crate::script::for_each_shingle_word`] splits it; see
    /// [`Sketcher::sketch_word_hashes`]).
    #[inline]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn push_word_hashes(
        &mut self,
        row: u64,
        sketcher: &Sketcher,
        plan: &LshPlan,
        scratch: &mut SketchScratch,
        word_hashes: &[u64],
        normalised_text: &[u8],
        unspaced: bool,
    ) {
        self.push(row, sketcher.num_perm(), plan, |out| {
            sketcher.sketch_word_hashes(word_hashes, normalised_text, unspaced, scratch, out)
        });
    }

    /// Keeps the members whose row satisfies `keep`, in order.
    pub(crate) fn retain_rows(&mut self, keep: impl Fn(u64) -> bool) {
        let slots = self.sketches.len() / self.rows.len().max(1);
        let bands = self.band_keys.len() / self.rows.len().max(1);
        let mut kept = 0;
        for member in 0..self.rows.len() {
            if !keep(self.rows[member]) {
                continue;
            }
            if kept != member {
                self.rows[kept] = self.rows[member];
                self.sketches.copy_within(member * slots..(member + 1) * slots, kept * slots);
                self.band_keys.copy_within(member * bands..(member + 1) * bands, kept * bands);
            }
            kept += 1;
        }
        self.rows.truncate(kept);
        self.sketches.truncate(kept * slots);
        self.band_keys.truncate(kept * bands);
    }
}

/// The byte form an engine ships between processes (see [`crate::stages`]).
impl SketchedChunk {
    pub(crate) fn write(&self, w: &mut crate::wire::Writer) {
        w.u64s(&self.rows);
        w.u32s(&self.sketches);
        w.u64s(&self.band_keys);
    }

    pub(crate) fn read(r: &mut crate::wire::Reader<'_>) -> Result<Self> {
        Ok(SketchedChunk { rows: r.u64s()?, sketches: r.u32s()?, band_keys: r.u64s()? })
    }

    /// `(row, band keys)` of each member, in row order.
    pub(crate) fn members(&self) -> impl Iterator<Item = (u64, &[u64])> {
        let bands = self.band_keys.len() / self.rows.len().max(1);
        self.rows.iter().copied().zip(self.band_keys.chunks_exact(bands.max(1)))
    }

    /// Renumbers the rows of a batch measured apart from the index (row numbers from its own
    /// first row) to where the batch lands in the input.
    pub(crate) fn shift_rows(&mut self, by: u64) {
        self.rows.iter_mut().for_each(|row| *row = row.wrapping_add(by));
    }
}

/// Sketches the rows of `texts` for which `wanted(i)` holds (null rows never), in parallel
/// chunks returned in row order. `first_row` is the row number of `texts[0]`.
pub(crate) fn sketch_batch(
    sketcher: &Sketcher,
    plan: &LshPlan,
    texts: &dyn TextColumn,
    first_row: u64,
    wanted: &(dyn Fn(usize) -> bool + Sync),
) -> Vec<SketchedChunk> {
    let n = texts.len();
    let chunk = chunk_size(n);
    let slots = sketcher.num_perm();
    (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let range = c * chunk..((c + 1) * chunk).min(n);
            let mut out = SketchedChunk::with_capacity(range.len(), slots, plan.bands);
            let mut scratch = SketchScratch::default();
            for i in range {
                let Some(text) = texts.get(i) else { continue };
                if !wanted(i) {
                    continue;
                }
                out.push(first_row + i as u64, slots, plan, |out| sketcher.sketch(text, &mut scratch, out));
            }
            out
        })
        .collect()
}

fn chunk_size(n: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    (n / (threads * 4)).clamp(256, 8192)
}

#[derive(Debug)]
pub(crate) struct SketchSet {
    bands: usize,
    /// Row of each member, increasing.
    rows: Vec<u64>,
    sketches: Column<u32>,
    band_keys: Vec<Column<u64>>,
    /// Sketches and band keys spill once they hold more heap than this.
    resident_limit: usize,
    temp_dir: PathBuf,
    gather_buf: Vec<u64>,
}

impl SketchSet {
    pub fn new(num_perm: usize, bands: usize, resident_limit: usize, temp_dir: PathBuf) -> Self {
        SketchSet {
            bands,
            rows: Vec::new(),
            sketches: Column::new(num_perm),
            band_keys: (0..bands).map(|_| Column::new(1)).collect(),
            resident_limit,
            temp_dir,
            gather_buf: Vec::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    #[inline]
    pub fn row(&self, member: u32) -> u64 {
        self.rows[member as usize]
    }

    pub fn is_spilled(&self) -> bool {
        self.sketches.is_spilled()
    }

    /// Adds the members of `chunks` (after every member already held).
    pub fn append(&mut self, chunks: &[SketchedChunk]) -> Result<()> {
        let adding: usize = chunks.iter().map(|c| c.rows.len()).sum();
        if self.rows.len() + adding > u32::MAX as usize {
            return Err(CoreError::Input(format!("more than {} distinct non-null texts: split the input", u32::MAX)));
        }
        self.rows.reserve_exact(adding); // no doubling slack: see `NearIndex::add_batch`
        for chunk in chunks {
            debug_assert!(chunk.rows.first().is_none_or(|&r| self.rows.last().is_none_or(|&l| l < r)));
            self.rows.extend_from_slice(&chunk.rows);
            self.sketches.append(&chunk.sketches)?;
            for (band, column) in self.band_keys.iter_mut().enumerate() {
                self.gather_buf.clear();
                self.gather_buf.extend(chunk.band_keys.iter().skip(band).step_by(self.bands));
                column.append(&self.gather_buf)?;
            }
        }
        if !self.is_spilled() && self.resident_bytes() > self.resident_limit {
            self.spill()?;
        }
        Ok(())
    }

    fn resident_bytes(&self) -> usize {
        self.sketches.resident_bytes() + self.band_keys.iter().map(Column::resident_bytes).sum::<usize>()
    }

    fn spill(&mut self) -> Result<()> {
        self.sketches.spill(&self.temp_dir)?;
        for column in &mut self.band_keys {
            column.spill(&self.temp_dir)?;
        }
        self.gather_buf = Vec::new();
        Ok(())
    }

    /// Sketch of `member`; read into `buf` when it lives on disk.
    #[inline]
    pub fn sketch<'a>(&'a self, member: u32, buf: &'a mut RecordBuf<u32>) -> Result<&'a [u32]> {
        self.sketches.record(member as usize, buf)
    }

    /// Calls `visit(member, key)` for every member's key of `band`, members in order.
    pub fn scan_band_keys(&self, band: usize, mut visit: impl FnMut(u32, u64)) -> Result<()> {
        self.band_keys[band].scan(SCAN_RECORDS, |first, keys| {
            for (offset, &key) in keys.iter().enumerate() {
                visit((first + offset) as u32, key);
            }
        })
    }

    /// Fills `entries` with `(band key << 64) | member` for every member whose key of `band`
    /// falls in key range `part` of `parts` (equal slices of the 64-bit key space, so a
    /// bucket never straddles two parts). Unsorted.
    pub fn band_entries(&self, band: usize, part: usize, parts: usize, entries: &mut Vec<u128>) -> Result<()> {
        entries.clear();
        entries.reserve(self.len() / parts + self.len() / (8 * parts) + 16);
        self.scan_band_keys(band, |member, key| {
            if key_part(key, parts) == part {
                entries.push(((key as u128) << 64) | member as u128);
            }
        })
    }
}

#[inline]
pub(super) fn key_part(key: u64, parts: usize) -> usize {
    ((key as u128 * parts as u128) >> 64) as usize
}

/// Band key of an entry made by [`SketchSet::band_entries`].
#[inline]
pub(crate) fn entry_key(entry: u128) -> u64 {
    (entry >> 64) as u64
}

/// Member of an entry made by [`SketchSet::band_entries`].
#[inline]
pub(crate) fn entry_member(entry: u128) -> u32 {
    entry as u32
}
