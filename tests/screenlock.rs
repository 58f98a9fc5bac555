//! A locked screen pauses recording end to end: the screen saver comes on and a real locker
//! (i3lock, as xss-lock starts it) takes the keyboard; what is typed then (the password, in life)
//! is captured by the X server's RECORD extension but never stored; once the locker leaves,
//! recording resumes by itself. Needs `xset` and `i3lock` besides the usual X tools.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::util::{App, Recording, XSession, canary, wait_for, which, x_available};

/// A screen locker on the test's display, killed on drop (as a right password would end it).
struct Locker(Child);

impl Drop for Locker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn xset(x: &XSession, arg: &str) {
    let ok = Command::new("xset")
        .args(["s", arg])
        .env("DISPLAY", x.display_name())
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "xset s {arg} failed");
}

/// Whether `xset` and `i3lock` are here; under `GLASSHOUSE_X_TESTS=1` their absence fails.
fn lock_tools() -> bool {
    let missing: Vec<&str> = ["xset", "i3lock"]
        .into_iter()
        .filter(|t| which(t).is_none())
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        std::env::var("GLASSHOUSE_X_TESTS").as_deref() != Ok("1"),
        "GLASSHOUSE_X_TESTS=1 but {missing:?} missing: run scripts/install-deps.sh build test"
    );
    eprintln!("skipping: {missing:?} missing (scripts/install-deps.sh build test)");
    false
}

/// An xterm titled with a new canary, `glasshouse record` running, and canary A typed into the
/// xterm and stored: (title, window, recording, canary A).
fn recording_with_a_canary(
    x: &mut XSession,
    app: &App,
    title_prefix: &str,
) -> (String, String, Recording, String) {
    let title = canary(title_prefix);
    let typed_a = canary("before");
    let win = x.xterm(&title);
    let rec = app.record();
    x.focus(&win);
    x.type_text(&typed_a);
    wait_for("canary A stored", Duration::from_secs(10), || {
        app.typed_in(&title).contains(&typed_a).then_some(())
    });
    (title, win, rec, typed_a)
}

/// Once the status says recording again, `typed` into the window (id, title) is stored.
fn recording_again_stores(x: &XSession, app: &App, (win, title): (&str, &str), typed: &str) {
    wait_for("status: recording again", Duration::from_secs(10), || {
        (app.status()["state"] == "recording").then_some(())
    });
    x.focus(win);
    x.type_text(typed);
    wait_for("canary C stored", Duration::from_secs(10), || {
        app.typed_in(title).contains(typed).then_some(())
    });
}

/// Every key typed anywhere, in order, is exactly `stored`: not one key of the canaries typed
/// while locked (given with their prefixes, which xdotool typed too).
fn assert_only_stored(app: &App, stored: &[&str], locked: &[(&str, &str)]) {
    let all: String = app
        .export(&[])
        .iter()
        .filter_map(|e| e["text"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(
        all,
        stored.concat(),
        "only what was typed while unlocked is stored"
    );
    for (typed, prefix) in locked {
        let keys = typed.strip_prefix(prefix).unwrap();
        assert!(
            !all.contains(keys),
            "input typed while locked was stored: {all}"
        );
    }
}

#[test]
fn a_locked_screen_pauses_recording_and_the_unlock_resumes_it() {
    if !x_available() || !lock_tools() {
        return;
    }
    let mut x = XSession::start();
    let app = App::new(Some(x.display_name()));
    let (title, win, rec, typed_a) = recording_with_a_canary(&mut x, &app, "locktitle");
    let typed_b = canary("locked");
    let typed_c = canary("after");

    // The screen saver comes on and a locker takes the screen, as xss-lock does.
    xset(&x, "activate");
    let status = wait_for("status: screen locked", Duration::from_secs(10), || {
        let s = app.status();
        (s["pause_reason"] == "screen_locked").then_some(s)
    });
    assert_eq!(status["state"], "paused", "{status}");
    let human = app.ok(&["status"]);
    assert!(human.contains("paused: screen locked"), "{human}");
    let locker = Locker(
        Command::new("i3lock")
            .arg("-n")
            .env("DISPLAY", x.display_name())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start i3lock"),
    );
    std::thread::sleep(Duration::from_millis(700));

    // Typed into the locker: the keys turn the screen saver off, the locker stays.
    x.type_text(&typed_b);
    x.xdotool(&["key", "Return"]);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(
        app.status()["pause_reason"],
        "screen_locked",
        "typing into the locker ended the lock"
    );

    // The locker leaves (a right password): recording resumes by itself.
    drop(locker);
    xset(&x, "reset");
    recording_again_stores(&x, &app, (&win, &title), &typed_c);

    // Every key typed anywhere, in order: A and C, and not one key of B.
    assert_only_stored(&app, &[&typed_a, &typed_c], &[(&typed_b, "locked")]);
    // Not in any byte of any file of the data directory.
    for entry in walk(app.data_dir()) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes
                .windows(typed_b.len())
                .any(|w| w == typed_b.as_bytes()),
            "{} holds what was typed while locked",
            entry.display()
        );
    }

    let log = app.ok(&["log"]);
    assert!(
        log.contains("screen locked: paused until it is unlocked"),
        "{log}"
    );
    assert!(log.contains("screen unlocked: recording resumed"), "{log}");
    let (status, stderr) = rec.stop();
    assert!(status.success(), "{stderr}");
    drop(x);
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// A private session bus (`dbus-daemon`), ended on drop.
struct SessionBus {
    daemon: Child,
    address: String,
}

impl SessionBus {
    fn start() -> SessionBus {
        use std::io::BufRead;
        let mut daemon = Command::new("dbus-daemon")
            .args(["--session", "--nofork", "--nopidfile", "--print-address=1"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dbus-daemon");
        let mut line = String::new();
        std::io::BufReader::new(daemon.stdout.take().unwrap())
            .read_line(&mut line)
            .expect("dbus-daemon prints its address");
        assert!(line.starts_with("unix:"), "dbus-daemon said {line:?}");
        SessionBus {
            daemon,
            address: line.trim().to_owned(),
        }
    }

    fn connect(&self) -> std::sync::Arc<dbus::blocking::SyncConnection> {
        let mut channel = dbus::channel::Channel::open_private(&self.address).unwrap();
        channel.register().unwrap();
        std::sync::Arc::new(channel.into())
    }
}

impl Drop for SessionBus {
    fn drop(&mut self) {
        let _ = self.daemon.kill();
        let _ = self.daemon.wait();
    }
}

const SAVER: &str = "org.freedesktop.ScreenSaver";
const SAVER_PATH: &str = "/org/freedesktop/ScreenSaver";

/// A desktop's screen saver service as GNOME's or KDE's session offers it: owns
/// `org.freedesktop.ScreenSaver`, answers `GetActive`, sends `ActiveChanged`. It leaves the bus
/// on drop.
struct ScreenSaverService {
    conn: std::sync::Arc<dbus::blocking::SyncConnection>,
    active: std::sync::Arc<std::sync::atomic::AtomicBool>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl ScreenSaverService {
    fn start(bus: &SessionBus) -> ScreenSaverService {
        use dbus::channel::{MatchingReceiver, Sender};
        use std::sync::atomic::{AtomicBool, Ordering};
        let conn = bus.connect();
        conn.request_name(SAVER, false, true, true).unwrap();
        let active = std::sync::Arc::new(AtomicBool::new(false));
        let answer = std::sync::Arc::clone(&active);
        conn.start_receive(
            dbus::message::MatchRule::new_method_call(),
            Box::new(move |msg, conn| {
                if msg.member().as_deref() == Some("GetActive") {
                    let _ = conn.send(msg.method_return().append1(answer.load(Ordering::SeqCst)));
                }
                true
            }),
        );
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let thread = {
            let (conn, stop) = (std::sync::Arc::clone(&conn), std::sync::Arc::clone(&stop));
            std::thread::spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let _ = conn.process(Duration::from_millis(50));
                }
            })
        };
        ScreenSaverService {
            conn,
            active,
            stop,
            thread: Some(thread),
        }
    }

    /// The lock comes (`true`) or goes, and the service says so.
    fn set_active(&self, active: bool) {
        self.active
            .store(active, std::sync::atomic::Ordering::SeqCst);
        send_active_changed(&self.conn, active);
    }
}

impl Drop for ScreenSaverService {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn send_active_changed(conn: &dbus::blocking::SyncConnection, active: bool) {
    use dbus::channel::Sender;
    let signal = dbus::Message::new_signal(SAVER_PATH, SAVER, "ActiveChanged")
        .unwrap()
        .append1(active);
    conn.send(signal).unwrap();
    conn.channel().flush();
}

/// A desktop's own screen locker (GNOME Shell's, KDE's), which the X screen saver knows nothing
/// of, announces the lock on the session bus: recording pauses and what is typed is not stored;
/// a forged "unlocked" from another client of the bus is not believed; the service's own
/// "unlocked" resumes recording, and so does the service leaving the bus.
#[test]
fn the_session_bus_screen_saver_pauses_recording_and_forgeries_do_not_end_it() {
    if !x_available() {
        return;
    }
    if which("dbus-daemon").is_none() {
        assert!(
            std::env::var("GLASSHOUSE_X_TESTS").as_deref() != Ok("1"),
            "GLASSHOUSE_X_TESTS=1 but dbus-daemon is missing: run scripts/install-deps.sh build test"
        );
        eprintln!("skipping: dbus-daemon missing");
        return;
    }
    let mut x = XSession::start();
    let bus = SessionBus::start();
    let saver = ScreenSaverService::start(&bus);
    let app = App::new(Some(x.display_name())).with_env("DBUS_SESSION_BUS_ADDRESS", &bus.address);
    let (title, win, rec, typed_a) = recording_with_a_canary(&mut x, &app, "buslock");
    let typed_b = canary("locked");
    let typed_c = canary("after");
    let typed_d = canary("relocked");

    saver.set_active(true);
    wait_for("status: screen locked", Duration::from_secs(10), || {
        (app.status()["pause_reason"] == "screen_locked").then_some(())
    });
    x.type_text(&typed_b);
    // Another client of the bus claims the lock is over: not the service's owner, not believed.
    let forger = bus.connect();
    send_active_changed(&forger, false);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        app.status()["pause_reason"],
        "screen_locked",
        "a forged ActiveChanged(false) ended the lock"
    );

    saver.set_active(false);
    recording_again_stores(&x, &app, (&win, &title), &typed_c);

    // Locked again, and then the service leaves the bus (its session ended or it crashed): the
    // lock goes with it rather than pausing recording for good.
    saver.set_active(true);
    wait_for(
        "status: screen locked again",
        Duration::from_secs(10),
        || (app.status()["pause_reason"] == "screen_locked").then_some(()),
    );
    x.type_text(&typed_d);
    std::thread::sleep(Duration::from_millis(500));
    drop(saver);
    wait_for(
        "status: recording after the service left",
        Duration::from_secs(10),
        || (app.status()["state"] == "recording").then_some(()),
    );

    assert_only_stored(
        &app,
        &[&typed_a, &typed_c],
        &[(&typed_b, "locked"), (&typed_d, "relocked")],
    );
    let (status, stderr) = rec.stop();
    assert!(status.success(), "{stderr}");
    drop(x);
}
