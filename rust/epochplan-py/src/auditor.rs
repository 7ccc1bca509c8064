//! `Auditor`: the core's streaming audit, seen from Python.

use std::path::PathBuf;

use epochplan_core::conflicts::MAX_EXAMPLES;
use epochplan_core::defaults;
use epochplan_core::eval_probe::EvalProbe;
use epochplan_core::exact::MEMBER_ROWS;
use epochplan_core::near::NearMatch;
use epochplan_core::near::options::default_char_ngram;
use epochplan_core::{AuditOptions, Clustering, NearOptions, Normalize, Shingle, TextColumn, Verify};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::arrow_import::TextChunks;
use crate::call::call_core;
use crate::conversions::{
    conflicts_to_dict, flags_to_bytes, ids_to_bytes, near_summary_to_dict, summary_to_dict,
    template_candidates_to_list, template_signal_to_dict,
};
use crate::errors::{core_error, internal_error};
use crate::tokens::TokenCounter;

/// Streaming audit: feed batches with `update`, call `finish_near()`, read `summary()`.
/// Eval splits go through `eval_begin` / `eval_update` / `eval_finish`.
#[pyclass(module = "epochplan._epochplan")]
pub struct Auditor {
    inner: epochplan_core::Auditor,
    probe: Option<EvalProbe>,
}

/// (rows, exact matches [(eval_row, train_row)], near matches as three little-endian columns
/// (eval_row u64, train_row u64, similarity f64): on templated data they run to millions, which
/// as Python tuples cost about 300 bytes each.
type EvalMatches<'py> = (u64, Vec<(u64, u64)>, (Bound<'py, PyBytes>, Bound<'py, PyBytes>, Bound<'py, PyBytes>));

#[pymethods]
impl Auditor {
    #[new]
    #[pyo3(signature = (normalize = defaults::NORMALIZE.as_str(), keep_row_ids = false, near = false,
                        threshold = defaults::THRESHOLD, ngram = defaults::NGRAM,
                        shingle = defaults::SHINGLE.as_str(), num_perm = defaults::NUM_PERM,
                        memory_budget = defaults::MEMORY_BUDGET, temp_dir = None,
                        clustering = defaults::CLUSTERING.as_str(), char_ngram = None,
                        verify = defaults::VERIFY.as_str()))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        normalize: &str,
        keep_row_ids: bool,
        near: bool,
        threshold: f64,
        ngram: usize,
        shingle: &str,
        num_perm: usize,
        memory_budget: u64,
        temp_dir: Option<PathBuf>,
        clustering: &str,
        char_ngram: Option<usize>,
        verify: &str,
    ) -> PyResult<Self> {
        let normalize: Normalize = normalize.parse().map_err(core_error)?;
        let shingle: Shingle = shingle.parse().map_err(core_error)?;
        let clustering: Clustering = clustering.parse().map_err(core_error)?;
        let verify: Verify = verify.parse().map_err(core_error)?;
        let near_options = NearOptions {
            normalize,
            shingle,
            ngram,
            char_ngram: char_ngram.unwrap_or_else(|| default_char_ngram(shingle, ngram)),
            clustering,
            verify,
            num_perm,
            threshold,
            lsh: None,
            memory_budget,
            temp_dir,
        };
        // Checked even with near detection off, so a bad setting is reported, not ignored.
        near_options.resolve().map_err(core_error)?;
        let temp_dir = near_options.temp_dir();
        let near = near.then_some(near_options);
        let options = AuditOptions { normalize, keep_row_ids, near };
        let inner =
            epochplan_core::Auditor::with_memory_budget(options, memory_budget, temp_dir).map_err(core_error)?;
        Ok(Auditor { inner, probe: None })
    }

    /// Count tokens with `tokenizer` (a `TokenCounter`) instead of the bytes/4 estimate.
    /// Before the first batch only.
    fn set_tokenizer(&mut self, tokenizer: PyRef<'_, TokenCounter>) -> PyResult<()> {
        self.inner.set_tokenizer(tokenizer.inner.clone()).map_err(core_error)
    }

    /// Add one batch. `texts` and `labels` are Arrow string columns (PyCapsule stream).
    #[pyo3(signature = (texts, labels = None))]
    fn update(&mut self, py: Python<'_>, texts: &Bound<'_, PyAny>, labels: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let first_row = Some(self.inner.rows());
        let texts = TextChunks::import_numbered(texts, "text column", first_row)?;
        let labels = labels.map(|l| TextChunks::import_numbered(l, "label column", first_row)).transpose()?;
        let inner = &mut self.inner;
        call_core(py, || inner.update(&texts, labels.as_ref().map(|l| l as &dyn TextColumn)))
    }

    /// Add one batch measured by a `Measurer` (its bytes), numbered on from the rows so far.
    #[pyo3(signature = (measured, labels = None))]
    fn absorb(&mut self, py: Python<'_>, measured: &[u8], labels: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let labels = labels.map(|l| TextChunks::import(l, "label column")).transpose()?;
        let inner = &mut self.inner;
        call_core(py, || {
            let measure = epochplan_core::BatchMeasure::from_bytes(measured)?;
            inner.absorb(measure, labels.as_ref().map(|l| l as &dyn TextColumn))
        })
    }

    /// After the `absorb` of the batch that started at `first_row`: the member number of its
    /// first exact representative and one byte per row (1 = representative), for
    /// `band_partitions`.
    fn batch_members<'py>(&self, py: Python<'py>, first_row: u64) -> PyResult<(u32, Bound<'py, PyBytes>)> {
        let (first, keep) = self.inner.batch_members(first_row).map_err(core_error)?;
        let keep: Vec<u8> = keep.into_iter().map(u8::from).collect();
        Ok((first, PyBytes::new(py, &keep)))
    }

    /// Whether the unigram and bigram distinct counters still count exactly; a `Measurer` may
    /// skip exact sets for a counter that estimates already (the result is the same).
    fn distinct_exact(&self) -> (bool, bool) {
        let options = self.inner.measure_options();
        (options.unigrams_exact, options.bigrams_exact)
    }

    /// `finish_near` with the shared band buckets of every partition (`shared_buckets` bytes).
    fn finish_near_with_buckets(&mut self, py: Python<'_>, buckets: Vec<Vec<u8>>) -> PyResult<()> {
        let inner = &mut self.inner;
        call_core(py, || {
            let parsed = buckets
                .iter()
                .map(|b| epochplan_core::near::buckets::SharedBuckets::from_bytes(b))
                .collect::<epochplan_core::Result<Vec<_>>>()?;
            inner.finish_near_with_buckets(&parsed)
        })
    }

    /// With verify="exact", after the last `update`: the rows whose texts exact verification
    /// needs, increasing, as little-endian u64 bytes (None without near detection). Give their
    /// texts back with `add_exact_texts`, in this order, before `finish_near`.
    fn exact_rows<'py>(&mut self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let inner = &mut self.inner;
        let rows = call_core(py, || inner.near_exact_rows())?;
        Ok(rows.map(|r| ids_to_bytes(py, &r)))
    }

    /// The raw texts (Arrow strings) of the next rows `exact_rows` asked for; `rows` their row
    /// numbers as little-endian u64 bytes.
    fn add_exact_texts(&mut self, py: Python<'_>, rows: &[u8], texts: &Bound<'_, PyAny>) -> PyResult<()> {
        let rows = rows_from_bytes(rows)?;
        let texts = TextChunks::import(texts, "exact text column")?;
        let inner = &mut self.inner;
        call_core(py, || inner.near_add_exact_texts(&rows, &texts))
    }

    /// Link and verify near duplicates (no-op without near detection). Call once, after the
    /// last `update` (and, with verify="exact", after the exact texts).
    fn finish_near(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = &mut self.inner;
        call_core(py, || inner.finish_near().map(|_| ()))
    }

    /// Per-row near cluster ids as little-endian u64 bytes, after `finish_near`.
    fn near_ids<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.near_ids().map(|ids| ids_to_bytes(py, ids))
    }

    /// Per-row similarity to the near representative as little-endian f32 bytes (1.0 for the
    /// representative and its exact copies, NaN for null text), after `finish_near`.
    fn near_similarity<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.near_similarity().map(|values| {
            let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            PyBytes::new(py, &bytes)
        })
    }

    /// Openings/endings shared by at least `min_count` rows, most shared first:
    /// [{"side": "prefix"|"suffix", "chars", "count", "row"}]. `template_text` gives the text.
    #[pyo3(signature = (min_count = 2))]
    fn template_candidates<'py>(&self, py: Python<'py>, min_count: u64) -> PyResult<Bound<'py, PyList>> {
        template_candidates_to_list(py, &self.inner.template_candidates(min_count))
    }

    /// The strongest sign of a dominating template: {source, chars, count, rows, share, row},
    /// or None. With near detection on, after `finish_near`.
    fn template_signal<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.inner.template_signal().map(|s| template_signal_to_dict(py, &s)).transpose()
    }

    /// Per-row keep flags, one byte (0/1) a row: the row represents its near cluster (near
    /// detection on, after `finish_near`) or its exact cluster. None without near detection when
    /// row ids are not kept.
    fn keep_flags<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyBytes>>> {
        let inner = &self.inner;
        let flags = call_core(py, || inner.keep_flags())?;
        Ok(flags.map(|f| flags_to_bytes(py, &f)))
    }

    /// Clusters whose members carry different labels: {exact_clusters, near_clusters, rows,
    /// examples: [{rows, labels}]}, or None when no label column was given. With near detection
    /// on, call after `finish_near`.
    #[pyo3(signature = (max_examples = MAX_EXAMPLES))]
    fn conflicts<'py>(&self, py: Python<'py>, max_examples: usize) -> PyResult<Option<Bound<'py, PyDict>>> {
        let inner = &self.inner;
        let found = call_core(py, || inner.conflicts(max_examples))?;
        found.map(|c| conflicts_to_dict(py, &c)).transpose()
    }

    fn eval_begin(&mut self) {
        self.probe = Some(self.inner.new_eval_probe());
    }

    /// Add a batch of the current eval split.
    fn eval_update(&mut self, py: Python<'_>, texts: &Bound<'_, PyAny>) -> PyResult<()> {
        let texts = TextChunks::import(texts, "eval text column")?;
        let Some(probe) = self.probe.as_mut() else {
            return Err(internal_error("eval_update before eval_begin".into()));
        };
        let inner = &self.inner;
        call_core(py, || inner.probe_update(probe, &texts))
    }

    /// With near detection and verify="exact", after the eval split's last batch: the eval rows
    /// and the train rows whose texts verifying its near matches needs, each increasing, as
    /// little-endian u64 bytes (None otherwise). Give their texts back with
    /// `eval_add_exact_texts`, each side in this order, before `eval_finish`.
    fn eval_exact_rows<'py>(
        &mut self,
        py: Python<'py>,
    ) -> PyResult<Option<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)>> {
        let Some(probe) = self.probe.as_mut() else {
            return Err(internal_error("eval_exact_rows before eval_begin".into()));
        };
        let inner = &self.inner;
        let rows = call_core(py, || inner.probe_exact_rows(probe))?;
        Ok(rows.map(|(eval, train)| (ids_to_bytes(py, &eval), ids_to_bytes(py, &train))))
    }

    /// The raw texts (Arrow strings) of the next rows `eval_exact_rows` asked for on `side`
    /// ("eval" or "train"); `rows` their row numbers as little-endian u64 bytes.
    fn eval_add_exact_texts(
        &mut self,
        py: Python<'_>,
        side: &str,
        rows: &[u8],
        texts: &Bound<'_, PyAny>,
    ) -> PyResult<()> {
        let side = match side {
            "eval" => epochplan_core::near::LeakSide::Eval,
            "train" => epochplan_core::near::LeakSide::Train,
            other => return Err(internal_error(format!("leakage side {other:?}: use 'eval' or 'train'"))),
        };
        let rows = rows_from_bytes(rows)?;
        let texts = TextChunks::import(texts, "exact text column")?;
        let Some(probe) = self.probe.as_mut() else {
            return Err(internal_error("eval_add_exact_texts before eval_begin".into()));
        };
        let inner = &self.inner;
        call_core(py, || inner.probe_add_exact_texts(probe, side, &rows, &texts))
    }

    /// End the eval split: (rows, exact matches [(eval_row, train_row)], near matches as
    /// columns (eval_row, train_row, similarity)). With `exclude_exact`, near matches leave out
    /// the pairs already matched exactly (each leaked pair reported once, as exact).
    #[pyo3(signature = (max_per_eval_row = None, exclude_exact = false))]
    fn eval_finish<'py>(
        &mut self,
        py: Python<'py>,
        max_per_eval_row: Option<usize>,
        exclude_exact: bool,
    ) -> PyResult<EvalMatches<'py>> {
        let Some(probe) = self.probe.take() else {
            return Err(internal_error("eval_finish before eval_begin".into()));
        };
        let inner = &self.inner;
        let near = call_core(py, || {
            if exclude_exact {
                inner.probe_near_only_matches(&probe, max_per_eval_row)
            } else {
                inner.probe_near_matches(&probe, max_per_eval_row)
            }
        })?;
        let exact = probe.exact_matches().iter().map(|m| (m.eval_row, m.train_row)).collect();
        let column = |value: fn(&NearMatch) -> [u8; 8]| {
            PyBytes::new_with(py, near.len() * 8, |bytes| {
                for (out, m) in bytes.chunks_exact_mut(8).zip(&near) {
                    out.copy_from_slice(&value(m));
                }
                Ok(())
            })
        };
        let columns = (
            column(|m| m.eval_row.to_le_bytes())?,
            column(|m| m.train_row.to_le_bytes())?,
            column(|m| m.similarity.to_le_bytes())?,
        );
        Ok((probe.rows(), exact, columns))
    }

    #[getter]
    fn rows(&self) -> u64 {
        self.inner.rows()
    }

    /// Per-row exact cluster ids as little-endian u64 bytes (NO_CLUSTER = null text), or None
    /// when the auditor keeps no row ids (created without `keep_row_ids` and given no labels).
    fn row_ids<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.row_ids().map(|ids| ids_to_bytes(py, ids))
    }

    #[pyo3(signature = (with_labels = false))]
    fn summary<'py>(&self, py: Python<'py>, with_labels: bool) -> PyResult<Bound<'py, PyDict>> {
        let inner = &self.inner;
        let summary = call_core(py, || Ok(inner.summary(with_labels)))?;
        let d = summary_to_dict(py, &summary)?;
        let near = match (inner.near_summary(MAX_EXAMPLES), inner.near_index()) {
            (Some(near_summary), Some(index)) => {
                let representatives: Vec<u64> = near_summary.top.iter().map(|t| t.row).collect();
                let (members, histogram) = call_core(py, || {
                    Ok((
                        inner.near_members(&representatives, MEMBER_ROWS).unwrap_or_default(),
                        inner.near_size_histogram().unwrap_or_default(),
                    ))
                })?;
                let preview = |row| inner.exact_preview(row);
                let clusters = inner.near_clusters();
                let near_dict =
                    near_summary_to_dict(py, &near_summary, index, clusters, preview, &members, &histogram)?;
                near_dict.set_item("unique_tokens", summary.tokens.near_unique_tokens)?;
                Some(near_dict)
            }
            _ => None,
        };
        d.set_item("near", near)?;
        Ok(d)
    }
}

/// Row numbers given as little-endian u64 bytes.
fn rows_from_bytes(rows: &[u8]) -> PyResult<Vec<u64>> {
    if !rows.len().is_multiple_of(8) {
        return Err(internal_error(format!("row numbers: {} bytes is not a whole number of u64", rows.len())));
    }
    Ok(rows.chunks_exact(8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or_default())).collect())
}
