//! Whole-pipeline CPU: the real `glasshouse record` (recorder and capture worker) on an Xvfb of
//! its own, with input injected through XTest at a steady rate. CPU time is read from
//! `/proc/<pid>/task/*/schedstat` (nanoseconds) for both processes.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    BUTTON_PRESS_EVENT, KEY_PRESS_EVENT, KEY_RELEASE_EVENT, MOTION_NOTIFY_EVENT,
};
use x11rb::protocol::xtest::ConnectionExt as _;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub(crate) fn sibling(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let path = exe.with_file_name(name);
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: build it first (cargo build --release --bins)",
            path.display()
        ))
    }
}

/// CPU nanoseconds used so far by every thread of `pid`.
fn cpu_ns(pid: u32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("schedstat")).ok())
        .filter_map(|s| s.split_whitespace().next()?.parse::<u64>().ok())
        .sum()
}

/// CPU nanoseconds used so far by `pid` and all its descendants (the capture worker included).
fn tree_cpu_ns(pid: u32) -> u64 {
    crate::procfs::tree(pid).into_iter().map(cpu_ns).sum()
}

pub fn run(seconds: u64, rate: u64) -> Result<(), String> {
    let glasshouse = sibling("glasshouse")?;
    let display = (300..400)
        .find(|n| !std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
        .ok_or("no free display number")?;
    let name = format!(":{display}");
    let _xvfb = Killed(
        Command::new("Xvfb")
            .args([
                name.as_str(),
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start Xvfb (scripts/install-deps.sh build test): {e}"))?,
    );
    let start = Instant::now();
    let (conn, screen) = loop {
        match x11rb::connect(Some(&name)) {
            Ok(c) => break c,
            Err(_) if start.elapsed() < Duration::from_secs(10) => {
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(format!("cannot connect to Xvfb: {e}")),
        }
    };
    let root = conn.setup().roots[screen].root;
    let data = tempfile::tempdir().map_err(|e| e.to_string())?;
    let runtime = tempfile::tempdir().map_err(|e| e.to_string())?;
    let recorder = Killed(
        Command::new(&glasshouse)
            .arg("record")
            .env("DISPLAY", &name)
            .env("GLASSHOUSE_DATA_DIR", data.path())
            .env("XDG_RUNTIME_DIR", runtime.path())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    let pid = recorder.0.id();
    let status = || {
        Command::new(&glasshouse)
            .args(["status", "--json"])
            .env("GLASSHOUSE_DATA_DIR", data.path())
            .env("XDG_RUNTIME_DIR", runtime.path())
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    };
    let wait = Instant::now();
    while !status().contains("\"state\": \"recording\"") {
        if wait.elapsed() > Duration::from_secs(20) {
            return Err("the recorder did not start recording".into());
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(1));

    // Idle baseline first, then the same time under load.
    let idle = measure(pid, seconds, None)?;
    let mut i: u64 = 0;
    let interval = Duration::from_nanos(1_000_000_000 / rate.max(1));
    let mut next = Instant::now();
    let mut inject = || {
        // 1 in 20 events is a key press or release, 1 in 200 a click; the rest is movement.
        let (kind, detail, x, y) = match i % 200 {
            0 => (BUTTON_PRESS_EVENT, 1, 0, 0),
            1 => (BUTTON_PRESS_EVENT + 1, 1, 0, 0),
            n if n % 20 == 10 => (KEY_PRESS_EVENT, 38, 0, 0),
            n if n % 20 == 11 => (KEY_RELEASE_EVENT, 38, 0, 0),
            n => (
                MOTION_NOTIFY_EVENT,
                0,
                (100 + n * 3) as i16,
                (100 + i % 400) as i16,
            ),
        };
        conn.xtest_fake_input(kind, detail, x11rb::CURRENT_TIME, root, x, y, 0)
            .map_err(|e| e.to_string())?;
        conn.flush().map_err(|e| e.to_string())?;
        i += 1;
        next += interval;
        if let Some(d) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(d);
        }
        Ok(())
    };
    let busy = measure(pid, seconds, Some(&mut inject))?;
    let stored = status();
    let events = stored
        .split("\"events\":")
        .nth(1)
        .and_then(|s| s.trim().split([',', '\n']).next())
        .unwrap_or("?")
        .to_owned();
    println!(
        "cpu: idle {:.3}% of one core; at {:.0} injected events/s {:.3}% of one core (recorder + capture worker; aim < 0.5%); {events} events stored today",
        idle.0,
        busy.1 as f64 / seconds as f64,
        busy.0
    );
    Ok(())
}

/// Runs `step` repeatedly for `seconds` (or just waits, with no step) and returns (CPU % of one
/// core used by `pid` and its children, steps run).
fn measure(
    pid: u32,
    seconds: u64,
    mut step: Option<&mut dyn FnMut() -> Result<(), String>>,
) -> Result<(f64, u64), String> {
    let before = tree_cpu_ns(pid);
    let start = Instant::now();
    let mut steps = 0;
    match step.as_mut() {
        None => std::thread::sleep(Duration::from_secs(seconds)),
        Some(step) => {
            while start.elapsed() < Duration::from_secs(seconds) {
                step()?;
                steps += 1;
            }
        }
    }
    let used = tree_cpu_ns(pid) - before;
    Ok((
        used as f64 / start.elapsed().as_nanos() as f64 * 100.0,
        steps,
    ))
}
