//! The one way the binding calls into the core for anything that takes time.

use std::panic::{AssertUnwindSafe, catch_unwind};

use pyo3::prelude::*;

use crate::errors::{core_error, panic_error};

/// Runs `work` with the GIL released (other Python threads run meanwhile), then, holding it
/// again, handles pending signals — so Ctrl-C between two batches stops the audit with
/// `KeyboardInterrupt` — and turns a core error into its Python exception and a panic into
/// `InternalError` instead of a crash.
pub fn call_core<T: Send>(py: Python<'_>, work: impl FnOnce() -> epochplan_core::Result<T> + Send) -> PyResult<T> {
    // Unwind safety is asserted, not proven: a panic is a bug, reported as InternalError, and
    // the audit is not meant to go on afterwards.
    let outcome = py.detach(|| catch_unwind(AssertUnwindSafe(work)));
    py.check_signals()?;
    match outcome {
        Ok(result) => result.map_err(core_error),
        Err(payload) => Err(panic_error(payload)),
    }
}
