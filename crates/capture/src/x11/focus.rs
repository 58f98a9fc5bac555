//! Which window has the focus, on an x11rb connection of its own, driven by events (no polling).
//!
//! With an EWMH window manager the root's `_NET_ACTIVE_WINDOW` names the window, and a
//! PropertyNotify on the root fires on every switch. Without one there is no such property and
//! no event for focus moves, so the tracker falls back to `GetInputFocus` (walked up to the
//! window that has a WM_CLASS) and asks the writer to wake it on each key or button press.
//! Title changes arrive as PropertyNotify on the focused window itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread;

use glasshouse_core::model::{Window, now_micros};
use x11rb::connection::{Connection as _, RequestConnection as _};
use x11rb::errors::{ConnectionError, ReplyError};
use x11rb::protocol::Event;
use x11rb::protocol::res::{self, ClientIdMask, ClientIdSpec, ConnectionExt as _};
use x11rb::protocol::xproto::{
    Atom, AtomEnum, ChangeWindowAttributesAux, ConnectionExt as _, EventMask, GetPropertyReply,
    InputFocus, Window as XWindow,
};
use x11rb::rust_connection::RustConnection;

use crate::CaptureError;
use crate::wire::Frame;
use crate::worker::Item;

/// Why the tracker should look again.
#[derive(Debug)]
pub(crate) enum Wake {
    /// A property that matters changed.
    Property,
    /// A key or button was pressed (sent only while there is no EWMH window manager).
    Input,
    /// The connection to the X server broke.
    Lost(String),
}

struct Atoms {
    net_active_window: Atom,
    net_wm_name: Atom,
    net_wm_pid: Atom,
    utf8_string: Atom,
    compound_text: Atom,
}

/// Starts the tracker threads; it emits a first `Focus` right away. Returns the sender the
/// writer uses to wake it on input.
pub(crate) fn start(
    out: Sender<Item<rdev::Event>>,
    input_hints: Arc<AtomicBool>,
) -> Result<SyncSender<Wake>, CaptureError> {
    let (conn, screen, _) = super::connect()?;
    let lost = |e: ReplyError| CaptureError::ConnectionLost(e.to_string());
    let intern = |name: &[u8]| -> Result<Atom, CaptureError> {
        Ok(conn
            .intern_atom(false, name)
            .map_err(|e| lost(e.into()))?
            .reply()
            .map_err(lost)?
            .atom)
    };
    let atoms = Atoms {
        net_active_window: intern(b"_NET_ACTIVE_WINDOW")?,
        net_wm_name: intern(b"_NET_WM_NAME")?,
        net_wm_pid: intern(b"_NET_WM_PID")?,
        utf8_string: intern(b"UTF8_STRING")?,
        compound_text: intern(b"COMPOUND_TEXT")?,
    };
    let root = conn.setup().roots[screen].root;
    let has_res = matches!(
        conn.extension_information(res::X11_EXTENSION_NAME),
        Ok(Some(_))
    );
    conn.change_window_attributes(
        root,
        &ChangeWindowAttributesAux::new().event_mask(EventMask::PROPERTY_CHANGE),
    )
    .map_err(|e| lost(e.into()))?;

    let conn = Arc::new(conn);
    let (wake_tx, wake_rx) = mpsc::sync_channel(64);
    let watched = [
        atoms.net_active_window,
        atoms.net_wm_name,
        AtomEnum::WM_NAME.into(),
    ];
    let events_conn = Arc::clone(&conn);
    let events_wake = wake_tx.clone();
    thread::Builder::new()
        .name("capture-x-events".into())
        .spawn(move || forward_events(&events_conn, &watched, &events_wake))
        .map_err(|e| CaptureError::Listen(format!("cannot start a thread: {e}")))?;

    let mut tracker = Tracker {
        conn,
        root,
        atoms,
        has_res,
        input_hints,
        watching: None,
        last: None,
        out,
    };
    thread::Builder::new()
        .name("capture-focus".into())
        .spawn(move || tracker.run(&wake_rx))
        .map_err(|e| CaptureError::Listen(format!("cannot start a thread: {e}")))?;
    Ok(wake_tx)
}

fn forward_events(conn: &RustConnection, watched: &[Atom], wake: &SyncSender<Wake>) {
    loop {
        let msg = match conn.wait_for_event() {
            Ok(Event::PropertyNotify(e)) if watched.contains(&e.atom) => Wake::Property,
            // Errors of requests on windows that went away arrive here too: harmless.
            Ok(_) => continue,
            Err(e) => Wake::Lost(e.to_string()),
        };
        let lost = matches!(msg, Wake::Lost(_));
        if wake.send(msg).is_err() || lost {
            return;
        }
    }
}

struct Tracker {
    conn: Arc<RustConnection>,
    root: XWindow,
    atoms: Atoms,
    has_res: bool,
    input_hints: Arc<AtomicBool>,
    /// The window we asked for its PropertyNotify (title changes).
    watching: Option<XWindow>,
    last: Option<Window>,
    out: Sender<Item<rdev::Event>>,
}

/// Errors from the server about one window (it was destroyed meanwhile) are not fatal; a broken
/// connection is.
fn window_gone<T>(r: Result<T, ReplyError>) -> Result<Option<T>, ConnectionError> {
    match r {
        Ok(v) => Ok(Some(v)),
        Err(ReplyError::X11Error(_)) => Ok(None),
        Err(ReplyError::ConnectionError(e)) => Err(e),
    }
}

impl Tracker {
    fn run(&mut self, wake: &Receiver<Wake>) {
        let mut next = Some(Wake::Property);
        while let Some(w) = next.take().or_else(|| wake.recv().ok()) {
            if let Wake::Lost(reason) = w {
                self.fatal(reason);
                return;
            }
            // Coalesce a burst of wake-ups into one look-up.
            loop {
                match wake.try_recv() {
                    Ok(Wake::Lost(reason)) => {
                        self.fatal(reason);
                        return;
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
            if let Err(e) = self.update() {
                self.fatal(e.to_string());
                return;
            }
        }
    }

    fn fatal(&self, reason: String) {
        let reason = CaptureError::ConnectionLost(reason).to_string();
        let _ = self.out.send(Item::Fatal(reason));
    }

    fn update(&mut self) -> Result<(), ConnectionError> {
        let active = self.active_window()?;
        if active != self.watching {
            if let Some(old) = self.watching.take() {
                let aux = ChangeWindowAttributesAux::new().event_mask(EventMask::NO_EVENT);
                self.conn.change_window_attributes(old, &aux)?;
            }
            if let Some(new) = active {
                let aux = ChangeWindowAttributesAux::new().event_mask(EventMask::PROPERTY_CHANGE);
                self.conn.change_window_attributes(new, &aux)?;
                self.watching = Some(new);
            }
        }
        let window = match active {
            Some(w) => self.describe(w)?,
            None => Window::unknown(),
        };
        if self.last.as_ref() != Some(&window) {
            let ts = now_micros();
            self.last = Some(window.clone());
            let _ = self.out.send(Item::Frame(Frame::Focus { ts, window }));
        }
        Ok(())
    }

    fn property(
        &self,
        window: XWindow,
        property: impl Into<Atom>,
        type_: impl Into<Atom>,
    ) -> Result<Option<GetPropertyReply>, ConnectionError> {
        // 64 KiB is plenty for a title; longer values are cut by the server.
        let cookie = self
            .conn
            .get_property(false, window, property, type_, 0, 16 * 1024)?;
        Ok(window_gone(cookie.reply())?.filter(|r| r.type_ != x11rb::NONE))
    }

    fn active_window(&self) -> Result<Option<XWindow>, ConnectionError> {
        if let Some(reply) =
            self.property(self.root, self.atoms.net_active_window, AtomEnum::WINDOW)?
        {
            self.input_hints.store(false, Ordering::Relaxed);
            let w = reply.value32().and_then(|mut v| v.next()).unwrap_or(0);
            return Ok((w != x11rb::NONE).then_some(w));
        }
        // No EWMH window manager: we only learn of focus moves through input.
        self.input_hints.store(true, Ordering::Relaxed);
        let Some(focus) = window_gone(self.conn.get_input_focus()?.reply())? else {
            return Ok(None);
        };
        let mut start = focus.focus;
        if start == x11rb::NONE {
            return Ok(None);
        }
        if start == u32::from(InputFocus::POINTER_ROOT) || start == self.root {
            // Focus follows the pointer: the top-level window under it.
            let pointer = window_gone(self.conn.query_pointer(self.root)?.reply())?;
            start = pointer.map_or(x11rb::NONE, |p| p.child);
            if start == x11rb::NONE {
                return Ok(None);
            }
        }
        let mut w = start;
        loop {
            if self
                .property(w, AtomEnum::WM_CLASS, AtomEnum::STRING)?
                .is_some()
            {
                return Ok(Some(w));
            }
            let Some(tree) = window_gone(self.conn.query_tree(w)?.reply())? else {
                return Ok(Some(start));
            };
            if tree.parent == x11rb::NONE || tree.parent == tree.root {
                return Ok(Some(start));
            }
            w = tree.parent;
        }
    }

    fn describe(&self, w: XWindow) -> Result<Window, ConnectionError> {
        let (instance, class) = match self.property(w, AtomEnum::WM_CLASS, AtomEnum::STRING)? {
            Some(r) => {
                let mut parts = r.value.split(|&b| b == 0).map(super::text::latin1);
                (
                    parts.next().unwrap_or_default(),
                    parts.next().unwrap_or_default(),
                )
            }
            None => Default::default(),
        };
        let pid = match self.property(w, self.atoms.net_wm_pid, AtomEnum::CARDINAL)? {
            Some(r) => r.value32().and_then(|mut v| v.next()),
            None => None,
        };
        let pid = match pid {
            Some(pid) => Some(pid),
            None => self.client_pid(w)?,
        };
        let app = pid
            .and_then(process_name)
            .or_else(|| (!instance.is_empty()).then(|| instance.clone()))
            .unwrap_or_else(|| Window::UNKNOWN_APP.to_owned());
        Ok(Window {
            app,
            class,
            title: self.title(w)?,
        })
    }

    /// The pid of the client that created `w`, from the X-Resource extension (local clients only).
    fn client_pid(&self, w: XWindow) -> Result<Option<u32>, ConnectionError> {
        if !self.has_res {
            return Ok(None);
        }
        let spec = ClientIdSpec {
            client: w,
            mask: ClientIdMask::LOCAL_CLIENT_PID,
        };
        let reply = window_gone(self.conn.res_query_client_ids(&[spec])?.reply())?;
        Ok(reply.and_then(|r| {
            r.ids
                .iter()
                .find(|id| id.spec.mask.contains(ClientIdMask::LOCAL_CLIENT_PID))
                .and_then(|id| id.value.first().copied())
        }))
    }

    fn title(&self, w: XWindow) -> Result<String, ConnectionError> {
        if let Some(r) = self.property(w, self.atoms.net_wm_name, self.atoms.utf8_string)?
            && !r.value.is_empty()
        {
            return Ok(String::from_utf8_lossy(&r.value).into_owned());
        }
        let Some(r) = self.property(w, AtomEnum::WM_NAME, AtomEnum::ANY)? else {
            return Ok(String::new());
        };
        Ok(if r.type_ == u32::from(AtomEnum::STRING) {
            super::text::latin1(&r.value)
        } else if r.type_ == self.atoms.compound_text {
            super::text::compound_text(&r.value)
        } else {
            String::from_utf8_lossy(&r.value).into_owned()
        })
    }
}

/// The process name (`comm`) of a local pid.
fn process_name(pid: u32) -> Option<String> {
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
    let comm = comm.trim_end_matches('\n');
    (!comm.is_empty()).then(|| comm.to_owned())
}
