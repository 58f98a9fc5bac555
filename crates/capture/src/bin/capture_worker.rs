//! The capture worker on its own, for the integration test and for debugging
//! (`glasshouse-capture-worker | xxd`; Ctrl-D stops it). The app runs `glasshouse capture-worker`.

fn main() {
    std::process::exit(glasshouse_capture::worker::run());
}
