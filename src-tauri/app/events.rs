//! Every event the Rust side pushes to the dashboard, by name, with its payload type. The UI
//! listens to exactly these (see `ui/js/api.js`). The first four arrive from the recorder as
//! `glasshouse_recorder::Push` lines of the same names and are re-emitted as they are.

/// `Status`: the recording state changed (pause, resume, timed pause ended, capture lost or back).
pub const STATUS: &str = "status";
/// `Vec<FeedItem>`: the live feed, whole (at most 50 items), when it changed.
pub const FEED: &str = "feed";
/// `Counters`: today's counters, when they changed.
pub const COUNTERS: &str = "counters";
/// `()`: stored data changed (new minute of activity, a delete, settings): refetch the charts.
pub const DATA_CHANGED: &str = "data-changed";
/// `{ pending }`: upload batches changed; `pending` wait for review.
pub const UPLOADS: &str = "uploads";
/// `remote::Connection`: the dashboard process lost (or got back) its link to the recorder.
pub const CONNECTION: &str = "connection";
