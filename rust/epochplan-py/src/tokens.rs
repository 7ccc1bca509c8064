//! Binding of the core's token counting: `TokenCounter` and `TokenLengths`.

use std::path::PathBuf;
use std::sync::Arc;

use epochplan_core::tokens;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::arrow_import::TextChunks;
use crate::call::call_core;
use crate::errors::input_error;

/// Null rows in `count_bytes` output.
pub const NULL_TOKENS: u32 = u32::MAX;

/// Exact token counts with a Hugging Face `tokenizer.json`: `encode(text, add_special_tokens=False)`.
#[pyclass(module = "epochplan._epochplan", frozen)]
pub struct TokenCounter {
    /// Shared with the auditors it is given to (`Auditor.set_tokenizer`).
    pub inner: Arc<tokens::TokenCounter>,
}

impl TokenCounter {
    fn count_column(&self, py: Python<'_>, texts: &Bound<'_, PyAny>) -> PyResult<Vec<Option<u32>>> {
        let texts = TextChunks::import(texts, "text column")?;
        let inner = &self.inner;
        call_core(py, || inner.count(&texts))
    }
}

#[pymethods]
impl TokenCounter {
    #[new]
    fn new(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let inner = call_core(py, || tokens::TokenCounter::from_file(&path))?;
        Ok(TokenCounter { inner: Arc::new(inner) })
    }

    /// A counter from a `tokenizer.json`'s bytes, read once by the caller (who hashes the same
    /// bytes); `path` names it in errors and is not read.
    #[staticmethod]
    fn from_bytes(py: Python<'_>, data: &[u8], path: PathBuf) -> PyResult<Self> {
        let inner = call_core(py, || tokens::TokenCounter::from_bytes(data, &path))?;
        Ok(TokenCounter { inner: Arc::new(inner) })
    }

    #[getter]
    fn path(&self) -> PathBuf {
        self.inner.path().to_path_buf()
    }

    /// Tokens the file's post-processor adds to one sequence (`[CLS]`/`[SEP]`, BOS/EOS) under
    /// `add_special_tokens=True`; counts leave them out. 0 without a post-processor.
    #[getter]
    fn special_tokens_per_sample(&self) -> u32 {
        self.inner.special_tokens_per_sample()
    }

    /// Those tokens, in order (`["[CLS]", "[SEP]"]`); empty when there are none.
    #[getter]
    fn special_tokens(&self) -> Vec<String> {
        self.inner.special_tokens()
    }

    /// Token count per row (None for a null row). `texts`: an Arrow string column.
    fn count(&self, py: Python<'_>, texts: &Bound<'_, PyAny>) -> PyResult<Vec<Option<u32>>> {
        self.count_column(py, texts)
    }

    /// Token count per row as little-endian u32 (NULL_TOKENS for a null row).
    fn count_bytes<'py>(&self, py: Python<'py>, texts: &Bound<'py, PyAny>) -> PyResult<Bound<'py, PyBytes>> {
        let counts = self.count_column(py, texts)?;
        let bytes: Vec<u8> = counts.iter().flat_map(|c| c.unwrap_or(NULL_TOKENS).to_le_bytes()).collect();
        Ok(PyBytes::new(py, &bytes))
    }
}

/// Exact distribution of token counts per sample; mergeable.
#[pyclass(module = "epochplan._epochplan")]
#[derive(Default)]
pub struct TokenLengths {
    inner: tokens::TokenLengths,
}

#[pymethods]
impl TokenLengths {
    #[new]
    fn new() -> Self {
        Self::default()
    }

    /// Add the counts `TokenCounter.count_bytes` returned (null rows are skipped).
    fn add_bytes(&mut self, counts: &[u8]) -> PyResult<()> {
        if !counts.len().is_multiple_of(4) {
            return Err(input_error(format!("token counts must be little-endian u32, got {} bytes", counts.len())));
        }
        for count in counts.chunks_exact(4) {
            let count = u32::from_le_bytes(count.try_into().expect("chunks of 4"));
            if count != NULL_TOKENS {
                self.inner.add(count);
            }
        }
        Ok(())
    }

    /// Add counts from a list (None entries are skipped).
    fn add(&mut self, counts: Vec<Option<u32>>) {
        self.inner.extend(&counts);
    }

    fn merge(&mut self, other: PyRef<'_, TokenLengths>) {
        self.inner.merge(&other.inner);
    }

    #[getter]
    fn samples(&self) -> u64 {
        self.inner.samples()
    }

    #[getter]
    fn total(&self) -> u64 {
        self.inner.total()
    }

    /// {samples, total, mean, p50, p90, p99, max}, or None when no sample was added.
    fn summary<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        self.inner
            .summary()
            .map(|s| {
                let d = PyDict::new(py);
                d.set_item("samples", s.samples)?;
                d.set_item("total", s.total)?;
                d.set_item("mean", s.mean)?;
                d.set_item("p50", s.p50)?;
                d.set_item("p90", s.p90)?;
                d.set_item("p99", s.p99)?;
                d.set_item("max", s.max)?;
                Ok(d)
            })
            .transpose()
    }

    /// [(token length, samples)] for every length that occurs, ascending.
    fn table(&self) -> Vec<(u64, u64)> {
        self.inner.table()
    }

    /// The distribution of a [(token length, samples)] table (`table()`'s shape, or an audit's
    /// `lengths.tokens.unique_lengths`).
    #[staticmethod]
    fn from_table(table: Vec<(u64, u64)>) -> Self {
        TokenLengths { inner: tokens::TokenLengths::from_table(&table) }
    }

    /// [(lo, hi, samples)] in power-of-two bins [0,1), [1,2), [2,4), ... up to the maximum.
    fn histogram(&self) -> Vec<[u64; 3]> {
        self.inner.histogram()
    }

    /// First-fit-decreasing packing into `seq_len`-token sequences, `overhead` tokens added to
    /// every sample: (sequences, tokens, efficiency).
    #[pyo3(signature = (seq_len, overhead = 0))]
    fn packing(&self, py: Python<'_>, seq_len: u64, overhead: u64) -> PyResult<(u64, u64, f64)> {
        let inner = &self.inner;
        let p = call_core(py, || inner.packing(seq_len, overhead))?;
        Ok((p.sequences, p.tokens, p.efficiency))
    }

    /// (samples, tokens) cut off at `seq_len` once `overhead` tokens are added to every sample.
    #[pyo3(signature = (seq_len, overhead = 0))]
    fn truncation(&self, seq_len: u64, overhead: u64) -> (u64, u64) {
        let t = self.inner.truncation(seq_len, overhead);
        (t.samples, t.tokens)
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("NULL_TOKENS", NULL_TOKENS)?;
    m.add_class::<TokenCounter>()?;
    m.add_class::<TokenLengths>()?;
    Ok(())
}
