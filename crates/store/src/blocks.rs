//! Blocks and rollups on a connection inside a transaction: resolving windows, allocating
//! block ids, merging segments, and keeping the minute and hour rollups equal to what the blocks
//! hold. Shared by commits, compaction and deletes.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use glasshouse_core::model::{MICROS_PER_MINUTE, Micros, Stored, StoredEvent, Window, now_micros};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec;
use crate::error::{SqlContext, StoreError};
use crate::rollup::Acc;
use crate::types::ActivityKind;

/// Block ids per minute: `id = minute * SEGMENTS + sequence`.
pub(crate) const SEGMENTS: i64 = 4096;

/// Ids already resolved in the database, and the running counts of recent minutes.
/// Cleared after a failed commit and after any delete, since either may invalidate them.
#[derive(Default)]
pub(crate) struct Caches {
    /// app name -> (app id, title -> window id)
    pub windows: HashMap<String, (i64, HashMap<String, i64>)>,
    pub window_app: HashMap<i64, i64>,
    /// (minute, app id) -> counts so far
    pub accs: HashMap<(i64, i64), Acc>,
    /// (hour, app id) -> the stored pointer extent, so commits that do not extend it skip it.
    pub extents: crate::hourly::Extents,
}

impl Caches {
    pub fn clear(&mut self) {
        *self = Caches::default();
    }
}

pub(crate) fn log_activity(
    conn: &Connection,
    path: &Path,
    kind: ActivityKind,
    detail: &str,
) -> Result<(), StoreError> {
    // Chained to the entries before it (see `audit`).
    crate::audit::append(conn, path, now_micros(), kind.name(), detail)
}

pub(crate) fn window_id(
    conn: &Connection,
    path: &Path,
    caches: &mut Caches,
    window: &Window,
) -> Result<i64, StoreError> {
    if let Some(&id) = caches
        .windows
        .get(window.app.as_str())
        .and_then(|(_, titles)| titles.get(window.title.as_str()))
    {
        return Ok(id);
    }
    let app_id = match caches.windows.get(window.app.as_str()) {
        Some((id, _)) => *id,
        None => {
            conn.prepare_cached("INSERT INTO apps (name) VALUES (?1) ON CONFLICT DO NOTHING")
                .and_then(|mut s| s.execute([&window.app]))
                .at(path)?;
            let id: i64 = conn
                .prepare_cached("SELECT id FROM apps WHERE name = ?1")
                .and_then(|mut s| s.query_row([&window.app], |r| r.get(0)))
                .at(path)?;
            caches
                .windows
                .insert(window.app.clone(), (id, HashMap::new()));
            id
        }
    };
    conn.prepare_cached(
        "INSERT INTO windows (app_id, title) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    )
    .and_then(|mut s| s.execute(params![app_id, window.title]))
    .at(path)?;
    let id: i64 = conn
        .prepare_cached("SELECT id FROM windows WHERE app_id = ?1 AND title = ?2")
        .and_then(|mut s| s.query_row(params![app_id, window.title], |r| r.get(0)))
        .at(path)?;
    if let Some((_, titles)) = caches.windows.get_mut(window.app.as_str()) {
        titles.insert(window.title.clone(), id);
    }
    caches.window_app.insert(id, app_id);
    Ok(id)
}

pub(crate) fn app_of_window(
    conn: &Connection,
    path: &Path,
    caches: &mut Caches,
    wid: i64,
) -> Result<i64, StoreError> {
    if let Some(&a) = caches.window_app.get(&wid) {
        return Ok(a);
    }
    let a: i64 = conn
        .prepare_cached("SELECT app_id FROM windows WHERE id = ?1")
        .and_then(|mut s| s.query_row([wid], |r| r.get(0)))
        .optional()
        .at(path)?
        // A block whose window row is missing is counted under id 0, never dropped silently.
        .unwrap_or(0);
    caches.window_app.insert(wid, a);
    Ok(a)
}

/// The next free block id of `minute`, merging its segments first if the minute is full.
pub(crate) fn next_block_id(
    conn: &Connection,
    path: &Path,
    minute: i64,
) -> Result<i64, StoreError> {
    let base = minute * SEGMENTS;
    let max = || -> Result<Option<i64>, StoreError> {
        conn.prepare_cached("SELECT max(id) FROM blocks WHERE id >= ?1 AND id < ?2")
            .and_then(|mut s| s.query_row([base, base + SEGMENTS], |r| r.get(0)))
            .at(path)
    };
    let next = |m: Option<i64>| m.map_or(base, |m| m + 1);
    let id = next(max()?);
    if id < base + SEGMENTS {
        return Ok(id);
    }
    compact_minute(conn, path, minute)?;
    let id = next(max()?);
    if id < base + SEGMENTS {
        Ok(id)
    } else {
        Err(StoreError::TooManyWindows)
    }
}

/// The blocks of one minute, decoded, in id order: (id, window id, events).
pub(crate) fn load_minute(
    conn: &Connection,
    path: &Path,
    minute: i64,
) -> Result<Vec<(i64, i64, Vec<StoredEvent>)>, StoreError> {
    let base = minute * SEGMENTS;
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, window_id, data FROM blocks WHERE id >= ?1 AND id < ?2 ORDER BY id",
        )
        .at(path)?;
    let mut rows = stmt.query([base, base + SEGMENTS]).at(path)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().at(path)? {
        let mut events = Vec::new();
        decode_row(row, path, minute, &mut events)?;
        out.push((row.get(0).at(path)?, row.get(1).at(path)?, events));
    }
    Ok(out)
}

/// Decodes the event block in column 2 (`data`) of a `blocks` row of `minute`, appending its
/// events to `out`.
pub(crate) fn decode_row(
    row: &rusqlite::Row<'_>,
    path: &Path,
    minute: i64,
    out: &mut Vec<StoredEvent>,
) -> Result<(), StoreError> {
    let data = row.get_ref(2).at(path)?;
    let data = data.as_blob().map_err(|_| StoreError::Corrupt {
        path: path.to_owned(),
        reason: "an event block is not binary data".to_owned(),
    })?;
    codec::decode(minute * MICROS_PER_MINUTE, data, out).map_err(|e| StoreError::decode(path, e))
}

/// Merges the segments of one minute into one block per window, numbered from the minute's base.
pub(crate) fn compact_minute(
    conn: &Connection,
    path: &Path,
    minute: i64,
) -> Result<(), StoreError> {
    let blocks = load_minute(conn, path, minute)?;
    let base = minute * SEGMENTS;
    let mut merged: Vec<(i64, Vec<StoredEvent>)> = Vec::new();
    let mut index: HashMap<i64, usize> = HashMap::new();
    let mut dense = true;
    let count = blocks.len();
    for (i, (id, wid, events)) in blocks.into_iter().enumerate() {
        dense &= id == base + i as i64;
        match index.get(&wid) {
            Some(&k) => merged[k].1.extend(events),
            None => {
                index.insert(wid, merged.len());
                merged.push((wid, events));
            }
        }
    }
    if dense && merged.len() == count {
        // Already one block per window, numbered densely: nothing to do.
        return Ok(());
    }
    conn.prepare_cached("DELETE FROM blocks WHERE id >= ?1 AND id < ?2")
        .and_then(|mut s| s.execute([base, base + SEGMENTS]))
        .at(path)?;
    for (i, (wid, mut events)) in merged.into_iter().enumerate() {
        // Stable: events with the same timestamp keep their storage order.
        events.sort_by_key(|e| e.ts);
        let data = codec::encode(minute * MICROS_PER_MINUTE, &events);
        conn.prepare_cached("INSERT INTO blocks (id, window_id, data) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![base + i as i64, wid, data]))
            .at(path)?;
    }
    Ok(())
}

/// An event with what orders it for the rollups: (timestamp, window id, event).
type Ordered = (Micros, i64, Stored);

/// Events of one minute grouped by application, each in rollup order: (timestamp, window id),
/// ties in storage order.
pub(crate) fn by_app(
    conn: &Connection,
    path: &Path,
    caches: &mut Caches,
    blocks: Vec<(i64, Vec<StoredEvent>)>,
) -> Result<BTreeMap<i64, Vec<Ordered>>, StoreError> {
    let mut apps: BTreeMap<i64, Vec<Ordered>> = BTreeMap::new();
    for (wid, events) in blocks {
        let app = app_of_window(conn, path, caches, wid)?;
        apps.entry(app)
            .or_default()
            .extend(events.into_iter().map(|e| (e.ts, wid, e.event)));
    }
    for events in apps.values_mut() {
        events.sort_by_key(|&(ts, wid, _)| (ts, wid));
    }
    Ok(apps)
}

pub(crate) fn write_minute_row(
    conn: &Connection,
    path: &Path,
    minute: i64,
    app: i64,
    a: &Acc,
) -> Result<(), StoreError> {
    let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "INSERT OR REPLACE INTO minute_rollups
         (minute, app_id, keys, clicks, scroll, distance_mpx, active, events, mask, last_ts)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            minute,
            app,
            i(a.keys),
            i(a.clicks),
            i(a.scroll),
            i(a.distance_mpx),
            i(a.active_secs()),
            i(a.events),
            a.mask as i64,
            a.last_ts
        ])
    })
    .map(drop)
    .at(path)
}

/// Recomputes the rollup rows of one minute from its stored events.
pub(crate) fn recompute_minute(
    conn: &Connection,
    path: &Path,
    caches: &mut Caches,
    minute: i64,
) -> Result<(), StoreError> {
    let blocks = load_minute(conn, path, minute)?
        .into_iter()
        .map(|(_, wid, events)| (wid, events))
        .collect();
    let apps = by_app(conn, path, caches, blocks)?;
    conn.prepare_cached("DELETE FROM minute_rollups WHERE minute = ?1")
        .and_then(|mut s| s.execute([minute]))
        .at(path)?;
    caches.accs.retain(|&(m, _), _| m != minute);
    let start = minute * MICROS_PER_MINUTE;
    for (app, events) in apps {
        let mut acc = Acc::default();
        for (ts, _, ev) in &events {
            acc.push(start, *ts, ev);
        }
        write_minute_row(conn, path, minute, app, &acc)?;
        caches.accs.insert((minute, app), acc);
    }
    Ok(())
}

/// Updates the rollups of `minute` for newly stored blocks: incrementally when the new events
/// all come after what is counted already, otherwise by recomputing the minute.
pub(crate) fn add_to_minute(
    conn: &Connection,
    path: &Path,
    caches: &mut Caches,
    minute: i64,
    added: &[(i64, Vec<StoredEvent>)],
) -> Result<(), StoreError> {
    let apps = by_app(conn, path, caches, added.to_vec())?;
    let incremental = apps.iter().all(|(app, events)| {
        caches
            .accs
            .get(&(minute, *app))
            .is_some_and(|acc| events.first().is_none_or(|&(ts, _, _)| ts > acc.last_ts))
    });
    if !incremental {
        return recompute_minute(conn, path, caches, minute);
    }
    let start = minute * MICROS_PER_MINUTE;
    for (app, events) in apps {
        let Some(acc) = caches.accs.get_mut(&(minute, app)) else {
            continue;
        };
        for (ts, _, ev) in &events {
            acc.push(start, *ts, ev);
        }
        let acc = *acc;
        write_minute_row(conn, path, minute, app, &acc)?;
    }
    Ok(())
}

pub(crate) fn recompute_hour(conn: &Connection, path: &Path, hour: i64) -> Result<(), StoreError> {
    conn.prepare_cached("DELETE FROM hour_rollups WHERE hour = ?1")
        .and_then(|mut s| s.execute([hour]))
        .at(path)?;
    conn.prepare_cached(
        "INSERT INTO hour_rollups
         (hour, app_id, keys, clicks, scroll, distance_mpx, active, events, last_ts)
         SELECT ?1, app_id, sum(keys), sum(clicks), sum(scroll), sum(distance_mpx), sum(active),
                sum(events), max(last_ts)
         FROM minute_rollups WHERE minute >= ?1 * 60 AND minute < ?1 * 60 + 60
         GROUP BY app_id",
    )
    .and_then(|mut s| s.execute([hour]))
    .map(drop)
    .at(path)
}
