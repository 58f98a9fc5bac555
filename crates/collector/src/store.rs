//! [`Collector`]: the data directory (`collector.db` and the content-addressed batch files) and
//! every operation on it. Synchronous; the HTTP layer calls it from blocking tasks.
//!
//! ## Crash safety of an upload
//! The file is written under `batches/tmp/`, fsynced, renamed to `batches/<sha[0..2]>/<sha>.zst`
//! (the directory fsynced too), and only then is the row inserted. A kill between the rename and
//! the row leaves a file without a row: export goes by rows, so it never sees it, a retry renames
//! the same bytes over it and inserts the row, and [`Collector::sweep`] (run when `serve` starts)
//! removes temp files and any file without a row. A withdrawal deletes the row (and writes the
//! tombstone) first and unlinks the file after, so a kill in between leaves only a row-less file
//! for the sweep; the repeated withdrawal unlinks it too.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, MutexGuard};

use rusqlite::{Connection, TransactionBehavior, params};

use crate::aggregates::{self, Aggregates, Facts};
use crate::db::{self, BatchRow, Device, TeamInfo, Tombstone};
use crate::error::{CollectorError, Result};

/// The batch metadata the collector keeps next to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchMeta {
    pub bytes: u64,
    pub events: u64,
    pub window_start: i64,
    pub window_end: i64,
}

/// What an enrollment hands the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Enrollment {
    pub device_id: String,
    pub device_secret: String,
    pub team: String,
}

/// What is known of a SHA-256 before an upload is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Known {
    Stored(BatchRow),
    Withdrawn(Tombstone),
    New,
}

/// A deliberate crash for the crash-safety tests (`GLASSHOUSE_COLLECTOR_FAILPOINT`): the process
/// aborts at the n-th upload reaching that point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failpoint {
    /// After the temp file is written and fsynced, before it is renamed into place.
    BeforeRename(u32),
    /// After the file is in place, before its row is inserted.
    BeforeRow(u32),
}

impl std::str::FromStr for Failpoint {
    type Err = CollectorError;

    fn from_str(s: &str) -> Result<Self> {
        let bad = || {
            CollectorError::Usage(format!(
                "unknown failpoint \"{s}\" (use before-rename:N or before-row:N)"
            ))
        };
        let (what, n) = s.split_once(':').ok_or_else(bad)?;
        let n: u32 = n.parse().map_err(|_| bad())?;
        match what {
            "before-rename" => Ok(Failpoint::BeforeRename(n)),
            "before-row" => Ok(Failpoint::BeforeRow(n)),
            _ => Err(bad()),
        }
    }
}

/// The collector's data directory, open.
#[derive(Debug)]
pub struct Collector {
    dir: PathBuf,
    conn: Mutex<Connection>,
    failpoint: Option<Failpoint>,
    failpoint_hits: AtomicU32,
}

/// What [`Collector::sweep`] removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Swept {
    pub temp_files: u64,
    pub orphan_files: u64,
}

/// The current time in microseconds since the Unix epoch.
pub(crate) fn now_micros() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

/// `n` random bytes as lowercase hex.
pub(crate) fn random_hex(n: usize) -> Result<String> {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf)
        .map_err(|e| CollectorError::Internal(format!("no randomness available: {e}")))?;
    Ok(hex(&buf))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a token, as stored (tokens themselves are never stored).
pub(crate) fn token_hash(token: &str) -> String {
    glasshouse_batch::sha256_hex(token.as_bytes())
}

/// Whether `s` is a SHA-256 as the collector writes them: 64 lowercase hex digits. Checked before
/// a SHA-256 from a request becomes part of a file name.
pub(crate) fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Team names: 1 to 64 characters, no control characters, not only spaces.
fn check_team_name(name: &str) -> Result<()> {
    let n = name.chars().count();
    if n == 0 || n > 64 || name.trim().is_empty() || name.chars().any(char::is_control) {
        return Err(CollectorError::Usage(format!(
            "a team name is 1 to 64 characters without control characters, not {name:?}"
        )));
    }
    Ok(())
}

fn create_private_dir(dir: &Path) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| CollectorError::io(dir, e))
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| CollectorError::io(dir, e))
}

fn remove_if_present(path: &Path) -> Result<bool> {
    match fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(CollectorError::io(path, e)),
    }
}

impl Collector {
    /// Opens the data directory `dir`, creating it (mode 0700) and its database if needed.
    pub fn open(dir: &Path) -> Result<Collector> {
        create_private_dir(dir)?;
        create_private_dir(&dir.join("batches").join("tmp"))?;
        let conn = db::open(&dir.join("collector.db"))?;
        Ok(Collector {
            dir: dir.to_owned(),
            conn: Mutex::new(conn),
            failpoint: None,
            failpoint_hits: AtomicU32::new(0),
        })
    }

    /// Arms a deliberate crash (tests only).
    pub fn set_failpoint(&mut self, failpoint: Option<Failpoint>) {
        self.failpoint = failpoint;
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn conn(&self) -> MutexGuard<'_, Connection> {
        // A panic while holding the lock leaves SQLite consistent (transactions roll back).
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn batches_dir(&self) -> PathBuf {
        self.dir.join("batches")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.batches_dir().join("tmp")
    }

    /// Where the batch with this SH-256 is stored (whether or not it is).
    pub fn batch_path(&self, sha256: &str) -> PathBuf {
        self.batches_dir()
            .join(&sha256[..2.min(sha256.len())])
            .join(format!("{sha256}.zst"))
    }

    fn fail_at(&self, here: fn(u32) -> Failpoint) {
        if let Some(fp) = self.failpoint {
            let n = match fp {
                Failpoint::BeforeRename(n) | Failpoint::BeforeRow(n) => n,
            };
            if fp == here(n) && self.failpoint_hits.fetch_add(1, Ordering::SeqCst) + 1 >= n {
                eprintln!("glasshouse-collector: failpoint {fp:?} reached; aborting");
                std::process::abort();
            }
        }
    }

    // ---- admin ----

    pub fn add_team(&self, name: &str) -> Result<()> {
        check_team_name(name)?;
        db::add_team(&self.conn(), name, now_micros())
    }

    /// Every team with its number of enrolled and participating devices.
    pub fn teams(&self) -> Result<Vec<TeamInfo>> {
        db::list_teams(&self.conn())
    }

    /// A new enrollment token for `team`, good for `uses` enrollments.
    pub fn new_enrollment_token(&self, team: &str, uses: u32) -> Result<String> {
        if uses == 0 {
            return Err(CollectorError::Usage(
                "an enrollment token needs at least one use".into(),
            ));
        }
        let conn = self.conn();
        let team_id = db::team_id(&conn, team)?;
        let token = format!("ghe_{}", random_hex(24)?);
        conn.execute(
            "INSERT INTO enrollment_tokens (token_hash, team_id, uses_left, created_at)
             VALUES (?1, ?2, ?3, ?4)",
            params![token_hash(&token), team_id, uses, now_micros()],
        )?;
        Ok(token)
    }

    /// A new manager token (for `/manager` and `/api/v1/aggregates`).
    pub fn new_manager_token(&self, label: &str) -> Result<String> {
        let token = format!("ghm_{}", random_hex(24)?);
        self.conn().execute(
            "INSERT INTO manager_tokens (token_hash, label, created_at) VALUES (?1, ?2, ?3)",
            params![token_hash(&token), label, now_micros()],
        )?;
        Ok(token)
    }

    /// The SHA-256 of every stored batch, sorted.
    pub fn stored_batches(&self) -> Result<Vec<String>> {
        let conn = self.conn();
        let mut stmt = conn.prepare("SELECT sha256 FROM batches ORDER BY sha256")?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Writes every stored batch received at or after `since` (of `team`, if given) as one JSON
    /// line: its SHA-256, team, device, times, and the decoded document. Returns the count.
    pub fn export(
        &self,
        since: Option<i64>,
        team: Option<&str>,
        out: &mut dyn Write,
    ) -> Result<u64> {
        let rows: Vec<(BatchRow, String)> = {
            let conn = self.conn();
            if let Some(team) = team {
                db::team_id(&conn, team)?;
            }
            let mut stmt = conn.prepare(
                "SELECT b.sha256, b.device_id, b.bytes, b.events, b.window_start, b.window_end,
                        b.received_at, t.name
                   FROM batches b JOIN teams t ON t.id = b.team_id
                  WHERE b.received_at >= ?1 AND (?2 IS NULL OR t.name = ?2)
                  ORDER BY b.received_at, b.sha256",
            )?;
            let rows = stmt.query_map(params![since.unwrap_or(i64::MIN), team], |r| {
                Ok((db::batch_row(r)?, r.get::<_, String>(7)?))
            })?;
            rows.collect::<Result<_, _>>()?
        };
        let mut written = 0;
        for (row, team) in rows {
            let path = self.batch_path(&row.sha256);
            let bytes = match fs::read(&path) {
                Ok(b) => b,
                // Withdrawn since the rows were read: gone means gone.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(CollectorError::io(&path, e)),
            };
            let document = glasshouse_batch::decode(&bytes).map_err(|e| {
                CollectorError::Internal(format!("stored batch {} cannot be read: {e}", row.sha256))
            })?;
            let line = serde_json::json!({
                "sha256": row.sha256,
                "team": team,
                "device": row.device_id,
                "received_at": crate::api::rfc3339(row.received_at),
                "document": document,
            });
            let stdout = Path::new("standard output");
            serde_json::to_writer(&mut *out, &line)
                .map_err(|e| CollectorError::io(stdout, e.into()))?;
            out.write_all(b"\n")
                .map_err(|e| CollectorError::io(stdout, e))?;
            written += 1;
        }
        out.flush()
            .map_err(|e| CollectorError::io("standard output", e))?;
        Ok(written)
    }

    /// Removes leftovers of a crash: temp files, and batch files that have no row (an upload
    /// killed before its row, or a withdrawal killed before its unlink). Run before serving.
    pub fn sweep(&self) -> Result<Swept> {
        let mut swept = Swept::default();
        let tmp = self.tmp_dir();
        for entry in fs::read_dir(&tmp).map_err(|e| CollectorError::io(&tmp, e))? {
            let path = entry.map_err(|e| CollectorError::io(&tmp, e))?.path();
            if remove_if_present(&path)? {
                swept.temp_files += 1;
            }
        }
        let stored: HashSet<String> = self.stored_batches()?.into_iter().collect();
        let root = self.batches_dir();
        for entry in fs::read_dir(&root).map_err(|e| CollectorError::io(&root, e))? {
            let sub = entry.map_err(|e| CollectorError::io(&root, e))?.path();
            if sub == tmp || !sub.is_dir() {
                continue;
            }
            for file in fs::read_dir(&sub).map_err(|e| CollectorError::io(&sub, e))? {
                let path = file.map_err(|e| CollectorError::io(&sub, e))?.path();
                let sha = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_suffix(".zst"))
                    .unwrap_or_default();
                if !stored.contains(sha) && remove_if_present(&path)? {
                    swept.orphan_files += 1;
                }
            }
        }
        Ok(swept)
    }

    // ---- devices ----

    pub(crate) fn enroll(&self, token: &str) -> Result<Enrollment> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: Option<(i64, i64, String)> = {
            use rusqlite::OptionalExtension;
            tx.query_row(
                "SELECT e.uses_left, e.team_id, t.name
                   FROM enrollment_tokens e JOIN teams t ON t.id = e.team_id
                  WHERE e.token_hash = ?1",
                [token_hash(token)],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?
        };
        let Some((uses_left, team_id, team)) = found else {
            return Err(CollectorError::Unauthorized(
                "this enrollment token is not known to the collector",
            ));
        };
        if uses_left <= 0 {
            return Err(CollectorError::Forbidden(
                "this enrollment token has been used up; ask for a new one".into(),
            ));
        }
        let device_id = format!("dev_{}", random_hex(16)?);
        let device_secret = random_hex(32)?;
        let now = now_micros();
        tx.execute(
            "UPDATE enrollment_tokens SET uses_left = uses_left - 1 WHERE token_hash = ?1",
            [token_hash(token)],
        )?;
        tx.execute(
            "INSERT INTO devices (id, secret_hash, team_id, enrolled_at, participating, participating_since)
             VALUES (?1, ?2, ?3, ?4, 0, ?4)",
            params![device_id, token_hash(&device_secret), team_id, now],
        )?;
        tx.commit()?;
        Ok(Enrollment {
            device_id,
            device_secret,
            team,
        })
    }

    pub(crate) fn device(&self, secret: &str) -> Result<Option<Device>> {
        db::device_by_secret_hash(&self.conn(), &token_hash(secret))
    }

    pub(crate) fn is_manager(&self, token: &str) -> Result<bool> {
        let n: i64 = self.conn().query_row(
            "SELECT count(*) FROM manager_tokens WHERE token_hash = ?1",
            [token_hash(token)],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }

    /// Sets the device's opt-in; a change is recorded with its time. Returns the state and since
    /// when it holds.
    pub(crate) fn set_participation(&self, device_id: &str, on: bool) -> Result<(bool, i64)> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let (current, since): (bool, i64) = tx.query_row(
            "SELECT participating, participating_since FROM devices WHERE id = ?1",
            [device_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if current == on {
            return Ok((on, since));
        }
        let now = now_micros().max(since + 1);
        tx.execute(
            "UPDATE devices SET participating = ?2, participating_since = ?3 WHERE id = ?1",
            params![device_id, on, now],
        )?;
        tx.execute(
            "INSERT INTO participation_changes (device_id, at, participating) VALUES (?1, ?2, ?3)",
            params![device_id, now, on],
        )?;
        tx.commit()?;
        Ok((on, now))
    }

    // ---- batches ----

    pub(crate) fn known(&self, sha256: &str) -> Result<Known> {
        let conn = self.conn();
        if let Some(row) = db::batch(&conn, sha256)? {
            return Ok(Known::Stored(row));
        }
        Ok(match db::tombstone(&conn, sha256)? {
            Some(t) => Known::Withdrawn(t),
            None => Known::New,
        })
    }

    /// Stores a validated batch of `device`: the file first (temp, fsync, rename, fsync of the
    /// directory), then its row. Returns the row and whether it is new (false: it was already
    /// stored, by an earlier or a concurrent upload of the same bytes).
    pub(crate) fn store_batch(
        &self,
        device: &Device,
        sha256: &str,
        bytes: &[u8],
        meta: BatchMeta,
    ) -> Result<(BatchRow, bool)> {
        debug_assert!(is_sha256_hex(sha256));
        let path = self.batch_path(sha256);
        self.write_file(&path, bytes)?;
        self.fail_at(Failpoint::BeforeRow);
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if db::tombstone(&tx, sha256)?.is_some() {
            // Withdrawn while this upload was on its way: the withdrawal wins.
            drop(tx);
            remove_if_present(&path)?;
            return Err(CollectorError::Withdrawn);
        }
        let inserted =
            tx.prepare_cached(
                "INSERT OR IGNORE INTO batches
                 (sha256, device_id, team_id, bytes, events, window_start, window_end, received_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                sha256,
                device.id,
                device.team_id,
                meta.bytes as i64,
                meta.events as i64,
                meta.window_start,
                meta.window_end,
                now_micros()
            ])? == 1;
        let row = db::batch(&tx, sha256)?
            .ok_or_else(|| CollectorError::Internal("a batch row vanished".into()))?;
        tx.commit()?;
        Ok((row, inserted))
    }

    fn write_file(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        let tmp = self.tmp_dir().join(format!("{}.part", random_hex(12)?));
        let written = (|| {
            let mut f = OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&tmp)
                .map_err(|e| CollectorError::io(&tmp, e))?;
            f.write_all(bytes)
                .and_then(|()| f.sync_all())
                .map_err(|e| CollectorError::io(&tmp, e))?;
            self.fail_at(Failpoint::BeforeRename);
            let dir = path.parent().expect("batch files live in a folder");
            if !dir.exists() {
                create_private_dir(dir)?;
                sync_dir(&self.batches_dir())?;
            }
            fs::rename(&tmp, path).map_err(|e| CollectorError::io(path, e))?;
            sync_dir(dir)
        })();
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written
    }

    /// Withdraws `device`'s batch: the row goes (and a tombstone is written) in one transaction,
    /// then the file is unlinked. A repeated withdrawal returns the first one's tombstone.
    pub(crate) fn withdraw(&self, device: &Device, sha256: &str) -> Result<Tombstone> {
        let not_found =
            || CollectorError::NotFound("this device has no batch with that SHA-256".into());
        let path = self.batch_path(sha256);
        let tomb = {
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(t) = db::tombstone(&tx, sha256)? {
                // Another device learns nothing about whether someone else withdrew this.
                if t.device_id != device.id {
                    return Err(not_found());
                }
                t
            } else {
                match db::batch(&tx, sha256)? {
                    Some(row) if row.device_id == device.id => {
                        let t = Tombstone {
                            device_id: device.id.clone(),
                            deleted_at: now_micros(),
                        };
                        tx.execute("DELETE FROM batches WHERE sha256 = ?1", [sha256])?;
                        tx.execute(
                            "INSERT INTO tombstones (sha256, device_id, deleted_at) VALUES (?1, ?2, ?3)",
                            params![sha256, t.device_id, t.deleted_at],
                        )?;
                        tx.commit()?;
                        t
                    }
                    _ => return Err(not_found()),
                }
            }
        };
        if remove_if_present(&path)?
            && let Some(dir) = path.parent()
        {
            sync_dir(dir)?;
        }
        // Clear the deleted row's bytes out of the write-ahead log too.
        let _ = self
            .conn()
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        Ok(tomb)
    }

    // ---- aggregates ----

    /// The opt-in figures over the last `days` days (UTC), with groups under `k` hidden.
    pub(crate) fn aggregates(&self, now: i64, days: u32, k: u32) -> Result<Aggregates> {
        let facts = {
            let conn = self.conn();
            Facts::load(&conn)?
        };
        Ok(aggregates::compute(&facts, now, days, k))
    }
}
