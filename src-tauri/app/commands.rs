//! The commands the dashboard calls. Each converts and delegates; errors cross as
//! `{ kind, message }` ([`IpcError`]). The capability file grants exactly these.

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Runtime, State};

use glasshouse_core::model::{MICROS_PER_SEC, Micros, now_micros};
use glasshouse_core::settings::{
    CaptureLevel, DEFAULT_SENSITIVE_PATTERNS, MOUSE_RATE_RANGE, RETENTION_RANGE,
    SENSITIVE_PATTERNS_MAX, Settings, check_sensitive_pattern,
};
use glasshouse_core::time::{local_day_bounds, parse_time};
use glasshouse_recorder::feed::FeedItem;
use glasshouse_recorder::protocol::DeleteWhat;
use glasshouse_recorder::{Request, Response, Status};
use glasshouse_store::{ActivityEntry, DeleteReport, Selection};

use super::autostart;
use super::dashboard::{self, Dashboard};
use super::ipc::IpcError;
use super::state::AppState;

fn expect_status(r: Response) -> Result<Status, IpcError> {
    match r {
        Response::Status(s) => Ok(*s),
        other => Err(IpcError::new(
            "recorder",
            format!("unexpected answer {other:?}"),
        )),
    }
}

#[tauri::command(async)]
pub fn status(state: State<'_, AppState>) -> Result<Status, IpcError> {
    state.status()
}

/// Pauses for `minutes`, or until resumed when `minutes` is absent.
#[tauri::command(async)]
pub fn pause(state: State<'_, AppState>, minutes: Option<u32>) -> Result<Status, IpcError> {
    let until = minutes.map(|m| now_micros() + i64::from(m) * 60 * MICROS_PER_SEC);
    expect_status(state.request(Request::Pause { until })?)
}

#[tauri::command(async)]
pub fn resume(state: State<'_, AppState>) -> Result<Status, IpcError> {
    expect_status(state.request(Request::Resume)?)
}

/// Everything the dashboard draws: counters, per-app tables and the charts as SVG.
/// `width` is the room the window has for the day's timeline, in CSS pixels, so that its labels
/// are drawn at their real size instead of being scaled down in a narrow window.
#[tauri::command(async)]
pub fn dashboard(
    state: State<'_, AppState>,
    dark: Option<bool>,
    width: Option<u32>,
) -> Result<Dashboard, IpcError> {
    let status = state.status()?;
    let width = width.map_or(dashboard::TIMELINE_WIDTH, |w| {
        w.clamp(dashboard::TIMELINE_MIN_WIDTH, dashboard::TIMELINE_MAX_WIDTH)
    });
    dashboard::build(&state.reader()?, &status, dark.unwrap_or(false), width)
}

#[tauri::command(async)]
pub fn live_feed(state: State<'_, AppState>) -> Result<Vec<FeedItem>, IpcError> {
    state.feed()
}

/// The settings and the apps seen recently (to pick exclusions from).
#[derive(Debug, Serialize)]
pub struct SettingsView {
    pub settings: Settings,
    pub recent_apps: Vec<String>,
    pub mouse_rate_range: (u32, u32),
    pub retention_range: (u32, u32),
    /// The sensitive patterns a fresh install has, so the page can offer them back.
    pub default_sensitive_patterns: &'static [&'static str],
    /// Where the database's key comes from: `keyring` or `passphrase` (`None`: no key yet).
    pub key_source: Option<&'static str>,
}

#[tauri::command(async)]
pub fn settings(state: State<'_, AppState>) -> Result<SettingsView, IpcError> {
    let settings = Settings::load(&state.paths.settings_file)?;
    let recent_apps = state
        .reader()?
        .apps()?
        .into_iter()
        .map(|a| a.app)
        .take(30)
        .collect();
    Ok(SettingsView {
        settings,
        recent_apps,
        mouse_rate_range: MOUSE_RATE_RANGE,
        retention_range: RETENTION_RANGE,
        default_sensitive_patterns: DEFAULT_SENSITIVE_PATTERNS,
        key_source: match glasshouse_vault::state(&state.paths.data_dir, &state.paths.database())
            .map_err(crate::error::AppError::from)?
        {
            glasshouse_vault::KeyState::Keyring => Some("keyring"),
            glasshouse_vault::KeyState::Passphrase => Some("passphrase"),
            glasshouse_vault::KeyState::New => None,
        },
    })
}

/// Settings as the dashboard sends them.
#[derive(Debug, Deserialize)]
pub struct SettingsInput {
    pub capture_level: CaptureLevel,
    pub excluded_apps: Vec<String>,
    pub mouse_rate: u32,
    pub retention_days: u32,
    /// Absent: kept as the file has it.
    #[serde(default)]
    pub sensitive_windows: Option<bool>,
    /// Absent: kept as the file has it.
    #[serde(default)]
    pub sensitive_patterns: Option<Vec<String>>,
}

/// The patterns as typed: blank entries dropped, repeats (ignoring case) kept once, each checked.
fn sensitive_patterns(input: &[String]) -> Result<Vec<String>, IpcError> {
    let mut patterns: Vec<String> = Vec::new();
    for p in input.iter().filter(|p| !p.trim().is_empty()) {
        let p = check_sensitive_pattern(p).map_err(|why| {
            IpcError::new(
                "invalid",
                format!("The sensitive pattern \"{}\" {why}.", p.trim()),
            )
        })?;
        if !patterns
            .iter()
            .any(|q| q.to_lowercase() == p.to_lowercase())
        {
            patterns.push(p.to_owned());
        }
    }
    // The settings file refuses a longer list: saving one would make the next start fail.
    if patterns.len() > SENSITIVE_PATTERNS_MAX {
        return Err(IpcError::new(
            "invalid",
            format!("Keep the sensitive patterns to at most {SENSITIVE_PATTERNS_MAX}."),
        ));
    }
    Ok(patterns)
}

#[tauri::command(async)]
pub fn save_settings(
    state: State<'_, AppState>,
    input: SettingsInput,
) -> Result<SettingsView, IpcError> {
    let check = |v: u32, (lo, hi): (u32, u32), what: &str| {
        if (lo..=hi).contains(&v) {
            Ok(())
        } else {
            Err(IpcError::new(
                "invalid",
                format!("{what} must be from {lo} to {hi}."),
            ))
        }
    };
    check(input.mouse_rate, MOUSE_RATE_RANGE, "The mouse rate")?;
    check(input.retention_days, RETENTION_RANGE, "Retention")?;
    let mut excluded: Vec<String> = Vec::new();
    for app in input
        .excluded_apps
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
    {
        if !excluded.iter().any(|e| e.eq_ignore_ascii_case(app)) {
            excluded.push(app.to_owned());
        }
    }
    let patterns = input
        .sensitive_patterns
        .as_deref()
        .map(sensitive_patterns)
        .transpose()?;
    let file = Settings::load(&state.paths.settings_file)?;
    let settings = Settings {
        capture_level: input.capture_level,
        excluded_apps: excluded,
        mouse_rate: input.mouse_rate,
        retention_days: input.retention_days,
        sensitive_windows: input.sensitive_windows.unwrap_or(file.sensitive_windows),
        sensitive_patterns: patterns.unwrap_or(file.sensitive_patterns),
        // Not on the privacy page: kept as the file has it.
        ..file
    };
    settings.save(&state.paths.settings_file)?;
    state.request(Request::ReloadSettings)?;
    self::settings(state)
}

/// What the dashboard can delete.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "what", rename_all = "snake_case")]
pub enum DeleteInput {
    /// The last `minutes` minutes.
    Last {
        minutes: u32,
    },
    Today,
    /// A custom range, as `YYYY-MM-DDTHH:MM` local times or RFC 3339.
    Range {
        since: String,
        until: String,
    },
    App {
        app: String,
    },
    All,
}

fn resolve(input: &DeleteInput) -> Result<DeleteWhat, IpcError> {
    let now = now_micros();
    Ok(match input {
        DeleteInput::Last { minutes } => DeleteWhat::Range {
            since: now - i64::from(*minutes) * 60 * MICROS_PER_SEC,
            until: now,
        },
        DeleteInput::Today => {
            let (since, until) = local_day_bounds(chrono::Local::now().date_naive());
            DeleteWhat::Range { since, until }
        }
        DeleteInput::Range { since, until } => {
            let (since, until) = (parse_time(since)?, parse_time(until)?);
            if until <= since {
                return Err(IpcError::new(
                    "invalid",
                    "The end of the range must be after its start.",
                ));
            }
            DeleteWhat::Range { since, until }
        }
        DeleteInput::App { app } if app.trim().is_empty() => {
            return Err(IpcError::new("invalid", "Choose an app to delete."));
        }
        DeleteInput::App { app } => DeleteWhat::App {
            app: app.trim().to_owned(),
        },
        DeleteInput::All => DeleteWhat::All,
    })
}

/// What a delete would remove, for the confirmation.
#[derive(Debug, Serialize)]
pub struct DeletePreview {
    pub events: u64,
    pub description: String,
}

fn describe(what: &DeleteWhat) -> String {
    use glasshouse_core::time::format_local_short;
    match what {
        DeleteWhat::All => "everything recorded".into(),
        DeleteWhat::App { app } => format!("every event of {app}, with its window titles"),
        DeleteWhat::Range { since, until } => {
            let until: Micros = (*until).min(now_micros());
            format!(
                "everything from {} to {}",
                format_local_short(*since),
                format_local_short(until)
            )
        }
    }
}

#[tauri::command(async)]
pub fn delete_preview(
    state: State<'_, AppState>,
    input: DeleteInput,
) -> Result<DeletePreview, IpcError> {
    let what = resolve(&input)?;
    let events = state.reader()?.count(&Selection::from(what.clone()))?;
    Ok(DeletePreview {
        events,
        description: describe(&what),
    })
}

#[tauri::command(async)]
pub fn delete(state: State<'_, AppState>, input: DeleteInput) -> Result<DeleteReport, IpcError> {
    let what = resolve(&input)?;
    match state.request(Request::Delete { what })? {
        Response::Deleted(report) => Ok(report),
        other => Err(IpcError::new(
            "recorder",
            format!("unexpected answer {other:?}"),
        )),
    }
}

#[tauri::command(async)]
pub fn activity(
    state: State<'_, AppState>,
    limit: Option<usize>,
) -> Result<Vec<ActivityEntry>, IpcError> {
    Ok(state.reader()?.activity(limit.unwrap_or(200).min(2000))?)
}

#[tauri::command(async)]
pub fn autostart() -> Result<bool, IpcError> {
    Ok(autostart::enabled()?)
}

#[tauri::command(async)]
pub fn set_autostart<R: Runtime>(
    _app: AppHandle<R>,
    state: State<'_, AppState>,
    enabled: bool,
) -> Result<bool, IpcError> {
    Ok(autostart::set(enabled, &state.paths)?)
}

/// The review of this data directory, kept for the life of the process: it caches the bytes of
/// pending batches (built with zstd's slower levels) while nothing in their windows changes.
fn review(state: &AppState) -> std::sync::Arc<glasshouse_uploads::Review> {
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, OnceLock};
    type Reviews = Mutex<HashMap<std::path::PathBuf, Arc<glasshouse_uploads::Review>>>;
    static REVIEWS: OnceLock<Reviews> = OnceLock::new();
    let mut map = REVIEWS
        .get_or_init(Reviews::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    map.entry(state.paths.data_dir.clone())
        .or_insert_with(|| {
            Arc::new(glasshouse_uploads::Review::new(
                &state.paths,
                state.key.clone(),
            ))
        })
        .clone()
}

/// The Uploads view: enrollment, the choice to take part, and every batch.
#[tauri::command(async)]
pub fn uploads(state: State<'_, AppState>) -> Result<glasshouse_uploads::Overview, IpcError> {
    Ok(review(&state).overview()?)
}

/// One batch opened for review, with its activity chart.
#[derive(Debug, Clone, Serialize)]
pub struct BatchDetail {
    pub view: glasshouse_uploads::BatchView,
    pub chart: String,
}

#[tauri::command(async)]
pub fn upload_batch(
    state: State<'_, AppState>,
    id: i64,
    dark: Option<bool>,
) -> Result<BatchDetail, IpcError> {
    let view = review(&state).show(id)?;
    let chart = dashboard::batch_chart(
        &state.reader()?,
        view.summary.window_start,
        view.summary.window_end,
        dark.unwrap_or(false),
    )?;
    Ok(BatchDetail { view, chart })
}

/// The person's decision about uploads, made by the recorder (which runs the uploader).
#[tauri::command(async)]
pub fn uploads_decide(
    state: State<'_, AppState>,
    op: glasshouse_uploads::UploadsOp,
) -> Result<glasshouse_uploads::Done, IpcError> {
    match state.request(Request::Uploads { op })? {
        Response::Uploads(done) => Ok(done),
        other => Err(IpcError::new(
            "recorder",
            format!("unexpected answer {other:?}"),
        )),
    }
}
