//! `glasshouse stats`: per-app and per-hour totals for a day, read from the rollups.

use std::collections::BTreeMap;

use chrono::{DateTime, Local, Timelike};
use serde::Serialize;

use glasshouse_core::paths::Paths;
use glasshouse_core::time::{format_duration, local_day_bounds, parse_date};
use glasshouse_store::{Counts, Reader};

use super::format::{distance, thousands};
use super::key::KeySource;
use crate::error::AppError;

#[derive(Debug, clap::Args)]
pub struct StatsArgs {
    /// The day, as 2026-11-30, `today` or `yesterday` (local time).
    #[arg(long, value_name = "DATE", default_value = "today")]
    day: String,
    /// Print JSON instead of tables.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Serialize)]
struct DayStats {
    day: String,
    total: Counts,
    excluded_secs: u64,
    by_app: BTreeMap<String, Counts>,
    /// Local hour (0-23) -> totals.
    by_hour: BTreeMap<u32, Counts>,
}

pub fn run(paths: &Paths, keys: &KeySource, args: &StatsArgs) -> Result<(), AppError> {
    let date = parse_date(&args.day)?;
    let (start, end) = local_day_bounds(date);
    let mut stats = DayStats {
        day: date.to_string(),
        total: Counts::default(),
        excluded_secs: 0,
        by_app: BTreeMap::new(),
        by_hour: BTreeMap::new(),
    };
    let db = paths.database();
    if db.exists() {
        let reader = Reader::open(&db, &keys.existing_key(paths)?)?;
        for r in reader.minute_rollups(start, end)? {
            let hour = DateTime::from_timestamp_micros(r.minute)
                .map_or(0, |t| t.with_timezone(&Local).hour());
            if r.app == glasshouse_core::model::Window::EXCLUDED_APP {
                stats.excluded_secs += r.counts.active_secs;
                continue;
            }
            *stats.by_hour.entry(hour).or_default() += r.counts;
            *stats.by_app.entry(r.app).or_default() += r.counts;
            stats.total += r.counts;
        }
    }
    if args.json {
        let text =
            serde_json::to_string_pretty(&stats).map_err(|e| AppError::Usage(e.to_string()))?;
        println!("{text}");
        return Ok(());
    }
    print!("{}", render(&stats));
    Ok(())
}

fn row(label: &str, c: &Counts) -> String {
    format!(
        "{label:<24} {:>9} {:>8} {:>8} {:>11} {:>9}\n",
        thousands(c.keys),
        thousands(c.clicks),
        thousands(c.scroll_steps),
        distance(c.distance_px),
        format_duration(c.active_secs as i64 * 1_000_000)
    )
}

fn render(s: &DayStats) -> String {
    let header = |title: &str| {
        format!(
            "{title:<24} {:>9} {:>8} {:>8} {:>11} {:>9}\n",
            "keys", "clicks", "scroll", "mouse", "active"
        )
    };
    let mut out = format!("Activity on {} (local time)\n\n", s.day);
    if s.by_app.is_empty() && s.excluded_secs == 0 {
        out.push_str("Nothing was recorded on this day.\n");
        return out;
    }
    out.push_str(&header("By app"));
    let mut apps: Vec<_> = s.by_app.iter().collect();
    apps.sort_by(|a, b| b.1.active_secs.cmp(&a.1.active_secs).then(a.0.cmp(b.0)));
    for (app, c) in apps {
        let name: String = app.chars().take(24).collect();
        out.push_str(&row(&name, c));
    }
    out.push_str(&row("All apps", &s.total));
    if s.excluded_secs > 0 {
        out.push_str(&format!(
            "Time in excluded apps: {} (nothing of it was stored)\n",
            format_duration(s.excluded_secs as i64 * 1_000_000)
        ));
    }
    out.push('\n');
    out.push_str(&header("By hour"));
    for (hour, c) in &s.by_hour {
        out.push_str(&row(&format!("{hour:02}:00-{:02}:00", hour + 1), c));
    }
    out
}
