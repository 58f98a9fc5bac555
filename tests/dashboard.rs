//! The dashboard end to end: the real tray app (`glasshouse`) on an Xvfb + openbox of its own,
//! and its dashboard process (`glasshouse dashboard`, launched by tauri-driver) driven through
//! WebKitWebDriver, with real input typed by xdotool into an xterm. Then the window is closed as
//! a person closes it: its process ends and the tray app goes on recording; the tray app's own
//! "open the dashboard" starts the dashboard process again, and quitting the tray app ends it.
//! Screenshots of every view go to `target/screenshots/dashboard-*.png`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::util::{
    App, AppProcess, Driver, Tray, Ui, XSession, alive, canary, children, dashboard_window,
    is_dashboard, screenshots_dir, ui_tools_available, wait_for, xdotool_out,
};
use crate::webdriver::Session;

impl Ui<'_> {
    fn keys(&self) -> u64 {
        self.s
            .attr_of("#count-keys", "data-value")
            .unwrap()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    fn wait_keys(&self, what: &str, timeout: Duration, f: impl Fn(u64) -> bool) -> u64 {
        let start = Instant::now();
        loop {
            let k = self.keys();
            if f(k) {
                return k;
            }
            assert!(
                start.elapsed() < timeout,
                "timed out after {timeout:?} waiting for {what}; #count-keys is {k}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// Seeds two days ago with a light synthetic workday, so the 7-day chart has something to show
/// (today's figures stay exactly what the test types).
fn seed_history(app: &App) {
    use glasshouse_core::model::MICROS_PER_SEC;
    let day = chrono::Local::now().date_naive() - chrono::Duration::days(2);
    let start = glasshouse_core::time::local_midnight(day) + 9 * 3600 * MICROS_PER_SEC;
    let store =
        glasshouse_store::Store::open(&app.data_dir().join("glasshouse.db"), &app.key()).unwrap();
    store.append(glasshouse_store::synth::workday(start, 7, 0.1));
    store.flush().unwrap();
    store.close().unwrap();
}

#[test]
fn dashboard_end_to_end() {
    let Some(driver_bin) = ui_tools_available() else {
        return;
    };
    let mut x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let config = tempfile::tempdir().unwrap();
    seed_history(&app);
    let shots = screenshots_dir("dashboard-");
    // The tray app runs on its own; it never opens a window itself.
    let mut tray = Tray::start(&app, config.path());
    assert!(dashboard_window(&x.display_name()).is_none());
    let mut driver = Driver::for_app(&driver_bin, &app, config.path(), &x.display_name());
    let tray_log = tray.log.clone();
    let fail_log = |what: &str| -> String {
        format!(
            "{what}; tauri-driver said: {}{}; the tray app said: {}",
            std::fs::read_to_string(&driver.log).unwrap_or_default(),
            std::fs::read_to_string(driver.log.with_extension("err.log")).unwrap_or_default(),
            std::fs::read_to_string(&tray_log).unwrap_or_default()
        )
    };

    // The dashboard process, as the tray app starts it (`glasshouse dashboard`).
    let caps = json!({
        "tauri:options": {
            "application": env!("CARGO_BIN_EXE_glasshouse"),
            "args": ["dashboard"],
        }
    });
    let session = Session::new(driver.port, caps)
        .unwrap_or_else(|e| panic!("{}", fail_log(&format!("no WebDriver session: {e}"))));
    let window = wait_for("the dashboard window", Duration::from_secs(30), || {
        dashboard_window(&x.display_name())
    });
    let dashboard_pid: u32 = xdotool_out(&x.display_name(), &["getwindowpid", &window])
        .parse()
        .expect("the dashboard window names its pid");
    assert!(is_dashboard(dashboard_pid), "pid {dashboard_pid}");
    assert_ne!(dashboard_pid, tray.pid());
    let mut process = AppProcess(Some(dashboard_pid));
    let ui = Ui {
        s: &session,
        display: x.display_name(),
        shots,
        prefix: "dashboard-",
    };

    // Recording, with capture running on our display.
    ui.wait_text("#state-label", "Recording", Duration::from_secs(30), |t| {
        t.trim() == "Recording"
    });
    assert_eq!(app.status()["state"], "recording");
    ui.shot("01-today-start");

    // Typing in another window counts within 2 s and shows up in the live feed.
    let title = canary("dash-term-");
    let term = x.xterm(&title);
    x.focus(&term);
    let keys0 = ui.keys();
    let typed = canary("seen");
    x.type_text(&typed);
    let typed_at = Instant::now();
    ui.wait_keys("the key counter to rise", Duration::from_secs(10), |k| {
        k > keys0
    });
    let rose_after = typed_at.elapsed();
    eprintln!("the key counter rose {rose_after:?} after the typing ended");
    assert!(
        rose_after <= Duration::from_secs(2),
        "the key counter rose {rose_after:?} after the typing ended (aim: within 2 s)"
    );
    let expected = keys0 + typed.len() as u64;
    ui.wait_keys("every typed key counted", Duration::from_secs(10), |k| {
        k == expected
    });
    ui.view("feed");
    ui.wait_text(
        "#feed",
        "the typed text in the feed",
        Duration::from_secs(5),
        |t| t.contains(&typed),
    );
    let items = session
        .execute(
            "return document.querySelectorAll('#feed li.feed-item').length;",
            json!([]),
        )
        .unwrap();
    assert!(items.as_u64().unwrap_or(0) >= 1, "no li.feed-item: {items}");
    ui.shot("02-feed");
    // The app name as stored, for the exclusion later.
    let xterm_app = wait_for("the typed text in export", Duration::from_secs(5), || {
        app.export(&[])
            .iter()
            .find(|e| e["kind"] == "key_down" && e["title"] == title.as_str())
            .and_then(|e| e["app"].as_str().map(str::to_owned))
    });

    // Pause from the UI: the CLI agrees, and typing no longer counts.
    ui.view("today");
    ui.click("#btn-pause");
    wait_for("status: paused", Duration::from_secs(5), || {
        (app.status()["state"] == "paused").then_some(())
    });
    ui.wait_text("#state-label", "Paused", Duration::from_secs(5), |t| {
        t.starts_with("Paused")
    });
    ui.shot("03-today-paused");
    // The charts below the counters, with today's typing in them.
    session
        .execute(
            "document.querySelector('#chart-keys').scrollIntoView({ block: 'center' });",
            json!([]),
        )
        .unwrap();
    ui.shot("04-today-charts");
    session
        .execute("document.querySelector('#main').scrollTop = 0;", json!([]))
        .unwrap();
    let paused_text = canary("hidden");
    x.focus(&term);
    x.type_text(&paused_text);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(ui.keys(), expected, "keys typed while paused were counted");
    ui.click("#btn-resume");
    ui.wait_text("#state-label", "Recording", Duration::from_secs(5), |t| {
        t.trim() == "Recording"
    });
    assert_eq!(app.status()["state"], "recording");
    // Input keeps its order: once a key typed after the resume is counted, anything typed
    // during the pause would have been too.
    x.focus(&term);
    x.type_text("z");
    ui.wait_keys("the key after resuming", Duration::from_secs(10), |k| {
        k > expected
    });
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        ui.keys(),
        expected + 1,
        "keys typed while paused were counted"
    );
    assert!(!app.typed_in(&title).contains(&paused_text));

    // Delete the last 15 minutes: today's counters go back to zero (all our input was just now).
    ui.view("delete");
    ui.shot("05-delete");
    ui.click("#delete-last-15");
    ui.wait_open_dialog();
    ui.wait_text(
        "#confirm-text",
        "the event count",
        Duration::from_secs(5),
        |t| t.contains("events will be deleted"),
    );
    ui.shot("06-delete-confirm");
    ui.click("#confirm-yes");
    ui.wait_text("#toast", "the result", Duration::from_secs(10), |t| {
        t.contains("Deleted")
    });
    ui.wait_keys("keys back to 0", Duration::from_secs(10), |k| k == 0);
    assert_eq!(app.status()["today"]["keys"], 0);
    assert_eq!(app.typed_in(&title), "");

    // Exclude the xterm's app in Privacy: its typing no longer counts.
    ui.view("privacy");
    let input = session.find("#exclude-input").unwrap();
    input.clear().unwrap();
    input.send_keys(&xterm_app).unwrap();
    ui.click("#exclude-add");
    ui.wait_text(
        "#settings-excluded",
        "the new chip",
        Duration::from_secs(5),
        |t| t.contains(&xterm_app),
    );
    ui.click("#settings-save");
    ui.wait_text("#toast", "settings saved", Duration::from_secs(10), |t| {
        t.contains("Settings saved")
    });
    wait_for("the exclusion in status", Duration::from_secs(5), || {
        let s = app.status();
        let excluded = s["excluded_apps"].as_array().cloned().unwrap_or_default();
        excluded
            .iter()
            .any(|a| a.as_str() == Some(xterm_app.as_str()))
            .then_some(())
    });
    // The seeded history has the same app: saving offers to delete its past data. Keep it.
    ui.wait_open_dialog();
    ui.wait_text("#confirm-text", "the offer", Duration::from_secs(5), |t| {
        t.contains(&xterm_app)
    });
    ui.shot("07-privacy-offer");
    ui.click("#confirm-no");
    ui.wait_text("#toast", "nothing deleted", Duration::from_secs(10), |t| {
        t.contains("Nothing was deleted")
    });
    ui.shot("08-privacy");
    // The encryption card says where the key comes from (a passphrase here) and how to change it.
    wait_for("the passphrase note", Duration::from_secs(5), || {
        let shown = session
            .execute(
                "return [document.getElementById('key-passphrase').hidden, document.getElementById('key-keyring').hidden];",
                json!([]),
            )
            .unwrap();
        (shown == json!([false, true])).then_some(())
    });
    assert!(
        ui.text("#key-passphrase")
            .contains("glasshouse passphrase change")
    );
    session
        .execute(
            "document.getElementById('encryption-card').scrollIntoView();",
            json!([]),
        )
        .unwrap();
    ui.shot("08b-privacy-encryption");
    let excluded_text = canary("secret");
    x.focus(&term);
    x.type_text(&excluded_text);
    // The excluded app's time is stored as a nameless marker: once it is, its keys have passed
    // the policy too.
    wait_for("excluded time", Duration::from_secs(10), || {
        (app.status()["today_excluded_secs"].as_u64().unwrap_or(0) > 0).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(ui.keys(), 0, "typing in an excluded app was counted");
    assert!(!app.stored_bytes_contain(&excluded_text));

    ui.view("log");
    ui.wait_text(
        "#activity",
        "pause, resume, delete and settings in the log",
        Duration::from_secs(5),
        |t| {
            ["pause", "resume", "delete", "settings"]
                .iter()
                .all(|k| t.contains(k))
        },
    );
    ui.shot("09-log");
    ui.view("today");
    ui.shot("10-today-end");

    // Close the window as a person does: the dashboard process ends, and the tray app goes on
    // recording.
    close_window(&x, &window);
    wait_for(
        "the dashboard process to end",
        Duration::from_secs(15),
        || (!alive(dashboard_pid)).then_some(()),
    );
    process.0 = None;
    wait_for("its window to go", Duration::from_secs(5), || {
        dashboard_window(&x.display_name()).is_none().then_some(())
    });
    assert!(
        tray.running(),
        "{}",
        fail_log("the tray app ended with the dashboard")
    );
    assert_eq!(app.status()["pid"], tray.pid());
    // Recording goes on: with the exclusion lifted (as the file is edited by hand; the recorder
    // reloads it), typing counts again.
    std::fs::write(app.data_dir().join("settings.toml"), "excluded_apps = []\n").unwrap();
    wait_for("the exclusion lifted", Duration::from_secs(10), || {
        (app.status()["excluded_apps"] == json!([])).then_some(())
    });
    x.focus(&term);
    x.type_text("after");
    wait_for(
        "typing counted with the dashboard closed",
        Duration::from_secs(10),
        || (app.status()["today"]["keys"].as_u64() == Some(5)).then_some(()),
    );

    // "Open dashboard" (here a second launch, which asks the tray app through the socket, as the
    // tray menu does in-process) starts the dashboard process as the tray app's child; asking
    // again brings that one forward instead of starting another.
    let tray_pid = tray.pid();
    let open_from_tray = || {
        let said = app.ok(&[]);
        assert!(said.contains("dashboard is now open"), "{said}");
        let start = Instant::now();
        let child = loop {
            if let Some(c) = children(tray_pid).into_iter().find(|p| is_dashboard(*p)) {
                break c;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "{}",
                fail_log("no dashboard process after `show`")
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        let window = wait_for("its window", Duration::from_secs(30), || {
            dashboard_window(&x.display_name())
        });
        (child, window)
    };
    let (child, window) = open_from_tray();
    // Once it has subscribed, `show` is a `focus` push to it rather than a new process.
    std::thread::sleep(Duration::from_secs(2));
    app.ok(&[]);
    std::thread::sleep(Duration::from_secs(1));
    let dashboards: Vec<u32> = children(tray_pid)
        .into_iter()
        .filter(|p| is_dashboard(*p))
        .collect();
    assert_eq!(dashboards, vec![child], "one dashboard process");
    // Closed, it is gone for good: reaped by the tray app, not left a zombie.
    close_window(&x, &window);
    wait_for(
        "the dashboard process reaped",
        Duration::from_secs(15),
        || (!Path::new(&format!("/proc/{child}")).exists()).then_some(()),
    );
    assert!(tray.running());
    // Quitting the tray app ends a dashboard that is open.
    let (child, _) = open_from_tray();
    tray.quit();
    wait_for(
        "the dashboard to end with the tray app",
        Duration::from_secs(10),
        || (!alive(child)).then_some(()),
    );
    assert_eq!(app.status()["state"], "not_running");

    // Clean up: the session's app is gone already; then the driver and the X server.
    let _ = session.delete();
    drop(process);
    driver.stop();
    x.kill_server();
}

/// Closes `window` as a person does: focused, then Alt+F4, which openbox turns into
/// WM_DELETE_WINDOW, as the close button does.
fn close_window(x: &XSession, window: &str) {
    x.focus(window);
    x.xdotool(&["key", "--clearmodifiers", "alt+F4"]);
}
