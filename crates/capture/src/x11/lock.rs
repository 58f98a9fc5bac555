//! Whether the screen is locked, on an x11rb connection of its own, driven by events.
//!
//! The MIT-SCREEN-SAVER extension says when the screen saver turns on and off. That is "locked"
//! only in part: any input turns the saver off, while a screen locker started with it (xss-lock
//! running i3lock, say) stays up and takes the password. So when the saver goes off the watcher
//! asks whether another client holds the keyboard, as every X screen locker does, and keeps
//! reporting "locked" until that grab is gone (looked at every [`POLL`]). A plain blank screen
//! with no locker ends at the first key or movement.
//!
//! The grab is probed without taking it: a GrabKeyboard request stamped an hour in the server's
//! future fails with AlreadyGrabbed when another client holds the keyboard, and with
//! InvalidTime otherwise, because the server looks for an active grab before it checks the time.
//!
//! Not seen here: a locker started without the screen saver (GNOME Shell's, KDE's, `i3lock`
//! bound to a key). Desktop lockers announce themselves on the session bus instead, which
//! [`super::bus`] watches; [`LockState`] reports the screen as locked while either says so.

use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use glasshouse_core::model::now_micros;
use x11rb::connection::{Connection as _, RequestConnection as _};
use x11rb::errors::{ConnectionError, ReplyError};
use x11rb::protocol::Event;
use x11rb::protocol::screensaver::{self, ConnectionExt as _};
use x11rb::protocol::xproto::{ConnectionExt as _, GrabMode, GrabStatus, Window as XWindow};
use x11rb::rust_connection::RustConnection;

use crate::CaptureError;
use crate::wire::Frame;
use crate::worker::Item;

/// How often the watcher looks whether a locker still holds the keyboard after the screen saver
/// went off. Input in the last such interval after an unlock is not stored.
const POLL: Duration = Duration::from_millis(250);

/// How far in the server's future the probing grab is stamped: far enough to stay ahead of any
/// drift between our clock and the server's, and well under the half month (2^31 ms) past
/// which the server would read the time as in the past.
const PROBE_AHEAD_MS: u32 = 3_600_000;

/// Who says the screen is locked.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Source {
    /// The X screen saver and the keyboard grab of a locker (this module).
    XScreenSaver,
    /// A screen saver service on the session bus ([`super::bus`]).
    SessionBus,
}

/// The screen lock as sent to the recorder: locked while any source says so. The first report
/// is always sent (after a restart of the worker it corrects a lock the recorder still
/// believes in), then every change of the combined state.
#[derive(Clone)]
pub(crate) struct LockState {
    inner: Arc<Mutex<Sources>>,
    out: Sender<Item<rdev::Event>>,
}

#[derive(Default)]
struct Sources {
    x: bool,
    bus: bool,
    sent: Option<bool>,
}

impl LockState {
    pub(crate) fn new(out: Sender<Item<rdev::Event>>) -> LockState {
        LockState {
            inner: Arc::default(),
            out,
        }
    }

    /// What `source` now says.
    pub(crate) fn set(&self, source: Source, locked: bool) {
        let mut s = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match source {
            Source::XScreenSaver => s.x = locked,
            Source::SessionBus => s.bus = locked,
        }
        let now = s.x || s.bus;
        if s.sent == Some(now) {
            return;
        }
        s.sent = Some(now);
        let frame = Frame::Lock {
            ts: now_micros(),
            locked: now,
        };
        let _ = self.out.send(Item::Frame(frame));
    }
}

/// Starts the watcher thread; it reports the state it finds first, then every change. A server
/// without the screen saver extension is reported on stderr and watched no further: capture
/// itself still works.
pub(crate) fn start(state: LockState) -> Result<(), CaptureError> {
    let (conn, screen, display) = super::connect()?;
    let lost = |e: &dyn std::fmt::Display| CaptureError::ConnectionLost(e.to_string());
    match conn.extension_information(screensaver::X11_EXTENSION_NAME) {
        Ok(Some(_)) => {}
        Ok(None) => {
            eprintln!(
                "capture worker: the X display {display} has no MIT-SCREEN-SAVER extension; \
                 a locked screen will not pause recording"
            );
            return Ok(());
        }
        Err(e) => return Err(lost(&e)),
    }
    let root = conn.setup().roots[screen].root;
    conn.screensaver_query_version(1, 1)
        .map_err(|e| lost(&e))?
        .reply()
        .map_err(|e| lost(&e))?;
    conn.screensaver_select_input(
        root,
        screensaver::Event::NOTIFY_MASK | screensaver::Event::CYCLE_MASK,
    )
    .map_err(|e| lost(&e))?;
    let info = conn
        .screensaver_query_info(root)
        .map_err(|e| lost(&e))?
        .reply()
        .map_err(|e| lost(&e))?;
    let saver_on = [screensaver::State::ON, screensaver::State::CYCLE]
        .iter()
        .any(|s| u8::from(*s) == info.state);
    let mut watcher = Watcher {
        conn,
        root,
        state,
        locked: false,
        saver_on,
        server_time: None,
    };
    thread::Builder::new()
        .name("capture-lock".into())
        .spawn(move || watcher.run())
        .map_err(|e| CaptureError::Listen(format!("cannot start a thread: {e}")))?;
    Ok(())
}

struct Watcher {
    conn: RustConnection,
    root: XWindow,
    state: LockState,
    /// What this watcher last reported.
    locked: bool,
    saver_on: bool,
    /// The server's time (ms) in the last screen saver event, and when it arrived.
    server_time: Option<(u32, Instant)>,
}

impl Watcher {
    fn run(&mut self) {
        if let Err(e) = self.watch() {
            let reason = CaptureError::ConnectionLost(e.to_string()).to_string();
            let _ = self.state.out.send(Item::Fatal(reason));
        }
    }

    fn watch(&mut self) -> Result<(), ConnectionError> {
        // The state found at start is always sent: after a restart of the worker it corrects a
        // lock the recorder still believes in.
        self.report(self.saver_on, true);
        loop {
            let event = if self.locked && !self.saver_on {
                // Waiting for the locker to let go of the keyboard.
                match self.conn.poll_for_event()? {
                    Some(event) => event,
                    None => {
                        thread::sleep(POLL);
                        if !self.locker_holds_keyboard()? {
                            self.report(false, false);
                        }
                        continue;
                    }
                }
            } else {
                self.conn.wait_for_event()?
            };
            if let Event::ScreensaverNotify(n) = event {
                self.server_time = Some((n.time, Instant::now()));
                self.saver_on =
                    matches!(n.state, screensaver::State::ON | screensaver::State::CYCLE);
                if self.saver_on {
                    self.report(true, false);
                } else if self.locked && !self.locker_holds_keyboard()? {
                    self.report(false, false);
                }
            }
        }
    }

    /// Reports the state if it changed (or `always`).
    fn report(&mut self, locked: bool, always: bool) {
        if locked == self.locked && !always {
            return;
        }
        self.locked = locked;
        self.state.set(Source::XScreenSaver, locked);
    }

    /// Whether another client holds the keyboard grab (see the module's doc: this never grabs).
    fn locker_holds_keyboard(&self) -> Result<bool, ConnectionError> {
        let Some((at, seen)) = self.server_time else {
            return Ok(false);
        };
        let elapsed = u32::try_from(seen.elapsed().as_millis()).unwrap_or(u32::MAX / 4);
        let future = at.wrapping_add(elapsed).wrapping_add(PROBE_AHEAD_MS);
        let reply = match self
            .conn
            .grab_keyboard(false, self.root, future, GrabMode::ASYNC, GrabMode::ASYNC)?
            .reply()
        {
            Ok(reply) => reply,
            Err(ReplyError::X11Error(_)) => return Ok(false),
            Err(ReplyError::ConnectionError(e)) => return Err(e),
        };
        if reply.status == GrabStatus::SUCCESS {
            // Only if the server's clock ran an hour ahead of ours: give the keyboard back at once.
            self.conn.ungrab_keyboard(x11rb::CURRENT_TIME)?;
            self.conn.flush()?;
        }
        Ok(reply.status == GrabStatus::ALREADY_GRABBED)
    }
}
