//! The writer thread: the only code that writes to the database.
//!
//! It receives commands over a channel, keeps appended events in memory and commits them at most
//! every [`COMMIT_EVERY`] (or at once on a flush or a delete). A commit writes one *segment* block
//! per (minute, window) and updates the rollups of the touched minutes and hours in the same
//! transaction (adding the commit's keys, clicks and pointer positions to the per-hour rollups of
//! [`crate::hourly`]), so dashboards never see events without their counts. Once a minute is
//! over, its segments are merged into one block per window (compaction), so the steady state is
//! one row per active (minute, window).
//!
//! A failed commit (a full disk, say) keeps the events in memory, is retried every
//! [`RETRY_AFTER`], and is reported to the next caller that waits for the writer and in
//! [`WriteHealth`] (`disk_full`), which the recorder shows as its state. Memory is bounded by
//! [`MAX_BUFFERED`] events; beyond that new events are dropped and counted
//! ([`WriteHealth::dropped`]). Commits are made in chunks of at most [`COMMIT_AT_EVENTS`] events,
//! oldest first, so a retry costs at most one chunk's work and whatever fits is written. When a
//! commit succeeds again the activity log says how long writing stopped, how many events waited
//! in memory and how many were dropped.
//!
//! **Acknowledgement:** [`WriteHealth::committed`] (and [`crate::Store::committed`]) counts the
//! events whose transaction has committed. Events are committed in the order they were appended,
//! so the first `committed` events appended are in the database and survive the process being
//! killed (SQLite's WAL with `synchronous = NORMAL` loses nothing to a process crash; only a
//! power cut may lose the last commits).
//!
//! **Damaged files:** before its first write the writer runs `PRAGMA quick_check`; a database
//! that fails it is never written to, and every command is answered with
//! [`StoreError::Corrupt`], which points to `glasshouse repair`.
//!
//! Every delete ends with a truncating WAL checkpoint, so the old page versions holding the
//! deleted bytes leave the disk. A reader in the middle of a long query holds that up: the
//! delete waits up to [`CHECKPOINT_PATIENCE`], then the checkpoint stays *pending* and is tried
//! again, once and briefly, after every commit and on every idle tick, so it completes soon after
//! the reader is done even while input never stops. Closing the store checkpoints too, so a
//! closed database leaves nothing in its WAL.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use glasshouse_core::model::{MICROS_PER_MINUTE, Micros, StoredEvent, Window, now_micros};
use glasshouse_core::policy::Emitted;
use rusqlite::{Connection, params};

use crate::blocks::{
    Caches, add_to_minute, app_of_window, compact_minute, log_activity, next_block_id,
    recompute_hour, window_id,
};
use crate::codec;
use crate::delete::{delete_all, delete_app, delete_range, describe};
use crate::error::{SqlContext, StoreError};
use crate::hourly::HourAcc;
use crate::rollup::{hour_of_minute, minute_of};
use crate::schema::BUSY_TIMEOUT;
use crate::types::{ActivityKind, DeleteReport, PauseReason, Selection};

/// Commit at most this long after the first uncommitted event arrived (the promise is 250 ms).
const COMMIT_EVERY: Duration = Duration::from_millis(200);
/// Commit at once when this many events wait, to keep transactions and memory moderate.
pub(crate) const COMMIT_AT_EVENTS: usize = 100_000;
/// Events kept in memory while commits fail; about two hours of very busy input.
const MAX_BUFFERED: usize = 1_000_000;
/// Wait between retries of a failed commit.
const RETRY_AFTER: Duration = Duration::from_secs(1);
/// How often an idle writer looks for finished minutes to compact.
const IDLE_TICK: Duration = Duration::from_secs(1);
/// How long to keep retrying a checkpoint that readers hold up, after a delete (and on close).
const CHECKPOINT_PATIENCE: Duration = Duration::from_secs(2);
/// How long a retry of a pending checkpoint (after a commit, when idle) waits for readers.
const CHECKPOINT_RETRY_WAIT: Duration = Duration::from_millis(10);

pub(crate) type Reply<T> = SyncSender<Result<T, StoreError>>;

/// How the writer is doing, for status displays and for tests that must know what is committed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteHealth {
    /// Events committed since the store was opened: the first `committed` events appended
    /// through this store are in the database.
    pub committed: u64,
    /// Events appended and not committed yet (waiting for the next commit, or for disk space).
    pub buffered: u64,
    /// Events dropped since the store was opened, because commits failed for so long that the
    /// memory limit was reached.
    pub dropped: u64,
    /// Commits fail because the disk (or the database's size limit) is full. Input is kept in
    /// memory, up to a limit, and written once there is space again.
    pub disk_full: bool,
    /// Why commits fail, while they do (a sentence naming the file).
    pub error: Option<String>,
}

/// What the writer shares with the store's handles.
#[derive(Debug, Default)]
pub(crate) struct Progress {
    committed: AtomicU64,
    health: Mutex<WriteHealth>,
}

impl Progress {
    pub(crate) fn committed(&self) -> u64 {
        self.committed.load(Ordering::Acquire)
    }

    pub(crate) fn health(&self) -> WriteHealth {
        let mut h = match self.health.lock() {
            Ok(g) => g.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        h.committed = self.committed();
        h
    }

    fn update(&self, f: impl FnOnce(&mut WriteHealth)) {
        match self.health.lock() {
            Ok(mut g) => f(&mut g),
            Err(poisoned) => f(&mut poisoned.into_inner()),
        }
    }
}

pub(crate) enum Cmd {
    Append(Vec<Emitted>),
    Flush(Reply<()>),
    Delete {
        sel: Selection,
        retention_days: Option<u32>,
        reply: Reply<DeleteReport>,
    },
    Pause {
        since: Micros,
        until: Option<Micros>,
        reason: PauseReason,
        reply: Reply<()>,
    },
    Log {
        kind: ActivityKind,
        detail: String,
        reply: Reply<()>,
    },
    Batch {
        op: crate::batches::BatchOp,
        reply: Reply<crate::batches::BatchOutcome>,
    },
    Stop(Option<Reply<()>>),
}

pub(crate) struct Writer {
    conn: Connection,
    path: PathBuf,
    buffer: Vec<Emitted>,
    first_buffered: Option<Instant>,
    retry_at: Option<Instant>,
    dropped: u64,
    /// Dropped since the store was opened (`dropped` is reset when a flush reports it).
    dropped_total: u64,
    /// Since when commits fail, and how many events were dropped when they started failing.
    failing_since: Option<(Instant, u64)>,
    /// Why the file was refused before the first write (it failed `PRAGMA quick_check`).
    damaged: Option<String>,
    progress: Arc<Progress>,
    /// Minutes that received segments since they were last compacted.
    dirty: BTreeSet<i64>,
    newest_minute: i64,
    caches: Caches,
    /// A delete whose checkpoint readers held up: retried after each commit and when idle.
    /// Shared with the store's handles ([`crate::Store::wal_pending`]).
    checkpoint_pending: Arc<AtomicBool>,
}

pub(crate) fn run(mut w: Writer, rx: Receiver<Cmd>) {
    w.check_at_start();
    if w.damaged.is_some() {
        refuse_all(&w, &rx);
        return;
    }
    loop {
        match rx.recv_timeout(w.next_wakeup()) {
            Ok(Cmd::Stop(reply)) => {
                let r = w.shutdown();
                if let Some(reply) = reply {
                    let _ = reply.send(r);
                }
                return;
            }
            Ok(cmd) => {
                w.handle(cmd);
                // A delete or batch change logged inside its transaction: record the new head.
                crate::audit::publish_pending(&w.conn, &w.path);
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => {
                let _ = w.shutdown();
                return;
            }
        }
        w.tick();
    }
}

/// Answers every command of a writer whose file failed its check with that error; writes nothing.
fn refuse_all(w: &Writer, rx: &Receiver<Cmd>) {
    let err = || StoreError::Corrupt {
        path: w.path.clone(),
        reason: w.damaged.clone().unwrap_or_default(),
    };
    while let Ok(cmd) = rx.recv() {
        match cmd {
            Cmd::Append(_) => {}
            Cmd::Flush(r) | Cmd::Pause { reply: r, .. } | Cmd::Log { reply: r, .. } => {
                let _ = r.send(Err(err()));
            }
            Cmd::Delete { reply, .. } => {
                let _ = reply.send(Err(err()));
            }
            Cmd::Batch { reply, .. } => {
                let _ = reply.send(Err(err()));
            }
            Cmd::Stop(reply) => {
                if let Some(r) = reply {
                    let _ = r.send(Err(err()));
                }
                return;
            }
        }
    }
}

impl Writer {
    pub(crate) fn new(
        conn: Connection,
        path: PathBuf,
        checkpoint_pending: Arc<AtomicBool>,
        progress: Arc<Progress>,
    ) -> Writer {
        Writer {
            conn,
            path,
            buffer: Vec::new(),
            first_buffered: None,
            retry_at: None,
            dropped: 0,
            dropped_total: 0,
            failing_since: None,
            damaged: None,
            progress,
            dirty: BTreeSet::new(),
            newest_minute: i64::MIN,
            caches: Caches::default(),
            checkpoint_pending,
        }
    }

    fn handle(&mut self, cmd: Cmd) {
        match cmd {
            Cmd::Append(events) => self.append(events),
            Cmd::Flush(reply) => {
                let _ = reply.send(self.flush());
            }
            Cmd::Delete {
                sel,
                retention_days,
                reply,
            } => {
                let _ = reply.send(self.delete(&sel, retention_days));
            }
            Cmd::Pause {
                since,
                until,
                reason,
                reply,
            } => {
                let r = self
                    .conn
                    .prepare_cached(
                        "INSERT INTO pauses (since, until, reason) VALUES (?1, ?2, ?3)
                         ON CONFLICT (since) DO UPDATE SET until = excluded.until",
                    )
                    .and_then(|mut s| s.execute(params![since, until, reason.column()]))
                    .map(drop)
                    .at(&self.path);
                self.note_small_write(&r);
                let _ = reply.send(r);
            }
            Cmd::Log {
                kind,
                detail,
                reply,
            } => {
                let r = log_activity(&self.conn, &self.path, kind, &detail);
                self.note_small_write(&r);
                let _ = reply.send(r);
            }
            Cmd::Batch { op, reply } => {
                let _ = reply.send(self.batch(op));
            }
            Cmd::Stop(_) => {}
        }
    }

    fn append(&mut self, events: Vec<Emitted>) {
        if events.is_empty() {
            return;
        }
        if self.buffer.len() >= MAX_BUFFERED {
            if self.dropped == 0 {
                tracing::error!(
                    path = %self.path.display(),
                    "events cannot be written and the memory limit is reached: dropping new input"
                );
            }
            self.dropped += events.len() as u64;
            self.dropped_total += events.len() as u64;
            let dropped = self.dropped_total;
            self.progress.update(|h| h.dropped = dropped);
            return;
        }
        if self.buffer.is_empty() {
            self.first_buffered = Some(Instant::now());
        }
        self.buffer.extend(events);
        let buffered = self.buffer.len() as u64;
        self.progress.update(|h| h.buffered = buffered);
    }

    /// Runs `PRAGMA quick_check` before anything is written: a damaged file is refused, so a
    /// recorder never builds on (and never changes) a file `glasshouse repair` could salvage.
    fn check_at_start(&mut self) {
        let r: Result<Vec<String>, rusqlite::Error> = (|| {
            let mut stmt = self.conn.prepare("PRAGMA quick_check(5)")?;
            let rows = stmt.query_map([], |r| r.get::<_, String>(0))?;
            rows.collect()
        })();
        let problem = match r {
            Ok(lines) if lines.len() == 1 && lines[0] == "ok" => return,
            Ok(lines) => lines.join("; "),
            Err(e) => e.to_string(),
        };
        tracing::error!(path = %self.path.display(), problem, "the database failed its check; nothing is written to it");
        self.damaged = Some(format!("SQLite's check found: {problem}"));
    }

    /// Follows the result of a small write (a pause, a log entry): a full disk shows in the
    /// health; success while no events wait means writing works again.
    fn note_small_write<T>(&mut self, r: &Result<T, StoreError>) {
        match r {
            Err(e @ StoreError::DiskFull { .. }) => self.failed(e),
            Ok(_) if self.buffer.is_empty() && self.failing_since.is_some() => self.recovered(0),
            _ => {}
        }
    }

    /// Commits fail: shown in the health until one succeeds.
    fn failed(&mut self, e: &StoreError) {
        if self.failing_since.is_none() {
            self.failing_since = Some((Instant::now(), self.dropped_total));
        }
        let (disk_full, message, buffered) = (
            matches!(e, StoreError::DiskFull { .. }),
            e.to_string(),
            self.buffer.len() as u64,
        );
        self.progress.update(|h| {
            h.disk_full = disk_full;
            h.error = Some(message);
            h.buffered = buffered;
        });
    }

    /// A write succeeded after failures: clear the health and say in the activity log what
    /// happened while writing stopped. `late` events that waited in memory were just written.
    fn recovered(&mut self, late: u64) {
        let Some((since, dropped_before)) = self.failing_since.take() else {
            return;
        };
        let buffered = self.buffer.len() as u64;
        self.progress.update(|h| {
            h.disk_full = false;
            h.error = None;
            h.buffered = buffered;
        });
        let dropped = self.dropped_total - dropped_before;
        let detail = format!(
            "writing resumed after {:.1} s in which the database could not be written (disk full or another write error); {late} events that waited in memory were written, {dropped} were dropped",
            since.elapsed().as_secs_f64()
        );
        tracing::info!(path = %self.path.display(), "{detail}");
        if let Err(e) = log_activity(&self.conn, &self.path, ActivityKind::Storage, &detail) {
            tracing::warn!(path = %self.path.display(), error = %e, "could not log that writing resumed");
        }
    }

    fn flush(&mut self) -> Result<(), StoreError> {
        self.commit()?;
        if self.dropped > 0 {
            let count = std::mem::take(&mut self.dropped);
            return Err(StoreError::Dropped { count });
        }
        Ok(())
    }

    fn next_wakeup(&self) -> Duration {
        let Some(first) = self.first_buffered.filter(|_| !self.buffer.is_empty()) else {
            return IDLE_TICK;
        };
        let mut at = first + COMMIT_EVERY;
        if let Some(r) = self.retry_at {
            at = at.max(r);
        }
        at.saturating_duration_since(Instant::now())
    }

    fn tick(&mut self) {
        let now = Instant::now();
        if !self.buffer.is_empty() {
            let waiting = self.retry_at.is_none_or(|r| now >= r);
            let due = self.buffer.len() >= COMMIT_AT_EVENTS
                || self.first_buffered.is_none_or(|f| now >= f + COMMIT_EVERY);
            if waiting && due {
                let _ = self.commit();
            }
            return;
        }
        // Idle: merge the segments of minutes that are over by the clock too.
        let now_minute = minute_of(now_micros().saturating_sub(5_000_000));
        let over: Vec<i64> = self.dirty.range(..now_minute).copied().collect();
        if !over.is_empty() {
            self.compact(&over);
        }
        self.retry_checkpoint();
    }

    fn shutdown(&mut self) -> Result<(), StoreError> {
        let mut result = self.flush();
        for _ in 0..3 {
            if !matches!(
                result,
                Err(StoreError::DiskFull { .. }) | Err(StoreError::Sqlite { .. })
            ) {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
            result = self.flush();
        }
        if let Err(e) = &result {
            tracing::error!(path = %self.path.display(), error = %e, lost = self.buffer.len(), "closing the store with events that could not be written");
        }
        let all: Vec<i64> = self.dirty.iter().copied().collect();
        self.compact(&all);
        // Closing the connection checkpoints and removes the WAL only when no other connection
        // (a reader) has the file open: truncate it here, so a closed store leaves no WAL
        // content either way.
        if !self.checkpoint(CHECKPOINT_PATIENCE) {
            tracing::warn!(path = %self.path.display(), "closing the store while a reader keeps the write-ahead log from being emptied; it is emptied when the store is next closed");
        }
        result
    }

    /// Commits everything buffered, oldest first, in chunks of at most [`COMMIT_AT_EVENTS`]. On
    /// failure what was not committed stays buffered for a retry.
    fn commit(&mut self) -> Result<(), StoreError> {
        let failing = self.failing_since.is_some();
        let mut written = 0u64;
        while !self.buffer.is_empty() {
            let n = self.buffer.len().min(COMMIT_AT_EVENTS);
            if let Err(e) = self.commit_chunk(n) {
                if written > 0 {
                    tracing::info!(written, "part of the waiting input was written");
                }
                self.failed(&e);
                return Err(e);
            }
            written += n as u64;
        }
        if failing {
            self.recovered(written);
        } else {
            self.progress.update(|h| h.buffered = 0);
        }
        Ok(())
    }

    /// Commits the oldest `n` buffered events in one transaction.
    fn commit_chunk(&mut self, n: usize) -> Result<(), StoreError> {
        match self.try_commit(n) {
            Ok(minutes) => {
                self.buffer.drain(..n);
                self.progress
                    .committed
                    .fetch_add(n as u64, Ordering::AcqRel);
                if self.buffer.is_empty() {
                    self.buffer.shrink_to(COMMIT_AT_EVENTS);
                    self.first_buffered = None;
                }
                self.retry_at = None;
                if let Some(&newest) = minutes.last() {
                    self.newest_minute = self.newest_minute.max(newest);
                }
                self.dirty.extend(minutes);
                let newest = self.newest_minute;
                self.caches.accs.retain(|&(m, _), _| m >= newest - 2);
                let hour = hour_of_minute(newest);
                self.caches.extents.retain(|&(h, _), _| h >= hour - 1);
                let over: Vec<i64> = self.dirty.range(..newest).copied().collect();
                if !over.is_empty() {
                    self.compact(&over);
                }
                // While input never stops the writer is never idle: a delete's checkpoint that
                // a reader held up is retried here too.
                self.retry_checkpoint();
                Ok(())
            }
            Err(e) => {
                self.caches.clear();
                self.retry_at = Some(Instant::now() + RETRY_AFTER);
                if self.failing_since.is_none() {
                    tracing::warn!(path = %self.path.display(), error = %e, buffered = self.buffer.len(), "commit failed; events kept in memory and retried every second");
                }
                Err(e)
            }
        }
    }

    /// Writes the oldest `n` buffered events in one transaction; returns the minutes it touched,
    /// in order.
    fn try_commit(&mut self, n: usize) -> Result<Vec<i64>, StoreError> {
        let path = &self.path;
        let tx = self.conn.unchecked_transaction().at(path)?;
        let mut groups: BTreeMap<(i64, i64), Vec<StoredEvent>> = BTreeMap::new();
        let mut last: Option<(*const Window, i64)> = None;
        for (window, ev) in &self.buffer[..n] {
            let wid = match last {
                Some((p, id)) if std::ptr::eq(p, Arc::as_ptr(window)) => id,
                _ => {
                    let id = window_id(&tx, path, &mut self.caches, window)?;
                    last = Some((Arc::as_ptr(window), id));
                    id
                }
            };
            groups
                .entry((minute_of(ev.ts), wid))
                .or_default()
                .push(ev.clone());
        }
        let mut by_minute: BTreeMap<i64, Vec<(i64, Vec<StoredEvent>)>> = BTreeMap::new();
        let mut hourly = HourAcc::default();
        for ((minute, wid), mut events) in groups {
            events.sort_by_key(|e| e.ts);
            let app = app_of_window(&tx, path, &mut self.caches, wid)?;
            hourly.push(hour_of_minute(minute), app, &events);
            let id = next_block_id(&tx, path, minute)?;
            let data = codec::encode(minute * MICROS_PER_MINUTE, &events);
            tx.prepare_cached("INSERT INTO blocks (id, window_id, data) VALUES (?1, ?2, ?3)")
                .and_then(|mut s| s.execute(params![id, wid, data]))
                .at(path)?;
            by_minute.entry(minute).or_default().push((wid, events));
        }
        let mut hours = BTreeSet::new();
        for (&minute, added) in &by_minute {
            add_to_minute(&tx, path, &mut self.caches, minute, added)?;
            hours.insert(hour_of_minute(minute));
        }
        for hour in hours {
            recompute_hour(&tx, path, hour)?;
        }
        hourly.write(&tx, path, Some(&mut self.caches.extents))?;
        tx.commit().at(path)?;
        Ok(by_minute.into_keys().collect())
    }

    /// Merges the segments of `minutes`. A failure only costs space, so it is logged, not raised.
    fn compact(&mut self, minutes: &[i64]) {
        let path = &self.path;
        let r = (|| {
            let tx = self.conn.unchecked_transaction().at(path)?;
            for &m in minutes {
                compact_minute(&tx, path, m)?;
            }
            tx.commit().at(path)
        })();
        match r {
            Ok(()) => {
                for m in minutes {
                    self.dirty.remove(m);
                }
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "merging finished minutes failed; retried later");
            }
        }
    }

    fn delete(
        &mut self,
        sel: &Selection,
        retention_days: Option<u32>,
    ) -> Result<DeleteReport, StoreError> {
        let before = self.buffer.len();
        match sel {
            Selection::Range { since, until } => {
                self.buffer
                    .retain(|(_, e)| !(*since <= e.ts && e.ts < *until));
            }
            Selection::App(app) => self
                .buffer
                .retain(|(w, _)| !w.app.eq_ignore_ascii_case(app)),
            Selection::All => self.buffer.clear(),
        }
        let in_memory = (before - self.buffer.len()) as u64;
        // A failed commit (a full disk) must not prevent a delete, which frees space: the events
        // stay buffered and the failure is reported by the next flush.
        let _ = self.commit();
        self.caches.clear();
        let path = &self.path;
        let tx = self.conn.unchecked_transaction().at(path)?;
        let mut report = match sel {
            Selection::Range { since, until } => {
                let events = delete_range(&tx, path, *since, *until)?;
                DeleteReport {
                    events,
                    since: Some(*since),
                    until: Some(*until),
                    wal_cleared: true,
                }
            }
            Selection::App(app) => delete_app(&tx, path, app)?,
            Selection::All => delete_all(&tx, path)?,
        };
        report.events += in_memory;
        if retention_days.is_some() && report.events == 0 {
            // Retention runs at every start and then periodically; when it finds nothing to
            // delete it changes nothing (the recomputed counts are the same) and logs nothing.
            drop(tx);
            self.retry_checkpoint();
            report.wal_cleared = !self.checkpoint_pending.load(Ordering::Relaxed);
            return Ok(report);
        }
        tx.execute_batch(
            "DELETE FROM windows WHERE NOT EXISTS (SELECT 1 FROM blocks WHERE window_id = windows.id);
             DELETE FROM apps WHERE NOT EXISTS (SELECT 1 FROM windows WHERE app_id = apps.id);",
        )
        .at(path)?;
        if let (Some(since), Some(until)) = (report.since, report.until) {
            let reopened = crate::batches::after_delete(&tx, path, since, until)?;
            if reopened > 0 {
                tracing::info!(
                    reopened,
                    "approved batches holding deleted input went back to review"
                );
            }
        }
        let (kind, detail) = describe(sel, retention_days, &report);
        log_activity(&tx, path, kind, &detail)?;
        tx.commit().at(path)?;
        // Give freed pages back to the file system; they are zeroed already (secure_delete).
        if let Err(e) = self.conn.execute_batch("PRAGMA incremental_vacuum;") {
            tracing::warn!(path = %path.display(), error = %e, "could not shrink the database after a delete");
        }
        report.wal_cleared = self.checkpoint(CHECKPOINT_PATIENCE);
        if !report.wal_cleared {
            tracing::warn!(path = %self.path.display(), "readers held up the checkpoint after a delete; retried after each commit until it completes");
        }
        Ok(report)
    }

    fn batch(
        &mut self,
        op: crate::batches::BatchOp,
    ) -> Result<crate::batches::BatchOutcome, StoreError> {
        let path = &self.path;
        let tx = self.conn.unchecked_transaction().at(path)?;
        let out = crate::batches::apply(&tx, path, op)?;
        tx.commit().at(path)?;
        Ok(out)
    }

    /// Tries a pending checkpoint once more, briefly. Costs nothing when none is pending.
    fn retry_checkpoint(&mut self) {
        if self.checkpoint_pending.load(Ordering::Relaxed) && self.checkpoint(Duration::ZERO) {
            tracing::info!(path = %self.path.display(), "the checkpoint readers held up is done: deleted input has left the write-ahead log");
        }
    }

    /// Copies the WAL into the database and truncates it, so old page versions holding deleted
    /// bytes leave the disk. Readers in the middle of a query hold it up: retried for up to
    /// `patience`; if it still could not complete, it is left pending. Returns whether it
    /// completed.
    fn checkpoint(&mut self, patience: Duration) -> bool {
        let start = Instant::now();
        // Short waits inside SQLite, so `patience` is what bounds the caller's latency.
        let wait = if patience.is_zero() {
            CHECKPOINT_RETRY_WAIT
        } else {
            Duration::from_millis(200)
        };
        let _ = self.conn.busy_timeout(wait);
        let done = self.try_checkpoint(start, patience);
        let _ = self.conn.busy_timeout(BUSY_TIMEOUT);
        self.checkpoint_pending.store(!done, Ordering::Relaxed);
        done
    }

    fn try_checkpoint(&mut self, start: Instant, patience: Duration) -> bool {
        loop {
            let r: Result<i64, _> =
                self.conn
                    .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |row| row.get(0));
            match r {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => {}
                Err(e) => {
                    tracing::warn!(path = %self.path.display(), error = %e, "checkpointing the write-ahead log failed");
                    return false;
                }
            }
            if start.elapsed() >= patience {
                return false;
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}
