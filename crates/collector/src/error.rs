//! The collector's one error type: every failure of the CLI and of the HTTP API is a
//! [`CollectorError`], whose `Display` is one sentence (without the program name).

use std::path::{Path, PathBuf};

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Everything that can go wrong in the collector.
#[derive(Debug, thiserror::Error)]
pub enum CollectorError {
    /// The command line asked for something impossible (exit code 2).
    #[error("{0}")]
    Usage(String),
    #[error("cannot use {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the collector database reported an error: {0}")]
    Db(#[from] rusqlite::Error),
    #[error("{} is not a Glasshouse collector database (application_id {found:#x}); it was left untouched", .path.display())]
    NotCollectorDb { path: PathBuf, found: i64 },
    #[error("{} was written by a newer collector (schema version {found}, this one knows up to {known}); it was left untouched", .path.display())]
    NewerSchema {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("there is no team named \"{0}\"")]
    UnknownTeam(String),
    #[error("a team named \"{0}\" already exists")]
    TeamExists(String),
    /// A malformed request: bad JSON, a bad parameter, a bad header.
    #[error("{0}")]
    BadRequest(String),
    /// The uploaded bytes are not a valid batch (the batch format's own sentence).
    #[error("{0}")]
    InvalidBatch(String),
    #[error(
        "the X-Glasshouse-Sha256 header does not match the uploaded bytes, whose SHA-256 is {computed}; nothing was stored"
    )]
    ShaMismatch { computed: String },
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("this batch was withdrawn by its device and cannot be uploaded again")]
    Withdrawn,
    #[error("the request body is larger than the {limit} bytes accepted here")]
    TooLarge { limit: usize },
    #[error("a request body needs a Content-Length header (chunked bodies are not accepted)")]
    LengthRequired,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too many requests from this address; wait a moment and try again")]
    RateLimited,
    #[error("the request took too long and was abandoned")]
    Timeout,
    #[error("the collector failed unexpectedly: {0}")]
    Internal(String),
}

pub type Result<T, E = CollectorError> = std::result::Result<T, E>;

impl CollectorError {
    pub(crate) fn io(path: impl AsRef<Path>, source: std::io::Error) -> Self {
        CollectorError::Io {
            path: path.as_ref().to_owned(),
            source,
        }
    }

    /// The process exit code for this error: 2 for a wrong request, 1 for a failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            CollectorError::Usage(_)
            | CollectorError::UnknownTeam(_)
            | CollectorError::TeamExists(_)
            | CollectorError::BadRequest(_) => 2,
            _ => 1,
        }
    }

    /// The HTTP status and the stable machine-readable `kind` of this error.
    pub fn status_and_kind(&self) -> (StatusCode, &'static str) {
        use CollectorError as E;
        match self {
            E::Usage(_) | E::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            E::InvalidBatch(_) => (StatusCode::BAD_REQUEST, "invalid_batch"),
            E::ShaMismatch { .. } => (StatusCode::BAD_REQUEST, "sha256_mismatch"),
            E::UnknownTeam(_) => (StatusCode::NOT_FOUND, "unknown_team"),
            E::TeamExists(_) => (StatusCode::CONFLICT, "team_exists"),
            E::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            E::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            E::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            E::Withdrawn => (StatusCode::GONE, "withdrawn"),
            E::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            E::LengthRequired => (StatusCode::LENGTH_REQUIRED, "length_required"),
            E::UnsupportedMediaType(_) => {
                (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
            }
            E::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            E::Timeout => (StatusCode::REQUEST_TIMEOUT, "timeout"),
            E::Io { .. }
            | E::Db(_)
            | E::NotCollectorDb { .. }
            | E::NewerSchema { .. }
            | E::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

/// The JSON body of every error response.
pub(crate) fn error_body(kind: &str, message: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "kind": kind, "message": message } })
}

impl IntoResponse for CollectorError {
    fn into_response(self) -> Response {
        let (status, kind) = self.status_and_kind();
        // Internal details (paths, SQLite messages) go to the server log, not to the client.
        let message = if status.is_server_error() {
            tracing::error!("{self}");
            "the collector could not handle this request; try again later".to_owned()
        } else {
            self.to_string()
        };
        (status, Json(error_body(kind, &message))).into_response()
    }
}
