//! The recorder end to end: typed text, clicks and scrolls are captured and attributed; a pause
//! stores nothing; deletion leaves no byte behind; capture survives the X server dying.

use std::time::Duration;

use serde_json::Value;

use crate::util::{App, XSession, canary, children, wait_for, x_available};

/// Every typed character in the export, concatenated.
fn all_text(app: &App) -> String {
    app.export(&[])
        .iter()
        .filter_map(|e| e["text"].as_str().map(str::to_owned))
        .collect()
}

fn count(events: &[Value], title: &str, kind: &str) -> usize {
    events
        .iter()
        .filter(|e| e["title"] == title && e["kind"] == kind)
        .count()
}

#[test]
fn records_pauses_and_deletes_for_good() {
    if !x_available() {
        return;
    }
    let mut x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let title_a = canary("titlea");
    let title_b = canary("titleb");
    let typed_a = canary("typeda");
    let typed_b = canary("typedb");

    let win_a = x.xterm(&title_a);
    let rec = app.record();
    // Capture runs in the small worker binary, not in a second copy of the whole app.
    let pid = rec.pid();
    let worker = wait_for("the capture process", Duration::from_secs(10), || {
        let child = *children(pid).first()?;
        std::fs::read_to_string(format!("/proc/{child}/comm")).ok()
    });
    assert_eq!(worker.trim(), "glasshouse-capt", "comm is cut to 15 bytes");

    // A second recorder for the same data directory is refused, naming the first one's pid.
    let second = app.run(&["record", "--for", "5s"]);
    assert!(!second.status.success());
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains(&format!("pid {}", rec.pid())), "{err}");

    x.focus(&win_a);
    x.type_text(&typed_a);
    x.xdotool(&["mousemove", "--window", &win_a, "60", "50"]);
    x.xdotool(&["click", "1"]);
    x.xdotool(&["click", "--repeat", "3", "5"]);
    x.xdotool(&["click", "4"]);

    let events = wait_for(
        "the typed canary in the export",
        Duration::from_secs(10),
        || {
            let events = app.export(&[]);
            let text: String = events
                .iter()
                .filter(|e| e["kind"] == "key_down" && e["title"] == title_a)
                .filter_map(|e| e["text"].as_str())
                .collect();
            (text.contains(&typed_a) && count(&events, &title_a, "wheel") >= 4).then_some(events)
        },
    );
    let typed: Vec<&Value> = events.iter().filter(|e| e["title"] == title_a).collect();
    assert!(
        typed.iter().all(|e| e["app"] == "xterm"),
        "attributed to the xterm app: {typed:?}"
    );
    let click = events
        .iter()
        .find(|e| e["kind"] == "button_down" && e["title"] == title_a)
        .expect("the click was recorded");
    assert_eq!(click["button"], "left");
    assert!(
        click["x"].as_i64().unwrap() > 0 && click["y"].as_i64().unwrap() > 0,
        "{click}"
    );
    let wheel: i64 = events
        .iter()
        .filter(|e| e["kind"] == "wheel" && e["title"] == title_a)
        .map(|e| e["dy"].as_i64().unwrap())
        .sum();
    assert_eq!(wheel, -2, "three steps down and one up");
    assert!(
        app.stored_bytes_contain(&title_a),
        "control: the title is stored as a string"
    );

    // Today's counts in status come from the rollups.
    let status = app.status();
    assert!(
        status["today"]["keys"].as_u64().unwrap() >= typed_a.len() as u64,
        "{status}"
    );
    assert!(status["today"]["clicks"].as_u64().unwrap() >= 1, "{status}");

    // Paused: nothing of what is typed into a second window is stored, not even its title.
    let out = app.ok(&["pause"]);
    assert!(out.contains("Paused"), "{out}");
    assert_eq!(app.status()["state"], "paused");
    let win_b = x.xterm(&title_b);
    x.focus(&win_b);
    x.type_text(&typed_b);
    x.xdotool(&["click", "1"]);
    x.focus(&win_a);
    std::thread::sleep(Duration::from_millis(500));
    app.ok(&["resume"]);
    assert_eq!(app.status()["state"], "recording");
    x.type_text("ok");
    wait_for("typing after resume", Duration::from_secs(10), || {
        app.typed_in(&title_a).ends_with("ok").then_some(())
    });
    let all = serde_json::to_string(&app.export(&[])).unwrap();
    assert!(
        !all.contains(&typed_b) && !all.contains(&title_b),
        "paused input was exported"
    );
    for needle in [&typed_b, &title_b] {
        assert!(
            !app.stored_bytes_contain(needle),
            "{needle} reached the database while paused"
        );
    }

    // Deleting the app removes its title from every byte of the database and WAL.
    let out = app.ok(&["delete", "--app", "xterm", "--yes"]);
    assert!(out.contains("Deleted"), "{out}");
    assert!(app.export(&["--app", "xterm"]).is_empty());
    assert!(
        !app.stored_bytes_contain(&title_a),
        "the deleted title is still in the files"
    );
    assert!(
        !app.stored_bytes_contain(&typed_a),
        "the deleted text is still in the files"
    );

    let log = app.run(&["status"]);
    assert!(log.status.success());
    let (status, stderr) = rec.stop();
    assert!(
        status.success(),
        "record exits 0 on SIGTERM: {status} {stderr}"
    );
    drop(x);
}

#[test]
fn capture_survives_the_x_server_dying() {
    if !x_available() {
        return;
    }
    let mut x = XSession::start();
    let display = x.display;
    let app = App::new(Some(x.display_name()));
    let mut rec = app.record();

    x.kill_server();
    let status = wait_for(
        "status: capture unavailable",
        Duration::from_secs(20),
        || {
            let s = app.status();
            (s["state"] == "unavailable").then_some(s)
        },
    );
    assert!(rec.is_running(), "the recorder survives its X server");
    let reason = status["capture_error"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(!reason.is_empty(), "{status}");
    let human = app.ok(&["status"]);
    assert!(human.contains("capture unavailable"), "{human}");

    // A new server on the same display: capture comes back by itself.
    let mut x = XSession::start_on(display).expect("restart Xvfb on the same display");
    wait_for("status: recording again", Duration::from_secs(60), || {
        (app.status()["state"] == "recording").then_some(())
    });
    let title = canary("again");
    let win = x.xterm(&title);
    x.focus(&win);
    let typed = canary("after");
    x.type_text(&typed);
    wait_for("typing on the new server", Duration::from_secs(10), || {
        app.typed_in(&title).contains(&typed).then_some(())
    });
    let (status, stderr) = rec.stop();
    assert!(status.success(), "{stderr}");
}

#[test]
fn excluded_apps_and_capture_levels_apply_while_recording() {
    if !x_available() {
        return;
    }
    let mut x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let settings = app.data_dir().join("settings.toml");
    // Matched on WM_CLASS ("XTerm"), case-insensitively.
    std::fs::write(&settings, "excluded_apps = [\"xterm\"]\n").unwrap();
    let title = canary("secret");
    let typed = canary("hunter");
    let win = x.xterm(&title);
    let rec = app.record();
    x.focus(&win);
    x.type_text(&typed);
    x.xdotool(&["mousemove", "--window", &win, "30", "30", "click", "1"]);
    let status = wait_for("time in the excluded app", Duration::from_secs(10), || {
        let s = app.status();
        (s["today_excluded_secs"].as_u64() > Some(0)).then_some(s)
    });
    assert_eq!(status["today"]["keys"], 0, "{status}");
    let events = app.export(&[]);
    assert!(
        !events.is_empty()
            && events
                .iter()
                .all(|e| e["kind"] == "excluded" && e["title"] == ""),
        "{events:?}"
    );
    assert!(!app.stored_bytes_contain(&title) && !app.stored_bytes_contain(&typed));

    // Changing the settings file while recording takes effect within seconds.
    std::fs::write(
        &settings,
        "excluded_apps = []\ncapture_level = \"categories\"\n",
    )
    .unwrap();
    wait_for("settings applied", Duration::from_secs(10), || {
        (app.status()["capture_level"] == "categories").then_some(())
    });
    x.type_text("a1");
    let events = wait_for("categories recorded", Duration::from_secs(10), || {
        let ev: Vec<Value> = app
            .export(&[])
            .into_iter()
            .filter(|e| e["kind"] == "key_down" && e["title"] == title)
            .collect();
        (ev.len() >= 2).then_some(ev)
    });
    let cats: Vec<&str> = events
        .iter()
        .map(|e| e["category"].as_str().unwrap())
        .collect();
    assert_eq!(cats, ["letter", "digit"]);
    assert!(
        events
            .iter()
            .all(|e| e.get("key").is_none() && e.get("text").is_none())
    );
    let log = app.ok(&["log"]);
    assert!(log.contains("capture level categories"), "{log}");
    let (status, _) = rec.stop();
    assert!(status.success());
}

#[test]
fn keys_typed_the_moment_a_password_prompt_appears_are_not_stored() {
    if !x_available() {
        return;
    }
    let mut x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let plain = canary("plain");
    let win_plain = x.xterm(&plain);
    let secret_title = canary("vault");
    // An xterm that presents itself as a password manager (WM_CLASS KeePassXC, excluded by default).
    let win_secret = x.xterm_with_class(&secret_title, "KeePassXC");
    let rec = app.record();
    x.focus(&win_plain);
    x.type_text("before");
    // Input in the last 200 ms before a switch to an excluded app is treated as the excluded
    // app's (FOCUS_GRACE): leave a person's pause between typing and switching.
    std::thread::sleep(Duration::from_millis(400));
    let secret = canary("pw");
    for _ in 0..3 {
        // Switch and type at once, without waiting for the window manager to confirm the focus.
        x.xdotool(&[
            "windowactivate",
            &win_secret,
            "type",
            "--delay",
            "1",
            &secret,
        ]);
        x.focus(&win_plain);
    }
    x.type_text("after");
    wait_for("typing after the prompt", Duration::from_secs(10), || {
        all_text(&app).contains("after").then_some(())
    });
    let text = all_text(&app);
    assert!(text.contains("before"), "{text}");
    // Not one character of the secret, in any window: its letters would spell a run of it.
    for window in secret.as_bytes().windows(3) {
        let run = std::str::from_utf8(window).unwrap();
        assert!(
            !text.contains(run),
            "{run} of the secret was stored: {text}"
        );
    }
    assert!(!app.stored_bytes_contain(&secret_title));
    let (status, _) = rec.stop();
    assert!(status.success());
}

#[test]
fn ctrl_c_stores_everything_typed_before_it() {
    if !x_available() {
        return;
    }
    let mut x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let title = canary("ctrlc");
    let win = x.xterm(&title);
    let rec = app.record_in_own_group();
    x.focus(&win);
    let typed = canary("last");
    x.type_text(&typed);
    // A terminal's Ctrl-C goes to the whole process group, capture process included.
    let (status, log) = rec.interrupt_group();
    assert!(status.success(), "exit 0 on Ctrl-C: {status} {log}");
    assert!(
        !log.contains("capture unavailable"),
        "a deliberate stop is not an outage: {log}"
    );
    assert!(
        app.typed_in(&title).contains(&typed),
        "the last keys before Ctrl-C were lost"
    );
}
