//! Glasshouse upload batches: the payload the app builds from the employee's own stored events,
//! shows them (exact bytes and a readable view), and uploads only once they approve it; and that
//! the collector decodes and validates. The format is documented for its readers in
//! `docs/batch-format.md`.
//!
//! A batch is one JSON [`Document`] compressed as one zstd frame. Encoding is deterministic: the
//! same header, rows and scrubber give byte-identical bytes, so a batch can be rebuilt and its
//! SHA-256 ([`sha256_hex`]) compared with the one the collector's receipt carries.
//!
//! ## Privacy
//! - Events are kept at most at the header's capture level: events recorded with more detail are
//!   reduced to it (`full` → `categories` keeps only the key category, → `counts` only that a key
//!   was pressed).
//! - Typed text is kept as text runs, scrubbed with [`glasshouse_scrub::Scrubber`]: a finding is
//!   replaced by its placeholder, and the key events that typed it lose their key identity
//!   (key-downs and their key-ups), so the finding cannot be read back from the keys either.
//! - Window titles are scrubbed the same way.

mod build;
mod codec;
mod document;
mod error;
mod fast;
#[cfg(test)]
mod test_rng;

use std::collections::BTreeMap;

use glasshouse_core::keys::Key;
use glasshouse_core::model::{Micros, Stored};
use glasshouse_core::settings::CaptureLevel;
use sha2::{Digest, Sha256};

pub use build::build;
pub use codec::{decode, readable};
pub use document::{Document, Events, Segment, TextRun, TimeWindow, WindowInfo};
pub use error::BatchError;

/// The `format` field of every batch document.
pub const FORMAT: &str = "glasshouse.batch";
/// The format version this build writes, and the newest it reads.
pub const VERSION: u32 = 1;
/// The largest batch (compressed bytes) that is built or accepted.
pub const MAX_COMPRESSED_BYTES: usize = 16 << 20;
/// The largest document (decompressed bytes) that is built or accepted: the zip-bomb guard, and
/// what bounds the time and memory one upload costs the collector. A 24-hour window in which
/// every hour were the heaviest synthetic hour would be about 34 MB; the largest document the
/// fuzzer could make within this limit decodes in well under a second (it was 256 MiB, where one
/// 22 KB upload of 38 million pointer moves cost 5 s of CPU and 1 GB).
pub const MAX_DOCUMENT_BYTES: usize = 48 << 20;
/// The longest time window of one batch.
pub const MAX_WINDOW_MICROS: Micros = 24 * 3600 * 1_000_000;
/// The key [`Document::rows`] gives a key event whose identity was redacted (the document itself
/// has `null` there). It is `Key::Unknown(0x7fff)`; no platform key code is that large in practice.
pub const REDACTED_KEY: Key = Key::Unknown(0x7fff);
/// The zstd level batches are compressed with. On a heavy-workday hour level 12 is about a quarter
/// larger than level 19 in a twentieth of its time or less (`glasshouse-bench batch` prints the table;
/// `docs/batch-format.md` has the figures).
pub const ZSTD_LEVEL: i32 = 12;

/// One stored event as the app's store exports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub ts: Micros,
    pub app: String,
    pub title: String,
    pub event: Stored,
}

/// What a batch says about itself besides its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The pseudonymous device id (never a host or user name).
    pub device: String,
    pub team: String,
    /// The batch covers `[window_start, window_end)`; every row must fall inside.
    pub window_start: Micros,
    pub window_end: Micros,
    /// The most detail the batch may hold: rows recorded with more are reduced to it.
    pub capture_level: CaptureLevel,
}

/// What [`build`] made: the exact bytes that would be sent, and what a reviewer needs to know of
/// them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The batch, exactly as it would be uploaded.
    pub bytes: Vec<u8>,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    pub events: u64,
    /// Application names, in order of first appearance.
    pub apps: Vec<String>,
    /// Findings removed by the scrubber, per kind (`Kind::name()`), every kind listed.
    pub scrubbed: BTreeMap<String, u64>,
    /// Size of the JSON document before compression.
    pub document_bytes: usize,
}

/// Lowercase hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0xf)]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";
