//! `epochplan._epochplan`: the thin binding. Converts Arrow input, releases the GIL around the
//! core's work and maps errors; no algorithm lives here.

mod arrow_import;
mod errors;

use std::panic::AssertUnwindSafe;

use epochplan_core::audit::AuditSummary;
use epochplan_core::lengths::LengthSummary;
use epochplan_core::{AuditOptions, Auditor, NO_CLUSTER, Normalize};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use arrow_import::TextChunks;
use errors::{catch_panic, core_error};

/// Streaming exact-duplicate audit: feed batches with `update`, read `summary()` at the end.
#[pyclass(module = "epochplan._epochplan")]
struct ExactAuditor {
    inner: Auditor,
}

#[pymethods]
impl ExactAuditor {
    #[new]
    #[pyo3(signature = (normalize = "default", keep_row_ids = false))]
    fn new(normalize: &str, keep_row_ids: bool) -> PyResult<Self> {
        let normalize: Normalize = normalize.parse().map_err(core_error)?;
        Ok(ExactAuditor { inner: Auditor::new(AuditOptions { normalize, keep_row_ids }) })
    }

    /// Add one batch. `texts` and `labels` are Arrow string columns (PyCapsule stream).
    #[pyo3(signature = (texts, labels = None))]
    fn update(&mut self, py: Python<'_>, texts: &Bound<'_, PyAny>, labels: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let texts = TextChunks::import(texts, "text column")?;
        let labels = labels.map(|l| TextChunks::import(l, "label column")).transpose()?;
        let inner = &mut self.inner;
        py.detach(|| {
            catch_panic(AssertUnwindSafe(|| {
                inner
                    .update(&texts, labels.as_ref().map(|l| l as &dyn epochplan_core::TextColumn))
                    .map_err(core_error)
            }))
        })
    }

    #[getter]
    fn rows(&self) -> u64 {
        self.inner.rows()
    }

    /// Per-row exact cluster ids as little-endian u64 bytes (u64::MAX = null text), or None
    /// when the auditor was created without `keep_row_ids`.
    fn row_ids<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyBytes>> {
        self.inner.row_ids().map(|ids| {
            let bytes: Vec<u8> = ids.iter().flat_map(|id| id.to_le_bytes()).collect();
            PyBytes::new(py, &bytes)
        })
    }

    #[pyo3(signature = (with_labels = false))]
    fn summary<'py>(&self, py: Python<'py>, with_labels: bool) -> PyResult<Bound<'py, PyDict>> {
        let summary = py.detach(|| self.inner.summary(with_labels));
        summary_to_dict(py, &summary)
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

#[pymodule]
fn _epochplan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("NO_CLUSTER", NO_CLUSTER)?;
    m.add_class::<ExactAuditor>()?;
    Ok(())
}
