//! The one error type of the core crate.

use std::path::PathBuf;

/// Everything that can go wrong in the core: bad settings and bad user-written times.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("cannot read settings file {path}: {source}")]
    SettingsIo {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("settings file {path}: {message}")]
    SettingsInvalid { path: PathBuf, message: String },
    #[error("settings file {path}: key `{key}` {expected}")]
    SettingsValue {
        path: PathBuf,
        key: String,
        expected: String,
    },
    #[error("`{input}` is not a duration: write it like 90s, 15m, 2h or 1d")]
    BadDuration { input: String },
    #[error(
        "`{input}` is not a time: write RFC 3339 like 2026-11-30T14:30:00Z, a date like 2026-11-30, or `now`"
    )]
    BadTime { input: String },
    #[error(
        "no data directory: set GLASSHOUSE_DATA_DIR or pass --data-dir (neither XDG_DATA_HOME nor HOME is set)"
    )]
    NoDataDir,
}
