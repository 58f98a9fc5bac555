//! The CLI's answers to bad situations: clear sentences, the right exit codes, nothing lost.

use crate::util::App;

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn no_display_is_a_sentence_not_a_panic() {
    let app = App::new(None);
    let out = app.run(&["record", "--for", "2s"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(err.contains("DISPLAY is not set"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
}

#[test]
fn pause_without_a_recorder_says_so() {
    let app = App::new(None);
    for cmd in [&["pause"][..], &["resume"], &["pause", "--for", "15m"]] {
        let out = app.run(cmd);
        assert_eq!(out.status.code(), Some(3), "{cmd:?}");
        assert!(
            stderr(&out).contains("no Glasshouse recorder is running"),
            "{}",
            stderr(&out)
        );
    }
    // status still answers, from the store.
    let out = app.ok(&["status"]);
    assert!(out.contains("not running"), "{out}");
}

#[test]
fn bad_durations_and_times_are_explained() {
    let app = App::new(None);
    let out = app.run(&["pause", "--for", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`soon` is not a duration"),
        "{}",
        stderr(&out)
    );
    let out = app.run(&["export", "--since", "last tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is not a time"), "{}", stderr(&out));
}

#[test]
fn a_foreign_database_is_refused_and_left_untouched() {
    let app = App::new(None);
    let db = app.data_dir().join("glasshouse.db");
    let junk: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&db, &junk).unwrap();
    for cmd in [
        &["export"][..],
        &["status"],
        &["delete", "--all", "--yes"],
        &["stats"],
    ] {
        let out = app.run(cmd);
        assert!(!out.status.success(), "{cmd:?} accepted a corrupt database");
        let err = stderr(&out);
        assert!(err.contains(&db.display().to_string()), "{cmd:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), junk, "the file was changed");
}

#[test]
fn a_bad_setting_names_file_key_and_expectation() {
    let app = App::new(None);
    let settings = app.data_dir().join("settings.toml");
    std::fs::write(&settings, "mouse_rate = \"fast\"\n").unwrap();
    let out = app.run(&["status"]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains(&settings.display().to_string()) && err.contains("mouse_rate"),
        "{err}"
    );
}

#[test]
fn delete_asks_for_confirmation_without_a_terminal() {
    let app = App::new(None);
    let out = app.run(&["delete", "--all"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("--yes"), "{}", stderr(&out));
}
