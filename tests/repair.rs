//! A damaged database from the command line: `record` refuses it with a sentence that names
//! `glasshouse repair` and changes nothing; `repair` refuses while a recorder runs, then
//! salvages the readable events into a new file that `export` reads, and keeps the original
//! byte for byte. Runs `record`, so it needs an X server (Xvfb + openbox).

use std::process::Stdio;
use std::time::Duration;

use glasshouse_store::{Store, synth};

use crate::util::{App, XSession, wait_for, x_available};

const PAGE: usize = 4096;

/// About 25 minutes of heavy synthetic input, written through the store with the app's key.
fn fill(app: &App) -> u64 {
    let store = Store::open(&app.data_dir().join("glasshouse.db"), &app.key()).unwrap();
    // Two days ago: inside the retention period, which the recorder applies when it starts.
    let day = chrono::Local::now().date_naive() - chrono::Duration::days(2);
    let start = glasshouse_core::time::local_midnight(day) + 9 * 3_600_000_000;
    let day = synth::workday(start, 9, 0.05);
    let n = day.len() as u64;
    store.append(day);
    store.flush().unwrap();
    store.close().unwrap();
    n
}

#[test]
fn a_damaged_database_is_refused_and_repaired() {
    if !x_available() {
        return;
    }
    let x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let total = fill(&app);
    let db = app.data_dir().join("glasshouse.db");

    // A recorder running on the data directory: repair refuses and changes nothing.
    let mut rec = app
        .cmd(&["record"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_for("a recorder", Duration::from_secs(20), || {
        app.status()["pid"].as_u64().map(drop)
    });
    let out = app.run(&["repair", "--force"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("is recording"),
        "{err}"
    );
    rec.kill().unwrap();
    rec.wait().unwrap();

    // A tenth of the pages, from the middle, overwritten with noise (a few pages alone may all
    // be free ones, which lose nothing and which no check needs to notice).
    let mut bytes = std::fs::read(&db).unwrap();
    let pages = bytes.len() / PAGE;
    let first = pages * 2 / 5;
    for b in &mut bytes[first * PAGE..(first + pages / 10 + 1) * PAGE] {
        *b = b.wrapping_mul(31).wrapping_add(7);
    }
    std::fs::write(&db, &bytes).unwrap();

    let out = app.run(&["record", "--for", "3s"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "record refuses a damaged file: {err} {}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(
        err.contains("is damaged") && err.contains("glasshouse repair"),
        "{err}"
    );
    assert!(
        std::fs::read(&db).unwrap() == bytes,
        "record changed nothing"
    );

    let said = app.ok(&["repair"]);
    assert!(
        said.contains("Repaired") && said.contains("kept unchanged as"),
        "{said}"
    );
    let kept: Vec<_> = std::fs::read_dir(app.data_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.to_string_lossy();
            // The original with its -wal and -shm, kept together; the file itself is compared.
            name.contains(".damaged-") && !name.ends_with("-wal") && !name.ends_with("-shm")
        })
        .collect();
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        std::fs::read(&kept[0]).unwrap() == bytes,
        "original kept byte for byte"
    );
    let saved = app.export(&[]).len() as u64;
    assert!(
        saved > total / 2 && saved < total,
        "{saved} of {total} events saved"
    );
    assert!(
        said.contains(&format!("saved          {saved} events")),
        "{said}"
    );
    // The repaired file is an ordinary database again.
    let out = app.run(&["record", "--for", "1s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = app.ok(&["log"]);
    assert!(log.contains("database repaired"), "{log}");
}
