//! The one error of this crate. Every message is a sentence a person can act on: the collector
//! returns it to the app, and the app shows it.

use glasshouse_core::model::Micros;

use crate::{MAX_COMPRESSED_BYTES, MAX_DOCUMENT_BYTES, VERSION};

/// Why a batch could not be built or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BatchError {
    /// The compressed bytes exceed [`MAX_COMPRESSED_BYTES`].
    #[error("the batch is {size} bytes, larger than {} MiB", MAX_COMPRESSED_BYTES >> 20)]
    TooLarge { size: usize },
    /// The bytes do not start with a zstd frame.
    #[error("the batch is not zstd-compressed")]
    NotZstd,
    /// zstd refused the bytes (truncated, corrupted, or a checksum mismatch).
    #[error("the batch's compressed data is damaged: {0}")]
    Corrupt(String),
    /// Something follows the batch's one zstd frame.
    #[error("the batch has bytes after its compressed data")]
    TrailingBytes,
    /// The document exceeds [`MAX_DOCUMENT_BYTES`] once decompressed (or would, when building).
    #[error("the batch document is larger than {} MiB", MAX_DOCUMENT_BYTES >> 20)]
    DocumentTooLarge,
    /// The decompressed document is not JSON of the expected shape.
    #[error("the batch document is not valid JSON for format version {VERSION}: {0}")]
    NotJson(String),
    /// The document is JSON but not a Glasshouse batch.
    #[error(
        "this is not a Glasshouse batch (its format is {found:?}, expected \"glasshouse.batch\")"
    )]
    WrongFormat { found: String },
    /// A version this build cannot read (newer, or 0).
    #[error("unsupported batch format version {found} (this build reads version {VERSION})")]
    UnsupportedVersion { found: u32 },
    /// The time window is empty, reversed, longer than a day, or its two spellings disagree.
    #[error("the batch's time window is not valid: {0}")]
    BadWindow(String),
    /// When building: an event outside `[window_start, window_end)`.
    #[error("an event at {} is outside the batch's time window ({} to {})", rfc3339(*ts), rfc3339(*start), rfc3339(*end))]
    EventOutsideWindow {
        ts: Micros,
        start: Micros,
        end: Micros,
    },
    /// When building: rows must come in time order, as the store exports them.
    #[error("events must be in time order, but an event at {} follows one at {}", rfc3339(*ts), rfc3339(*previous))]
    OutOfOrder { ts: Micros, previous: Micros },
    /// The document is well-formed JSON but its parts contradict each other (a column of the
    /// wrong length, an index out of range, ...). The text says which part.
    #[error("the batch document is inconsistent: {0}")]
    Invalid(String),
    /// zstd failed while compressing (not expected to happen).
    #[error("the batch could not be compressed: {0}")]
    Compress(String),
}

/// A timestamp as people read it in error messages.
pub(crate) fn rfc3339(ts: Micros) -> String {
    chrono::DateTime::from_timestamp_micros(ts).map_or_else(
        || format!("{ts} µs"),
        |t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
    )
}
