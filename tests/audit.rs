//! `glasshouse audit verify` on the real binary: an untouched activity log is intact (exit 0); a
//! log changed behind Glasshouse's back with the SQLite API is not (exit 1), and each problem is
//! named on a line of its own.

use std::process::Output;

use crate::util::{App, XSession, x_available};

/// The app's database, opened for writing with SQLite as anyone with the person's access to the
/// file (and its key) could. The one place that knows how to open it.
fn open_db(app: &App) -> rusqlite::Connection {
    glasshouse_store::raw::open_keyed(&app.data_dir().join("glasshouse.db"), &app.key()).unwrap()
}

fn verify(app: &App) -> (Option<i32>, String, String) {
    let out: Output = app.run(&["audit", "verify"]);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The log the recorder and the CLI write is intact, also while the recorder runs; an entry
/// edited, removed or cut off from the end with the SQLite API is named on a line of its own.
#[test]
fn audit_verify_finds_edited_removed_and_cut_off_entries() {
    if !x_available() {
        return;
    }
    let x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let (code, out, err) = verify(&app);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("empty"), "{out}");

    // Pauses and resumes, asked over the recorder's control socket and logged by its writer.
    let rec = app.record();
    for _ in 0..2 {
        app.ok(&["pause"]);
        app.ok(&["resume"]);
    }
    let (code, out, err) = verify(&app);
    assert_eq!(code, Some(0), "while recording: {out}{err}");
    let (status, log) = rec.stop();
    assert!(status.success(), "{log}");
    // A delete with no recorder running: the CLI opens the store itself, and the entry is
    // written inside the delete's transaction.
    app.ok(&["delete", "--app", "xterm", "--yes"]);
    let newest: i64 = open_db(&app)
        .query_row("SELECT max(seq) FROM activity", [], |r| r.get(0))
        .unwrap();
    assert!(newest >= 5, "{newest}");
    let (code, out, err) = verify(&app);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(
        out.contains(&format!(
            "The activity log is intact: {newest} entries checked"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("Newest entry: #{newest}, hash ")),
        "{out}"
    );

    // Someone with access to the file rewrites what the second entry says.
    let db = open_db(&app);
    let changed = db
        .execute(
            "UPDATE activity SET detail = 'nothing happened' WHERE seq = 2",
            [],
        )
        .unwrap();
    assert_eq!(changed, 1);
    drop(db);
    let (code, out, err) = verify(&app);
    assert_eq!(code, Some(1), "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines,
        [
            format!("The activity log was tampered with: 1 problem in {newest} entries."),
            lines[1].to_owned(),
        ],
        "one line per problem: {out}"
    );
    assert!(
        lines[1].starts_with("Entry #2 (")
            && lines[1].contains(") was edited after it was written"),
        "{out}"
    );
    // `glasshouse log` still shows the log, as it is.
    assert!(app.ok(&["log"]).contains("nothing happened"));

    // Removes the third, and cuts off the newest.
    let db = open_db(&app);
    db.execute("DELETE FROM activity WHERE seq = 3", [])
        .unwrap();
    db.execute("DELETE FROM activity WHERE seq = ?1", [newest])
        .unwrap();
    drop(db);
    let (code, out, _) = verify(&app);
    assert_eq!(code, Some(1), "{out}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[0],
        format!(
            "The activity log was tampered with: 3 problems in {} entries.",
            newest - 2
        )
    );
    assert!(lines[1].starts_with("Entry #2 ("), "{out}");
    assert_eq!(
        lines[2],
        "Entry #3 was removed from the log: the numbering jumps over it"
    );
    assert!(
        lines[3].starts_with(&format!(
            "Entry #{newest} was removed from the end of the log"
        )),
        "{out}"
    );
}
