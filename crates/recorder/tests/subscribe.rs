//! Subscribing over the control socket (what the dashboard process does): pushes of the feed,
//! the counters, the state and deletes; `show` bringing a subscribed window forward; `closing` at
//! shutdown; and a subscriber that stops reading never holding up the recorder.

mod common;
use common::start;

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use glasshouse_capture::{CaptureMsg, SupervisorEvent};
use glasshouse_core::keys::Key;
use glasshouse_core::model::{Input, RawEvent, Window, now_micros};
use glasshouse_core::paths::Paths;
use glasshouse_recorder::feed::FeedItem;
use glasshouse_recorder::protocol::DeleteWhat;
use glasshouse_recorder::{Push, Recorder, Request, Response, State, control};

fn type_into(r: &Recorder, app: &str, text: &str) {
    let tx = r.capture_sender();
    let window = Window {
        app: app.into(),
        class: String::new(),
        title: format!("{app} window"),
    };
    tx.send(SupervisorEvent::Msg(CaptureMsg::Focus {
        ts: now_micros(),
        window,
    }))
    .unwrap();
    for c in text.chars() {
        let input = Input::KeyDown {
            key: Key::KeyA,
            text: Some(c.to_string()),
        };
        tx.send(SupervisorEvent::Msg(CaptureMsg::Input(RawEvent {
            ts: now_micros(),
            input,
        })))
        .unwrap();
    }
}

/// The pushes of a subscription, read on a thread of their own.
fn follow(paths: &Paths, window: bool) -> mpsc::Receiver<Option<Push>> {
    let pushes = control::subscribe(paths, window).unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for p in pushes {
            if tx.send(Some(p.unwrap())).is_err() {
                return;
            }
        }
        let _ = tx.send(None);
    });
    rx
}

/// Waits for a push that `f` picks, skipping others.
fn wait_push<T>(
    rx: &mpsc::Receiver<Option<Push>>,
    what: &str,
    within: Duration,
    f: impl Fn(&Push) -> Option<T>,
) -> T {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(Some(p)) => {
                if let Some(v) = f(&p) {
                    return v;
                }
            }
            Ok(None) => panic!("the stream ended while waiting for {what}"),
            Err(_) => panic!("no {what} within {within:?}"),
        }
    }
}

fn feed_text(items: &[FeedItem]) -> String {
    items
        .iter()
        .filter_map(|i| match i {
            FeedItem::Text { text, .. } => Some(text.as_str()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_subscriber_is_pushed_the_feed_counters_state_and_deletes() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path());
    let paths = r.paths().clone();
    let rx = follow(&paths, false);

    type_into(&r, "editor", "pushcanary");
    let typed_at = Instant::now();
    let feed = wait_push(
        &rx,
        "the feed with the typing",
        Duration::from_secs(3),
        |p| match p {
            Push::Feed(items) if feed_text(items).contains("pushcanary") => Some(items.clone()),
            _ => None,
        },
    );
    let keys = wait_push(
        &rx,
        "counters with the keys",
        Duration::from_secs(3),
        |p| match p {
            Push::Counters(c) if c.counts.keys >= 10 => Some(c.counts.keys),
            _ => None,
        },
    );
    assert_eq!(keys, 10);
    assert!(
        typed_at.elapsed() < Duration::from_secs(2),
        "pushed after {:?}",
        typed_at.elapsed()
    );
    // The feed a dashboard fetches when it opens is the one that is pushed.
    match control::request(&paths, &Request::Feed).unwrap() {
        Response::Feed { items } => assert_eq!(items, feed),
        other => panic!("{other:?}"),
    }

    control::request(&paths, &Request::Pause { until: None }).unwrap();
    wait_push(
        &rx,
        "the paused state",
        Duration::from_secs(3),
        |p| match p {
            Push::Status(s) if s.state == State::Paused => Some(()),
            _ => None,
        },
    );
    control::request(&paths, &Request::Resume).unwrap();

    let since = now_micros() - 60_000_000;
    control::request(
        &paths,
        &Request::Delete {
            what: DeleteWhat::Range {
                since,
                until: now_micros(),
            },
        },
    )
    .unwrap();
    wait_push(&rx, "data-changed", Duration::from_secs(3), |p| {
        matches!(p, Push::DataChanged).then_some(())
    });
    wait_push(
        &rx,
        "the feed without the deleted text",
        Duration::from_secs(3),
        |p| match p {
            Push::Feed(items) if !feed_text(items).contains("pushcanary") => Some(()),
            _ => None,
        },
    );

    // Shutdown: `closing`, then the end of the stream.
    r.shutdown().unwrap();
    wait_push(&rx, "closing", Duration::from_secs(3), |p| {
        matches!(p, Push::Closing).then_some(())
    });
    assert!(matches!(rx.recv_timeout(Duration::from_secs(3)), Ok(None)));
}

#[test]
fn show_brings_a_subscribed_window_forward_even_from_the_headless_recorder() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path());
    let paths = r.paths().clone();
    // No window: the headless recorder says it opens none.
    let err = control::request(&paths, &Request::Show).unwrap_err();
    assert!(err.to_string().contains("headless"), "{err}");
    let _listener = follow(&paths, false);
    assert!(control::request(&paths, &Request::Show).is_err());
    // A window that closed a moment ago does not count.
    drop(control::subscribe(&paths, true).unwrap());
    assert!(control::request(&paths, &Request::Show).is_err());
    // A dashboard window is subscribed: it is told to come forward.
    let rx = follow(&paths, true);
    assert!(matches!(
        control::request(&paths, &Request::Show),
        Ok(Response::Ok)
    ));
    wait_push(&rx, "focus", Duration::from_secs(3), |p| {
        matches!(p, Push::Focus).then_some(())
    });
    r.shutdown().unwrap();
}

#[test]
fn a_subscriber_that_stops_reading_never_holds_up_the_recorder() {
    let dir = tempfile::tempdir().unwrap();
    let r = start(dir.path());
    let paths = r.paths().clone();
    // A subscriber that never reads what it is sent.
    let socket = control::socket_path(&paths);
    let mut stuck = UnixStream::connect(&socket).unwrap();
    stuck
        .write_all(b"{\"v\":1,\"cmd\":\"subscribe\"}\n")
        .unwrap();
    // One that is gone before anything is pushed.
    drop(control::subscribe(&paths, true).unwrap());
    let rx = follow(&paths, false);

    // Input for a while, the feed changing every time: the stuck subscriber's queue fills.
    let started = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    while started.elapsed() < Duration::from_secs(4) {
        type_into(&r, &format!("app{}", n % 7), &"x".repeat(40));
        n += 1;
        let asked = Instant::now();
        match control::request(&paths, &Request::Status).unwrap() {
            Response::Status(_) => {}
            other => panic!("{other:?}"),
        }
        slowest = slowest.max(asked.elapsed());
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        slowest < Duration::from_millis(500),
        "a request took {slowest:?} with a stuck subscriber"
    );
    // The reading subscriber was kept up to date all along.
    let keys = wait_push(
        &rx,
        "the latest counters",
        Duration::from_secs(3),
        |p| match p {
            Push::Counters(c) if c.counts.keys >= 40 * n => Some(c.counts.keys),
            _ => None,
        },
    );
    assert_eq!(keys, 40 * n);
    // The window that went away does not count as a dashboard to bring forward.
    assert!(control::request(&paths, &Request::Show).is_err());

    // Shutdown is not held up by the stuck subscriber either.
    let stopping = Instant::now();
    r.shutdown().unwrap();
    assert!(
        stopping.elapsed() < Duration::from_secs(5),
        "shutdown took {:?}",
        stopping.elapsed()
    );
    // What the stuck one was sent starts with its `ok`; it got no more than its queue and
    // the socket's buffer could hold, and then its stream ended.
    stuck
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut input = BufReader::new(stuck);
    let mut first = String::new();
    input.read_line(&mut first).unwrap();
    assert!(first.contains("\"ok\""), "{first}");
    let mut rest = Vec::new();
    std::io::Read::read_to_end(&mut input, &mut rest).unwrap();
}
