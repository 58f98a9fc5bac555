//! Generates the Tauri context and the permission list of the app's own commands, so the
//! capability file can grant exactly the commands the dashboard calls (least privilege).

fn main() {
    let commands = &[
        "status",
        "pause",
        "resume",
        "dashboard",
        "live_feed",
        "settings",
        "save_settings",
        "delete_preview",
        "delete",
        "activity",
        "autostart",
        "set_autostart",
        "uploads",
        "upload_batch",
        "uploads_decide",
        "unlock_context",
        "unlock_submit",
    ];
    let attributes = tauri_build::Attributes::new()
        .capabilities_path_pattern("./src-tauri/capabilities/**/*")
        .app_manifest(tauri_build::AppManifest::new().commands(commands));
    tauri_build::try_build(attributes).expect("tauri build script failed");
}
