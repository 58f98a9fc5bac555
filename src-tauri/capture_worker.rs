//! `glasshouse-capture-worker`: the capture process, started and supervised by the recorder.
//! It links only the capture crate, so it stays small while the tray app runs for hours.

fn main() -> std::process::ExitCode {
    let code = glasshouse_capture::worker::run();
    std::process::ExitCode::from(u8::try_from(code).unwrap_or(1))
}
