//! Checking a database and salvaging a damaged one.
//!
//! - [`check`]: SQLite's `integrity_check` plus our own consistency check: every rollup (per
//!   minute, per hour, keys, clicks, pointer extent) equals a recomputation from the stored
//!   events, with the same code deletes use. The crash tests run it after every kill.
//! - [`repair`]: copies what can still be read of a damaged database into a new file, table by
//!   table and row by row, skipping rows and ranges of rows on damaged pages and event blocks that
//!   do not decode; rebuilds every rollup from the salvaged events; keeps the original under a
//!   name with a timestamp (never deleted, byte for byte); and puts the new file in its place.
//!
//! **The caller must make sure no recorder uses the file** (`glasshouse repair` holds the data
//! directory's instance lock). Both files are opened with the same key: the source through
//! [`open_source`], the new file through the store's ordinary writer open, which creates,
//! encrypts and migrates it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use glasshouse_core::model::{MICROS_PER_MINUTE, Micros, StoredEvent};
use rusqlite::types::Value;
use rusqlite::{Connection, OpenFlags, params_from_iter};

use crate::blocks::{Caches, SEGMENTS, log_activity, recompute_hour, recompute_minute};
use crate::codec;
use crate::error::{SqlContext, StoreError};
use crate::key::DbKey;
use crate::schema::BUSY_TIMEOUT;
use crate::types::ActivityKind;

/// Tables rebuilt from the events, never copied.
const ROLLUPS: [&str; 5] = [
    "minute_rollups",
    "hour_rollups",
    "key_rollups",
    "click_rollups",
    "pointer_rollups",
];

/// Name of the application given to windows whose application row was lost.
pub const RECOVERED_APP: &str = "(recovered)";
/// Title given to windows whose row was lost while some of their events were saved.
pub const RECOVERED_TITLE: &str = "(title lost in repair)";

/// What [`check`] found. Empty lists mean the database is sound.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckReport {
    /// What `PRAGMA integrity_check` reported (at most 20 lines), empty when it said "ok".
    pub integrity: Vec<String>,
    /// Rollup tables that differ from a recomputation from the events: (table, rows that differ).
    pub rollups: Vec<(String, usize)>,
    /// Events stored (decoded from every block).
    pub events: u64,
}

impl CheckReport {
    /// Whether both checks passed.
    pub fn is_ok(&self) -> bool {
        self.integrity.is_empty() && self.rollups.is_empty()
    }
}

/// Opens an existing database file without any of the checks of the ordinary opens, keyed with
/// `key` unless it is an unencrypted SQLite file (an earlier version). The one place where
/// [`check`] and [`repair`] open a file they did not create.
pub fn open_source(path: &Path, key: &DbKey, write: bool) -> Result<Connection, StoreError> {
    if !path.is_file() {
        return Err(StoreError::Missing {
            path: path.to_owned(),
        });
    }
    let mut header = [0u8; 16];
    let plain = fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut header))
        .is_ok()
        && &header == b"SQLite format 3\0";
    let flags = if write {
        OpenFlags::SQLITE_OPEN_READ_WRITE
    } else {
        OpenFlags::SQLITE_OPEN_READ_ONLY
    } | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).at(path)?;
    if !plain {
        crate::key::apply(&conn, key, path)?;
    }
    conn.busy_timeout(BUSY_TIMEOUT).at(path)?;
    if !write {
        // Lets SQLite read a file shorter than its header says (cut off), instead of refusing
        // it whole; the pages that are there can then be salvaged.
        conn.pragma_update(None, "writable_schema", "ON").at(path)?;
    }
    Ok(conn)
}

/// The damaged file, read-only. SQLCipher keeps failing every read on a connection once one
/// page failed its authentication, so after any failed read the connection is opened afresh.
struct Source<'a> {
    path: &'a Path,
    key: &'a DbKey,
    conn: Connection,
}

impl Source<'_> {
    fn reset(&mut self) {
        match open_source(self.path, self.key, false) {
            Ok(conn) => self.conn = conn,
            Err(e) => tracing::warn!(error = %e, "reopening the damaged file failed"),
        }
    }

    /// Runs a one-row query; on failure, resets the connection and returns `None`.
    fn row<T>(
        &mut self,
        sql: &str,
        id: i64,
        f: impl FnOnce(&rusqlite::Row<'_>) -> rusqlite::Result<T>,
    ) -> Option<T> {
        match self.conn.query_row(sql, [id], f) {
            Ok(v) => Some(v),
            Err(rusqlite::Error::QueryReturnedNoRows) => None,
            Err(_) => {
                self.reset();
                None
            }
        }
    }
}

/// Runs `PRAGMA integrity_check` and checks that every rollup equals a recomputation from the
/// stored events. The recomputation is made in a transaction that is rolled back, so the file's
/// content is not changed (opening it for writing replays a write-ahead log left by a crash, as
/// any writer would). No other connection may write meanwhile.
pub fn check(path: &Path, key: &DbKey) -> Result<CheckReport, StoreError> {
    let conn = open_source(path, key, true)?;
    let mut report = CheckReport::default();
    {
        let mut stmt = conn.prepare("PRAGMA integrity_check(20)").at(path)?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))
            .at(path)?
            .collect::<Result<Vec<_>, _>>()
            .at(path)?;
        if lines != ["ok"] {
            report.integrity = lines;
            return Ok(report);
        }
    }
    let tx = conn.unchecked_transaction().at(path)?;
    let before: Vec<_> = ROLLUPS
        .iter()
        .map(|t| snapshot(&tx, path, t))
        .collect::<Result<_, _>>()?;
    report.events = rebuild_rollups(&tx, path)?;
    for (table, before) in ROLLUPS.iter().zip(before) {
        let after = snapshot(&tx, path, table)?;
        let differ = before.symmetric_difference(&after).count();
        if differ > 0 {
            report.rollups.push(((*table).to_owned(), differ));
        }
    }
    drop(tx);
    Ok(report)
}

/// A table's rows, in a form that compares exactly.
fn snapshot(conn: &Connection, path: &Path, table: &str) -> Result<BTreeSet<String>, StoreError> {
    let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).at(path)?;
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            let mut line = String::new();
            for i in 0..n {
                line.push_str(&format!("{:?}|", r.get::<_, Value>(i)?));
            }
            Ok(line)
        })
        .at(path)?;
    rows.collect::<Result<_, _>>().at(path)
}

/// Recomputes every rollup from the blocks; returns the number of events.
fn rebuild_rollups(conn: &Connection, path: &Path) -> Result<u64, StoreError> {
    let mut minutes = BTreeSet::new();
    for sql in [
        "SELECT DISTINCT id / 4096 FROM blocks",
        "SELECT DISTINCT minute FROM minute_rollups",
    ] {
        let mut stmt = conn.prepare(sql).at(path)?;
        for m in stmt.query_map([], |r| r.get::<_, i64>(0)).at(path)? {
            minutes.insert(m.at(path)?);
        }
    }
    let mut caches = Caches::default();
    let mut hours = BTreeSet::new();
    for &m in &minutes {
        recompute_minute(conn, path, &mut caches, m)?;
        caches.accs.clear();
        hours.insert(m.div_euclid(60));
    }
    let mut stmt = conn
        .prepare("SELECT DISTINCT hour FROM hour_rollups")
        .at(path)?;
    for h in stmt.query_map([], |r| r.get::<_, i64>(0)).at(path)? {
        hours.insert(h.at(path)?);
    }
    for &h in &hours {
        recompute_hour(conn, path, h)?;
    }
    crate::hourly::delete_hours(conn, path, i64::MIN, i64::MAX)?;
    crate::hourly::backfill(conn, path)?;
    conn.query_row(
        "SELECT coalesce(sum(events), 0) FROM minute_rollups",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| u64::try_from(n).unwrap_or(0))
    .at(path)
}

/// What one table gave in a repair.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableSalvage {
    pub table: String,
    /// Rows copied into the new file.
    pub saved: u64,
    /// Rows found but not readable (or, for event blocks, not decodable).
    pub lost_rows: u64,
    /// Ranges of row ids that could not be reached at all (their rows are not counted in
    /// `lost_rows`, since how many there were is unknown).
    pub lost_ranges: Vec<(i64, i64)>,
    /// The table could not be read at all: why.
    pub unreadable: Option<String>,
}

/// What [`repair`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// Where the damaged original is kept, unchanged (its write-ahead log, if any, next to it
    /// with `-wal` appended).
    pub original: PathBuf,
    /// Events saved (in blocks that read and decoded).
    pub events_saved: u64,
    /// Per table: rows saved and lost.
    pub tables: Vec<TableSalvage>,
    /// Time spans (start, end) whose events could not be read: the minutes of lost blocks and
    /// of unreachable ranges of blocks.
    pub lost_spans: Vec<(Micros, Micros)>,
    /// Windows and applications re-created with placeholder names for saved events whose
    /// window or application row was lost.
    pub placeholders: u64,
    /// What [`check`] says about the new file.
    pub check: CheckReport,
}

impl RepairReport {
    /// Whether nothing at all was lost.
    pub fn lossless(&self) -> bool {
        self.tables
            .iter()
            .all(|t| t.lost_rows == 0 && t.lost_ranges.is_empty() && t.unreadable.is_none())
    }
}

/// Salvages what can be read of the database at `path` into a new file that takes its place;
/// the original is kept as `<name>.damaged-<UTC time>` (with its `-wal` and `-shm`, if any).
/// `now` names the kept file. Refuses (changing nothing) when the original cannot be opened at
/// all with `key`. The caller must hold the data directory's instance lock.
pub fn repair(path: &Path, key: &DbKey, now: Micros) -> Result<RepairReport, StoreError> {
    let mut src = Source {
        path,
        key,
        conn: open_source(path, key, false)?,
    };
    // A key that does not open the file gives "not a database" on the first read: refuse,
    // rather than build an empty "repaired" file from a file we cannot read at all.
    if let Err(e) = src
        .conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
            r.get::<_, i64>(0)
        })
    {
        let reason = match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::NotADatabase) => "its first page does not read with this key: the key is wrong, or the page that describes every table is damaged".to_owned(),
            _ => format!("the list of its tables cannot be read ({e})"),
        };
        return Err(StoreError::Unsalvageable {
            path: path.to_owned(),
            reason,
        });
    }
    let tmp = crate::key::sibling(path, ".repairing");
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let p = crate::key::sibling(&tmp, suffix);
        match fs::remove_file(&p) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(StoreError::io(&p, e)),
        }
    }
    let dst = crate::schema::open_writer(&tmp, key)?;
    let mut report = RepairReport {
        original: PathBuf::new(),
        events_saved: 0,
        tables: Vec::new(),
        lost_spans: Vec::new(),
        placeholders: 0,
        check: CheckReport::default(),
    };
    {
        let tx = dst.unchecked_transaction().at(&tmp)?;
        for table in copied_tables(&tx, &tmp)? {
            let t = copy_table(&mut src, &tx, &tmp, &table)?;
            report.tables.push(t);
        }
        let (blocks, events, spans) = copy_blocks(&mut src, &tx, &tmp)?;
        report.tables.push(blocks);
        report.events_saved = events;
        report.lost_spans = spans;
        report.placeholders = fill_orphans(&tx, &tmp)?;
        rebuild_rollups(&tx, &tmp)?;
        tx.commit().at(&tmp)?;
    }
    drop(src);
    // Close (checkpoint, remove the WAL) before checking and moving the file.
    dst.close().map_err(|(_, e)| StoreError::sqlite(&tmp, e))?;
    report.check = check(&tmp, key)?;
    if !report.check.is_ok() {
        return Err(StoreError::Unsalvageable {
            path: path.to_owned(),
            reason: format!(
                "the new file did not pass its own check ({:?} {:?}); it was left at {}",
                report.check.integrity,
                report.check.rollups,
                tmp.display()
            ),
        });
    }
    report.original = keep_original(path, now)?;
    fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
    let detail = describe(&report);
    let conn = open_source(path, key, true)?;
    log_activity(&conn, path, ActivityKind::Storage, &detail)?;
    drop(conn);
    Ok(report)
}

/// One line for the activity log: counts, never content.
fn describe(r: &RepairReport) -> String {
    let lost_rows: u64 = r.tables.iter().map(|t| t.lost_rows).sum();
    let ranges: usize = r.tables.iter().map(|t| t.lost_ranges.len()).sum();
    format!(
        "database repaired: {} events saved; {lost_rows} unreadable rows and {ranges} unreachable ranges skipped; the damaged file is kept as {}",
        r.events_saved,
        r.original
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    )
}

/// Moves the original (and its WAL and shared-memory files) aside under a timestamped name,
/// without changing a byte. Returns its new path.
fn keep_original(path: &Path, now: Micros) -> Result<PathBuf, StoreError> {
    let stamp = chrono::DateTime::from_timestamp_micros(now)
        .unwrap_or_default()
        .format("%Y%m%dT%H%M%SZ")
        .to_string();
    let mut aside = crate::key::sibling(path, &format!(".damaged-{stamp}"));
    let mut n = 2;
    while aside.exists() {
        aside = crate::key::sibling(path, &format!(".damaged-{stamp}-{n}"));
        n += 1;
    }
    // The WAL and shared memory go first: left next to the new file, SQLite would replay the
    // old log into it.
    for suffix in ["-wal", "-shm"] {
        let from = crate::key::sibling(path, suffix);
        if from.exists() {
            let to = crate::key::sibling(&aside, suffix);
            fs::rename(&from, &to).map_err(|e| StoreError::io(&from, e))?;
        }
    }
    fs::rename(path, &aside).map_err(|e| StoreError::io(path, e))?;
    Ok(aside)
}

/// The tables of the new file copied row by row: everything but the blocks and the rollups.
fn copied_tables(conn: &Connection, path: &Path) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare(
            "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
             ORDER BY name",
        )
        .at(path)?;
    let names = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .at(path)?
        .collect::<Result<Vec<_>, _>>()
        .at(path)?;
    Ok(names
        .into_iter()
        .filter(|n| n != "blocks" && !ROLLUPS.contains(&n.as_str()))
        .collect())
}

fn columns(conn: &Connection, path: &Path, table: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = conn
        .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
        .at(path)?;
    stmt.query_map([], |r| r.get::<_, String>(0))
        .at(path)?
        .collect::<Result<Vec<_>, _>>()
        .at(path)
}

fn quoted(cols: &[String]) -> String {
    cols.iter()
        .map(|c| format!("\"{c}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Copies one rowid table row by row, skipping what cannot be read.
fn copy_table(
    src: &mut Source<'_>,
    dst: &Connection,
    dst_path: &Path,
    table: &str,
) -> Result<TableSalvage, StoreError> {
    let mut out = TableSalvage {
        table: table.to_owned(),
        ..TableSalvage::default()
    };
    let cols = columns(dst, dst_path, table)?;
    let src_cols = columns(&src.conn, src.path, table).unwrap_or_default();
    // Columns the source has (an older version may lack some; those get their defaults).
    let cols: Vec<String> = cols.into_iter().filter(|c| src_cols.contains(c)).collect();
    if cols.is_empty() {
        out.unreadable = Some("the table is missing or its definition is unreadable".into());
        return Ok(out);
    }
    let list = quoted(&cols);
    let select = format!("SELECT {list} FROM \"{table}\" WHERE rowid = ?1");
    let insert = format!(
        "INSERT OR IGNORE INTO \"{table}\" ({list}) VALUES ({})",
        vec!["?"; cols.len()].join(", ")
    );
    let mut ins = dst.prepare(&insert).at(dst_path)?;
    let scan = scan_rowids(src, table, |src, rowid| {
        let row = src.row(&select, rowid, |r| {
            (0..cols.len())
                .map(|i| r.get::<_, Value>(i))
                .collect::<rusqlite::Result<Vec<Value>>>()
        });
        match row {
            Some(values) => match ins.execute(params_from_iter(values)) {
                Ok(_) => out.saved += 1,
                Err(_) => out.lost_rows += 1,
            },
            None => out.lost_rows += 1,
        }
    });
    match scan {
        Ok(ranges) => out.lost_ranges = ranges,
        Err(reason) => out.unreadable = Some(reason),
    }
    Ok(out)
}

/// Time spans (start, end), in microseconds.
type Spans = Vec<(Micros, Micros)>;

/// Copies the event blocks whose rows read and whose data decodes. Returns the table's
/// salvage, the events saved, and the time spans lost.
fn copy_blocks(
    src: &mut Source<'_>,
    dst: &Connection,
    dst_path: &Path,
) -> Result<(TableSalvage, u64, Spans), StoreError> {
    let mut out = TableSalvage {
        table: "blocks".to_owned(),
        ..TableSalvage::default()
    };
    let mut events = 0u64;
    let mut lost_minutes = BTreeSet::new();
    let mut ins = dst
        .prepare("INSERT OR IGNORE INTO blocks (id, window_id, data) VALUES (?1, ?2, ?3)")
        .at(dst_path)?;
    let mut decoded: Vec<StoredEvent> = Vec::new();
    let scan = scan_rowids(src, "blocks", |src, id| {
        let minute = id.div_euclid(SEGMENTS);
        let row: Option<(i64, Vec<u8>)> = src.row(
            "SELECT window_id, data FROM blocks WHERE id = ?1",
            id,
            |r| Ok((r.get(0)?, r.get(1)?)),
        );
        let Some((wid, data)) = row else {
            out.lost_rows += 1;
            lost_minutes.insert(minute);
            return;
        };
        decoded.clear();
        let start = minute.saturating_mul(MICROS_PER_MINUTE);
        let valid = codec::decode(start, &data, &mut decoded).is_ok()
            && decoded
                .iter()
                .all(|e| e.ts >= start && e.ts < start.saturating_add(MICROS_PER_MINUTE));
        if !valid {
            out.lost_rows += 1;
            lost_minutes.insert(minute);
            return;
        }
        match ins.execute(rusqlite::params![id, wid, data]) {
            Ok(_) => {
                out.saved += 1;
                events += decoded.len() as u64;
            }
            Err(_) => {
                out.lost_rows += 1;
                lost_minutes.insert(minute);
            }
        }
    });
    let mut spans: Vec<(Micros, Micros)> = Vec::new();
    match scan {
        Ok(ranges) => {
            for &(lo, hi) in &ranges {
                let m = |id: i64| id.div_euclid(SEGMENTS).saturating_mul(MICROS_PER_MINUTE);
                spans.push((m(lo), m(hi).saturating_add(MICROS_PER_MINUTE)));
            }
            out.lost_ranges = ranges;
        }
        Err(reason) => out.unreadable = Some(reason),
    }
    for m in lost_minutes {
        let start = m.saturating_mul(MICROS_PER_MINUTE);
        spans.push((start, start.saturating_add(MICROS_PER_MINUTE)));
    }
    spans.sort_unstable();
    let mut merged: Vec<(Micros, Micros)> = Vec::new();
    for (lo, hi) in spans {
        match merged.last_mut() {
            Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
            _ => merged.push((lo, hi)),
        }
    }
    Ok((out, events, merged))
}

/// Gives saved events whose window (or whose window's application) was lost a placeholder
/// window and application, so they stay visible, counted and deletable. Returns how many rows
/// were made.
fn fill_orphans(conn: &Connection, path: &Path) -> Result<u64, StoreError> {
    let orphan_windows: Vec<i64> = {
        let mut stmt = conn
            .prepare(
                "SELECT DISTINCT window_id FROM blocks
                 WHERE window_id NOT IN (SELECT id FROM windows)",
            )
            .at(path)?;
        stmt.query_map([], |r| r.get(0))
            .at(path)?
            .collect::<Result<_, _>>()
            .at(path)?
    };
    let orphan_apps: i64 = conn
        .query_row(
            "SELECT count(*) FROM windows WHERE app_id NOT IN (SELECT id FROM apps)",
            [],
            |r| r.get(0),
        )
        .at(path)?;
    if orphan_windows.is_empty() && orphan_apps == 0 {
        return Ok(0);
    }
    conn.execute(
        "INSERT INTO apps (name) VALUES (?1) ON CONFLICT DO NOTHING",
        [RECOVERED_APP],
    )
    .at(path)?;
    let app: i64 = conn
        .query_row(
            "SELECT id FROM apps WHERE name = ?1",
            [RECOVERED_APP],
            |r| r.get(0),
        )
        .at(path)?;
    let mut made = 1u64;
    // Windows whose application is gone join the placeholder application; a title that is
    // already there under it (two such windows had the same title) keeps its own row apart.
    let mut stmt = conn
        .prepare("SELECT id, title FROM windows WHERE app_id NOT IN (SELECT id FROM apps)")
        .at(path)?;
    let rows: Vec<(i64, String)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .at(path)?
        .collect::<Result<_, _>>()
        .at(path)?;
    for (id, title) in rows {
        let moved = conn.execute(
            "UPDATE OR IGNORE windows SET app_id = ?1 WHERE id = ?2",
            rusqlite::params![app, id],
        );
        if !matches!(moved, Ok(1)) {
            conn.execute(
                "UPDATE windows SET app_id = ?1, title = ?2 WHERE id = ?3",
                rusqlite::params![app, format!("{title} ({id})"), id],
            )
            .at(path)?;
        }
    }
    for wid in orphan_windows {
        conn.execute(
            "INSERT INTO windows (id, app_id, title) VALUES (?1, ?2, ?3)",
            rusqlite::params![wid, app, format!("{RECOVERED_TITLE} #{wid}")],
        )
        .at(path)?;
        made += 1;
    }
    Ok(made)
}

/// Visits every readable rowid of `table` in order. Where a range of rows cannot be reached
/// (a damaged page), finds the next rowid from which reading works again and goes on; returns
/// the skipped ranges (`lo` inclusive, `hi` exclusive), or why the table cannot be read at all.
fn scan_rowids(
    src: &mut Source<'_>,
    table: &str,
    mut visit: impl FnMut(&mut Source<'_>, i64),
) -> Result<Vec<(i64, i64)>, String> {
    const PAGE: usize = 256;
    let page_sql =
        format!("SELECT rowid FROM \"{table}\" WHERE rowid >= ?1 ORDER BY rowid LIMIT {PAGE}");
    let probe_sql =
        format!("SELECT rowid FROM \"{table}\" WHERE rowid >= ?1 ORDER BY rowid LIMIT 1");
    // Whether reading can start at `from` (also true when there is nothing at or after it).
    let works = |src: &mut Source<'_>, from: i64| -> bool {
        match src
            .conn
            .query_row(&probe_sql, [from], |r| r.get::<_, i64>(0))
        {
            Ok(_) | Err(rusqlite::Error::QueryReturnedNoRows) => true,
            Err(_) => {
                src.reset();
                false
            }
        }
    };
    let unreadable = src.conn.prepare(&page_sql).err().map(|e| e.to_string());
    if let Some(reason) = unreadable {
        src.reset();
        return Err(reason);
    }
    let mut skipped = Vec::new();
    let mut next = i64::MIN;
    loop {
        // One page of rowids, read to the end before anything else uses the connection.
        let mut ids = Vec::with_capacity(PAGE);
        let failed = {
            let read = (|| -> rusqlite::Result<()> {
                let mut stmt = src.conn.prepare_cached(&page_sql)?;
                let mut rows = stmt.query([next])?;
                while let Some(row) = rows.next()? {
                    ids.push(row.get::<_, i64>(0)?);
                }
                Ok(())
            })();
            read.is_err()
        };
        if failed {
            src.reset();
        }
        let last = ids.last().copied();
        for id in ids.drain(..) {
            visit(src, id);
        }
        if !failed {
            match last {
                Some(i64::MAX) | None => return Ok(skipped),
                Some(id) => {
                    next = id + 1;
                    continue;
                }
            }
        }
        let from = match last {
            Some(i64::MAX) => return Ok(skipped),
            Some(id) => id + 1,
            None => next,
        };
        // Gallop forward to a start that works, then narrow down to the first one.
        let mut bad = from;
        let mut step: i64 = 1;
        let good = loop {
            let probe = bad.saturating_add(step);
            if probe == bad {
                skipped.push((from, i64::MAX));
                return Ok(skipped);
            }
            if works(src, probe) {
                break probe;
            }
            bad = probe;
            step = step.saturating_mul(2);
        };
        let (mut lo, mut hi) = (bad, good);
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if works(src, mid) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        skipped.push((from, hi));
        next = hi;
    }
}

/// The minutes, as time spans, of a repair report's lost blocks, for people.
pub fn describe_spans(spans: &[(Micros, Micros)]) -> Vec<String> {
    spans
        .iter()
        .map(|&(lo, hi)| {
            let f = |t: Micros| crate::delete::fmt_time(t);
            if hi >= Micros::MAX / 2 || lo <= Micros::MIN / 2 {
                "an unknown stretch of time".to_owned()
            } else {
                format!("{} to {}", f(lo), f(hi))
            }
        })
        .collect()
}

/// Rows per table as a map, for reports and tests.
pub fn saved_by_table(r: &RepairReport) -> BTreeMap<String, u64> {
    r.tables
        .iter()
        .map(|t| (t.table.clone(), t.saved))
        .collect()
}
