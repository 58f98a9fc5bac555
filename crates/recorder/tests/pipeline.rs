//! The recorder's pipeline with a fake capture source: pauses (timed, across restarts, with input
//! in flight), deletes with input in flight, and the stored result read back from the store.

mod common;
use common::start;

use std::time::{Duration, Instant};

use glasshouse_capture::{CaptureMsg, SupervisorEvent};
use glasshouse_core::keys::Key;
use glasshouse_core::model::{Input, MICROS_PER_SEC, Micros, RawEvent, Window, now_micros};
use glasshouse_recorder::protocol::DeleteWhat;
use glasshouse_recorder::{Recorder, Request, Response, State, Status};
use glasshouse_store::Reader;

const S: Micros = MICROS_PER_SEC;

fn status(r: &Recorder) -> Status {
    match r.request(Request::Status) {
        Response::Status(s) => *s,
        other => panic!("{other:?}"),
    }
}

fn focus(r: &Recorder, app: &str) {
    let window = Window {
        app: app.into(),
        class: String::new(),
        title: format!("{app} window"),
    };
    r.capture_sender()
        .send(SupervisorEvent::Msg(CaptureMsg::Focus {
            ts: now_micros(),
            window,
        }))
        .unwrap();
}

fn key(r: &Recorder, ts: Micros, c: char) {
    let input = Input::KeyDown {
        key: Key::KeyA,
        text: Some(c.to_string()),
    };
    r.capture_sender()
        .send(SupervisorEvent::Msg(CaptureMsg::Input(RawEvent {
            ts,
            input,
        })))
        .unwrap();
}

/// The typed text stored so far, after asking the recorder to store what it holds.
fn typed(r: &Recorder) -> String {
    assert!(matches!(r.request(Request::Flush), Response::Ok));
    common::stored_text(r.paths())
}

fn wait_for_state(r: &Recorder, state: State, within: Duration) {
    let start = Instant::now();
    while status(r).state != state {
        assert!(start.elapsed() < within, "state never became {state:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn input_in_flight_when_a_pause_begins_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path());
    focus(&r, "editor");
    let before = now_micros();
    std::thread::sleep(Duration::from_millis(5));
    let Response::Status(s) = r.request(Request::Pause { until: None }) else {
        panic!()
    };
    assert_eq!(s.state, State::Paused);
    // Both arrive after the pause began; only the one captured before it is kept.
    key(&r, before, 'k');
    key(&r, now_micros(), 'x');
    assert!(matches!(r.request(Request::Resume), Response::Status(_)));
    key(&r, now_micros(), 'y');
    assert_eq!(typed(&r), "ky");
}

#[test]
fn a_timed_pause_ends_by_itself_and_is_logged() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path());
    let until = now_micros() + S;
    let Response::Status(s) = r.request(Request::Pause { until: Some(until) }) else {
        panic!()
    };
    assert_eq!((s.state, s.paused_until), (State::Paused, Some(until)));
    wait_for_state(&r, State::Unavailable, Duration::from_secs(5));
    let log = Reader::open(&r.paths().database(), &common::key())
        .unwrap()
        .activity(10)
        .unwrap();
    assert!(
        log.iter()
            .any(|e| e.detail.starts_with("timed pause ended")),
        "{log:?}"
    );
    // A pause that ends in the past is refused with a sentence.
    match r.request(Request::Pause {
        until: Some(now_micros() - S),
    }) {
        Response::Error { kind, message } => {
            assert_eq!(kind, "invalid");
            assert!(message.contains("future"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_pause_outlives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path());
    r.request(Request::Pause { until: None });
    r.shutdown().unwrap();
    let r = start(dir.path());
    assert_eq!(status(&r).state, State::Paused);
    focus(&r, "editor");
    key(&r, now_micros(), 'z');
    assert_eq!(typed(&r), "");
    r.request(Request::Resume);
    // Without capture the recorder says capture is off; it is no longer paused.
    assert_eq!(status(&r).state, State::Unavailable);
}

#[test]
fn input_still_on_its_way_when_a_range_is_deleted_is_not_stored_later() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path());
    focus(&r, "editor");
    let t0 = now_micros();
    key(&r, t0 - 2 * S, 'a');
    key(&r, t0 - S, 'b');
    assert_eq!(typed(&r), "ab");
    let what = DeleteWhat::Range {
        since: t0 - 10 * S,
        until: t0,
    };
    let Response::Deleted(report) = r.request(Request::Delete { what }) else {
        panic!()
    };
    assert_eq!(report.events, 2);
    // Captured inside the range before the delete, delivered after it.
    key(&r, t0 - 500_000, 'c');
    key(&r, t0 + 1000, 'd');
    assert_eq!(typed(&r), "d");
}

#[test]
fn everything_is_stored_on_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path());
    focus(&r, "editor");
    for (i, c) in "last words".chars().enumerate() {
        key(&r, now_micros() + i as i64, c);
    }
    let paths = r.paths().clone();
    r.shutdown().unwrap();
    assert_eq!(common::stored_text(&paths), "last words");
}
