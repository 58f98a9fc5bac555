//! Mock-runtime tests of the commands: the real `build`, the real recorder (with no capture
//! worker) on a temporary data directory, the real capability file, and IPC requests made the
//! way the dashboard makes them. No display is needed.

use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::{Value, json};
use tauri::ipc::{CallbackFn, InvokeBody};
use tauri::test::{INVOKE_KEY, MockRuntime, get_ipc_response, mock_builder};
use tauri::webview::InvokeRequest;
use tauri::{App, WebviewUrl, WebviewWindow, WebviewWindowBuilder};

use glasshouse_core::keys::Key;
use glasshouse_core::model::{MICROS_PER_SEC, Micros, Stored, StoredEvent, Window, now_micros};
use glasshouse_core::paths::Paths;
use glasshouse_store::Store;

use super::window::LABEL;

/// Tests that change the process environment hold this for their whole run, so no other test
/// of this module reads the environment while it changes.
static ENV: Mutex<()> = Mutex::new(());

fn env_lock() -> MutexGuard<'static, ()> {
    ENV.lock().unwrap_or_else(|e| e.into_inner())
}

/// An app on the mock runtime with the dashboard window open.
struct Harness {
    app: App<MockRuntime>,
    dashboard: WebviewWindow<MockRuntime>,
    paths: Paths,
    _data: tempfile::TempDir,
}

/// The key of every test database.
fn test_key() -> glasshouse_store::DbKey {
    glasshouse_store::DbKey::from_bytes([7; 32])
}

impl Harness {
    /// Starts the app on a fresh data directory holding `events` (appended through the store
    /// before the recorder starts, as if recorded earlier).
    fn start(events: Vec<(Window, Vec<StoredEvent>)>) -> Harness {
        let data = tempfile::tempdir().unwrap();
        let paths = Paths::in_dir(data.path());
        if !events.is_empty() {
            let store = Store::open(&paths.database(), &test_key()).unwrap();
            for (window, evs) in events {
                let window = Arc::new(window);
                store.append(evs.into_iter().map(|e| (window.clone(), e)).collect());
            }
            store.flush().unwrap();
            store.close().unwrap();
        }
        let (state, observer) =
            super::start_recorder::<MockRuntime>(&paths, test_key(), None).unwrap();
        let context: tauri::Context<MockRuntime> = tauri::generate_context!(test = true);
        let app = super::build(mock_builder())
            .manage(state)
            .build(context)
            .unwrap();
        let _ = observer.app.set(app.handle().clone());
        let dashboard = window(&app, LABEL);
        Harness {
            app,
            dashboard,
            paths,
            _data: data,
        }
    }

    /// Calls `cmd` from the dashboard window.
    fn call(&self, cmd: &str, args: Value) -> Result<Value, Value> {
        invoke(&self.dashboard, cmd, args)
    }

    /// Calls `cmd`, which must succeed.
    fn ok(&self, cmd: &str, args: Value) -> Value {
        self.call(cmd, args.clone())
            .unwrap_or_else(|e| panic!("{cmd} {args} failed: {e}"))
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        // Stores what the recorder holds and releases the data directory before it is removed.
        use tauri::Manager;
        self.app.state::<super::state::AppState>().shutdown();
    }
}

fn window(app: &App<MockRuntime>, label: &str) -> WebviewWindow<MockRuntime> {
    WebviewWindowBuilder::new(app, label, WebviewUrl::App("index.html".into()))
        .build()
        .unwrap()
}

fn invoke(w: &WebviewWindow<MockRuntime>, cmd: &str, args: Value) -> Result<Value, Value> {
    get_ipc_response(
        w,
        InvokeRequest {
            cmd: cmd.into(),
            callback: CallbackFn(0),
            error: CallbackFn(1),
            url: "tauri://localhost".parse().unwrap(),
            body: InvokeBody::Json(args),
            headers: Default::default(),
            invoke_key: INVOKE_KEY.to_string(),
        },
    )
    .map(|body| body.deserialize::<Value>().unwrap())
}

fn typed(start: Micros, text: &str) -> Vec<StoredEvent> {
    text.chars()
        .enumerate()
        .flat_map(|(i, c)| {
            let ts = start + i as i64 * 100_000;
            [
                StoredEvent {
                    ts,
                    event: Stored::KeyDown {
                        key: Key::KeyA,
                        text: Some(c.to_string()),
                    },
                },
                StoredEvent {
                    ts: ts + 50_000,
                    event: Stored::KeyUp { key: Key::KeyA },
                },
            ]
        })
        .collect()
}

fn win(app: &str, title: &str) -> Window {
    Window {
        app: app.into(),
        class: String::new(),
        title: title.into(),
    }
}

/// An error as the dashboard receives it: a known kind and a sentence.
fn assert_sentence_error(e: &Value, kind: &str) {
    assert_eq!(e["kind"], kind, "{e}");
    let message = e["message"].as_str().unwrap_or_default();
    let first = message.chars().next().unwrap_or(' ');
    assert!(
        first.is_uppercase() && message.ends_with('.') && message.contains(' '),
        "not a sentence: {e}"
    );
}

#[test]
fn status_pause_resume_and_the_activity_log() {
    let h = Harness::start(Vec::new());
    let status = h.ok("status", json!({}));
    // No capture worker here, so the recorder says why it captures nothing.
    assert_eq!(status["state"], "unavailable", "{status}");
    assert_eq!(
        status["data_dir"],
        h.paths.data_dir.to_string_lossy().as_ref()
    );

    let before = now_micros();
    let paused = h.ok("pause", json!({ "minutes": 15 }));
    assert_eq!(paused["state"], "paused", "{paused}");
    let until = paused["paused_until"]
        .as_i64()
        .expect("paused_until is set");
    let fifteen = 15 * 60 * MICROS_PER_SEC;
    assert!(
        (before + fifteen..=now_micros() + fifteen).contains(&until),
        "paused until {until}, expected about 15 minutes after {before}"
    );
    assert_eq!(h.ok("status", json!({}))["state"], "paused");

    let indefinite = h.ok("pause", json!({}));
    assert_eq!(indefinite["state"], "paused");
    assert_eq!(indefinite["paused_until"], Value::Null);

    let resumed = h.ok("resume", json!({}));
    assert_ne!(resumed["state"], "paused", "{resumed}");
    assert_eq!(resumed["paused_until"], Value::Null);

    let log = h.ok("activity", json!({ "limit": 10 }));
    let kinds: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    // Newest first: the resume, then the pause(s) before it.
    assert_eq!(kinds.first(), Some(&"resume"), "{log}");
    assert!(kinds.contains(&"pause"), "{log}");
}

#[test]
fn settings_round_trip_and_a_bad_value_is_a_sentence() {
    let h = Harness::start(Vec::new());
    let view = h.ok("settings", json!({}));
    assert_eq!(view["settings"]["capture_level"], "full", "{view}");
    assert_eq!(view["mouse_rate_range"], json!([1, 1000]));

    // A setting the privacy page does not show is kept as the file has it.
    std::fs::write(&h.paths.settings_file, "batch_minutes = 30\n").unwrap();
    let input = json!({
        "capture_level": "categories",
        "excluded_apps": ["keepassxc", " XTerm ", "xterm", ""],
        "mouse_rate": 60,
        "retention_days": 7,
        "sensitive_windows": false,
        "sensitive_patterns": [" Kennwort* ", "KENNWORT*", "", "sign in"],
    });
    let saved = h.ok("save_settings", json!({ "input": input }));
    let expected = json!({
        "capture_level": "categories",
        "excluded_apps": ["keepassxc", "XTerm"],
        "mouse_rate": 60,
        "retention_days": 7,
        "batch_minutes": 30,
        "sensitive_windows": false,
        "sensitive_patterns": ["Kennwort*", "sign in"],
    });
    assert_eq!(saved["settings"], expected, "{saved}");
    assert_eq!(h.ok("settings", json!({}))["settings"], expected);
    let on_disk = std::fs::read_to_string(&h.paths.settings_file).unwrap();
    assert!(on_disk.contains("mouse_rate = 60"), "{on_disk}");
    // The recorder applies the saved settings at once.
    let status = h.ok("status", json!({}));
    assert_eq!(status["capture_level"], "categories", "{status}");
    assert_eq!(status["excluded_apps"], json!(["keepassxc", "XTerm"]));

    let bad = json!({ "input": {
        "capture_level": "full", "excluded_apps": [], "mouse_rate": 0, "retention_days": 30,
    }});
    let err = h.call("save_settings", bad).unwrap_err();
    assert_sentence_error(&err, "invalid");
    assert!(
        err["message"].as_str().unwrap().contains("mouse rate"),
        "{err}"
    );
    // Nothing was saved.
    assert_eq!(h.ok("settings", json!({}))["settings"], expected);
    let bad = json!({ "input": {
        "capture_level": "full", "excluded_apps": [], "mouse_rate": 60, "retention_days": 30,
        "sensitive_windows": true, "sensitive_patterns": ["login", "pass*word"],
    }});
    let err = h.call("save_settings", bad).unwrap_err();
    assert_sentence_error(&err, "invalid");
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("\"pass*word\" may have a * only at its start or end"),
        "{err}"
    );
    assert_eq!(h.ok("settings", json!({}))["settings"], expected);
    // The page offers the default list back.
    assert_eq!(
        view["default_sensitive_patterns"].as_array().unwrap().len(),
        glasshouse_core::settings::DEFAULT_SENSITIVE_PATTERNS.len()
    );

    let log = h.ok("activity", json!({}));
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "settings"
                && e["detail"]
                    .as_str()
                    .unwrap()
                    .contains("sensitive windows off")),
        "{log}"
    );
}

#[test]
fn delete_preview_delete_and_the_live_feed() {
    let now = now_micros();
    let minute = 60 * MICROS_PER_SEC;
    let h = Harness::start(vec![
        (
            win("xterm", "shell"),
            typed(now - 2 * minute, "recentcanary"),
        ),
        (
            win("firefox", "news"),
            typed(now - 40 * minute, "oldcanary"),
        ),
    ]);

    // The live feed is filled from the store at start: typed text as readable runs.
    let feed = h.ok("live_feed", json!({}));
    let texts: Vec<&str> = feed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| i["text"].as_str())
        .collect();
    assert!(texts.iter().any(|t| t.contains("recentcanary")), "{feed}");
    assert!(texts.iter().any(|t| t.contains("oldcanary")), "{feed}");

    let last15 = json!({ "input": { "what": "last", "minutes": 15 } });
    let preview = h.ok("delete_preview", last15.clone());
    assert_eq!(preview["events"], 24, "{preview}");
    assert!(
        preview["description"]
            .as_str()
            .unwrap()
            .starts_with("everything from"),
        "{preview}"
    );
    let report = h.ok("delete", last15.clone());
    assert_eq!(report["events"], 24, "{report}");
    assert_eq!(h.ok("delete_preview", last15)["events"], 0);

    // The feed follows the delete: what went is no longer shown.
    let feed = h.ok("live_feed", json!({})).to_string();
    assert!(!feed.contains("recentcanary"), "{feed}");
    assert!(feed.contains("oldcanary"), "{feed}");

    let app = json!({ "input": { "what": "app", "app": "firefox" } });
    assert_eq!(h.ok("delete_preview", app.clone())["events"], 18);
    assert_eq!(h.ok("delete", app)["events"], 18);
    let all = json!({ "input": { "what": "all" } });
    assert_eq!(h.ok("delete_preview", all)["events"], 0);

    let bad_range = json!({ "input": {
        "what": "range", "since": "2026-01-02T10:00", "until": "2026-01-02T09:00",
    }});
    assert_sentence_error(&h.call("delete_preview", bad_range).unwrap_err(), "invalid");
    let no_app = json!({ "input": { "what": "app", "app": "  " } });
    assert_sentence_error(&h.call("delete", no_app).unwrap_err(), "invalid");

    let log = h.ok("activity", json!({}));
    let deletes = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "delete")
        .count();
    assert_eq!(deletes, 2, "{log}");
}

#[test]
fn the_dashboard_payload_has_every_chart() {
    let now = now_micros();
    let h = Harness::start(vec![(
        win("xterm", "shell"),
        typed(now - MICROS_PER_SEC, "hello"),
    )]);
    let d = h.ok("dashboard", json!({ "dark": true }));
    assert_eq!(d["today"]["keys"], 5, "{}", d["today"]);
    for chart in ["timeline", "apps_today", "apps_week", "keys", "clicks"] {
        let svg = d["charts"][chart].as_str().unwrap_or_default();
        assert!(svg.contains("<svg"), "{chart} is not an SVG");
    }
    assert!(d["render_ms"].as_f64().unwrap() >= 0.0);
}

#[test]
fn autostart_writes_and_removes_the_entry() {
    let _env = env_lock();
    let config = tempfile::tempdir().unwrap();
    let old = std::env::var_os("XDG_CONFIG_HOME");
    // SAFETY: every test of this module that touches the environment holds `ENV`, and no other
    // test in this crate writes XDG_CONFIG_HOME.
    unsafe { std::env::set_var("XDG_CONFIG_HOME", config.path()) };
    let h = Harness::start(Vec::new());
    let entry = config.path().join("autostart/glasshouse.desktop");

    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        assert_eq!(h.ok("autostart", json!({})), json!(false));
        assert_eq!(
            h.ok("set_autostart", json!({ "enabled": true })),
            json!(true)
        );
        let text = std::fs::read_to_string(&entry).unwrap();
        assert!(text.starts_with("[Desktop Entry]\n"), "{text}");
        assert!(text.contains("--data-dir"), "{text}");
        assert_eq!(h.ok("autostart", json!({})), json!(true));
        assert_eq!(
            h.ok("set_autostart", json!({ "enabled": false })),
            json!(false)
        );
        assert!(!entry.exists());
        assert_eq!(h.ok("autostart", json!({})), json!(false));
    }));
    // SAFETY: as above.
    unsafe {
        match old {
            Some(v) => std::env::set_var("XDG_CONFIG_HOME", v),
            None => std::env::remove_var("XDG_CONFIG_HOME"),
        }
    }
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
}

#[test]
fn the_capability_grants_only_the_dashboard_its_commands() {
    let h = Harness::start(Vec::new());
    // A plugin command the capability does not list is refused, even from the dashboard.
    let notify = json!({ "options": { "title": "hi" } });
    let err = h.call("plugin:notification|notify", notify).unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
    // The app's own commands are granted to the window labelled "dashboard" only.
    let other = window(&h.app, "other");
    let err = invoke(&other, "status", json!({})).unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
    let err = invoke(&other, "pause", json!({})).unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
    // Nothing happened: the refused pause did not pause.
    assert_ne!(h.ok("status", json!({}))["state"], "paused");
    // A command that does not exist is refused too.
    assert!(h.call("no_such_command", json!({})).is_err());
    // The passphrase window's commands are its own: the dashboard cannot call them...
    let err = h
        .call("unlock_submit", json!({ "passphrase": "x" }))
        .unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
    // ...and the passphrase window can call nothing of the dashboard's.
    let unlock = window(&h.app, super::unlock::LABEL);
    for command in ["status", "delete", "uploads_decide", "settings"] {
        let err = invoke(&unlock, command, json!({})).unwrap_err();
        assert!(err.to_string().contains("not allowed"), "{command}: {err}");
    }
    let err = invoke(&unlock, "plugin:notification|notify", json!({})).unwrap_err();
    assert!(err.to_string().contains("not allowed"), "{err}");
}

#[test]
fn uploads_commands_say_what_is_missing_in_sentences() {
    let h = Harness::start(Vec::new());
    let o = h.ok("uploads", json!({}));
    assert_eq!(o["enrollment"], Value::Null, "{o}");
    assert_eq!(o["participating"], false);
    assert_eq!(o["batches"], json!([]));
    // Nothing can be sealed or approved before enrolling and choosing to take part.
    let err = h
        .call("uploads_decide", json!({ "op": { "op": "seal" } }))
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("not enrolled"),
        "{err}"
    );
    let err = h
        .call(
            "uploads_decide",
            json!({ "op": { "op": "approve", "id": 1, "sha256": null } }),
        )
        .unwrap_err();
    assert!(err["message"].as_str().unwrap().contains("enroll"), "{err}");
    // A plain-http collector that is not on this machine is refused before anything is sent.
    let err = h
        .call(
            "uploads_decide",
            json!({ "op": { "op": "enroll", "collector": "http://collector.example.com", "token": "t" } }),
        )
        .unwrap_err();
    assert!(
        err["message"].as_str().unwrap().contains("https://"),
        "{err}"
    );
    let err = h.call("upload_batch", json!({ "id": 7 })).unwrap_err();
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("no upload batch 7"),
        "{err}"
    );
}

#[test]
fn a_batch_chart_shows_the_activity_of_a_window_that_starts_mid_minute() {
    use glasshouse_core::model::MICROS_PER_MINUTE;
    // A window of a few seconds inside one minute, as "prepare a batch now" seals right after
    // taking part: its keys are in that minute's rollup, which starts before the window.
    let minute =
        (now_micros() - 3600 * MICROS_PER_SEC).div_euclid(MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
    let start = minute + 20 * MICROS_PER_SEC;
    let h = Harness::start(vec![(win("xterm", "term"), typed(start + 1, "hello"))]);
    let reader = glasshouse_store::Reader::open(&h.paths.database(), &test_key()).unwrap();
    let svg =
        super::dashboard::batch_chart(&reader, start, start + 3 * MICROS_PER_SEC, false).unwrap();
    assert!(
        svg.contains("Activity in this batch: 5 keys"),
        "{}",
        &svg[..svg.len().min(600)]
    );
}
