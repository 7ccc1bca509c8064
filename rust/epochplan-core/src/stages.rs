//! The audit's ingest as two stages an engine can run in different places.
//!
//! 1. **Measure** ([`measure_batch`]): pure and parallel, needs no auditor state — normalise,
//!    exact digests, token counts, template line ends, near sketches and band keys, and
//!    mergeable statistics partials ([`ChunkStats`]: lengths, distinct counters, token
//!    histogram) per chunk. A [`BatchMeasure`] travels as bytes ([`BatchMeasure::to_bytes`]).
//! 2. **Absorb** ([`crate::Auditor::absorb`]): sequential, in input order — merge the partials,
//!    insert digests in the exact table, record tokens and templates, add sketches to the near
//!    index, count labels. Row numbers are assigned here, so they are input order whatever
//!    machine measured the batch.
//!
//! `Auditor::update` is `absorb(measure_batch(..))` in one process (with the texts at hand, so
//! exact previews and char-shingle sketches are taken from them instead of being shipped):
//! the local engine runs the very stages a distributed one runs. Its measure also sees the
//! exact table, and counts the words of a text an earlier batch had without hashing them again
//! ([`measure_batch_after`]); the numbers are the same.

use hashbrown::{HashMap, HashSet};
use rayon::prelude::*;

use crate::audit::{ChunkResult, ChunkStats, chunk_size, measure_chunk};
use crate::audit_tokens::ChunkCounter;
use crate::column::TextColumn;
use crate::error::{CoreError, Result};
use crate::near::buckets::{BandEntry, SharedBuckets, entries_to_bytes, partition_of};
use crate::near::{LshPlan, NearOptions, Shingle, SketchedChunk, Sketcher};
use crate::normalize::Normalize;
use crate::template::RowEnds;
use crate::tokens::{TokenCounter, TokenLengths};
use crate::wire::{Reader, Writer};

const MAGIC: &[u8] = b"EPMB\x01";

/// The near settings a measure needs: how to sketch and how to cut sketches into bands.
#[derive(Debug, Clone)]
pub struct NearSketch {
    sketcher: Sketcher,
    plan: LshPlan,
}

impl NearSketch {
    pub fn of(sketcher: Sketcher, plan: LshPlan) -> Self {
        NearSketch { sketcher, plan }
    }

    pub fn sketcher(&self) -> &Sketcher {
        &self.sketcher
    }

    pub fn plan(&self) -> LshPlan {
        self.plan
    }

    /// Word (or auto) shingles are built from the word hashes the statistics compute anyway.
    fn fused(&self) -> bool {
        self.sketcher.shingle() != Shingle::Char
    }
}

#[derive(Debug, Clone)]
pub struct MeasureOptions {
    pub normalize: Normalize,
    pub near: Option<NearSketch>,
    /// Keep the exact preview of the first row of each digest in each chunk (the absorb has no
    /// texts to take them from).
    pub previews: bool,
    /// Sketch char-shingled rows here too (else the absorb sketches them from its texts).
    pub sketch_unfused: bool,
    /// Mode of the distinct counters' partials (see [`crate::distinct::DistinctCounter::partial`]):
    /// `true` is always correct; `false` only once the global counter estimates.
    pub unigrams_exact: bool,
    pub bigrams_exact: bool,
}

impl MeasureOptions {
    /// For a batch measured away from the auditor (another process or machine): everything the
    /// absorb needs travels with the measure. `near` as given to the auditor.
    pub fn standalone(normalize: Normalize, near: Option<&NearOptions>) -> Result<Self> {
        let near = match near {
            None => None,
            Some(options) => {
                // The temp dir is the auditor's business, not the measuring machine's.
                let options = NearOptions { normalize, temp_dir: None, ..options.clone() };
                let (sketcher, plan) = options.resolve()?;
                Some(NearSketch::of(sketcher, plan))
            }
        };
        Ok(MeasureOptions {
            normalize,
            near,
            previews: true,
            sketch_unfused: true,
            unigrams_exact: true,
            bigrams_exact: true,
        })
    }

    /// What a measure must agree on with the auditor that absorbs it.
    fn fingerprint(&self, tokenizer: bool) -> u64 {
        let settings =
            format!("{:?}|{:?}|{}", self.normalize, self.near.as_ref().map(|n| (&n.sketcher, n.plan)), tokenizer);
        crate::hashing::word_hash(settings.as_bytes())
    }
}

/// Exact previews carried by a batch measured elsewhere: the first row of each digest in each
/// chunk, so the row that needs one (the second of its cluster) always finds it.
#[derive(Debug, Default)]
pub(crate) struct Previews {
    list: Vec<(u128, String)>,
    index: Option<HashMap<u128, usize>>,
}

impl Previews {
    pub(crate) fn take(&mut self, digest: u128) -> Result<String> {
        let list = &self.list;
        let index = self.index.get_or_insert_with(|| {
            let mut index = HashMap::with_capacity(list.len());
            for (i, (d, _)) in list.iter().enumerate() {
                index.entry(*d).or_insert(i);
            }
            index
        });
        match index.get(&digest) {
            Some(&i) => Ok(self.list[i].1.clone()),
            None => Err(CoreError::Input("a measured batch lacks an exact preview: measure it with previews".into())),
        }
    }
}

/// One batch measured (stage 1): per chunk, rows' digests, tokens, line ends, sketches and the
/// statistics partial.
pub struct BatchMeasure {
    /// The row number the measure gave its first row (sketches carry row numbers); the absorb
    /// renumbers from where the batch lands.
    pub(crate) first_row: u64,
    pub(crate) rows: usize,
    pub(crate) parts: Vec<ChunkResult>,
    pub(crate) unfused_sketches: Option<Vec<SketchedChunk>>,
    pub(crate) previews: Previews,
    fingerprint: u64,
}

/// Stage 1 for one batch. `first_row` only numbers rows in error messages and sketches (0 will
/// do where the batch's place in the input is not known).
pub fn measure_batch(
    options: &MeasureOptions,
    tokenizer: Option<&TokenCounter>,
    texts: &dyn TextColumn,
    first_row: u64,
) -> Result<BatchMeasure> {
    measure_batch_after(options, tokenizer, texts, first_row, None)
}

/// Whether an earlier batch had a normalised text, by its digest (see [`measure_batch_after`]).
pub(crate) type Seen<'a> = dyn Fn(u128) -> bool + Sync + 'a;

/// [`measure_batch`] where the auditor that absorbs next is at hand: `seen` tells the texts
/// its exact table holds. Such a row's words and pairs are in the distinct counters already (a
/// union of hashes), so they are counted, not hashed and inserted again; the result is the
/// same. Only where the split is a pass of its own (non-ASCII text) and no sketch takes the
/// words. A synthetic 1M-row multilingual corpus has 19 % such rows, real ones often more.
pub(crate) fn measure_batch_after(
    options: &MeasureOptions,
    tokenizer: Option<&TokenCounter>,
    texts: &dyn TextColumn,
    first_row: u64,
    seen: Option<&Seen<'_>>,
) -> Result<BatchMeasure> {
    let n = texts.len();
    let chunk = chunk_size(n);
    let fused = options.near.as_ref().filter(|near| near.fused());
    let results: Vec<(ChunkResult, Vec<(u128, String)>)> = (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let range = c * chunk..((c + 1) * chunk).min(n);
            let stats = ChunkStats::partial(options.unigrams_exact, options.bigrams_exact);
            // Token counting shares the pass (and the chunk's rows in cache) with hashing.
            let counter = ChunkCounter::with(tokenizer);
            let part = measure_chunk(texts, range.clone(), first_row, options.normalize, stats, fused, counter, seen)?;
            let previews = if options.previews {
                chunk_previews(texts, range, &part.digests, options.normalize)
            } else {
                Vec::new()
            };
            Ok((part, previews))
        })
        .collect::<Result<_>>()?;
    let mut parts = Vec::with_capacity(results.len());
    let mut previews = Previews::default();
    for (part, list) in results {
        parts.push(part);
        previews.list.extend(list);
    }
    let unfused_sketches = match &options.near {
        Some(near) if options.sketch_unfused && !near.fused() => {
            Some(crate::near::sketch_batch(&near.sketcher, &near.plan, texts, first_row, &|_| true))
        }
        _ => None,
    };
    let fingerprint = options.fingerprint(tokenizer.is_some());
    Ok(BatchMeasure { first_row, rows: n, parts, unfused_sketches, previews, fingerprint })
}

fn chunk_previews(
    texts: &dyn TextColumn,
    range: std::ops::Range<usize>,
    digests: &[Option<u128>],
    normalize: Normalize,
) -> Vec<(u128, String)> {
    let mut seen = HashSet::new();
    let mut buf = String::new();
    let mut out = Vec::new();
    for (i, digest) in range.zip(digests) {
        if let Some(d) = *digest
            && seen.insert(d)
        {
            out.push((d, crate::exact::preview(texts.get(i).unwrap_or_default(), normalize, &mut buf)));
        }
    }
    out
}

impl BatchMeasure {
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The map of the band-key shuffle (see [`crate::near::buckets`]): the band entries of the
    /// batch's exact representatives (`keep[i]`: row i of the batch represents its exact
    /// cluster; they are members `first_member`, `first_member + 1`, … in row order), cut into
    /// `partitions` by [`crate::near::buckets::partition_of`], each as bytes.
    pub fn band_partitions(&self, keep: &[bool], first_member: u32, partitions: u32) -> Result<Vec<Vec<u8>>> {
        if keep.len() != self.rows || partitions == 0 {
            return Err(CoreError::Input(format!(
                "{} representative flags for a batch of {} rows, {partitions} partitions",
                keep.len(),
                self.rows
            )));
        }
        let chunks: Vec<&SketchedChunk> = match &self.unfused_sketches {
            Some(chunks) => chunks.iter().collect(),
            None => self.parts.iter().filter_map(|p| p.sketches.as_ref()).collect(),
        };
        let mut out: Vec<Vec<BandEntry>> = vec![Vec::new(); partitions as usize];
        let mut member = first_member;
        for (row, keys) in chunks.iter().flat_map(|c| c.members()) {
            let at = row.wrapping_sub(self.first_row) as usize;
            if !keep.get(at).copied().unwrap_or(false) {
                continue;
            }
            for (band, &key) in keys.iter().enumerate() {
                out[partition_of(band as u32, key, partitions) as usize].push(BandEntry {
                    band: band as u32,
                    key,
                    member,
                });
            }
            member += 1;
        }
        if member - first_member != keep.iter().filter(|&&k| k).count() as u32 {
            return Err(CoreError::Input("representative flags name rows the batch has no sketch of".into()));
        }
        Ok(out.iter().map(|entries| entries_to_bytes(entries)).collect())
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        let mut w = Writer::default();
        w.bytes.extend_from_slice(MAGIC);
        w.u64(self.fingerprint);
        w.u64(self.first_row);
        w.len(self.rows);
        w.len(self.parts.len());
        for part in &self.parts {
            w.len(part.digests.len());
            for digest in &part.digests {
                match digest {
                    None => w.u8(0),
                    Some(d) => {
                        w.u8(1);
                        w.u128(*d);
                    }
                }
            }
            w.len(part.ends.len());
            part.ends.iter().for_each(|e| e.write(&mut w));
            write_stats(&part.stats, &mut w);
            w.bool(part.sketches.is_some());
            if let Some(s) = &part.sketches {
                s.write(&mut w);
            }
            w.u32s(&part.tokens);
        }
        w.bool(self.unfused_sketches.is_some());
        if let Some(chunks) = &self.unfused_sketches {
            w.len(chunks.len());
            chunks.iter().for_each(|c| c.write(&mut w));
        }
        w.len(self.previews.list.len());
        for (digest, preview) in &self.previews.list {
            w.u128(*digest);
            w.str(preview);
        }
        w.bytes
    }

    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let mut r = Reader::new(bytes);
        r.magic(MAGIC)?;
        let fingerprint = r.u64()?;
        let first_row = r.u64()?;
        let rows = r.len(0)?;
        let mut parts = Vec::new();
        for _ in 0..r.len(1)? {
            let mut digests = Vec::new();
            for _ in 0..r.len(1)? {
                digests.push(if r.bool()? { Some(r.u128()?) } else { None });
            }
            let mut ends = Vec::new();
            for _ in 0..r.len(1)? {
                ends.push(RowEnds::read(&mut r)?);
            }
            let stats = read_stats(&mut r)?;
            let sketches = if r.bool()? { Some(SketchedChunk::read(&mut r)?) } else { None };
            let tokens = r.u32s()?;
            if digests.len() != ends.len() || digests.len() != tokens.len() {
                return Err(CoreError::Input("measured batch is corrupt (row counts differ)".into()));
            }
            parts.push(ChunkResult { digests, ends, stats, sketches, tokens });
        }
        let unfused_sketches = if r.bool()? {
            let mut chunks = Vec::new();
            for _ in 0..r.len(1)? {
                chunks.push(SketchedChunk::read(&mut r)?);
            }
            Some(chunks)
        } else {
            None
        };
        let mut previews = Previews::default();
        for _ in 0..r.len(17)? {
            let digest = r.u128()?;
            previews.list.push((digest, r.string()?));
        }
        r.expect_end()?;
        if parts.iter().map(|p| p.digests.len()).sum::<usize>() != rows {
            return Err(CoreError::Input("measured batch is corrupt (row count)".into()));
        }
        Ok(BatchMeasure { first_row, rows, parts, unfused_sketches, previews, fingerprint })
    }
}

fn write_stats(s: &ChunkStats, w: &mut Writer) {
    for v in [s.null_rows, s.empty_rows, s.total_bytes, s.total_unigrams, s.total_bigrams] {
        w.u64(v);
    }
    s.chars.write(w);
    s.words.write(w);
    s.unigrams.write(w);
    s.bigrams.write(w);
    s.tokens.write(w);
}

fn read_stats(r: &mut Reader<'_>) -> Result<ChunkStats> {
    let (null_rows, empty_rows, total_bytes, total_unigrams, total_bigrams) =
        (r.u64()?, r.u64()?, r.u64()?, r.u64()?, r.u64()?);
    Ok(ChunkStats {
        null_rows,
        empty_rows,
        total_bytes,
        total_unigrams,
        total_bigrams,
        chars: crate::lengths::LengthDistribution::read(r)?,
        words: crate::lengths::LengthDistribution::read(r)?,
        unigrams: crate::distinct::DistinctCounter::read(r)?,
        bigrams: crate::distinct::DistinctCounter::read(r)?,
        tokens: TokenLengths::read(r)?,
        repeated_rows: 0,
    })
}

impl crate::Auditor {
    /// Stage 2 for a batch measured elsewhere (see the module docs): its rows are numbered on
    /// from the rows absorbed so far. `labels` as in `update`.
    pub fn absorb(&mut self, measure: BatchMeasure, labels: Option<&dyn TextColumn>) -> Result<()> {
        let expected = self.measure_options().fingerprint(self.tokenizer().is_some());
        if measure.fingerprint != expected {
            return Err(CoreError::Input(
                "a batch measured with other settings (normalize, near options or tokenizer) than this audit's".into(),
            ));
        }
        self.absorb_batch(measure, None, labels)
    }

    /// After an `absorb`/`update` of the batch that started at `first_row`: which of its rows
    /// represent their exact cluster (the rows the near index sketched) and the member number
    /// of the first of them — the arguments of [`BatchMeasure::band_partitions`].
    pub fn batch_members(&self, first_row: u64) -> Result<(u32, Vec<bool>)> {
        let near = self.near_index().ok_or_else(|| CoreError::Input("band entries without near detection".into()))?;
        near.batch_members(first_row)
    }

    /// `finish_near` with the shared band buckets of a shuffle done elsewhere (see
    /// [`crate::near::buckets`]): the same clusters.
    pub fn finish_near_with_buckets(&mut self, buckets: &[SharedBuckets]) -> Result<()> {
        self.finish_near_by(|near| near.finish_with_buckets(buckets))
    }
}

#[cfg(test)]
mod tests;
