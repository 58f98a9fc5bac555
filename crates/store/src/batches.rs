//! Upload batches: the bookkeeping of what the person was offered, approved, sent and took back.
//!
//! A batch is a time window of recorded input, sealed once the window is over. While it is
//! **pending** the store keeps no copy of its payload: the payload is built from the events
//! whenever it is shown, so a delete changes a pending batch by itself. On approval the exact
//! bytes the person saw are kept (with their SHA-256) until the collector has them; a delete that
//! touches an approved batch before it is sent turns it back into a pending one and drops that
//! copy (overwritten with zeros, like every delete). Once uploaded only the receipt is kept.
//!
//! States: pending → approved → uploaded → withdrawn, or pending/approved → rejected.

use std::path::Path;

use glasshouse_core::model::Micros;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::{Deserialize, Serialize};

use crate::blocks::log_activity;
use crate::error::{SqlContext, StoreError};
use crate::types::ActivityKind;

pub(crate) const SCHEMA: &str = "CREATE TABLE batches (
        id INTEGER PRIMARY KEY,
        window_start INTEGER NOT NULL UNIQUE,
        window_end INTEGER NOT NULL,
        state TEXT NOT NULL,
        sealed_at INTEGER NOT NULL,
        decided_at INTEGER,
        -- JSON array of the application names the person dropped from this batch.
        dropped_apps TEXT NOT NULL DEFAULT '[]',
        sha256 TEXT,
        -- The exact approved bytes, kept only until the collector has them.
        payload BLOB,
        bytes INTEGER,
        events INTEGER,
        -- What the approved bytes hold, for people (JSON: apps, scrubbed counts); kept after upload.
        summary TEXT,
        receipt TEXT,
        withdraw_requested INTEGER NOT NULL DEFAULT 0,
        withdrawal TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        next_attempt INTEGER
    );
    CREATE INDEX batches_by_state ON batches (state, window_start);";

/// Where a batch is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchState {
    /// Sealed, waiting for the person's review. Nothing of it is sent.
    Pending,
    /// Approved as exactly these bytes; the uploader sends it.
    Approved,
    /// The collector has it (see the receipt).
    Uploaded,
    /// The person said no: never sent.
    Rejected,
    /// Uploaded, then taken back: the collector deleted it (see the withdrawal receipt).
    Withdrawn,
}

impl BatchState {
    pub const ALL: [BatchState; 5] = [
        Self::Pending,
        Self::Approved,
        Self::Uploaded,
        Self::Rejected,
        Self::Withdrawn,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
            Self::Uploaded => "uploaded",
            Self::Rejected => "rejected",
            Self::Withdrawn => "withdrawn",
        }
    }

    pub fn from_name(name: &str) -> Option<BatchState> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// One batch as the store keeps it (without the payload bytes: see [`crate::Reader::batch_payload`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BatchRecord {
    pub id: i64,
    pub window_start: Micros,
    pub window_end: Micros,
    pub state: BatchState,
    pub sealed_at: Micros,
    /// When it was approved or rejected.
    pub decided_at: Option<Micros>,
    /// Applications the person dropped from this batch (their events are left out of it).
    pub dropped_apps: Vec<String>,
    /// SHA-256 (hex) of the approved bytes.
    pub sha256: Option<String>,
    /// Size of the approved bytes.
    pub bytes: Option<u64>,
    /// Events in the approved bytes.
    pub events: Option<u64>,
    /// What the approved bytes hold, for people (JSON written by the uploads crate).
    pub summary: Option<String>,
    /// The collector's upload receipt (JSON).
    pub receipt: Option<String>,
    /// The person asked to withdraw it; the uploader is asking the collector.
    pub withdraw_requested: bool,
    /// The collector's deletion receipt (JSON).
    pub withdrawal: Option<String>,
    /// Failed upload or withdrawal attempts since the last success.
    pub attempts: u32,
    pub last_error: Option<String>,
    /// Not before this time is the next attempt made.
    pub next_attempt: Option<Micros>,
}

/// A change to the batches, made by the store's writer in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BatchOp {
    /// Adds pending batches for these windows `(start, end)`; windows already sealed are skipped.
    Seal(Vec<(Micros, Micros)>),
    /// Pending → approved, keeping exactly these bytes.
    Approve {
        id: i64,
        sha256: String,
        payload: Vec<u8>,
        events: u64,
        /// See [`BatchRecord::summary`].
        summary: String,
        /// The activity-log line ("approved the batch 14:00–15:00, ...").
        detail: String,
    },
    /// Approved → pending again, its bytes dropped (the input under it changed).
    Reopen { id: i64 },
    /// Pending or approved → rejected (its bytes, if any, are dropped).
    Reject { id: i64, detail: String },
    /// Sets the applications left out of a pending batch.
    SetDroppedApps { id: i64, apps: Vec<String> },
    /// Approved → uploaded, with the collector's receipt; the bytes are dropped.
    Uploaded {
        id: i64,
        receipt: String,
        detail: String,
    },
    /// An upload or withdrawal failed; try again at `next_attempt`.
    Failed {
        id: i64,
        error: String,
        next_attempt: Micros,
    },
    /// Uploaded → withdrawal requested.
    RequestWithdraw { id: i64, detail: String },
    /// Withdrawal requested → withdrawn, with the collector's deletion receipt.
    Withdrawn {
        id: i64,
        receipt: String,
        detail: String,
    },
    /// The person stopped taking part: every batch not yet sent is removed.
    DiscardUnsent { detail: String },
}

/// What a [`BatchOp`] did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BatchOutcome {
    /// Batches created (for `Seal`) or changed.
    pub changed: Vec<i64>,
}

fn not_in_state(id: i64, action: &str) -> StoreError {
    StoreError::BatchState {
        id,
        reason: format!("it cannot be {action} in its current state"),
    }
}

/// Applies `op` inside the caller's transaction.
pub(crate) fn apply(
    conn: &Connection,
    path: &Path,
    op: BatchOp,
) -> Result<BatchOutcome, StoreError> {
    let now = glasshouse_core::model::now_micros();
    let mut out = BatchOutcome::default();
    // Runs `sql` (whose last parameter is the batch id) and checks that it changed the batch.
    let change = |id: i64, action: &str, sql: &str, args: &[&dyn rusqlite::ToSql]| {
        let n = conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute(args))
            .at(path)?;
        if n == 1 {
            Ok(())
        } else {
            Err(not_in_state(id, action))
        }
    };
    match op {
        BatchOp::Seal(windows) => {
            let mut stmt = conn
                .prepare_cached(
                    "INSERT INTO batches (window_start, window_end, state, sealed_at)
                     VALUES (?1, ?2, 'pending', ?3) ON CONFLICT (window_start) DO NOTHING",
                )
                .at(path)?;
            for (start, end) in windows {
                if stmt.execute(params![start, end, now]).at(path)? == 1 {
                    out.changed.push(conn.last_insert_rowid());
                }
            }
        }
        BatchOp::Approve {
            id,
            sha256,
            payload,
            events,
            summary,
            detail,
        } => {
            let bytes = payload.len() as i64;
            change(
                id,
                "approved",
                "UPDATE batches SET state = 'approved', decided_at = ?1, sha256 = ?2, payload = ?3,
                     bytes = ?4, events = ?5, summary = ?6, attempts = 0, last_error = NULL,
                     next_attempt = NULL
                 WHERE state = 'pending' AND id = ?7",
                &[
                    &now,
                    &sha256,
                    &payload,
                    &bytes,
                    &(events as i64),
                    &summary,
                    &id,
                ],
            )?;
            log_activity(conn, path, ActivityKind::Upload, &detail)?;
            out.changed.push(id);
        }
        BatchOp::Reopen { id } => {
            change(
                id,
                "reopened",
                "UPDATE batches SET state = 'pending', payload = NULL, sha256 = NULL, bytes = NULL,
                     events = NULL, summary = NULL, decided_at = NULL
                 WHERE state = 'approved' AND id = ?1",
                &[&id],
            )?;
            out.changed.push(id);
        }
        BatchOp::Reject { id, detail } => {
            change(
                id,
                "rejected",
                "UPDATE batches SET state = 'rejected', decided_at = ?1, payload = NULL
                 WHERE state IN ('pending', 'approved') AND id = ?2",
                &[&now, &id],
            )?;
            log_activity(conn, path, ActivityKind::Upload, &detail)?;
            out.changed.push(id);
        }
        BatchOp::SetDroppedApps { id, apps } => {
            let json = encode_apps(&apps);
            change(
                id,
                "changed",
                "UPDATE batches SET dropped_apps = ?1 WHERE state = 'pending' AND id = ?2",
                &[&json, &id],
            )?;
            out.changed.push(id);
        }
        BatchOp::Uploaded {
            id,
            receipt,
            detail,
        } => {
            change(
                id,
                "marked uploaded",
                "UPDATE batches SET state = 'uploaded', receipt = ?1, payload = NULL, attempts = 0,
                     last_error = NULL, next_attempt = NULL
                 WHERE state = 'approved' AND id = ?2",
                &[&receipt, &id],
            )?;
            log_activity(conn, path, ActivityKind::Upload, &detail)?;
            out.changed.push(id);
        }
        BatchOp::Failed {
            id,
            error,
            next_attempt,
        } => {
            change(
                id,
                "retried",
                "UPDATE batches SET attempts = attempts + 1, last_error = ?1, next_attempt = ?2
                 WHERE state IN ('approved', 'uploaded') AND id = ?3",
                &[&error, &next_attempt, &id],
            )?;
            out.changed.push(id);
        }
        BatchOp::RequestWithdraw { id, detail } => {
            change(
                id,
                "withdrawn",
                "UPDATE batches SET withdraw_requested = 1, attempts = 0, last_error = NULL,
                     next_attempt = NULL
                 WHERE state = 'uploaded' AND id = ?1",
                &[&id],
            )?;
            log_activity(conn, path, ActivityKind::Upload, &detail)?;
            out.changed.push(id);
        }
        BatchOp::Withdrawn {
            id,
            receipt,
            detail,
        } => {
            change(
                id,
                "marked withdrawn",
                "UPDATE batches SET state = 'withdrawn', withdrawal = ?1, withdraw_requested = 0,
                     attempts = 0, last_error = NULL, next_attempt = NULL
                 WHERE state = 'uploaded' AND id = ?2",
                &[&receipt, &id],
            )?;
            log_activity(conn, path, ActivityKind::Upload, &detail)?;
            out.changed.push(id);
        }
        BatchOp::DiscardUnsent { detail } => {
            let mut stmt = conn
                .prepare_cached(
                    "DELETE FROM batches WHERE state IN ('pending', 'approved') RETURNING id",
                )
                .at(path)?;
            let ids = stmt
                .query_map([], |r| r.get::<_, i64>(0))
                .at(path)?
                .collect::<Result<Vec<_>, _>>()
                .at(path)?;
            log_activity(conn, path, ActivityKind::Participation, &detail)?;
            out.changed = ids;
        }
    }
    Ok(out)
}

/// After a delete of events in `[since, until)`: approved batches not yet sent that overlap it go
/// back to pending and their copy of the bytes is dropped, so deleted input is not sent later.
/// Returns how many went back.
pub(crate) fn after_delete(
    conn: &Connection,
    path: &Path,
    since: Micros,
    until: Micros,
) -> Result<usize, StoreError> {
    conn.prepare_cached(
        "UPDATE batches SET state = 'pending', payload = NULL, sha256 = NULL, bytes = NULL,
             events = NULL, summary = NULL, decided_at = NULL, attempts = 0, last_error = NULL, next_attempt = NULL
         WHERE state = 'approved' AND window_start < ?2 AND window_end > ?1",
    )
    .and_then(|mut s| s.execute(params![since, until]))
    .at(path)
}

fn encode_apps(apps: &[String]) -> String {
    serde_json::to_string(apps).unwrap_or_else(|_| "[]".to_owned())
}

fn decode_apps(json: &str) -> Vec<String> {
    serde_json::from_str(json).unwrap_or_default()
}

pub(crate) const COLUMNS: &str = "id, window_start, window_end, state, sealed_at, decided_at,
    dropped_apps, sha256, bytes, events, receipt, withdraw_requested, withdrawal, attempts,
    last_error, next_attempt, summary";

pub(crate) fn from_row(r: &Row<'_>) -> rusqlite::Result<BatchRecord> {
    let state: String = r.get(3)?;
    Ok(BatchRecord {
        id: r.get(0)?,
        window_start: r.get(1)?,
        window_end: r.get(2)?,
        // An unknown state (from a newer version) reads as rejected: it is never sent.
        state: BatchState::from_name(&state).unwrap_or(BatchState::Rejected),
        sealed_at: r.get(4)?,
        decided_at: r.get(5)?,
        dropped_apps: decode_apps(&r.get::<_, String>(6)?),
        sha256: r.get(7)?,
        bytes: r.get::<_, Option<i64>>(8)?.map(|b| b.max(0) as u64),
        events: r.get::<_, Option<i64>>(9)?.map(|b| b.max(0) as u64),
        receipt: r.get(10)?,
        withdraw_requested: r.get::<_, i64>(11)? != 0,
        withdrawal: r.get(12)?,
        attempts: r.get::<_, i64>(13)?.clamp(0, i64::from(u32::MAX)) as u32,
        last_error: r.get(14)?,
        next_attempt: r.get(15)?,
        summary: r.get(16)?,
    })
}

pub(crate) fn list(
    conn: &Connection,
    path: &Path,
    states: &[BatchState],
) -> Result<Vec<BatchRecord>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM batches ORDER BY window_start DESC"
        ))
        .at(path)?;
    let rows = stmt.query_map([], from_row).at(path)?;
    let mut out = Vec::new();
    for r in rows {
        let r = r.at(path)?;
        if states.is_empty() || states.contains(&r.state) {
            out.push(r);
        }
    }
    Ok(out)
}

pub(crate) fn get(
    conn: &Connection,
    path: &Path,
    id: i64,
) -> Result<Option<BatchRecord>, StoreError> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM batches WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id], from_row).optional())
        .at(path)
}

pub(crate) fn payload(
    conn: &Connection,
    path: &Path,
    id: i64,
) -> Result<Option<Vec<u8>>, StoreError> {
    conn.prepare_cached("SELECT payload FROM batches WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([id], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()
        })
        .map(Option::flatten)
        .at(path)
}

/// The end of the newest sealed window, if any.
pub(crate) fn sealed_until(conn: &Connection, path: &Path) -> Result<Option<Micros>, StoreError> {
    conn.query_row("SELECT max(window_end) FROM batches", [], |r| r.get(0))
        .at(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_lists_survive_the_round_trip() {
        let apps = vec![
            "firefox".to_owned(),
            "a \"quoted\" \\ name".to_owned(),
            "tab\there".to_owned(),
            "ünïcødé".to_owned(),
        ];
        assert_eq!(decode_apps(&encode_apps(&apps)), apps);
        assert!(decode_apps(&encode_apps(&[])).is_empty());
    }
}
