//! The control-socket protocol: one JSON request line, one JSON response line. After a
//! [`Request::Subscribe`] answered `ok`, the connection carries one [`Push`] line per event
//! instead, for as long as the recorder runs.
//!
//! Versioned by [`PROTOCOL_VERSION`]; a client and a recorder of different versions refuse each
//! other with a sentence instead of misreading. New requests are additive (a recorder that does
//! not know one refuses it as a bad request), so they keep the version; changing what an existing
//! line means bumps it.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use glasshouse_core::model::Micros;
use glasshouse_core::settings::CaptureLevel;
use glasshouse_store::{Counts, DeleteReport, PauseReason, Selection};

use crate::feed::FeedItem;

pub const PROTOCOL_VERSION: u32 = 1;

/// The dashboard's views, by the names `show_view` takes.
pub const VIEWS: [&str; 6] = ["today", "feed", "privacy", "delete", "uploads", "log"];

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
    /// Bring the dashboard to the front: a subscriber with a window is told to (`focus`), else
    /// the tray app starts `glasshouse dashboard`; the headless recorder says it can't.
    Show,
    /// Like `show`, opening one view of the dashboard (`today`, `feed`, `privacy`, `delete`,
    /// `uploads`, `log`).
    ShowView {
        view: String,
    },
    /// The live feed as it is now (answered with `feed`).
    Feed,
    /// Turn this connection into a stream of [`Push`] lines. `window`: the subscriber shows a
    /// window, which `show` brings to the front instead of opening another.
    Subscribe {
        #[serde(default)]
        window: bool,
    },
    /// A decision about uploads (approve, reject, withdraw, take part, enroll, ...), made by the
    /// recorder's uploader (answered with `uploads`).
    Uploads {
        op: glasshouse_uploads::UploadsOp,
    },
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
    Feed { items: Vec<FeedItem> },
    Uploads(glasshouse_uploads::Done),
    Ok,
    Error { kind: String, message: String },
}

/// One event pushed to a subscriber, named as the dashboard's events are
/// (`src-tauri/app/events.rs`): `{"v":1,"event":"counters","payload":{...}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "event", content = "payload", rename_all = "kebab-case")]
pub enum Push {
    /// The state changed (pause, resume, a timed pause ended, capture lost or back, settings).
    Status(Box<Status>),
    /// The live feed, whole, when it changed.
    Feed(Vec<FeedItem>),
    /// Today's counters, while input is being stored.
    Counters(Counters),
    /// Stored data changed (a new minute of activity, a delete): fetch the charts again.
    DataChanged,
    /// Someone asked for the dashboard: a subscriber with a window brings it to the front.
    Focus,
    /// Upload batches changed; `pending` wait for review.
    Uploads { pending: usize },
    /// Like `focus`, showing one view of the dashboard.
    FocusView { view: String },
    /// The recorder is stopping; the stream ends after this line.
    Closing,
}

/// Today's counters as the dashboard shows them.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Counters {
    pub counts: Counts,
    pub excluded_secs: u64,
}

/// The recording state as a person reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Recording,
    Paused,
    /// Capture is not working (no display, no RECORD extension, X server gone); see the reason.
    Unavailable,
    /// The database cannot be written because the disk is full: new input waits in memory (up
    /// to a limit, then it is dropped and counted) and is written, and recording goes on by
    /// itself, once there is space again. See `store_error`.
    DiskFull,
    /// No recorder runs for this data directory.
    NotRunning,
}

impl State {
    pub fn name(self) -> &'static str {
        match self {
            State::Recording => "recording",
            State::Paused => "paused",
            State::Unavailable => "capture unavailable",
            State::DiskFull => "disk full",
            State::NotRunning => "not running",
        }
    }
}

/// Everything `glasshouse status` shows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Status {
    pub state: State,
    pub pid: Option<u32>,
    /// Start of the person's own pause (`None` when only the screen lock pauses recording).
    pub paused_since: Option<Micros>,
    /// End of the person's timed pause; `None` during their pause means "until resumed".
    pub paused_until: Option<Micros>,
    /// Why recording is paused, while it is: the screen lock while it lasts (a pause of the
    /// person's own, in `paused_since`/`paused_until`, then still holds after the unlock), else
    /// the person's pause.
    #[serde(default)]
    pub pause_reason: Option<PauseReason>,
    /// Why capture is unavailable (set whenever capture is not running, even while paused).
    pub capture_error: Option<String>,
    /// Why the database cannot be written (a full disk), while it cannot, even while paused.
    #[serde(default)]
    pub store_error: Option<String>,
    /// Events captured and kept in memory because they could not be written yet.
    #[serde(default)]
    pub events_waiting: u64,
    /// Events dropped since the recorder started because they could not be written for so
    /// long that the memory limit was reached.
    #[serde(default)]
    pub events_dropped: u64,
    pub capture_level: CaptureLevel,
    pub excluded_apps: Vec<String>,
    /// Whether keys typed into password and login windows lose their identity
    /// (`sensitive_windows` in the settings).
    #[serde(default)]
    pub sensitive_windows: bool,
    pub data_dir: PathBuf,
    pub database_bytes: u64,
    pub today: Counts,
    pub today_excluded_secs: u64,
}
