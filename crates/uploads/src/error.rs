//! The one error type of the uploads crate. Messages are sentences a person can act on: they end
//! up in the dashboard, a notification or a terminal.

use std::path::PathBuf;

use glasshouse_batch::BatchError;
use glasshouse_core::CoreError;
use glasshouse_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error(
        "this device is not enrolled with a collector yet; enroll it first (`glasshouse enroll --collector URL --token TOKEN`)"
    )]
    NotEnrolled,
    #[error("this device is already enrolled in team \"{team}\" at {collector}")]
    AlreadyEnrolled { team: String, collector: String },
    #[error(
        "you are not taking part in uploads, so no batch is offered or sent; turn taking part on first"
    )]
    NotParticipating,
    #[error("there is no upload batch {id}")]
    NoSuchBatch { id: i64 },
    #[error(
        "batch {id} changed since it was shown to you (input in it was deleted, or a setting changed); look at it again before approving"
    )]
    Changed { id: i64 },
    #[error("batch {id} is {state}: {what}")]
    WrongState {
        id: i64,
        state: &'static str,
        what: String,
    },
    #[error("\"{url}\" is not a collector address: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("could not reach the collector at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("the collector refused the request ({status}): {message}")]
    Refused { status: u16, message: String },
    #[error("the collector had a problem ({status}): {message}; it will be tried again")]
    Server { status: u16, message: String },
    #[error("the collector sent an answer this version does not understand: {0}")]
    BadAnswer(String),
    #[error("cannot use {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the device file {} is damaged ({reason}); enroll again to replace it", .path.display())]
    BadDeviceFile { path: PathBuf, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Batch(#[from] BatchError),
    #[error(transparent)]
    Settings(#[from] CoreError),
}

impl UploadError {
    /// A short stable name for the kind of error (IPC and JSON output).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotEnrolled | Self::AlreadyEnrolled { .. } => "enrollment",
            Self::NotParticipating => "participation",
            Self::NoSuchBatch { .. } => "not_found",
            Self::Changed { .. } => "changed",
            Self::WrongState { .. } => "state",
            Self::BadUrl { .. } => "usage",
            Self::Unreachable { .. } | Self::Server { .. } | Self::BadAnswer(_) => "collector",
            Self::Refused { .. } => "refused",
            Self::Io { .. } | Self::BadDeviceFile { .. } => "io",
            Self::Store(_) => "store",
            Self::Batch(_) => "batch",
            Self::Settings(_) => "settings",
        }
    }

    /// Whether trying the same request again later may succeed (the collector is down or busy).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable { .. } | Self::Server { .. } => true,
            Self::Refused { status, .. } => matches!(status, 408 | 429),
            _ => false,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> UploadError {
        let path = path.into();
        move |source| UploadError::Io { path, source }
    }
}
