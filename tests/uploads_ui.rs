//! The dashboard's Uploads view end to end, driven as a new user drives it: the real tray app and
//! its dashboard process (through tauri-driver and WebKitWebDriver) on an Xvfb + openbox of its
//! own, the real collector on loopback, and canaries typed by xdotool into an xterm. Joining the
//! collector and taking part tell it nothing but the enrollment and a yes; the batch shown for
//! review is the scrubbed document of exactly the bytes the CLI lists; leaving an app out and
//! putting it back gives the same bytes again; the approved batch arrives under its SHA-256, and
//! a withdrawal deletes it there. Screenshots go to `target/screenshots/uploads-*.png`.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::collector::Collector;
use crate::util::{
    App, AppProcess, Driver, Tray, Ui, XSession, canary, dashboard_window, is_dashboard,
    screenshots_dir, ui_tools_available, wait_for, xdotool_out,
};
use crate::webdriver::Session;

/// Runs `script` in the page and returns its value.
fn js(ui: &Ui<'_>, script: &str, args: Value) -> Value {
    ui.s.execute(script, args)
        .unwrap_or_else(|e| panic!("script {script:?}: {e}"))
}

/// Whether the element matching `css` is there and shown.
fn shown(ui: &Ui<'_>, css: &str) -> bool {
    ui.s.find(css).is_ok_and(|e| e.displayed().unwrap_or(false))
}

fn wait_shown(ui: &Ui<'_>, css: &str) {
    wait_for(&format!("{css} to show"), Duration::from_secs(15), || {
        shown(ui, css).then_some(())
    });
}

/// The SHA-256 the open batch's facts show.
fn shown_sha(ui: &Ui<'_>) -> String {
    js(
        ui,
        "const dt = [...document.querySelectorAll('#batch-facts > dt')].find((d) => d.textContent === 'SHA-256');
         return dt ? dt.nextElementSibling.textContent : '';",
        json!([]),
    )
    .as_str()
    .unwrap_or_default()
    .to_owned()
}

/// Waits until the open batch's SHA-256 satisfies `f`, and returns it.
fn wait_sha(ui: &Ui<'_>, what: &str, f: impl Fn(&str) -> bool) -> String {
    wait_for(what, Duration::from_secs(15), || {
        let sha = shown_sha(ui);
        f(&sha).then_some(sha)
    })
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
}

/// The batches as `glasshouse uploads list --json` lists them.
fn listed(app: &App) -> Vec<Value> {
    let o: Value = serde_json::from_str(&app.ok(&["uploads", "list", "--json"])).unwrap();
    o["batches"].as_array().unwrap().clone()
}

fn request_paths(collector: &Collector) -> Vec<String> {
    collector
        .request_log()
        .iter()
        .map(|r| r["path"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// Scrolls the element matching `css` to the top of the view (no smooth scrolling, so a
/// screenshot right after shows it).
fn scroll_to(ui: &Ui<'_>, css: &str) {
    js(
        ui,
        "document.querySelector(arguments[0]).scrollIntoView({ block: 'start' });",
        json!([css]),
    );
}

/// Resizes the dashboard window and waits until the page has laid itself out at the new width:
/// a click aimed from the old layout would land somewhere else.
fn resize(ui: &Ui<'_>, x: &XSession, window: &str, width: u32, height: u32) {
    x.xdotool(&[
        "windowsize",
        "--sync",
        window,
        &width.to_string(),
        &height.to_string(),
    ]);
    wait_for(
        &format!("the page {width} px wide"),
        Duration::from_secs(10),
        || (js(ui, "return window.innerWidth;", json!([])) == json!(width)).then_some(()),
    );
    ui.s
        .execute_async(
            "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
            json!([]),
        )
        .unwrap();
}

#[test]
fn uploads_view_end_to_end() {
    let Some(driver_bin) = ui_tools_available() else {
        return;
    };
    let collector = Collector::start();
    let token = collector.team_token("support", 1);
    let mut x = XSession::start();
    let app = App::with_daily_batches(Some(x.display_name()));
    let config = tempfile::tempdir().unwrap();
    let shots = screenshots_dir("uploads-");
    let mut tray = Tray::start(&app, config.path());
    let mut driver = Driver::for_app(&driver_bin, &app, config.path(), &x.display_name());
    let fail_log = |what: &str| -> String {
        format!(
            "{what}; tauri-driver said: {}{}; the tray app said: {}",
            std::fs::read_to_string(&driver.log).unwrap_or_default(),
            std::fs::read_to_string(driver.log.with_extension("err.log")).unwrap_or_default(),
            std::fs::read_to_string(&tray.log).unwrap_or_default()
        )
    };
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
    let process = AppProcess(Some(dashboard_pid));
    let ui = Ui {
        s: &session,
        display: x.display_name(),
        shots,
        prefix: "uploads-",
    };
    ui.wait_text("#state-label", "Recording", Duration::from_secs(30), |t| {
        t.trim() == "Recording"
    });

    // Join the collector, as the welcome card suggests.
    ui.view("uploads");
    assert!(shown(&ui, "#enroll-card"), "the enroll card shows first");
    assert!(!shown(&ui, "#participation-card"));
    let field = session.find("#enroll-collector").unwrap();
    field.clear().unwrap();
    field.send_keys(&collector.url()).unwrap();
    let field = session.find("#enroll-token").unwrap();
    field.clear().unwrap();
    field.send_keys(&token).unwrap();
    ui.shot("01-enroll");
    ui.click("#enroll-submit");
    ui.wait_text("#toast", "enrolled", Duration::from_secs(15), |t| {
        t.contains("Enrolled")
    });
    wait_shown(&ui, "#participation-card");
    assert!(!shown(&ui, "#enroll-card"));
    let line = ui.text("#enrollment-line");
    assert!(line.contains("support"), "{line}");
    assert_eq!(
        js(
            &ui,
            "return document.querySelector('#participate').checked;",
            json!([])
        ),
        json!(false),
        "enrolling does not make the device take part"
    );
    ui.shot("02-enrolled");

    // Take part: asked first, and the collector learns only yes or no.
    ui.click("#participate");
    ui.wait_open_dialog();
    let asked = ui.text("#confirm-text");
    assert!(asked.contains("yes or no"), "{asked}");
    ui.shot("03-participate-confirm");
    ui.click("#confirm-yes");
    wait_for("#participate checked", Duration::from_secs(15), || {
        (js(
            &ui,
            "return document.querySelector('#participate').checked;",
            json!([]),
        ) == json!(true))
        .then_some(())
    });
    ui.wait_text("#toast", "taking part", Duration::from_secs(10), |t| {
        t.contains("take part")
    });
    let paths = request_paths(&collector);
    assert!(paths.iter().any(|p| p == "/api/v1/enroll"), "{paths:?}");
    assert!(
        paths.iter().any(|p| p == "/api/v1/participation"),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .all(|p| p == "/api/v1/enroll" || p == "/api/v1/participation"),
        "the collector heard more than enrollment and a yes: {paths:?}"
    );

    // Type a canary and an email into an xterm; once stored and old enough, prepare a batch.
    let title = canary("uploadui");
    let term = x.xterm(&title);
    x.focus(&term);
    let plain = canary("plain");
    let email = format!("{}@example.com", canary("mail"));
    x.type_text(&format!("{plain} {email} "));
    wait_for(
        "the typed text in the store",
        Duration::from_secs(15),
        || app.typed_in(&title).contains(&email).then_some(()),
    );
    let xterm_app = app
        .export(&[])
        .iter()
        .find(|e| e["kind"] == "key_down" && e["title"] == title.as_str())
        .and_then(|e| e["app"].as_str().map(str::to_owned))
        .expect("the xterm's app name");
    std::thread::sleep(Duration::from_millis(2500));
    ui.click("#uploads-seal");
    ui.wait_text("#toast", "sealed", Duration::from_secs(15), |t| {
        t.contains("Sealed")
    });
    let item = "#pending-list li.batch";
    wait_shown(&ui, item);
    let item_text = ui.text(item);
    assert!(
        item_text.contains("Scrubbed: 1 email address"),
        "{item_text}"
    );
    let id: i64 =
        ui.s.attr_of(item, "data-id")
            .unwrap()
            .and_then(|v| v.parse().ok())
            .expect("the batch's data-id");
    let item = format!("#pending-list li.batch[data-id=\"{id}\"]");
    ui.shot("04-pending");

    // Review it: the document is scrubbed, its SHA-256 is the one the CLI lists.
    ui.click(&format!("{item} .batch-open"));
    wait_shown(&ui, "#batch-detail");
    let doc = ui.text("#batch-document");
    assert!(doc.contains(&plain), "the typed text is in the document");
    assert!(
        doc.contains("[EMAIL]"),
        "the placeholder is in the document"
    );
    assert!(!doc.contains(&email), "the email is in the document");
    let sha = wait_sha(&ui, "the SHA-256 in the facts", is_sha256);
    let listed_sha = listed(&app)
        .into_iter()
        .find(|b| b["id"] == id)
        .and_then(|b| b["sha256"].as_str().map(str::to_owned))
        .expect("the batch is listed with its SHA-256");
    assert_eq!(sha, listed_sha, "the UI shows the SHA-256 the CLI lists");
    assert!(
        js(
            &ui,
            "const i = document.querySelector('#batch-chart img'); return !!i && i.complete && i.naturalWidth > 0;",
            json!([])
        ) == json!(true),
        "the batch's chart is shown"
    );
    // Its accessible name sums it up: the typed keys are in it (the window starts mid-minute).
    let alt =
        ui.s.attr_of("#batch-chart img", "alt")
            .unwrap()
            .unwrap_or_default();
    assert!(alt.starts_with("Activity in this batch: "), "{alt}");
    assert!(!alt.contains(": 0 keys"), "the chart shows no keys: {alt}");
    js(
        &ui,
        "document.querySelector('#main').scrollTop = 0;",
        json!([]),
    );
    scroll_to(&ui, "#batch-detail");
    ui.shot("05-batch");
    scroll_to(&ui, "#batch-document");
    ui.shot("06-batch-document");
    // The narrowest the window gets: the SHA-256 and the first bytes wrap within the card.
    let geometry = x.xdotool(&["getwindowgeometry", "--shell", &window]);
    let size_of = |key: &str| -> u32 {
        geometry
            .lines()
            .find_map(|l| l.strip_prefix(key)?.parse().ok())
            .unwrap_or(800)
    };
    let (width, height) = (size_of("WIDTH="), size_of("HEIGHT="));
    resize(&ui, &x, &window, 900, 620);
    scroll_to(&ui, "#batch-facts");
    let overflow = js(
        &ui,
        "const c = document.querySelector('#batch-detail'); return c.scrollWidth - c.clientWidth;",
        json!([]),
    );
    assert_eq!(
        overflow,
        json!(0),
        "the batch's card is wider than the window"
    );
    ui.shot("07-batch-narrow");
    resize(&ui, &x, &window, width, height);

    // Leave the xterm out, then put it back: the bytes change, then are the same again.
    let chip = format!("#batch-apps li[data-app=\"{xterm_app}\"]");
    ui.click(&format!("{chip} .chip-action"));
    let without = wait_sha(&ui, "a new SHA-256 without the xterm", |s| {
        is_sha256(s) && s != sha
    });
    assert_ne!(without, sha);
    wait_for("the chip marked left out", Duration::from_secs(10), || {
        ui.text(&format!("{chip} .chip-action"))
            .contains("Put back")
            .then_some(())
    });
    let approve_disabled = || {
        js(
            &ui,
            "return document.querySelector('#batch-approve').disabled;",
            json!([]),
        )
    };
    assert_eq!(
        approve_disabled(),
        json!(true),
        "a batch with nothing left in it cannot be approved"
    );
    let apps_line = ui.text(&format!("{item} .batch-apps"));
    assert!(apps_line.contains("left out"), "{apps_line}");
    scroll_to(&ui, "#batch-apps");
    ui.shot("08-app-left-out");
    ui.click(&format!("{chip} .chip-action"));
    let back = wait_sha(&ui, "the SHA-256 with the xterm back", |s| s != without);
    assert_eq!(back, sha, "putting the app back builds the same bytes");
    assert_eq!(approve_disabled(), json!(false));

    // Approve: the batch is uploaded and the collector holds it under its SHA-256.
    ui.click("#batch-approve");
    ui.wait_text("#toast", "approved", Duration::from_secs(15), |t| {
        t.contains("Approved")
    });
    let done = format!("#done-list li[data-id=\"{id}\"][data-state=\"uploaded\"]");
    let start = Instant::now();
    wait_for(
        "the batch listed as uploaded",
        Duration::from_secs(60),
        || shown(&ui, &done).then_some(()),
    );
    eprintln!("uploaded and shown {:?} after approval", start.elapsed());
    let stored = collector.stored_batches();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].ends_with(format!("{sha}.zst")), "{stored:?}");
    let export = collector.export();
    assert_eq!(export.len(), 1);
    assert_eq!(export[0]["sha256"], sha.as_str());
    assert!(!export[0]["document"].to_string().contains(&email));
    // The open batch shows the collector's receipt, checked against its SHA-256.
    ui.wait_text(
        "#batch-facts",
        "the upload receipt",
        Duration::from_secs(10),
        |t| t.contains("Upload receipt") && t.contains("SHA-256 matches this batch"),
    );
    js(
        &ui,
        "document.querySelector('#main').scrollTop = 0;",
        json!([]),
    );
    ui.shot("09-uploaded");

    // Withdraw it: asked first; then the collector no longer holds it.
    ui.click(&format!("{done} .batch-withdraw"));
    ui.wait_open_dialog();
    let asked = ui.text("#confirm-text");
    assert!(asked.contains("delete"), "{asked}");
    ui.shot("10-withdraw-confirm");
    ui.click("#confirm-yes");
    let withdrawn = format!("#done-list li[data-id=\"{id}\"][data-state=\"withdrawn\"]");
    wait_for("the batch withdrawn", Duration::from_secs(30), || {
        shown(&ui, &withdrawn).then_some(())
    });
    wait_for(
        "the collector to delete the batch",
        Duration::from_secs(10),
        || collector.stored_batches().is_empty().then_some(()),
    );
    assert!(collector.export().is_empty());
    // Both receipts, the deletion one unfolded as the collector sent it.
    ui.wait_text(
        "#batch-facts",
        "the deletion receipt",
        Duration::from_secs(10),
        |t| t.contains("Deletion receipt"),
    );
    ui.click("#batch-facts details[data-name=\"Deletion receipt\"] summary");
    scroll_to(&ui, "#batch-facts");
    ui.shot("11-withdrawn");

    // The activity log says what was done.
    ui.view("log");
    wait_for(
        "upload and participation entries in the log",
        Duration::from_secs(10),
        || {
            let kinds = js(
                &ui,
                "return [...document.querySelectorAll('#activity li.log-item')].map((li) => li.dataset.kind);",
                json!([]),
            );
            let kinds: Vec<&str> = kinds
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (kinds.contains(&"upload") && kinds.contains(&"participation")).then_some(())
        },
    );
    let log = ui.text("#activity");
    assert!(log.contains("withdr"), "{log}");
    ui.shot("12-log");

    // Clean up: the session (the driver closes the app), the tray app, the driver, X.
    let _ = session.delete();
    drop(process);
    tray.quit();
    driver.stop();
    x.kill_server();
}
