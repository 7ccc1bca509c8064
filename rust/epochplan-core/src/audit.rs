//! One streaming pass over a text column: exact clusters and dataset statistics together.
//!
//! Each batch is processed in parallel chunks (rayon) that hash and measure rows independently;
//! the results are then folded into the state in row order, so clusters, representatives and
//! counts are the same whatever the thread count.

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use crate::audit_tokens::{AuditTokens, ChunkCounter, TokenReport};
use crate::cluster_ids::NO_CLUSTER;
use crate::column::TextColumn;
use crate::conflicts::{ConflictExample, find_conflicts};
use crate::distinct::DistinctCounter;
use crate::error::{CoreError, Result};
use crate::exact::{ExactIndex, ExactSummary};
use crate::hashing::{combine, text_digest, word_hash};
use crate::labels::{LabelCounter, LabelSummary, NO_LABEL};
use crate::lengths::{LengthDistribution, LengthSummary};
use crate::near::{NearClusters, NearIndex, NearOptions, NearSummary, SketchScratch, SketchedChunk};
use crate::normalize::Normalize;
use crate::template::{RowEnds, TemplateCandidate, TemplateCounter, TemplateSignal};
use crate::tokens::{TokenCounter, TokenLengths};

const TOP_CLUSTERS: usize = 10;
/// The exact table may hold this share of the memory budget before it spills (the near
/// index takes half for sketches and a quarter for sorting).
const EXACT_BUDGET_SHARE: u64 = 8;

#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub normalize: Normalize,
    /// Keep the exact cluster id of every row (8 bytes a row) for a clusters file. Kept anyway
    /// when labels are given from the first batch on: conflicting labels need them.
    pub keep_row_ids: bool,
    /// Near-duplicate detection; `None` = exact only. Its `normalize` is taken from above.
    pub near: Option<NearOptions>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DiversitySummary {
    pub vocabulary: u64,
    pub distinct_1: Option<f64>,
    pub distinct_2: Option<f64>,
    /// Either counter below estimated (the JSON's `estimated`, kept).
    pub estimated: bool,
    /// The word counter (vocabulary, distinct-1) passed its exact limit and HyperLogLog took over.
    pub vocabulary_estimated: bool,
    /// The bigram counter (distinct-2) did.
    pub bigrams_estimated: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AuditSummary {
    pub rows: u64,
    pub null_rows: u64,
    pub empty_rows: u64,
    pub exact: ExactSummary,
    pub chars: Option<LengthSummary>,
    pub words: Option<LengthSummary>,
    pub total_bytes: u64,
    pub tokens_estimate: u64,
    pub labels: Option<LabelSummary>,
    pub diversity: DiversitySummary,
    pub tokens: TokenReport,
}

/// [`crate::conflicts::Conflicts`] with label text instead of label ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelConflicts {
    pub exact_clusters: u64,
    pub near_clusters: Option<u64>,
    pub rows: u64,
    pub examples: Vec<LabelExample>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelExample {
    pub rows: Vec<u64>,
    pub labels: Vec<String>,
}

/// Statistics that merge associatively, so chunks can be combined in any grouping.
#[derive(Debug, Default)]
pub(crate) struct ChunkStats {
    pub(crate) null_rows: u64,
    pub(crate) empty_rows: u64,
    pub(crate) total_bytes: u64,
    pub(crate) chars: LengthDistribution,
    pub(crate) words: LengthDistribution,
    pub(crate) unigrams: DistinctCounter,
    pub(crate) bigrams: DistinctCounter,
    pub(crate) total_unigrams: u64,
    pub(crate) total_bigrams: u64,
    /// Token length of every non-null row (tokenizer count, or the estimate).
    pub(crate) tokens: TokenLengths,
    /// Rows whose words were counted without hashing, an earlier batch having their text (see
    /// `measure_batch_after`). Reports nothing; not shipped (a batch measured elsewhere has
    /// none), so tests can tell that the shortcut ran.
    pub(crate) repeated_rows: u64,
}

/// The words and word pairs of a chunk's rows on their way to the distinct counters, handed
/// over a few hundred at a time: a short text has too few words for the counters' prefetching
/// to hide the cache misses of its own inserts. The counts do not depend on the grouping
/// (unions), and a pair never spans two rows.
#[derive(Default)]
struct PendingWords {
    words: Vec<u64>,
    pairs: Vec<u64>,
}

impl PendingWords {
    const HAND_OVER_AT: usize = 512;

    /// One row's word hashes, in order.
    fn add_row(&mut self, word_hashes: &[u64], stats: &mut ChunkStats) {
        self.words.extend_from_slice(word_hashes);
        self.pairs.extend(word_hashes.windows(2).map(|pair| combine(pair[0], pair[1])));
        if self.words.len() >= Self::HAND_OVER_AT {
            self.hand_over(stats);
        }
    }

    fn hand_over(&mut self, stats: &mut ChunkStats) {
        stats.add_words(&self.words, &self.pairs);
        self.words.clear();
        self.pairs.clear();
    }
}

impl ChunkStats {
    /// Empty statistics of one chunk, its distinct counters exact or not (see
    /// [`DistinctCounter::partial`]).
    pub(crate) fn partial(unigrams_exact: bool, bigrams_exact: bool) -> ChunkStats {
        ChunkStats {
            unigrams: DistinctCounter::partial(unigrams_exact),
            bigrams: DistinctCounter::partial(bigrams_exact),
            ..ChunkStats::default()
        }
    }

    /// Counts words and word pairs (their hashes), many at a time, so the counters can fetch
    /// the table slots of many hashes at once instead of one miss per word.
    fn add_words(&mut self, word_hashes: &[u64], pair_hashes: &[u64]) {
        self.unigrams.insert_all(word_hashes);
        self.bigrams.insert_all(pair_hashes);
        self.total_unigrams += word_hashes.len() as u64;
        self.total_bigrams += pair_hashes.len() as u64;
    }

    /// The words of a row whose normalised text an earlier row had: their hashes and pairs are
    /// in the distinct counters already (a union), so only the totals count them.
    fn add_repeated_words(&mut self, words: u64) {
        self.repeated_rows += 1;
        self.total_unigrams += words;
        self.total_bigrams += words.saturating_sub(1);
    }

    fn merge(&mut self, other: &ChunkStats) {
        self.null_rows += other.null_rows;
        self.empty_rows += other.empty_rows;
        self.total_bytes += other.total_bytes;
        self.chars.merge(&other.chars);
        self.words.merge(&other.words);
        self.unigrams.merge(&other.unigrams);
        self.bigrams.merge(&other.bigrams);
        self.total_unigrams += other.total_unigrams;
        self.total_bigrams += other.total_bigrams;
        self.tokens.merge(&other.tokens);
        self.repeated_rows += other.repeated_rows;
    }
}

pub struct Auditor {
    options: AuditOptions,
    rows: u64,
    exact: ExactIndex,
    pub(crate) stats: ChunkStats,
    labels: Option<LabelCounter>,
    /// Label id of every row (`NO_LABEL` for none), once a label column has been given.
    row_labels: Option<Vec<u32>>,
    row_ids: Option<Vec<u64>>,
    near: Option<NearIndex>,
    near_clusters: Option<NearClusters>,
    /// Whether the ids of rows with a provisional exact representative were corrected.
    exact_remapped: bool,
    tokens: AuditTokens,
    templates: TemplateCounter,
}

impl Auditor {
    pub fn new(options: AuditOptions) -> Result<Self> {
        Self::with_memory_budget(options, crate::defaults::MEMORY_BUDGET, std::env::temp_dir())
    }

    /// Without near detection, the exact table spills into `temp_dir` past its share of
    /// `memory_budget`; with it, the near options' budget and folder are used instead.
    pub fn with_memory_budget(options: AuditOptions, memory_budget: u64, temp_dir: PathBuf) -> Result<Self> {
        let near = match &options.near {
            None => None,
            Some(near_options) => {
                let near_options = NearOptions { normalize: options.normalize, ..near_options.clone() };
                Some(NearIndex::new(near_options)?)
            }
        };
        let (budget, temp_dir) = match &options.near {
            Some(near) => (near.memory_budget, near.temp_dir()),
            None => (memory_budget, temp_dir),
        };
        let exact_limit = usize::try_from(budget / EXACT_BUDGET_SHARE).unwrap_or(usize::MAX);
        Ok(Auditor {
            rows: 0,
            exact: ExactIndex::with_limit(exact_limit, temp_dir),
            stats: ChunkStats::default(),
            labels: None,
            row_labels: None,
            row_ids: options.keep_row_ids.then(Vec::new),
            near,
            near_clusters: None,
            exact_remapped: false,
            tokens: AuditTokens::new(options.near.is_some()),
            templates: TemplateCounter::new(),
            options,
        })
    }

    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Count tokens with the model's tokenizer instead of the bytes/4 estimate. Before the
    /// first batch only: every row must be counted the same way.
    pub fn set_tokenizer(&mut self, tokenizer: Arc<TokenCounter>) -> Result<()> {
        self.tokens.set_tokenizer(tokenizer, self.rows)
    }

    pub fn tokenizer(&self) -> Option<&TokenCounter> {
        self.tokens.tokenizer()
    }

    /// Add the next batch of rows (row numbers continue from the previous batch): the two
    /// stages of [`crate::stages`] in one process, measure then absorb.
    pub fn update(&mut self, texts: &dyn TextColumn, labels: Option<&dyn TextColumn>) -> Result<()> {
        self.check_batch(texts.len(), labels)?;
        let options = self.measure_options();
        // Rows an earlier batch had (their normalised text) are in the exact table already.
        let exact = &self.exact;
        let seen = |digest: u128| exact.lookup(digest).is_some();
        let measure =
            crate::stages::measure_batch_after(&options, self.tokens.tokenizer(), texts, self.rows, Some(&seen))?;
        self.absorb_batch(measure, Some(texts), labels)
    }

    fn check_batch(&self, n: usize, labels: Option<&dyn TextColumn>) -> Result<()> {
        if self.near_clusters.is_some() || self.exact_remapped {
            return Err(CoreError::Input("rows added after finish_near(); start a new audit".into()));
        }
        if let Some(l) = labels
            && l.len() != n
        {
            return Err(CoreError::Input(format!("label column has {} rows but text column has {n}", l.len())));
        }
        if labels.is_some() && self.row_labels.is_none() && self.rows > 0 && self.row_ids.is_none() {
            // Conflicts pair each row's label with its cluster, so both are kept from row 0 on.
            return Err(CoreError::Input(
                "a label column must come with the first batch (or create the auditor with keep_row_ids)".into(),
            ));
        }
        Ok(())
    }

    /// How this auditor's batches are measured in-process: what the absorb can take from the
    /// texts at hand (exact previews, char-shingle sketches) is left to it, and the distinct
    /// counters' partials follow the global counters' mode.
    pub fn measure_options(&self) -> crate::stages::MeasureOptions {
        let near = self.near.as_ref().map(|n| crate::stages::NearSketch::of(n.sketcher().clone(), n.plan()));
        crate::stages::MeasureOptions {
            normalize: self.options.normalize,
            near,
            previews: false,
            sketch_unfused: false,
            unigrams_exact: !self.stats.unigrams.is_estimated(),
            bigrams_exact: !self.stats.bigrams.is_estimated(),
        }
    }

    /// The second stage: fold a measured batch into the state, in row order. `texts` (the
    /// batch's texts, when at hand) serve the exact previews and char-shingle sketches the
    /// measure left out; a batch measured elsewhere carries them itself.
    pub(crate) fn absorb_batch(
        &mut self,
        measure: crate::stages::BatchMeasure,
        texts: Option<&dyn TextColumn>,
        labels: Option<&dyn TextColumn>,
    ) -> Result<()> {
        let n = measure.rows;
        self.check_batch(n, labels)?;
        if labels.is_some() && self.row_labels.is_none() {
            self.row_labels = Some(vec![NO_LABEL; self.rows as usize]);
            self.row_ids.get_or_insert_with(Vec::new);
        }
        let normalize = self.options.normalize;
        let fused = self.near.as_ref().is_some_and(NearIndex::takes_word_hashes);
        let shift = self.rows.wrapping_sub(measure.first_row);
        let crate::stages::BatchMeasure { parts, mut unfused_sketches, mut previews, .. } = measure;

        let mut digests = Vec::with_capacity(parts.len());
        let mut row_tokens = Vec::with_capacity(parts.len());
        let mut sketched = Vec::with_capacity(parts.len());
        let mut ends = Vec::with_capacity(parts.len());
        let mut part_stats = Vec::with_capacity(parts.len());
        for part in parts {
            part_stats.push(part.stats);
            ends.push(part.ends);
            digests.push(part.digests);
            row_tokens.push(part.tokens);
            sketched.extend(part.sketches);
        }
        // The statistics fold on another worker while this one folds the rows (disjoint state,
        // each in its own fixed order): the distinct counters' merge misses the cache on every
        // new item, and the rest of the absorb is as long again.
        let stats = &mut self.stats;
        let merge_stats = move || {
            // Straight into the global state, chunk by chunk: a tree reduce would insert every
            // distinct item into several intermediate sets (3-4 cache-missing inserts instead
            // of one). Unions are order-independent, so the result does not depend on the
            // chunking.
            for part in &part_stats {
                stats.merge(part);
            }
        };
        let absorb_rows = || -> Result<()> {
            for (row, ends) in (self.rows..).zip(ends.iter().flatten()) {
                self.templates.add(row, ends);
            }
            if shift != 0 {
                sketched.iter_mut().chain(unfused_sketches.iter_mut().flatten()).for_each(|c| c.shift_rows(shift));
            }
            self.tokens.reserve(n);

            self.exact.make_room(n)?;
            let mut buf = String::new();
            let mut batch_ids = Vec::with_capacity(n);
            for (i, (digest, tokens)) in digests.into_iter().flatten().zip(row_tokens.into_iter().flatten()).enumerate()
            {
                let row = self.rows + i as u64;
                let id = match digest {
                    None => NO_CLUSTER,
                    Some(d) => {
                        // The token count travels with the row: a spilled table counts it as unique
                        // only once the merge knows the row is its cluster's true representative.
                        let found = self.exact.insert(d, row, tokens);
                        if found.needs_preview && self.exact.wants_preview() {
                            // Any member's text gives the preview: it depends on the normalised text only.
                            let preview = match texts {
                                Some(texts) => {
                                    crate::exact::preview(texts.get(i).unwrap_or_default(), normalize, &mut buf)
                                }
                                None => previews.take(d)?,
                            };
                            self.exact.set_preview(found.representative, preview);
                        }
                        self.tokens.record(tokens, found.settled_opening);
                        found.representative
                    }
                };
                if id == NO_CLUSTER {
                    self.tokens.record(tokens, false);
                }
                batch_ids.push(id);
            }
            if let Some(ids) = self.row_ids.as_mut() {
                ids.reserve_exact(batch_ids.len()); // no doubling slack: see `NearIndex::add_batch`
                ids.extend_from_slice(&batch_ids);
            }
            if let Some(near) = self.near.as_mut() {
                match (fused, unfused_sketches, texts) {
                    (true, _, _) => near.update_sketched(sketched, &batch_ids)?,
                    (false, Some(chunks), _) => near.update_sketched(chunks, &batch_ids)?,
                    (false, None, Some(texts)) => near.update(texts, Some(&batch_ids))?,
                    (false, None, None) => {
                        return Err(CoreError::Input("a batch measured without sketches given to a near audit".into()));
                    }
                }
            }
            if let Some(row_labels) = self.row_labels.as_mut() {
                match labels {
                    Some(l) => {
                        let counter = self.labels.get_or_insert_with(LabelCounter::new);
                        row_labels.reserve(n);
                        for i in 0..n {
                            row_labels.push(counter.add(l.get(i))?);
                        }
                    }
                    // A batch without labels: its rows have none (and are not counted as null labels).
                    None => row_labels.resize(row_labels.len() + n, NO_LABEL),
                }
            }
            Ok(())
        };
        let ((), absorbed) = rayon::join(merge_stats, absorb_rows);
        absorbed?;
        self.rows += n as u64;
        Ok(())
    }

    /// Exact cluster id (representative row) of every row so far, `NO_CLUSTER` for null text.
    pub fn row_ids(&self) -> Option<&[u64]> {
        self.row_ids.as_deref()
    }

    pub fn exact_index(&self) -> &ExactIndex {
        &self.exact
    }

    pub fn options(&self) -> &AuditOptions {
        &self.options
    }

    pub fn near_index(&self) -> Option<&NearIndex> {
        self.near.as_ref()
    }

    /// Under `Verify::Exact`, after the last `update`: the rows whose texts exact verification
    /// needs, increasing (see [`NearIndex::exact_rows`]); `None` without near detection.
    pub fn near_exact_rows(&mut self) -> Result<Option<Vec<u64>>> {
        // Candidates are exact representatives: provisional ones must be known first.
        self.finish_exact()?;
        self.near.as_mut().map(NearIndex::exact_rows).transpose()
    }

    /// The texts of the next rows [`Auditor::near_exact_rows`] asked for (see
    /// [`NearIndex::add_exact_texts`]).
    pub fn near_add_exact_texts(&mut self, rows: &[u64], texts: &dyn TextColumn) -> Result<()> {
        match self.near.as_mut() {
            Some(near) => near.add_exact_texts(rows, texts),
            None => Err(CoreError::Input("exact texts given without near detection".into())),
        }
    }

    /// After the last batch: merges the spilled exact table, if any, which corrects the exact ids
    /// of rows whose first duplicate was spilled and counts the held token counts of true
    /// representatives. Idempotent; `finish_near` and `near_exact_rows` call it.
    pub fn finish_exact(&mut self) -> Result<()> {
        if self.exact_remapped {
            return Ok(());
        }
        if let Some(remap) = self.exact.finish()? {
            if !remap.is_empty() {
                for ids in self.row_ids.iter_mut() {
                    remap_ids(ids, remap);
                }
                if let Some(near) = self.near.as_mut() {
                    near.remap_exact(remap);
                }
            }
            self.tokens.add_settled(self.exact.settled_weights());
            self.exact_remapped = true;
        }
        Ok(())
    }

    /// After the last batch: merges the spilled exact table (see [`Auditor::finish_exact`]),
    /// then links, verifies and unions the near duplicates of all rows. Call it before reading
    /// `summary`, `row_ids` or `near_ids`. Idempotent.
    pub fn finish_near(&mut self) -> Result<Option<&NearClusters>> {
        self.finish_near_by(NearIndex::finish)?;
        Ok(self.near_clusters.as_ref())
    }

    pub(crate) fn finish_near_by(&mut self, finish: impl FnOnce(&NearIndex) -> Result<NearClusters>) -> Result<()> {
        self.finish_exact()?;
        if self.near_clusters.is_none()
            && let Some(near) = &self.near
        {
            let clusters = finish(near)?;
            self.tokens.finish_near(&clusters.near_ids);
            self.near_clusters = Some(clusters);
        }
        Ok(())
    }

    /// The near clusters, after `finish_near`.
    pub fn near_clusters(&self) -> Option<&NearClusters> {
        self.near_clusters.as_ref()
    }

    /// Near cluster id (lowest row of the near cluster) of every row, after `finish_near`.
    pub fn near_ids(&self) -> Option<&[u64]> {
        self.near_clusters.as_ref().map(|c| c.near_ids.as_slice())
    }

    /// Per row: similarity to its near representative (see [`NearClusters::similarity`]), after
    /// `finish_near`.
    pub fn near_similarity(&self) -> Option<&[f32]> {
        self.near_clusters.as_ref().map(|c| c.similarity.as_slice())
    }

    /// Openings and endings shared by at least `min_count` rows (see [`crate::template`]).
    pub fn template_candidates(&self, min_count: u64) -> Vec<TemplateCandidate> {
        self.templates.candidates(min_count)
    }

    /// The strongest sign that a shared template dominates the rows (see
    /// [`TemplateSignal::strongest`]); with near detection on, call after `finish_near`.
    pub fn template_signal(&self) -> Option<TemplateSignal> {
        let largest_near = self.near_summary(1).and_then(|s| s.top.first().map(|t| (t.count, t.row)));
        TemplateSignal::strongest(&self.templates, largest_near, self.rows - self.stats.null_rows)
    }

    /// `[size, clusters]` of the near clusters, every size including 1, after `finish_near`.
    pub fn near_size_histogram(&self) -> Option<Vec<[u64; 2]>> {
        self.near_ids().map(crate::cluster_ids::size_histogram)
    }

    /// Up to `max` members of each near cluster in `representatives`, least similar to the
    /// representative first (see [`crate::cluster_ids::members`]), after `finish_near`.
    pub fn near_members(&self, representatives: &[u64], max: usize) -> Option<Vec<Vec<crate::cluster_ids::Member>>> {
        self.near_ids().map(|ids| crate::cluster_ids::members(ids, representatives, self.near_similarity(), max))
    }

    pub fn near_summary(&self, top_n: usize) -> Option<NearSummary> {
        self.near_clusters.as_ref().map(|c| c.summary(top_n))
    }

    /// Cluster ids of the widest level computed: near when near detection is on (after
    /// `finish_near`), else exact (when row ids are kept); `None` when neither is available.
    fn widest_ids(&self) -> Result<Option<&[u64]>> {
        if self.near.is_some() {
            return match self.near_ids() {
                Some(ids) => Ok(Some(ids)),
                None => Err(CoreError::Input("cluster ids asked for before finish_near()".into())),
            };
        }
        self.exact_ids()
    }

    /// Exact row ids when kept; a spilled exact table's are final only after `finish_near`.
    fn exact_ids(&self) -> Result<Option<&[u64]>> {
        if self.exact.is_spilled() && !self.exact_remapped {
            return Err(CoreError::Input("exact cluster ids asked for before finish_near()".into()));
        }
        Ok(self.row_ids())
    }

    /// Per row: does it represent its cluster at the widest level (near when on, else exact)?
    /// These are the rows dedup keeps and the representatives samplers draw. `None` without
    /// near detection when row ids were not kept.
    pub fn keep_flags(&self) -> Result<Option<Vec<bool>>> {
        Ok(self.widest_ids()?.map(crate::cluster_ids::keep_flags))
    }

    /// Clusters whose members carry different labels (see [`crate::conflicts`]), at most
    /// `max_examples` of them as examples, labels as text. `None` when no label column was given.
    /// With near detection on, call after `finish_near`.
    pub fn conflicts(&self, max_examples: usize) -> Result<Option<LabelConflicts>> {
        let (Some(row_labels), Some(exact_ids)) = (self.row_labels.as_deref(), self.exact_ids()?) else {
            return Ok(None);
        };
        let near_ids = if self.near.is_some() { self.widest_ids()? } else { None };
        let found = find_conflicts(exact_ids, near_ids, row_labels, max_examples);
        let labels = self.labels.as_ref();
        let name = |id: u32| labels.map(|l| l.name(id).to_owned()).unwrap_or_default();
        Ok(Some(LabelConflicts {
            exact_clusters: found.exact_clusters,
            near_clusters: found.near_clusters,
            rows: found.rows,
            examples: found
                .examples
                .into_iter()
                .map(|ConflictExample { rows, labels }| LabelExample {
                    rows,
                    labels: labels.into_iter().map(name).collect(),
                })
                .collect(),
        }))
    }

    /// The normalised-text preview stored for an exact cluster with two or more members.
    pub fn exact_preview(&self, representative: u64) -> Option<&str> {
        self.exact.preview(representative)
    }

    pub fn summary(&self, with_labels: bool) -> AuditSummary {
        let s = &self.stats;
        let ratio = |num: u64, den: u64| (den > 0).then(|| num as f64 / den as f64);
        // Past the exact range a count is a HyperLogLog estimate, which can overshoot the number
        // of items inserted when nearly all are distinct (a distinct-2 of 1.017 was reported).
        let vocabulary = s.unigrams.count().min(s.total_unigrams);
        let bigrams = s.bigrams.count().min(s.total_bigrams);
        AuditSummary {
            rows: self.rows,
            null_rows: s.null_rows,
            empty_rows: s.empty_rows,
            exact: self.exact.summary(TOP_CLUSTERS),
            chars: s.chars.summary(),
            words: s.words.summary(),
            total_bytes: s.total_bytes,
            tokens_estimate: s.total_bytes / 4,
            labels: with_labels
                .then(|| self.labels.as_ref().map_or_else(|| LabelCounter::new().summary(), LabelCounter::summary)),
            diversity: DiversitySummary {
                vocabulary,
                distinct_1: ratio(vocabulary, s.total_unigrams),
                distinct_2: ratio(bigrams, s.total_bigrams),
                estimated: s.unigrams.is_estimated() || s.bigrams.is_estimated(),
                vocabulary_estimated: s.unigrams.is_estimated(),
                bigrams_estimated: s.bigrams.is_estimated(),
            },
            tokens: self.tokens.report(&s.tokens),
        }
    }
}

/// Replaces provisional exact representatives by their cluster's true one.
pub(crate) fn remap_ids(ids: &mut [u64], remap: &hashbrown::HashMap<u64, u64>) {
    for id in ids.iter_mut() {
        if let Some(&representative) = remap.get(id) {
            *id = representative;
        }
    }
}

pub(crate) fn chunk_size(n: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    (n / (threads * 4)).clamp(512, 16_384)
}

/// Normalise and digest a batch in parallel: `None` for null rows. Used for eval splits.
pub fn digest_batch(texts: &dyn TextColumn, normalize: Normalize) -> Vec<Option<u128>> {
    let n = texts.len();
    let chunk = chunk_size(n);
    (0..n.div_ceil(chunk))
        .into_par_iter()
        .map(|c| {
            let mut buf = String::new();
            (c * chunk..((c + 1) * chunk).min(n))
                .map(|i| texts.get(i).map(|t| text_digest(normalize.apply(t, &mut buf).as_bytes())))
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
        .collect()
}

/// What one parallel chunk of a batch yields.
pub(crate) struct ChunkResult {
    /// Per row: the exact digest of its normalised text, `None` for null.
    pub(crate) digests: Vec<Option<u128>>,
    /// Per row: hashes of its opening and closing text (see [`crate::template`]).
    pub(crate) ends: Vec<RowEnds>,
    pub(crate) stats: ChunkStats,
    /// Sketches of every non-null row, when the near index takes word hashes.
    pub(crate) sketches: Option<SketchedChunk>,
    /// Per row: its token count (0 for null).
    pub(crate) tokens: Vec<u32>,
}

#[allow(clippy::too_many_arguments)] // one caller (`measure_batch_after`), each argument of its own kind
pub(crate) fn measure_chunk(
    texts: &dyn TextColumn,
    range: std::ops::Range<usize>,
    first_row: u64,
    normalize: Normalize,
    mut stats: ChunkStats,
    near: Option<&crate::stages::NearSketch>,
    mut counter: ChunkCounter<'_>,
    seen: Option<&crate::stages::Seen<'_>>,
) -> Result<ChunkResult> {
    let mut digests = Vec::with_capacity(range.len());
    let mut tokens = Vec::with_capacity(range.len());
    let mut buf = String::new();
    let mut ascii_buf: Vec<u8> = Vec::new();
    let mut unicode_scratch = crate::normalize::UnicodeScratch::default();
    let mut sketches = near.map(|n| SketchedChunk::with_capacity(range.len(), n.sketcher().num_perm(), n.plan().bands));
    let mut sketch_scratch = SketchScratch::default();
    let mut word_hashes: Vec<u64> = Vec::new();
    let mut script_hashes: Vec<u64> = Vec::new();
    // The sketch's words of a row that has characters of unspaced scripts (see `mixed` below).
    let mut piece_hashes: Vec<u64> = Vec::new();
    let mut pending = PendingWords::default();
    let mut ends = Vec::with_capacity(range.len());
    // Unspaced text sketched with explicit word shingles still takes whitespace words.
    let word_shingles = near.is_some_and(|n| n.sketcher().shingle() == crate::near::Shingle::Word);
    for i in range {
        let Some(text) = texts.get(i) else {
            stats.null_rows += 1;
            digests.push(None);
            tokens.push(0);
            ends.push(RowEnds::default());
            continue;
        };
        // Empty: nothing but whitespace (Unicode White_Space, what normalising collapses). A
        // row of spaces or line breaks is no sample to train on, as "" is not; counting only ""
        // let `check --max-empty-fraction 0` pass a file of blank-looking rows.
        if is_blank(text) {
            stats.empty_rows += 1;
        }
        stats.total_bytes += text.len() as u64;
        let row_tokens = counter.count(text, first_row + i as u64)?;
        stats.tokens.add(row_tokens);
        tokens.push(row_tokens);

        // The whitespace words of the normalised text, hashed in the normalising pass.
        word_hashes.clear();
        let mut words = |w: &[u8]| word_hashes.push(word_hash(w));
        // The digest, when taken before the words; `repeated`: an earlier batch had this
        // normalised text, so its words are in the distinct counters already and are counted
        // without hashing them again (not when a sketch needs them).
        let (mut digest, mut repeated) = (None, false);
        // `unspaced`: the normalised text, when most of its letters are of unspaced scripts;
        // `mixed`: the normalised text, when it may hold characters of unspaced scripts at all,
        // which a word shingle takes as words of their own (`script::for_each_shingle_word`).
        let (normalised, unspaced, mixed, chars, spaced_words): (&[u8], Option<&str>, Option<&str>, u64, u64) =
            if normalize == Normalize::Default && text.is_ascii() {
                // Fast path: one pass normalises, splits and counts (ASCII is never unspaced).
                let count = crate::normalize::normalize_ascii_words(text.as_bytes(), &mut ascii_buf, &mut words);
                (&ascii_buf, None, None, text.len() as u64, count)
            } else if normalize == Normalize::Default {
                let counts = crate::normalize::normalize_unicode(text, &mut unicode_scratch, &mut buf);
                let mostly_unspaced = counts.mostly_unspaced();
                if let Some(seen) = seen
                    && sketches.is_none()
                    && buf.len() >= REPEAT_CHECK_BYTES
                {
                    let d = text_digest(buf.as_bytes());
                    (digest, repeated) = (Some(d), seen(d));
                }
                // The whitespace words of mostly unspaced text are not counted (its script's
                // words are, below): split and hashed only when its sketch takes them.
                if !repeated && (!mostly_unspaced || word_shingles) {
                    crate::normalize::split_at_spaces(buf.as_bytes(), &mut words);
                }
                let unspaced = mostly_unspaced.then_some(buf.as_str());
                let mixed = (counts.unspaced_letters > 0).then_some(buf.as_str());
                (buf.as_bytes(), unspaced, mixed, counts.raw.chars, counts.raw.words)
            } else {
                let normalised = normalize.apply(text, &mut buf); // `None`: the raw text
                normalised.split_whitespace().for_each(|w| words(w.as_bytes()));
                let unspaced = crate::script::is_mostly_unspaced(normalised).then_some(normalised);
                let mixed = (!normalised.is_ascii()).then_some(normalised);
                (normalised.as_bytes(), unspaced, mixed, char_count(text), word_count(text))
            };
        stats.chars.add(chars);
        if repeated {
            let words = match unspaced {
                Some(normalised_text) => {
                    let mut count = 0u64;
                    crate::script::for_each_word(normalised_text, |_| count += 1);
                    count
                }
                None => crate::normalize::split_at_spaces(normalised, |_| ()),
            };
            stats.words.add(if unspaced.is_some() { words } else { spaced_words });
            stats.add_repeated_words(words);
        } else if let Some(normalised_text) = unspaced {
            // Statistics count the words of its script (CJK characters one by one).
            script_hashes.clear();
            crate::script::for_each_word(normalised_text, |w| script_hashes.push(word_hash(w.as_bytes())));
            stats.words.add(script_hashes.len() as u64);
            pending.add_row(&script_hashes, &mut stats);
            if !word_shingles {
                word_hashes.clear();
            }
        } else {
            stats.words.add(spaced_words);
            pending.add_row(&word_hashes, &mut stats);
        }
        digests.push(Some(digest.unwrap_or_else(|| text_digest(normalised))));
        ends.push(RowEnds::of(normalised));
        if let (Some(chunk), Some(near)) = (sketches.as_mut(), near) {
            let row = first_row + i as u64;
            // Word shingles (not the char shingles of mostly unspaced text under `Auto`) of a text
            // with characters of unspaced scripts take those characters as words: not the
            // whitespace words the statistics count.
            let hashes = match mixed {
                Some(text) if unspaced.is_none() || word_shingles => {
                    piece_hashes.clear();
                    crate::script::for_each_shingle_word(text, |w| piece_hashes.push(word_hash(w)));
                    &piece_hashes
                }
                _ => &word_hashes,
            };
            chunk.push_word_hashes(
                row,
                near.sketcher(),
                &near.plan(),
                &mut sketch_scratch,
                hashes,
                normalised,
                unspaced.is_some(),
            );
        }
    }
    pending.hand_over(&mut stats);
    Ok(ChunkResult { digests, ends, stats, sketches, tokens })
}

/// `text.trim().is_empty()`: nothing but Unicode White_Space. Decided by the first byte for
/// nearly every row (one that is ASCII and no whitespace); `trim` scanned both ends through
/// its generic pattern code for every row.
#[inline]
fn is_blank(text: &str) -> bool {
    match text.as_bytes().first() {
        Some(&b) if b < 0x80 && !crate::normalize::is_ascii_white_space(b) => false,
        _ => text.chars().all(char::is_whitespace),
    }
}

/// Normalised texts shorter than this are not looked up in the exact table (`seen`): the lookup
/// misses the cache about as often as the words of a short row cost to hash and count.
const REPEAT_CHECK_BYTES: usize = 256;

/// Whitespace-separated words, as `str::split_whitespace` counts them.
#[inline]
fn word_count(text: &str) -> u64 {
    if !text.is_ascii() {
        return text.split_whitespace().count() as u64;
    }
    let mut count = 0u64;
    let mut in_word = false;
    for &b in text.as_bytes() {
        let space = crate::normalize::is_ascii_white_space(b);
        count += (!space && !in_word) as u64;
        in_word = !space;
    }
    count
}

#[inline]
fn char_count(text: &str) -> u64 {
    if text.is_ascii() { text.len() as u64 } else { text.chars().count() as u64 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::near::{Clustering, Verify};

    fn audit(texts: &[Option<&str>], normalize: Normalize) -> (AuditSummary, Vec<u64>) {
        let mut a = Auditor::new(AuditOptions { normalize, keep_row_ids: true, near: None }).unwrap();
        // two batches, to check row numbering across batches
        let (first, second) = texts.split_at(texts.len() / 2);
        a.update(&first.to_vec(), None).unwrap();
        a.update(&second.to_vec(), None).unwrap();
        (a.summary(false), a.row_ids().unwrap().to_vec())
    }

    #[test]
    fn is_blank_is_trim_is_empty() {
        let texts = ["", " ", "a", " a", "a ", "\t\n\x0B\x0C\r", "\x1C", "\u{85}", "\u{85}x", "\u{A0}\u{3000}"];
        let more = ["\u{200b}", "é", " é", "\u{2028}\u{2029}", "\u{3000}字"];
        let texts = texts.into_iter().chain(more);
        for text in texts {
            assert_eq!(is_blank(text), text.trim().is_empty(), "{text:?}");
        }
    }

    #[test]
    fn clusters_across_batches_with_nulls_and_empties() {
        let texts = [Some("Hello  World"), None, Some(""), Some("hello world"), Some(""), Some("other")];
        let (s, ids) = audit(&texts, Normalize::Default);
        assert_eq!(ids, vec![0, NO_CLUSTER, 2, 0, 2, 5]);
        assert_eq!((s.rows, s.null_rows, s.empty_rows), (6, 1, 2));
        // Whitespace alone (an ideographic space, a line break) is empty too, normalised or not.
        for normalize in [Normalize::Default, Normalize::None] {
            let (s, _) = audit(&[Some(" \u{3000}"), Some("\n"), Some("\u{200b}"), Some(" a ")], normalize);
            assert_eq!(s.empty_rows, 2, "{normalize:?}");
        }
        assert_eq!((s.exact.unique, s.exact.duplicate_rows, s.exact.clusters), (3, 2, 2));
        assert_eq!(s.exact.top[0].preview, "hello world");

        let (s, ids) = audit(&texts, Normalize::None);
        assert_eq!(ids, vec![0, NO_CLUSTER, 2, 3, 2, 5]);
        assert_eq!(s.exact.unique, 4);
    }

    #[test]
    fn lengths_words_and_diversity() {
        let texts = [Some("a b a"), Some("b c"), Some("héllo")];
        let (s, _) = audit(&texts, Normalize::Default);
        assert_eq!(s.chars.as_ref().unwrap().max, 5);
        assert_eq!(s.words.as_ref().unwrap().max, 3);
        // chars 5, 3, 5: one in [2, 4), two in [4, 8); empty leading bins kept
        assert_eq!(s.chars.as_ref().unwrap().histogram, vec![[0, 1, 0], [1, 2, 0], [2, 4, 1], [4, 8, 2]]);
        assert_eq!(s.total_bytes, 5 + 3 + 6);
        assert_eq!(s.tokens_estimate, 14 / 4);
        // words: a b a b c héllo -> 4 distinct of 6; bigrams: ab ba bc -> 3 of 3
        assert_eq!(s.diversity.vocabulary, 4);
        assert_eq!(s.diversity.distinct_1, Some(4.0 / 6.0));
        assert_eq!(s.diversity.distinct_2, Some(1.0));
        assert!(!s.diversity.estimated && !s.diversity.vocabulary_estimated && !s.diversity.bigrams_estimated);
    }

    #[test]
    fn word_pairs_stay_within_a_row() {
        // Four rows "a b": one distinct pair of four. A pair across rows ("b a") would make it
        // two of six.
        let (s, _) = audit(&[Some("a b"); 4], Normalize::Default);
        assert_eq!(s.diversity.distinct_2, Some(1.0 / 4.0));
        assert_eq!(s.diversity.distinct_1, Some(2.0 / 8.0));
    }

    #[test]
    fn same_result_on_any_thread_count() {
        let texts: Vec<Option<String>> = (0..20_000)
            .map(|i| if i % 97 == 0 { None } else { Some(format!("Row {} of  {}", i % 1234, i % 7)) })
            .collect();
        let run = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut a =
                    Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: true, near: None })
                        .unwrap();
                a.update(&texts, None).unwrap();
                (a.summary(false), a.row_ids().unwrap().to_vec())
            })
        };
        assert_eq!(run(1), run(4));
    }

    #[test]
    fn ascii_word_count_matches_split_whitespace() {
        for text in ["", " ", "a", " a b  c ", "a\x0Bb\x0Cc\rd", "tab\tsep\n", "x\u{a0}y"] {
            assert_eq!(word_count(text), text.split_whitespace().count() as u64, "{text:?}");
        }
    }

    #[test]
    fn near_clusters_contain_exact_clusters_and_planted_copies() {
        let base = "the committee met on tuesday to discuss the annual budget and agreed to postpone the vote until next month";
        let near_copy =
            "the committee met on tuesday to discuss the annual budget and agreed to postpone the vote until next week";
        let texts = vec![
            Some(base.to_string()),
            Some(
                "an entirely different sentence about cooking pasta with garlic olive oil and fresh basil leaves"
                    .to_string(),
            ),
            Some(base.to_uppercase()),
            Some(near_copy.to_string()),
            None,
        ];
        let options =
            AuditOptions { normalize: Normalize::Default, keep_row_ids: true, near: Some(NearOptions::default()) };
        let mut a = Auditor::new(options).unwrap();
        a.update(&texts, None).unwrap();
        a.finish_near().unwrap();
        assert_eq!(a.row_ids().unwrap(), &[0, 1, 0, 3, NO_CLUSTER]);
        assert_eq!(a.near_ids().unwrap(), &[0, 1, 0, 0, NO_CLUSTER]);
        let s = a.near_summary(10).unwrap();
        assert_eq!((s.unique, s.duplicate_rows, s.largest_cluster), (2, 2, 3));
        assert_eq!(a.near_size_histogram().unwrap(), vec![[1, 1], [3, 1]]);
        let members = a.near_members(&[0, 1], 5).unwrap();
        // Least similar to the representative first: the near copy, then the exact one (1.0).
        assert_eq!(members[0].iter().map(|m| m.row).collect::<Vec<_>>(), vec![3, 2]);
        assert!(members[0][0].similarity.is_some_and(|s| (0.7..1.0).contains(&s)));
        assert_eq!(members[0][1].similarity, Some(1.0));
        assert!(members[1].is_empty());
        let exact = a.summary(false).exact;
        assert_eq!(exact.size_histogram, vec![[1, 2], [2, 1]]);
        assert_eq!(exact.top[0].members, vec![2]);
        assert!(a.update(&texts, None).is_err()); // no rows after finish
    }

    #[test]
    fn fused_sketches_equal_the_standalone_near_index() {
        // The audit sketches from its statistics pass's word hashes; a standalone NearIndex
        // shingles the text itself. Both must give the same clusters and link estimates, on
        // ASCII and Unicode text, mixed case and whitespace, short and long texts, nulls.
        use crate::near::test_support::SplitMix;
        let pieces = ["alpha", "Beta", "GAMMA", "délta", "ÉPSILON", "ﬁve", "zeta", "eta", "theta", "iota", "kappa"];
        let spaces = [" ", "  ", "\t", "\n ", "\u{a0}", "\u{3000}"];
        let mut rng = SplitMix(11);
        let mut texts: Vec<Option<String>> = Vec::new();
        for i in 0..3_000 {
            if i % 53 == 0 {
                texts.push(None);
                continue;
            }
            if i >= 10 && rng.below(3) == 0 {
                // a near copy of an earlier row: one word changed
                let source = texts[rng.below(i as u64) as usize].clone().unwrap_or_default();
                let mut words: Vec<&str> = source.split(' ').collect();
                let at = rng.below(words.len() as u64) as usize;
                words[at] = pieces[rng.below(pieces.len() as u64) as usize];
                texts.push(Some(words.join(" ")));
                continue;
            }
            let len = rng.below(25) as usize;
            let mut text = String::new();
            for _ in 0..len {
                text.push_str(pieces[rng.below(pieces.len() as u64) as usize]);
                text.push_str(spaces[rng.below(spaces.len() as u64) as usize]);
            }
            texts.push(Some(text));
        }
        for normalize in [Normalize::Default, Normalize::None] {
            let near = NearOptions { normalize, ngram: 3, threshold: 0.5, ..NearOptions::default() };
            let options = AuditOptions { normalize, keep_row_ids: true, near: Some(near.clone()) };
            let mut auditor = Auditor::new(options).unwrap();
            let mut standalone = NearIndex::new(near).unwrap();
            for batch in texts.chunks(1_000) {
                let before = auditor.rows() as usize;
                auditor.update(&batch.to_vec(), None).unwrap();
                standalone.update(&batch.to_vec(), Some(&auditor.row_ids().unwrap()[before..])).unwrap();
            }
            let fused = auditor.finish_near().unwrap().unwrap().clone();
            let alone = standalone.finish().unwrap();
            assert!(fused.links.len() > 100, "{normalize:?}: too few links to compare");
            assert_eq!(fused, alone, "{normalize:?}");
        }
    }

    #[test]
    fn conflicts_and_keep_flags_from_streamed_labels() {
        let texts = [Some("a b"), Some("A  B"), Some("c"), None, Some("c"), Some("d"), Some("a b")];
        let labels = [Some("pos"), Some("neg"), Some("pos"), Some("neg"), Some("pos"), None, None];
        let mut a =
            Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: false, near: None }).unwrap();
        assert_eq!(a.conflicts(10).unwrap(), None); // no labels yet
        // Labels given with the first batch turn on row ids; a batch without labels adds none.
        a.update(&texts[..4].to_vec(), Some(&labels[..4].to_vec())).unwrap();
        a.update(&texts[4..].to_vec(), None).unwrap();
        let c = a.conflicts(10).unwrap().unwrap();
        assert_eq!((c.exact_clusters, c.near_clusters, c.rows), (1, None, 3));
        assert_eq!(c.examples, vec![LabelExample { rows: vec![0, 1], labels: vec!["pos".into(), "neg".into()] }]);
        assert_eq!(a.keep_flags().unwrap().unwrap(), vec![true, false, true, false, false, true, false]);
        let counts = a.summary(true).labels.unwrap().counts;
        assert_eq!(counts, vec![("neg".to_string(), 2), ("pos".to_string(), 2)]);

        // Labels arriving only after rows were counted cannot be paired with those rows.
        let mut late =
            Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: false, near: None }).unwrap();
        late.update(&texts[..2].to_vec(), None).unwrap();
        assert!(late.keep_flags().unwrap().is_none());
        let err = late.update(&texts[2..4].to_vec(), Some(&labels[2..4].to_vec())).unwrap_err();
        assert!(matches!(err, CoreError::Input(_)), "{err:?}");
    }

    #[test]
    fn near_keep_flags_and_conflicts_need_finish_near() {
        let base = "the committee met on tuesday to discuss the annual budget and agreed to postpone the vote until next month";
        let texts = vec![Some(base.to_string()), Some(base.replace("month", "week")), Some("other".to_string())];
        let labels = vec![Some("x"), Some("y"), Some("x")];
        let options =
            AuditOptions { normalize: Normalize::Default, keep_row_ids: false, near: Some(NearOptions::default()) };
        let mut a = Auditor::new(options).unwrap();
        a.update(&texts, Some(&labels)).unwrap();
        assert!(matches!(a.keep_flags(), Err(CoreError::Input(_))));
        assert!(matches!(a.conflicts(10), Err(CoreError::Input(_))));
        a.finish_near().unwrap();
        assert_eq!(a.keep_flags().unwrap().unwrap(), vec![true, false, true]);
        let c = a.conflicts(10).unwrap().unwrap();
        assert_eq!((c.exact_clusters, c.near_clusters, c.rows), (0, Some(1), 2));
        assert_eq!(c.examples[0].rows, vec![0, 1]);
    }

    #[test]
    fn spilled_exact_table_gives_the_same_audit() {
        // A budget so small that the exact table spills before every batch: provisional
        // representatives must be corrected everywhere (row ids, near forest, buckets, summary,
        // eval lookups), with results equal to the unspilled audit's.
        use crate::near::test_support::SplitMix;
        let words = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda"];
        let mut rng = SplitMix(5);
        let mut texts: Vec<Option<String>> = Vec::new();
        for i in 0..6_000u64 {
            let text = if i % 61 == 0 {
                None
            } else if i > 0 && rng.below(3) == 0 {
                // a copy of an earlier row: exact, uppercased, or with one word changed
                let source = texts[rng.below(i) as usize].clone();
                source.map(|t| match rng.below(3) {
                    0 => t,
                    1 => t.to_uppercase(),
                    _ => format!("{t} {}", words[rng.below(words.len() as u64) as usize]),
                })
            } else {
                let len = 8 + rng.below(20) as usize;
                Some((0..len).map(|_| words[rng.below(words.len() as u64) as usize]).collect::<Vec<_>>().join(" "))
            };
            texts.push(text);
        }
        let eval: Vec<Option<String>> = texts.iter().step_by(7).cloned().chain([Some("unseen text".into())]).collect();
        let dir = crate::tokens::tests::temp_dir("spill");
        let tokenizer = Arc::new(
            TokenCounter::from_file(crate::tokens::tests::byte_level_tokenizer(&dir, "spill.json", |_| {})).unwrap(),
        );
        let run = |budget: u64, clustering: Clustering, verify: Verify, tokenizer: Option<Arc<TokenCounter>>| {
            let near = NearOptions {
                ngram: 3,
                threshold: 0.5,
                memory_budget: budget,
                clustering,
                verify,
                ..NearOptions::default()
            };
            let options = AuditOptions { normalize: Normalize::Default, keep_row_ids: true, near: Some(near) };
            let mut a = Auditor::new(options).unwrap();
            if let Some(tokenizer) = tokenizer {
                a.set_tokenizer(tokenizer).unwrap();
            }
            for batch in texts.chunks(500) {
                a.update(&batch.to_vec(), None).unwrap();
            }
            if verify == Verify::Exact {
                let rows = a.near_exact_rows().unwrap().unwrap();
                let given: Vec<Option<String>> = rows.iter().map(|&r| texts[r as usize].clone()).collect();
                a.near_add_exact_texts(&rows, &given).unwrap();
            }
            let clusters = a.finish_near().unwrap().unwrap().clone();
            let spilled = a.exact_index().is_spilled();
            let mut probe = a.new_eval_probe();
            for batch in eval.chunks(300) {
                a.probe_update(&mut probe, &batch.to_vec()).unwrap();
            }
            if let Some((eval_rows, train_rows)) = a.probe_exact_rows(&mut probe).unwrap() {
                let pick = |from: &[Option<String>], rows: &[u64]| -> Vec<Option<String>> {
                    rows.iter().map(|&r| from[r as usize].clone()).collect()
                };
                let side = crate::near::LeakSide::Eval;
                a.probe_add_exact_texts(&mut probe, side, &eval_rows, &pick(&eval, &eval_rows)).unwrap();
                let side = crate::near::LeakSide::Train;
                a.probe_add_exact_texts(&mut probe, side, &train_rows, &pick(&texts, &train_rows)).unwrap();
            }
            let near_matches = a.probe_near_matches(&probe, None).unwrap();
            let summary = a.summary(false);
            (spilled, summary, a.row_ids().unwrap().to_vec(), clusters, probe.exact_matches().to_vec(), near_matches)
        };
        let cases = [
            (Clustering::Representative, Verify::Sketch, None),
            (Clustering::Components, Verify::Sketch, None),
            (Clustering::Representative, Verify::Exact, Some(tokenizer.clone())),
            (Clustering::Components, Verify::Exact, Some(tokenizer)),
        ];
        for (clustering, verify, tokenizer) in cases {
            let case = format!("{clustering:?} {verify:?} tokenizer {}", tokenizer.is_some());
            let (spilled_small, mut small, small_ids, small_clusters, small_exact, small_near) =
                run(64 << 10, clustering, verify, tokenizer.clone());
            let (spilled_big, mut big, big_ids, big_clusters, big_exact, big_near) =
                run(1 << 30, clustering, verify, tokenizer);
            assert!(spilled_small && !spilled_big, "{case}");
            assert_eq!(small_ids, big_ids, "{case}");
            assert!(small.exact.duplicate_rows > 1_000, "too few duplicates to test");
            assert!(small_exact.len() > 100 && small_near.len() > 100, "{case}");
            // Previews may come from another member of the cluster: same text, same preview.
            for top in small.exact.top.iter_mut().chain(big.exact.top.iter_mut()) {
                assert!(!top.preview.is_empty());
            }
            // Exact unique tokens are counted when a row opens its cluster: a spilled table must
            // not count its provisional representatives.
            assert_eq!(small.tokens, big.tokens, "{case}");
            assert_eq!(small, big, "{case}");
            assert_eq!(small_clusters, big_clusters, "{case}");
            assert_eq!(small_exact, big_exact, "{case}");
            assert_eq!(small_near, big_near, "{case}");
        }
    }

    #[test]
    fn label_length_mismatch_is_an_input_error() {
        let mut a =
            Auditor::new(AuditOptions { normalize: Normalize::Default, keep_row_ids: false, near: None }).unwrap();
        let err = a.update(&vec![Some("a")], Some(&vec![Some("x"), Some("y")])).unwrap_err();
        assert!(matches!(err, CoreError::Input(_)));
    }
}
