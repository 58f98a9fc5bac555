//! The parent's side: runs the capture worker as a child process, forwards its frames in order,
//! reports when capture is (un)available, and restarts the worker with exponential backoff.
//!
//! **Invariant:** the worker never outlives the app. [`Supervisor::stop`] (and `Drop`) end it;
//! if the app dies without stopping, the kernel kills it (`PR_SET_PDEATHSIG`), and as a last
//! resort the worker exits when its stdin (a pipe held only by the supervisor) closes.
//!
//! **Only the app stops the worker.** It runs in a process group of its own and ignores SIGINT,
//! SIGHUP and SIGTERM, so Ctrl-C in the app's terminal (which signals the whole foreground
//! group) or a session manager's TERM reaches the app alone, which then stops capture
//! gracefully: [`Supervisor::stop`] closes the worker's stdin, the worker writes out the frames
//! it still buffers and exits, and the supervisor forwards everything up to end of file. A worker
//! that has not left after [`STOP_GRACE`] is killed. A deliberate stop never reports capture as
//! unavailable.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::wire::{Frame, FrameReader};
use crate::{CaptureError, CaptureMsg, CaptureStatus};

/// How long a stopped worker gets to flush its last frames and leave before it is killed.
pub const STOP_GRACE: Duration = Duration::from_millis(300);

/// What the supervisor reports, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum SupervisorEvent {
    Msg(CaptureMsg),
    Status(CaptureStatus),
}

/// How to run the worker and how patiently to restart it.
#[derive(Debug, Clone)]
pub struct SupervisorConfig {
    /// The worker program, e.g. `std::env::current_exe()`.
    pub program: PathBuf,
    /// Its arguments, e.g. `["capture-worker"]`.
    pub args: Vec<OsString>,
    /// The first restart delay; it doubles after each failure up to `max_backoff`, and drops back
    /// to `min_backoff` once a worker has run for at least `max_backoff`.
    pub min_backoff: Duration,
    pub max_backoff: Duration,
}

impl SupervisorConfig {
    /// A config with the default backoff (1 s doubling up to 30 s).
    pub fn new(
        program: impl Into<PathBuf>,
        args: impl IntoIterator<Item = impl Into<OsString>>,
    ) -> Self {
        SupervisorConfig {
            program: program.into(),
            args: args.into_iter().map(Into::into).collect(),
            min_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        }
    }
}

/// A running supervisor. Dropping it stops capture.
#[derive(Debug)]
pub struct Supervisor {
    stop_tx: Option<Sender<()>>,
    child: Arc<Mutex<Option<Child>>>,
    thread: Option<JoinHandle<()>>,
    /// Disconnects when the supervisor thread ends (it holds the only sender).
    done_rx: mpsc::Receiver<()>,
}

impl Supervisor {
    /// Starts supervising in a background thread; events go to `sink` until it is dropped or
    /// [`Supervisor::stop`] is called.
    pub fn spawn(cfg: SupervisorConfig, sink: Sender<SupervisorEvent>) -> Supervisor {
        let (stop_tx, stop_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let child = Arc::new(Mutex::new(None));
        let state = Supervising {
            cfg,
            sink,
            stop_rx,
            child: Arc::clone(&child),
        };
        let thread = thread::Builder::new()
            .name("capture-supervisor".into())
            .spawn(move || {
                let _done = done_tx;
                state.run();
            })
            .ok();
        if thread.is_none() {
            tracing::error!("cannot start the capture supervisor thread");
        }
        Supervisor {
            stop_tx: Some(stop_tx),
            child,
            thread,
            done_rx,
        }
    }

    /// Stops capture: closes the worker's stdin, which makes it write out what it still buffers
    /// and exit; forwards its last frames to the sink; kills it if it has not left after
    /// [`STOP_GRACE`]. Returns when the supervisor thread has finished.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        // Dropping the sender wakes a backoff sleep and tells the thread not to restart.
        self.stop_tx.take();
        let Some(thread) = self.thread.take() else {
            return;
        };
        close_stdin(&self.child);
        let mut wait = STOP_GRACE;
        // The thread reads the worker's output until end of file, then reaps it and ends.
        while let Err(RecvTimeoutError::Timeout) = self.done_rx.recv_timeout(wait) {
            // Too slow (or a worker that was still starting when stdin was closed above).
            close_stdin(&self.child);
            kill_child(&self.child);
            wait = Duration::from_millis(50);
        }
        let _ = thread.join();
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Closes the worker's stdin: the worker takes that as the request to flush and exit.
fn close_stdin(child: &Mutex<Option<Child>>) {
    let mut guard = child.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(child) = guard.as_mut() {
        drop(child.stdin.take());
    }
}

/// Kills the worker and whatever it started in its process group.
fn kill_child(child: &Mutex<Option<Child>>) {
    let mut guard = child.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(child) = guard.as_mut() {
        // The child is reaped only under this lock, so its pid cannot have been reused, and
        // neither can its process group id while it (the group's leader) is not reaped.
        #[cfg(unix)]
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: kill(2) on the group our unreaped child leads; it touches no memory.
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
        let _ = child.kill();
    }
}

/// Waits for the worker to exit without holding the lock (so `stop` can still kill it), and
/// without reaping it (so its pid stays ours until it is reaped under the lock).
#[cfg(unix)]
fn wait_for_exit(child: &Mutex<Option<Child>>) {
    let pid = {
        let guard = child.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_ref().map(|c| libc::id_t::try_from(c.id())) {
            Some(Ok(pid)) => pid,
            _ => return,
        }
    };
    loop {
        // SAFETY: waitid writes only into `info`, a plain C struct we own; WNOWAIT leaves the
        // child a zombie for `Child::wait` to reap.
        let r = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, pid, &mut info, libc::WEXITED | libc::WNOWAIT)
        };
        if r == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}

#[cfg(not(unix))]
fn wait_for_exit(child: &Mutex<Option<Child>>) {
    loop {
        let mut guard = child.lock().unwrap_or_else(PoisonError::into_inner);
        match guard.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => {}
            _ => return,
        }
        drop(guard);
        thread::sleep(Duration::from_millis(20));
    }
}

struct Supervising {
    cfg: SupervisorConfig,
    sink: Sender<SupervisorEvent>,
    stop_rx: mpsc::Receiver<()>,
    child: Arc<Mutex<Option<Child>>>,
}

/// How one run of the worker ended.
struct RunEnd {
    reason: String,
    ran_for: Duration,
}

impl Supervising {
    fn run(self) {
        let mut backoff = self.cfg.min_backoff;
        loop {
            if self.stopping() {
                return;
            }
            let Some(end) = self.run_once() else {
                return;
            };
            if self.stopping() {
                return;
            }
            tracing::warn!(reason = %end.reason, "capture unavailable");
            if !self.send(SupervisorEvent::Status(CaptureStatus::Unavailable {
                reason: end.reason,
            })) {
                return;
            }
            if end.ran_for >= self.cfg.max_backoff {
                backoff = self.cfg.min_backoff;
            }
            match self.stop_rx.recv_timeout(backoff) {
                Err(RecvTimeoutError::Timeout) => {}
                Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
            }
            backoff = (backoff * 2).min(self.cfg.max_backoff.max(self.cfg.min_backoff));
        }
    }

    fn stopping(&self) -> bool {
        !matches!(self.stop_rx.try_recv(), Err(mpsc::TryRecvError::Empty))
    }

    /// `false` when nobody listens any more, which stops the supervisor.
    fn send(&self, event: SupervisorEvent) -> bool {
        self.sink.send(event).is_ok()
    }

    /// Runs the worker once, forwarding its frames. `None` means stop supervising.
    fn run_once(&self) -> Option<RunEnd> {
        let started_at = Instant::now();
        let mut child = match self.spawn_worker() {
            Ok(child) => child,
            Err(e) => {
                return Some(RunEnd {
                    reason: e.to_string(),
                    ran_for: Duration::ZERO,
                });
            }
        };
        let stdout = child.stdout.take();
        let stderr = child.stderr.take();
        // The child keeps its stdin, never written: the worker flushes and exits when that pipe
        // closes, i.e. when stop() closes it or when we die.
        {
            let mut slot = self.child.lock().unwrap_or_else(PoisonError::into_inner);
            *slot = Some(child);
        }
        // stop() may have run between the check in run() and storing the child: re-check now
        // that stop() is sure to find it.
        if self.stopping() {
            close_stdin(&self.child);
        }

        let last_stderr = Arc::new(Mutex::new(String::new()));
        let stderr_thread = stderr.and_then(|s| {
            let last = Arc::clone(&last_stderr);
            thread::Builder::new()
                .name("capture-stderr".into())
                .spawn(move || keep_last_line(s, &last))
                .ok()
        });

        let mut error_frame = None;
        let mut protocol_error = None;
        let mut listening = true;
        if let Some(stdout) = stdout {
            let mut reader = FrameReader::new(BufReader::with_capacity(64 * 1024, stdout));
            loop {
                let event = match reader.next_frame() {
                    Ok(None) => break,
                    Err(e) => {
                        // An unreadable stream cannot be resynchronised: end this worker.
                        protocol_error = Some(e);
                        kill_child(&self.child);
                        break;
                    }
                    Ok(Some(Frame::Started)) => SupervisorEvent::Status(CaptureStatus::Running),
                    Ok(Some(Frame::Input(ev))) => SupervisorEvent::Msg(CaptureMsg::Input(ev)),
                    Ok(Some(Frame::Focus { ts, window })) => {
                        SupervisorEvent::Msg(CaptureMsg::Focus { ts, window })
                    }
                    Ok(Some(Frame::Lock { ts, locked })) => {
                        SupervisorEvent::Msg(CaptureMsg::ScreenLock { ts, locked })
                    }
                    Ok(Some(Frame::Error(reason))) => {
                        error_frame = Some(reason);
                        continue;
                    }
                };
                if !self.send(event) {
                    listening = false;
                    kill_child(&self.child);
                    break;
                }
            }
        }

        wait_for_exit(&self.child);
        let status = {
            let mut slot = self.child.lock().unwrap_or_else(PoisonError::into_inner);
            let status = slot.as_mut().map(Child::wait);
            slot.take();
            status
        };
        if let Some(t) = stderr_thread {
            let _ = t.join();
        }
        if !listening {
            return None;
        }
        let last_stderr = last_stderr
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if !last_stderr.is_empty() {
            tracing::debug!(stderr = %last_stderr, "capture worker's last words");
        }
        let reason = match (error_frame, protocol_error, status) {
            (Some(reason), _, _) => reason,
            (None, Some(e), _) => e.to_string(),
            (None, None, Some(Ok(status))) => exit_reason(status, &last_stderr),
            (None, None, Some(Err(e))) => format!("the capture process was lost ({e})"),
            (None, None, None) => "the capture process ended".to_owned(),
        };
        Some(RunEnd {
            reason,
            ran_for: started_at.elapsed(),
        })
    }

    fn spawn_worker(&self) -> Result<Child, CaptureError> {
        let mut cmd = Command::new(&self.cfg.program);
        cmd.args(&self.cfg.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        #[cfg(unix)]
        only_the_app_stops_it(&mut cmd);
        #[cfg(target_os = "linux")]
        die_with_parent(&mut cmd);
        cmd.spawn().map_err(CaptureError::Spawn)
    }
}

/// Puts the worker in a process group of its own and makes it ignore the signals a terminal
/// (Ctrl-C, hang-up) or a session manager (TERM) sends to everything: the app hears them and
/// stops the worker gracefully, so no buffered input is lost and no false "capture unavailable"
/// is logged. Ignored dispositions survive `exec`. SIGKILL (stop's last resort, the parent-death
/// signal) still ends it.
#[cfg(unix)]
fn only_the_app_stops_it(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
    // SAFETY: the closure runs between fork and exec and calls only signal(2), which is
    // async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            for sig in [libc::SIGINT, libc::SIGHUP, libc::SIGTERM] {
                if libc::signal(sig, libc::SIG_IGN) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Asks the kernel to kill the worker when the thread that spawned it (the supervisor thread,
/// which lives as long as the supervisor) or the whole app dies.
#[cfg(target_os = "linux")]
fn die_with_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs between fork and exec and calls only async-signal-safe functions
    // (prctl, getppid, _exit); it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() != parent {
                libc::_exit(0);
            }
            Ok(())
        });
    }
}

/// A sentence for a worker that died without saying why.
fn exit_reason(status: ExitStatus, last_stderr: &str) -> String {
    #[cfg(unix)]
    let signal = std::os::unix::process::ExitStatusExt::signal(&status);
    #[cfg(not(unix))]
    let signal = None;
    let exited = CaptureError::WorkerExited {
        code: status.code(),
        signal,
    };
    let detail = exited.to_string();
    let detail = detail.strip_prefix("the ").unwrap_or(&detail);
    // Xlib's fatal I/O error handler prints "XIO: fatal IO error ..." and exits with code 1.
    if status.code() == Some(1) || last_stderr.contains("XIO") || last_stderr.contains("X server") {
        format!("lost the connection to the X server ({detail})")
    } else {
        format!("capture stopped unexpectedly ({detail})")
    }
}

/// Drains the worker's stderr (so it never blocks on a full pipe), keeping only the last line.
fn keep_last_line(stderr: impl Read, last: &Mutex<String>) {
    let mut reader = BufReader::new(stderr);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let text = String::from_utf8_lossy(&line);
                let text = text.trim();
                if !text.is_empty() {
                    let mut last = last.lock().unwrap_or_else(PoisonError::into_inner);
                    last.clear();
                    // Bounded: a runaway line must not grow memory.
                    last.push_str(text.get(..512).unwrap_or(text));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::{self, Frame};
    use glasshouse_core::keys::Key;
    use glasshouse_core::model::{Input, RawEvent, Window};
    use std::sync::mpsc::Receiver;

    const WAIT: Duration = Duration::from_secs(10);

    /// A fake worker: a shell script that prints `frames` (from a file) and then runs `then`.
    struct Fake {
        dir: tempfile::TempDir,
    }

    impl Fake {
        fn new() -> Fake {
            Fake {
                dir: tempfile::tempdir().unwrap(),
            }
        }

        fn path(&self, name: &str) -> PathBuf {
            self.dir.path().join(name)
        }

        fn config(&self, frames: &[Frame], then: &str) -> SupervisorConfig {
            let mut bytes = Vec::new();
            for f in frames {
                wire::encode(f, &mut bytes);
            }
            self.config_raw(&bytes, then)
        }

        fn config_raw(&self, bytes: &[u8], then: &str) -> SupervisorConfig {
            let file = self.path("frames");
            std::fs::write(&file, bytes).unwrap();
            let script = format!("cat '{}'; {then}", file.display());
            SupervisorConfig {
                program: "/bin/sh".into(),
                args: vec!["-c".into(), script.into()],
                min_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_millis(400),
            }
        }
    }

    fn next(rx: &Receiver<SupervisorEvent>) -> SupervisorEvent {
        rx.recv_timeout(WAIT).expect("no event from the supervisor")
    }

    fn unavailable(reason: &str) -> SupervisorEvent {
        SupervisorEvent::Status(CaptureStatus::Unavailable {
            reason: reason.into(),
        })
    }

    const RUNNING: SupervisorEvent = SupervisorEvent::Status(CaptureStatus::Running);

    #[test]
    fn forwards_frames_in_order_and_reports_the_error_frame_as_reason() {
        let fake = Fake::new();
        let mut frames = vec![Frame::Started];
        let mut expected = vec![RUNNING];
        for i in 0..500 {
            let ev = RawEvent {
                ts: 1000 + i,
                input: if i % 2 == 0 {
                    Input::Move {
                        x: i as i32,
                        y: 2 * i as i32,
                    }
                } else {
                    Input::KeyDown {
                        key: Key::KeyA,
                        text: Some("a".into()),
                    }
                },
            };
            frames.push(Frame::Input(ev.clone()));
            expected.push(SupervisorEvent::Msg(CaptureMsg::Input(ev)));
        }
        let window = Window {
            app: "xterm".into(),
            class: "XTerm".into(),
            title: "canary".into(),
        };
        frames.push(Frame::Focus {
            ts: 9,
            window: window.clone(),
        });
        expected.push(SupervisorEvent::Msg(CaptureMsg::Focus { ts: 9, window }));
        for (ts, locked) in [(10, true), (11, false)] {
            frames.push(Frame::Lock { ts, locked });
            expected.push(SupervisorEvent::Msg(CaptureMsg::ScreenLock { ts, locked }));
        }
        let reason = "no X display: DISPLAY is not set";
        frames.push(Frame::Error(reason.into()));
        expected.push(unavailable(reason));

        let (tx, rx) = mpsc::channel();
        let sup = Supervisor::spawn(fake.config(&frames, "exit 2"), tx);
        for want in expected {
            assert_eq!(next(&rx), want);
        }
        sup.stop();
    }

    #[test]
    fn restarts_with_growing_backoff_after_a_silent_exit() {
        let fake = Fake::new();
        let (tx, rx) = mpsc::channel();
        let sup = Supervisor::spawn(fake.config(&[Frame::Started], "exit 1"), tx);
        let mut gaps = Vec::new();
        for _ in 0..4 {
            assert_eq!(next(&rx), RUNNING);
            assert_eq!(
                next(&rx),
                unavailable(
                    "lost the connection to the X server (capture process exited with code 1)"
                )
            );
            let down = Instant::now();
            assert_eq!(next(&rx), RUNNING);
            gaps.push(down.elapsed());
            assert_eq!(
                next(&rx),
                unavailable(
                    "lost the connection to the X server (capture process exited with code 1)"
                )
            );
        }
        sup.stop();
        // 50, 200, 400 (capped), 400 ms: each at least its backoff, and the backoff grew.
        assert!(gaps[0] >= Duration::from_millis(50), "{gaps:?}");
        assert!(gaps[1] >= Duration::from_millis(200), "{gaps:?}");
        assert!(gaps[3] >= Duration::from_millis(400), "{gaps:?}");
        assert!(gaps[3] < Duration::from_millis(400) * 3, "{gaps:?}");
    }

    #[test]
    fn other_exits_and_garbage_and_spawn_failures_get_sentences() {
        let fake = Fake::new();
        let (tx, rx) = mpsc::channel();
        let sup = Supervisor::spawn(fake.config(&[], "kill -9 $$"), tx);
        assert_eq!(
            next(&rx),
            unavailable("capture stopped unexpectedly (capture process was killed by signal 9)")
        );
        sup.stop();

        let (tx, rx) = mpsc::channel();
        let sup = Supervisor::spawn(fake.config_raw(b"garbage!", "exec sleep 60"), tx);
        let SupervisorEvent::Status(CaptureStatus::Unavailable { reason }) = next(&rx) else {
            panic!("expected Unavailable")
        };
        assert!(
            reason.starts_with("the capture process sent data that could not be read"),
            "{reason}"
        );
        sup.stop();

        let (tx, rx) = mpsc::channel();
        let mut cfg = fake.config(&[], "");
        cfg.program = fake.path("no-such-program");
        let sup = Supervisor::spawn(cfg, tx);
        let SupervisorEvent::Status(CaptureStatus::Unavailable { reason }) = next(&rx) else {
            panic!("expected Unavailable")
        };
        assert!(
            reason.starts_with("cannot start the capture process: "),
            "{reason}"
        );
        sup.stop();
    }

    /// The pid a fake worker wrote to `pidfile`, once it is written whole.
    fn read_pid(pidfile: &std::path::Path) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            match std::fs::read_to_string(pidfile) {
                Ok(p) if p.ends_with('\n') => return p.trim().to_owned(),
                _ if Instant::now() > deadline => panic!("the fake worker wrote no pid"),
                _ => thread::sleep(Duration::from_millis(10)),
            }
        }
    }

    fn alive(pid: &str) -> bool {
        // A zombie still has a /proc entry; the supervisor reaps its child, so gone means gone.
        std::path::Path::new(&format!("/proc/{pid}")).exists()
    }

    #[test]
    fn stop_and_drop_kill_the_worker() {
        for use_drop in [false, true] {
            let fake = Fake::new();
            let pidfile = fake.path("pid");
            let then = format!("echo $$ > '{}'; exec sleep 600", pidfile.display());
            let (tx, rx) = mpsc::channel();
            let sup = Supervisor::spawn(fake.config(&[Frame::Started], &then), tx);
            assert_eq!(next(&rx), RUNNING);
            let pid = read_pid(&pidfile);
            assert!(alive(&pid));
            let t = Instant::now();
            if use_drop {
                drop(sup);
            } else {
                sup.stop();
            }
            assert!(t.elapsed() < Duration::from_secs(2));
            assert!(!alive(&pid), "worker {pid} outlived stop()");
            // No Unavailable is reported for a deliberate stop.
            assert!(rx.try_recv().is_err());
        }
    }

    /// `bytes` as a printf(1) format that writes them back exactly.
    fn printf_escaped(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("\\{b:03o}")).collect()
    }

    fn key(ts: i64, text: &str) -> Frame {
        Frame::Input(RawEvent {
            ts,
            input: Input::KeyDown {
                key: Key::KeyA,
                text: Some(text.into()),
            },
        })
    }

    fn encoded(frame: &Frame) -> Vec<u8> {
        let mut bytes = Vec::new();
        wire::encode(frame, &mut bytes);
        bytes
    }

    /// Like the real worker, the fake keeps its last input buffered and writes it only when its
    /// stdin closes: `stop()` must close stdin and forward what comes out until end of file,
    /// rather than kill the worker and lose it.
    #[test]
    fn stop_lets_the_worker_flush_and_forwards_its_last_frames() {
        let fake = Fake::new();
        let slow = printf_escaped(&encoded(&key(1, "s")));
        let last = printf_escaped(&encoded(&key(2, "last")));
        // The loop is bounded so that an old supervisor that kills the worker does not hang.
        let then = format!(
            "( for i in $(seq 50); do printf '{slow}'; sleep 0.02; done ) & \
             cat > /dev/null 2>&1; kill -9 $!; printf '{last}'; exit 0"
        );
        let (tx, rx) = mpsc::channel();
        let sup = Supervisor::spawn(fake.config(&[Frame::Started], &then), tx);
        assert_eq!(next(&rx), RUNNING);
        for _ in 0..3 {
            assert_eq!(
                next(&rx),
                SupervisorEvent::Msg(CaptureMsg::Input(ev_of(key(1, "s"))))
            );
        }
        let t = Instant::now();
        sup.stop();
        let stopped_in = t.elapsed();
        let rest: Vec<SupervisorEvent> = rx.try_iter().collect();
        let (slow_ones, tail) = rest.split_at(rest.len().saturating_sub(1));
        assert!(
            slow_ones
                .iter()
                .all(|e| *e == SupervisorEvent::Msg(CaptureMsg::Input(ev_of(key(1, "s"))))),
            "{rest:?}"
        );
        assert_eq!(
            tail,
            [SupervisorEvent::Msg(CaptureMsg::Input(ev_of(key(
                2, "last"
            ))))],
            "the frames the worker flushed on stop were lost (and no Unavailable for a stop)"
        );
        // A worker that leaves when asked is not waited for until the kill.
        assert!(stopped_in < STOP_GRACE, "{stopped_in:?}");
    }

    fn ev_of(frame: Frame) -> RawEvent {
        match frame {
            Frame::Input(ev) => ev,
            other => panic!("{other:?}"),
        }
    }

    /// Ctrl-C in a terminal signals the whole foreground process group: the worker must be in
    /// a group of its own (so only its parent decides when it stops), and ignore the signals a
    /// terminal or a session manager sends.
    #[cfg(target_os = "linux")]
    #[test]
    fn the_worker_has_its_own_process_group_and_ignores_terminal_signals() {
        let fake = Fake::new();
        let pidfile = fake.path("pid");
        let then = format!("echo $$ > '{}'; exec sleep 600", pidfile.display());
        let (tx, rx) = mpsc::channel();
        let sup = Supervisor::spawn(fake.config(&[Frame::Started], &then), tx);
        assert_eq!(next(&rx), RUNNING);
        let pid = read_pid(&pidfile);
        // /proc/<pid>/stat: "pid (comm) state ppid pgrp ..."; comm may hold spaces.
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat.rsplit_once(") ").unwrap().1.split(' ').collect();
        let pgrp: i32 = fields[2].parse().unwrap();
        // SAFETY: getpgrp has no preconditions.
        let ours = unsafe { libc::getpgrp() };
        assert_ne!(pgrp, ours, "the worker shares the app's process group");
        assert_eq!(pgrp.to_string(), pid, "the worker leads its own group");
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
        let ignored = status
            .lines()
            .find_map(|l| l.strip_prefix("SigIgn:"))
            .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
            .unwrap();
        for sig in [libc::SIGINT, libc::SIGHUP, libc::SIGTERM] {
            assert_ne!(ignored & (1 << (sig - 1)), 0, "signal {sig} is not ignored");
        }
        sup.stop();
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn a_dropped_sink_stops_the_supervisor() {
        let fake = Fake::new();
        let (tx, rx) = mpsc::channel();
        drop(rx);
        let sup = Supervisor::spawn(fake.config(&[Frame::Started], "exec sleep 600"), tx);
        let t = Instant::now();
        while !sup.thread.as_ref().unwrap().is_finished() {
            assert!(t.elapsed() < WAIT, "the supervisor kept running");
            thread::sleep(Duration::from_millis(10));
        }
        sup.stop();
    }
}
