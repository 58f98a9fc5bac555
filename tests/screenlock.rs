//! A locked screen pauses recording end to end: the screen saver comes on and a real locker
//! (i3lock, as xss-lock starts it) takes the keyboard; what is typed then (the password, in life)
//! is captured by the X server's RECORD extension but never stored; once the locker leaves,
//! recording resumes by itself. Needs `xset` and `i3lock` besides the usual X tools.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{App, XSession, canary, wait_for, which, x_available};

/// A screen locker on the test's display, killed on drop (as a right password would end it).
struct Locker(Child);

impl Drop for Locker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn xset(x: &XSession, arg: &str) {
    let ok = Command::new("xset")
        .args(["s", arg])
        .env("DISPLAY", x.display_name())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "xset s {arg} failed");
}

/// Whether `xset` and `i3lock` are here; under `GLASSHOUSE_X_TESTS=1` their absence fails.
fn lock_tools() -> bool {
    let missing: Vec<&str> = ["xset", "i3lock"]
        .into_iter()
        .filter(|t| which(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("GLASSHOUSE_X_TESTS").as_deref() != Ok("1"),
        "GLASSHOUSE_X_TESTS=1 but {missing:?} missing: run scripts/install-deps.sh build test"
    );
    eprintln!("skipping: {missing:?} missing (scripts/install-deps.sh build test)");
    false
}

#[test]
fn a_locked_screen_pauses_recording_and_the_unlock_resumes_it() {
    if !x_available() || !lock_tools() {
        return;
    }
    let mut x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let title = canary("locktitle");
    let typed_a = canary("before");
    let typed_b = canary("locked");
    let typed_c = canary("after");

    let win = x.xterm(&title);
    let rec = app.record();
    x.focus(&win);
    x.type_text(&typed_a);
    wait_for("canary A stored", Duration::from_secs(10), || {
        app.typed_in(&title).contains(&typed_a).then_some(())
    });

    // The screen saver comes on and a locker takes the screen, as xss-lock does.
    xset(&x, "activate");
    let status = wait_for("status: screen locked", Duration::from_secs(10), || {
        let s = app.status();
        (s["pause_reason"] == "screen_locked").then_some(s)
    });
    assert_eq!(status["state"], "paused", "{status}");
    let human = app.ok(&["status"]);
    assert!(human.contains("paused: screen locked"), "{human}");
    let locker = Locker(
        Command::new("i3lock")
            .arg("-n")
            .env("DISPLAY", x.display_name())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start i3lock"),
    );
    std::thread::sleep(Duration::from_millis(700));

    // Typed into the locker: the keys turn the screen saver off, the locker stays.
    x.type_text(&typed_b);
    x.xdotool(&["key", "Return"]);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        app.status()["pause_reason"],
        "screen_locked",
        "typing into the locker ended the lock"
    );

    // The locker leaves (a right password): recording resumes by itself.
    drop(locker);
    xset(&x, "reset");
    wait_for("status: recording again", Duration::from_secs(10), || {
        (app.status()["state"] == "recording").then_some(())
    });
    x.focus(&win);
    x.type_text(&typed_c);
    wait_for("canary C stored", Duration::from_secs(10), || {
        app.typed_in(&title).contains(&typed_c).then_some(())
    });

    // Every key typed anywhere, in order: A and C, and not one key of B.
    let all: String = app
        .export(&[])
        .iter()
        .filter_map(|e| e["text"].as_str().map(str::to_owned))
        .collect();
    assert!(all.contains(&typed_a) && all.contains(&typed_c), "{all}");
    let b_keys = typed_b.strip_prefix("locked").unwrap();
    assert!(
        !all.contains(b_keys),
        "input typed while locked was exported: {all}"
    );
    assert_eq!(
        all.len(),
        typed_a.len() + typed_c.len(),
        "only A and C were stored: {all}"
    );
    // Not in any byte of any file of the data directory.
    for entry in walk(app.data_dir()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes
                .windows(typed_b.len())
                .any(|w| w == typed_b.as_bytes()),
            "{} holds what was typed while locked",
            entry.display()
        );
    }

    let log = app.ok(&["log"]);
    assert!(
        log.contains("screen locked: paused until it is unlocked"),
        "{log}"
    );
    assert!(log.contains("screen unlocked: recording resumed"), "{log}");
    let (status, stderr) = rec.stop();
    assert!(status.success(), "{stderr}");
    drop(x);
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
