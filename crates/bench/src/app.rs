//! The desktop app's figures: memory of the tray app (tray only, and after opening and closing
//! the dashboard again and again) next to a minimal Tauri tray app, the dashboard process's own
//! memory while open, launch-to-ready time, show-to-window time, and the time to render every
//! dashboard chart over 90 days of heavy workdays.
//!
//! Memory is RSS and PSS from `/proc/<pid>/smaps_rollup`, summed over the process and all its
//! descendants (the capture worker; while the dashboard is open, the dashboard process the tray
//! app started and WebKit's web and network processes under it). PSS charges shared pages in
//! proportion, so it is the fairer sum over processes.
//!
//! "Ready" for the Glasshouse tray app is when its control socket answers `status` (the recorder
//! is up, which is what `glasshouse pause` needs); the app has finished setting up (tray
//! created) when the socket also accepts `show`, which starts the dashboard process; "shown" is
//! when its window is mapped. The minimal app prints `ready` once its tray icon exists.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use x11rb::protocol::xproto::{ClientMessageEvent, ConnectionExt as _, EventMask};

use glasshouse_core::paths::Paths;
use glasshouse_core::settings::CaptureLevel;
use glasshouse_recorder::{RecorderError, Request, State, Status, control};
use glasshouse_store::{Counts, Store};

use crate::cpu::sibling;
use crate::procfs::{comm, tree};

/// A process we started, stopped on drop: SIGTERM, then SIGKILL after a grace period.
struct Proc(Child);

impl Proc {
    fn pid(&self) -> u32 {
        self.0.id()
    }

    fn stop(&mut self) {
        if self.0.try_wait().ok().flatten().is_none() {
            let _ = Command::new("kill")
                .args(["-TERM", &self.pid().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while self.0.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An Xvfb of our own (number chosen by Xvfb itself through `-displayfd`), with openbox if
/// it is installed, so windows are managed as on a desktop.
struct Display {
    name: String,
    _wm: Option<Proc>,
    _server: Proc,
}

impl Display {
    fn start() -> Result<Display, String> {
        let mut server = Command::new("Xvfb")
            .args([
                "-displayfd",
                "1",
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start Xvfb (scripts/install-deps.sh build test): {e}"))?;
        let mut line = String::new();
        BufReader::new(server.stdout.take().ok_or("no Xvfb stdout")?)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
        let server = Proc(server);
        let number: u32 = line
            .trim()
            .parse()
            .map_err(|_| format!("Xvfb gave no display number ({line:?})"))?;
        let name = format!(":{number}");
        let wm = Command::new("openbox")
            .env("DISPLAY", &name)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()
            .map(Proc);
        std::thread::sleep(Duration::from_millis(300));
        Ok(Display {
            name,
            _wm: wm,
            _server: server,
        })
    }
}

/// Resident and proportional memory of a set of processes, in kB.
#[derive(Debug, Clone, Copy, Default)]
struct Mem {
    rss_kb: u64,
    pss_kb: u64,
    processes: usize,
}

impl Mem {
    fn of_process(pid: u32) -> Option<Mem> {
        let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).ok()?;
        let field = |name: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        Some(Mem {
            rss_kb: field("Rss:"),
            pss_kb: field("Pss:"),
            processes: 1,
        })
    }

    fn of_tree(pid: u32) -> Mem {
        let mut m = Mem::default();
        for p in tree(pid).into_iter().filter_map(Mem::of_process) {
            m.rss_kb += p.rss_kb;
            m.pss_kb += p.pss_kb;
            m.processes += 1;
        }
        m
    }

    /// PSS per process of the tree, e.g. "glasshouse 60.1 MB, glasshouse 20.3 MB".
    fn breakdown(pid: u32) -> String {
        tree(pid)
            .into_iter()
            .filter_map(|p| {
                let m = Mem::of_process(p)?;
                Some(format!("{} {:.1} MB", comm(p), m.pss_kb as f64 / 1024.0))
            })
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn show(self) -> String {
        format!(
            "RSS {:.1} MB, PSS {:.1} MB ({} process{})",
            self.rss_kb as f64 / 1024.0,
            self.pss_kb as f64 / 1024.0,
            self.processes,
            if self.processes == 1 { "" } else { "es" }
        )
    }
}

fn wait_until<T>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Result<T, String> {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if start.elapsed() > timeout {
            return Err(format!("timed out after {timeout:?} waiting for {what}"));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The Glasshouse app's private directories and the environment that points it at them.
struct Profile {
    data: tempfile::TempDir,
    config: tempfile::TempDir,
    runtime: PathBuf,
    display: String,
}

impl Profile {
    fn new(display: &str, runtime: &Path) -> Result<Profile, String> {
        let config = tempfile::tempdir().map_err(|e| e.to_string())?;
        // The store is encrypted: the app's key comes from this passphrase (no keyring).
        std::fs::write(config.path().join("passphrase"), "benchmark passphrase\n")
            .map_err(|e| e.to_string())?;
        Ok(Profile {
            data: tempfile::tempdir().map_err(|e| e.to_string())?,
            config,
            runtime: runtime.to_owned(),
            display: display.to_owned(),
        })
    }

    fn paths(&self) -> Paths {
        Paths::in_dir(self.data.path())
    }

    fn command(&self, bin: &Path) -> Command {
        let mut c = Command::new(bin);
        c.env("DISPLAY", &self.display)
            .env_remove("WAYLAND_DISPLAY")
            .env("GLASSHOUSE_DATA_DIR", self.data.path())
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .env("XDG_CONFIG_HOME", self.config.path())
            .env(
                "GLASSHOUSE_PASSPHRASE_FILE",
                self.config.path().join("passphrase"),
            )
            .env("GLASSHOUSE_KEYRING", "off")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }
}

/// Starts the Glasshouse tray app (with `args`) and returns it with the time until its control
/// socket answered `status`.
fn launch_glasshouse(
    bin: &Path,
    profile: &Profile,
    args: &[&str],
) -> Result<(Proc, Duration), String> {
    let paths = profile.paths();
    let start = Instant::now();
    let app = Proc(
        profile
            .command(bin)
            .args(args)
            .spawn()
            .map_err(|e| e.to_string())?,
    );
    let ready = wait_until("the control socket", Duration::from_secs(30), || {
        control::request(&paths, &Request::Status)
            .ok()
            .map(|_| start.elapsed())
    })?;
    Ok((app, ready))
}

/// Asks the running app to show its dashboard, as a second launch does. `Ok(None)` when the
/// app refuses (it does not handle `show`); `Ok(Some(t))` with the time it took to be accepted,
/// which is once the app has set itself up (tray created).
fn request_show(profile: &Profile, timeout: Duration) -> Result<Option<Duration>, String> {
    let paths = profile.paths();
    let start = Instant::now();
    loop {
        match control::request(&paths, &Request::Show) {
            Ok(_) => return Ok(Some(start.elapsed())),
            Err(RecorderError::Remote { message, .. }) if message.contains("headless") => {
                if start.elapsed() > timeout {
                    return Ok(None);
                }
            }
            Err(e) if start.elapsed() > timeout => return Err(e.to_string()),
            Err(_) => {}
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn launch_minimal(bin: &Path, profile: &Profile) -> Result<(Proc, Duration), String> {
    let start = Instant::now();
    let mut child = profile
        .command(bin)
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| e.to_string())?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let app = Proc(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    if line.trim() != "ready" {
        return Err(format!("the minimal tray app did not start ({line:?})"));
    }
    Ok((app, start.elapsed()))
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn median(mut v: Vec<f64>) -> (f64, f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2], v[v.len() - 1])
}

/// The dashboard's X window, if it is mapped.
fn dashboard_window(display: &str) -> Option<u32> {
    let out = Command::new("xdotool")
        .args(["search", "--onlyvisible", "--name", "^Glasshouse$"])
        .env("DISPLAY", display)
        .stderr(Stdio::null())
        .output()
        .ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .and_then(|l| l.trim().parse().ok())
}

/// The dashboard process the tray app `pid` started (`glasshouse dashboard`), if one runs.
fn dashboard_process(pid: u32) -> Option<u32> {
    tree(pid).into_iter().skip(1).find(|p| {
        std::fs::read(format!("/proc/{p}/cmdline"))
            .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == b"dashboard"))
    })
}

/// Asks `window` to close as its close button would (`WM_DELETE_WINDOW`).
fn close_window(display: &str, window: u32) -> Result<(), String> {
    let (conn, _) = x11rb::connect(Some(display)).map_err(|e| e.to_string())?;
    let atom = |name: &[u8]| -> Result<u32, String> {
        Ok(conn
            .intern_atom(false, name)
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?
            .atom)
    };
    let protocols = atom(b"WM_PROTOCOLS")?;
    let delete = atom(b"WM_DELETE_WINDOW")?;
    let event = ClientMessageEvent::new(
        32,
        window,
        protocols,
        [delete, x11rb::CURRENT_TIME, 0, 0, 0],
    );
    conn.send_event(false, window, EventMask::NO_EVENT, event)
        .map_err(|e| e.to_string())?
        .check()
        .map_err(|e| format!("cannot ask window {window} to close: {e}"))?;
    Ok(())
}

fn webkit_processes(pid: u32) -> Vec<u32> {
    tree(pid)
        .into_iter()
        .filter(|p| comm(*p).starts_with("WebKit"))
        .collect()
}

/// One open/close cycle of the dashboard, measured.
struct Cycle {
    /// From `show` to the dashboard window being mapped.
    shown: Duration,
    /// The dashboard process and its WebKit processes, window open.
    dashboard: Mem,
    /// The tray app's whole tree, window open.
    open: Mem,
    /// The tray app's whole tree once the dashboard process and its WebKit processes are gone.
    closed: Mem,
}

/// Asks the tray app `pid` to show its dashboard (as the tray menu and a second launch do),
/// waits for the dashboard process, its window and WebKit, measures, closes the window as its
/// close button does, waits for every process of the dashboard to end, and measures again.
fn open_close_cycle(
    display: &str,
    paths: &Paths,
    pid: u32,
    settle: Duration,
) -> Result<Cycle, String> {
    let start = Instant::now();
    control::request(paths, &Request::Show).map_err(|e| format!("show: {e}"))?;
    let dashboard = wait_until("the dashboard process", Duration::from_secs(30), || {
        dashboard_process(pid)
    })?;
    let window = wait_until("the dashboard window", Duration::from_secs(30), || {
        dashboard_window(display)
    })?;
    let shown = start.elapsed();
    let webkit = wait_until("WebKit's processes", Duration::from_secs(30), || {
        let w = webkit_processes(dashboard);
        (w.len() >= 2).then_some(w)
    })?;
    std::thread::sleep(settle);
    let (dashboard_mem, open) = (Mem::of_tree(dashboard), Mem::of_tree(pid));
    close_window(display, window)?;
    // The window closing ends the dashboard process (the tray app reaps it) and WebKit's
    // processes with it, wherever they were reparented to.
    let gone = |p: u32| !Path::new(&format!("/proc/{p}")).exists();
    wait_until(
        "the dashboard process to end",
        Duration::from_secs(30),
        || gone(dashboard).then_some(()),
    )?;
    if wait_until("WebKit's processes to end", Duration::from_secs(10), || {
        webkit.iter().all(|p| gone(*p)).then_some(())
    })
    .is_err()
    {
        eprintln!("app: WebKit processes outlived the dashboard process: {webkit:?}");
    }
    if let Some(left) = dashboard_window(display) {
        eprintln!("app: a window titled Glasshouse is still mapped: {left} (closed {window})");
    }
    std::thread::sleep(settle);
    Ok(Cycle {
        shown,
        dashboard: dashboard_mem,
        open,
        closed: Mem::of_tree(pid),
    })
}

fn mb_diff(a: Mem, b: Mem) -> f64 {
    (a.pss_kb as f64 - b.pss_kb as f64) / 1024.0
}

/// Memory and launch time, Glasshouse next to the minimal tray app.
fn memory_and_launch(cycles: u64, launches: u64) -> Result<(), String> {
    let glasshouse = sibling("glasshouse")?;
    let minimal = sibling("glasshouse-bench-minimal-tray")?;
    let display = Display::start()?;
    let runtime = tempfile::tempdir().map_err(|e| e.to_string())?;
    // The control client finds the app's socket through XDG_RUNTIME_DIR, as the CLI does.
    // SAFETY: the benchmark is single-threaded here; nothing reads the environment meanwhile.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", runtime.path()) };
    let settle = Duration::from_secs(3);

    // Launch to ready, several times each (the first run also warms the page cache).
    let (mut ready, mut set_up, mut minimal_ready) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..launches {
        let profile = Profile::new(&display.name, runtime.path())?;
        let (mut app, r) = launch_glasshouse(&glasshouse, &profile, &[])?;
        ready.push(ms(r));
        let s = request_show(&profile, Duration::from_secs(10))?
            .ok_or("the tray app refuses `show`")?;
        set_up.push(ms(r + s));
        // `show` started the dashboard process: let it come up, then quit (which ends it too).
        wait_until("the dashboard window", Duration::from_secs(30), || {
            dashboard_window(&display.name)
        })?;
        let dashboard = dashboard_process(app.pid());
        app.stop();
        if let Some(d) = dashboard {
            wait_until(
                "the dashboard to end with the app",
                Duration::from_secs(10),
                || (!Path::new(&format!("/proc/{d}")).exists()).then_some(()),
            )?;
        }
        let (mut app, r) = launch_minimal(&minimal, &profile)?;
        minimal_ready.push(ms(r));
        app.stop();
    }
    let (lo, mid, hi) = median(ready);
    println!(
        "app: launch to ready (control socket answers status): median {mid:.0} ms (min {lo:.0}, max {hi:.0}, {launches} launches; aim < 1000 ms)"
    );
    let (lo, mid, hi) = median(set_up);
    println!(
        "app: launch to set up (tray created, `show` accepted): median {mid:.0} ms (min {lo:.0}, max {hi:.0})"
    );
    let (lo, mid, hi) = median(minimal_ready);
    println!(
        "app: minimal Tauri tray app, launch to tray created: median {mid:.0} ms (min {lo:.0}, max {hi:.0})"
    );

    // Memory: the minimal app first, then Glasshouse, each alone on the display.
    let profile = Profile::new(&display.name, runtime.path())?;
    let (mut app, _) = launch_minimal(&minimal, &profile)?;
    std::thread::sleep(settle);
    let base = Mem::of_tree(app.pid());
    app.stop();
    println!("app: minimal Tauri tray app, tray only: {}", base.show());

    let (mut app, _) = launch_glasshouse(&glasshouse, &profile, &[])?;
    std::thread::sleep(settle);
    let start = Mem::of_tree(app.pid());
    println!(
        "app: Glasshouse tray only, after start: {} = minimal {:+.1} MB PSS (aim: within 15 MB; includes the capture worker); PSS by process: {}",
        start.show(),
        mb_diff(start, base),
        Mem::breakdown(app.pid())
    );

    let paths = profile.paths();
    let mut after = Vec::new();
    let mut shown = Vec::new();
    for cycle in 1..=cycles {
        // `show`, as the tray menu's "Open dashboard" and a second launch ask for it.
        let c = open_close_cycle(&display.name, &paths, app.pid(), settle)?;
        if cycle == 1 || cycle == cycles {
            println!(
                "app: cycle {cycle}: dashboard open: the dashboard process {} (its own, with its WebKit processes), the whole app {}; closed again: {}; PSS by process after closing: {}",
                c.dashboard.show(),
                c.open.show(),
                c.closed.show(),
                Mem::breakdown(app.pid())
            );
        }
        shown.push(ms(c.shown));
        after.push(c.closed);
    }
    if let (Some(&first), Some(&last)) = (after.first(), after.last()) {
        println!(
            "app: Glasshouse tray only after {cycles} open/close cycles: {} = {:+.1} MB PSS since start, minimal {:+.1} MB PSS (aim: within 15 MB), {:+.1} MB PSS from cycle 1 to {cycles} (aim: no growth over the cycles)",
            last.show(),
            mb_diff(last, start),
            mb_diff(last, base),
            mb_diff(last, first),
        );
    }
    if !shown.is_empty() {
        let (lo, mid, hi) = median(shown);
        println!(
            "app: `show` to the dashboard window mapped (a new process each time): median {mid:.0} ms (min {lo:.0}, max {hi:.0}, {cycles} cycles)"
        );
    }
    app.stop();
    Ok(())
}

/// Every dashboard chart from `days` heavy workdays, through the app's own `dashboard::build`.
fn charts(days: u64, runs: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("glasshouse.db");
    let store = Store::open(&path, &crate::bench_key()).map_err(|e| e.to_string())?;
    let load = Instant::now();
    let mut events = 0usize;
    for d in (0..days as i64).rev() {
        let day = glasshouse_store::synth::heavy_workday(crate::day_start(d), d as u64 + 10);
        events += day.len();
        store.append(day);
        // One day at a time: the writer's queue is unbounded.
        store.flush().map_err(|e| e.to_string())?;
    }
    println!(
        "app: charts: loaded {days} heavy workdays ({events} stored events) in {:.0} s",
        load.elapsed().as_secs_f64()
    );
    let reader = store.reader().map_err(|e| e.to_string())?;
    let status = Status {
        state: State::Recording,
        pid: None,
        paused_since: None,
        paused_until: None,
        pause_reason: None,
        capture_error: None,
        store_error: None,
        events_waiting: 0,
        events_dropped: 0,
        capture_level: CaptureLevel::Full,
        excluded_apps: Vec::new(),
        sensitive_windows: true,
        data_dir: dir.path().to_owned(),
        database_bytes: 0,
        today: Counts::default(),
        today_excluded_secs: 0,
    };
    let mut times = Vec::new();
    let mut svg_bytes = 0;
    for i in 0..runs {
        let d = glasshouse::app::dashboard::build(
            &reader,
            &status,
            i % 2 == 1,
            glasshouse::app::dashboard::TIMELINE_WIDTH,
        )
        .map_err(|e| e.message)?;
        times.push(d.render_ms);
        let c = &d.charts;
        svg_bytes = [&c.timeline, &c.apps_today, &c.apps_week, &c.keys, &c.clicks]
            .iter()
            .map(|s| s.len())
            .sum();
    }
    times.sort_by(f64::total_cmp);
    println!(
        "app: charts: all dashboard charts (queries and SVG, {svg_bytes} bytes) p50 {:.1} ms, p95 {:.1} ms, max {:.1} ms over {runs} renders (aim < 100 ms)",
        times[times.len() / 2],
        times[times.len() * 95 / 100],
        times[times.len() - 1]
    );
    drop(reader);
    store.close().map_err(|e| e.to_string())
}

pub fn run(cycles: u64, days: u64) -> Result<(), String> {
    memory_and_launch(cycles, 5)?;
    charts(days, 40)
}
