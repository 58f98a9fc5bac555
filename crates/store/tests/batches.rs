//! Upload batches in the store: their states, and that a delete reaches the approved copy too.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use glasshouse_core::keys::Key;
use glasshouse_core::model::{MICROS_PER_SEC, Micros, Stored, StoredEvent, Window};
use glasshouse_store::{ActivityKind, BatchOp, BatchState, DbKey, Selection, Store, StoreError};

const S: Micros = MICROS_PER_SEC;
const H: Micros = 3600 * S;
/// 2026-03-02 09:00:00 UTC.
const T0: Micros = 1_772_442_000 * S;

fn open(dir: &tempfile::TempDir) -> (Store, PathBuf) {
    let path = dir.path().join("glasshouse.db");
    (Store::open(&path, &key()).unwrap(), path)
}

fn key() -> DbKey {
    DbKey::from_bytes([7; 32])
}

/// Every page of the database file and of its WAL, free and old ones included, decrypted.
fn raw_bytes(path: &Path) -> Vec<u8> {
    glasshouse_store::raw::decrypted_pages(path, &key()).unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn approve(store: &Store, id: i64, payload: &[u8]) -> Result<(), StoreError> {
    store
        .batch(BatchOp::Approve {
            id,
            sha256: "ab".repeat(32),
            payload: payload.to_vec(),
            events: 3,
            summary: "{}".into(),
            detail: "approved".into(),
        })
        .map(drop)
}

#[test]
fn batches_move_through_their_states_and_log_each_step() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    let sealed = store
        .batch(BatchOp::Seal(vec![(T0, T0 + H), (T0 + H, T0 + 2 * H)]))
        .unwrap();
    assert_eq!(sealed.changed.len(), 2);
    // Sealing the same window again adds nothing.
    assert!(
        store
            .batch(BatchOp::Seal(vec![(T0, T0 + H)]))
            .unwrap()
            .changed
            .is_empty()
    );
    let reader = store.reader().unwrap();
    let pending = reader.batches(&[BatchState::Pending]).unwrap();
    assert_eq!(pending.len(), 2);
    assert_eq!(pending[0].window_start, T0 + H, "newest window first");
    assert_eq!(reader.sealed_until().unwrap(), Some(T0 + 2 * H));
    let (first, second) = (pending[1].id, pending[0].id);

    store
        .batch(BatchOp::SetDroppedApps {
            id: first,
            apps: vec!["slack".into(), "a \"quoted\" app".into()],
        })
        .unwrap();
    assert_eq!(
        reader.batch(first).unwrap().unwrap().dropped_apps,
        vec!["slack".to_owned(), "a \"quoted\" app".to_owned()]
    );

    approve(&store, first, b"exact bytes").unwrap();
    let b = reader.batch(first).unwrap().unwrap();
    assert_eq!(b.state, BatchState::Approved);
    assert_eq!(b.bytes, Some(11));
    assert_eq!(
        reader.batch_payload(first).unwrap().as_deref(),
        Some(&b"exact bytes"[..])
    );
    // Approving twice, or dropping apps after approval, is refused with a reason.
    assert!(matches!(
        approve(&store, first, b"other"),
        Err(StoreError::BatchState { .. })
    ));
    assert!(
        store
            .batch(BatchOp::SetDroppedApps {
                id: first,
                apps: vec![]
            })
            .is_err()
    );
    // Withdrawing is only for uploaded batches.
    assert!(
        store
            .batch(BatchOp::RequestWithdraw {
                id: first,
                detail: String::new()
            })
            .is_err()
    );

    store
        .batch(BatchOp::Failed {
            id: first,
            error: "collector unreachable".into(),
            next_attempt: T0,
        })
        .unwrap();
    assert_eq!(reader.batch(first).unwrap().unwrap().attempts, 1);
    store
        .batch(BatchOp::Uploaded {
            id: first,
            receipt: r#"{"sha256":"ab"}"#.into(),
            detail: "uploaded".into(),
        })
        .unwrap();
    let b = reader.batch(first).unwrap().unwrap();
    assert_eq!(b.state, BatchState::Uploaded);
    assert_eq!(b.attempts, 0);
    assert_eq!(b.receipt.as_deref(), Some(r#"{"sha256":"ab"}"#));
    assert_eq!(
        reader.batch_payload(first).unwrap(),
        None,
        "the copy goes once sent"
    );

    store
        .batch(BatchOp::RequestWithdraw {
            id: first,
            detail: "withdraw".into(),
        })
        .unwrap();
    assert!(reader.batch(first).unwrap().unwrap().withdraw_requested);
    store
        .batch(BatchOp::Withdrawn {
            id: first,
            receipt: "{}".into(),
            detail: "withdrawn".into(),
        })
        .unwrap();
    assert_eq!(
        reader.batch(first).unwrap().unwrap().state,
        BatchState::Withdrawn
    );

    store
        .batch(BatchOp::Reject {
            id: second,
            detail: "rejected".into(),
        })
        .unwrap();
    assert_eq!(
        reader.batch(second).unwrap().unwrap().state,
        BatchState::Rejected
    );
    let logged = reader
        .activity(100)
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == ActivityKind::Upload)
        .count();
    assert_eq!(
        logged, 5,
        "approve, upload, withdraw request, withdrawal, reject"
    );
}

#[test]
fn a_delete_sends_an_approved_batch_back_to_review_and_wipes_its_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let (store, path) = open(&dir);
    let w = Arc::new(Window {
        app: "xterm".into(),
        class: String::new(),
        title: "t".into(),
    });
    store.append(vec![(
        w,
        StoredEvent {
            ts: T0 + 60 * S,
            event: Stored::KeyDown {
                key: Key::KeyA,
                text: Some("a".into()),
            },
        },
    )]);
    store.flush().unwrap();
    let ids = store
        .batch(BatchOp::Seal(vec![(T0, T0 + H), (T0 + H, T0 + 2 * H)]))
        .unwrap()
        .changed;
    let canary = b"BATCH-CANARY-7f3a91";
    approve(&store, ids[0], canary).unwrap();
    approve(&store, ids[1], b"the later hour").unwrap();
    assert!(contains(&raw_bytes(&path), canary));

    let report = store
        .delete(Selection::Range {
            since: T0,
            until: T0 + 2 * 60 * S,
        })
        .unwrap();
    assert!(report.wal_cleared);
    let reader = store.reader().unwrap();
    let b = reader.batch(ids[0]).unwrap().unwrap();
    assert_eq!(b.state, BatchState::Pending);
    assert_eq!((b.sha256, b.bytes), (None, None));
    assert_eq!(reader.batch_payload(ids[0]).unwrap(), None);
    assert_eq!(
        reader.batch(ids[1]).unwrap().unwrap().state,
        BatchState::Approved,
        "a batch the delete did not touch stays approved"
    );
    drop(reader);
    assert!(
        !contains(&raw_bytes(&path), canary),
        "the approved copy is gone from the file and its WAL"
    );
}

#[test]
fn leaving_discards_every_batch_not_yet_sent() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(&dir);
    let ids = store
        .batch(BatchOp::Seal(vec![
            (T0, T0 + H),
            (T0 + H, T0 + 2 * H),
            (T0 + 2 * H, T0 + 3 * H),
        ]))
        .unwrap()
        .changed;
    approve(&store, ids[0], b"a").unwrap();
    approve(&store, ids[1], b"b").unwrap();
    store
        .batch(BatchOp::Uploaded {
            id: ids[1],
            receipt: "{}".into(),
            detail: String::new(),
        })
        .unwrap();
    let gone = store
        .batch(BatchOp::DiscardUnsent {
            detail: "stopped taking part".into(),
        })
        .unwrap()
        .changed;
    assert_eq!(gone.len(), 2);
    let left = store.reader().unwrap().batches(&[]).unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].state, BatchState::Uploaded);
}
