//! The one error of this crate: what stops a fuzzing run from starting or saving its findings.

use std::path::PathBuf;

/// Why a fuzzing run could not be done (a finding is not an error: it is in the report).
#[derive(Debug, thiserror::Error)]
pub enum FuzzError {
    #[error("there is no fuzz target named \"{0}\" (known: {known})", known = crate::TARGETS.join(", "))]
    UnknownTarget(String),
    #[error("cannot use {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A target could not set up what it fuzzes (a collector, a recorder, seed batches).
    #[error("the {target} target could not start: {message}")]
    Setup {
        target: &'static str,
        message: String,
    },
}

impl FuzzError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> FuzzError {
        let path = path.into();
        move |source| FuzzError::Io { path, source }
    }

    pub(crate) fn setup(target: &'static str, message: impl ToString) -> FuzzError {
        FuzzError::Setup {
            target,
            message: message.to_string(),
        }
    }
}
