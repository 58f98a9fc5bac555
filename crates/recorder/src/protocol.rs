//! The control-socket protocol: one JSON request line, one JSON response line.
//!
//! Versioned by [`PROTOCOL_VERSION`]; a client and a recorder of different versions refuse each
//! other with a sentence instead of misreading.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use glasshouse_core::model::Micros;
use glasshouse_core::settings::CaptureLevel;
use glasshouse_store::{Counts, DeleteReport, Selection};

pub const PROTOCOL_VERSION: u32 = 1;

/// What a client asks of the running recorder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case")]
pub enum Request {
    Status,
    /// Pause until a time, or until resumed (`until: None`).
    Pause {
        until: Option<Micros>,
    },
    Resume,
    Delete {
        what: DeleteWhat,
    },
    /// Store everything captured so far before answering (so an export that follows sees it).
    Flush,
    /// Re-read the settings file and apply it to events from now on.
    ReloadSettings,
    /// Bring the dashboard to the front (the tray app does; the headless recorder says it can't).
    Show,
}

/// A request with the protocol version, as sent on the wire.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Envelope<T> {
    pub v: u32,
    #[serde(flatten)]
    pub body: T,
}

/// What to delete (the wire form of [`Selection`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "by", rename_all = "snake_case")]
pub enum DeleteWhat {
    Range { since: Micros, until: Micros },
    App { app: String },
    All,
}

impl From<DeleteWhat> for Selection {
    fn from(w: DeleteWhat) -> Selection {
        match w {
            DeleteWhat::Range { since, until } => Selection::Range { since, until },
            DeleteWhat::App { app } => Selection::App(app),
            DeleteWhat::All => Selection::All,
        }
    }
}

/// The recorder's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "reply", rename_all = "snake_case")]
pub enum Response {
    Status(Box<Status>),
    Deleted(DeleteReport),
    Ok,
    Error { kind: String, message: String },
}

/// The recording state as a person reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Recording,
    Paused,
    /// Capture is not working (no display, no RECORD extension, X server gone); see the reason.
    Unavailable,
    /// No recorder runs for this data directory.
    NotRunning,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Recording => "recording",
            State::Paused => "paused",
            State::Unavailable => "capture unavailable",
            State::NotRunning => "not running",
        }
    }
}

/// Everything `glasshouse status` shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub state: State,
    pub pid: Option<u32>,
    pub paused_since: Option<Micros>,
    /// End of a timed pause; `None` while paused means "until resumed".
    pub paused_until: Option<Micros>,
    /// Why capture is unavailable (set whenever capture is not running, even while paused).
    pub capture_error: Option<String>,
    pub capture_level: CaptureLevel,
    pub excluded_apps: Vec<String>,
    pub data_dir: PathBuf,
    pub database_bytes: u64,
    pub today: Counts,
    pub today_excluded_secs: u64,
}
