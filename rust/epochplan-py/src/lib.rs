//! `epochplan._epochplan`: the thin binding. Converts Arrow input, releases the GIL around the
//! core's work and maps errors; no algorithm lives here.

mod arrow_import;
mod errors;

use std::panic::AssertUnwindSafe;

use std::path::PathBuf;

use epochplan_core::audit::AuditSummary;
use epochplan_core::eval_probe::EvalProbe;
use epochplan_core::lengths::LengthSummary;
use epochplan_core::near::options::default_char_ngram;
use epochplan_core::template::Side;
use epochplan_core::{AuditOptions, Clustering, CoreError, NO_CLUSTER, NearOptions, Normalize, Shingle};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use arrow_import::TextChunks;
use errors::{catch_panic, core_error};

/// Streaming audit: feed batches with `update`, call `finish_near()`, read `summary()`.
/// Eval splits go through `eval_begin` / `eval_update` / `eval_finish`.
#[pyclass(module = "epochplan._epochplan")]
struct Auditor {
    inner: CoreAuditor,
    probe: Option<EvalProbe>,
}

type CoreAuditor = epochplan_core::Auditor;

fn ids_to_bytes<'py>(py: Python<'py>, ids: &[u64]) -> Bound<'py, PyBytes> {
    let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_le_bytes()).collect();
    PyBytes::new(py, &bytes)
}

#[pymethods]
impl Auditor {
    #[new]
    #[pyo3(signature = (normalize = "default", keep_row_ids = false, near = false, threshold = 0.7, ngram = 5,
                        shingle = "auto", num_perm = 128, memory_budget = 1 << 30, temp_dir = None,
                        clustering = "representative", char_ngram = None))]
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
    ) -> PyResult<Self> {
        let normalize: Normalize = normalize.parse().map_err(core_error)?;
        let shingle: Shingle = shingle.parse().map_err(core_error)?;
        let clustering: Clustering = clustering.parse().map_err(core_error)?;
        let near_options = NearOptions {
            normalize,
            shingle,
            ngram,
            char_ngram: char_ngram.unwrap_or_else(|| default_char_ngram(shingle, ngram)),
            clustering,
            num_perm,
            threshold,
            lsh: None,
            memory_budget,
            temp_dir,
        };
        // Checked even with near detection off, so a bad setting is reported, not ignored.
        near_options.resolve().map_err(core_error)?;
        let near = near.then_some(near_options);
        let inner = CoreAuditor::new(AuditOptions { normalize, keep_row_ids, near }).map_err(core_error)?;
        Ok(Auditor { inner, probe: None })
    }

    /// Add one batch. `texts` and `labels` are Arrow string columns (PyCapsule stream).
    #[pyo3(signature = (texts, labels = None))]
    fn update(&mut self, py: Python<'_>, texts: &Bound<'_, PyAny>, labels: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let texts = TextChunks::import(texts, "text column")?;
        let labels = labels.map(|l| TextChunks::import(l, "label column")).transpose()?;
        let inner = &mut self.inner;
        py.detach(|| {
            catch_panic(AssertUnwindSafe(|| {
                inner.update(&texts, labels.as_ref().map(|l| l as &dyn epochplan_core::TextColumn)).map_err(core_error)
            }))
        })
    }

    /// Link and verify near duplicates (no-op without near detection). Call once, after the
    /// last `update`.
    fn finish_near(&mut self, py: Python<'_>) -> PyResult<()> {
        let inner = &mut self.inner;
        py.detach(|| catch_panic(AssertUnwindSafe(|| inner.finish_near().map(|_| ()).map_err(core_error))))
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
        let out = PyList::empty(py);
        for candidate in self.inner.template_candidates(min_count) {
            let item = PyDict::new(py);
            item.set_item("side", candidate.side.as_str())?;
            item.set_item("chars", candidate.chars)?;
            item.set_item("count", candidate.count)?;
            item.set_item("row", candidate.row)?;
            out.append(item)?;
        }
        Ok(out)
    }

    fn eval_begin(&mut self) {
        self.probe = Some(self.inner.new_eval_probe());
    }

    /// Add a batch of the current eval split.
    fn eval_update(&mut self, py: Python<'_>, texts: &Bound<'_, PyAny>) -> PyResult<()> {
        let texts = TextChunks::import(texts, "eval text column")?;
        let Some(probe) = self.probe.as_mut() else {
            return Err(errors::internal_error("eval_update before eval_begin".into()));
        };
        let inner = &self.inner;
        py.detach(|| catch_panic(AssertUnwindSafe(|| inner.probe_update(probe, &texts).map_err(core_error))))
    }

    /// End the eval split: (rows, exact matches [(eval_row, train_row)], near matches
    /// [(eval_row, train_row, similarity)]).
    #[pyo3(signature = (max_per_eval_row = None))]
    #[allow(clippy::type_complexity)]
    fn eval_finish(
        &mut self,
        py: Python<'_>,
        max_per_eval_row: Option<usize>,
    ) -> PyResult<(u64, Vec<(u64, u64)>, Vec<(u64, u64, f64)>)> {
        let Some(probe) = self.probe.take() else {
            return Err(errors::internal_error("eval_finish before eval_begin".into()));
        };
        let inner = &self.inner;
        let near = py.detach(|| {
            catch_panic(AssertUnwindSafe(|| inner.probe_near_matches(&probe, max_per_eval_row).map_err(core_error)))
        })?;
        let exact = probe.exact_matches().iter().map(|m| (m.eval_row, m.train_row)).collect();
        let near = near.iter().map(|m| (m.eval_row, m.train_row, m.similarity)).collect();
        Ok((probe.rows(), exact, near))
    }

    #[getter]
    fn rows(&self) -> u64 {
        self.inner.rows()
    }

    /// Per-row exact cluster ids as little-endian u64 bytes (u64::MAX = null text), or None
    /// when the auditor was created without `keep_row_ids`.
    fn row_ids<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.row_ids().map(|ids| ids_to_bytes(py, ids))
    }

    #[pyo3(signature = (with_labels = false))]
    fn summary<'py>(&self, py: Python<'py>, with_labels: bool) -> PyResult<Bound<'py, PyDict>> {
        let summary = py.detach(|| self.inner.summary(with_labels));
        let d = summary_to_dict(py, &summary)?;
        d.set_item("near", self.near_summary_dict(py)?)?;
        Ok(d)
    }
}

impl Auditor {
    fn near_summary_dict<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let (Some(summary), Some(options), Some(index)) =
            (self.inner.near_summary(10), self.inner.options().near.as_ref(), self.inner.near_index())
        else {
            return Ok(None);
        };
        let d = PyDict::new(py);
        d.set_item("unique", summary.unique)?;
        d.set_item("duplicate_rows", summary.duplicate_rows)?;
        d.set_item("clusters", summary.clusters)?;
        d.set_item("largest_cluster", summary.largest_cluster)?;
        let top = PyList::empty(py);
        for t in &summary.top {
            let item = PyDict::new(py);
            item.set_item("row", t.row)?;
            item.set_item("count", t.count)?;
            // Only exact clusters keep a preview; Python fills the others from the source.
            item.set_item("preview", self.inner.exact_preview(t.row))?;
            top.append(item)?;
        }
        d.set_item("top", top)?;
        d.set_item("threshold", options.threshold)?;
        d.set_item("ngram", options.ngram)?;
        d.set_item("shingle", options.shingle.as_str())?;
        d.set_item("char_ngram", options.char_ngram)?;
        d.set_item("clustering", options.clustering.as_str())?;
        d.set_item("num_perm", options.num_perm)?;
        let plan = index.plan();
        d.set_item("bands", plan.bands)?;
        d.set_item("rows_per_band", plan.rows_per_band)?;
        if let Some(clusters) = self.inner.near_clusters() {
            // Cost and cap counters, for benchmarks (not part of the JSON report).
            d.set_item("checked_pairs", clusters.checked_pairs)?;
            d.set_item("capped_rows", clusters.capped_rows)?;
        }
        Ok(Some(d))
    }
}

fn lengths_to_dict<'py>(py: Python<'py>, s: &Option<LengthSummary>) -> PyResult<Option<Bound<'py, PyDict>>> {
    s.as_ref()
        .map(|s| {
            let d = PyDict::new(py);
            d.set_item("mean", s.mean)?;
            d.set_item("p50", s.p50)?;
            d.set_item("p90", s.p90)?;
            d.set_item("p99", s.p99)?;
            d.set_item("max", s.max)?;
            Ok(d)
        })
        .transpose()
}

fn summary_to_dict<'py>(py: Python<'py>, s: &AuditSummary) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("rows", s.rows)?;
    d.set_item("null_rows", s.null_rows)?;
    d.set_item("empty_rows", s.empty_rows)?;

    let exact = PyDict::new(py);
    exact.set_item("unique", s.exact.unique)?;
    exact.set_item("duplicate_rows", s.exact.duplicate_rows)?;
    exact.set_item("clusters", s.exact.clusters)?;
    exact.set_item("largest_cluster", s.exact.largest_cluster)?;
    let top = PyList::empty(py);
    for t in &s.exact.top {
        let item = PyDict::new(py);
        item.set_item("row", t.row)?;
        item.set_item("count", t.count)?;
        item.set_item("preview", &t.preview)?;
        top.append(item)?;
    }
    exact.set_item("top", top)?;
    d.set_item("exact", exact)?;

    d.set_item("chars", lengths_to_dict(py, &s.chars)?)?;
    d.set_item("words", lengths_to_dict(py, &s.words)?)?;
    d.set_item("total_bytes", s.total_bytes)?;
    d.set_item("tokens_estimate", s.tokens_estimate)?;

    match &s.labels {
        None => d.set_item("labels", py.None())?,
        Some(l) => {
            let labels = PyDict::new(py);
            let counts = PyDict::new(py);
            for (label, count) in &l.counts {
                counts.set_item(label, count)?;
            }
            labels.set_item("counts", counts)?;
            labels.set_item("null_labels", l.null_labels)?;
            labels.set_item("entropy_normalized", l.entropy_normalized)?;
            labels.set_item("imbalance_ratio", l.imbalance_ratio)?;
            d.set_item("labels", labels)?;
        }
    }

    let diversity = PyDict::new(py);
    diversity.set_item("vocabulary", s.diversity.vocabulary)?;
    diversity.set_item("distinct_1", s.diversity.distinct_1)?;
    diversity.set_item("distinct_2", s.diversity.distinct_2)?;
    diversity.set_item("estimated", s.diversity.estimated)?;
    d.set_item("diversity", diversity)?;
    Ok(d)
}

/// The preview the audit shows for a cluster: the core's normalisation of `text` (mode
/// "default" or "none"), cut to the preview length.
#[pyfunction]
#[pyo3(signature = (text, normalize = "default"))]
fn preview(text: &str, normalize: &str) -> PyResult<String> {
    let normalize: Normalize = normalize.parse().map_err(core_error)?;
    let mut buf = String::new();
    Ok(epochplan_core::exact::preview(text, normalize, &mut buf))
}

/// The shared text a template candidate names: the first (side "prefix") or last ("suffix")
/// `chars` characters of `text` normalised with `normalize`.
#[pyfunction]
#[pyo3(signature = (text, side, chars, normalize = "default"))]
fn template_text(text: &str, side: &str, chars: usize, normalize: &str) -> PyResult<String> {
    let normalize: Normalize = normalize.parse().map_err(core_error)?;
    let side = match side {
        "prefix" => Side::Prefix,
        "suffix" => Side::Suffix,
        other => return Err(core_error(CoreError::Input(format!("side {other:?}: use \"prefix\" or \"suffix\"")))),
    };
    Ok(epochplan_core::template::shared_text(text, normalize, side, chars))
}

#[pymodule]
fn _epochplan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("NO_CLUSTER", NO_CLUSTER)?;
    m.add_class::<Auditor>()?;
    m.add_function(wrap_pyfunction!(preview, m)?)?;
    m.add_function(wrap_pyfunction!(template_text, m)?)?;
    Ok(())
}
