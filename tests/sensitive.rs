//! Password and login windows end to end: keys typed into a window whose title marks it as one
//! are stored as counts only (no key, no text) in the export, the live feed and every byte of the
//! data directory; switching the setting off stores them like any other window's.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{
    App, AppProcess, Driver, Tray, Ui, XSession, canary, dashboard_window, screenshots_dir,
    ui_tools_available, wait_for, x_available, xdotool_out,
};
use crate::webdriver::Session;

/// A title the default patterns mark as sensitive ("password*").
const SENSITIVE_TITLE: &str = "Enter password";

/// Longer than the policy's focus grace (200 ms): keys typed this long before a switch stay in
/// the window they were typed into.
const SETTLE: Duration = Duration::from_millis(500);

/// Gives `window` the focus, waits out the focus grace, types `text`, and waits again, so the
/// keys belong to `window` alone.
fn type_into(x: &XSession, window: &str, text: &str) {
    x.focus(window);
    std::thread::sleep(SETTLE);
    x.type_text(text);
    std::thread::sleep(SETTLE);
}

/// The exported key events of windows titled `title`.
fn keys_in(events: &[Value], title: &str) -> Vec<Value> {
    events
        .iter()
        .filter(|e| e["title"] == title && (e["kind"] == "key_down" || e["kind"] == "key_up"))
        .cloned()
        .collect()
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// The files of the data directory holding `needle` anywhere in their bytes.
fn data_files_with(app: &App, needle: &str) -> Vec<PathBuf> {
    files_under(app.data_dir())
        .into_iter()
        .filter(|p| {
            std::fs::read(p).is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        })
        .collect()
}

/// The recorder's live feed, asked for over its control socket as the dashboard does.
fn live_feed(app: &App) -> Vec<Value> {
    let dir = app.runtime.path().join("glasshouse");
    let socket = files_under(&dir)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "sock"))
        .expect("the recorder's control socket");
    let mut stream = UnixStream::connect(&socket).expect("connect to the control socket");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(b"{\"v\":1,\"cmd\":\"feed\"}\n").unwrap();
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).unwrap();
    let answer: Value = serde_json::from_str(&line).expect("the answer is JSON");
    assert_eq!(answer["reply"], "feed", "{answer}");
    answer["items"].as_array().unwrap().clone()
}

#[test]
fn password_windows_keep_only_key_counts_until_switched_off() {
    if !x_available() {
        return;
    }
    let mut x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let notes_title = canary("notes");
    let plain = canary("plain");
    let secret = canary("secret");
    let notes = x.xterm(&notes_title);
    let prompt = x.xterm(SENSITIVE_TITLE);
    let rec = app.record();

    type_into(&x, &notes, &plain);
    type_into(&x, &prompt, &secret);
    type_into(&x, &notes, "done");
    wait_for(
        "the ordinary window's text in the export",
        Duration::from_secs(15),
        || {
            app.typed_in(&notes_title)
                .contains(&format!("{plain}done"))
                .then_some(())
        },
    );

    // Control: the ordinary window keeps key identity and text (capture level `full`).
    let events = app.export(&[]);
    let in_prompt = keys_in(&events, SENSITIVE_TITLE);
    // The password window: one key_down per key typed, and nothing else about them.
    assert_eq!(
        in_prompt.len(),
        secret.len(),
        "one count per key, no releases: {in_prompt:?}"
    );
    for e in &in_prompt {
        assert_eq!(e["kind"], "key_down", "{e}");
        assert_eq!(e["app"], "xterm", "{e}");
        for field in ["key", "text", "category"] {
            assert!(e.get(field).is_none(), "{field} kept in {e}");
        }
    }
    let exported = serde_json::to_string(&events).unwrap();
    assert!(!exported.contains(&secret), "the secret is in the export");
    let csv = app.ok(&["export", "--format", "csv"]);
    assert!(!csv.contains(&secret), "the secret is in the CSV export");
    let leaked = data_files_with(&app, &secret);
    assert!(leaked.is_empty(), "the secret is in {leaked:?}");
    let status = app.status();
    assert!(
        status["today"]["keys"].as_u64().unwrap() >= (plain.len() + secret.len()) as u64,
        "the password window's keys are counted: {status}"
    );
    assert_eq!(status["sensitive_windows"], true, "{status}");
    assert!(
        app.ok(&["status"])
            .contains("login windows  keys typed into password and login windows are stored as bare key presses"),
        "status says the rule is on"
    );

    // The live feed shows them as a count.
    let feed = live_feed(&app);
    let prompt_items: Vec<&Value> = feed
        .iter()
        .filter(|i| i["title"] == SENSITIVE_TITLE)
        .collect();
    assert!(!prompt_items.is_empty(), "{feed:?}");
    for item in &prompt_items {
        assert_eq!(item["kind"], "keys", "{item}");
        assert!(item.get("text").is_none(), "{item}");
        // What the feed says of counts-only keys: "16 key presses", no category, no key.
        assert_eq!(
            item["summary"],
            format!("{} key presses", item["keys"]),
            "{item}"
        );
    }
    let counted: u64 = prompt_items
        .iter()
        .map(|i| i["keys"].as_u64().unwrap())
        .sum();
    assert_eq!(counted, secret.len() as u64, "{prompt_items:?}");
    assert!(
        feed.iter()
            .any(|i| i["kind"] == "text" && i["text"].as_str().is_some_and(|t| t.contains(&plain))),
        "control: the ordinary window's text is in the feed: {feed:?}"
    );
    assert!(!serde_json::to_string(&feed).unwrap().contains(&secret));

    // Editable: switched off in the settings file, the same window keeps its text.
    std::fs::write(
        app.data_dir().join("settings.toml"),
        "sensitive_windows = false\n",
    )
    .unwrap();
    wait_for(
        "the recorder to apply the settings",
        Duration::from_secs(15),
        || {
            app.ok(&["log"])
                .contains("sensitive windows off")
                .then_some(())
        },
    );
    assert_eq!(app.status()["sensitive_windows"], false);
    let typed_off = canary("visible");
    type_into(&x, &prompt, &typed_off);
    type_into(&x, &notes, "end");
    wait_for(
        "the password window's text in the export",
        Duration::from_secs(15),
        || {
            app.typed_in(SENSITIVE_TITLE)
                .contains(&typed_off)
                .then_some(())
        },
    );
    // What was typed while it was on stays as it was stored.
    assert!(
        !serde_json::to_string(&app.export(&[]))
            .unwrap()
            .contains(&secret)
    );
    assert!(data_files_with(&app, &secret).is_empty());
    let (status, log) = rec.stop();
    assert!(status.success(), "{log}");
}

/// The Privacy view's switch and word list, driven in the real dashboard: they are saved to the
/// settings file with a toast saying so, a bad word is refused at once, and what they say is what
/// the tray app's recorder does with a password window's keys.
#[test]
fn privacy_view_edits_the_words_and_switches_password_windows_off_and_on() {
    let Some(driver_bin) = ui_tools_available() else {
        return;
    };
    let mut x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let config = tempfile::tempdir().unwrap();
    let _tray = Tray::start(&app, config.path());
    let driver = Driver::for_app(&driver_bin, &app, config.path(), &x.display_name());
    let caps = json!({
        "tauri:options": {
            "application": env!("CARGO_BIN_EXE_glasshouse"),
            "args": ["dashboard"],
        }
    });
    let session = Session::new(driver.port, caps).unwrap_or_else(|e| {
        panic!(
            "no WebDriver session: {e}; tauri-driver said: {}",
            std::fs::read_to_string(driver.log.with_extension("err.log")).unwrap_or_default()
        )
    });
    let window = wait_for("the dashboard window", Duration::from_secs(30), || {
        dashboard_window(&x.display_name())
    });
    let _dashboard = AppProcess(
        xdotool_out(&x.display_name(), &["getwindowpid", &window])
            .parse()
            .ok(),
    );
    let ui = Ui {
        s: &session,
        display: x.display_name(),
        shots: screenshots_dir("sensitive-"),
        prefix: "sensitive-",
    };
    let checked = || {
        session
            .execute(
                "return document.querySelector('#sensitive-on').checked;",
                json!([]),
            )
            .unwrap()
    };
    let settings_file = app.data_dir().join("settings.toml");

    ui.view("privacy");
    ui.wait_text(
        "#settings-sensitive",
        "the default words",
        Duration::from_secs(10),
        |t| t.contains("password*") && t.contains("sign in"),
    );
    assert_eq!(checked(), json!(true), "on by default");

    // A word with a * in its middle is refused at once, with the reason.
    let input = session.find("#sensitive-input").unwrap();
    input.send_keys("pass*word").unwrap();
    ui.click("#sensitive-add");
    ui.wait_text("#toast", "the refusal", Duration::from_secs(5), |t| {
        t.contains("only at its start or end")
    });
    assert!(!ui.text("#settings-sensitive").contains("pass*word"));
    // A word of one's own, and the switch off: saved together.
    input.clear().unwrap();
    input.send_keys("Kennwort*").unwrap();
    ui.click("#sensitive-add");
    ui.wait_text(
        "#settings-sensitive",
        "the new word",
        Duration::from_secs(5),
        |t| t.contains("Kennwort*"),
    );
    ui.click("#sensitive-on");
    assert_eq!(checked(), json!(false));
    assert!(
        !ui.text("#settings-dirty").is_empty(),
        "unsaved changes shown"
    );
    ui.shot("01-privacy-off");
    ui.click("#settings-save");
    ui.wait_text("#toast", "saved, off", Duration::from_secs(10), |t| {
        t.contains("Settings saved") && t.contains("stored like any others")
    });
    let saved = std::fs::read_to_string(&settings_file).unwrap();
    assert!(saved.contains("sensitive_windows = false"), "{saved}");
    assert!(saved.contains("\"Kennwort*\""), "{saved}");

    // Off: the password window's text is stored.
    let notes_title = canary("notes");
    let notes = x.xterm(&notes_title);
    let prompt = x.xterm(SENSITIVE_TITLE);
    let visible = canary("visible");
    type_into(&x, &prompt, &visible);
    type_into(&x, &notes, "a");
    wait_for("the text typed while off", Duration::from_secs(15), || {
        app.typed_in(SENSITIVE_TITLE)
            .contains(&visible)
            .then_some(())
    });

    // On again from the page: only counts.
    ui.view("privacy");
    ui.click("#sensitive-on");
    ui.click("#settings-save");
    ui.wait_text("#toast", "saved, on", Duration::from_secs(10), |t| {
        t.contains("Settings saved") && t.contains("keep only key counts")
    });
    ui.shot("02-privacy-on");
    let secret = canary("secret");
    type_into(&x, &prompt, &secret);
    type_into(&x, &notes, "b");
    wait_for("the notes window's b", Duration::from_secs(15), || {
        app.typed_in(&notes_title).ends_with('b').then_some(())
    });
    let events = app.export(&[]);
    assert!(!serde_json::to_string(&events).unwrap().contains(&secret));
    assert!(data_files_with(&app, &secret).is_empty());
    let counted = keys_in(&events, SENSITIVE_TITLE)
        .iter()
        .filter(|e| e.get("text").is_none() && e.get("key").is_none())
        .count();
    assert_eq!(counted, secret.len(), "the keys typed while on, counted");
}
