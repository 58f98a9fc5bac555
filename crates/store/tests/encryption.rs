//! Encryption at rest: nothing readable on disk, a wrong key changes nothing, and a database of
//! an earlier version is encrypted once with its plaintext removed.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use glasshouse_core::keys::Key;
use glasshouse_core::model::{MICROS_PER_SEC, Micros, Stored, StoredEvent, Window};
use glasshouse_store::{DbKey, ExportFilter, ExportRow, Reader, Store, StoreError, raw, synth};

const S: Micros = MICROS_PER_SEC;
/// 2026-03-02 09:00:00 UTC.
const DAY: Micros = 1_772_442_000 * S;
const CANARY: &str = "EncryptedCanaryText";
const TITLE: &str = "EncryptedCanaryTitle";

fn key() -> DbKey {
    DbKey::from_bytes([7; 32])
}

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data").join("glasshouse.db")
}

fn canary_events() -> Vec<glasshouse_core::policy::Emitted> {
    let w = Arc::new(Window {
        app: "editor".into(),
        class: "Editor".into(),
        title: TITLE.into(),
    });
    let mut events = synth::workday(DAY, 3, 0.01);
    events.push((
        w,
        StoredEvent {
            ts: DAY + 3600 * S,
            event: Stored::KeyDown {
                key: Key::KeyA,
                text: Some(CANARY.into()),
            },
        },
    ));
    events
}

fn export_all(r: &Reader) -> Vec<ExportRow> {
    let mut rows = Vec::new();
    r.export(&ExportFilter::default(), |row| {
        rows.push(row);
        Ok(())
    })
    .unwrap();
    rows
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Every file under `dir`, as raw bytes.
fn every_file(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(every_file(&p));
        } else {
            let bytes = std::fs::read(&p).unwrap();
            out.push((p, bytes));
        }
    }
    out
}

fn assert_nothing_readable(dir: &Path) {
    let files = every_file(dir);
    assert!(!files.is_empty());
    for (p, bytes) in files {
        for needle in [CANARY, TITLE, "SQLite format 3", "CREATE TABLE"] {
            assert!(
                !contains(&bytes, needle),
                "{} holds {needle:?} in clear",
                p.display()
            );
        }
    }
}

#[test]
fn nothing_on_disk_is_readable_without_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = Store::open(&path, &key()).unwrap();
    store.append(canary_events());
    store.flush().unwrap();
    // Committed, in the WAL and the file: encrypted in both.
    assert_nothing_readable(dir.path());
    // Control: the same bytes decrypted with the key do hold the text.
    assert!(contains(
        &raw::decrypted_pages(&path, &key()).unwrap(),
        CANARY
    ));
    store.close().unwrap();
    assert_nothing_readable(dir.path());
    let r = Reader::open(&path, &key()).unwrap();
    assert!(
        export_all(&r)
            .iter()
            .any(|row| row.title == TITLE && format!("{:?}", row.event).contains(CANARY))
    );
}

#[test]
fn a_wrong_key_is_a_clear_error_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = Store::open(&path, &key()).unwrap();
    store.append(canary_events());
    store.close().unwrap();
    let before = std::fs::read(&path).unwrap();
    let wrong = DbKey::from_bytes([8; 32]);
    let err = Store::open(&path, &wrong).map(drop).unwrap_err();
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(
        msg.contains("passphrase is wrong") && msg.contains("untouched"),
        "{msg}"
    );
    let err = Reader::open(&path, &wrong).map(drop).unwrap_err();
    assert!(matches!(err, StoreError::WrongKey { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    for suffix in ["-wal", "-shm"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        assert!(
            !p.exists() || std::fs::metadata(&p).unwrap().len() == 0,
            "{} was left",
            p.display()
        );
    }
    // And the right key still opens it.
    assert!(!export_all(&Reader::open(&path, &key()).unwrap()).is_empty());
}

/// Writes what a version before encryption left: the same database, unencrypted.
fn make_plaintext(encrypted: &Path, plain: &Path) {
    glasshouse_store::raw::write_unencrypted_copy(encrypted, &key(), plain).unwrap();
}

fn plaintext_database(dir: &tempfile::TempDir) -> (PathBuf, Vec<ExportRow>) {
    let staging = dir.path().join("staging.db");
    let store = Store::open(&staging, &key()).unwrap();
    store.append(canary_events());
    store.close().unwrap();
    let rows = export_all(&Reader::open(&staging, &key()).unwrap());
    let path = db(dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    make_plaintext(&staging, &path);
    std::fs::remove_file(&staging).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert!(bytes.starts_with(b"SQLite format 3\0"), "control");
    assert!(contains(&bytes, CANARY), "control");
    (path, rows)
}

#[test]
fn an_unencrypted_database_of_an_earlier_version_is_encrypted_once() {
    let dir = tempfile::tempdir().unwrap();
    let (path, rows) = plaintext_database(&dir);
    // A reader does not encrypt; it says what to do.
    let err = Reader::open(&path, &key()).map(drop).unwrap_err();
    assert!(matches!(err, StoreError::NotEncrypted { .. }), "{err:?}");
    assert!(
        std::fs::read(&path)
            .unwrap()
            .starts_with(b"SQLite format 3\0")
    );

    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(export_all(&store.reader().unwrap()), rows);
    store.close().unwrap();
    // The plaintext is gone from every file of the folder, and no copy was left beside it.
    assert_nothing_readable(dir.path());
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["glasshouse.db"], "{names:?}");
    // Once: opening again changes nothing more and keeps everything.
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(export_all(&store.reader().unwrap()), rows);
    store.close().unwrap();
}

#[test]
fn an_encryption_cut_short_is_finished_at_the_next_start() {
    // Cut after the original was moved aside and before the copy was put in place.
    let dir = tempfile::tempdir().unwrap();
    let (path, rows) = plaintext_database(&dir);
    let aside = path.with_file_name("glasshouse.db.plaintext");
    std::fs::rename(&path, &aside).unwrap();
    std::fs::write(
        path.with_file_name("glasshouse.db.encrypting"),
        b"half a copy",
    )
    .unwrap();
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(export_all(&store.reader().unwrap()), rows);
    store.close().unwrap();
    assert_nothing_readable(dir.path());
    assert!(!aside.exists());

    // Cut after the copy was put in place and before the original was wiped.
    let dir = tempfile::tempdir().unwrap();
    let (path, rows) = plaintext_database(&dir);
    let plain = std::fs::read(&path).unwrap();
    Store::open(&path, &key()).unwrap().close().unwrap();
    std::fs::write(aside_of(&path), &plain).unwrap();
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(export_all(&store.reader().unwrap()), rows);
    store.close().unwrap();
    assert_nothing_readable(dir.path());
    assert!(!aside_of(&path).exists());
}

fn aside_of(path: &Path) -> PathBuf {
    path.with_file_name("glasshouse.db.plaintext")
}
