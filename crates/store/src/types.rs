//! The values the store hands out and takes in.

use std::ops::{Add, AddAssign};

use glasshouse_core::keys::{Key, KeyCategory};
use glasshouse_core::model::{Micros, Stored};
use serde::{Deserialize, Serialize};

/// What to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Events with `since <= ts < until`.
    Range { since: Micros, until: Micros },
    /// Every event of an application (compared case-insensitively, ASCII), with its window titles.
    App(String),
    /// Every event, window and application. Pauses and the activity log are kept: they are not input.
    All,
}

/// What a delete removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeleteReport {
    /// Number of events deleted.
    pub events: u64,
    /// For a range: the range. For an app or everything: the start of the minute of the oldest
    /// deleted event. `None` when nothing was deleted.
    pub since: Option<Micros>,
    /// For a range: the range's end. Otherwise just after the newest deleted event.
    pub until: Option<Micros>,
    /// Whether the write-ahead log was emptied (a truncating checkpoint completed), so no copy
    /// of the deleted bytes is left in the `-wal` file. False when a reader held the checkpoint
    /// up for too long: the store retries after every commit until it completes
    /// ([`crate::Store::wal_pending`]). Payloads from before this field read as true.
    #[serde(default = "yes")]
    pub wal_cleared: bool,
}

fn yes() -> bool {
    true
}

/// Nothing deleted, so nothing left behind either.
impl Default for DeleteReport {
    fn default() -> Self {
        DeleteReport {
            events: 0,
            since: None,
            until: None,
            wal_cleared: true,
        }
    }
}

/// What an activity-log entry is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Pause,
    Resume,
    Delete,
    Settings,
    Retention,
    Capture,
    /// A batch was approved, rejected, uploaded or withdrawn.
    Upload,
    /// Enrollment and the choice to take part (or not).
    Participation,
    /// The database could not be written for a while (a full disk) and writing resumed, or it
    /// was repaired.
    Storage,
}

impl ActivityKind {
    pub const ALL: [ActivityKind; 9] = [
        Self::Pause,
        Self::Resume,
        Self::Delete,
        Self::Settings,
        Self::Retention,
        Self::Capture,
        Self::Upload,
        Self::Participation,
        Self::Storage,
    ];

    /// The stable name kept in the database and shown in exports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Delete => "delete",
            Self::Settings => "settings",
            Self::Retention => "retention",
            Self::Capture => "capture",
            Self::Upload => "upload",
            Self::Participation => "participation",
            Self::Storage => "storage",
        }
    }

    pub fn from_name(name: &str) -> Option<ActivityKind> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }
}

/// One line of the activity log: what the app did on the person's behalf (never input).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityEntry {
    pub ts: Micros,
    pub kind: ActivityKind,
    pub detail: String,
}

/// Which events to export. The default exports everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportFilter {
    /// Only events with `ts >= since`.
    pub since: Option<Micros>,
    /// Only events with `ts < until`.
    pub until: Option<Micros>,
    /// Only events of this application (case-insensitive).
    pub app: Option<String>,
}

/// One exported event, exactly as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportRow {
    pub ts: Micros,
    pub app: String,
    pub title: String,
    pub event: Stored,
}

/// Counts of input over some time, for one application or all of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Key presses (`Stored::is_key_press`).
    pub keys: u64,
    /// Mouse button presses (`ButtonDown`).
    pub clicks: u64,
    /// Sum of `|dx| + |dy|` over wheel events.
    pub scroll_steps: u64,
    /// Pointer travel in pixels: see the crate documentation for the exact definition.
    pub distance_px: u64,
    /// Wall-clock seconds with at least one event.
    pub active_secs: u64,
    /// Stored events of any kind.
    pub events: u64,
}

impl Add for Counts {
    type Output = Counts;
    fn add(mut self, rhs: Counts) -> Counts {
        self += rhs;
        self
    }
}

impl AddAssign for Counts {
    fn add_assign(&mut self, rhs: Counts) {
        self.keys += rhs.keys;
        self.clicks += rhs.clicks;
        self.scroll_steps += rhs.scroll_steps;
        self.distance_px += rhs.distance_px;
        self.active_secs += rhs.active_secs;
        self.events += rhs.events;
    }
}

/// Counts of one application in one minute.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteRollup {
    /// Start of the minute.
    pub minute: Micros,
    pub app: String,
    pub counts: Counts,
}

/// Counts of one application in one hour.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HourRollup {
    /// Start of the hour (UTC).
    pub hour: Micros,
    pub app: String,
    pub counts: Counts,
}

/// Sums over a time range.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    /// All applications except the excluded-app marker. `active_secs` counts each second once,
    /// even when several applications had input in it.
    pub counts: Counts,
    /// Seconds in which an excluded application had the focus and received input.
    pub excluded_secs: u64,
    /// Per application, most active (in seconds) first.
    pub per_app: Vec<(String, Counts)>,
}

/// A pause: from `since` until `until`, or still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseInterval {
    pub since: Micros,
    pub until: Option<Micros>,
    pub reason: PauseReason,
}

/// Why recording was paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PauseReason {
    /// The person paused (the tray, the dashboard, `glasshouse pause`).
    #[default]
    User,
    /// The screen was locked; recording resumed by itself when it was unlocked.
    ScreenLocked,
}

impl PauseReason {
    /// How the reason reads in the dashboard and in `glasshouse status`.
    pub fn describe(self) -> &'static str {
        match self {
            Self::User => "paused by you",
            Self::ScreenLocked => "screen locked",
        }
    }

    /// The value kept in the `pauses.reason` column (`NULL` for the person's own pauses, as
    /// every pause before the column existed was).
    pub(crate) fn column(self) -> Option<&'static str> {
        match self {
            Self::User => None,
            Self::ScreenLocked => Some("screen_locked"),
        }
    }

    /// Reads the column back; a value this version does not know counts as the person's pause,
    /// which never resumes by itself.
    pub(crate) fn from_column(value: Option<&str>) -> PauseReason {
        match value {
            Some("screen_locked") => Self::ScreenLocked,
            _ => Self::User,
        }
    }
}

/// An application with stored events.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppSummary {
    pub app: String,
    /// Timestamp of its newest stored event.
    pub last_seen: Micros,
    pub events: u64,
}

/// Key presses by key and by kind of key, over some hours.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCounts {
    /// Presses per key, most pressed first (ties in key-code order). Only keys stored at the
    /// `full` capture level are known by identity. Serialised as `[["KeyA", 12], …]`, with the
    /// names of [`Key::name`].
    #[serde(with = "key_names")]
    pub by_key: Vec<(Key, u64)>,
    /// Presses per category, most pressed first (ties in category order): keys stored at the
    /// `full` level (by [`Key::category`]) plus keys stored at the `categories` level. Presses
    /// stored at the `counts` level have no category and appear only in [`Counts::keys`].
    pub by_category: Vec<(KeyCategory, u64)>,
}

/// `Vec<(Key, u64)>` as a list of `(name, count)` pairs.
mod key_names {
    use glasshouse_core::keys::Key;
    use serde::de::Error as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[(Key, u64)], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|(k, n)| (k.name(), *n)))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(Key, u64)>, D::Error> {
        Vec::<(String, u64)>::deserialize(d)?
            .into_iter()
            .map(|(name, n)| {
                Key::from_name(&name)
                    .map(|k| (k, n))
                    .ok_or_else(|| D::Error::custom(format!("unknown key name {name:?}")))
            })
            .collect()
    }
}

/// Button presses in one cell of the click grid, over some hours. Cells are
/// [`CLICK_CELL_PX`](crate::CLICK_CELL_PX) pixels square: the cell of a press at (x, y) is
/// (x / 20, y / 20), negative coordinates counted as 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClickCell {
    /// Cell column: x / 20.
    pub x: u32,
    /// Cell row: y / 20.
    pub y: u32,
    pub clicks: u64,
}
