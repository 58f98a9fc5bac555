//! Opening the database file: recognising it, refusing what is not ours, and migrating.
//!
//! **Invariant:** a file that is not recognised as a Glasshouse database (wrong magic, foreign
//! `application_id`, cut off, from a newer version, or not opened by the key) is never written
//! to: an unencrypted file is checked by reading its header bytes directly, an encrypted one
//! through a read-only keyed connection, before SQLite opens it for writing.

use std::fs;
use std::io::Read;
use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

use crate::error::{SqlContext, StoreError};
use crate::key::{DbKey, sibling};

/// `PRAGMA application_id` of a Glasshouse database: "GlHs".
pub const APPLICATION_ID: u32 = 0x476c_4873;

/// Code that fills tables a schema step created, from what is stored already.
type Fill = fn(&Connection, &Path) -> Result<(), StoreError>;

/// One schema step: SQL, then optionally a [`Fill`], both in the step's transaction.
struct Migration {
    sql: &'static str,
    fill: Option<Fill>,
}

/// The schema, one step per version. `PRAGMA user_version` is the number of steps applied.
/// Never edit a released step: add a new one.
const MIGRATIONS: &[Migration] = &[
    // 1: events as compact blocks, one per (minute, window); rollups maintained at ingest.
    Migration {
        sql: V1,
        fill: None,
    },
    // 2: per-hour key, click-grid and pointer-extent rollups, filled from the stored events.
    Migration {
        sql: V2,
        fill: Some(crate::hourly::backfill),
    },
    // 3: upload batches (see `batches`).
    Migration {
        sql: crate::batches::SCHEMA,
        fill: None,
    },
    // 4: the activity log as a hash chain (see `audit`); existing entries chained in order.
    Migration {
        sql: crate::audit::SCHEMA,
        fill: Some(crate::audit::migrate),
    },
    // 5: why a pause was made: NULL for the person's own, 'screen_locked' while the screen was.
    Migration {
        sql: "ALTER TABLE pauses ADD COLUMN reason TEXT;",
        fill: None,
    },
];

const V1: &str = "CREATE TABLE apps (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE COLLATE NOCASE
    );
    CREATE TABLE windows (
        id INTEGER PRIMARY KEY,
        app_id INTEGER NOT NULL,
        title TEXT NOT NULL,
        UNIQUE (app_id, title)
    );
    -- id = minute index * 4096 + sequence: a time range is a rowid range.
    CREATE TABLE blocks (
        id INTEGER PRIMARY KEY,
        window_id INTEGER NOT NULL,
        data BLOB NOT NULL
    );
    -- Finds the blocks of a window for deletes by application and for dropping unused windows.
    CREATE INDEX blocks_by_window ON blocks (window_id);
    CREATE TABLE minute_rollups (
        minute INTEGER NOT NULL,
        app_id INTEGER NOT NULL,
        keys INTEGER NOT NULL,
        clicks INTEGER NOT NULL,
        scroll INTEGER NOT NULL,
        distance_mpx INTEGER NOT NULL,
        active INTEGER NOT NULL,
        events INTEGER NOT NULL,
        mask INTEGER NOT NULL,
        last_ts INTEGER NOT NULL,
        PRIMARY KEY (minute, app_id)
    ) WITHOUT ROWID;
    CREATE TABLE hour_rollups (
        hour INTEGER NOT NULL,
        app_id INTEGER NOT NULL,
        keys INTEGER NOT NULL,
        clicks INTEGER NOT NULL,
        scroll INTEGER NOT NULL,
        distance_mpx INTEGER NOT NULL,
        active INTEGER NOT NULL,
        events INTEGER NOT NULL,
        last_ts INTEGER NOT NULL,
        PRIMARY KEY (hour, app_id)
    ) WITHOUT ROWID;
    CREATE TABLE pauses (
        since INTEGER PRIMARY KEY,
        until INTEGER
    );
    CREATE TABLE activity (
        id INTEGER PRIMARY KEY,
        ts INTEGER NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );";

const V2: &str =
    "-- code: a key code (>= 0) at the full level, minus a category code at the categories level.
    CREATE TABLE key_rollups (
        hour INTEGER NOT NULL,
        app_id INTEGER NOT NULL,
        code INTEGER NOT NULL,
        presses INTEGER NOT NULL,
        PRIMARY KEY (hour, app_id, code)
    ) WITHOUT ROWID;
    -- Button presses per cell of 20 x 20 pixels.
    CREATE TABLE click_rollups (
        hour INTEGER NOT NULL,
        app_id INTEGER NOT NULL,
        cx INTEGER NOT NULL,
        cy INTEGER NOT NULL,
        clicks INTEGER NOT NULL,
        PRIMARY KEY (hour, app_id, cx, cy)
    ) WITHOUT ROWID;
    -- The largest pointer position (moves, button presses and releases).
    CREATE TABLE pointer_rollups (
        hour INTEGER NOT NULL,
        app_id INTEGER NOT NULL,
        max_x INTEGER NOT NULL,
        max_y INTEGER NOT NULL,
        PRIMARY KEY (hour, app_id)
    ) WITHOUT ROWID;";

pub(crate) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The page size of an encrypted database (SQLCipher 4's default).
const ENCRYPTED_PAGE: u64 = 4096;

/// How long a connection waits for a lock before giving up.
pub(crate) const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// What the header of the file says, read without SQLite.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum FileState {
    /// No file, or an empty one (SQLite writes nothing until the first transaction).
    New,
    /// An unencrypted Glasshouse database (written by a version before encryption).
    Plain,
    /// Not a readable SQLite header: an encrypted database (ours, if the key opens it), or
    /// something else, which the key will not open.
    Encrypted,
}

/// Up to the first `N` bytes of the file at `path`, how many there were, and the file's length;
/// `None` when there is no file.
fn read_head<const N: usize>(path: &Path) -> Result<Option<([u8; N], usize, u64)>, StoreError> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(StoreError::io(path, e)),
    };
    let len = file.metadata().map_err(|e| StoreError::io(path, e))?.len();
    let mut head = Vec::with_capacity(N);
    file.take(N as u64)
        .read_to_end(&mut head)
        .map_err(|e| StoreError::io(path, e))?;
    let mut out = [0u8; N];
    out[..head.len()].copy_from_slice(&head);
    Ok(Some((out, head.len(), len)))
}

/// Whether the file at `path` is not empty and does not start with SQLite's plain header: an
/// encrypted database (or not a database at all), whose key was made before.
pub fn holds_encrypted_database(path: &Path) -> Result<bool, StoreError> {
    const MAGIC: &[u8; 16] = b"SQLite format 3\0";
    Ok(read_head::<16>(path)?.is_some_and(|(head, got, _)| got > 0 && head[..got] != MAGIC[..got]))
}

pub(crate) fn inspect(path: &Path) -> Result<FileState, StoreError> {
    let Some((header, got, len)) = read_head::<100>(path)? else {
        return Ok(FileState::New);
    };
    if len == 0 {
        return Ok(FileState::New);
    }
    let foreign = |reason: &str| StoreError::Foreign {
        path: path.to_owned(),
        reason: reason.to_owned(),
    };
    if got == header.len() && &header[..16] != b"SQLite format 3\0" {
        // SQLCipher encrypts the header too: only the key tells whether it is ours (`unlock`).
        return Ok(FileState::Encrypted);
    }
    if got < header.len() {
        return Err(foreign("it is not an SQLite database"));
    }
    let be32 = |at: usize| {
        u32::from_be_bytes([header[at], header[at + 1], header[at + 2], header[at + 3]])
    };
    match be32(68) {
        APPLICATION_ID => {}
        0 => {
            return Err(foreign(
                "it is an SQLite database without the Glasshouse mark",
            ));
        }
        _ => return Err(foreign("it is an SQLite database of another application")),
    }
    let page_size = match u16::from_be_bytes([header[16], header[17]]) {
        1 => 65536u64,
        n => u64::from(n),
    };
    let pages = u64::from(be32(28));
    let pages_valid = be32(24) == be32(92);
    if page_size < 512 || !page_size.is_power_of_two() || len % page_size != 0 {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            reason: "its size is not a whole number of pages: it was probably cut off".to_owned(),
        });
    }
    // While a WAL holds changes, a crash during a checkpoint can leave the header ahead of the
    // file; SQLite repairs that from the WAL, so the size is only checked without one.
    let wal_len = fs::metadata(sibling(path, "-wal")).map_or(0, |m| m.len());
    if pages_valid && wal_len == 0 && pages * page_size > len {
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "it is shorter than its header says ({len} of {} bytes): it was probably cut off",
                pages * page_size
            ),
        });
    }
    Ok(FileState::Plain)
}

fn user_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .at(path)
}

/// Checks, after SQLite opened the file, that it can read it and that the schema is one we know.
fn check_readable(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let version = user_version(conn, path)?;
    conn.query_row("SELECT count(*) FROM sqlite_schema", [], |r| {
        r.get::<_, i64>(0)
    })
    .at(path)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: path.to_owned(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    Ok(version)
}

/// Opens (creating if needed) the database for the one writer, encrypted with `key`, migrated
/// and configured. An unencrypted database of an earlier version is encrypted first.
pub(crate) fn open_writer(path: &Path, key: &DbKey) -> Result<Connection, StoreError> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        create_private_dir(dir)?;
    }
    crate::key::recover_interrupted(path)?;
    match inspect(path)? {
        FileState::New => {
            refuse_stale_wal(path)?;
            create_new(path, key)?;
        }
        FileState::Plain => crate::key::encrypt_plaintext(path, key)?,
        FileState::Encrypted => {}
    }
    // Look with a read-only connection first: a file the key does not open or whose schema is
    // newer is refused before anything could write to it.
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let probe = Connection::open_with_flags(path, flags).at(path)?;
    unlock(&probe, key, path)?;
    check_readable(&probe, path)?;
    drop(probe);
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).at(path)?;
    unlock(&conn, key, path)?;
    let version = check_readable(&conn, path)?;
    configure(&conn, path, version)?;
    Ok(conn)
}

/// Keys a fresh connection and checks that the key opens the file and that it is ours.
fn unlock(conn: &Connection, key: &DbKey, path: &Path) -> Result<(), StoreError> {
    crate::key::apply(conn, key, path)?;
    conn.busy_timeout(BUSY_TIMEOUT).at(path)?;
    let app_id = conn.query_row("PRAGMA application_id", [], |r| r.get::<_, i64>(0));
    match app_id {
        Ok(id) if id == i64::from(APPLICATION_ID) => check_size(conn, path),
        Ok(0) => Err(StoreError::Foreign {
            path: path.to_owned(),
            reason: "it is an SQLite database without the Glasshouse mark".to_owned(),
        }),
        Ok(_) => Err(StoreError::Foreign {
            path: path.to_owned(),
            reason: "it is an SQLite database of another application".to_owned(),
        }),
        Err(e) if e.sqlite_error_code() == Some(rusqlite::ffi::ErrorCode::NotADatabase) => {
            Err(StoreError::WrongKey {
                path: path.to_owned(),
            })
        }
        Err(e) => Err(StoreError::sqlite(path, e)),
    }
}

/// An encrypted file's header is only readable through the key, so its size is checked here
/// (what `inspect` does for an unencrypted one): a file that is not a whole number of pages, or
/// shorter than its header says while no WAL is there to complete it, was cut off.
fn check_size(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let len = fs::metadata(path)
        .map_err(|e| StoreError::io(path, e))?
        .len();
    let corrupt = |reason: String| StoreError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    if len % ENCRYPTED_PAGE != 0 {
        return Err(corrupt(
            "its size is not a whole number of pages: it was probably cut off".to_owned(),
        ));
    }
    let pages: i64 = conn
        .query_row("PRAGMA page_count", [], |r| r.get(0))
        .at(path)?;
    let pages = u64::try_from(pages).unwrap_or(0);
    let wal_len = fs::metadata(sibling(path, "-wal")).map_or(0, |m| m.len());
    if wal_len == 0 && pages * ENCRYPTED_PAGE > len {
        return Err(corrupt(format!(
            "it is shorter than its header says ({len} of {} bytes): it was probably cut off",
            pages * ENCRYPTED_PAGE
        )));
    }
    Ok(())
}

/// A non-empty `-wal` next to a missing or empty database is left from a database that is gone
/// (deleted or moved without its WAL). SQLite would replay it into the new file, bringing back
/// input and pages of another database, so it is refused: never replayed, never deleted.
fn refuse_stale_wal(path: &Path) -> Result<(), StoreError> {
    let wal = sibling(path, "-wal");
    match fs::metadata(&wal) {
        Ok(m) if m.len() > 0 => Err(StoreError::StaleWal { wal }),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(&wal, e)),
    }
}

/// Creates a new database under a temporary name and renames it into place once it is complete,
/// so a reader (`glasshouse status` a moment after `record` started) never sees a half-made file.
fn create_new(path: &Path, key: &DbKey) -> Result<(), StoreError> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".creating");
    let tmp = std::path::PathBuf::from(tmp);
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = tmp.as_os_str().to_owned();
        p.push(suffix);
        let _ = fs::remove_file(std::path::PathBuf::from(p));
    }
    // Created by us, readable only by the person: it holds what they typed.
    // SQLite gives the -wal and -shm files the same permissions.
    create_private_file(&tmp)?;
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(&tmp, flags).at(&tmp)?;
    crate::key::apply(&conn, key, &tmp)?;
    // Set before any table exists (it cannot change later) so deletes can give space back.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
        .at(&tmp)?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)
        .at(&tmp)?;
    configure(&conn, &tmp, 0)?;
    // Closing the only connection checkpoints the WAL into the file and removes it.
    conn.close().map_err(|(_, e)| StoreError::sqlite(&tmp, e))?;
    fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))
}

/// Migrates the schema and sets the connection's pragmas.
fn configure(conn: &Connection, path: &Path, version: i64) -> Result<(), StoreError> {
    // Deleted content is overwritten with zeros, not just unlinked: "deleted" means gone.
    conn.pragma_update(None, "secure_delete", "ON").at(path)?;
    migrate(conn, path, version)?;
    // WAL: readers (the dashboard, the CLI) never block the writer and the writer never blocks them.
    conn.pragma_update(None, "journal_mode", "WAL").at(path)?;
    // NORMAL is durable against application crashes in WAL mode; only a power loss may lose the
    // last commits (never corrupt the file). Losing a quarter second of input in a power cut is
    // acceptable for this data, and FULL would cost an fsync four times a second.
    conn.pragma_update(None, "synchronous", "NORMAL").at(path)?;
    // A busy reader can make the WAL grow; once checkpointed it is cut back to this size.
    conn.pragma_update(None, "journal_size_limit", 4 * 1024 * 1024)
        .at(path)?;
    conn.pragma_update(None, "foreign_keys", "OFF").at(path)?;
    Ok(())
}

fn migrate(conn: &Connection, path: &Path, from: i64) -> Result<(), StoreError> {
    for (i, step) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(from).unwrap_or(0))
    {
        let tx = conn.unchecked_transaction().at(path)?;
        tx.execute_batch(step.sql).at(path)?;
        if let Some(fill) = step.fill {
            fill(&tx, path)?;
        }
        tx.pragma_update(None, "user_version", i as i64 + 1)
            .at(path)?;
        tx.commit().at(path)?;
        tracing::info!(path = %path.display(), version = i + 1, "database schema migrated");
    }
    Ok(())
}

/// Opens the database read-only, for the dashboard and the CLI.
pub(crate) fn open_reader(path: &Path, key: &DbKey) -> Result<Connection, StoreError> {
    match inspect(path)? {
        FileState::New => {
            return Err(StoreError::Missing {
                path: path.to_owned(),
            });
        }
        FileState::Plain => {
            return Err(StoreError::NotEncrypted {
                path: path.to_owned(),
            });
        }
        FileState::Encrypted => {}
    }
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags).at(path)?;
    unlock(&conn, key, path)?;
    let version = check_readable(&conn, path)?;
    if version < SCHEMA_VERSION {
        return Err(StoreError::Outdated {
            path: path.to_owned(),
            found: version,
            known: SCHEMA_VERSION,
        });
    }
    conn.pragma_update(None, "query_only", "ON").at(path)?;
    Ok(conn)
}

fn create_private_dir(dir: &Path) -> Result<(), StoreError> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(dir).map_err(|e| StoreError::io(dir, e))
}

pub(crate) fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let mut o = fs::OpenOptions::new();
    o.write(true).create(true).truncate(false);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    o.open(path).map(drop).map_err(|e| StoreError::io(path, e))
}
