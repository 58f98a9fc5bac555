//! The app's shared state: the recorder, in this process (the tray app) or in another one (the
//! dashboard process asks the tray app or `glasshouse record` over the control socket), and the
//! observer through which the recorder tells the tray what happened.

use std::sync::{Mutex, OnceLock};

use tauri::{AppHandle, Runtime};

use glasshouse_core::paths::Paths;
use glasshouse_recorder::feed::FeedItem;
use glasshouse_recorder::{Observer, Recorder, RecorderError, Request, Response, Status, control};
use glasshouse_store::{DbKey, Reader};

use super::ipc::IpcError;
use super::launcher::Launcher;
use super::{notify, tray};

/// Managed by Tauri: reachable from every command.
pub struct AppState {
    pub paths: Paths,
    /// The key of the encrypted store, for the readers this process opens.
    pub key: DbKey,
    backend: Backend,
}

/// Where the recorder runs.
enum Backend {
    /// In this process: the tray app (and the mock-runtime tests).
    Local(Box<Mutex<Option<Recorder>>>),
    /// In another process, asked over the control socket: the dashboard process.
    Remote,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.backend {
            Backend::Local(_) => "local",
            Backend::Remote => "remote",
        };
        f.debug_struct("AppState")
            .field("paths", &self.paths)
            .field("backend", &backend)
            .finish()
    }
}

impl AppState {
    /// The recorder runs in this process.
    pub fn local(paths: Paths, key: DbKey, recorder: Recorder) -> AppState {
        AppState {
            paths,
            key,
            backend: Backend::Local(Box::new(Mutex::new(Some(recorder)))),
        }
    }

    /// The recorder of `paths` runs in another process.
    pub fn remote(paths: Paths, key: DbKey) -> AppState {
        AppState {
            paths,
            key,
            backend: Backend::Remote,
        }
    }

    /// Asks the recorder, in this process or over the control socket: the same requests, the
    /// same answers.
    pub fn request(&self, req: Request) -> Result<Response, IpcError> {
        let recorder = match &self.backend {
            Backend::Local(recorder) => recorder,
            Backend::Remote => {
                return control::request(&self.paths, &req).map_err(|e| match e {
                    RecorderError::Remote { message, .. } => IpcError::new("recorder", message),
                    RecorderError::NotRunning { .. } => IpcError::new(
                        "recorder",
                        "Glasshouse is not running: start it again to see and change what it records.",
                    ),
                    other => IpcError::new("recorder", other.to_string()),
                });
            }
        };
        let guard = recorder.lock().unwrap_or_else(|e| e.into_inner());
        let recorder = guard
            .as_ref()
            .ok_or_else(|| IpcError::new("recorder", "Glasshouse is shutting down."))?;
        match recorder.request(req) {
            Response::Error { message, .. } => Err(IpcError::new("recorder", message)),
            other => Ok(other),
        }
    }

    pub fn status(&self) -> Result<Status, IpcError> {
        match self.request(Request::Status)? {
            Response::Status(s) => Ok(*s),
            other => Err(IpcError::new(
                "recorder",
                format!("unexpected answer {other:?}"),
            )),
        }
    }

    /// The live feed as the recorder keeps it.
    pub fn feed(&self) -> Result<Vec<FeedItem>, IpcError> {
        match self.request(Request::Feed)? {
            Response::Feed { items } => Ok(items),
            other => Err(IpcError::new(
                "recorder",
                format!("unexpected answer {other:?}"),
            )),
        }
    }

    /// A read-only connection to the store (WAL lets any process read while the recorder writes).
    pub fn reader(&self) -> Result<Reader, IpcError> {
        Ok(Reader::open(&self.paths.database(), &self.key)?)
    }

    /// Stops a recorder of this process, storing everything it holds. Safe to call twice; does
    /// nothing in the dashboard process.
    pub fn shutdown(&self) {
        let Backend::Local(recorder) = &self.backend else {
            return;
        };
        let taken = recorder.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(r) = taken
            && let Err(e) = r.shutdown()
        {
            tracing::error!("while stopping the recorder: {e}");
        }
    }
}

/// The tray app's observer of its recorder: keeps the tray icon and menu in line with the state,
/// notifies, and starts the dashboard process when asked to show the dashboard.
pub struct AppObserver<R: Runtime> {
    pub app: OnceLock<AppHandle<R>>,
    pub launcher: Launcher,
    last_state: Mutex<Option<notify::Seen>>,
    last_pending: Mutex<Option<usize>>,
}

impl<R: Runtime> AppObserver<R> {
    pub fn new(paths: &Paths, key: &DbKey) -> AppObserver<R> {
        AppObserver {
            app: OnceLock::new(),
            launcher: Launcher::new(paths.clone(), key.clone()),
            last_state: Mutex::new(None),
            last_pending: Mutex::new(None),
        }
    }
}

impl<R: Runtime> std::fmt::Debug for AppObserver<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppObserver")
            .field("attached", &self.app.get().is_some())
            .finish()
    }
}

impl<R: Runtime> Observer for AppObserver<R> {
    fn state_changed(&self, status: &Status) {
        let Some(app) = self.app.get() else { return };
        // Off the main thread the tray's setters wait for the main thread, which may itself be
        // waiting for this answer (a menu click asking the recorder something): hand the update
        // to the main thread instead of waiting for it, or the app deadlocks.
        let (handle, now) = (app.clone(), status.clone());
        let _ = app.run_on_main_thread(move || tray::update(&handle, &now));
        let now = (
            status.state,
            status.capture_error.clone(),
            status.paused_until,
        );
        let before = self
            .last_state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(now.clone());
        notify::on_change(app, before.as_ref(), &now);
    }

    /// No dashboard window is subscribed: start the dashboard process (once the tray is set up).
    fn show(&self) -> bool {
        self.app.get().is_some() && self.launcher.open(None)
    }

    fn show_view(&self, view: &str) -> bool {
        self.app.get().is_some() && self.launcher.open(Some(view))
    }

    fn uploads_changed(&self, pending: usize) {
        let Some(app) = self.app.get() else { return };
        // As for the state: the tray is changed on the main thread, without waiting for it.
        let handle = app.clone();
        let _ = app.run_on_main_thread(move || tray::set_pending(&handle, pending));
        let before = self
            .last_pending
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(pending);
        notify::on_pending(app, before, pending);
    }
}
