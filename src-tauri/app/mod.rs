//! The desktop app: a tray icon that is always there (this process, with the recorder; it never
//! builds a webview) and a dashboard window in a process of its own (`glasshouse dashboard`),
//! started on demand and ended with its window, over the control socket. Modules: `tray`,
//! `launcher` (the tray starts, reaps and stops the dashboard process), `remote` (the dashboard
//! process), `window`, `commands` (what the dashboard calls), `events` (what it is told), `state`
//! (the recorder, local or remote), `dashboard` (figures and charts), `notify`, `autostart`,
//! `ipc` (errors over IPC).

pub mod autostart;
pub mod commands;
pub mod dashboard;
pub mod events;
pub mod ipc;
pub mod launcher;
pub mod notify;
pub mod remote;
pub mod state;
pub mod tray;
pub mod unlock;
pub mod window;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use tauri::{Builder, Manager, RunEvent, Runtime};

use glasshouse_core::paths::Paths;
use glasshouse_recorder::instance::InstanceLock;
use glasshouse_recorder::{Recorder, RecorderError, RecorderOptions, Request, control, signals};
use glasshouse_store::DbKey;

use crate::cli::key::{self, KeySource};
use crate::error::AppError;
use state::{AppObserver, AppState};

/// How long the tray app gives its dashboard process to end when it quits.
const DASHBOARD_GRACE: Duration = Duration::from_secs(2);

/// Registers the plugins and commands: everything but the recorder, so a test can pass
/// `tauri::test::mock_builder()`.
pub fn build<R: Runtime>(builder: Builder<R>) -> Builder<R> {
    builder
        .plugin(tauri_plugin_notification::init())
        .invoke_handler(tauri::generate_handler![
            commands::status,
            commands::pause,
            commands::resume,
            commands::dashboard,
            commands::live_feed,
            commands::settings,
            commands::save_settings,
            commands::delete_preview,
            commands::delete,
            commands::activity,
            commands::autostart,
            commands::set_autostart,
            commands::uploads,
            commands::upload_batch,
            commands::uploads_decide,
            unlock::unlock_context,
            unlock::unlock_submit,
        ])
}

/// The app's Tauri context (the configuration, the capability, the embedded `ui/`): one for both
/// the tray app and the dashboard process.
fn context() -> tauri::Context<tauri::Wry> {
    tauri::generate_context!()
}

/// Starts the recorder for `paths` with an observer that will follow the app once it exists.
pub fn start_recorder<R: Runtime>(
    paths: &Paths,
    key: DbKey,
    worker: Option<glasshouse_capture::SupervisorConfig>,
) -> Result<(AppState, Arc<AppObserver<R>>), AppError> {
    let observer = Arc::new(AppObserver::new(paths, &key));
    let recorder = Recorder::start(RecorderOptions {
        paths: paths.clone(),
        key: key.clone(),
        worker,
        observer: Some(observer.clone()),
    })?;
    Ok((AppState::local(paths.clone(), key, recorder), observer))
}

/// Refuses to start a window without a graphical session (GTK would abort).
fn require_display() -> Result<(), AppError> {
    if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty())
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        return Err(AppError::Desktop(
            "there is no graphical session (DISPLAY is not set); to record without one use `glasshouse record`".into(),
        ));
    }
    Ok(())
}

/// `glasshouse` with no subcommand: the tray app. A second launch opens the running one's
/// dashboard instead (the tray app starts `glasshouse dashboard`, or brings it to the front).
pub fn run(paths: &Paths, keys: &KeySource, show: bool) -> Result<(), AppError> {
    match control::request(paths, &Request::Show) {
        Ok(_) => {
            println!("Glasshouse is already running; its dashboard is now open.");
            return Ok(());
        }
        Err(RecorderError::NotRunning { .. }) => {}
        Err(RecorderError::Remote { .. }) => {
            let pid =
                InstanceLock::holder(paths).map_or_else(String::new, |p| format!(" (pid {p})"));
            return Err(AppError::Usage(format!(
                "a headless recorder{pid} is already recording into {}; stop it (Ctrl-C) before starting the tray app",
                paths.data_dir.display()
            )));
        }
        Err(e) => return Err(e.into()),
    }
    require_display()?;
    // The store's key: the passphrase given, the keyring, or else the person is asked.
    let key = match keys.key(paths) {
        Ok(key) => key,
        Err(e) if key::needs_passphrase(&e) => unlock::ask(paths)?.key,
        Err(e) => return Err(e),
    };
    signals::install();
    let (state, observer) =
        start_recorder::<tauri::Wry>(paths, key, Some(crate::cli::worker_config()?))?;
    let status = state.status().map_err(|e| AppError::Desktop(e.message))?;
    let on_exit = observer.clone();
    let app = build(tauri::Builder::default())
        .manage(state)
        .setup(move |app| {
            let handle = app.handle().clone();
            let _ = observer.app.set(handle.clone());
            tray::create(&handle, &status)?;
            // SIGTERM and Ctrl-C end the app the way Quit does: everything captured is stored.
            let exit = handle.clone();
            std::thread::spawn(move || {
                while !signals::stop_requested() {
                    std::thread::sleep(Duration::from_millis(100));
                }
                exit.exit(0);
            });
            if show && let Err(e) = app.state::<AppState>().request(Request::Show) {
                tracing::error!("cannot open the dashboard: {}", e.message);
            }
            Ok(())
        })
        .build(context())
        .map_err(|e| AppError::Desktop(e.to_string()))?;
    app.run(move |app, event| match event {
        // The tray app has no window to close; only Quit (or a signal) exits.
        RunEvent::ExitRequested {
            api, code: None, ..
        } => api.prevent_exit(),
        RunEvent::Exit => {
            // The recorder stores everything and tells the dashboard it stops (`closing`); a
            // dashboard this app started that is still there is ended.
            app.state::<AppState>().shutdown();
            on_exit.launcher.close(DASHBOARD_GRACE);
        }
        _ => {}
    });
    Ok(())
}
