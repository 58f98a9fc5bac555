//! The tray app's side of the dashboard: the dashboard is a process of its own (`glasshouse
//! dashboard`), started when it is asked for and ended with its window, so that everything WebKit
//! holds goes back to the system when the window closes. The tray app never builds a webview.
//!
//! The launcher starts this same executable with the same data directory, reaps it when it exits
//! (no zombies), and ends it when the tray app quits.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use glasshouse_core::paths::Paths;
use glasshouse_store::DbKey;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A dashboard process this launcher started.
#[derive(Debug)]
struct Running {
    pid: u32,
    /// Set (under the lock) once the process is reaped: until then its pid cannot be reused, so
    /// signalling it while holding the lock reaches the dashboard and nothing else.
    reaped: Mutex<bool>,
}

/// Starts, reaps and stops the dashboard process.
#[derive(Debug)]
pub struct Launcher {
    paths: Paths,
    /// Handed to each dashboard process through a pipe on its standard input: never on a
    /// command line, in the environment or on disk.
    key: DbKey,
    running: Mutex<Option<Arc<Running>>>,
}

impl Launcher {
    pub fn new(paths: Paths, key: DbKey) -> Launcher {
        Launcher {
            paths,
            key,
            running: Mutex::new(None),
        }
    }

    /// The command line: this executable, `dashboard`, and `--data-dir` when the profile is not
    /// the default one (the environment, `GLASSHOUSE_DATA_DIR` included, is inherited).
    fn command(&self, view: Option<&str>) -> std::io::Result<Command> {
        let exe: PathBuf = std::env::current_exe()?;
        let mut cmd = Command::new(exe);
        cmd.arg("dashboard").arg("--key-from-stdin");
        if let Some(v) = view {
            cmd.arg("--view").arg(v);
        }
        if Paths::resolve(None).ok().as_ref() != Some(&self.paths) {
            cmd.arg("--data-dir").arg(&self.paths.data_dir);
        }
        cmd.stdin(Stdio::piped());
        Ok(cmd)
    }

    /// Starts the dashboard process (at `view`, or its first view) unless the one started before
    /// is still running (it may be starting up, not yet subscribed). Returns whether one runs now.
    pub fn open(&self, view: Option<&str>) -> bool {
        let mut slot = lock(&self.running);
        if slot.as_ref().is_some_and(|r| !*lock(&r.reaped)) {
            return true;
        }
        match self
            .command(view)
            .and_then(|mut c| c.spawn())
            .and_then(|child| self.hand_key(child))
        {
            Ok(child) => {
                let running = Arc::new(Running {
                    pid: child.id(),
                    reaped: Mutex::new(false),
                });
                let r = running.clone();
                let reaper = std::thread::Builder::new()
                    .name("dashboard-reaper".into())
                    .spawn(move || reap(child, &r));
                if let Err(e) = reaper {
                    tracing::error!("cannot watch the dashboard process: {e}");
                }
                tracing::debug!("dashboard process {} started", running.pid);
                *slot = Some(running);
                true
            }
            Err(e) => {
                tracing::error!("cannot start the dashboard: {e}");
                false
            }
        }
    }

    /// Writes the key, in hex, to the new dashboard's standard input and closes it.
    fn hand_key(&self, mut child: Child) -> std::io::Result<Child> {
        use std::io::Write;
        let mut line = self.key.to_hex();
        line.push('\n');
        let written = match child.stdin.take() {
            Some(mut stdin) => stdin.write_all(line.as_bytes()),
            None => Err(std::io::Error::other("no pipe to the dashboard")),
        };
        if let Err(e) = written {
            let _ = child.kill();
            let _ = child.wait();
            return Err(e);
        }
        Ok(child)
    }

    /// The pid of the dashboard process this launcher started, while it runs.
    pub fn pid(&self) -> Option<u32> {
        lock(&self.running)
            .as_ref()
            .filter(|r| !*lock(&r.reaped))
            .map(|r| r.pid)
    }

    /// Ends the dashboard process (when the tray app quits): SIGTERM, then SIGKILL if it is still
    /// there after `grace`. It is reaped either way.
    pub fn close(&self, grace: Duration) {
        let Some(running) = lock(&self.running).take() else {
            return;
        };
        let signal = |sig: libc::c_int| {
            let reaped = lock(&running.reaped);
            if !*reaped {
                // SAFETY: kill has no memory preconditions; the pid is our unreaped child (see
                // `Running::reaped`), so it names the dashboard process and nothing else.
                unsafe {
                    libc::kill(running.pid as libc::pid_t, sig);
                }
            }
            !*reaped
        };
        if !signal(libc::SIGTERM) {
            return;
        }
        let deadline = Instant::now() + grace;
        while !*lock(&running.reaped) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if signal(libc::SIGKILL) {
            let deadline = Instant::now() + Duration::from_secs(2);
            while !*lock(&running.reaped) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Waits for the dashboard process to exit, then reaps it and says so.
fn reap(mut child: Child, running: &Running) {
    loop {
        // Wait without reaping (WNOWAIT): the pid stays the dashboard's until the flag is set.
        // SAFETY: `info` is a valid siginfo_t to write to; waitid has no other preconditions.
        let rc = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                running.pid as libc::id_t,
                &raw mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 || std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            break;
        }
    }
    let mut reaped = lock(&running.reaped);
    match child.wait() {
        Ok(status) => tracing::debug!("dashboard process {} ended: {status}", running.pid),
        Err(e) => tracing::warn!("dashboard process {}: {e}", running.pid),
    }
    *reaped = true;
}
