//! Approve before upload, end to end: the real recorder under Xvfb with typed canaries, the real
//! collector on loopback, and the CLI as documented. Nothing but enrollment and the yes/no of
//! taking part reaches the collector before a batch is approved; what it then holds is exactly
//! the approved bytes, scrubbed; a collector that dies mid-upload ends with one copy; a
//! withdrawal really deletes.

use std::time::Duration;

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::collector::Collector;
use crate::util::{App, XSession, canary, wait_for, x_available};

fn batches(app: &App) -> Vec<Value> {
    let o: Value = serde_json::from_str(&app.ok(&["uploads", "list", "--json"])).unwrap();
    o["batches"].as_array().unwrap().clone()
}

fn batch(app: &App, id: i64) -> Value {
    batches(app)
        .into_iter()
        .find(|b| b["id"] == id)
        .unwrap_or_else(|| panic!("batch {id} is listed"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Types `text` into `win`, waits until it is stored, then until it is old enough for "seal now".
fn type_and_seal(x: &XSession, app: &App, win: &str, title: &str, text: &str) -> Value {
    x.focus(win);
    x.type_text(text);
    wait_for(
        "the typed text in the store",
        Duration::from_secs(15),
        || app.typed_in(title).contains(text.trim()).then_some(()),
    );
    std::thread::sleep(Duration::from_millis(2500));
    let before = batches(app).len();
    let out = app.ok(&["uploads", "seal"]);
    assert!(out.contains("Sealed 1 new batch"), "{out}");
    let all = batches(app);
    assert_eq!(all.len(), before + 1);
    all[0].clone()
}

#[test]
fn only_approved_scrubbed_batches_leave_and_withdrawal_deletes_them() {
    if !x_available() {
        return;
    }
    let mut x = XSession::start();
    let app = App::with_daily_batches(Some(x.display_name()));
    let mut collector = Collector::start();
    let token = collector.team_token("support", 1);
    let title = canary("uploadwin");
    let win = x.xterm(&title);
    let _rec = app.record();

    let out = app.ok(&["enroll", "--collector", &collector.url(), "--token", &token]);
    assert!(out.contains("Enrolled in team \"support\""), "{out}");
    // Not taking part yet: nothing can be sealed, nothing is offered.
    let refused = app.run(&["uploads", "seal"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("not taking part"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let out = app.ok(&["participate", "yes"]);
    assert!(out.contains("The collector was told"), "{out}");

    let plain = canary("plain");
    let email = format!("{}@example.com", canary("mail"));
    let first = type_and_seal(&x, &app, &win, &title, &format!("{plain} {email} "));
    let id = first["id"].as_i64().unwrap();
    assert_eq!(first["state"], "pending");
    assert_eq!(first["scrubbed"]["email"], 1, "{first}");
    let sha = first["sha256"].as_str().unwrap().to_owned();

    // Before any approval the collector heard of enrollment and taking part, and nothing else.
    let paths: Vec<String> = collector
        .request_log()
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_owned())
        .collect();
    assert!(paths.iter().any(|p| p == "/api/v1/enroll"), "{paths:?}");
    assert!(
        paths.iter().any(|p| p == "/api/v1/participation"),
        "{paths:?}"
    );
    assert!(
        paths
            .iter()
            .all(|p| p == "/api/v1/enroll" || p == "/api/v1/participation"),
        "{paths:?}"
    );
    assert!(collector.stored_batches().is_empty());

    // The preview: the exact bytes (their SHA-256 is the one listed) and a readable document
    // with the email scrubbed.
    let raw = app
        .cmd(&["uploads", "show", &id.to_string(), "--raw"])
        .output()
        .unwrap();
    assert!(raw.status.success());
    assert_eq!(sha256_hex(&raw.stdout), sha);
    let shown = app.ok(&["uploads", "show", &id.to_string()]);
    assert!(shown.contains(&plain), "the typed text is in the preview");
    assert!(shown.contains("[EMAIL]"), "{shown}");
    assert!(
        !shown.contains(&email),
        "the email is scrubbed from the preview"
    );
    assert!(shown.contains(&sha));

    let out = app.ok(&["uploads", "approve", &id.to_string(), "--sha256", &sha]);
    assert!(out.contains("Approved"), "{out}");
    let uploaded = wait_for("the batch uploaded", Duration::from_secs(30), || {
        let b = batch(&app, id);
        (b["state"] == "uploaded").then_some(b)
    });
    assert_eq!(uploaded["receipt"]["sha256"], sha.as_str(), "{uploaded}");

    // The collector holds exactly the approved bytes, content-addressed, scrubbed.
    let stored = collector.stored_batches();
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert!(stored[0].ends_with(format!("{sha}.zst")), "{stored:?}");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), raw.stdout);
    let export = collector.export();
    assert_eq!(export.len(), 1);
    assert_eq!(export[0]["sha256"], sha.as_str());
    let doc = export[0]["document"].to_string();
    assert!(doc.contains(&plain), "the approved text arrived");
    assert!(doc.contains("[EMAIL]"));
    assert!(!doc.contains(&email), "the email never left the machine");

    // The collector dies right after an approval (likely mid-upload) and comes back: the
    // batch ends up there exactly once.
    let second = type_and_seal(&x, &app, &win, &title, &format!("{} ", canary("second")));
    let id2 = second["id"].as_i64().unwrap();
    let sha2 = second["sha256"].as_str().unwrap().to_owned();
    app.ok(&["uploads", "approve", &id2.to_string()]);
    collector.kill();
    std::thread::sleep(Duration::from_secs(1));
    collector.serve();
    wait_for("the second batch uploaded", Duration::from_secs(60), || {
        (batch(&app, id2)["state"] == "uploaded").then_some(())
    });
    let stored = collector.stored_batches();
    assert_eq!(stored.len(), 2, "{stored:?}");
    let export = collector.export();
    assert_eq!(
        export
            .iter()
            .filter(|b| b["sha256"] == sha2.as_str())
            .count(),
        1
    );

    // Withdrawal: the collector deletes the batch and says so.
    let out = app.ok(&["uploads", "withdraw", &id.to_string()]);
    assert!(out.contains("Withdrawn"), "{out}");
    let b = batch(&app, id);
    assert_eq!(b["state"], "withdrawn");
    assert_eq!(b["withdrawal"]["sha256"], sha.as_str(), "{b}");
    assert!(
        !collector
            .stored_batches()
            .iter()
            .any(|p| p.ends_with(format!("{sha}.zst")))
    );
    assert!(
        collector
            .export()
            .iter()
            .all(|b| b["sha256"] != sha.as_str())
    );

    // Every upload and withdrawal is in the activity log.
    let log = app.ok(&["log"]);
    assert!(log.contains("uploaded the batch"), "{log}");
    assert!(log.contains("withdrew the batch"), "{log}");
}

#[test]
fn stopping_taking_part_discards_unsent_batches_and_tells_the_collector() {
    if !x_available() {
        return;
    }
    let mut x = XSession::start();
    let app = App::with_daily_batches(Some(x.display_name()));
    let collector = Collector::start();
    let token = collector.team_token("ops", 1);
    let title = canary("optout");
    let win = x.xterm(&title);
    let _rec = app.record();
    app.ok(&["enroll", "--collector", &collector.url(), "--token", &token]);
    app.ok(&["participate", "yes"]);
    type_and_seal(&x, &app, &win, &title, &format!("{} ", canary("kept")));
    let out = app.ok(&["participate", "no"]);
    assert!(out.contains("no longer take part"), "{out}");
    assert!(
        batches(&app).is_empty(),
        "no batch is offered once you stop"
    );
    let teams = collector.admin(&["team", "list"]);
    assert!(teams.contains("ops"), "{teams}");
    // Nothing but enrollment and two participation changes reached the collector.
    let log = collector.request_log();
    assert_eq!(
        log.iter()
            .filter(|r| r["path"] == "/api/v1/participation")
            .count(),
        2
    );
    assert!(collector.stored_batches().is_empty());
}
