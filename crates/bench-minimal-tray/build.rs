//! Generates the Tauri context (see `tauri.conf.json`).

fn main() {
    tauri_build::build();
}
