//! `glasshouse status`, `pause` and `resume`: ask the running recorder, or read the store.

use glasshouse_core::model::{Micros, now_micros};
use glasshouse_core::paths::Paths;
use glasshouse_core::settings::Settings;
use glasshouse_core::time::{format_duration, format_local_short, parse_duration};
use glasshouse_recorder::control;
use glasshouse_recorder::runtime::{StatusParts, status_from_store};
use glasshouse_recorder::{RecorderError, Request, Response, State, Status};
use glasshouse_store::{Counts, PauseReason, Reader, StoreError};

use super::format::{bytes, distance, thousands};
use super::key::KeySource;
use crate::error::AppError;

pub fn run(paths: &Paths, keys: &KeySource, json: bool) -> Result<(), AppError> {
    let status = current(paths, keys)?;
    if json {
        let text =
            serde_json::to_string_pretty(&status).map_err(|e| AppError::Usage(e.to_string()))?;
        println!("{text}");
    } else {
        print!("{}", render(&status));
    }
    Ok(())
}

/// The running recorder's status, or one read from the store when none runs.
pub fn current(paths: &Paths, keys: &KeySource) -> Result<Status, AppError> {
    match control::request(paths, &Request::Status) {
        Ok(Response::Status(s)) => Ok(*s),
        Ok(other) => Err(RecorderError::Protocol(format!("unexpected answer {other:?}")).into()),
        Err(RecorderError::NotRunning { .. }) => offline(paths, keys),
        Err(e) => Err(e.into()),
    }
}

fn offline(paths: &Paths, keys: &KeySource) -> Result<Status, AppError> {
    let settings = Settings::load(&paths.settings_file)?;
    let parts = StatusParts {
        state: State::NotRunning,
        pid: None,
        paused_since: None,
        paused_until: None,
        pause_reason: None,
        capture_error: None,
        settings: &settings,
    };
    let empty = || Status {
        state: State::NotRunning,
        pid: None,
        paused_since: None,
        paused_until: None,
        pause_reason: None,
        capture_error: None,
        store_error: None,
        events_waiting: 0,
        events_dropped: 0,
        capture_level: settings.capture_level,
        excluded_apps: settings.excluded_apps.clone(),
        sensitive_windows: settings.sensitive_windows,
        data_dir: paths.data_dir.clone(),
        database_bytes: 0,
        today: Counts::default(),
        today_excluded_secs: 0,
    };
    if !paths.database().exists() {
        return Ok(empty());
    }
    let key = match keys.existing_key(paths) {
        Ok(key) => key,
        // The state is known without the key; only today's counts need it.
        Err(e) if super::key::is_locked(&e) => {
            eprintln!("glasshouse: today's counts are not shown: {e}");
            return Ok(empty());
        }
        Err(e) => return Err(e),
    };
    match Reader::open(&paths.database(), &key) {
        Ok(reader) => Ok(status_from_store(paths, &reader, parts, now_micros())?),
        // Nothing recorded yet (or a recorder is creating the file this very moment).
        Err(StoreError::Missing { .. }) => Ok(empty()),
        Err(e) => Err(e.into()),
    }
}

fn render(s: &Status) -> String {
    let yours = |u: Option<Micros>| match u {
        Some(u) => format!(
            "until {} ({} left)",
            format_local_short(u),
            format_duration(u - now_micros())
        ),
        None => "until you resume".to_owned(),
    };
    let mut state = match s.state {
        State::Paused if s.pause_reason == Some(PauseReason::ScreenLocked) => {
            match s.paused_since {
                Some(_) => format!(
                    "paused: screen locked (then still paused {}, as you asked)",
                    yours(s.paused_until)
                ),
                None => "paused: screen locked (recording resumes when it is unlocked)".to_owned(),
            }
        }
        State::Paused => format!("paused {}", yours(s.paused_until)),
        State::Unavailable => format!(
            "capture unavailable: {}",
            s.capture_error.as_deref().unwrap_or("unknown reason")
        ),
        State::DiskFull => format!(
            "disk full: nothing can be written; {} events wait in memory and are written, and recording goes on, once there is space again",
            thousands(s.events_waiting)
        ),
        other => other.name().to_owned(),
    };
    if let Some(pid) = s.pid {
        state.push_str(&format!(" (pid {pid})"));
    }
    if let Some(e) = &s.store_error {
        state.push_str(&format!("\n  storage        {e}"));
    }
    if s.events_dropped > 0 {
        state.push_str(&format!(
            "\n  dropped        {} events could not be written and were dropped (memory limit)",
            thousands(s.events_dropped)
        ));
    }
    if s.state == State::Paused
        && let Some(e) = &s.capture_error
    {
        state.push_str(&format!("\n  capture        unavailable: {e}"));
    }
    let t = &s.today;
    format!(
        "Glasshouse: {state}\n  capture level  {}\n  excluded apps  {}\n  login windows  {}\n  data dir       {}\n  database       {}\n  today          {} keys, {} clicks, {} scroll steps, {} mouse, {} active{}\n",
        s.capture_level.name(),
        if s.excluded_apps.is_empty() {
            "none".to_owned()
        } else {
            s.excluded_apps.join(", ")
        },
        if s.sensitive_windows {
            "keys typed into password and login windows are stored as bare key presses"
        } else {
            "keys typed into password and login windows are stored at the capture level (off)"
        },
        s.data_dir.display(),
        bytes(s.database_bytes),
        thousands(t.keys),
        thousands(t.clicks),
        thousands(t.scroll_steps),
        distance(t.distance_px),
        format_duration(t.active_secs as i64 * 1_000_000),
        if s.today_excluded_secs > 0 {
            format!(
                ", {} in excluded apps",
                format_duration(s.today_excluded_secs as i64 * 1_000_000)
            )
        } else {
            String::new()
        }
    )
}

pub fn pause(paths: &Paths, duration: Option<&str>) -> Result<(), AppError> {
    let until = duration
        .map(parse_duration)
        .transpose()?
        .map(|d| now_micros() + d);
    let status = expect_status(control::request(paths, &Request::Pause { until })?)?;
    match status.paused_until {
        Some(u) => println!(
            "Paused until {} ({}). Nothing you type or click is stored until then.",
            format_local_short(u),
            format_duration(u - now_micros())
        ),
        None => println!(
            "Paused until you resume (`glasshouse resume`). Nothing you type or click is stored."
        ),
    }
    Ok(())
}

pub fn resume(paths: &Paths) -> Result<(), AppError> {
    let status = expect_status(control::request(paths, &Request::Resume)?)?;
    match status.state {
        State::Paused if status.pause_reason == Some(PauseReason::ScreenLocked) => {
            println!("Your pause has ended; recording resumes when the screen is unlocked.")
        }
        State::Unavailable => println!(
            "Resumed, but capture is unavailable: {}",
            status.capture_error.as_deref().unwrap_or("unknown reason")
        ),
        _ => println!("Recording again."),
    }
    Ok(())
}

fn expect_status(r: Response) -> Result<Status, AppError> {
    match r {
        Response::Status(s) => Ok(*s),
        other => Err(RecorderError::Protocol(format!("unexpected answer {other:?}")).into()),
    }
}
