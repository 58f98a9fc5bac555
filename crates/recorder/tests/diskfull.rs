//! The recorder on a full disk (a 2 MB tmpfs filled up by a file): its state becomes "disk
//! full" with the reason, typed input waits in memory, and once the file is removed the state
//! is "recording" again by itself and every key typed meanwhile is stored. Needs root (to mount
//! tmpfs); skipped with a message otherwise.

mod common;

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use glasshouse_capture::{CaptureMsg, SupervisorEvent};
use glasshouse_core::keys::Key;
use glasshouse_core::model::{Input, RawEvent, now_micros};
use glasshouse_recorder::{Recorder, Request, Response, State, Status};
use glasshouse_store::tmpfs::Tmpfs;
use glasshouse_store::{ActivityKind, Reader};

fn status(r: &Recorder) -> Status {
    match r.request(Request::Status) {
        Response::Status(s) => *s,
        other => panic!("{other:?}"),
    }
}

fn type_text(r: &Recorder, text: &str) {
    for c in text.chars() {
        r.capture_sender()
            .send(SupervisorEvent::Msg(CaptureMsg::Input(RawEvent {
                ts: now_micros(),
                input: Input::KeyDown {
                    key: Key::KeyA,
                    text: Some(c.to_string()),
                },
            })))
            .unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn wait_for(r: &Recorder, state: State, within: Duration) -> Duration {
    let start = Instant::now();
    loop {
        let s = status(r);
        if s.state == state {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "state never became {state:?}: {s:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn fill(path: &Path) {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0x5au8; 16 * 1024];
    while let Ok(n) = f.write(&chunk) {
        if n == 0 {
            break;
        }
    }
}

#[test]
fn the_recorder_says_disk_full_and_resumes_by_itself() {
    let dir = tempfile::tempdir().unwrap();
    let Some(_mnt) = Tmpfs::mount(dir.path(), "2m") else {
        return;
    };
    let r = common::start(dir.path());
    r.capture_sender()
        .send(SupervisorEvent::Status(
            glasshouse_capture::CaptureStatus::Running,
        ))
        .unwrap();
    type_text(&r, "before ");
    assert!(matches!(r.request(Request::Flush), Response::Ok));
    assert_eq!(status(&r).state, State::Recording);

    let filler = dir.path().join("filler");
    fill(&filler);
    let during = "typed while the disk is full ".repeat(4);
    type_text(&r, &during);
    wait_for(&r, State::DiskFull, Duration::from_secs(5));
    let s = status(&r);
    assert!(
        s.store_error.as_deref().unwrap_or("").contains("full"),
        "{s:?}"
    );
    assert_eq!(s.state.name(), "disk full");
    let json = serde_json::to_value(&s).unwrap();
    assert_eq!(json["state"], "disk_full", "{json}");
    type_text(&r, "still full ");

    std::fs::remove_file(&filler).unwrap();
    let resumed = wait_for(&r, State::Recording, Duration::from_secs(5));
    eprintln!("recorder: time from disk space back to state \"recording\": {resumed:?}");
    assert!(resumed < Duration::from_millis(1_500), "{resumed:?}");
    assert_eq!(status(&r).store_error, None);
    type_text(&r, "after");
    assert!(matches!(r.request(Request::Flush), Response::Ok));

    let paths = r.paths().clone();
    r.shutdown().unwrap();
    let text = common::stored_text(&paths);
    assert_eq!(
        text,
        format!("before {during}still full after"),
        "nothing lost"
    );
    let log = Reader::open(&paths.database(), &common::key())
        .unwrap()
        .activity(20)
        .unwrap();
    assert!(
        log.iter().any(|e| e.kind == ActivityKind::Storage),
        "the episode is in the activity log: {log:?}"
    );
    let check = glasshouse_store::repair::check(&paths.database(), &common::key()).unwrap();
    assert!(check.is_ok(), "{check:?}");
}
