//! The Glasshouse store: the person's recorded input in one SQLite file, written by one thread,
//! readable by any number of read-only connections.
//!
//! - [`Store`] is a cheap, cloneable handle to the writer thread ([`writer`]), which owns the only
//!   write connection, batches appends and commits them within 250 ms.
//! - [`Reader`] is a read-only connection for dashboards, exports and the CLI.
//! - Events are kept in compact blocks, one per (minute, window) ([`codec`]); per-minute and
//!   per-hour counts per application are maintained at ingest ([`rollup`]), so dashboards never
//!   scan raw events.
//! - Also maintained at ingest, per (UTC hour, application) ([`hourly`]): key presses per key
//!   (`full` level) or per category (`categories` level), button presses per 20 × 20 px cell of
//!   the screen, and the largest pointer x and y. They back [`Reader::key_counts`],
//!   [`Reader::click_cells`] and [`Reader::pointer_extent`].
//! - Every rollup always equals a computation from the stored events: deletes and retention
//!   recompute the minutes and hours they touch from what remains, and the schema migration that
//!   added the per-hour tables filled them from the events already stored.
//!
//! ## Privacy
//! - **Deleted means gone:** `secure_delete` is always on, so deleted rows are overwritten with
//!   zeros, and every delete ends with a truncating WAL checkpoint, so old copies of the pages do
//!   not linger in the write-ahead log. When a reader holds that checkpoint up, the delete says so
//!   ([`DeleteReport::wal_cleared`], [`Store::wal_pending`]) and the writer retries it after every
//!   commit until it completes. Closing the store empties the WAL as well. Tests scan the raw
//!   files for a deleted canary string.
//! - A write-ahead log left next to a database that is gone is refused, never replayed into a
//!   new database nor deleted: it holds the person's input, and what to do with it is theirs.
//! - A window title is written only together with an event of that window: windows that never
//!   had a stored event leave no trace. Deleting by application removes its titles.
//! - The activity log records what was deleted and when, never titles or typed text.
//! - The database file is created readable by its owner only, in a folder only they can enter.
//! - **Encrypted at rest** ([`DbKey`], SQLCipher): every page of the file and of its write-ahead
//!   log is encrypted and authenticated; an unencrypted database of an earlier version is
//!   encrypted when the writer first opens it, and the unencrypted file is overwritten with
//!   zeros and removed once the encrypted copy is in place. A wrong key changes nothing.
//! - A file that is not a Glasshouse database is refused and never modified.

pub mod audit;
pub mod batches;
mod blocks;
mod codec;
pub mod crashtest;
mod delete;
mod error;
mod hourly;
mod key;
pub mod raw;
mod reader;
pub mod repair;
mod rollup;
mod schema;
pub mod synth;
pub mod tmpfs;
mod types;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use glasshouse_core::model::Micros;
use glasshouse_core::policy::Emitted;

pub use audit::{AuditProblem, AuditReport, ChainHead};
pub use batches::{BatchOp, BatchOutcome, BatchRecord, BatchState};
pub use error::StoreError;
pub use hourly::CLICK_CELL_PX;
pub use key::{DbKey, reencrypt, replace_wiping};
pub use reader::Reader;
pub use schema::{APPLICATION_ID, holds_encrypted_database};
pub use types::{
    ActivityEntry, ActivityKind, AppSummary, ClickCell, Counts, DeleteReport, ExportFilter,
    ExportRow, HourRollup, KeyCounts, MinuteRollup, PauseInterval, PauseReason, Selection, Totals,
};

pub use writer::WriteHealth;
use writer::{Cmd, Progress, Reply, Writer};

const MICROS_PER_DAY: Micros = 86_400 * 1_000_000;

/// A handle to the writer thread of one database file. Clones share the thread; when the last
/// handle is dropped, buffered events are committed and the thread stops.
#[derive(Debug, Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    tx: Sender<Cmd>,
    path: PathBuf,
    /// For the readers it opens ([`Store::reader`]).
    key: DbKey,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// Set by the writer while a delete's checkpoint is held up by readers.
    wal_pending: Arc<AtomicBool>,
    /// What the writer committed, and whether it can write.
    progress: Arc<Progress>,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("path", &self.path).finish()
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        let handle = match self.thread.lock() {
            Ok(mut g) => g.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(handle) = handle {
            let _ = self.tx.send(Cmd::Stop(None));
            if handle.join().is_err() {
                tracing::error!(path = %self.path.display(), "the store's writer thread panicked");
            }
        }
    }
}

impl Store {
    /// Opens the database at `path` with its key, creating it (and its folder, private to the
    /// user) if missing, encrypting it if an earlier version left it unencrypted, and migrating
    /// it. A file that is not a Glasshouse database, is damaged, comes from a newer version or
    /// does not open with `key` is refused with an error naming it, and left untouched.
    pub fn open(path: &Path, key: &DbKey) -> Result<Store, StoreError> {
        let conn = schema::open_writer(path, key)?;
        let (tx, rx) = mpsc::channel();
        let wal_pending = Arc::new(AtomicBool::new(false));
        let progress = Arc::new(Progress::default());
        let writer = Writer::new(
            conn,
            path.to_owned(),
            Arc::clone(&wal_pending),
            Arc::clone(&progress),
        );
        let thread = std::thread::Builder::new()
            .name("glasshouse-store".into())
            .spawn(move || writer::run(writer, rx))
            .map_err(|e| StoreError::io(path, e))?;
        Ok(Store {
            inner: Arc::new(Inner {
                tx,
                path: path.to_owned(),
                key: key.clone(),
                thread: Mutex::new(Some(thread)),
                wal_pending,
                progress,
            }),
        })
    }

    /// Hands events to the writer without waiting. They are committed within 250 ms; a failure
    /// is reported by the next [`Store::flush`] (or other waiting call).
    pub fn append(&self, events: Vec<Emitted>) {
        if events.is_empty() {
            return;
        }
        if self.inner.tx.send(Cmd::Append(events)).is_err() {
            tracing::error!(path = %self.inner.path.display(), "events appended after the store was closed were dropped");
        }
    }

    fn call<T>(&self, make: impl FnOnce(Reply<T>) -> Cmd) -> Result<T, StoreError> {
        let (reply, rx) = mpsc::sync_channel(1);
        self.inner
            .tx
            .send(make(reply))
            .map_err(|_| StoreError::Closed)?;
        rx.recv().map_err(|_| StoreError::Closed)?
    }

    /// How many events appended through this handle's store have been committed since it was
    /// opened. Events commit in the order they were appended, so the first `committed()` events
    /// are in the database and survive this process being killed. Cheap: an atomic load.
    pub fn committed(&self) -> u64 {
        self.inner.progress.committed()
    }

    /// Whether the writer can write (a full disk shows here within one commit attempt), with
    /// its counts. Cheap enough to call on every tick.
    pub fn health(&self) -> WriteHealth {
        self.inner.progress.health()
    }

    /// Waits until everything appended before is committed.
    pub fn flush(&self) -> Result<(), StoreError> {
        self.call(Cmd::Flush)
    }

    /// Deletes the selected events (also those not yet committed), recomputes the counts they
    /// were part of, removes windows and applications left without events, overwrites the freed
    /// space and truncates the write-ahead log. Logs the delete in the activity log.
    ///
    /// If a reader keeps the write-ahead log from being truncated for 2 s, the delete returns
    /// with [`DeleteReport::wal_cleared`] false: the deleted bytes may still be in the `-wal`
    /// file until the reader is done; the writer retries after every commit (see
    /// [`Store::wal_pending`]).
    pub fn delete(&self, sel: Selection) -> Result<DeleteReport, StoreError> {
        self.call(|reply| Cmd::Delete {
            sel,
            retention_days: None,
            reply,
        })
    }

    /// Deletes events (and their counts) older than `now - days`, like [`Store::delete`]. When
    /// there is nothing that old, nothing is written and nothing is logged.
    pub fn apply_retention(&self, days: u32, now: Micros) -> Result<DeleteReport, StoreError> {
        let until = now.saturating_sub(Micros::from(days).saturating_mul(MICROS_PER_DAY));
        self.call(|reply| Cmd::Delete {
            sel: Selection::Range {
                since: Micros::MIN,
                until,
            },
            retention_days: Some(days),
            reply,
        })
    }

    /// Records a pause of the person's starting at `since` (`until: None` while it runs); calling
    /// again with the same `since` updates it.
    pub fn record_pause(&self, since: Micros, until: Option<Micros>) -> Result<(), StoreError> {
        self.record_pause_for(since, until, PauseReason::User)
    }

    /// Like [`Store::record_pause`], for a pause made for `reason`.
    pub fn record_pause_for(
        &self,
        since: Micros,
        until: Option<Micros>,
        reason: PauseReason,
    ) -> Result<(), StoreError> {
        self.call(|reply| Cmd::Pause {
            since,
            until,
            reason,
            reply,
        })
    }

    /// Adds an entry to the activity log, timestamped now. `detail` must not hold input.
    pub fn log(&self, kind: ActivityKind, detail: &str) -> Result<(), StoreError> {
        let detail = detail.to_owned();
        self.call(|reply| Cmd::Log {
            kind,
            detail,
            reply,
        })
    }

    /// Changes the upload batches (see [`batches`]), logging what the person did.
    pub fn batch(&self, op: BatchOp) -> Result<BatchOutcome, StoreError> {
        self.call(|reply| Cmd::Batch { op, reply })
    }

    /// A new read-only connection to the same file.
    pub fn reader(&self) -> Result<Reader, StoreError> {
        Reader::open(&self.inner.path, &self.inner.key)
    }

    /// The key the database is encrypted with.
    pub fn key(&self) -> &DbKey {
        &self.inner.key
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Whether a delete's truncating checkpoint is still held up by a reader, i.e. whether
    /// deleted bytes may still be in the `-wal` file. The writer retries after every commit and
    /// when idle, so this turns false shortly after the reader is done.
    pub fn wal_pending(&self) -> bool {
        self.inner.wal_pending.load(Ordering::Relaxed)
    }

    /// Commits what is buffered, empties the write-ahead log (a truncating checkpoint; SQLite
    /// removes the file when no reader has the database open) and stops the writer. Other
    /// handles to the same store get [`StoreError::Closed`] afterwards.
    pub fn close(self) -> Result<(), StoreError> {
        let result = self.call(|reply| Cmd::Stop(Some(reply)));
        let handle = match self.inner.thread.lock() {
            Ok(mut g) => g.take(),
            Err(poisoned) => poisoned.into_inner().take(),
        };
        if let Some(handle) = handle {
            let _ = handle.join();
        }
        result
    }
}
