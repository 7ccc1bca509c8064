//! The one error type of the core. The binding maps it to Python exceptions in one place.

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The caller passed something the core cannot work with (bad option, mismatched columns).
    #[error("{0}")]
    Input(String),
    /// A bug or an impossible state inside the core.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T> = std::result::Result<T, CoreError>;
