//! Per-hour rollups of *which* keys were pressed and *where* the pointer was: key presses per key
//! (or key category), button presses per 20 × 20 px cell, and the largest pointer position.
//!
//! Rows are kept per (UTC hour, application), so deleting an application drops its rows exactly.
//! Every number is a sum or a maximum over events, so adding a commit's events to what is stored
//! gives the same rows as a computation from scratch, in any order. After a delete the touched
//! hours are rebuilt from the remaining events ([`rebuild_hours`]).
//!
//! - `key_rollups.code`: at the `full` level the key's code ([`Key::code`], never negative); at
//!   the `categories` level minus the category's code ([`KeyCategory::code`]). `KeyPress` (the
//!   `counts` level) is counted only in the minute and hour rollups.
//! - `click_rollups`: `ButtonDown` of any button, in cell (`x / 20`, `y / 20`), negative
//!   coordinates counted as 0.
//! - `pointer_rollups`: the largest x and the largest y of moves, button presses and releases.

use std::collections::HashMap;
use std::path::Path;

use glasshouse_core::keys::{Key, KeyCategory};
use glasshouse_core::model::{Stored, StoredEvent};
use rusqlite::{Connection, params};

use crate::blocks::{Caches, SEGMENTS, app_of_window};
use crate::error::{SqlContext, StoreError};

/// Width and height in pixels of a cell of the click grid.
pub const CLICK_CELL_PX: u32 = 20;

/// The `key_rollups.code` of a key pressed at the `full` level.
pub(crate) fn key_code(key: Key) -> i64 {
    i64::from(key.code())
}

/// The `key_rollups.code` of a key pressed at the `categories` level.
pub(crate) fn category_code(c: KeyCategory) -> i64 {
    -i64::from(c.code())
}

/// The grid cell of a position.
pub(crate) fn cell(x: i32, y: i32) -> (i64, i64) {
    let c = |v: i32| i64::from(v.max(0)) / i64::from(CLICK_CELL_PX);
    (c(x), c(y))
}

/// Stored pointer extents: (hour, app id) -> (largest x, largest y).
pub(crate) type Extents = HashMap<(i64, i64), (i32, i32)>;

/// Counts to add to the stored rows: (hour, app id, …) -> value.
#[derive(Debug, Default)]
pub(crate) struct HourAcc {
    keys: HashMap<(i64, i64, i64), u64>,
    clicks: HashMap<(i64, i64, i64, i64), u64>,
    extent: Extents,
}

impl HourAcc {
    fn is_empty(&self) -> bool {
        self.keys.is_empty() && self.clicks.is_empty() && self.extent.is_empty()
    }

    /// Adds events of one application in one hour.
    pub fn push(&mut self, hour: i64, app: i64, events: &[StoredEvent]) {
        let mut extent: Option<(i32, i32)> = None;
        for e in events {
            let pos = match e.event {
                Stored::KeyDown { key, .. } => {
                    *self.keys.entry((hour, app, key_code(key))).or_default() += 1;
                    None
                }
                Stored::KeyDownCategory(c) => {
                    *self.keys.entry((hour, app, category_code(c))).or_default() += 1;
                    None
                }
                Stored::ButtonDown { x, y, .. } => {
                    let (cx, cy) = cell(x, y);
                    *self.clicks.entry((hour, app, cx, cy)).or_default() += 1;
                    Some((x, y))
                }
                Stored::ButtonUp { x, y, .. } | Stored::Move { x, y } => Some((x, y)),
                _ => None,
            };
            if let Some((x, y)) = pos {
                extent = Some(extent.map_or((x, y), |(mx, my)| (mx.max(x), my.max(y))));
            }
        }
        if let Some((x, y)) = extent {
            self.extent
                .entry((hour, app))
                .and_modify(|(mx, my)| {
                    *mx = (*mx).max(x);
                    *my = (*my).max(y);
                })
                .or_insert((x, y));
        }
    }

    /// Adds the counts to the stored rows and empties the accumulator. `known` holds stored
    /// pointer extents: a position inside one is not written again (most commits of a moving
    /// mouse), and what is written is remembered.
    pub fn write(
        &mut self,
        conn: &Connection,
        path: &Path,
        mut known: Option<&mut Extents>,
    ) -> Result<(), StoreError> {
        if self.is_empty() {
            return Ok(());
        }
        let i = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        let mut s = conn
            .prepare_cached(
                "INSERT INTO key_rollups (hour, app_id, code, presses) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (hour, app_id, code) DO UPDATE SET presses = presses + excluded.presses",
            )
            .at(path)?;
        for ((hour, app, code), n) in self.keys.drain() {
            s.execute(params![hour, app, code, i(n)]).at(path)?;
        }
        let mut s = conn
            .prepare_cached(
                "INSERT INTO click_rollups (hour, app_id, cx, cy, clicks) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (hour, app_id, cx, cy) DO UPDATE SET clicks = clicks + excluded.clicks",
            )
            .at(path)?;
        for ((hour, app, cx, cy), n) in self.clicks.drain() {
            s.execute(params![hour, app, cx, cy, i(n)]).at(path)?;
        }
        let mut s = conn
            .prepare_cached(
                "INSERT INTO pointer_rollups (hour, app_id, max_x, max_y) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (hour, app_id) DO UPDATE
                 SET max_x = max(max_x, excluded.max_x), max_y = max(max_y, excluded.max_y)
                 RETURNING max_x, max_y",
            )
            .at(path)?;
        for ((hour, app), (x, y)) in self.extent.drain() {
            if let Some(known) = known.as_deref()
                && known
                    .get(&(hour, app))
                    .is_some_and(|&(kx, ky)| x <= kx && y <= ky)
            {
                continue;
            }
            let stored: (i32, i32) = s
                .query_row(params![hour, app, x, y], |r| Ok((r.get(0)?, r.get(1)?)))
                .at(path)?;
            if let Some(known) = known.as_deref_mut() {
                known.insert((hour, app), stored);
            }
        }
        Ok(())
    }
}

/// Deletes the rows of hours `lo..hi` (all applications).
pub(crate) fn delete_hours(
    conn: &Connection,
    path: &Path,
    lo: i64,
    hi: i64,
) -> Result<(), StoreError> {
    if lo >= hi {
        return Ok(());
    }
    for table in ["key_rollups", "click_rollups", "pointer_rollups"] {
        conn.prepare_cached(&format!(
            "DELETE FROM {table} WHERE hour >= ?1 AND hour < ?2"
        ))
        .and_then(|mut s| s.execute([lo, hi]))
        .at(path)?;
    }
    Ok(())
}

/// Recomputes the rows of hours `lo..hi` from the stored events, one hour at a time.
pub(crate) fn rebuild_hours(
    conn: &Connection,
    path: &Path,
    caches: &mut Caches,
    lo: i64,
    hi: i64,
) -> Result<(), StoreError> {
    if lo >= hi {
        return Ok(());
    }
    delete_hours(conn, path, lo, hi)?;
    let per_hour = 60 * SEGMENTS;
    let mut stmt = conn
        .prepare_cached(
            "SELECT id, window_id, data FROM blocks WHERE id >= ?1 AND id < ?2 ORDER BY id",
        )
        .at(path)?;
    let mut rows = stmt
        .query([lo.saturating_mul(per_hour), hi.saturating_mul(per_hour)])
        .at(path)?;
    let mut acc = HourAcc::default();
    let mut current_hour = None;
    let mut events = Vec::new();
    while let Some(row) = rows.next().at(path)? {
        let id: i64 = row.get(0).at(path)?;
        let wid: i64 = row.get(1).at(path)?;
        let minute = id.div_euclid(SEGMENTS);
        let hour = minute.div_euclid(60);
        if current_hour != Some(hour) {
            // Keeps memory to one hour's rows, however much is rebuilt.
            acc.write(conn, path, None)?;
            current_hour = Some(hour);
        }
        events.clear();
        crate::blocks::decode_row(row, path, minute, &mut events)?;
        let app = app_of_window(conn, path, caches, wid)?;
        acc.push(hour, app, &events);
    }
    acc.write(conn, path, None)
}

/// Fills the rollups of this module from every stored event (the migration to schema 2).
pub(crate) fn backfill(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let (first, last): (Option<i64>, Option<i64>) = conn
        .query_row("SELECT min(id), max(id) FROM blocks", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .at(path)?;
    let (Some(first), Some(last)) = (first, last) else {
        return Ok(());
    };
    let hour = |id: i64| id.div_euclid(SEGMENTS).div_euclid(60);
    rebuild_hours(
        conn,
        path,
        &mut Caches::default(),
        hour(first),
        hour(last) + 1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use glasshouse_core::model::Button;

    #[test]
    fn cells_clamp_negatives_and_divide_by_twenty() {
        assert_eq!(cell(0, 0), (0, 0));
        assert_eq!(cell(19, 20), (0, 1));
        assert_eq!(cell(-5, 41), (0, 2));
        assert_eq!(cell(i32::MAX, i32::MIN), (107_374_182, 0));
    }

    #[test]
    fn codes_of_keys_and_categories_do_not_collide() {
        for key in Key::all_named() {
            assert!(key_code(key) > 0);
        }
        assert!(key_code(Key::Unknown(0)) > 0);
        for c in KeyCategory::ALL {
            assert!(category_code(c) < 0);
        }
    }

    #[test]
    fn known_events_give_known_counts() {
        let ev = |event| StoredEvent { ts: 0, event };
        let mut acc = HourAcc::default();
        acc.push(
            5,
            1,
            &[
                ev(Stored::KeyDown {
                    key: Key::KeyA,
                    text: Some("a".into()),
                }),
                ev(Stored::KeyUp { key: Key::KeyA }),
                ev(Stored::KeyDown {
                    key: Key::KeyA,
                    text: None,
                }),
                ev(Stored::KeyDownCategory(KeyCategory::Digit)),
                ev(Stored::KeyPress),
                ev(Stored::Move { x: -3, y: 7 }),
                ev(Stored::ButtonDown {
                    button: Button::Left,
                    x: 45,
                    y: -1,
                }),
                ev(Stored::ButtonUp {
                    button: Button::Left,
                    x: 46,
                    y: 2,
                }),
            ],
        );
        acc.push(5, 1, &[ev(Stored::Move { x: 10, y: 1 })]);
        assert_eq!(acc.keys.len(), 2);
        assert_eq!(acc.keys[&(5, 1, key_code(Key::KeyA))], 2);
        assert_eq!(acc.keys[&(5, 1, category_code(KeyCategory::Digit))], 1);
        assert_eq!(acc.clicks.len(), 1);
        assert_eq!(acc.clicks[&(5, 1, 2, 0)], 1);
        assert_eq!(acc.extent[&(5, 1)], (46, 7));
    }
}
