//! The dashboard window, the one window of the dashboard process (`glasshouse dashboard`, see
//! `remote`): closing it ends that process, and with it every WebKit process and all the memory
//! they held. The tray app builds no window.

use tauri::{AppHandle, Manager, Runtime, WebviewUrl, WebviewWindowBuilder};

/// The dashboard window's label (the capability file grants commands to this label only).
pub const LABEL: &str = "dashboard";

/// Shows the dashboard, building it if it is not open. Call on the main thread.
pub fn open<R: Runtime>(app: &AppHandle<R>) {
    open_at(app, None);
}

/// Shows the dashboard at `view` (one of `glasshouse_recorder::protocol::VIEWS`; the page reads
/// it from the URL's fragment), building the window if it is not open. Call on the main thread.
pub fn open_at<R: Runtime>(app: &AppHandle<R>, view: Option<&str>) {
    let view = view.filter(|v| glasshouse_recorder::protocol::VIEWS.contains(v));
    if let Some(w) = app.get_webview_window(LABEL) {
        let _ = w.unminimize();
        let _ = w.show();
        let _ = w.set_focus();
        if let Some(v) = view {
            // A name from the fixed list above, so nothing but that name reaches the script.
            let _ = w.eval(format!("window.location.hash = '{v}';"));
        }
        return;
    }
    let page = view.map_or_else(|| "index.html".to_owned(), |v| format!("index.html#{v}"));
    let built = WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App(page.into()))
        .title("Glasshouse")
        .inner_size(1200.0, 880.0)
        .min_inner_size(900.0, 620.0)
        .build();
    if let Err(e) = built {
        tracing::error!("cannot open the dashboard: {e}");
    }
}
