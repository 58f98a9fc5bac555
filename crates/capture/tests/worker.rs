//! The worker binary without an X server: every way of having no usable display ends in one
//! `Error` frame with a sentence and exit code 2. Needs no display, runs everywhere on Linux.
#![cfg(target_os = "linux")]

use std::process::{Command, Stdio};

use glasshouse_capture::wire::{Frame, FrameReader};

/// Runs the worker with `env` (and without DISPLAY / WAYLAND_DISPLAY otherwise); returns its
/// frames and exit code.
fn worker(env: &[(&str, &str)]) -> (Vec<Frame>, Option<i32>) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_capture-worker-standalone"));
    cmd.env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stderr(Stdio::null());
    let out = cmd.output().unwrap();
    let mut reader = FrameReader::new(&out.stdout[..]);
    let mut frames = Vec::new();
    while let Some(f) = reader.next_frame().unwrap() {
        frames.push(f);
    }
    (frames, out.status.code())
}

fn check(env: &[(&str, &str)], reason: &str) {
    assert_eq!(
        worker(env),
        (vec![Frame::Error(reason.into())], Some(2)),
        "{env:?}"
    );
}

#[test]
fn no_display_wayland_and_unreachable_display_are_reported_as_sentences() {
    check(&[], "no X display: DISPLAY is not set");
    check(&[("DISPLAY", "")], "no X display: DISPLAY is not set");
    check(
        &[("WAYLAND_DISPLAY", "wayland-0")],
        "capture needs an X11 session (or XWayland) for now: this is a Wayland session with no X server",
    );
    // A display number nobody uses (abstract and file sockets both absent).
    let (frames, code) = worker(&[("DISPLAY", ":4093")]);
    assert_eq!(code, Some(2));
    let [Frame::Error(reason)] = &frames[..] else {
        panic!("{frames:?}")
    };
    assert!(
        reason.starts_with("cannot connect to the X display :4093 ("),
        "{reason}"
    );
}

/// When the app is killed outright (no `stop`, no `Drop`), the kernel kills the worker. The test
/// runs itself as the "app": a child test process that supervises a fake worker, which never
/// reads its stdin, so only the parent-death signal can end it.
#[test]
fn the_worker_dies_with_a_killed_app() {
    use glasshouse_capture::{CaptureStatus, Supervisor, SupervisorConfig, SupervisorEvent};
    use std::time::{Duration, Instant};

    const ROLE: &str = "GLASSHOUSE_TEST_ROLE_APP";
    if let Some(pidfile) = std::env::var_os(ROLE) {
        // The "app": supervise, say when the worker runs, then wait to be killed. The worker
        // prints a Started frame of wire version 2.
        let script = format!(
            r"echo $$ > '{}'; printf '\002\000\000\000\001\002'; exec sleep 600",
            std::path::Path::new(&pidfile).display()
        );
        let mut cfg = SupervisorConfig::new("/bin/sh", ["-c", script.as_str()]);
        cfg.min_backoff = Duration::from_secs(60);
        let (tx, rx) = std::sync::mpsc::channel();
        let _sup = Supervisor::spawn(cfg, tx);
        let ev = rx.recv_timeout(Duration::from_secs(10)).unwrap();
        assert_eq!(ev, SupervisorEvent::Status(CaptureStatus::Running));
        println!("WORKER RUNNING");
        std::thread::sleep(Duration::from_secs(600));
        return;
    }

    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("worker.pid");
    let mut app = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "the_worker_dies_with_a_killed_app",
            "--nocapture",
        ])
        .env(ROLE, &pidfile)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(app.stdout.take().unwrap());
    let mut line = String::new();
    while !line.contains("WORKER RUNNING") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut out, &mut line).unwrap() > 0,
            "the app ended before its worker ran"
        );
    }
    let pid = std::fs::read_to_string(&pidfile).unwrap().trim().to_owned();
    let stat = format!("/proc/{pid}/stat");
    assert!(std::path::Path::new(&stat).exists());

    app.kill().unwrap(); // SIGKILL: no destructor runs in the app
    app.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        // Gone, or a zombie waiting for init to reap it: either way it no longer runs.
        let state = std::fs::read_to_string(&stat).unwrap_or_default();
        let dead = state.is_empty()
            || state
                .rsplit(") ")
                .next()
                .is_some_and(|s| s.starts_with('Z'));
        if dead {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "worker {pid} outlived the app: {state}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}
