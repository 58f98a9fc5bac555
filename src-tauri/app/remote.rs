//! `glasshouse dashboard`: the dashboard window in a process of its own, over the recorder of
//! another process (the tray app, which starts it, or `glasshouse record`). Its commands ask that
//! recorder over the control socket and read the store read-only; a subscription to the
//! recorder's pushes is re-emitted to the window as the same events the UI has always listened
//! to. The process ends when its window closes, and with it everything WebKit held.

use std::time::Duration;

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, RunEvent, Runtime};

use glasshouse_core::paths::Paths;
use glasshouse_recorder::{Push, RecorderError, Request, Response, control, signals};
use glasshouse_store::DbKey;

use super::events;
use super::state::AppState;
use super::window;
use crate::cli::key::KeySource;
use crate::error::AppError;

/// How long to wait before subscribing again after the stream ended.
const RETRY: Duration = Duration::from_secs(1);

/// The `connection` event: whether the window is following the recorder, and if not, why.
#[derive(Debug, Clone, Serialize)]
pub struct Connection {
    pub connected: bool,
    pub message: Option<String>,
}

/// Runs the dashboard process until its window closes.
pub fn run(
    paths: &Paths,
    keys: &KeySource,
    view: Option<&str>,
    key_from_stdin: bool,
) -> Result<(), AppError> {
    // The key first, so that it is read from the pipe whatever happens next.
    let key = if key_from_stdin {
        read_key()?
    } else {
        keys.existing_key(paths)?
    };
    // Say at once when there is nothing to show (exit code 3, as for `pause`).
    match control::request(paths, &Request::Status) {
        Ok(Response::Status(_)) => {}
        Ok(other) => {
            return Err(RecorderError::Protocol(format!("unexpected answer {other:?}")).into());
        }
        Err(e) => return Err(e.into()),
    }
    super::require_display()?;
    signals::install();
    let follow_paths = paths.clone();
    let view = view.map(str::to_owned);
    let app = super::build(tauri::Builder::default())
        .manage(AppState::remote(paths.clone(), key))
        .setup(move |app| {
            let handle = app.handle().clone();
            window::open_at(&handle, view.as_deref());
            let follower = handle.clone();
            std::thread::Builder::new()
                .name("follow-recorder".into())
                .spawn(move || follow(&follower, &follow_paths))?;
            // SIGTERM and Ctrl-C close the window the way its close button does.
            let exit = handle.clone();
            std::thread::spawn(move || {
                while !signals::stop_requested() {
                    std::thread::sleep(Duration::from_millis(100));
                }
                exit.exit(0);
            });
            Ok(())
        })
        .build(super::context())
        .map_err(|e| AppError::Desktop(e.to_string()))?;
    // The default: the process exits once its one window is closed.
    app.run(|_, event| match event {
        RunEvent::WindowEvent {
            event: tauri::WindowEvent::CloseRequested { .. },
            ..
        } => tracing::debug!("dashboard: its window is closing"),
        RunEvent::Exit => tracing::debug!("dashboard process exits"),
        _ => {}
    });
    Ok(())
}

/// The key the tray app writes on standard input: one line of 64 hex digits.
fn read_key() -> Result<DbKey, AppError> {
    use std::io::BufRead;
    let mut line = zeroize::Zeroizing::new(String::new());
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| AppError::Usage(format!("cannot read the key on standard input: {e}")))?;
    DbKey::from_hex(line.trim()).ok_or_else(|| {
        AppError::Usage(
            "--key-from-stdin expects the database key as 64 hex digits on standard input".into(),
        )
    })
}

/// Follows the recorder's pushes and re-emits them to the window, until the recorder says it is
/// stopping. When the stream ends otherwise (the recorder died, or dropped this subscriber for
/// falling behind), the window is told (`connection`) and the subscription is tried again; once
/// back, everything is sent afresh, since pushes were missed.
fn follow<R: Runtime>(app: &AppHandle<R>, paths: &Paths) {
    let mut lost = false;
    loop {
        match control::subscribe(paths, true) {
            Ok(pushes) => {
                if lost {
                    lost = false;
                    resync(app);
                }
                for push in pushes {
                    match push {
                        Ok(Push::Closing) => {
                            // The recorder stops (the tray app quits): nothing left to show.
                            tracing::debug!("dashboard: the recorder is stopping");
                            app.exit(0);
                            return;
                        }
                        Ok(p) => emit(app, p),
                        Err(e) => {
                            tracing::warn!("dashboard: {e}");
                            break;
                        }
                    }
                }
                if !lost {
                    lost = true;
                    tell(
                        app,
                        false,
                        Some("Lost the connection to Glasshouse; reconnecting…".into()),
                    );
                }
            }
            Err(e) => {
                let message = match e {
                    RecorderError::NotRunning { .. } => {
                        "Glasshouse is not running; this window follows it again once it is back."
                            .to_owned()
                    }
                    other => format!("Cannot follow Glasshouse: {other}."),
                };
                lost = true;
                tell(app, false, Some(message));
            }
        }
        std::thread::sleep(RETRY);
    }
}

fn tell<R: Runtime>(app: &AppHandle<R>, connected: bool, message: Option<String>) {
    let _ = app.emit(events::CONNECTION, Connection { connected, message });
}

/// After a reconnection: the state, the feed and "everything changed".
fn resync<R: Runtime>(app: &AppHandle<R>) {
    tell(app, true, None);
    let state = app.state::<AppState>();
    if let Ok(status) = state.status() {
        emit(app, Push::Status(Box::new(status)));
    }
    if let Ok(items) = state.feed() {
        emit(app, Push::Feed(items));
    }
    emit(app, Push::DataChanged);
}

/// One push as the event the UI listens to.
fn emit<R: Runtime>(app: &AppHandle<R>, push: Push) {
    let _ = match push {
        Push::Status(s) => app.emit(events::STATUS, s),
        Push::Feed(items) => app.emit(events::FEED, items),
        Push::Counters(c) => app.emit(events::COUNTERS, c),
        Push::DataChanged => app.emit(events::DATA_CHANGED, ()),
        Push::Uploads { pending } => {
            app.emit(events::UPLOADS, serde_json::json!({ "pending": pending }))
        }
        Push::Focus => {
            tracing::debug!("dashboard: asked to come to the front");
            let handle = app.clone();
            app.run_on_main_thread(move || window::open(&handle))
        }
        Push::FocusView { view } => {
            let handle = app.clone();
            app.run_on_main_thread(move || window::open_at(&handle, Some(&view)))
        }
        Push::Closing => Ok(()),
    };
}
