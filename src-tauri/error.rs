//! The one error type of the app crate: everything a command can fail with, as a sentence.

/// A failed command. `Display` is the one-line reason printed on stderr.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Recorder(#[from] glasshouse_recorder::RecorderError),
    #[error(transparent)]
    Store(#[from] glasshouse_store::StoreError),
    #[error(transparent)]
    Core(#[from] glasshouse_core::CoreError),
    #[error(transparent)]
    Capture(#[from] glasshouse_capture::CaptureError),
    #[error(transparent)]
    Uploads(#[from] glasshouse_uploads::UploadError),
    #[error(transparent)]
    Vault(#[from] glasshouse_vault::VaultError),
    #[error("cannot write the output: {0}")]
    Output(#[source] std::io::Error),
    /// The user's request cannot be carried out as given.
    #[error("{0}")]
    Usage(String),
    /// The desktop shell (window, tray, event loop) failed.
    #[error("the desktop app could not start: {0}")]
    Desktop(String),
    /// `audit verify` found the activity log changed (the problems are printed first).
    #[error("{0}")]
    Tampered(String),
    /// The user declined a confirmation.
    #[error("nothing was deleted")]
    Declined,
}

impl AppError {
    /// The process exit code for this error: 2 for a bad request, 3 when no recorder runs, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            AppError::Usage(_)
            | AppError::Core(glasshouse_core::CoreError::BadDuration { .. })
            | AppError::Core(glasshouse_core::CoreError::BadTime { .. }) => 2,
            AppError::Recorder(glasshouse_recorder::RecorderError::NotRunning { .. }) => 3,
            AppError::Uploads(glasshouse_uploads::UploadError::BadUrl { .. }) => 2,
            AppError::Recorder(glasshouse_recorder::RecorderError::Remote { kind, .. })
                if kind == "invalid" || kind == "bad_request" =>
            {
                2
            }
            _ => 1,
        }
    }
}
