//! Several threads opening their first encrypted databases at the same moment, in a fresh
//! process: each must open. SQLite marks itself initialised before SQLCipher's own set-up has
//! run, so without the store waiting for that set-up a thread could be told "An error occurred
//! with PRAGMA key" (seen once in CI). The race only exists once per process, so each round is
//! a child process of this test binary.

use std::process::Command;
use std::sync::{Arc, Barrier};

use glasshouse_store::{DbKey, Store};

const CHILD: &str = "GLASSHOUSE_FIRST_OPEN_CHILD";
const THREADS: usize = 8;
const ROUNDS: usize = 60;

#[test]
fn threads_opening_their_first_databases_together_all_open() {
    if let Some(dir) = std::env::var_os(CHILD) {
        race(std::path::Path::new(&dir));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut failures = Vec::new();
    for round in 0..ROUNDS {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(&exe)
            .args([
                "--exact",
                "threads_opening_their_first_databases_together_all_open",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, dir.path())
            .output()
            .unwrap();
        if !out.status.success() {
            failures.push(format!(
                "round {round}: {}",
                String::from_utf8_lossy(&out.stdout)
                    .lines()
                    .filter(|l| l.contains("open failed"))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ROUNDS} rounds failed: {failures:?}",
        failures.len()
    );
}

/// In the child: every thread opens its own new database at once.
fn race(dir: &std::path::Path) {
    let barrier = Arc::new(Barrier::new(THREADS));
    let threads: Vec<_> = (0..THREADS)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let path = dir.join(format!("t{i}")).join("glasshouse.db");
            std::thread::spawn(move || {
                barrier.wait();
                Store::open(&path, &DbKey::from_bytes([7; 32])).map(drop)
            })
        })
        .collect();
    let mut failed = 0;
    for t in threads {
        if let Err(e) = t.join().unwrap() {
            println!("open failed: {e}");
            failed += 1;
        }
    }
    assert_eq!(failed, 0);
}
