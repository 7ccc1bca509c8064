//! The one error type of the core. The binding maps each variant to its own Python exception,
//! in one place, so the user can tell bad input from a full disk from a bug.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The caller passed something the core cannot work with (bad option, mismatched columns).
    #[error("{0}")]
    Input(String),
    /// Reading or writing the core's own files (spill files) failed: a full disk, a missing or
    /// unwritable temp directory. Not a bug and not bad input, so it is reported with the OS's
    /// words, where it happened and what to do about it.
    #[error("{context}: {source}{}", .help.map(|h| format!("; {h}")).unwrap_or_default())]
    Io {
        /// What was being done, and on which file or directory.
        context: String,
        #[source]
        source: io::Error,
        /// How the user can avoid it, when there is something to say.
        help: Option<&'static str>,
    },
    /// A bug or an impossible state inside the core.
    #[error("internal error: {0}")]
    Internal(String),
}

impl CoreError {
    /// An I/O failure while doing `context` (which names the file or directory).
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        CoreError::Io { context: context.into(), source, help: None }
    }

    /// The OS error number of an `Io` error (e.g. 28, ENOSPC), for the caller's `errno`.
    pub fn os_error(&self) -> Option<i32> {
        match self {
            CoreError::Io { source, .. } => source.raw_os_error(),
            _ => None,
        }
    }
}

/// An I/O error without more context; prefer [`CoreError::io`], which says where it happened.
/// Written out rather than `#[from]` because the variant also carries its context.
impl From<io::Error> for CoreError {
    fn from(source: io::Error) -> Self {
        CoreError::io("I/O error", source)
    }
}

pub type Result<T> = std::result::Result<T, CoreError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_keep_the_os_message_and_number() {
        let full = io::Error::from_raw_os_error(28);
        let err = CoreError::Io { context: "writing /tmp/x".into(), source: full, help: Some("free some space") };
        let message = err.to_string();
        assert!(message.starts_with("writing /tmp/x: No space left on device"), "{message}");
        assert!(message.ends_with("; free some space"), "{message}");
        assert_eq!(err.os_error(), Some(28));

        let plain: CoreError = io::Error::new(io::ErrorKind::NotFound, "gone").into();
        assert_eq!(plain.to_string(), "I/O error: gone");
        assert_eq!(plain.os_error(), None);
        assert_eq!(CoreError::Input("x".into()).os_error(), None);
    }
}
