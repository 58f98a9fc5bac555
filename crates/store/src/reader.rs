//! Read-only access for the dashboard and the CLI: each [`Reader`] is its own SQLite connection,
//! so it never waits for the writer (WAL) and never writes.
//!
//! Dashboards read the rollup tables only; raw events are decoded for exports, for the newest
//! events of the live feed ([`Reader::recent`]) and for the partial minutes at the edges of a
//! delete preview ([`Reader::count`]).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use glasshouse_core::keys::{Key, KeyCategory};
use glasshouse_core::model::{MICROS_PER_MINUTE, Micros, Stored, StoredEvent, Window};
use rusqlite::{Connection, OptionalExtension};

use crate::blocks::{SEGMENTS, load_minute};
use crate::error::{SqlContext, StoreError};
use crate::key::DbKey;
use crate::rollup::{ceil_div, counts, overlapping_hours, overlapping_minutes};
use crate::schema;
use crate::types::{
    ActivityEntry, ActivityKind, AppSummary, ClickCell, Counts, ExportFilter, ExportRow,
    HourRollup, KeyCounts, MinuteRollup, PauseInterval, PauseReason, Selection, Totals,
};

const MICROS_PER_HOUR: Micros = 60 * MICROS_PER_MINUTE;

/// A read-only connection to a Glasshouse database.
#[derive(Debug)]
pub struct Reader {
    conn: Connection,
    path: PathBuf,
}

/// What a block's window resolves to, for exports.
struct WindowInfo {
    app_id: i64,
    app: String,
    title: String,
}

impl Reader {
    /// Opens the database read-only with its key. A missing, foreign, damaged, newer or not yet
    /// encrypted file, or a wrong key, is refused with an error naming it, and left as it is.
    pub fn open(path: &Path, key: &DbKey) -> Result<Reader, StoreError> {
        Ok(Reader {
            conn: schema::open_reader(path, key)?,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Calls `f` with every event matching `filter`, exactly as stored, in time order (events
    /// with the same timestamp in storage order). Returns how many were exported; an error from
    /// `f` stops the export and is returned.
    pub fn export(
        &self,
        filter: &ExportFilter,
        mut f: impl FnMut(ExportRow) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let path = &self.path;
        let since = filter.since.unwrap_or(Micros::MIN);
        let until = filter.until.unwrap_or(Micros::MAX);
        if since >= until {
            return Ok(0);
        }
        let wanted_app: Option<i64> = match &filter.app {
            None => None,
            Some(app) => {
                let id = self
                    .conn
                    .query_row("SELECT id FROM apps WHERE name = ?1", [app], |r| r.get(0))
                    .optional()
                    .at(path)?;
                match id {
                    Some(id) => Some(id),
                    None => return Ok(0),
                }
            }
        };
        let (lo, hi) = overlapping_minutes(since, until);
        let mut windows: HashMap<i64, WindowInfo> = HashMap::new();
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, window_id, data FROM blocks WHERE id >= ?1 AND id < ?2 ORDER BY id",
            )
            .at(path)?;
        let mut rows = stmt
            .query([lo.saturating_mul(SEGMENTS), hi.saturating_mul(SEGMENTS)])
            .at(path)?;
        let mut minute_events: Vec<(Micros, i64, Stored)> = Vec::new();
        let mut current_minute = None;
        let mut decoded = Vec::new();
        let mut count = 0u64;
        let mut emit = |events: &mut Vec<(Micros, i64, Stored)>,
                        windows: &HashMap<i64, WindowInfo>|
         -> Result<(), StoreError> {
            events.sort_by_key(|&(ts, wid, _)| (ts, wid));
            for (ts, wid, event) in events.drain(..) {
                let (app, title) = windows
                    .get(&wid)
                    .map_or((String::new(), String::new()), |w| {
                        (w.app.clone(), w.title.clone())
                    });
                f(ExportRow {
                    ts,
                    app,
                    title,
                    event,
                })?;
                count += 1;
            }
            Ok(())
        };
        while let Some(row) = rows.next().at(path)? {
            let id: i64 = row.get(0).at(path)?;
            let wid: i64 = row.get(1).at(path)?;
            let minute = id.div_euclid(SEGMENTS);
            if current_minute != Some(minute) {
                emit(&mut minute_events, &windows)?;
                current_minute = Some(minute);
            }
            if let std::collections::hash_map::Entry::Vacant(v) = windows.entry(wid) {
                v.insert(self.window(wid)?);
            }
            if wanted_app.is_some_and(|a| windows.get(&wid).is_none_or(|w| w.app_id != a)) {
                continue;
            }
            decoded.clear();
            crate::blocks::decode_row(row, path, minute, &mut decoded)?;
            minute_events.extend(
                decoded
                    .drain(..)
                    .filter(|e| since <= e.ts && e.ts < until)
                    .map(|e| (e.ts, wid, e.event)),
            );
        }
        emit(&mut minute_events, &windows)?;
        Ok(count)
    }

    fn window(&self, wid: i64) -> Result<WindowInfo, StoreError> {
        let info = self
            .conn
            .prepare_cached(
                "SELECT w.app_id, a.name, w.title FROM windows w JOIN apps a ON a.id = w.app_id
                 WHERE w.id = ?1",
            )
            .and_then(|mut s| {
                s.query_row([wid], |r| {
                    Ok(WindowInfo {
                        app_id: r.get(0)?,
                        app: r.get(1)?,
                        title: r.get(2)?,
                    })
                })
                .optional()
            })
            .at(&self.path)?;
        Ok(info.unwrap_or(WindowInfo {
            app_id: 0,
            app: Window::UNKNOWN_APP.to_owned(),
            title: String::new(),
        }))
    }

    /// Counts per minute and application, for the minutes overlapping `[since, until)`, in time
    /// order. Includes rows of the excluded-app marker (`Window::EXCLUDED_APP`).
    pub fn minute_rollups(
        &self,
        since: Micros,
        until: Micros,
    ) -> Result<Vec<MinuteRollup>, StoreError> {
        let (lo, hi) = overlapping_minutes(since, until);
        let rows = self.rollup_rows(RollupTable::Minute, lo, hi)?;
        Ok(rows
            .into_iter()
            .map(|(minute, app, counts)| MinuteRollup {
                minute,
                app,
                counts,
            })
            .collect())
    }

    /// Rows of a per-app rollup table with `lo <= unit index < hi`, as (start, app, counts).
    fn rollup_rows(
        &self,
        table: RollupTable,
        lo: i64,
        hi: i64,
    ) -> Result<Vec<(Micros, String, Counts)>, StoreError> {
        let (sql, unit) = match table {
            RollupTable::Minute => (
                "SELECT r.minute, coalesce(a.name, ''), r.keys, r.clicks, r.scroll, r.distance_mpx,
                        r.active, r.events
                 FROM minute_rollups r LEFT JOIN apps a ON a.id = r.app_id
                 WHERE r.minute >= ?1 AND r.minute < ?2 ORDER BY r.minute, a.name",
                MICROS_PER_MINUTE,
            ),
            RollupTable::Hour => (
                "SELECT r.hour, coalesce(a.name, ''), r.keys, r.clicks, r.scroll, r.distance_mpx,
                        r.active, r.events
                 FROM hour_rollups r LEFT JOIN apps a ON a.id = r.app_id
                 WHERE r.hour >= ?1 AND r.hour < ?2 ORDER BY r.hour, a.name",
                MICROS_PER_HOUR,
            ),
        };
        let mut stmt = self.conn.prepare_cached(sql).at(&self.path)?;
        let rows = stmt
            .query_map([lo, hi], |r| {
                Ok((
                    r.get::<_, i64>(0)? * unit,
                    r.get(1)?,
                    counts(
                        r.get(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.get(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ),
                ))
            })
            .at(&self.path)?;
        rows.collect::<Result<_, _>>().at(&self.path)
    }

    /// Counts per hour (UTC) and application, for the hours overlapping `[since, until)`.
    pub fn hour_rollups(
        &self,
        since: Micros,
        until: Micros,
    ) -> Result<Vec<HourRollup>, StoreError> {
        let lo = since.div_euclid(MICROS_PER_HOUR);
        let hi =
            until.div_euclid(MICROS_PER_HOUR) + i64::from(until.rem_euclid(MICROS_PER_HOUR) != 0);
        let rows = self.rollup_rows(RollupTable::Hour, lo, hi)?;
        Ok(rows
            .into_iter()
            .map(|(hour, app, counts)| HourRollup { hour, app, counts })
            .collect())
    }

    /// Sums over the minutes overlapping `[since, until)`.
    pub fn totals(&self, since: Micros, until: Micros) -> Result<Totals, StoreError> {
        let (lo, hi) = overlapping_minutes(since, until);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT r.minute, coalesce(a.name, ''), r.keys, r.clicks, r.scroll, r.distance_mpx,
                        r.events, r.mask
                 FROM minute_rollups r LEFT JOIN apps a ON a.id = r.app_id
                 WHERE r.minute >= ?1 AND r.minute < ?2",
            )
            .at(&self.path)?;
        let mut rows = stmt.query([lo, hi]).at(&self.path)?;
        // Per app: counts (distance in thousandths of a pixel until the end).
        let mut per_app: BTreeMap<String, Counts> = BTreeMap::new();
        let mut active_masks: BTreeMap<i64, u64> = BTreeMap::new();
        let mut excluded_secs = 0u64;
        let u = |v: i64| u64::try_from(v).unwrap_or(0);
        while let Some(r) = rows.next().at(&self.path)? {
            let minute: i64 = r.get(0).at(&self.path)?;
            let app: String = r.get(1).at(&self.path)?;
            let mask = r.get::<_, i64>(7).at(&self.path)? as u64;
            if app == Window::EXCLUDED_APP {
                excluded_secs += u64::from(mask.count_ones());
                continue;
            }
            *active_masks.entry(minute).or_default() |= mask;
            let c = per_app.entry(app).or_default();
            c.keys += u(r.get(2).at(&self.path)?);
            c.clicks += u(r.get(3).at(&self.path)?);
            c.scroll_steps += u(r.get(4).at(&self.path)?);
            c.distance_px += u(r.get(5).at(&self.path)?);
            c.active_secs += u64::from(mask.count_ones());
            c.events += u(r.get(6).at(&self.path)?);
        }
        let mut total = Counts::default();
        for c in per_app.values() {
            total += *c;
        }
        total.distance_px /= 1000;
        total.active_secs = active_masks
            .values()
            .map(|m| u64::from(m.count_ones()))
            .sum();
        let mut per_app: Vec<(String, Counts)> = per_app
            .into_iter()
            .map(|(app, mut c)| {
                c.distance_px /= 1000;
                (app, c)
            })
            .collect();
        per_app.sort_by(|a, b| b.1.active_secs.cmp(&a.1.active_secs).then(a.0.cmp(&b.0)));
        Ok(Totals {
            counts: total,
            excluded_secs,
            per_app,
        })
    }

    /// Pauses overlapping `[since, until)`, oldest first.
    pub fn pauses(&self, since: Micros, until: Micros) -> Result<Vec<PauseInterval>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT since, until, reason FROM pauses
                 WHERE since < ?2 AND (until IS NULL OR until > ?1) ORDER BY since",
            )
            .at(&self.path)?;
        let rows = stmt
            .query_map([since, until], |r| {
                Ok(PauseInterval {
                    since: r.get(0)?,
                    until: r.get(1)?,
                    reason: PauseReason::from_column(r.get::<_, Option<String>>(2)?.as_deref()),
                })
            })
            .at(&self.path)?;
        rows.collect::<Result<_, _>>().at(&self.path)
    }

    /// Checks the activity log's hash chain and the head file next to the database: every
    /// entry as written, in order, none missing (see [`crate::audit`]).
    pub fn verify_audit(&self) -> Result<crate::AuditReport, StoreError> {
        crate::audit::verify(&self.conn, &self.path)
    }

    /// The newest `limit` activity-log entries, newest (last written) first. Entries of kinds
    /// this version does not know are skipped.
    pub fn activity(&self, limit: usize) -> Result<Vec<ActivityEntry>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut stmt = self
            .conn
            .prepare_cached("SELECT ts, kind, detail FROM activity ORDER BY id DESC LIMIT ?1")
            .at(&self.path)?;
        let rows = stmt
            .query_map([limit], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .at(&self.path)?;
        let mut out = Vec::new();
        for row in rows {
            let (ts, kind, detail) = row.at(&self.path)?;
            if let Some(kind) = ActivityKind::from_name(&kind) {
                out.push(ActivityEntry { ts, kind, detail });
            }
        }
        Ok(out)
    }

    /// Applications with stored events, most recently seen first (the excluded-app marker omitted).
    pub fn apps(&self) -> Result<Vec<AppSummary>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.name, max(h.last_ts), sum(h.events)
                 FROM hour_rollups h JOIN apps a ON a.id = h.app_id
                 WHERE a.name <> ?1
                 GROUP BY h.app_id ORDER BY 2 DESC, a.name",
            )
            .at(&self.path)?;
        let rows = stmt
            .query_map([Window::EXCLUDED_APP], |r| {
                Ok(AppSummary {
                    app: r.get(0)?,
                    last_seen: r.get(1)?,
                    events: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                })
            })
            .at(&self.path)?;
        rows.collect::<Result<_, _>>().at(&self.path)
    }

    /// Upload batches in the given states (all when empty), newest window first.
    pub fn batches(
        &self,
        states: &[crate::BatchState],
    ) -> Result<Vec<crate::BatchRecord>, StoreError> {
        crate::batches::list(&self.conn, &self.path, states)
    }

    /// One upload batch.
    pub fn batch(&self, id: i64) -> Result<Option<crate::BatchRecord>, StoreError> {
        crate::batches::get(&self.conn, &self.path, id)
    }

    /// The exact approved bytes of a batch, while it waits to be sent (`None` otherwise).
    pub fn batch_payload(&self, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
        crate::batches::payload(&self.conn, &self.path, id)
    }

    /// The end of the newest sealed batch window, if any.
    pub fn sealed_until(&self) -> Result<Option<Micros>, StoreError> {
        crate::batches::sealed_until(&self.conn, &self.path)
    }

    /// Number of stored events (from the rollups: no raw scan).
    pub fn event_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row(
                "SELECT coalesce(sum(events), 0) FROM hour_rollups",
                [],
                |r| r.get(0),
            )
            .at(&self.path)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Key presses in the hours (UTC) overlapping `[since, until)`, from the per-hour rollups.
    pub fn key_counts(&self, since: Micros, until: Micros) -> Result<KeyCounts, StoreError> {
        let path = &self.path;
        let (lo, hi) = overlapping_hours(since, until);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT code, sum(presses) FROM key_rollups WHERE hour >= ?1 AND hour < ?2
                 GROUP BY code",
            )
            .at(path)?;
        let rows = stmt
            .query_map([lo, hi], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)))
            .at(path)?;
        let mut by_key: Vec<(Key, u64)> = Vec::new();
        let mut by_category: BTreeMap<u8, u64> = BTreeMap::new();
        for row in rows {
            let (code, n) = row.at(path)?;
            let n = u64::try_from(n).unwrap_or(0);
            let category = if code >= 0 {
                let key = Key::from_code(u16::try_from(code).unwrap_or(u16::MAX));
                by_key.push((key, n));
                key.category()
            } else {
                // A category a later version added is counted as "other".
                u8::try_from(-code)
                    .ok()
                    .and_then(KeyCategory::from_code)
                    .unwrap_or(KeyCategory::Other)
            };
            *by_category.entry(category.code()).or_default() += n;
        }
        by_key.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code().cmp(&b.0.code())));
        let mut by_category: Vec<(KeyCategory, u64)> = by_category
            .into_iter()
            .filter_map(|(c, n)| Some((KeyCategory::from_code(c)?, n)))
            .collect();
        by_category.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code().cmp(&b.0.code())));
        Ok(KeyCounts {
            by_key,
            by_category,
        })
    }

    /// Button presses per cell of the click grid, summed over the hours (UTC) overlapping
    /// `[since, until)`, row by row (by `y`, then `x`). Cells without presses are left out.
    pub fn click_cells(&self, since: Micros, until: Micros) -> Result<Vec<ClickCell>, StoreError> {
        let path = &self.path;
        let (lo, hi) = overlapping_hours(since, until);
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT cx, cy, sum(clicks) FROM click_rollups WHERE hour >= ?1 AND hour < ?2
                 GROUP BY cx, cy ORDER BY cy, cx",
            )
            .at(path)?;
        let rows = stmt
            .query_map([lo, hi], |r| {
                let cell = |v: i64| u32::try_from(v).unwrap_or(u32::MAX);
                Ok(ClickCell {
                    x: cell(r.get(0)?),
                    y: cell(r.get(1)?),
                    clicks: u64::try_from(r.get::<_, i64>(2)?).unwrap_or(0),
                })
            })
            .at(path)?;
        rows.collect::<Result<_, _>>().at(path)
    }

    /// The largest x and the largest y of the stored pointer positions (moves, button presses
    /// and releases) in the hours (UTC) overlapping `[since, until)`, to size a click map;
    /// `None` when there are none. The two may come from different positions.
    pub fn pointer_extent(
        &self,
        since: Micros,
        until: Micros,
    ) -> Result<Option<(i32, i32)>, StoreError> {
        let (lo, hi) = overlapping_hours(since, until);
        let (x, y): (Option<i64>, Option<i64>) = self
            .conn
            .prepare_cached(
                "SELECT max(max_x), max(max_y) FROM pointer_rollups WHERE hour >= ?1 AND hour < ?2",
            )
            .and_then(|mut s| s.query_row([lo, hi], |r| Ok((r.get(0)?, r.get(1)?))))
            .at(&self.path)?;
        let pos = |v: i64| i32::try_from(v).unwrap_or(if v < 0 { i32::MIN } else { i32::MAX });
        Ok(x.zip(y).map(|(x, y)| (pos(x), pos(y))))
    }

    /// How many stored events `Store::delete(sel)` would delete now, for a confirmation.
    /// Events appended in the last quarter second may not be committed yet and are not counted.
    ///
    /// A range is counted from the hour and minute rollups, decoding only the (at most two)
    /// minutes it cuts through; an application or everything from the hour rollups.
    pub fn count(&self, sel: &Selection) -> Result<u64, StoreError> {
        match sel {
            Selection::Range { since, until } => self.count_range(*since, *until),
            Selection::App(app) => {
                let n: i64 = self
                    .conn
                    .prepare_cached(
                        "SELECT coalesce(sum(events), 0) FROM hour_rollups
                         WHERE app_id = (SELECT id FROM apps WHERE name = ?1)",
                    )
                    .and_then(|mut s| s.query_row([app], |r| r.get(0)))
                    .at(&self.path)?;
                Ok(u64::try_from(n).unwrap_or(0))
            }
            Selection::All => self.event_count(),
        }
    }

    fn count_range(&self, since: Micros, until: Micros) -> Result<u64, StoreError> {
        if since >= until {
            return Ok(0);
        }
        let path = &self.path;
        let sum = |table: &str, column: &str, lo: i64, hi: i64| -> Result<u64, StoreError> {
            if lo >= hi {
                return Ok(0);
            }
            let n: i64 = self
                .conn
                .prepare_cached(&format!(
                    "SELECT coalesce(sum(events), 0) FROM {table}
                     WHERE {column} >= ?1 AND {column} < ?2"
                ))
                .and_then(|mut s| s.query_row([lo, hi], |r| r.get(0)))
                .at(path)?;
            Ok(u64::try_from(n).unwrap_or(0))
        };
        let minutes = |lo, hi| sum("minute_rollups", "minute", lo, hi);
        // Whole minutes: whole hours from the hour rollups, the minutes around them from the
        // minute rollups.
        let (lo, hi) = overlapping_minutes(since, until);
        let full_lo = ceil_div(since, MICROS_PER_MINUTE);
        let full_hi = until.div_euclid(MICROS_PER_MINUTE);
        let mut n = 0;
        if full_lo < full_hi {
            let (hour_lo, hour_hi) = (ceil_div(full_lo, 60), full_hi.div_euclid(60));
            if hour_lo < hour_hi {
                n += minutes(full_lo, hour_lo * 60)?;
                n += sum("hour_rollups", "hour", hour_lo, hour_hi)?;
                n += minutes(hour_hi * 60, full_hi)?;
            } else {
                n += minutes(full_lo, full_hi)?;
            }
        }
        // Minutes the range cuts through: decoded.
        let mut partial = Vec::new();
        if lo < full_lo {
            partial.push(lo);
        }
        if full_hi < hi && !partial.contains(&full_hi) {
            partial.push(full_hi);
        }
        for minute in partial {
            for (_, _, events) in load_minute(&self.conn, path, minute)? {
                n += events
                    .iter()
                    .filter(|e| since <= e.ts && e.ts < until)
                    .count() as u64;
            }
        }
        Ok(n)
    }

    /// The newest `limit` stored events, oldest first, in the order of [`Reader::export`]: for
    /// a live feed. Reads blocks backwards from the newest and stops as soon as it has enough.
    pub fn recent(&self, limit: usize) -> Result<Vec<ExportRow>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let path = &self.path;
        let mut stmt = self
            .conn
            .prepare_cached("SELECT id, window_id, data FROM blocks ORDER BY id DESC")
            .at(path)?;
        let mut rows = stmt.query([]).at(path)?;
        let mut windows: HashMap<i64, WindowInfo> = HashMap::new();
        // Newest minute first; each minute's rows oldest first.
        let mut chunks: Vec<Vec<ExportRow>> = Vec::new();
        let mut have = 0usize;
        // The blocks of the minute being read, newest block first.
        let mut blocks: Vec<(i64, Vec<StoredEvent>)> = Vec::new();
        let mut current: Option<i64> = None;
        loop {
            let row = rows.next().at(path)?;
            let id: Option<i64> = row.map(|r| r.get(0)).transpose().at(path)?;
            let minute = id.map(|id| id.div_euclid(SEGMENTS));
            if minute != current {
                if !blocks.is_empty() {
                    let mut events: Vec<(Micros, i64, Stored)> = blocks
                        .drain(..)
                        .rev()
                        .flat_map(|(wid, evs)| evs.into_iter().map(move |e| (e.ts, wid, e.event)))
                        .collect();
                    events.sort_by_key(|&(ts, wid, _)| (ts, wid));
                    let skip = events.len().saturating_sub(limit - have);
                    let mut chunk = Vec::with_capacity(events.len() - skip);
                    for (ts, wid, event) in events.into_iter().skip(skip) {
                        if let std::collections::hash_map::Entry::Vacant(v) = windows.entry(wid) {
                            v.insert(self.window(wid)?);
                        }
                        let w = &windows[&wid];
                        chunk.push(ExportRow {
                            ts,
                            app: w.app.clone(),
                            title: w.title.clone(),
                            event,
                        });
                    }
                    have += chunk.len();
                    chunks.push(chunk);
                }
                if have >= limit {
                    break;
                }
                current = minute;
            }
            let (Some(row), Some(minute)) = (row, minute) else {
                break;
            };
            let wid: i64 = row.get(1).at(path)?;
            let mut events = Vec::new();
            crate::blocks::decode_row(row, path, minute, &mut events)?;
            blocks.push((wid, events));
        }
        Ok(chunks.into_iter().rev().flatten().collect())
    }

    /// Bytes the database takes: the file plus its write-ahead log.
    pub fn size_on_disk(&self) -> Result<u64, StoreError> {
        size_on_disk(&self.path)
    }
}

pub(crate) fn size_on_disk(path: &Path) -> Result<u64, StoreError> {
    let db = std::fs::metadata(path)
        .map_err(|e| StoreError::io(path, e))?
        .len();
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    let wal = std::fs::metadata(PathBuf::from(wal)).map_or(0, |m| m.len());
    Ok(db + wal)
}

/// The per-app rollup tables.
#[derive(Debug, Clone, Copy)]
enum RollupTable {
    Minute,
    Hour,
}
