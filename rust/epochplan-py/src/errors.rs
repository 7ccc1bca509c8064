//! The one place where core errors and panics become Python exceptions. The exception classes
//! are defined once, in Python (`epochplan/errors.py`), and looked up here.

use epochplan_core::CoreError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

fn error_class(py: Python<'_>, name: &str) -> PyResult<Py<PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || py.import("epochplan.errors").map(Bound::unbind))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?.unbind())
}

fn raise(name: &'static str, message: String) -> PyErr {
    Python::attach(|py| match error_class(py, name) {
        Ok(class) => PyErr::from_type(class.into_bound(py), message),
        Err(e) => e,
    })
}

pub fn input_error(message: String) -> PyErr {
    raise("InputError", message)
}

pub fn internal_error(message: String) -> PyErr {
    raise("InternalError", message)
}

pub fn core_error(error: CoreError) -> PyErr {
    match error {
        CoreError::Input(m) => input_error(m),
        CoreError::Internal(m) => internal_error(m),
    }
}

/// Run `f`, turning a Rust panic into `epochplan.InternalError` instead of a crash.
pub fn catch_panic<T>(f: impl FnOnce() -> PyResult<T> + std::panic::UnwindSafe) -> PyResult<T> {
    std::panic::catch_unwind(f).unwrap_or_else(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        Err(internal_error(format!("Rust panic in epochplan core: {message}")))
    })
}
