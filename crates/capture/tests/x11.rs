//! Capture against a real X server: Xvfb + openbox + xterm, input synthesised with xdotool, the
//! worker binary run by the supervisor. Then the X server dies and comes back on the same display
//! number (without a window manager this time) and capture must recover by itself.
//!
//! Needs `Xvfb openbox xterm xdotool`. Skipped (with a note) when those are missing; run alone with
//! `cargo test -p glasshouse-capture --test x11 -- --nocapture`.
#![cfg(target_os = "linux")]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use glasshouse_capture::{
    CaptureMsg, CaptureStatus, Supervisor, SupervisorConfig, SupervisorEvent,
};
use glasshouse_core::model::{Button, Input, RawEvent};

const WAIT: Duration = Duration::from_secs(15);

/// Child processes of the test, killed (TERM, then waited) when dropped.
struct Proc(Child);

impl Proc {
    fn terminate(&mut self) {
        // SIGTERM lets Xvfb remove its lock file, so the display number can be reused at once.
        // SAFETY: kill(2) on the pid of a child we have not reaped yet.
        unsafe {
            libc::kill(self.0.id() as libc::pid_t, libc::SIGTERM);
        }
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            self.terminate();
        }
    }
}

/// Starts Xvfb on `display` (or on a free display number it picks) and returns the number.
fn xvfb(display: Option<u32>) -> (Proc, u32) {
    xvfb_with(display, &["-screen", "0", "1024x768x24"])
}

/// Like [`xvfb`], with `extra` arguments instead of the screen size.
fn xvfb_with(display: Option<u32>, extra: &[&str]) -> (Proc, u32) {
    let mut cmd = Command::new("Xvfb");
    if let Some(d) = display {
        cmd.arg(format!(":{d}"));
    }
    let mut child = cmd
        .args(["-displayfd", "1", "-nolisten", "tcp"])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("cannot run Xvfb (is it installed?)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let n = line
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("Xvfb printed no display number: {line:?}"));
    (Proc(child), n)
}

fn on(display: u32, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("DISPLAY", format!(":{display}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn spawn(display: u32, program: &str, args: &[&str]) -> Proc {
    Proc(
        on(display, program, args)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {program}: {e}")),
    )
}

fn xdotool(display: u32, args: &[&str]) -> String {
    let out = on(display, "xdotool", args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("cannot run xdotool");
    assert!(
        out.status.success(),
        "xdotool {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Waits until a window manager announces itself (openbox takes a moment to start).
fn wait_for_wm(display: u32) {
    let deadline = Instant::now() + WAIT;
    loop {
        let out = on(display, "xprop", &["-root", "_NET_SUPPORTING_WM_CHECK"])
            .stdout(Stdio::piped())
            .output()
            .expect("cannot run xprop");
        if String::from_utf8_lossy(&out.stdout).contains("window id") {
            return;
        }
        assert!(Instant::now() < deadline, "openbox did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn canary(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("canary-{tag}-{}-{nanos}", std::process::id())
}

/// Everything the supervisor reported, and a way to wait for something in it.
struct Seen {
    rx: Receiver<SupervisorEvent>,
    events: Vec<SupervisorEvent>,
}

impl Seen {
    fn wait_for(&mut self, what: &str, done: impl Fn(&[SupervisorEvent]) -> bool) {
        let deadline = Instant::now() + WAIT;
        while !done(&self.events) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(ev) => self.events.push(ev),
                Err(_) => panic!("timed out waiting for {what}; saw {:#?}", self.events),
            }
        }
    }

    /// Forget what was seen so far (the next phase starts from here).
    fn clear(&mut self) {
        self.events.clear();
    }
}

/// A server without RECORD: the worker says so in a sentence and exits with 2.
fn check_server_without_record() {
    let (_x, n) = xvfb_with(None, &["-extension", "RECORD"]);
    let out = Command::new(env!("CARGO_BIN_EXE_capture-worker-standalone"))
        .env("DISPLAY", format!(":{n}"))
        .stdin(Stdio::piped())
        .stderr(Stdio::null())
        .output()
        .unwrap();
    let mut reader = glasshouse_capture::wire::FrameReader::new(&out.stdout[..]);
    assert_eq!(
        reader.next_frame().unwrap(),
        Some(glasshouse_capture::wire::Frame::Error(format!(
            "the X server on :{n} has no RECORD extension, which capture needs"
        )))
    );
    assert_eq!(out.status.code(), Some(2));
}

fn typed(events: &[SupervisorEvent]) -> String {
    events
        .iter()
        .filter_map(|e| match e {
            SupervisorEvent::Msg(CaptureMsg::Input(RawEvent {
                input: Input::KeyDown { text: Some(t), .. },
                ..
            })) => Some(t.as_str()),
            _ => None,
        })
        .collect()
}

fn focused(events: &[SupervisorEvent], app: &str, title: &str) -> bool {
    events.iter().any(|e| {
        matches!(e, SupervisorEvent::Msg(CaptureMsg::Focus { window, .. })
            if window.app == app && window.title == title)
    })
}

fn input(events: &[SupervisorEvent], want: &Input) -> bool {
    events.iter().any(
        |e| matches!(e, SupervisorEvent::Msg(CaptureMsg::Input(RawEvent { input, .. })) if input == want),
    )
}

fn status(events: &[SupervisorEvent], running: bool) -> bool {
    events.iter().any(|e| match e {
        SupervisorEvent::Status(CaptureStatus::Running) => running,
        SupervisorEvent::Status(CaptureStatus::Unavailable { .. }) => !running,
        _ => false,
    })
}

/// Whether Xvfb and friends are here. Under `GLASSHOUSE_X_TESTS=1` (CI) their absence fails.
fn x_tools_present() -> bool {
    let have = std::process::Command::new("sh")
        .args([
            "-c",
            "command -v Xvfb && command -v openbox && command -v xterm && command -v xdotool",
        ])
        .stdout(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have {
        assert!(
            std::env::var_os("GLASSHOUSE_X_TESTS").is_none_or(|v| v != "1"),
            "GLASSHOUSE_X_TESTS=1 but Xvfb, openbox, xterm or xdotool is missing"
        );
        eprintln!(
            "skipped: Xvfb, openbox, xterm or xdotool is missing (scripts/install-deps.sh build test)"
        );
    }
    have
}

#[test]
fn captures_under_xvfb_and_survives_an_x_server_restart() {
    if !x_tools_present() {
        return;
    }
    let (mut x, n) = xvfb(None);
    let _wm = spawn(n, "openbox", &["--sm-disable"]);
    wait_for_wm(n);
    let title = canary("one");
    let _term = spawn(
        n,
        "xterm",
        &[
            "-T",
            &title,
            "-geometry",
            "80x24+0+0",
            "-e",
            "sh",
            "-c",
            "cat >/dev/null",
        ],
    );
    let win = xdotool(n, &["search", "--sync", "--name", &title]);

    let (tx, rx) = mpsc::channel();
    let cfg = SupervisorConfig {
        // `env` sets the worker's DISPLAY without touching this process's environment.
        program: "/usr/bin/env".into(),
        args: vec![
            format!("DISPLAY=:{n}").into(),
            env!("CARGO_BIN_EXE_capture-worker-standalone").into(),
        ],
        min_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(500),
    };
    let sup = Supervisor::spawn(cfg, tx);
    let mut seen = Seen {
        rx,
        events: Vec::new(),
    };
    seen.wait_for("Running", |e| status(e, true));

    // Activating after the worker started proves focus changes are followed, not just read once.
    xdotool(n, &["windowactivate", "--sync", &win]);
    seen.wait_for("focus on the xterm", |e| focused(e, "xterm", &title));
    xdotool(n, &["type", "--delay", "20", "hello"]);
    xdotool(n, &["mousemove", "--sync", "100", "120"]);
    xdotool(n, &["click", "1"]);
    xdotool(n, &["click", "4"]);
    xdotool(n, &["click", "5"]);
    let left = Input::ButtonDown {
        button: Button::Left,
        x: 100,
        y: 120,
    };
    let up = Input::Wheel { dx: 0, dy: 1 };
    let down = Input::Wheel { dx: 0, dy: -1 };
    seen.wait_for("hello, a click and two wheel steps", |e| {
        typed(e) == "hello" && input(e, &left) && input(e, &up) && input(e, &down)
    });
    let clicks = seen
        .events
        .iter()
        .filter(|e| {
            matches!(
                e,
                SupervisorEvent::Msg(CaptureMsg::Input(RawEvent {
                    input: Input::ButtonDown { .. } | Input::ButtonUp { .. },
                    ..
                }))
            )
        })
        .count();
    assert_eq!(clicks, 2, "wheel steps must not count as clicks");
    let ts: Vec<i64> =
        seen.events
            .iter()
            .filter_map(|e| match e {
                SupervisorEvent::Msg(CaptureMsg::Input(ev)) => Some(ev.ts),
                SupervisorEvent::Msg(CaptureMsg::Focus { ts, .. }) => Some(*ts),
                // Stamped on a thread of its own: in order with input by time, not by queue position.
                SupervisorEvent::Msg(CaptureMsg::ScreenLock { .. })
                | SupervisorEvent::Status(_) => None,
            })
            .collect();
    assert!(ts.is_sorted(), "timestamps out of order: {ts:?}");

    // A title change of the focused window is followed too (PropertyNotify on the window).
    let renamed = canary("renamed");
    xdotool(n, &["set_window", "--name", &renamed, &win]);
    seen.wait_for("the new title", |e| focused(e, "xterm", &renamed));

    // The X server dies: the supervisor says so, and keeps trying.
    x.terminate();
    seen.clear();
    seen.wait_for("Unavailable", |e| status(e, false));
    let reasons: Vec<&str> = seen
        .events
        .iter()
        .filter_map(|e| match e {
            SupervisorEvent::Status(CaptureStatus::Unavailable { reason }) => Some(reason.as_str()),
            _ => None,
        })
        .collect();
    eprintln!("unavailable because: {reasons:?}");

    // A new X server on the same display number (at once, before anyone else takes it), with
    // no window manager this time.
    seen.clear();
    let (_x2, n2) = xvfb(Some(n));
    assert_eq!(n2, n);
    seen.wait_for("Running again", |e| status(e, true));
    let title2 = canary("two");
    let _term2 = spawn(
        n,
        "xterm",
        &[
            "-T",
            &title2,
            "-geometry",
            "80x24+0+0",
            "-e",
            "sh",
            "-c",
            "cat >/dev/null",
        ],
    );
    xdotool(n, &["search", "--sync", "--name", &title2]);
    // Without a window manager focus follows the pointer.
    xdotool(n, &["mousemove", "--sync", "50", "50"]);
    xdotool(n, &["type", "--delay", "20", "again"]);
    seen.wait_for("again, typed into the second xterm", |e| {
        typed(e) == "again" && focused(e, "xterm", &title2)
    });
    // A deliberate stop: the worker flushes and leaves when its stdin closes (well before it
    // would be killed), and capture is not reported unavailable.
    let t = Instant::now();
    sup.stop();
    let took = t.elapsed();
    assert!(
        took < glasshouse_capture::supervisor::STOP_GRACE,
        "the worker did not leave when asked: stop took {took:?}"
    );
    let after: Vec<SupervisorEvent> = seen.rx.try_iter().collect();
    assert!(
        !status(&after, false),
        "a deliberate stop reported capture unavailable: {after:?}"
    );

    check_server_without_record();
}

/// The screen lock reports, `(locked)` in order.
fn locks(events: &[SupervisorEvent]) -> Vec<bool> {
    events
        .iter()
        .filter_map(|e| match e {
            SupervisorEvent::Msg(CaptureMsg::ScreenLock { locked, .. }) => Some(*locked),
            _ => None,
        })
        .collect()
}

/// The screen saver turning on locks; a real locker (i3lock, holding the keyboard) keeps it
/// locked after input turned the saver off; the locker's exit unlocks. A blank screen without a
/// locker ends at the first key.
#[test]
fn reports_the_screen_lock_until_the_locker_lets_go() {
    if !x_tools_present() {
        return;
    }
    for tool in ["xset", "i3lock"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !found {
            assert!(
                std::env::var_os("GLASSHOUSE_X_TESTS").is_none_or(|v| v != "1"),
                "GLASSHOUSE_X_TESTS=1 but {tool} is missing (scripts/install-deps.sh build test)"
            );
            eprintln!("skipped: {tool} is missing (scripts/install-deps.sh build test)");
            return;
        }
    }
    let (_x, n) = xvfb(None);
    let (tx, rx) = mpsc::channel();
    let cfg = SupervisorConfig {
        program: "/usr/bin/env".into(),
        args: vec![
            format!("DISPLAY=:{n}").into(),
            env!("CARGO_BIN_EXE_capture-worker-standalone").into(),
        ],
        min_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_millis(500),
    };
    let sup = Supervisor::spawn(cfg, tx);
    let mut seen = Seen {
        rx,
        events: Vec::new(),
    };
    seen.wait_for("the state at start", |e| locks(e) == [false]);

    let xset = |arg: &str| {
        let ok = on(n, "xset", &["s", arg])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "xset s {arg} failed");
    };
    // A blank screen, no locker: input turns it off, and with it the lock.
    xset("activate");
    seen.wait_for("locked", |e| locks(e) == [false, true]);
    xdotool(n, &["key", "shift"]);
    seen.wait_for("unlocked by a key", |e| locks(e) == [false, true, false]);

    // As xss-lock does: the saver comes on and a locker starts.
    xset("activate");
    seen.wait_for("locked again", |e| locks(e).len() == 4);
    let mut locker = spawn(n, "i3lock", &["-n"]);
    std::thread::sleep(Duration::from_millis(500));
    // Typing (the password) turns the saver off, but the locker still holds the keyboard.
    xdotool(n, &["type", "--delay", "20", "secret"]);
    seen.wait_for("the typed keys", |e| typed(e).ends_with("secret"));
    std::thread::sleep(Duration::from_millis(800));
    seen.wait_for("nothing more", |_| true);
    while let Ok(ev) = seen.rx.try_recv() {
        seen.events.push(ev);
    }
    assert_eq!(
        locks(&seen.events),
        [false, true, false, true],
        "the lock ended while the locker was still up"
    );
    // The locker leaves (the password was right): unlocked within a poll.
    locker.terminate();
    seen.wait_for("unlocked", |e| {
        locks(e) == [false, true, false, true, false]
    });
    sup.stop();
}
