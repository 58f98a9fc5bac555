//! The key of the encrypted database, and turning an unencrypted database of an earlier version
//! into an encrypted one.
//!
//! The database is an SQLCipher file: every page, the header included, is encrypted (AES-256)
//! and authenticated (HMAC-SHA512), and so are the pages of its write-ahead log. A file without
//! the right key reads as noise. The key is 32 random or derived bytes given to SQLCipher as a
//! raw key, so opening a connection costs no key derivation; where the key comes from (the
//! desktop keyring or a passphrase) is `glasshouse-vault`'s business.
//!
//! **Invariant:** the key is never written to disk by the store, and the copy it builds for
//! SQLCipher's `PRAGMA key` is wiped when the connection is keyed.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use rusqlite::{Connection, OpenFlags};
use zeroize::Zeroizing;

use crate::error::{SqlContext, StoreError};

/// The 32-byte key of a database. Wiped from memory when dropped; never printed.
#[derive(Clone)]
pub struct DbKey(Zeroizing<[u8; 32]>);

impl DbKey {
    /// A key from its bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> DbKey {
        DbKey(Zeroizing::new(bytes))
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The key as 64 lowercase hex digits, wiped when dropped: how it is handed to SQLCipher,
    /// to a keyring, or to another process.
    pub fn to_hex(&self) -> Zeroizing<String> {
        let mut s = Zeroizing::new(String::with_capacity(64));
        push_hex(&mut s, self.as_bytes());
        s
    }

    /// A key from exactly 64 hex digits (either case); `None` for anything else.
    pub fn from_hex(hex: &str) -> Option<DbKey> {
        let hex = hex.as_bytes();
        if hex.len() != 64 {
            return None;
        }
        let mut bytes = Zeroizing::new([0u8; 32]);
        for (b, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            let digit = |c: u8| char::from(c).to_digit(16);
            *b = u8::try_from(digit(pair[0])? * 16 + digit(pair[1])?).ok()?;
        }
        Some(DbKey::from_bytes(*bytes))
    }
}

impl std::fmt::Debug for DbKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DbKey(..)")
    }
}

/// Gives `conn` its key. Must be the first statement on a connection to an encrypted file.
pub(crate) fn apply(conn: &Connection, key: &DbKey, path: &Path) -> Result<(), StoreError> {
    wait_for_sqlcipher();
    let mut sql = Zeroizing::new(String::with_capacity(80));
    sql.push_str("PRAGMA key = \"x'");
    sql.push_str(&key.to_hex());
    sql.push_str("'\"");
    conn.execute_batch(&sql).at(path)
}

/// Waits, once per process, until SQLCipher has set itself up, and quiets its own logging.
///
/// SQLite marks itself initialised before it runs SQLCipher's set-up (`SQLITE_EXTRA_INIT`), so
/// a thread opening its first connection while another thread's first connection is still in
/// that set-up is refused every key ("An error occurred with PRAGMA key"). Keying an in-memory
/// database shows when the set-up is done; every keyed connection of the store waits for that.
///
/// SQLCipher also prints its own lines on stderr ("hmac check failed for pgno=1") when a key
/// does not fit or a page is damaged; the store reports both as typed errors in its own words,
/// so that process-wide log is turned off.
fn wait_for_sqlcipher() {
    static READY: OnceLock<()> = OnceLock::new();
    READY.get_or_init(|| {
        let probe = || -> rusqlite::Result<()> {
            let conn = Connection::open_in_memory()?;
            conn.execute_batch(&format!("PRAGMA key = \"x'{}'\"", "00".repeat(32)))?;
            conn.execute_batch("PRAGMA cipher_log_level = NONE")
        };
        // The set-up takes well under a millisecond; two seconds means something else is wrong,
        // and the real connection's own error will then say what.
        for _ in 0..2000 {
            match probe() {
                Ok(()) => return,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
        tracing::warn!("SQLCipher did not finish setting itself up within two seconds");
    });
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 15)]));
    }
}

/// `path` with `suffix` appended to its file name.
pub(crate) fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_owned();
    s.push(suffix);
    s.into()
}

/// Where the unencrypted database waits, during its encryption, to be wiped.
fn plaintext_aside(path: &Path) -> PathBuf {
    sibling(path, ".plaintext")
}

const DB_FILES: [&str; 3] = ["", "-wal", "-shm"];

/// Finishes an encryption that a crash interrupted, before anything else looks at the file.
///
/// The unencrypted database is moved aside only once its encrypted copy is complete, and the
/// copy is renamed into place before the original is wiped. So: if the database is in place, the
/// copy made it and what is left aside only needs wiping; if it is not, the original goes back
/// and will be encrypted again.
pub(crate) fn recover_interrupted(path: &Path) -> Result<(), StoreError> {
    let aside = plaintext_aside(path);
    if !aside.exists() {
        return Ok(());
    }
    if path.exists() {
        tracing::warn!(path = %path.display(), "finishing the removal of the unencrypted database");
        return wipe_all(&aside);
    }
    tracing::warn!(path = %path.display(), "an encryption was interrupted; it starts again");
    for suffix in DB_FILES {
        let from = sibling(&aside, suffix);
        if from.exists() {
            fs::rename(&from, sibling(path, suffix)).map_err(|e| StoreError::io(&from, e))?;
        }
    }
    Ok(())
}

/// Encrypts the unencrypted Glasshouse database at `path` with `key`: an encrypted copy is made
/// next to it, checked, and put in its place; then the original (and its write-ahead log) is
/// overwritten with zeros and removed. The schema is copied as it is; the caller migrates it.
pub(crate) fn encrypt_plaintext(path: &Path, key: &DbKey) -> Result<(), StoreError> {
    let tmp = sibling(path, ".encrypting");
    for suffix in DB_FILES {
        remove_if_present(&sibling(&tmp, suffix))?;
    }
    crate::schema::create_private_file(&tmp)?;
    let events = copy_encrypted(path, &tmp, key)?;
    // The copy must hold what the original holds before the original goes.
    if let Err(mismatch) = copy_matches(&tmp, key, events)? {
        let _ = fs::remove_file(&tmp);
        return Err(StoreError::Corrupt {
            path: path.to_owned(),
            reason: format!(
                "its encrypted copy did not match it ({mismatch}); the unencrypted file was kept"
            ),
        });
    }
    sync_file(&tmp)?;
    let aside = plaintext_aside(path);
    for suffix in DB_FILES {
        let from = sibling(path, suffix);
        if from.exists() {
            let to = sibling(&aside, suffix);
            fs::rename(&from, &to).map_err(|e| StoreError::io(&from, e))?;
        }
    }
    fs::rename(&tmp, path).map_err(|e| StoreError::io(path, e))?;
    sync_dir(path)?;
    wipe_all(&aside)?;
    tracing::info!(path = %path.display(), blocks = events, "the database is now encrypted");
    Ok(())
}

/// Copies the database at `path` (encrypted with `old`) into the new file `to`, encrypted with
/// `new`, checks the copy (the same event blocks, SQLite's quick check) and syncs it. The
/// original is not changed. The caller makes sure no writer uses `path` meanwhile, and puts the
/// copy in place with [`replace_wiping`] once the new key is recorded.
pub fn reencrypt(path: &Path, old: &DbKey, new: &DbKey, to: &Path) -> Result<(), StoreError> {
    for suffix in DB_FILES {
        remove_if_present(&sibling(to, suffix))?;
    }
    crate::schema::create_private_file(to)?;
    let copy = || -> Result<i64, StoreError> {
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(path, flags).at(path)?;
        apply(&conn, old, path)?;
        let events: i64 = conn
            .query_row("SELECT count(*) FROM blocks", [], |r| r.get(0))
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ffi::ErrorCode::NotADatabase) => StoreError::WrongKey {
                    path: path.to_owned(),
                },
                _ => StoreError::sqlite(path, e),
            })?;
        let mut new_key = Zeroizing::new(String::with_capacity(80));
        new_key.push_str("x'");
        new_key.push_str(&new.to_hex());
        new_key.push('\'');
        export_to(&conn, path, to, &new_key)?;
        conn.close().map_err(|(_, e)| StoreError::sqlite(path, e))?;
        Ok(events)
    };
    let checked = copy().and_then(|events| {
        if let Err(mismatch) = copy_matches(to, new, events)? {
            return Err(StoreError::Corrupt {
                path: path.to_owned(),
                reason: format!(
                    "its re-encrypted copy did not match it ({mismatch}); nothing was changed"
                ),
            });
        }
        sync_file(to)
    });
    if checked.is_err() {
        for suffix in DB_FILES {
            let _ = fs::remove_file(sibling(to, suffix));
        }
    }
    checked
}

/// Copies the database open (and keyed) on `conn`, at `path`, into the new file `to` with
/// `sqlcipher_export`, encrypted with `key_sql` (SQLCipher's key string: `x'…'` for a raw key,
/// empty for none), with its schema version and application id.
pub(crate) fn export_to(
    conn: &Connection,
    path: &Path,
    to: &Path,
    key_sql: &str,
) -> Result<(), StoreError> {
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .at(path)?;
    let app_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .at(path)?;
    let target = to.to_str().ok_or_else(|| StoreError::Corrupt {
        path: to.to_owned(),
        reason: "its path is not valid UTF-8".into(),
    })?;
    conn.execute("ATTACH DATABASE ?1 AS copy KEY ?2", [target, key_sql])
        .at(to)?;
    // As for a new database: set before any table exists.
    conn.execute_batch("PRAGMA copy.auto_vacuum = INCREMENTAL")
        .at(to)?;
    conn.query_row("SELECT sqlcipher_export('copy')", [], |_| Ok(()))
        .at(to)?;
    conn.execute_batch(&format!(
        "PRAGMA copy.user_version = {version}; PRAGMA copy.application_id = {app_id};"
    ))
    .at(to)?;
    conn.execute_batch("DETACH DATABASE copy").at(to)
}

/// Whether the copy at `to` (keyed with `key`) holds `events` event blocks and passes SQLite's
/// quick check; `Err` says how it does not.
fn copy_matches(to: &Path, key: &DbKey, events: i64) -> Result<Result<(), String>, StoreError> {
    let check = Connection::open_with_flags(to, OpenFlags::SQLITE_OPEN_READ_ONLY).at(to)?;
    apply(&check, key, to)?;
    let copied: i64 = check
        .query_row("SELECT count(*) FROM blocks", [], |r| r.get(0))
        .at(to)?;
    let ok: String = check
        .query_row("PRAGMA quick_check", [], |r| r.get(0))
        .at(to)?;
    Ok(if copied == events && ok == "ok" {
        Ok(())
    } else {
        Err(format!("{copied} of {events} blocks, check: {ok}"))
    })
}

/// Puts the complete database `staged` in the place of the one at `path`, whose old contents
/// (file, write-ahead log, shared memory) are overwritten with zeros: what the old key encrypted
/// does not stay readable in the data folder. No connection may be open on `path`.
pub fn replace_wiping(path: &Path, staged: &Path) -> Result<(), StoreError> {
    // The old file stays open through the rename, so its blocks can be zeroed after.
    let old = match fs::OpenOptions::new().write(true).open(path) {
        Ok(f) => Some(f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(StoreError::io(path, e)),
    };
    // A WAL of the old key next to the new file would be replayed into it.
    for suffix in ["-wal", "-shm"] {
        let p = sibling(path, suffix);
        if p.exists() {
            wipe(&p)?;
        }
    }
    match fs::rename(staged, path) {
        Ok(()) => {}
        // Another process put it in place meanwhile (and `old` may then be the new file): done.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(StoreError::io(path, e)),
    }
    sync_dir(path)?;
    if let Some(mut f) = old {
        zero_fill(&mut f).map_err(|e| StoreError::io(path, e))?;
    }
    Ok(())
}

/// Copies the unencrypted database at `from` into the new encrypted file `to`; returns the
/// number of event blocks in the original.
fn copy_encrypted(from: &Path, to: &Path, key: &DbKey) -> Result<i64, StoreError> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_URI;
    let conn = Connection::open_with_flags(to, flags).at(to)?;
    apply(&conn, key, to)?;
    // Must be set before any table exists, as for a new database.
    conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")
        .at(to)?;
    // The original is attached read-only and unkeyed: nothing is written to it, and its
    // write-ahead log is read as it is (not checkpointed into the file).
    let uri = format!("file:{}?mode=ro", uri_path(from));
    conn.execute("ATTACH DATABASE ?1 AS plain KEY ''", [uri])
        .at(from)?;
    let version: i64 = conn
        .query_row("PRAGMA plain.user_version", [], |r| r.get(0))
        .at(from)?;
    let app_id: i64 = conn
        .query_row("PRAGMA plain.application_id", [], |r| r.get(0))
        .at(from)?;
    let events: i64 = conn
        .query_row("SELECT count(*) FROM plain.blocks", [], |r| r.get(0))
        .at(from)?;
    conn.query_row("SELECT sqlcipher_export('main', 'plain')", [], |_| Ok(()))
        .at(to)?;
    conn.execute_batch("DETACH DATABASE plain").at(from)?;
    conn.pragma_update(None, "user_version", version).at(to)?;
    conn.pragma_update(None, "application_id", app_id).at(to)?;
    conn.close().map_err(|(_, e)| StoreError::sqlite(to, e))?;
    Ok(events)
}

/// Percent-encodes what an SQLite URI path cannot hold as it is.
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for b in path.as_os_str().as_encoded_bytes() {
        match b {
            b'%' | b'?' | b'#' | b' ' | 0..=0x1f | 0x7f.. => out.push_str(&format!("%{b:02X}")),
            _ => out.push(char::from(*b)),
        }
    }
    out
}

/// Overwrites the database at `base` and its `-wal` and `-shm` with zeros, flushes, and removes them.
fn wipe_all(base: &Path) -> Result<(), StoreError> {
    for suffix in DB_FILES {
        let p = sibling(base, suffix);
        if p.exists() {
            wipe(&p)?;
        }
    }
    sync_dir(base)
}

/// Overwrites the file with zeros in place and removes it. On a journaling or copy-on-write
/// filesystem or an SSD, old blocks may survive elsewhere; this is the most a program can do.
pub(crate) fn wipe(path: &Path) -> Result<(), StoreError> {
    let mut f = fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| StoreError::io(path, e))?;
    zero_fill(&mut f).map_err(|e| StoreError::io(path, e))?;
    drop(f);
    fs::remove_file(path).map_err(|e| StoreError::io(path, e))
}

/// Overwrites the whole of an open file with zeros, from its start, and syncs it.
fn zero_fill(f: &mut fs::File) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(0))?;
    let zeros = vec![0u8; 64 * 1024];
    let mut left = len;
    while left > 0 {
        let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
        f.write_all(&zeros[..n])?;
        left -= n as u64;
    }
    f.sync_all()
}

fn remove_if_present(path: &Path) -> Result<(), StoreError> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(StoreError::io(path, e)),
    }
}

fn sync_file(path: &Path) -> Result<(), StoreError> {
    fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|e| StoreError::io(path, e))
}

fn sync_dir(path: &Path) -> Result<(), StoreError> {
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => fs::File::open(dir)
            .and_then(|f| f.sync_all())
            .map_err(|e| StoreError::io(dir, e)),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_never_printed() {
        let k = DbKey::from_bytes([0xab; 32]);
        assert_eq!(format!("{k:?}"), "DbKey(..)");
    }

    #[test]
    fn uri_paths_are_escaped() {
        assert_eq!(uri_path(Path::new("/a b/c?d#e%")), "/a%20b/c%3Fd%23e%25");
    }

    #[test]
    fn hex() {
        let mut s = String::new();
        push_hex(&mut s, &[0x00, 0x0f, 0xa5, 0xff]);
        assert_eq!(s, "000fa5ff");
        let mut bytes = [0u8; 32];
        bytes[0] = 0xab;
        bytes[31] = 0x09;
        let key = DbKey::from_bytes(bytes);
        let hex = key.to_hex();
        assert_eq!(&hex[..2], "ab");
        assert_eq!(&hex[62..], "09");
        assert_eq!(DbKey::from_hex(&hex).unwrap().as_bytes(), &bytes);
        assert_eq!(
            DbKey::from_hex(&hex.to_uppercase()).unwrap().as_bytes(),
            &bytes
        );
        for bad in [
            "",
            &hex[..62],
            "zz".repeat(32).as_str(),
            &format!("{}0", &*hex),
        ] {
            assert!(DbKey::from_hex(bad).is_none(), "{bad:?}");
        }
    }
}
