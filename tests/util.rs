//! Shared harness: an X session of our own, xterms with canary titles, and the `glasshouse` CLI
//! pointed at a private data directory and runtime directory.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::webdriver::{self, Session};

/// Whether the X tests can run here. Under `GLASSHOUSE_X_TESTS=1` (CI) a missing Xvfb fails the
/// test instead of skipping it.
pub fn x_available() -> bool {
    let have = Command::new("sh")
        .args([
            "-c",
            "command -v Xvfb && command -v xdotool && command -v openbox && command -v xterm",
        ])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have && std::env::var("GLASSHOUSE_X_TESTS").as_deref() == Ok("1") {
        panic!(
            "GLASSHOUSE_X_TESTS=1 but Xvfb, xdotool, openbox or xterm is missing: run scripts/install-deps.sh build test"
        );
    }
    if !have {
        eprintln!(
            "skipping: Xvfb, xdotool, openbox or xterm is missing (scripts/install-deps.sh build test)"
        );
    }
    have
}

/// A random lowercase canary that appears nowhere else.
pub fn canary(prefix: &str) -> String {
    let mut seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
        ^ (u64::from(std::process::id()) << 32);
    let mut s = String::from(prefix);
    for _ in 0..14 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        s.push(char::from(b'a' + (seed % 26) as u8));
    }
    s
}

/// The child processes of `pid`. Children are listed per thread: a child spawned by any thread
/// (the capture worker is spawned by the supervisor's) is found.
pub fn children(pid: u32) -> Vec<u32> {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    tasks
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("children")).ok())
        .flat_map(|c| {
            c.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect::<Vec<u32>>()
        })
        .collect()
}

/// Polls `f` every 100 ms until it returns `Some`, or panics with `what` after `timeout`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            start.elapsed() < timeout,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An X server (Xvfb) with openbox, on a display number of its own.
pub struct XSession {
    pub display: u32,
    server: Option<Child>,
    wm: Option<Child>,
    clients: Vec<Child>,
}

impl XSession {
    /// Starts Xvfb on a free display number, then openbox.
    pub fn start() -> XSession {
        // Tests run in parallel threads: each call takes numbers no other call of this process
        // takes; the lock-file check (and Xvfb's own) keeps clear of other processes.
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let base = 200 + (std::process::id() % 400) * 10;
        for _ in 0..60 {
            let display = base + NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % 4000;
            if Path::new(&format!("/tmp/.X{display}-lock")).exists()
                || Path::new(&format!("/tmp/.X11-unix/X{display}")).exists()
            {
                continue;
            }
            if let Some(session) = XSession::start_on(display) {
                return session;
            }
        }
        panic!("could not start Xvfb on any display number");
    }

    /// Starts Xvfb (and openbox) on `display`; `None` if the server did not come up.
    pub fn start_on(display: u32) -> Option<XSession> {
        let server = Command::new("Xvfb")
            .arg(format!(":{display}"))
            .args([
                "-screen",
                "0",
                "1280x800x24",
                "-nolisten",
                "tcp",
                "-noreset",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start Xvfb");
        let mut session = XSession {
            display,
            server: Some(server),
            wm: None,
            clients: Vec::new(),
        };
        let start = Instant::now();
        while !session.xdotool_ok(&["getdisplaygeometry"]) {
            if start.elapsed() > Duration::from_secs(10)
                || session
                    .server
                    .as_mut()
                    .unwrap()
                    .try_wait()
                    .unwrap()
                    .is_some()
            {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // The display answered, but was it our server? One that lost the race for the number
        // has exited by now.
        std::thread::sleep(Duration::from_millis(100));
        if session
            .server
            .as_mut()
            .unwrap()
            .try_wait()
            .unwrap()
            .is_some()
        {
            session.server = None;
            return None;
        }
        session.wm = Some(
            Command::new("openbox")
                .env("DISPLAY", session.display_name())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start openbox"),
        );
        // openbox is ready once it publishes EWMH properties on the root window.
        wait_for("openbox", Duration::from_secs(10), || {
            session.xdotool_ok(&["get_desktop"]).then_some(())
        });
        Some(session)
    }

    pub fn display_name(&self) -> String {
        format!(":{}", self.display)
    }

    fn xdotool_ok(&self, args: &[&str]) -> bool {
        Command::new("xdotool")
            .args(args)
            .env("DISPLAY", self.display_name())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// Runs xdotool and returns its stdout; panics on failure.
    pub fn xdotool(&self, args: &[&str]) -> String {
        let out = Command::new("xdotool")
            .args(args)
            .env("DISPLAY", self.display_name())
            .output()
            .expect("run xdotool");
        assert!(
            out.status.success(),
            "xdotool {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Opens an xterm titled `title` and returns its window id once it is mapped.
    pub fn xterm(&mut self, title: &str) -> String {
        self.open_xterm(&["-T", title, "-geometry", "80x20+40+40"], title)
    }

    /// Opens an xterm whose WM_CLASS is `class` (as a password manager's window would be).
    pub fn xterm_with_class(&mut self, title: &str, class: &str) -> String {
        self.open_xterm(
            &["-class", class, "-T", title, "-geometry", "60x10+500+300"],
            title,
        )
    }

    fn open_xterm(&mut self, args: &[&str], title: &str) -> String {
        let child = Command::new("xterm")
            .args(args)
            .args(["-e", "cat"])
            .env("DISPLAY", self.display_name())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start xterm");
        self.clients.push(child);
        let id = self.xdotool(&["search", "--sync", "--onlyvisible", "--name", title]);
        id.lines().next().unwrap_or_default().to_owned()
    }

    /// Gives `window` the focus and waits until the window manager says it has it.
    pub fn focus(&self, window: &str) {
        self.xdotool(&["windowactivate", "--sync", window]);
        wait_for("focus", Duration::from_secs(5), || {
            (self.xdotool(&["getactivewindow"]) == window).then_some(())
        });
    }

    /// Types `text` into the focused window.
    pub fn type_text(&self, text: &str) {
        self.xdotool(&["type", "--delay", "15", text]);
    }

    /// Kills the X server (as a crash would), and everything on it.
    pub fn kill_server(&mut self) {
        for mut c in self.clients.drain(..).chain(self.wm.take()) {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Only our own server's files are ours to clean up.
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
            let _ = std::fs::remove_file(format!("/tmp/.X{}-lock", self.display));
            let _ = std::fs::remove_file(format!("/tmp/.X11-unix/X{}", self.display));
        }
    }
}

impl Drop for XSession {
    fn drop(&mut self) {
        self.kill_server();
    }
}

/// The `glasshouse` binary with its own data and runtime directories.
pub struct App {
    pub data: tempfile::TempDir,
    pub runtime: tempfile::TempDir,
    pub display: Option<String>,
    /// Holds the passphrase file, outside the data folder (nothing of it may be in there).
    secrets: tempfile::TempDir,
    /// More environment for every process of this app.
    extra_env: Vec<(String, String)>,
}

/// The passphrase every test app is encrypted with.
pub const PASSPHRASE: &str = "correct horse battery staple";

impl App {
    pub fn new(display: Option<String>) -> App {
        let secrets = tempfile::tempdir().unwrap();
        std::fs::write(secrets.path().join("passphrase"), format!("{PASSPHRASE}\n")).unwrap();
        App {
            data: tempfile::tempdir().unwrap(),
            runtime: tempfile::tempdir().unwrap(),
            display,
            secrets,
            extra_env: Vec::new(),
        }
    }

    /// The same app with `key=value` in the environment of each of its processes.
    pub fn with_env(mut self, key: &str, value: &str) -> App {
        self.extra_env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// An app whose upload batches are whole UTC days, so a "seal now" in a test never splits its
    /// input at a window boundary (an hourly one would, for a test running across the hour).
    pub fn with_daily_batches(display: Option<String>) -> App {
        let app = App::new(display);
        std::fs::write(
            app.data.path().join("settings.toml"),
            "batch_minutes = 1440\n",
        )
        .unwrap();
        app
    }

    pub fn data_dir(&self) -> &Path {
        self.data.path()
    }

    /// The file `GLASSHOUSE_PASSPHRASE_FILE` names for every process of this app.
    pub fn passphrase_file(&self) -> PathBuf {
        self.secrets.path().join("passphrase")
    }

    /// The environment that gives a process this app's data, runtime folder and key (for
    /// tauri-driver, which starts the app itself). No desktop keyring: the passphrase decides.
    pub fn env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("GLASSHOUSE_DATA_DIR", self.data.path().to_owned()),
            ("XDG_RUNTIME_DIR", self.runtime.path().to_owned()),
            ("GLASSHOUSE_PASSPHRASE_FILE", self.passphrase_file()),
            ("GLASSHOUSE_KEYRING", PathBuf::from("off")),
        ]
    }

    /// The database key, as the app derives it from the passphrase (choosing it if the data
    /// folder has none yet, as the app's first start would).
    pub fn key(&self) -> glasshouse_store::DbKey {
        let pass = glasshouse_vault::Passphrase::new(PASSPHRASE.into());
        glasshouse_vault::unlock(
            self.data.path(),
            &self.data.path().join("glasshouse.db"),
            Some(&pass),
            &glasshouse_vault::NoKeyring,
        )
        .expect("the test key")
        .key
    }

    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_glasshouse"));
        c.args(args)
            .envs(self.env())
            .env_remove("WAYLAND_DISPLAY")
            // No desktop session's bus: its screen saver must not pause a test's recording.
            .env_remove("DBUS_SESSION_BUS_ADDRESS")
            .envs(self.extra_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null());
        match &self.display {
            Some(d) => c.env("DISPLAY", d),
            None => c.env_remove("DISPLAY"),
        };
        c
    }

    /// Runs a command to completion.
    pub fn run(&self, args: &[&str]) -> Output {
        self.cmd(args).output().expect("run glasshouse")
    }

    /// Runs a command that must succeed and returns its stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "glasshouse {args:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Starts `glasshouse record` and waits until `status` says it is recording.
    pub fn record(&self) -> Recording {
        self.start_recording(false)
    }

    /// Like [`App::record`], in a process group of its own, as a shell starts a foreground job.
    pub fn record_in_own_group(&self) -> Recording {
        self.start_recording(true)
    }

    fn start_recording(&self, own_group: bool) -> Recording {
        use std::os::unix::process::CommandExt;
        let log = self
            .runtime
            .path()
            .join(format!("record-{}.log", canary("")));
        let mut cmd = self.cmd(&["record"]);
        if own_group {
            cmd.process_group(0);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start glasshouse record");
        let rec = Recording {
            child: Some(child),
            log,
        };
        wait_for("status: recording", Duration::from_secs(20), || {
            (self.status()["state"] == "recording").then_some(())
        });
        rec
    }

    pub fn status(&self) -> Value {
        serde_json::from_str(&self.ok(&["status", "--json"])).expect("status --json is JSON")
    }

    /// All exported events.
    pub fn export(&self, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["export"];
        args.extend_from_slice(extra);
        self.ok(&args)
            .lines()
            .map(|l| serde_json::from_str(l).expect("each export line is JSON"))
            .collect()
    }

    /// The typed text of key_down events attributed to `title`, concatenated.
    pub fn typed_in(&self, title: &str) -> String {
        self.export(&[])
            .iter()
            .filter(|e| e["kind"] == "key_down" && e["title"] == title)
            .filter_map(|e| e["text"].as_str().map(str::to_owned))
            .collect()
    }

    /// The database file and its WAL (whichever exist).
    pub fn db_files(&self) -> Vec<PathBuf> {
        ["glasshouse.db", "glasshouse.db-wal"]
            .iter()
            .map(|f| self.data.path().join(f))
            .filter(|p| p.exists())
            .collect()
    }

    /// Whether any byte of any file in the data folder holds `needle`, as it is on disk or
    /// decrypted with the key (every page of the database and of its WAL, free and old ones
    /// included: what someone who has the key could read off the disk).
    pub fn stored_bytes_contain(&self, needle: &str) -> bool {
        let has = |bytes: &[u8]| bytes.windows(needle.len()).any(|w| w == needle.as_bytes());
        let on_disk = std::fs::read_dir(self.data.path())
            .unwrap()
            .filter_map(|e| std::fs::read(e.unwrap().path()).ok())
            .any(|b| has(&b));
        let db = self.data.path().join("glasshouse.db");
        let keyed =
            glasshouse_vault::state(self.data.path(), &self.data.path().join("glasshouse.db"))
                .unwrap()
                != glasshouse_vault::KeyState::New;
        on_disk
            || (keyed && has(&glasshouse_store::raw::decrypted_pages(&db, &self.key()).unwrap()))
    }
}

/// A running `glasshouse record`; stopped with SIGTERM on drop.
pub struct Recording {
    child: Option<Child>,
    log: PathBuf,
}

impl Recording {
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().unwrap().try_wait().unwrap().is_none()
    }

    /// Sends SIGTERM and returns the exit status and stderr.
    pub fn stop(self) -> (std::process::ExitStatus, String) {
        let pid = self.pid().to_string();
        self.signal(&["-TERM", &pid])
    }

    /// Sends SIGINT to the recorder's whole process group, as Ctrl-C in a terminal does.
    pub fn interrupt_group(self) -> (std::process::ExitStatus, String) {
        let group = format!("-{}", self.pid());
        self.signal(&["-INT", "--", &group])
    }

    fn signal(mut self, args: &[&str]) -> (std::process::ExitStatus, String) {
        let mut child = self.child.take().unwrap();
        Command::new("kill").args(args).status().unwrap();
        let deadline = Instant::now() + Duration::from_secs(20);
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "record did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        let status = child.wait().unwrap();
        (
            status,
            std::fs::read_to_string(&self.log).unwrap_or_default(),
        )
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// ---------- The dashboard: the tray app, tauri-driver and the page ----------

/// `target/screenshots/`, with the pictures of an earlier run of the same test (named
/// `<prefix>*.png`) removed: tests run in parallel and keep their hands off each other's.
pub fn screenshots_dir(prefix: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&dir).unwrap().flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(prefix) && name.ends_with(".png") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
    dir
}

/// The tauri-driver binary: the repository's own install (`scripts/test.sh` puts it in
/// `.tools/bin`), else one on the PATH.
pub fn tauri_driver() -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/tauri-driver");
    if local.exists() {
        return Some(local);
    }
    which("tauri-driver")
}

pub fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|d| Path::new(d).join(name))
        .find(|p| p.is_file())
}

/// Whether the end-to-end UI test can run here: the X tools, WebKitWebDriver and tauri-driver.
/// Under `GLASSHOUSE_X_TESTS=1` (CI) a missing tool fails the test instead of skipping it.
pub fn ui_tools_available() -> Option<PathBuf> {
    if !x_available() {
        return None;
    }
    let driver = tauri_driver();
    let native = which("WebKitWebDriver");
    if let (Some(driver), Some(_)) = (&driver, native) {
        return Some(driver.clone());
    }
    let what = "tauri-driver (scripts/test.sh installs it into .tools) or WebKitWebDriver (Debian: webkit2gtk-driver)";
    if std::env::var("GLASSHOUSE_X_TESTS").as_deref() == Ok("1") {
        panic!("GLASSHOUSE_X_TESTS=1 but {what} is missing");
    }
    eprintln!("skipping: {what} is missing");
    None
}

/// A TCP port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind a free port")
}

pub fn alive(pid: u32) -> bool {
    // A zombie still has a /proc entry; it has no more memory or threads to speak of.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .unwrap_or("")
            .trim_start()
            .starts_with('Z')
    })
}

/// Sends SIGTERM to `pid`, then SIGKILL if it is still there after `grace`.
pub fn stop_pid(pid: u32, grace: Duration) {
    let signal = |sig: &str| {
        let _ = Command::new("kill")
            .args([sig, &pid.to_string()])
            .stderr(Stdio::null())
            .status();
    };
    signal("-TERM");
    let deadline = Instant::now() + grace;
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if alive(pid) {
        signal("-KILL");
    }
}

/// tauri-driver (with its WebKitWebDriver) on ports of its own; stopped on drop.
pub struct Driver {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Driver {
    /// Starts the driver with `env` (tauri-driver passes its environment on to the app).
    pub fn start(bin: &Path, env: &[(&str, &Path)], display: &str, log: PathBuf) -> Driver {
        for _ in 0..5 {
            let (port, native) = (free_port(), free_port());
            if port == native {
                continue;
            }
            let mut cmd = Command::new(bin);
            cmd.args(["--port", &port.to_string()])
                .args(["--native-port", &native.to_string()])
                .env("DISPLAY", display)
                .env_remove("WAYLAND_DISPLAY")
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&log).unwrap())
                .stderr(std::fs::File::create(log.with_extension("err.log")).unwrap());
            for (k, v) in env {
                cmd.env(k, v);
            }
            let mut driver = Driver {
                child: cmd.spawn().expect("start tauri-driver"),
                port,
                log: log.clone(),
            };
            // A port taken in between makes the driver exit quietly: then try other ports.
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(20) {
                if driver.child.try_wait().unwrap().is_some() {
                    break;
                }
                if webdriver::is_up(port) {
                    return driver;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            driver.stop();
        }
        panic!("tauri-driver did not come up (see {})", log.display());
    }

    /// tauri-driver for the processes of `app`: its environment ([`App::env`]) with `config` as
    /// `XDG_CONFIG_HOME`, on `display`, logging into the app's runtime folder.
    pub fn for_app(bin: &Path, app: &App, config: &Path, display: &str) -> Driver {
        let mut env = app.env();
        env.push(("XDG_CONFIG_HOME", config.to_owned()));
        let env: Vec<(&str, &Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();
        Driver::start(
            bin,
            &env,
            display,
            app.runtime.path().join("tauri-driver.log"),
        )
    }

    pub fn stop(&mut self) {
        if self.child.try_wait().unwrap().is_none() {
            let pid = self.child.id();
            let native = children(pid);
            // On SIGTERM tauri-driver kills its WebKitWebDriver and exits.
            stop_pid(pid, Duration::from_secs(5));
            for c in native {
                stop_pid(c, Duration::from_secs(2));
            }
        }
        let _ = self.child.wait();
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A process of the test's (the dashboard, found through its window); stopped on drop if it is
/// still there.
pub struct AppProcess(pub Option<u32>);

impl Drop for AppProcess {
    fn drop(&mut self) {
        if let Some(pid) = self.0
            && alive(pid)
        {
            stop_pid(pid, Duration::from_secs(10));
        }
    }
}

/// The tray app, started by the test; SIGTERM (as Quit) on drop.
pub struct Tray {
    child: Child,
    pub log: PathBuf,
}

impl Tray {
    pub fn start(app: &App, config: &Path) -> Tray {
        let log = app.runtime.path().join("tray.log");
        let child = app
            .cmd(&[])
            .env("XDG_CONFIG_HOME", config)
            .env("GLASSHOUSE_LOG", "debug")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("start the tray app");
        let tray = Tray { child, log };
        wait_for("the tray app recording", Duration::from_secs(30), || {
            let out = app.run(&["status", "--json"]);
            let s: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            (s["state"] == "recording" && s["pid"] == tray.pid()).then_some(())
        });
        tray
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// Quits the tray app as SIGTERM does (the way Quit does) and waits for it.
    pub fn quit(&mut self) {
        if self.running() {
            stop_pid(self.pid(), Duration::from_secs(20));
        }
        let _ = self.child.wait();
    }
}

impl Drop for Tray {
    fn drop(&mut self) {
        self.quit();
    }
}

pub fn xdotool_out(display: &str, args: &[&str]) -> String {
    Command::new("xdotool")
        .args(args)
        .env("DISPLAY", display)
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_default()
}

/// The dashboard's X window, if one is mapped.
pub fn dashboard_window(display: &str) -> Option<String> {
    xdotool_out(
        display,
        &["search", "--onlyvisible", "--name", "^Glasshouse$"],
    )
    .lines()
    .next()
    .map(str::to_owned)
}

/// Whether `pid` runs `glasshouse dashboard`.
pub fn is_dashboard(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == b"dashboard"))
}

/// A test's view of the dashboard page.
pub struct Ui<'a> {
    pub s: &'a Session,
    pub display: String,
    pub shots: PathBuf,
    /// Every screenshot's file name starts with this (see [`screenshots_dir`]).
    pub prefix: &'static str,
}

impl Ui<'_> {
    pub fn text(&self, css: &str) -> String {
        self.s.text_of(css).unwrap().unwrap_or_default()
    }

    pub fn click(&self, css: &str) {
        self.s
            .click(css)
            .unwrap_or_else(|e| panic!("click {css}: {e}"));
    }

    pub fn view(&self, name: &str) {
        self.click(&format!("nav button[data-view=\"{name}\"]"));
        wait_for(&format!("the {name} view"), Duration::from_secs(10), || {
            let shown = self
                .s
                .execute(
                    "const v = document.querySelector(`section.view[data-view=\"${arguments[0]}\"]`); return !!v && !v.hidden;",
                    json!([name]),
                )
                .unwrap();
            (shown == json!(true)).then_some(())
        });
    }

    pub fn wait_open_dialog(&self) {
        wait_for("the confirmation dialog", Duration::from_secs(10), || {
            let open = self
                .s
                .execute(
                    "return document.querySelector('#confirm-dialog').open;",
                    json!([]),
                )
                .unwrap();
            (open == json!(true)).then_some(())
        });
    }

    pub fn wait_text(&self, css: &str, what: &str, timeout: Duration, f: impl Fn(&str) -> bool) {
        let mut last = String::new();
        let start = Instant::now();
        while start.elapsed() < timeout {
            last = self.text(css);
            if f(&last) {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out after {timeout:?} waiting for {what}; {css} says {last:?}");
    }

    /// Saves a screenshot of the dashboard as it is now: the window is raised first and two
    /// frames are let through, so the picture is not one painted before the last change.
    pub fn shot(&self, name: &str) {
        let xdotool = |args: &[&str]| {
            Command::new("xdotool")
                .args(args)
                .env("DISPLAY", &self.display)
                .stderr(Stdio::null())
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
                .unwrap_or_default()
        };
        let window = xdotool(&["search", "--onlyvisible", "--name", "^Glasshouse$"]);
        if let Some(w) = window.lines().next() {
            xdotool(&["windowactivate", "--sync", w]);
        }
        self.s
            .execute_async(
                "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                json!([]),
            )
            .unwrap();
        let path = self.shots.join(format!("{}{name}.png", self.prefix));
        self.s
            .save_screenshot(&path)
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        eprintln!("screenshot: {}", path.display());
    }
}
