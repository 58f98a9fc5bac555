//! Everything the dashboard draws, read from the rollups (never from raw events) and rendered as
//! SVG by `glasshouse-charts`, so the UI shows the charts and never recomputes them.

use std::collections::BTreeMap;

use chrono::{Local, Offset};
use serde::Serialize;

use glasshouse_charts::{self as charts, AppBar, MinutePoint, Theme, Timeline};
use glasshouse_core::model::{MICROS_PER_MINUTE, Micros, Window, now_micros};
use glasshouse_core::settings::CaptureLevel;
use glasshouse_core::time::local_day_bounds;
use glasshouse_recorder::Status;
use glasshouse_store::{CLICK_CELL_PX, Counts, PauseReason, Reader};

use super::ipc::IpcError;

/// One app's figures.
#[derive(Debug, Clone, Serialize)]
pub struct AppRow {
    pub app: String,
    pub counts: Counts,
}

/// The charts, as SVG documents.
#[derive(Debug, Clone, Serialize)]
pub struct Charts {
    pub timeline: String,
    pub apps_today: String,
    pub apps_week: String,
    /// Keyboard heatmap (`full`), category mix (`categories`) or the key total (`counts`).
    pub keys: String,
    pub clicks: String,
}

/// The dashboard's data.
#[derive(Debug, Clone, Serialize)]
pub struct Dashboard {
    pub status: Status,
    pub day: String,
    pub today: Counts,
    pub excluded_secs: u64,
    pub apps_today: Vec<AppRow>,
    pub apps_week: Vec<AppRow>,
    pub charts: Charts,
    /// How long rendering took, for the benchmark and the curious.
    pub render_ms: f64,
}

fn by_app(rows: impl Iterator<Item = (String, Counts)>) -> Vec<AppRow> {
    let mut map: BTreeMap<String, Counts> = BTreeMap::new();
    for (app, c) in rows {
        if app != Window::EXCLUDED_APP {
            *map.entry(app).or_default() += c;
        }
    }
    let mut rows: Vec<AppRow> = map
        .into_iter()
        .map(|(app, counts)| AppRow { app, counts })
        .collect();
    rows.sort_by(|a, b| {
        b.counts
            .active_secs
            .cmp(&a.counts.active_secs)
            .then(a.app.cmp(&b.app))
    });
    rows
}

fn bars(rows: &[AppRow]) -> Vec<AppBar> {
    rows.iter()
        .map(|r| AppBar {
            app: r.app.clone(),
            active_secs: r.counts.active_secs,
            keys: r.counts.keys,
            clicks: r.counts.clicks,
        })
        .collect()
}

/// Per-minute points of `[start, end)` over all apps, and the seconds in excluded apps.
type MinutePoints = (Vec<MinutePoint>, Vec<(Micros, u64)>);

fn minute_points(reader: &Reader, start: Micros, end: Micros) -> Result<MinutePoints, IpcError> {
    let mut points: BTreeMap<i64, MinutePoint> = BTreeMap::new();
    let mut excluded = Vec::new();
    for m in &reader.minute_rollups(start, end)? {
        if m.app == Window::EXCLUDED_APP {
            excluded.push((m.minute, m.counts.active_secs));
            continue;
        }
        let p = points.entry(m.minute).or_insert(MinutePoint {
            minute: m.minute,
            ..MinutePoint::default()
        });
        p.keys += m.counts.keys;
        p.clicks += m.counts.clicks;
        p.scroll_steps += m.counts.scroll_steps;
        p.active_secs = (p.active_secs + m.counts.active_secs).min(60);
    }
    Ok((points.into_values().collect(), excluded))
}

/// The pauses overlapping `[start, end)` as the timeline draws them: the person's own, and the
/// screen's locks apart. One still running ends at `open_end`.
fn pauses(
    reader: &Reader,
    start: Micros,
    end: Micros,
    open_end: Micros,
) -> Result<Spans, IpcError> {
    let mut paused = Vec::new();
    let mut locked = Vec::new();
    for p in reader.pauses(start, end)? {
        let span = (p.since, p.until.unwrap_or(open_end));
        match p.reason {
            PauseReason::User => paused.push(span),
            PauseReason::ScreenLocked => locked.push(span),
        }
    }
    Ok((paused, locked))
}

/// Paused and locked intervals.
type Spans = (Vec<(Micros, Micros)>, Vec<(Micros, Micros)>);

/// The activity of an upload batch's window, per minute, as the day's timeline draws it.
///
/// The figures are per-minute rollups, so the chart spans the whole minutes the window overlaps:
/// a window that starts or ends mid-minute (the first one after taking part, or one sealed with
/// "prepare a batch now") would otherwise leave out its first minute's activity, and a window
/// within one minute would show nothing at all.
pub fn batch_chart(
    reader: &Reader,
    start: Micros,
    end: Micros,
    dark: bool,
) -> Result<String, IpcError> {
    let theme = if dark { Theme::dark() } else { Theme::light() };
    let start = start.div_euclid(MICROS_PER_MINUTE) * MICROS_PER_MINUTE;
    let end = (end.max(start + 1) + MICROS_PER_MINUTE - 1).div_euclid(MICROS_PER_MINUTE)
        * MICROS_PER_MINUTE;
    let (points, excluded) = minute_points(reader, start, end)?;
    let (paused, locked) = pauses(reader, start, end, end)?;
    Ok(charts::timeline_titled(
        &Timeline {
            start,
            end,
            utc_offset_secs: Local::now().offset().fix().local_minus_utc(),
            minutes: &points,
            paused: &paused,
            locked: &locked,
            excluded: &excluded,
            now: None,
        },
        "Activity in this batch",
        &theme,
        900,
        240,
    ))
}

/// The timeline's width when the dashboard does not say how much room it has, and the bounds of
/// what it may ask for (narrower would crowd the hour labels, wider would only stretch minutes).
pub const TIMELINE_WIDTH: u32 = 1080;
pub const TIMELINE_MIN_WIDTH: u32 = 600;
pub const TIMELINE_MAX_WIDTH: u32 = 1600;

/// Reads today's and this week's figures and renders every chart; the timeline `timeline_width`
/// pixels wide.
pub fn build(
    reader: &Reader,
    status: &Status,
    dark: bool,
    timeline_width: u32,
) -> Result<Dashboard, IpcError> {
    let started = std::time::Instant::now();
    let theme = if dark { Theme::dark() } else { Theme::light() };
    let today = Local::now().date_naive();
    let (start, end) = local_day_bounds(today);
    let now = now_micros();
    let week_start = local_day_bounds(today - chrono::Duration::days(6)).0;

    let (points, excluded) = minute_points(reader, start, end)?;
    let (paused, locked) = pauses(reader, start, end, now)?;
    let totals = reader.totals(start, now + 1)?;
    let apps_today = by_app(totals.per_app.clone().into_iter());
    let apps_week = by_app(
        reader
            .hour_rollups(week_start, now + 1)?
            .into_iter()
            .map(|h| (h.app, h.counts)),
    );

    let offset = Local::now().offset().fix().local_minus_utc();
    let timeline = charts::timeline(
        &Timeline {
            start,
            end,
            utc_offset_secs: offset,
            minutes: &points,
            paused: &paused,
            locked: &locked,
            excluded: &excluded,
            now: Some(now),
        },
        &theme,
        timeline_width,
        300,
    );
    let keys = match status.capture_level {
        CaptureLevel::Full => {
            charts::keyboard_heatmap(&reader.key_counts(start, end)?.by_key, &theme, 720, 270)
        }
        CaptureLevel::Categories => charts::category_mix(
            &reader.key_counts(start, end)?.by_category,
            &theme,
            720,
            270,
        ),
        CaptureLevel::Counts => charts::key_totals(totals.counts.keys, &theme, 720, 270),
    };
    let cells: Vec<(u32, u32, u64)> = reader
        .click_cells(start, end)?
        .into_iter()
        .map(|c| (c.x, c.y, c.clicks))
        .collect();
    let screen = reader
        .pointer_extent(start, end)?
        .map_or((1920, 1080), |(x, y)| {
            (x.max(640) as u32 + 1, y.max(400) as u32 + 1)
        });
    let clicks = charts::click_heatmap(&cells, CLICK_CELL_PX, screen, &theme, 480, 300);
    let charts = Charts {
        timeline,
        apps_today: charts::app_bars("Time per app today", &bars(&apps_today), &theme, 520, 300),
        apps_week: charts::app_bars(
            "Time per app, last 7 days",
            &bars(&apps_week),
            &theme,
            520,
            300,
        ),
        keys,
        clicks,
    };
    Ok(Dashboard {
        status: status.clone(),
        day: today.format("%A %-d %B %Y").to_string(),
        today: totals.counts,
        excluded_secs: totals.excluded_secs,
        apps_today,
        apps_week,
        charts,
        render_ms: started.elapsed().as_secs_f64() * 1000.0,
    })
}
