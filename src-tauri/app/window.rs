//! The dashboard window: built on demand, destroyed on close, so that while it is closed the app
//! is back to a tray icon with no WebKit process.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// The dashboard window's label (the capability file grants commands to this label only).
pub const LABEL: &str = "dashboard";

/// Shows the dashboard, building it if it is not open. Call on the main thread.
pub fn open<R: Runtime>(app: &AppHandle<R>) {
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        return;
    }
    let built = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html".into()))
        .title("Glasshouse")
        .inner_size(1200.0, 880.0)
        .min_inner_size(900.0, 620.0)
        .build();
    match built {
        Ok(window) => window.on_window_event(|event| {
            if let tauri::WindowEvent::Destroyed = event {
                give_memory_back();
            }
        }),
        Err(e) => tracing::error!("cannot open the dashboard: {e}"),
    }
}

/// The closed dashboard's memory is freed but kept by the allocator; hand it back to the system
/// so the app returns towards its tray-only size.
fn give_memory_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    std::thread::spawn(|| {
        // WebKit tears the page down asynchronously after the window is gone.
        std::thread::sleep(std::time::Duration::from_secs(2));
        // SAFETY: malloc_trim only releases free heap memory; it has no preconditions.
        unsafe {
            libc::malloc_trim(0);
        }
    });
}
