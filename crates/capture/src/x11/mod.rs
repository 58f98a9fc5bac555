//! The X11 backend: input through the RECORD extension (rdev, over Xlib), the focused window
//! and the screen lock through x11rb, each on a connection of its own.

mod bus;
mod events;
mod focus;
mod lock;
mod text;

use std::fs::File;
use std::sync::mpsc;
use std::sync::{Arc, atomic::AtomicBool};

use glasshouse_core::model::now_micros;
use x11rb::protocol::xproto::ConnectionExt as _;

use crate::CaptureError;
use crate::wire::Frame;
use crate::worker::{self, Item};

/// The display named by the environment, or why there is none.
fn display_name() -> Result<String, CaptureError> {
    match std::env::var("DISPLAY") {
        Ok(d) if !d.is_empty() => Ok(d),
        _ => match std::env::var_os("WAYLAND_DISPLAY") {
            Some(w) if !w.is_empty() => Err(CaptureError::WaylandOnly),
            _ => Err(CaptureError::NoDisplay),
        },
    }
}

pub(crate) fn connect()
-> Result<(x11rb::rust_connection::RustConnection, usize, String), CaptureError> {
    let display = display_name()?;
    let (conn, screen) = x11rb::connect(Some(&display)).map_err(|e| CaptureError::Connect {
        display: display.clone(),
        reason: e.to_string(),
    })?;
    Ok((conn, screen, display))
}

pub(crate) fn preflight() -> Result<(), CaptureError> {
    let (conn, _, display) = connect()?;
    let lost = |e: &dyn std::fmt::Display| CaptureError::ConnectionLost(e.to_string());
    let record = conn
        .query_extension(b"RECORD")
        .map_err(|e| lost(&e))?
        .reply()
        .map_err(|e| lost(&e))?;
    if !record.present {
        return Err(CaptureError::NoRecordExtension { display });
    }
    Ok(())
}

/// The worker on X11: preflight, focus tracking, then rdev's blocking listen on this thread.
pub(crate) fn run_worker(out: File) -> i32 {
    if let Err(e) = preflight() {
        return worker::write_error(out, &e.to_string());
    }
    let (tx, rx) = mpsc::channel::<Item<rdev::Event>>();
    // Started goes first so that the tracker's first Focus always follows it.
    let _ = tx.send(Item::Frame(Frame::Started));
    let input_hints = Arc::new(AtomicBool::new(false));
    let wake = match focus::start(tx.clone(), Arc::clone(&input_hints)) {
        Ok(wake) => wake,
        Err(e) => {
            drop(tx);
            // Nothing else has been queued yet: write Started, then the reason.
            let mut out = out;
            let _ = worker::write_loop(rx, &mut out, |_| None);
            return worker::write_error(out, &e.to_string());
        }
    };

    // Without them capture still works, but a locked screen would not pause recording: say so
    // and carry on, as for a server without the extension.
    let lock_state = lock::LockState::new(tx.clone());
    if let Err(e) = lock::start(lock_state.clone()) {
        eprintln!("capture worker: cannot watch the screen lock: {e}");
    }
    bus::start(lock_state);

    // From here on a closed stdin (the supervisor's stop) makes the writer write out what is
    // queued and exit the process.
    worker::exit_when_stdin_closes(tx.clone());

    let mut translator = events::Translator::new(wake, input_hints);
    let writer = std::thread::Builder::new()
        .name("capture-writer".into())
        .spawn(move || {
            let code =
                worker::write_loop(rx, out, |event: rdev::Event| translator.translate(event));
            // rdev's listen below never returns on success and cannot be stopped: leaving is
            // the writer's call.
            std::process::exit(code);
        });
    if let Err(e) = writer {
        eprintln!("capture worker: cannot start the writer thread: {e}");
        return worker::EXIT_ERROR;
    }

    let callback_tx = tx.clone();
    let result = rdev::listen(move |event| {
        // Only timestamp and enqueue: rdev's own `time` is when this callback ran, and anything
        // slow here delays every later event.
        let _ = callback_tx.send(Item::Raw(now_micros(), event));
    });
    let reason = match result {
        Ok(()) => "input capture stopped unexpectedly".to_owned(),
        Err(e) => CaptureError::Listen(listen_error(&e)).to_string(),
    };
    let _ = tx.send(Item::Fatal(reason));
    // The writer reports the reason and exits the process.
    loop {
        std::thread::park();
    }
}

fn listen_error(e: &rdev::ListenError) -> String {
    use rdev::ListenError as E;
    match e {
        E::MissingDisplayError => "cannot open the X display".into(),
        E::KeyboardError => "cannot read the keyboard layout from the X server".into(),
        E::XRecordExtensionError => "the X server has no RECORD extension".into(),
        E::RecordContextError | E::RecordContextEnablingError => {
            "the X server refused to start recording input".into()
        }
        other => format!("{other:?}"),
    }
}
