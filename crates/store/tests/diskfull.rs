//! A full disk, for real: the database lives on a 2 MB tmpfs that a filler file fills up.
//! Commits fail and say "disk full" in the store's health, nothing committed is lost or damaged,
//! the input that could not be written waits in memory, and it is written by itself, within about
//! a second, once the filler is removed. Needs root (to mount tmpfs); skipped with a message
//! otherwise.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use glasshouse_core::model::{Micros, Stored, StoredEvent, Window};
use glasshouse_core::policy::Emitted;
use glasshouse_store::tmpfs::Tmpfs;
use glasshouse_store::{DbKey, Reader, Store, StoreError, repair};

fn key() -> DbKey {
    DbKey::from_bytes([7; 32])
}

/// Fills the file system holding `path` with a file of that name; returns its size.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5au8; 16 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(_) => break,
        }
    }
    let _ = f.sync_all();
    written
}

/// `n` events from `start`: moves and typed letters, 1 ms apart.
fn events(start: Micros, n: usize) -> Vec<Emitted> {
    let w = Arc::new(Window {
        app: "xterm".into(),
        class: String::new(),
        title: "bash".into(),
    });
    (0..n)
        .map(|i| {
            let ts = start + i as Micros * 1000;
            let event = if i % 5 == 0 {
                Stored::KeyDown {
                    key: glasshouse_core::keys::Key::KeyA,
                    text: Some("a".into()),
                }
            } else {
                Stored::Move {
                    x: (i % 1900) as i32,
                    y: (i % 1000) as i32,
                }
            };
            (w.clone(), StoredEvent { ts, event })
        })
        .collect()
}

fn count(path: &Path) -> u64 {
    Reader::open(path, &key()).unwrap().event_count().unwrap()
}

#[test]
fn a_full_disk_stops_writing_loses_nothing_and_resumes_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_mnt) = Tmpfs::mount(dir.path(), "2m") else {
        return;
    };
    let db = dir.path().join("glasshouse.db");
    let store = Store::open(&db, &key()).unwrap();
    let t0: Micros = 1_700_000_000_000_000;
    store.append(events(t0, 2_000));
    store.flush().unwrap();
    assert_eq!(count(&db), 2_000);
    assert!(!store.health().disk_full);

    let filler = dir.path().join("filler");
    let filled = fill(&filler);
    assert!(filled > 0);
    // Input goes on while the disk is full: 60 seconds of it.
    let mut appended = 2_000u64;
    let start = Instant::now();
    while !store.health().disk_full {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "the health never said disk full: {:?}",
            store.health()
        );
        store.append(events(t0 + appended as Micros * 1000, 1_000));
        appended += 1_000;
        std::thread::sleep(Duration::from_millis(50));
    }
    let h = store.health();
    assert!(h.error.as_deref().unwrap().contains("full"), "{h:?}");
    assert!(h.buffered > 0, "input waits in memory: {h:?}");
    assert!(matches!(store.flush(), Err(StoreError::DiskFull { .. })));
    // Whatever was committed is there and readable while the disk is full.
    let kept = count(&db);
    assert!(kept >= 2_000 && kept == h.committed, "{kept} vs {h:?}");
    for _ in 0..20 {
        store.append(events(t0 + appended as Micros * 1000, 500));
        appended += 500;
        std::thread::sleep(Duration::from_millis(20));
    }

    // Space comes back: writing resumes by itself, without a flush.
    std::fs::remove_file(&filler).unwrap();
    let freed = Instant::now();
    while store.health().disk_full || store.health().buffered > 0 {
        assert!(
            freed.elapsed() < Duration::from_secs(5),
            "writing did not resume: {:?}",
            store.health()
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let resumed = freed.elapsed();
    eprintln!("time to resume after disk space returned: {resumed:?}");
    assert!(resumed < Duration::from_millis(1_500), "{resumed:?}");
    let h = store.health();
    assert_eq!(h.error, None);
    assert_eq!(h.dropped, 0);
    assert_eq!(h.committed, appended, "{h:?}");
    store.flush().unwrap();
    assert_eq!(count(&db), appended, "nothing was lost");
    let log = Reader::open(&db, &key()).unwrap().activity(10).unwrap();
    assert!(
        log.iter()
            .any(|e| e.kind == glasshouse_store::ActivityKind::Storage
                && e.detail.contains("writing resumed")),
        "{log:?}"
    );
    store.close().unwrap();
    let check = repair::check(&db, &key()).unwrap();
    assert!(check.is_ok(), "{check:?}");
    assert_eq!(check.events, appended);
}
