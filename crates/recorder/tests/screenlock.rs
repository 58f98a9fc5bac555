//! The recorder with a fake capture source reporting the screen lock: nothing typed while the
//! screen is locked is stored (even when it arrives after the unlock), recording resumes by itself,
//! the person's own pause outlives the unlock, and the pauses and the activity log say why.

mod common;
use common::start;

use glasshouse_capture::{CaptureMsg, CaptureStatus, SupervisorEvent};
use glasshouse_core::keys::Key;
use glasshouse_core::model::{Input, MICROS_PER_SEC, Micros, RawEvent, Window, now_micros};
use glasshouse_recorder::{Recorder, Request, Response, State, Status};
use glasshouse_store::{ActivityKind, PauseReason, Reader};

const S: Micros = MICROS_PER_SEC;

fn status(r: &Recorder) -> Status {
    match r.request(Request::Status) {
        Response::Status(s) => *s,
        other => panic!("{other:?}"),
    }
}

/// A recorder whose (fake) capture runs.
fn running(dir: &std::path::Path) -> Recorder {
    let r = start(dir);
    r.capture_sender()
        .send(SupervisorEvent::Status(CaptureStatus::Running))
        .unwrap();
    r
}

fn send(r: &Recorder, msg: CaptureMsg) {
    r.capture_sender().send(SupervisorEvent::Msg(msg)).unwrap();
}

fn key(r: &Recorder, ts: Micros, c: char) {
    let input = Input::KeyDown {
        key: Key::KeyA,
        text: Some(c.to_string()),
    };
    send(r, CaptureMsg::Input(RawEvent { ts, input }));
}

fn lock(r: &Recorder, ts: Micros, locked: bool) {
    send(r, CaptureMsg::ScreenLock { ts, locked });
}

fn reader(r: &Recorder) -> Reader {
    Reader::open(&r.paths().database(), &common::key()).unwrap()
}

/// The typed text stored so far, after asking the recorder to store what it holds.
fn typed(r: &Recorder) -> String {
    assert!(matches!(r.request(Request::Flush), Response::Ok));
    common::stored_text(r.paths())
}

#[test]
fn a_locked_screen_pauses_and_the_unlock_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let r = running(dir.path());
    send(
        &r,
        CaptureMsg::Focus {
            ts: now_micros() - 60 * S,
            window: Window {
                app: "xterm".into(),
                class: "XTerm".into(),
                title: "notes".into(),
            },
        },
    );
    let t0 = now_micros() - 30 * S;
    key(&r, t0, 'a');
    lock(&r, t0 + S, true);
    // Captured before the lock but delivered after it: stored. Typed during the lock: not.
    key(&r, t0 + S - 1, 'b');
    key(&r, t0 + 2 * S, 'x');
    let s = status(&r);
    assert_eq!(s.state, State::Paused);
    assert_eq!(s.pause_reason, Some(PauseReason::ScreenLocked));
    assert_eq!(s.paused_since, None, "no pause of the person's own");
    lock(&r, t0 + 3 * S, false);
    // In flight from inside the lock, arriving after the unlock.
    key(&r, t0 + 3 * S - 1, 'y');
    key(&r, t0 + 4 * S, 'c');
    let s = status(&r);
    assert_eq!(s.state, State::Recording);
    assert_eq!(s.pause_reason, None);
    assert_eq!(typed(&r), "abc");

    let pauses = reader(&r).pauses(Micros::MIN, Micros::MAX).unwrap();
    assert_eq!(pauses.len(), 1);
    assert_eq!(
        (pauses[0].since, pauses[0].until, pauses[0].reason),
        (t0 + S, Some(t0 + 3 * S), PauseReason::ScreenLocked)
    );
    let log = reader(&r).activity(10).unwrap();
    let lines: Vec<(ActivityKind, &str)> =
        log.iter().map(|e| (e.kind, e.detail.as_str())).collect();
    assert!(
        lines.contains(&(
            ActivityKind::Pause,
            "screen locked: paused until it is unlocked"
        )),
        "{lines:?}"
    );
    assert!(
        lines.contains(&(ActivityKind::Resume, "screen unlocked: recording resumed")),
        "{lines:?}"
    );
    r.shutdown().unwrap();
}

#[test]
fn the_persons_pause_outlives_the_unlock_and_a_restart_closes_a_stale_lock() {
    let dir = tempfile::tempdir().unwrap();
    let r = running(dir.path());
    let t0 = now_micros() - 30 * S;
    // Paused by the person during the lock.
    lock(&r, t0, true);
    let s = match r.request(Request::Pause { until: None }) {
        Response::Status(s) => *s,
        other => panic!("{other:?}"),
    };
    assert_eq!(s.pause_reason, Some(PauseReason::ScreenLocked));
    assert!(s.paused_since.is_some(), "the person's pause is shown too");
    lock(&r, t0 + 2 * S, false);
    key(&r, now_micros(), 'x');
    let s = status(&r);
    assert_eq!(
        s.state,
        State::Paused,
        "the unlock ended the person's pause"
    );
    assert_eq!(s.pause_reason, Some(PauseReason::User));
    let log = reader(&r).activity(1).unwrap();
    assert_eq!(
        log[0].detail,
        "screen unlocked: still paused until you resume"
    );
    r.request(Request::Resume);
    key(&r, now_micros(), 'c');
    assert_eq!(typed(&r), "c");

    // Locked when the recorder stops (or dies): the next run closes that lock at its start and
    // does not stay paused because of it; capture reports the lock again if it still holds.
    lock(&r, now_micros(), true);
    assert_eq!(status(&r).state, State::Paused);
    r.shutdown().unwrap();
    let r = running(dir.path());
    assert_eq!(status(&r).state, State::Recording);
    let pauses = reader(&r).pauses(Micros::MIN, Micros::MAX).unwrap();
    assert!(pauses.iter().all(|p| p.until.is_some()), "{pauses:?}");
    r.shutdown().unwrap();
}
