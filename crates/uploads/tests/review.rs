//! The review without a collector: sealing, what a pending batch holds, and that a delete changes
//! it before it is approved (nothing here talks to a network: approving only stores the bytes).

use std::sync::Arc;

use glasshouse_core::keys::Key;
use glasshouse_core::model::{MICROS_PER_MINUTE, Micros, Stored, StoredEvent, Window, now_micros};
use glasshouse_core::paths::Paths;
use glasshouse_store::{BatchState, Selection, Store};
use glasshouse_uploads::{Device, UploadError, Uploads, UploadsOp};

fn typed(w: &Arc<Window>, ts: Micros, text: &str) -> Vec<(Arc<Window>, StoredEvent)> {
    text.chars()
        .enumerate()
        .map(|(i, c)| {
            (
                w.clone(),
                StoredEvent {
                    ts: ts + i as Micros * 1000,
                    event: Stored::KeyDown {
                        key: Key::KeyA,
                        text: Some(c.to_string()),
                    },
                },
            )
        })
        .collect()
}

fn setup() -> (tempfile::TempDir, Paths, Store, Uploads, Micros) {
    let dir = tempfile::tempdir().unwrap();
    let paths = Paths::in_dir(dir.path());
    let store = Store::open(
        &paths.database(),
        &glasshouse_store::DbKey::from_bytes([7; 32]),
    )
    .unwrap();
    let now = now_micros();
    let since = now - 30 * MICROS_PER_MINUTE;
    Device {
        collector: "http://127.0.0.1:9".into(),
        device_id: "dev_test".into(),
        secret: "secret".into(),
        team: "support".into(),
        enrolled_at: since,
        participating: true,
        participating_since: Some(since),
        participation_synced: true,
    }
    .save(&paths)
    .unwrap();
    let uploads = Uploads::new(&paths, store.clone(), None);
    (dir, paths, store, uploads, since)
}

fn window(app: &str, title: &str) -> Arc<Window> {
    Arc::new(Window {
        app: app.into(),
        class: String::new(),
        title: title.into(),
    })
}

#[test]
fn a_pending_batch_shows_exactly_what_approving_sends_and_a_delete_changes_it() {
    let (_dir, _paths, store, uploads, since) = setup();
    let xterm = window("xterm", "notes");
    let mail = window("thunderbird", "Inbox");
    store.append(typed(
        &xterm,
        since + MICROS_PER_MINUTE,
        "hello ana@example.com ",
    ));
    store.append(typed(&mail, since + 2 * MICROS_PER_MINUTE, "dear team"));
    store.flush().unwrap();

    let done = uploads.apply(UploadsOp::Seal).unwrap();
    assert_eq!(done.changed.len(), 1, "{}", done.message);
    let id = done.changed[0];
    let review = uploads.review();
    let b = &review.overview().unwrap().batches[0];
    assert_eq!(b.state, BatchState::Pending);
    assert_eq!(b.events, 31);
    assert_eq!(b.scrubbed.get("email"), Some(&1));
    assert_eq!(b.apps, vec!["xterm".to_owned(), "thunderbird".to_owned()]);
    let shown = review.show(id).unwrap();
    let doc = shown.readable.unwrap();
    assert!(
        doc.contains("[EMAIL]") && !doc.contains("ana@example.com"),
        "{doc}"
    );
    let raw = review.raw(id).unwrap().unwrap();
    assert_eq!(
        Some(glasshouse_batch::sha256_hex(&raw)),
        b.sha256,
        "the listed SHA-256 is the one of the bytes shown"
    );

    // Leaving an app out changes the bytes; putting it back gives the same bytes again.
    let before = b.sha256.clone().unwrap();
    uploads
        .apply(UploadsOp::DropApp {
            id,
            app: "Thunderbird".into(),
            dropped: true,
        })
        .unwrap();
    let dropped = review.overview().unwrap().batches[0].clone();
    assert_eq!(dropped.apps, vec!["xterm".to_owned()]);
    assert_eq!(dropped.events, 22);
    assert!(
        !review
            .show(id)
            .unwrap()
            .readable
            .unwrap()
            .contains("dear team")
    );
    uploads
        .apply(UploadsOp::DropApp {
            id,
            app: "thunderbird".into(),
            dropped: false,
        })
        .unwrap();
    assert_eq!(
        review.overview().unwrap().batches[0].sha256,
        Some(before.clone())
    );

    // A delete under the batch changes it before review; approving what was shown is refused.
    store.delete(Selection::App("thunderbird".into())).unwrap();
    let after = review.overview().unwrap().batches[0].clone();
    assert_eq!(after.events, 22);
    assert_ne!(after.sha256.as_deref(), Some(before.as_str()));
    let err = uploads
        .apply(UploadsOp::Approve {
            id,
            sha256: Some(before),
        })
        .unwrap_err();
    assert!(matches!(err, UploadError::Changed { .. }), "{err}");

    // Approving what is shown now keeps exactly those bytes until they are sent.
    let now_sha = after.sha256.unwrap();
    uploads
        .apply(UploadsOp::Approve {
            id,
            sha256: Some(now_sha.clone()),
        })
        .unwrap();
    let kept = review.raw(id).unwrap().unwrap();
    assert_eq!(glasshouse_batch::sha256_hex(&kept), now_sha);
    let b = &review.overview().unwrap().batches[0];
    assert_eq!(b.state, BatchState::Approved);
    assert_eq!(
        b.scrubbed.get("email"),
        Some(&1),
        "the summary outlives the build"
    );

    // A later delete under it sends it back to review, without its copy of the bytes.
    store
        .delete(Selection::Range {
            since: since + MICROS_PER_MINUTE,
            until: since + 2 * MICROS_PER_MINUTE,
        })
        .unwrap();
    let b = &review.overview().unwrap().batches[0];
    assert_eq!(b.state, BatchState::Pending);
    assert_eq!(b.events, 0);
    assert!(store.reader().unwrap().batch_payload(id).unwrap().is_none());
    // An empty batch cannot be approved; it can be rejected.
    assert!(
        uploads
            .apply(UploadsOp::Approve { id, sha256: None })
            .is_err()
    );
    uploads.apply(UploadsOp::Reject { id }).unwrap();
    assert_eq!(
        review.overview().unwrap().batches[0].state,
        BatchState::Rejected
    );
}

#[test]
fn nothing_is_sealed_before_taking_part_or_from_before_it() {
    let (_dir, paths, store, uploads, since) = setup();
    let w = window("xterm", "t");
    // Typed before taking part: never in a batch.
    store.append(typed(&w, since - 5 * MICROS_PER_MINUTE, "before"));
    store.flush().unwrap();
    let done = uploads.apply(UploadsOp::Seal).unwrap();
    assert!(done.changed.is_empty(), "{}", done.message);

    let mut device = Device::load(&paths).unwrap().unwrap();
    device.participating = false;
    device.participating_since = None;
    device.save(&paths).unwrap();
    store.append(typed(&w, since + MICROS_PER_MINUTE, "after"));
    store.flush().unwrap();
    let err = uploads.apply(UploadsOp::Seal).unwrap_err();
    assert!(matches!(err, UploadError::NotParticipating), "{err}");
    assert!(
        uploads
            .seal_due(now_micros() + 86_400_000_000)
            .unwrap()
            .is_empty()
    );
}
