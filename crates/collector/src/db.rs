//! The collector's SQLite database (`DIR/collector.db`): teams, hashed tokens, devices, the
//! history of every opt-in change, stored batches and withdrawal tombstones.
//!
//! WAL mode with a busy timeout, so the admin commands can run while `serve` does. Tokens and
//! device secrets are kept only as SHA-256 hashes. `secure_delete` is on, so a withdrawn batch's
//! row is overwritten, not just unlinked from the b-tree.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::error::{CollectorError, Result};

/// `PRAGMA application_id` of a collector database: "GhCo".
const APPLICATION_ID: i64 = 0x4768_436F;

const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Schema steps; `user_version` is the number applied.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema. Times are microseconds since the Unix epoch (UTC).
    "CREATE TABLE teams (
         id INTEGER PRIMARY KEY,
         name TEXT NOT NULL UNIQUE,
         created_at INTEGER NOT NULL
     );
     CREATE TABLE enrollment_tokens (
         token_hash TEXT PRIMARY KEY,
         team_id INTEGER NOT NULL REFERENCES teams(id),
         uses_left INTEGER NOT NULL,
         created_at INTEGER NOT NULL
     );
     CREATE TABLE manager_tokens (
         token_hash TEXT PRIMARY KEY,
         label TEXT NOT NULL,
         created_at INTEGER NOT NULL
     );
     CREATE TABLE devices (
         id TEXT PRIMARY KEY,
         secret_hash TEXT NOT NULL UNIQUE,
         team_id INTEGER NOT NULL REFERENCES teams(id),
         enrolled_at INTEGER NOT NULL,
         participating INTEGER NOT NULL DEFAULT 0,
         participating_since INTEGER NOT NULL
     );
     CREATE INDEX devices_team ON devices(team_id);
     CREATE TABLE participation_changes (
         device_id TEXT NOT NULL REFERENCES devices(id),
         at INTEGER NOT NULL,
         participating INTEGER NOT NULL
     );
     CREATE INDEX participation_changes_device ON participation_changes(device_id, at);
     CREATE TABLE batches (
         sha256 TEXT PRIMARY KEY,
         device_id TEXT NOT NULL REFERENCES devices(id),
         team_id INTEGER NOT NULL REFERENCES teams(id),
         bytes INTEGER NOT NULL,
         events INTEGER NOT NULL,
         window_start INTEGER NOT NULL,
         window_end INTEGER NOT NULL,
         received_at INTEGER NOT NULL
     );
     CREATE INDEX batches_received ON batches(received_at);
     CREATE INDEX batches_team_window ON batches(team_id, window_start);
     CREATE TABLE tombstones (
         sha256 TEXT PRIMARY KEY,
         device_id TEXT NOT NULL,
         deleted_at INTEGER NOT NULL
     );",
];

/// Opens (creating if needed) `path`, refusing a file that is not a collector database or whose
/// schema is newer, then migrates it and sets the pragmas.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Look before writing anything: a database of something else is never touched.
    let app_id: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    let tables: i64 = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))?;
    if app_id != APPLICATION_ID && (app_id != 0 || tables > 0) {
        return Err(CollectorError::NotCollectorDb {
            path: path.to_owned(),
            found: app_id,
        });
    }
    let known = MIGRATIONS.len() as i64;
    if version > known {
        return Err(CollectorError::NewerSchema {
            path: path.to_owned(),
            found: version,
            known,
        });
    }
    conn.pragma_update(None, "secure_delete", "ON")?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    // FULL: a receipt promises the batch is stored, so each commit reaches the disk first.
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    if version < known {
        // IMMEDIATE: take the write lock first, so two processes opening a new database at once
        // queue up instead of one failing to upgrade its read lock.
        let tx = rusqlite::Transaction::new_unchecked(&conn, TransactionBehavior::Immediate)?;
        // Re-read under the write lock: another process may have migrated in between.
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 0 {
            tx.pragma_update(None, "application_id", APPLICATION_ID)?;
        }
        for (i, step) in MIGRATIONS.iter().enumerate().skip(version as usize) {
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)?;
        }
        tx.commit()?;
    }
    Ok(conn)
}

/// A team and what the admin may see of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamInfo {
    pub name: String,
    pub devices: u64,
    pub participating: u64,
}

/// An enrolled device, as authenticated by its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Device {
    pub id: String,
    pub team_id: i64,
    pub team: String,
    pub participating: bool,
}

/// What the collector keeps of a stored batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BatchRow {
    pub sha256: String,
    pub device_id: String,
    pub bytes: u64,
    pub events: u64,
    pub window_start: i64,
    pub window_end: i64,
    pub received_at: i64,
}

/// A withdrawn batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tombstone {
    pub device_id: String,
    pub deleted_at: i64,
}

pub(crate) fn team_id(conn: &Connection, name: &str) -> Result<i64> {
    conn.query_row("SELECT id FROM teams WHERE name = ?1", [name], |r| r.get(0))
        .optional()?
        .ok_or_else(|| CollectorError::UnknownTeam(name.to_owned()))
}

pub(crate) fn add_team(conn: &Connection, name: &str, now: i64) -> Result<()> {
    let inserted = conn.execute(
        "INSERT OR IGNORE INTO teams (name, created_at) VALUES (?1, ?2)",
        params![name, now],
    )?;
    if inserted == 0 {
        return Err(CollectorError::TeamExists(name.to_owned()));
    }
    Ok(())
}

pub(crate) fn list_teams(conn: &Connection) -> Result<Vec<TeamInfo>> {
    let mut stmt = conn.prepare(
        "SELECT t.name, count(d.id), coalesce(sum(d.participating), 0)
           FROM teams t LEFT JOIN devices d ON d.team_id = t.id
          GROUP BY t.id ORDER BY t.name",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(TeamInfo {
            name: r.get(0)?,
            devices: r.get::<_, i64>(1)? as u64,
            participating: r.get::<_, i64>(2)? as u64,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub(crate) fn device_by_secret_hash(conn: &Connection, hash: &str) -> Result<Option<Device>> {
    Ok(conn
        .prepare_cached(
            "SELECT d.id, d.team_id, t.name, d.participating
               FROM devices d JOIN teams t ON t.id = d.team_id
              WHERE d.secret_hash = ?1",
        )?
        .query_row([hash], |r| {
            Ok(Device {
                id: r.get(0)?,
                team_id: r.get(1)?,
                team: r.get(2)?,
                participating: r.get(3)?,
            })
        })
        .optional()?)
}

pub(crate) fn batch(conn: &Connection, sha256: &str) -> Result<Option<BatchRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT sha256, device_id, bytes, events, window_start, window_end, received_at
               FROM batches WHERE sha256 = ?1",
        )?
        .query_row([sha256], batch_row)
        .optional()?)
}

pub(crate) fn batch_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BatchRow> {
    Ok(BatchRow {
        sha256: r.get(0)?,
        device_id: r.get(1)?,
        bytes: r.get::<_, i64>(2)? as u64,
        events: r.get::<_, i64>(3)? as u64,
        window_start: r.get(4)?,
        window_end: r.get(5)?,
        received_at: r.get(6)?,
    })
}

pub(crate) fn tombstone(conn: &Connection, sha256: &str) -> Result<Option<Tombstone>> {
    Ok(conn
        .prepare_cached("SELECT device_id, deleted_at FROM tombstones WHERE sha256 = ?1")?
        .query_row([sha256], |r| {
            Ok(Tombstone {
                device_id: r.get(0)?,
                deleted_at: r.get(1)?,
            })
        })
        .optional()?)
}
