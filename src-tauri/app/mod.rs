//! The desktop app: a tray icon that is always there and a dashboard window built on demand,
//! over the same recorder the CLI runs headless. Modules: `tray`, `window`, `commands` (what the
//! dashboard calls), `events` (what it is told), `state` (the recorder and the live feed),
//! `dashboard` (figures and charts), `feed`, `notify`, `autostart`, `ipc` (errors over IPC).

pub mod autostart;
pub mod commands;
pub mod dashboard;
pub mod events;
pub mod feed;
pub mod ipc;
pub mod notify;
pub mod state;
pub mod tray;
pub mod window;

#[cfg(test)]
mod tests;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tauri::{Builder, Manager, RunEvent, Runtime};

use glasshouse_core::paths::Paths;
use glasshouse_recorder::instance::InstanceLock;
use glasshouse_recorder::{Recorder, RecorderError, RecorderOptions, Request, control, signals};

use crate::error::AppError;
use state::{AppObserver, AppState, Shared};

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
        ])
}

/// Starts the recorder for `paths` with an observer that will follow the app once it exists.
pub fn start_recorder<R: Runtime>(
    paths: &Paths,
    worker: Option<glasshouse_capture::SupervisorConfig>,
) -> Result<(AppState, Arc<AppObserver<R>>), AppError> {
    let shared = Arc::new(Shared::default());
    let observer = Arc::new(AppObserver {
        app: OnceLock::new(),
        shared: shared.clone(),
    });
    let recorder = Recorder::start(RecorderOptions {
        paths: paths.clone(),
        worker,
        observer: Some(observer.clone()),
    })?;
    let state = AppState::new(paths.clone(), shared, recorder);
    state::rebuild_feed(&state);
    Ok((state, observer))
}

/// `glasshouse` with no subcommand: the tray app. A second launch opens the running one's
/// dashboard instead.
pub fn run(paths: &Paths, show: bool) -> Result<(), AppError> {
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
    if std::env::var_os("DISPLAY").is_none_or(|d| d.is_empty())
        && std::env::var_os("WAYLAND_DISPLAY").is_none()
    {
        return Err(AppError::Desktop(
            "there is no graphical session (DISPLAY is not set); to record without one use `glasshouse record`".into(),
        ));
    }
    signals::install();
    let (state, observer) =
        start_recorder::<tauri::Wry>(paths, Some(crate::cli::worker_config()?))?;
    let status = state.status().map_err(|e| AppError::Desktop(e.message))?;
    let app = build(tauri::Builder::default())
        .manage(state)
        .setup(move |app| {
            let handle = app.handle().clone();
            let _ = observer.app.set(handle.clone());
            tray::create(&handle, &status)?;
            state::spawn_notifier(handle.clone(), observer.shared.clone());
            // SIGTERM and Ctrl-C end the app the way Quit does: everything captured is stored.
            let exit = handle.clone();
            std::thread::spawn(move || {
                while !signals::stop_requested() {
                    std::thread::sleep(Duration::from_millis(100));
                }
                exit.exit(0);
            });
            if show {
                window::open(&handle);
            }
            Ok(())
        })
        .build(tauri::generate_context!())
        .map_err(|e| AppError::Desktop(e.to_string()))?;
    app.run(|app, event| match event {
        // Closing the dashboard leaves the tray running; only Quit (or a signal) exits.
        RunEvent::ExitRequested {
            api, code: None, ..
        } => api.prevent_exit(),
        RunEvent::Exit => app.state::<AppState>().shutdown(),
        _ => {}
    });
    Ok(())
}
