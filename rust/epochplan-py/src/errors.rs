//! The one place where core errors and panics become Python exceptions. The exception classes
//! are defined once, in Python (`epochplan/errors.py`), and looked up here.

use epochplan_core::CoreError;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::PyType;

fn error_class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    static MODULE: PyOnceLock<Py<PyModule>> = PyOnceLock::new();
    let module = MODULE.get_or_try_init(py, || py.import("epochplan.errors").map(Bound::unbind))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

fn raise(name: &'static str, message: String) -> PyErr {
    Python::attach(|py| match error_class(py, name) {
        Ok(class) => PyErr::from_type(class, message),
        Err(e) => e,
    })
}

pub fn input_error(message: String) -> PyErr {
    raise("InputError", message)
}

pub fn internal_error(message: String) -> PyErr {
    raise("InternalError", message)
}

/// `epochplan.StorageError` (an `OSError`) with the whole message as its text and, when the OS
/// gave one, its error number as `errno` (so `e.errno == errno.ENOSPC` works).
fn storage_error(message: String, os_error: Option<i32>) -> PyErr {
    Python::attach(|py| {
        let build = || -> PyResult<PyErr> {
            let error = error_class(py, "StorageError")?.call1((message,))?;
            if let Some(number) = os_error {
                // errno alone: setting strerror or filename too would make OSError rewrite the text.
                error.setattr("errno", number)?;
            }
            Ok(PyErr::from_value(error))
        };
        build().unwrap_or_else(|e| e)
    })
}

pub fn core_error(error: CoreError) -> PyErr {
    match error {
        CoreError::Input(m) => input_error(m),
        CoreError::Internal(_) => internal_error(error.to_string()),
        CoreError::Io { .. } => storage_error(error.to_string(), error.os_error()),
    }
}

/// `epochplan.InternalError` for a Rust panic, with the panic's message.
pub fn panic_error(payload: Box<dyn std::any::Any + Send>) -> PyErr {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    internal_error(format!("Rust panic in epochplan core: {message}"))
}
