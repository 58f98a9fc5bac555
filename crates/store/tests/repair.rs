//! A damaged database: pages overwritten in the middle, or the file cut short. The writer
//! refuses it with an error that points to `glasshouse repair` and changes nothing; the repair
//! salvages the readable events into a new file that passes every check, rebuilds the counts,
//! and keeps the original byte for byte.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use glasshouse_core::model::Micros;
use glasshouse_store::{
    ActivityKind, DbKey, ExportFilter, Reader, Store, StoreError, repair, synth,
};

const PAGE: u64 = 4096;

fn key() -> DbKey {
    DbKey::from_bytes([7; 32])
}

/// A database of about 25 minutes of heavy synthetic input, with log entries and pauses.
fn build(dir: &Path) -> (PathBuf, HashSet<(Micros, String)>) {
    let path = dir.join("data").join("glasshouse.db");
    let store = Store::open(&path, &key()).unwrap();
    let day = synth::workday(1_700_000_000_000_000, 3, 0.05);
    let mut all = HashSet::new();
    for chunk in day.chunks(5_000) {
        for (w, e) in chunk {
            all.insert((e.ts, format!("{}|{}|{:?}", w.app, w.title, e.event)));
        }
        store.append(chunk.to_vec());
        store.flush().unwrap();
    }
    for i in 0..30 {
        store
            .log(ActivityKind::Settings, &format!("entry {i}"))
            .unwrap();
        store
            .record_pause(i * 1_000_000, Some(i * 1_000_000 + 5))
            .unwrap();
    }
    store.close().unwrap();
    (path, all)
}

fn events(path: &Path) -> Vec<(Micros, String)> {
    let mut out = Vec::new();
    Reader::open(path, &key())
        .unwrap()
        .export(&ExportFilter::default(), |r| {
            out.push((r.ts, format!("{}|{}|{:?}", r.app, r.title, r.event)));
            Ok(())
        })
        .unwrap();
    out
}

/// Overwrites `pages` pages starting at `at` (a fraction of the file) with noise.
fn overwrite(path: &Path, at: f64, pages: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    let n = bytes.len() as u64 / PAGE;
    let first = ((n as f64 * at) as u64).max(2);
    let mut x: u64 = 0x1234_5678;
    for p in first..(first + pages).min(n) {
        for b in &mut bytes[(p * PAGE) as usize..((p + 1) * PAGE) as usize] {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *b = x as u8;
        }
    }
    std::fs::write(path, bytes).unwrap();
}

/// The writer refuses the file with an error naming the repair, and leaves it as it was.
fn assert_refused(path: &Path) {
    let before = std::fs::read(path).unwrap();
    let err = match Store::open(path, &key()) {
        Err(e) => e,
        Ok(store) => {
            let e = store.flush().expect_err("a damaged file is refused");
            let _ = store.close();
            e
        }
    };
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err:?}");
    assert!(err.to_string().contains("glasshouse repair"), "{err}");
    assert!(
        std::fs::read(path).unwrap() == before,
        "the damaged file was changed"
    );
}

fn assert_repaired(path: &Path, original: &HashSet<(Micros, String)>) -> repair::RepairReport {
    let damaged = std::fs::read(path).unwrap();
    let report = repair::repair(path, &key(), 1_750_000_000_000_000).unwrap();
    eprintln!("{report:#?}");
    assert!(report.check.is_ok(), "{report:?}");
    assert!(
        std::fs::read(&report.original).unwrap() == damaged,
        "the original is kept byte for byte"
    );
    assert!(
        report
            .original
            .to_string_lossy()
            .ends_with(".damaged-20250615T150640Z")
    );
    // The new file opens as usual, passes the checks, and holds only events that were recorded.
    let store = Store::open(path, &key()).unwrap();
    store.flush().unwrap();
    store.close().unwrap();
    let check = repair::check(path, &key()).unwrap();
    assert!(check.is_ok(), "{check:?}");
    let saved = events(path);
    assert_eq!(saved.len() as u64, report.events_saved);
    assert_eq!(check.events, report.events_saved);
    for e in &saved {
        assert!(
            original.contains(e) || e.1.starts_with(repair::RECOVERED_APP),
            "{e:?} was never recorded"
        );
    }
    let log = Reader::open(path, &key()).unwrap().activity(100).unwrap();
    assert!(
        log.iter()
            .any(|e| e.kind == ActivityKind::Storage && e.detail.contains("repaired")),
        "{log:?}"
    );
    report
}

#[test]
fn overwritten_pages_are_refused_then_salvaged() {
    let dir = tempfile::tempdir().unwrap();
    let (path, original) = build(dir.path());
    let total = original.len() as u64;
    overwrite(&path, 0.5, 3);
    assert_refused(&path);
    let report = assert_repaired(&path, &original);
    assert!(
        report.events_saved > total / 2 && report.events_saved < total,
        "most events are saved, the damaged ones are not: {} of {total}",
        report.events_saved
    );
    assert!(!report.lossless());
    assert!(!report.lost_spans.is_empty(), "the lost minutes are named");
}

#[test]
fn a_file_cut_short_is_refused_then_salvaged() {
    let dir = tempfile::tempdir().unwrap();
    let (path, original) = build(dir.path());
    let total = original.len() as u64;
    let len = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len((len * 7 / 10) / PAGE * PAGE).unwrap();
    drop(f);
    assert_refused(&path);
    let report = assert_repaired(&path, &original);
    assert!(report.events_saved < total, "{report:?}");
}

#[test]
fn a_sound_database_is_copied_whole_and_a_wrong_key_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (path, original) = build(dir.path());
    let before = std::fs::read(&path).unwrap();
    let wrong = DbKey::from_bytes([8; 32]);
    let err = repair::repair(&path, &wrong, 0).unwrap_err();
    assert!(matches!(err, StoreError::Unsalvageable { .. }), "{err:?}");
    assert!(std::fs::read(&path).unwrap() == before, "nothing changed");
    let names: Vec<String> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("damaged") && !n.contains("repairing")),
        "nothing was moved or made: {names:?}"
    );

    let report = assert_repaired(&path, &original);
    assert!(report.lossless(), "{report:?}");
    assert_eq!(report.events_saved, original.len() as u64);
    let saved = repair::saved_by_table(&report);
    assert_eq!(saved["pauses"], 30);
    assert!(saved["activity"] >= 30);
}
