//! `glasshouse record`: headless recording until Ctrl-C, SIGTERM or `--for` runs out.

use std::time::{Duration, Instant};

use glasshouse_capture::{CaptureError, SupervisorConfig};
use glasshouse_core::paths::Paths;
use glasshouse_core::time::parse_duration;
use glasshouse_recorder::{Recorder, RecorderOptions, signals};

use super::key::KeySource;
use crate::error::AppError;

pub fn run(paths: &Paths, keys: &KeySource, duration: Option<&str>) -> Result<(), AppError> {
    let deadline = duration
        .map(parse_duration)
        .transpose()?
        .map(|us| Instant::now() + Duration::from_micros(us.unsigned_abs()));
    match glasshouse_capture::preflight() {
        // Neither can change while this process runs: say so and stop.
        Err(e @ (CaptureError::NoDisplay | CaptureError::WaylandOnly)) => return Err(e.into()),
        Err(e) => eprintln!("glasshouse: capture unavailable: {e}; retrying until it works"),
        Ok(()) => {}
    }
    let key = keys.key(paths)?;
    signals::install();
    let recorder = Recorder::start(RecorderOptions {
        paths: paths.clone(),
        key,
        worker: Some(worker_config()?),
        observer: None,
    })?;
    eprintln!(
        "Recording to {} (pid {}). Stop with Ctrl-C; pause with `glasshouse pause`.",
        paths.data_dir.display(),
        std::process::id()
    );
    while !signals::stop_requested() && deadline.is_none_or(|d| Instant::now() < d) {
        if !recorder.is_alive() {
            // The pipeline only stops by itself when the store failed: say why and exit non-zero.
            recorder.shutdown()?;
            return Err(AppError::Usage("recording stopped unexpectedly".into()));
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    recorder.shutdown()?;
    eprintln!("Stopped. Everything captured has been stored.");
    Ok(())
}

/// How the recorder starts its capture process: the small `glasshouse-capture-worker` installed
/// next to this binary, or else this same binary as `glasshouse capture-worker`.
pub fn worker_config() -> Result<SupervisorConfig, AppError> {
    let exe = std::env::current_exe().map_err(|e| {
        AppError::Usage(format!(
            "cannot find this program's own path to start capture: {e}"
        ))
    })?;
    let small = exe.with_file_name("glasshouse-capture-worker");
    let (program, args) = if small.is_file() {
        (small, Vec::new())
    } else {
        (exe, vec!["capture-worker".into()])
    };
    Ok(SupervisorConfig {
        program,
        args,
        min_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(30),
    })
}
