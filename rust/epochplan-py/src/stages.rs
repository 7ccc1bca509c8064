//! `Measurer`: the first stage of the audit (see `epochplan_core::stages`) for an engine that
//! measures batches in other processes; `Auditor.absorb` takes its bytes back in input order.

use std::sync::Arc;

use epochplan_core::defaults;
use epochplan_core::near::options::default_char_ngram;
use epochplan_core::{MeasureOptions, NearOptions, Normalize, Shingle, measure_batch};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use epochplan_core::near::buckets::{self, BandEntry};

use crate::arrow_import::TextChunks;
use crate::call::call_core;
use crate::errors::core_error;
use crate::tokens::TokenCounter;

/// Measures batches apart from the `Auditor` that absorbs them. Created with the auditor's
/// settings (those that shape a measure); `measure` returns bytes for `Auditor.absorb`.
#[pyclass(module = "epochplan._epochplan", frozen)]
pub struct Measurer {
    options: MeasureOptions,
    tokenizer: Option<Arc<epochplan_core::tokens::TokenCounter>>,
}

#[pymethods]
impl Measurer {
    #[new]
    #[pyo3(signature = (normalize = defaults::NORMALIZE.as_str(), near = false,
                        threshold = defaults::THRESHOLD, ngram = defaults::NGRAM,
                        shingle = defaults::SHINGLE.as_str(), num_perm = defaults::NUM_PERM,
                        char_ngram = None, tokenizer = None, unigrams_exact = true, bigrams_exact = true))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        normalize: &str,
        near: bool,
        threshold: f64,
        ngram: usize,
        shingle: &str,
        num_perm: usize,
        char_ngram: Option<usize>,
        tokenizer: Option<PyRef<'_, TokenCounter>>,
        unigrams_exact: bool,
        bigrams_exact: bool,
    ) -> PyResult<Self> {
        let normalize: Normalize = normalize.parse().map_err(core_error)?;
        let shingle: Shingle = shingle.parse().map_err(core_error)?;
        let near_options = NearOptions {
            normalize,
            shingle,
            ngram,
            char_ngram: char_ngram.unwrap_or_else(|| default_char_ngram(shingle, ngram)),
            num_perm,
            threshold,
            ..NearOptions::default()
        };
        let mut options = MeasureOptions::standalone(normalize, near.then_some(&near_options)).map_err(core_error)?;
        // False only once the auditor's counter estimates (`Auditor.distinct_exact`): the
        // partials then skip their exact sets, and the result is the same.
        options.unigrams_exact = unigrams_exact;
        options.bigrams_exact = bigrams_exact;
        Ok(Measurer { options, tokenizer: tokenizer.map(|t| t.inner.clone()) })
    }

    /// Measure one batch (an Arrow string column); the bytes go to `Auditor.absorb`.
    fn measure<'py>(&self, py: Python<'py>, texts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let texts = TextChunks::import(texts, "text column")?;
        let (options, tokenizer) = (&self.options, self.tokenizer.as_deref());
        let bytes = call_core(py, || measure_batch(options, tokenizer, &texts, 0).map(|m| m.to_bytes()))?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// The map of the band-key shuffle: a measured batch's band entries of its exact
/// representatives (`keep`: one byte per row, 1 = representative; they are members
/// `first_member`, … in row order), cut into `partitions` byte strings by a hash of (band, key).
#[pyfunction]
pub fn band_partitions<'py>(
    py: Python<'py>,
    measured: &[u8],
    keep: &[u8],
    first_member: u32,
    partitions: u32,
) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let keep: Vec<bool> = keep.iter().map(|&k| k != 0).collect();
    let parts = call_core(py, || {
        epochplan_core::BatchMeasure::from_bytes(measured)?.band_partitions(&keep, first_member, partitions)
    })?;
    Ok(parts.iter().map(|p| PyBytes::new(py, p)).collect())
}

/// The reduce of the shuffle: one partition's entries from every map (any order), sorted; the
/// buckets two or more members share, as bytes for `Auditor.finish_near_with_buckets`.
#[pyfunction]
pub fn shared_buckets<'py>(py: Python<'py>, parts: Vec<Vec<u8>>) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = call_core(py, || {
        let mut entries: Vec<BandEntry> = Vec::new();
        for part in &parts {
            buckets::entries_from_bytes(part, &mut entries)?;
        }
        Ok(buckets::shared_buckets(entries).to_bytes())
    })?;
    Ok(PyBytes::new(py, &bytes))
}
