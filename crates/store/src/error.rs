//! The one error type of the store. Every message names the file it is about and says what the
//! person can do, because it may end up in a notification or on a terminal.

use std::path::{Path, PathBuf};

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{} at {} is not a Glasshouse database ({reason}); it was left untouched", file_name(.path), .path.display())]
    Foreign { path: PathBuf, reason: String },
    /// The file is damaged. `glasshouse repair` salvages what can be read into a new file.
    #[error("{} at {} is damaged ({reason}); it was left untouched. Stop Glasshouse and run `glasshouse repair` to save what can still be read into a new file (the damaged one is kept)", file_name(.path), .path.display())]
    Corrupt { path: PathBuf, reason: String },
    /// A repair could not salvage anything (or its result failed its check); nothing was moved.
    #[error("{} at {} cannot be repaired: {reason}. Nothing was changed", file_name(.path), .path.display())]
    Unsalvageable { path: PathBuf, reason: String },
    #[error("{} at {} was written by a newer Glasshouse (schema version {found}, this version knows up to {known}); it was left untouched: update Glasshouse to open it", file_name(.path), .path.display())]
    TooNew {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    #[error("{} at {} was written by an older Glasshouse (schema version {found}, this version needs {known}); start the recorder once to upgrade it", file_name(.path), .path.display())]
    Outdated {
        path: PathBuf,
        found: i64,
        known: i64,
    },
    /// SQLCipher cannot read the file with the key given: the passphrase (or keyring entry) is
    /// not the one it was encrypted with, or the file is not a Glasshouse database.
    #[error("{} at {} cannot be opened with this key: the passphrase is wrong, or the file is not a Glasshouse database; it was left untouched", file_name(.path), .path.display())]
    WrongKey { path: PathBuf },
    /// An unencrypted database of an earlier version, which only the writer may encrypt.
    #[error("{} at {} is not encrypted yet: start Glasshouse (the tray app or `glasshouse record`) once to encrypt it", file_name(.path), .path.display())]
    NotEncrypted { path: PathBuf },
    #[error("there is no Glasshouse database at {} yet: nothing has been recorded", .path.display())]
    Missing { path: PathBuf },
    /// The database is missing (or empty) but its write-ahead log is not. The log may hold the
    /// person's input; SQLite would replay it into a new database, so it is left alone.
    #[error("the write-ahead log {} is left from a database that is gone; move it away (or delete it) to start a new database", .wal.display())]
    StaleWal { wal: PathBuf },
    #[error("the disk holding {} is full: recording is held in memory (up to a limit, then dropped and counted) and written once there is space again; free some space", .path.display())]
    DiskFull { path: PathBuf },
    #[error("cannot use {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the database {} reported an error: {source}", .path.display())]
    Sqlite {
        path: PathBuf,
        #[source]
        source: rusqlite::Error,
    },
    #[error(
        "{count} recorded events were dropped because they could not be written for a long time and the memory limit was reached"
    )]
    Dropped { count: u64 },
    #[error(
        "one minute holds input of more than 4,000 windows; the rest of that minute was not stored"
    )]
    TooManyWindows,
    #[error("upload batch {id} was not changed: {reason}")]
    BatchState { id: i64, reason: String },
    #[error("the store was closed; nothing more can be recorded or deleted through it")]
    Closed,
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || "the database".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    )
}

impl StoreError {
    /// Classifies an SQLite error about the file at `path`: a full disk and a damaged file get
    /// their own variants, because a person can do something about each.
    pub(crate) fn sqlite(path: &Path, source: rusqlite::Error) -> StoreError {
        use rusqlite::ffi::ErrorCode;
        match source.sqlite_error_code() {
            Some(ErrorCode::DiskFull) => StoreError::DiskFull {
                path: path.to_owned(),
            },
            Some(ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
                path: path.to_owned(),
                reason: source.to_string(),
            },
            Some(ErrorCode::NotADatabase) => StoreError::Foreign {
                path: path.to_owned(),
                reason: "SQLite cannot read it as a database".to_owned(),
            },
            _ => StoreError::Sqlite {
                path: path.to_owned(),
                source,
            },
        }
    }

    pub(crate) fn io(path: &Path, source: std::io::Error) -> StoreError {
        StoreError::Io {
            path: path.to_owned(),
            source,
        }
    }

    pub(crate) fn decode(path: &Path, e: crate::codec::DecodeError) -> StoreError {
        StoreError::Corrupt {
            path: path.to_owned(),
            reason: e.0.to_owned(),
        }
    }
}

/// Attaches the database path to SQLite results.
pub(crate) trait SqlContext<T> {
    fn at(self, path: &Path) -> Result<T, StoreError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn at(self, path: &Path) -> Result<T, StoreError> {
        self.map_err(|e| StoreError::sqlite(path, e))
    }
}
