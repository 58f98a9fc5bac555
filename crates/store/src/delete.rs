//! Deleting events: by time range, by application, or everything. Each keeps the rollups equal
//! to the remaining events and leaves no window or application without events behind.

use std::collections::BTreeSet;
use std::path::Path;

use glasshouse_core::model::{MICROS_PER_MINUTE, Micros};
use rusqlite::{Connection, OptionalExtension, params};

use crate::blocks::{Caches, SEGMENTS, load_minute, recompute_hour, recompute_minute};
use crate::codec;
use crate::error::{SqlContext, StoreError};
use crate::hourly::{delete_hours, rebuild_hours};
use crate::rollup::{ceil_div, hour_of_minute, overlapping_minutes};
use crate::types::{ActivityKind, DeleteReport, Selection};

/// Deletes events with `since <= ts < until`; returns how many.
pub(crate) fn delete_range(
    conn: &Connection,
    path: &Path,
    since: Micros,
    until: Micros,
) -> Result<u64, StoreError> {
    if since >= until {
        return Ok(0);
    }
    let mut caches = Caches::default();
    let (lo, hi) = overlapping_minutes(since, until);
    let full_lo = ceil_div(since, MICROS_PER_MINUTE);
    let full_hi = until.div_euclid(MICROS_PER_MINUTE);
    let mut deleted = 0u64;
    let mut hours = BTreeSet::new();
    if full_lo < full_hi {
        let n: i64 = conn
            .query_row(
                "SELECT coalesce(sum(events), 0) FROM minute_rollups
                 WHERE minute >= ?1 AND minute < ?2",
                [full_lo, full_hi],
                |r| r.get(0),
            )
            .at(path)?;
        deleted += u64::try_from(n).unwrap_or(0);
        conn.execute(
            "DELETE FROM blocks WHERE id >= ?1 AND id < ?2",
            [full_lo * SEGMENTS, full_hi * SEGMENTS],
        )
        .at(path)?;
        conn.execute(
            "DELETE FROM minute_rollups WHERE minute >= ?1 AND minute < ?2",
            [full_lo, full_hi],
        )
        .at(path)?;
        let (whole_lo, whole_hi) = (ceil_div(full_lo, 60), full_hi.div_euclid(60));
        conn.execute(
            "DELETE FROM hour_rollups WHERE hour >= ?1 AND hour < ?2",
            [whole_lo, whole_hi],
        )
        .at(path)?;
        delete_hours(conn, path, whole_lo, whole_hi)?;
        hours.insert(hour_of_minute(full_lo));
        hours.insert(hour_of_minute(full_hi - 1));
    }
    let mut partial: Vec<i64> = Vec::new();
    if lo < full_lo {
        partial.push(lo);
    }
    if full_hi < hi && !partial.contains(&full_hi) {
        partial.push(full_hi);
    }
    for minute in partial {
        let mut changed = false;
        for (id, _, mut events) in load_minute(conn, path, minute)? {
            let before = events.len();
            events.retain(|e| !(since <= e.ts && e.ts < until));
            let removed = before - events.len();
            if removed == 0 {
                continue;
            }
            changed = true;
            deleted += removed as u64;
            if events.is_empty() {
                conn.execute("DELETE FROM blocks WHERE id = ?1", [id])
                    .at(path)?;
            } else {
                let data = codec::encode(minute * MICROS_PER_MINUTE, &events);
                conn.execute(
                    "UPDATE blocks SET data = ?1 WHERE id = ?2",
                    params![data, id],
                )
                .at(path)?;
            }
        }
        if changed {
            recompute_minute(conn, path, &mut caches, minute)?;
            hours.insert(hour_of_minute(minute));
        }
    }
    for hour in hours {
        recompute_hour(conn, path, hour)?;
        // Keys, clicks and pointer positions are kept per hour only: rebuilt from what is left.
        rebuild_hours(conn, path, &mut caches, hour, hour + 1)?;
    }
    Ok(deleted)
}

/// Sum of events, first minute and newest event of the rollup rows matching `filter`.
fn span(
    conn: &Connection,
    path: &Path,
    filter: &str,
    app: Option<i64>,
) -> Result<DeleteReport, StoreError> {
    let sql = format!(
        "SELECT coalesce(sum(events), 0), min(minute), max(last_ts) FROM minute_rollups {filter}"
    );
    let (events, first, last): (i64, Option<i64>, Option<i64>) = match app {
        Some(a) => conn.query_row(&sql, [a], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))),
        None => conn.query_row(&sql, [], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))),
    }
    .at(path)?;
    Ok(DeleteReport {
        events: u64::try_from(events).unwrap_or(0),
        since: first.map(|m| m * MICROS_PER_MINUTE),
        until: last.map(|t| t.saturating_add(1)),
        wal_cleared: true,
    })
}

pub(crate) fn delete_app(
    conn: &Connection,
    path: &Path,
    app: &str,
) -> Result<DeleteReport, StoreError> {
    let Some(app_id): Option<i64> = conn
        .query_row("SELECT id FROM apps WHERE name = ?1", [app], |r| r.get(0))
        .optional()
        .at(path)?
    else {
        return Ok(DeleteReport::default());
    };
    let report = span(conn, path, "WHERE app_id = ?1", Some(app_id))?;
    conn.execute_batch(&format!(
        "DELETE FROM blocks WHERE window_id IN (SELECT id FROM windows WHERE app_id = {app_id});
         DELETE FROM minute_rollups WHERE app_id = {app_id};
         DELETE FROM hour_rollups WHERE app_id = {app_id};
         DELETE FROM key_rollups WHERE app_id = {app_id};
         DELETE FROM click_rollups WHERE app_id = {app_id};
         DELETE FROM pointer_rollups WHERE app_id = {app_id};
         DELETE FROM windows WHERE app_id = {app_id};
         DELETE FROM apps WHERE id = {app_id};"
    ))
    .at(path)?;
    Ok(report)
}

pub(crate) fn delete_all(conn: &Connection, path: &Path) -> Result<DeleteReport, StoreError> {
    let report = span(conn, path, "", None)?;
    conn.execute_batch(
        "DELETE FROM blocks;
         DELETE FROM minute_rollups;
         DELETE FROM hour_rollups;
         DELETE FROM key_rollups;
         DELETE FROM click_rollups;
         DELETE FROM pointer_rollups;
         DELETE FROM windows;
         DELETE FROM apps;",
    )
    .at(path)?;
    Ok(report)
}

/// The activity-log entry of a delete. Never holds titles or typed text; an app name is what the
/// person chose to delete, so it is named.
pub(crate) fn describe(
    sel: &Selection,
    retention_days: Option<u32>,
    report: &DeleteReport,
) -> (ActivityKind, String) {
    let n = thousands(report.events);
    let events = if report.events == 1 {
        "event"
    } else {
        "events"
    };
    if let (Some(days), Selection::Range { until, .. }) = (retention_days, sel) {
        return (
            ActivityKind::Retention,
            format!(
                "deleted {n} {events} older than {} (keeping {days} days)",
                fmt_time(*until)
            ),
        );
    }
    let detail = match sel {
        Selection::Range { since, until } => {
            format!(
                "deleted {n} {events} from {} to {}",
                fmt_time(*since),
                fmt_time(*until)
            )
        }
        Selection::App(app) => format!("deleted all {n} {events} of app {app}"),
        Selection::All => format!("deleted all {n} {events}"),
    };
    (ActivityKind::Delete, detail)
}

pub(crate) fn fmt_time(ts: Micros) -> String {
    match chrono::DateTime::from_timestamp_micros(ts) {
        Some(t) if ts > Micros::MIN / 2 && ts < Micros::MAX / 2 => t
            .with_timezone(&chrono::Local)
            .format("%Y-%m-%d %H:%M:%S")
            .to_string(),
        _ if ts < 0 => "the beginning".to_owned(),
        _ => "the end".to_owned(),
    }
}

pub(crate) use glasshouse_core::human::thousands;
