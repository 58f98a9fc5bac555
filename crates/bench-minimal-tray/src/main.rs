//! The smallest Tauri tray app: a tray icon and nothing else (no window, no menu, no plugin).
//! `glasshouse-bench app` starts it next to the Glasshouse tray app and compares their memory,
//! so the figure it reports is what Glasshouse adds to Tauri's own cost.
//!
//! Prints `ready` on stdout once the tray icon exists.

use std::io::Write;

use tauri::RunEvent;
use tauri::image::Image;
use tauri::tray::TrayIconBuilder;

fn main() {
    let app = tauri::Builder::default()
        .setup(|app| {
            let icon = Image::from_bytes(include_bytes!("../../../icons/tray-recording.png"))?;
            TrayIconBuilder::new()
                .icon(icon)
                .tooltip("minimal tray")
                .build(app)?;
            let mut out = std::io::stdout();
            writeln!(out, "ready")?;
            out.flush()?;
            Ok(())
        })
        .build(tauri::generate_context!())
        .expect("build the minimal tray app");
    // A tray app has no window to keep it alive: only a signal ends it.
    app.run(|_, event| {
        if let RunEvent::ExitRequested {
            api, code: None, ..
        } = event
        {
            api.prevent_exit();
        }
    });
}
