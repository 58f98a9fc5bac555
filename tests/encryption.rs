//! Encryption at rest, end to end with the real binary: what is typed is in no file of the data
//! folder; a wrong passphrase is a clear error that changes nothing; without a keyring or a
//! passphrase nothing is recorded; a database of an earlier version is encrypted once and its
//! plaintext removed; and the tray app asks for the passphrase in its own window, typed with
//! real key presses.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::util::{
    App, PASSPHRASE, XSession, alive, canary, screenshots_dir, stop_pid, wait_for, x_available,
    xdotool_out,
};

/// Every file of the data folder with its bytes, as they are on disk.
fn files(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    out.sort();
    out
}

fn holds(bytes: &[u8], needle: &str) -> bool {
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn assert_nothing_in_clear(dir: &Path, needles: &[&str]) {
    for (path, bytes) in files(dir) {
        for n in needles {
            assert!(!holds(&bytes, n), "{} holds {n:?} in clear", path.display());
        }
    }
}

fn exported_text(app: &App, args: &[&str]) -> String {
    let mut all = vec!["export"];
    all.extend_from_slice(args);
    String::from_utf8(app.ok(&all).into_bytes()).unwrap()
}

#[test]
fn typed_text_is_in_no_file_and_a_wrong_passphrase_changes_nothing() {
    if !x_available() {
        return;
    }
    let mut x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let title = canary("enctitle");
    let typed = canary("enctyped");
    let win = x.xterm(&title);
    let rec = app.record();
    x.focus(&win);
    x.type_text(&typed);
    wait_for("the canary in the export", Duration::from_secs(10), || {
        let text: String = app
            .export(&[])
            .iter()
            .filter_map(|e| e["text"].as_str().map(str::to_owned))
            .collect();
        text.contains(&typed).then_some(())
    });
    // While recording (committed pages in the WAL) and after: nothing readable, not even the
    // SQLite header; the key file names neither key nor passphrase.
    let needles = [
        title.as_str(),
        typed.as_str(),
        "SQLite format 3",
        PASSPHRASE,
    ];
    assert_nothing_in_clear(app.data_dir(), &needles);
    let (status, _) = rec.stop();
    assert!(status.success());
    assert_nothing_in_clear(app.data_dir(), &needles);
    let key = std::fs::read_to_string(app.data_dir().join("key.json")).unwrap();
    assert!(
        key.contains("\"passphrase\"") && key.contains("argon2id"),
        "{key}"
    );
    // Control: with the key, the title is there (typed text is stored key by key).
    assert!(app.stored_bytes_contain(&title));

    // A wrong passphrase: a clear error, exit 1, and not one byte changed anywhere.
    let before = files(app.data_dir());
    let wrong = app.data.path().parent().unwrap().join(canary("wrongpass"));
    std::fs::write(&wrong, "not the passphrase\n").unwrap();
    for args in [
        vec!["export"],
        vec!["stats"],
        vec!["log"],
        vec!["record", "--for", "2s"],
        vec!["delete", "--all", "--yes"],
    ] {
        let out = app
            .cmd(&args)
            .env("GLASSHOUSE_PASSPHRASE_FILE", &wrong)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("passphrase is wrong"), "{args:?}: {err}");
        assert!(err.contains("nothing was changed"), "{args:?}: {err}");
        assert_eq!(
            files(app.data_dir()),
            before,
            "{args:?} changed the data folder"
        );
    }
    let _ = std::fs::remove_file(&wrong);
    // Without any passphrase (and no keyring) the commands that need the data say how to give it.
    let out = app
        .cmd(&["export"])
        .env_remove("GLASSHOUSE_PASSPHRASE_FILE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(err.contains("--passphrase-file"), "{err}");
    // The right one, given as a flag, still reads everything.
    let flag = app.passphrase_file();
    let text = exported_text(&app, &["--passphrase-file", flag.to_str().unwrap()]);
    assert!(text.contains(&title), "{text}");
}

#[test]
fn nothing_is_recorded_without_a_keyring_or_a_passphrase() {
    if !x_available() {
        return;
    }
    let x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let out = app
        .cmd(&["record", "--for", "3s"])
        .env_remove("GLASSHOUSE_PASSPHRASE_FILE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("no desktop keyring"), "{err}");
    assert!(err.contains("never stores your input unencrypted"), "{err}");
    assert!(
        files(app.data_dir()).is_empty(),
        "something was written: {:?}",
        files(app.data_dir())
            .iter()
            .map(|f| f.0.clone())
            .collect::<Vec<_>>()
    );
    // A passphrase too short to protect anything is refused before a key is made.
    let short = app.data.path().parent().unwrap().join(canary("short"));
    std::fs::write(&short, "abc\n").unwrap();
    let out = app
        .cmd(&[
            "record",
            "--for",
            "3s",
            "--passphrase-file",
            short.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("at least 8 characters"));
    assert!(files(app.data_dir()).is_empty());
    let _ = std::fs::remove_file(&short);
}

#[test]
fn a_database_of_an_earlier_version_is_encrypted_once() {
    if !x_available() {
        return;
    }
    let x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let secret = canary("legacytext");
    // What an earlier version left: an unencrypted Glasshouse database and no key.json. Made
    // with today's store under a throwaway key, then copied out unencrypted.
    let db = app.data_dir().join("glasshouse.db");
    let staging = app.data.path().parent().unwrap().join(canary("staging"));
    let staging_key = glasshouse_store::DbKey::from_bytes([9; 32]);
    let store = glasshouse_store::Store::open(&staging, &staging_key).unwrap();
    store
        .log(glasshouse_store::ActivityKind::Settings, &secret)
        .unwrap();
    store.close().unwrap();
    glasshouse_store::raw::write_unencrypted_copy(&staging, &staging_key, &db).unwrap();
    let _ = std::fs::remove_file(&staging);
    assert!(holds(&std::fs::read(&db).unwrap(), &secret), "control");
    // A reader does not encrypt; it says what to do.
    let out = app.run(&["log"]);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not encrypted yet"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The first start encrypts it, and the plaintext is gone.
    let out = app.run(&["record", "--for", "2s"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_nothing_in_clear(app.data_dir(), &[&secret, "SQLite format 3"]);
    let names: Vec<String> = files(app.data_dir())
        .iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert!(
        !names
            .iter()
            .any(|n| n.contains("plaintext") || n.contains("encrypting")),
        "{names:?}"
    );
    let log = app.ok(&["log"]);
    assert!(log.contains(&secret), "the old entries are kept: {log}");
}

/// The tray app with no keyring and no passphrase file asks in a window of its own; the answer
/// is typed with real key presses. A wrong one asks again, saying so.
#[test]
fn the_tray_app_asks_for_a_passphrase() {
    if !x_available() {
        return;
    }
    let x = XSession::start();
    let display = x.display_name();
    let app = App::new(Some(display.clone()));
    let shots = screenshots_dir("unlock-");
    let config = tempfile::tempdir().unwrap();
    let start_tray = || {
        app.cmd(&[])
            .env_remove("GLASSHOUSE_PASSPHRASE_FILE")
            .env("XDG_CONFIG_HOME", config.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    let prompt_window = || {
        wait_for("the passphrase window", Duration::from_secs(30), || {
            let ids = xdotool_out(&display, &["search", "--name", "Glasshouse: passphrase"]);
            ids.lines().last().map(str::to_owned)
        })
    };
    let answer = |window: &str, lines: &[&str], shot: &str| {
        // Let the page load and focus its field (WebKit is slow to start on a busy machine).
        std::thread::sleep(Duration::from_secs(4));
        xdotool_out(&display, &["windowactivate", "--sync", window]);
        xdotool_out(&display, &["windowfocus", "--sync", window]);
        screenshot(&display, window, &shots.join(format!("unlock-{shot}.png")));
        for (i, line) in lines.iter().enumerate() {
            if i > 0 {
                xdotool_out(&display, &["key", "Tab"]);
            }
            xdotool_out(&display, &["type", "--delay", "20", line]);
        }
        xdotool_out(&display, &["key", "Return"]);
    };
    let recording = |after: &str| {
        wait_for(after, Duration::from_secs(60), || {
            let out = app.run(&["status", "--json"]);
            let s: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            (s["state"] == "recording").then_some(())
        })
    };

    // First start: choose a passphrase (typed twice).
    let mut tray = start_tray();
    let w = prompt_window();
    answer(&w, &[PASSPHRASE, PASSPHRASE], "choose");
    recording("recording after the passphrase was chosen");
    let key = std::fs::read_to_string(app.data_dir().join("key.json")).unwrap();
    assert!(key.contains("\"passphrase\""), "{key}");
    // The same key the passphrase file gives: the CLI reads what the tray app records.
    app.ok(&["stats"]);
    stop_pid(tray.id(), Duration::from_secs(10));
    let _ = tray.wait();

    // Next start: a wrong passphrase is refused and asked again; the right one unlocks.
    tray = start_tray();
    let w = prompt_window();
    answer(&w, &["wrong passphrase here"], "enter");
    // A new prompt process (window ids may be reused, process ids are not, this quickly).
    let first_pid = xdotool_out(&display, &["getwindowpid", &w]);
    let again = wait_for("the prompt again", Duration::from_secs(30), || {
        let ids = xdotool_out(&display, &["search", "--name", "Glasshouse: passphrase"]);
        ids.lines()
            .find(|id| {
                let pid = xdotool_out(&display, &["getwindowpid", id]);
                !pid.is_empty() && pid != first_pid
            })
            .map(str::to_owned)
    });
    assert!(alive(tray.id()), "a wrong passphrase must not end the app");
    let out = app.run(&["status", "--json"]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    assert_ne!(s["state"], "recording", "recording without the right key");
    answer(&again, &[PASSPHRASE], "wrong");
    recording("recording after the right passphrase");
    stop_pid(tray.id(), Duration::from_secs(10));
    let _ = tray.wait();

    // Closing the window instead of answering ends the start, recording nothing.
    tray = start_tray();
    let w = prompt_window();
    xdotool_out(&display, &["windowclose", &w]);
    let status = wait_for("the tray app to give up", Duration::from_secs(30), || {
        tray.try_wait().unwrap()
    });
    assert!(!status.success());
}

fn screenshot(display: &str, window: &str, path: &Path) {
    let _ = Command::new("import")
        .args(["-window", window])
        .arg(path)
        .env("DISPLAY", display)
        .status();
}

/// With a desktop keyring (GNOME Keyring's Secret Service on a private session bus), the key is
/// a random one kept there: nothing is asked, nothing of the key is in the data folder, and
/// without the keyring the data cannot be opened.
#[test]
fn the_key_lives_in_the_desktop_keyring() {
    if !x_available() {
        return;
    }
    for tool in ["dbus-run-session", "gnome-keyring-daemon", "secret-tool"] {
        if crate::util::which(tool).is_none() {
            assert!(
                std::env::var_os("CI").is_none(),
                "{tool} is missing (scripts/install-deps.sh test installs it)"
            );
            eprintln!("skipped: {tool} is missing");
            return;
        }
    }
    let x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let home = tempfile::tempdir().unwrap();
    // One session: the keyring is unlocked with a login password, as a desktop login does.
    let script = r#"
        set -e
        eval "$(printf 'login password' | gnome-keyring-daemon --unlock --components=secrets)"
        "$GH" record --for 3s
        echo "KEY=$(secret-tool lookup service 'Glasshouse database key')"
        "$GH" stats --json > /dev/null && echo "READ=ok"
    "#;
    let out = Command::new("dbus-run-session")
        .args(["--", "bash", "-c", script])
        .envs(app.env())
        .env("DISPLAY", x.display_name())
        .env_remove("GLASSHOUSE_PASSPHRASE_FILE")
        .env_remove("GLASSHOUSE_KEYRING")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("HOME", home.path())
        .env("XDG_DATA_HOME", home.path().join("data"))
        .env("GH", env!("CARGO_BIN_EXE_glasshouse"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(stdout.contains("READ=ok"), "{stdout}\n{stderr}");
    let key_hex = stdout
        .lines()
        .find_map(|l| l.strip_prefix("KEY="))
        .unwrap_or_default()
        .trim()
        .to_owned();
    assert_eq!(key_hex.len(), 64, "the keyring holds the key: {stdout}");
    let kf = std::fs::read_to_string(app.data_dir().join("key.json")).unwrap();
    assert!(kf.contains("\"keyring\"") && !kf.contains("argon2"), "{kf}");
    assert_nothing_in_clear(app.data_dir(), &[&key_hex, "SQLite format 3"]);
    // Without the keyring (no session bus here), the data cannot be opened, and it says why.
    let out = app
        .cmd(&["stats"])
        .env_remove("GLASSHOUSE_PASSPHRASE_FILE")
        .env_remove("GLASSHOUSE_KEYRING")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("HOME", home.path())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("desktop keyring, which cannot be reached"),
        "{err}"
    );
}

/// `glasshouse passphrase change`: the new passphrase opens the data (its log says so, its
/// audit chain holds), the old one no longer does and nothing in the folder decrypts with the
/// old key; a wrong current passphrase, a too-short new one, or a running recorder change
/// nothing.
#[test]
fn the_passphrase_can_be_changed_and_the_old_one_stops_opening_the_data() {
    let app = App::new(None);
    let secret = canary("CanaryPassChange");
    let old_key = app.key();
    let db = app.data_dir().join("glasshouse.db");
    {
        let store = glasshouse_store::Store::open(&db, &old_key).unwrap();
        store
            .log(glasshouse_store::ActivityKind::Settings, &secret)
            .unwrap();
        store.close().unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let new_file = dir.path().join("new");
    let new_pass = format!("{PASSPHRASE} but longer");
    std::fs::write(&new_file, format!("{new_pass}\n")).unwrap();
    let new_arg = new_file.to_str().unwrap();

    // Refused: the current passphrase is wrong; the new one is too short.
    let before = files(app.data_dir());
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "not the passphrase\n").unwrap();
    let out = app
        .cmd(&["passphrase", "change", "--new-passphrase-file", new_arg])
        .args(["--passphrase-file", wrong.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("passphrase is wrong") && err.contains("nothing was changed"),
        "{err}"
    );
    let short = dir.path().join("short");
    std::fs::write(&short, "short\n").unwrap();
    let out = app.run(&[
        "passphrase",
        "change",
        "--new-passphrase-file",
        short.to_str().unwrap(),
    ]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("at least 8 characters"), "{err}");
    // The instance lock file is the only newcomer: every command that writes takes it.
    let after: Vec<_> = files(app.data_dir())
        .into_iter()
        .filter(|(p, _)| !p.ends_with("instance.lock"))
        .collect();
    assert!(
        after == before,
        "a refused change changed the data folder: {:?} then {:?}",
        before.iter().map(|(p, b)| (p, b.len())).collect::<Vec<_>>(),
        after.iter().map(|(p, b)| (p, b.len())).collect::<Vec<_>>()
    );

    let said = app.ok(&["passphrase", "change", "--new-passphrase-file", new_arg]);
    assert!(said.contains("Passphrase changed"), "{said}");

    // The old passphrase (the app's default) is refused by every command that reads.
    let out = app.run(&["log"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("passphrase is wrong"), "{err}");
    // The new one opens everything, and the change is in the log, chained.
    let log = app.ok(&["log", "--passphrase-file", new_arg]);
    assert!(log.contains(&secret), "{log}");
    assert!(log.contains("passphrase changed"), "{log}");
    app.ok(&["audit", "verify", "--passphrase-file", new_arg]);
    // Nothing in the folder decrypts with the old key any more, nor is anything in clear.
    let old_view = glasshouse_store::raw::decrypted_pages(&db, &old_key).unwrap();
    assert!(
        !holds(&old_view, &secret),
        "the old key still decrypts the data"
    );
    assert_nothing_in_clear(app.data_dir(), &[&secret, "SQLite format 3", &new_pass]);
    let left: Vec<_> = files(app.data_dir())
        .into_iter()
        .map(|(p, _)| p.file_name().unwrap().to_string_lossy().into_owned())
        .filter(|n| n.contains("rekeyed") || n.ends_with(".new") || n.ends_with(".tmp"))
        .collect();
    assert!(left.is_empty(), "{left:?}");

    // Not while a recorder uses the data.
    if x_available() {
        let x = XSession::start();
        let app = App::new(Some(x.display_name()));
        let rec = app.record();
        let out = app.run(&["passphrase", "change", "--new-passphrase-file", new_arg]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(err.contains("is recording into this database"), "{err}");
        let (status, log) = rec.stop();
        assert!(status.success(), "{log}");
        drop(x);
    }
}
