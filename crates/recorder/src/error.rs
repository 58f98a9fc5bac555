//! The one error type of the recorder crate.

use std::path::PathBuf;

/// What can go wrong when running or talking to a recorder.
#[derive(Debug, thiserror::Error)]
pub enum RecorderError {
    #[error("a recorder is already running for {data_dir} (pid {pid})")]
    AlreadyRunning { data_dir: PathBuf, pid: u32 },
    #[error(
        "no Glasshouse recorder is running for {data_dir}: start one with `glasshouse record` (or the tray app)"
    )]
    NotRunning { data_dir: PathBuf },
    #[error("cannot use {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not safe to use: {reason}")]
    Unsafe { path: PathBuf, reason: String },
    #[error("{0}")]
    Invalid(String),
    #[error("the running recorder sent an answer this version does not understand: {0}")]
    Protocol(String),
    #[error("the running recorder refused: {message}")]
    Remote { kind: String, message: String },
    #[error(transparent)]
    Store(#[from] glasshouse_store::StoreError),
    #[error(transparent)]
    Capture(#[from] glasshouse_capture::CaptureError),
    #[error(transparent)]
    Core(#[from] glasshouse_core::CoreError),
}

impl RecorderError {
    /// A short machine-readable kind, sent over the control socket with the message.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::AlreadyRunning { .. } => "already_running",
            Self::NotRunning { .. } => "not_running",
            Self::Io { .. } => "io",
            Self::Unsafe { .. } => "unsafe",
            Self::Protocol(_) => "protocol",
            Self::Invalid(_) => "invalid",
            Self::Remote { .. } => "remote",
            Self::Store(_) => "store",
            Self::Capture(_) => "capture",
            Self::Core(_) => "settings",
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RecorderError {
        let path = path.into();
        move |source| RecorderError::Io { path, source }
    }
}
