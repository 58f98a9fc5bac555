//! The app's shared state: the running recorder, the live feed, and the observer through which
//! the recorder tells the window and the tray what happened.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde::Serialize;
use tauri::{AppHandle, Emitter, Manager, Runtime};

use glasshouse_core::model::now_micros;
use glasshouse_core::paths::Paths;
use glasshouse_core::policy::Emitted;
use glasshouse_recorder::{Observer, Recorder, Request, Response, Status};
use glasshouse_store::{Counts, Reader};

use super::feed::Feed;
use super::ipc::IpcError;
use super::{events, notify, tray, window};

/// Today's counters as the dashboard shows them.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Counters {
    pub counts: Counts,
    pub excluded_secs: u64,
}

/// What the observer and the commands share.
#[derive(Debug, Default)]
pub struct Shared {
    pub feed: Mutex<Feed>,
    feed_dirty: AtomicBool,
    last_stored: Mutex<Option<Instant>>,
    last_state: Mutex<Option<notify::Seen>>,
}

/// Managed by Tauri: reachable from every command.
pub struct AppState {
    pub paths: Paths,
    pub shared: Arc<Shared>,
    recorder: Mutex<Option<Recorder>>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("paths", &self.paths)
            .finish()
    }
}

impl AppState {
    pub fn new(paths: Paths, shared: Arc<Shared>, recorder: Recorder) -> AppState {
        AppState {
            paths,
            shared,
            recorder: Mutex::new(Some(recorder)),
        }
    }

    /// Asks the recorder, exactly as the control socket would.
    pub fn request(&self, req: Request) -> Result<Response, IpcError> {
        let guard = self.recorder.lock().unwrap_or_else(|e| e.into_inner());
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

    pub fn reader(&self) -> Result<Reader, IpcError> {
        Ok(Reader::open(&self.paths.database())?)
    }

    /// Stops the recorder, storing everything it holds. Safe to call twice.
    pub fn shutdown(&self) {
        let taken = self
            .recorder
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        if let Some(r) = taken
            && let Err(e) = r.shutdown()
        {
            tracing::error!("while stopping the recorder: {e}");
        }
    }
}

/// The recorder's observer: forwards to the window and the tray once the app exists.
pub struct AppObserver<R: Runtime> {
    pub app: OnceLock<AppHandle<R>>,
    pub shared: Arc<Shared>,
}

impl<R: Runtime> std::fmt::Debug for AppObserver<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppObserver")
            .field("attached", &self.app.get().is_some())
            .finish()
    }
}

impl<R: Runtime> Observer for AppObserver<R> {
    fn stored(&self, events: &[Emitted]) {
        let mut feed = self.shared.feed.lock().unwrap_or_else(|e| e.into_inner());
        for (window, e) in events {
            feed.push(window, e.ts, &e.event);
        }
        self.shared.feed_dirty.store(true, Ordering::SeqCst);
        *self
            .shared
            .last_stored
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(Instant::now());
    }

    fn state_changed(&self, status: &Status) {
        let Some(app) = self.app.get() else { return };
        // Off the main thread the tray's setters wait for the main thread, which may itself be
        // waiting for this answer (a command or a menu click asking the recorder something):
        // hand the update to the main thread instead of waiting for it, or the app deadlocks.
        let (handle, now) = (app.clone(), status.clone());
        let _ = app.run_on_main_thread(move || tray::update(&handle, &now));
        let _ = app.emit(events::STATUS, status);
        let now = (
            status.state,
            status.capture_error.clone(),
            status.paused_until,
        );
        let before = self
            .shared
            .last_state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .replace(now.clone());
        notify::on_change(app, before.as_ref(), &now);
    }

    fn data_changed(&self) {
        let Some(app) = self.app.get() else { return };
        if let Some(state) = app.try_state::<AppState>() {
            rebuild_feed(&state);
        }
        let _ = app.emit(events::DATA_CHANGED, ());
    }

    fn show(&self) -> bool {
        let Some(app) = self.app.get() else {
            return false;
        };
        let handle = app.clone();
        app.run_on_main_thread(move || window::open(&handle))
            .is_ok()
    }
}

/// Refills the live feed from the store (at start, and after a delete took events away).
pub fn rebuild_feed(state: &AppState) {
    let recent = state.reader().and_then(|r| Ok(r.recent(400)?));
    let mut feed = state.shared.feed.lock().unwrap_or_else(|e| e.into_inner());
    feed.clear();
    if let Ok(rows) = recent {
        for row in rows {
            let window = glasshouse_core::model::Window {
                app: row.app,
                class: String::new(),
                title: row.title,
            };
            feed.push(&window, row.ts, &row.event);
        }
    }
    state.shared.feed_dirty.store(true, Ordering::SeqCst);
}

/// Today's counters, read from the rollups.
pub fn counters(reader: &Reader) -> Result<Counters, IpcError> {
    let today = chrono::Local::now().date_naive();
    let (start, _) = glasshouse_core::time::local_day_bounds(today);
    let totals = reader.totals(start, now_micros() + 1)?;
    Ok(Counters {
        counts: totals.counts,
        excluded_secs: totals.excluded_secs,
    })
}

/// Pushes the feed and the counters to the window while input arrives: at most four times a
/// second, and once more after input stops so the last commit is shown.
pub fn spawn_notifier<R: Runtime>(app: AppHandle<R>, shared: Arc<Shared>) {
    let _ = std::thread::Builder::new()
        .name("ui-notifier".into())
        .spawn(move || {
            let mut reader: Option<Reader> = None;
            let mut minute = now_micros() / 60_000_000;
            loop {
                std::thread::sleep(Duration::from_millis(250));
                if app.get_webview_window(window::LABEL).is_none() {
                    continue;
                }
                if shared.feed_dirty.swap(false, Ordering::SeqCst) {
                    let items = shared
                        .feed
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .items();
                    let _ = app.emit(events::FEED, items);
                }
                let recent = shared
                    .last_stored
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_some_and(|t| t.elapsed() < Duration::from_millis(1500));
                if recent {
                    if reader.is_none() {
                        reader = app.try_state::<AppState>().and_then(|s| s.reader().ok());
                    }
                    if let Some(r) = &reader {
                        match counters(r) {
                            Ok(c) => {
                                let _ = app.emit(events::COUNTERS, c);
                            }
                            Err(_) => reader = None,
                        }
                    }
                }
                // The charts show whole minutes: refresh them when a minute with input ends.
                let m = now_micros() / 60_000_000;
                if m != minute {
                    minute = m;
                    let _ = app.emit(events::DATA_CHANGED, ());
                }
            }
        });
}
