//! `epochplan._epochplan`: the thin binding. Converts Arrow input and results, releases the GIL
//! around the core's work and maps errors; no algorithm lives here.
//!
//! Every call that takes time goes through [`call::call_core`].

mod arrow_import;
mod auditor;
mod call;
mod conversions;
mod errors;
mod stages;
mod tokens;

use epochplan_core::template::Side;
use epochplan_core::{CoreError, NO_CLUSTER, Normalize, defaults};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use errors::core_error;

/// The preview the audit shows for a cluster: the core's normalisation of `text` (mode
/// "default" or "none"), cut to the preview length.
#[pyfunction]
#[pyo3(signature = (text, normalize = defaults::NORMALIZE.as_str()))]
fn preview(text: &str, normalize: &str) -> PyResult<String> {
    let normalize: Normalize = normalize.parse().map_err(core_error)?;
    let mut buf = String::new();
    Ok(epochplan_core::exact::preview(text, normalize, &mut buf))
}

/// The first ("prefix") or last ("suffix") `chars` characters of `text` after the core's
/// normalisation: the text a template signal names.
#[pyfunction]
#[pyo3(signature = (text, side, chars, normalize = defaults::NORMALIZE.as_str()))]
fn template_text(text: &str, side: &str, chars: usize, normalize: &str) -> PyResult<String> {
    let normalize: Normalize = normalize.parse().map_err(core_error)?;
    let side = match side {
        "prefix" => Side::Prefix,
        "suffix" => Side::Suffix,
        other => {
            return Err(core_error(CoreError::Input(format!("unknown side {other:?}: use \"prefix\" or \"suffix\""))));
        }
    };
    Ok(epochplan_core::template::shared_text(text, normalize, side, chars))
}

/// Samples per rank and epoch under torch's DistributedSampler (padded, or trimmed with
/// `drop_last`).
#[pyfunction]
#[pyo3(signature = (samples, world_size, drop_last = false))]
fn shard_size(samples: u64, world_size: u64, drop_last: bool) -> PyResult<u64> {
    epochplan_core::sharding::shard_size(samples, world_size, drop_last).map_err(core_error)
}

/// The near-duplicate memory budget for a machine with `physical_memory` bytes (None: unknown).
#[pyfunction]
#[pyo3(signature = (physical_memory = None))]
fn memory_budget_for(physical_memory: Option<u64>) -> u64 {
    defaults::memory_budget_for(physical_memory)
}

fn defaults_dict<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("normalize", defaults::NORMALIZE.as_str())?;
    d.set_item("shingle", defaults::SHINGLE.as_str())?;
    d.set_item("threshold", defaults::THRESHOLD)?;
    d.set_item("ngram", defaults::NGRAM)?;
    d.set_item("char_ngram", defaults::CHAR_NGRAM)?;
    d.set_item("clustering", defaults::CLUSTERING.as_str())?;
    d.set_item("verify", defaults::VERIFY.as_str())?;
    d.set_item("template_share", defaults::TEMPLATE_SHARE)?;
    d.set_item("num_perm", defaults::NUM_PERM)?;
    // The most MinHash slots a sketch may have (the configuration refuses more, naming its key).
    d.set_item("max_num_perm", epochplan_core::near::minhash::MAX_NUM_PERM)?;
    // Representatives a near-duplicate row is verified against, in each of its two passes.
    d.set_item("near_max_checks", epochplan_core::near::MAX_CHECKS)?;
    d.set_item("memory_budget", defaults::MEMORY_BUDGET)?;
    d.set_item("min_memory_budget", defaults::MIN_MEMORY_BUDGET)?;
    Ok(d)
}

fn choices_dict<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (option, names) in defaults::choices() {
        d.set_item(option, names)?;
    }
    Ok(d)
}

#[pymodule]
fn _epochplan(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add("NO_CLUSTER", NO_CLUSTER)?;
    m.add("DEFAULTS", defaults_dict(py)?)?;
    m.add("CHOICES", choices_dict(py)?)?;
    m.add_class::<auditor::Auditor>()?;
    m.add_class::<stages::Measurer>()?;
    m.add_function(wrap_pyfunction!(stages::band_partitions, m)?)?;
    m.add_function(wrap_pyfunction!(stages::shared_buckets, m)?)?;
    m.add_function(wrap_pyfunction!(preview, m)?)?;
    m.add_function(wrap_pyfunction!(template_text, m)?)?;
    m.add_function(wrap_pyfunction!(shard_size, m)?)?;
    m.add_function(wrap_pyfunction!(memory_budget_for, m)?)?;
    tokens::register(m)?;
    Ok(())
}
