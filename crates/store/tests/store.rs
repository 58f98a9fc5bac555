//! The store through its public API only: what goes in comes out, counts are right, deletes
//! really delete, and files that are not ours are left alone.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use glasshouse_core::keys::{Key, KeyCategory};
use glasshouse_core::model::{
    Button, MICROS_PER_MINUTE, MICROS_PER_SEC, Micros, Stored, StoredEvent, Window,
};
use glasshouse_core::policy::Emitted;
use glasshouse_store::{
    ActivityKind, CLICK_CELL_PX, ClickCell, Counts, DbKey, ExportFilter, ExportRow, KeyCounts,
    PauseInterval, PauseReason, Reader, Selection, Store, StoreError, synth,
};

const S: Micros = MICROS_PER_SEC;
const M: Micros = MICROS_PER_MINUTE;
const H: Micros = 60 * M;
/// 2026-03-02 09:00:00 UTC, a Monday.
const DAY: Micros = 1_772_442_000 * S;

fn win(app: &str, title: &str) -> Arc<Window> {
    Arc::new(Window {
        app: app.into(),
        class: "Class".into(),
        title: title.into(),
    })
}

fn ev(w: &Arc<Window>, ts: Micros, event: Stored) -> Emitted {
    (w.clone(), StoredEvent { ts, event })
}

fn mv(x: i32, y: i32) -> Stored {
    Stored::Move { x, y }
}

fn typed(c: &str) -> Stored {
    Stored::KeyDown {
        key: Key::KeyA,
        text: Some(c.into()),
    }
}

fn db(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("data").join("glasshouse.db")
}

fn export(r: &Reader, filter: &ExportFilter) -> Vec<ExportRow> {
    let mut rows = Vec::new();
    let n = r
        .export(filter, |row| {
            rows.push(row);
            Ok(())
        })
        .unwrap();
    assert_eq!(n as usize, rows.len());
    rows
}

fn export_all(r: &Reader) -> Vec<ExportRow> {
    export(r, &ExportFilter::default())
}

/// The key every test database is encrypted with.
fn key() -> DbKey {
    DbKey::from_bytes([7; 32])
}

/// A raw SQLite connection to a test database, keyed.
fn keyed(path: &Path) -> rusqlite::Connection {
    glasshouse_store::raw::open_keyed(path, &key()).unwrap()
}

/// Every page of the database file and of its WAL, free and old ones included, decrypted: what
/// an owner of the key could read off the disk.
fn raw_bytes(path: &Path) -> Vec<u8> {
    glasshouse_store::raw::decrypted_pages(path, &key()).unwrap()
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// Rollups computed from scratch from exported events, following the documented definitions:
/// ((minute start, app) -> (counts, distance in thousandths of a pixel, last timestamp)).
fn reference(rows: &[ExportRow]) -> BTreeMap<(Micros, String), (Counts, u64)> {
    let mut out: BTreeMap<(Micros, String), (Counts, u64)> = BTreeMap::new();
    let mut masks: BTreeMap<(Micros, String), u64> = BTreeMap::new();
    let mut last_pos: BTreeMap<(Micros, String), (i32, i32)> = BTreeMap::new();
    for r in rows {
        let minute = r.ts.div_euclid(M) * M;
        let key = (minute, r.app.clone());
        let (c, mpx) = out.entry(key.clone()).or_default();
        c.events += 1;
        *masks.entry(key.clone()).or_default() |= 1 << ((r.ts - minute) / S);
        c.keys += u64::from(r.event.is_key_press());
        let pos = match r.event {
            Stored::ButtonDown { x, y, .. } => {
                c.clicks += 1;
                Some((x, y))
            }
            Stored::ButtonUp { x, y, .. } | Stored::Move { x, y } => Some((x, y)),
            Stored::Wheel { dx, dy } => {
                c.scroll_steps += u64::from(dx.unsigned_abs() + dy.unsigned_abs());
                None
            }
            _ => None,
        };
        if let Some(p) = pos
            && let Some(l) = last_pos.insert(key, p)
        {
            let d = f64::from(p.0 - l.0).hypot(f64::from(p.1 - l.1));
            *mpx += (d * 1000.0).round() as u64;
        }
    }
    for (k, (c, mpx)) in out.iter_mut() {
        c.active_secs = u64::from(masks[k].count_ones());
        c.distance_px = *mpx / 1000;
    }
    out
}

/// Key counts computed from scratch from exported events, sorted as the store sorts them.
fn reference_keys(rows: &[ExportRow]) -> KeyCounts {
    let mut by_key: BTreeMap<u16, u64> = BTreeMap::new();
    let mut by_category: BTreeMap<u8, u64> = BTreeMap::new();
    for r in rows {
        match r.event {
            Stored::KeyDown { key, .. } => {
                *by_key.entry(key.code()).or_default() += 1;
                *by_category.entry(key.category().code()).or_default() += 1;
            }
            Stored::KeyDownCategory(c) => *by_category.entry(c.code()).or_default() += 1,
            _ => {}
        }
    }
    let mut by_key: Vec<(Key, u64)> = by_key
        .into_iter()
        .map(|(c, n)| (Key::from_code(c), n))
        .collect();
    by_key.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code().cmp(&b.0.code())));
    let mut by_category: Vec<(KeyCategory, u64)> = by_category
        .into_iter()
        .map(|(c, n)| (KeyCategory::from_code(c).unwrap(), n))
        .collect();
    by_category.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.code().cmp(&b.0.code())));
    KeyCounts {
        by_key,
        by_category,
    }
}

/// Click cells computed from scratch, row by row.
fn reference_clicks(rows: &[ExportRow]) -> Vec<ClickCell> {
    let mut cells: BTreeMap<(u32, u32), u64> = BTreeMap::new();
    for r in rows {
        if let Stored::ButtonDown { x, y, .. } = r.event {
            let c = |v: i32| v.max(0) as u32 / CLICK_CELL_PX;
            *cells.entry((c(y), c(x))).or_default() += 1;
        }
    }
    cells
        .into_iter()
        .map(|((y, x), clicks)| ClickCell { x, y, clicks })
        .collect()
}

/// The largest x and y of positions, computed from scratch.
fn reference_extent(rows: &[ExportRow]) -> Option<(i32, i32)> {
    rows.iter()
        .filter_map(|r| match r.event {
            Stored::Move { x, y }
            | Stored::ButtonDown { x, y, .. }
            | Stored::ButtonUp { x, y, .. } => Some((x, y)),
            _ => None,
        })
        .reduce(|a, b| (a.0.max(b.0), a.1.max(b.1)))
}

/// Checks the per-hour key, click and pointer rollups against a computation from `rows` (all
/// stored events): over everything, and hour by hour.
fn check_hourly_rollups(r: &Reader, rows: &[ExportRow]) {
    let all = (Micros::MIN, Micros::MAX);
    assert_eq!(r.key_counts(all.0, all.1).unwrap(), reference_keys(rows));
    assert_eq!(r.click_cells(all.0, all.1).unwrap(), reference_clicks(rows));
    assert_eq!(
        r.pointer_extent(all.0, all.1).unwrap(),
        reference_extent(rows)
    );
    let hours: std::collections::BTreeSet<Micros> =
        rows.iter().map(|e| e.ts.div_euclid(H) * H).collect();
    let (Some(&first), Some(&last)) = (hours.first(), hours.last()) else {
        return;
    };
    // Nothing outside the hours with events.
    for (since, until) in [(Micros::MIN, first), (last + H, Micros::MAX)] {
        assert_eq!(r.key_counts(since, until).unwrap(), KeyCounts::default());
        assert_eq!(r.click_cells(since, until).unwrap(), vec![]);
        assert_eq!(r.pointer_extent(since, until).unwrap(), None);
    }
    let mut hour = first;
    while hour <= last {
        let in_hour: Vec<ExportRow> = rows
            .iter()
            .filter(|e| hour <= e.ts && e.ts < hour + H)
            .cloned()
            .collect();
        // A range inside the hour covers the whole hour.
        let (since, until) = (hour + 7 * M + 3, hour + 8 * M);
        assert_eq!(
            r.key_counts(since, until).unwrap(),
            reference_keys(&in_hour),
            "key counts of hour {hour}"
        );
        assert_eq!(
            r.click_cells(since, until).unwrap(),
            reference_clicks(&in_hour),
            "click cells of hour {hour}"
        );
        assert_eq!(
            r.pointer_extent(since, until).unwrap(),
            reference_extent(&in_hour),
            "pointer extent of hour {hour}"
        );
        hour += H;
    }
}

/// Checks the stored minute and hour rollups against counts computed from the stored events.
fn check_rollups(r: &Reader) {
    let rows = export_all(r);
    check_hourly_rollups(r, &rows);
    assert_eq!(r.count(&Selection::All).unwrap(), rows.len() as u64);
    for app in r.apps().unwrap() {
        let n = rows.iter().filter(|e| e.app == app.app).count() as u64;
        assert_eq!(r.count(&Selection::App(app.app.to_uppercase())).unwrap(), n);
    }
    let want = reference(&rows);
    let got: BTreeMap<(Micros, String), Counts> = r
        .minute_rollups(Micros::MIN, Micros::MAX)
        .unwrap()
        .into_iter()
        .map(|m| ((m.minute, m.app), m.counts))
        .collect();
    let want_minutes: BTreeMap<(Micros, String), Counts> =
        want.iter().map(|(k, (c, _))| (k.clone(), *c)).collect();
    assert_eq!(
        got, want_minutes,
        "minute rollups differ from a recomputation"
    );
    let mut want_hours: BTreeMap<(Micros, String), (Counts, u64)> = BTreeMap::new();
    for ((minute, app), (c, mpx)) in &want {
        let h = want_hours
            .entry((minute.div_euclid(H) * H, app.clone()))
            .or_default();
        let mut c = *c;
        c.distance_px = 0;
        h.0 += c;
        h.1 += mpx;
    }
    let want_hours: BTreeMap<(Micros, String), Counts> = want_hours
        .into_iter()
        .map(|(k, (mut c, mpx))| {
            c.distance_px = mpx / 1000;
            (k, c)
        })
        .collect();
    let got_hours: BTreeMap<(Micros, String), Counts> = r
        .hour_rollups(Micros::MIN, Micros::MAX)
        .unwrap()
        .into_iter()
        .map(|h| ((h.hour, h.app), h.counts))
        .collect();
    assert_eq!(
        got_hours, want_hours,
        "hour rollups differ from a recomputation"
    );
    assert_eq!(r.event_count().unwrap(), rows.len() as u64);
}

/// Appends `events` in slices of `step` of their time, flushing after each, the way a recorder
/// that commits while the day goes on would.
fn append_in_steps(store: &Store, events: &[Emitted], step: Micros) {
    let mut i = 0;
    while i < events.len() {
        let until = events[i].1.ts + step;
        let j = i + events[i..].iter().take_while(|e| e.1.ts < until).count();
        store.append(events[i..j].to_vec());
        store.flush().unwrap();
        i = j;
    }
}

#[test]
fn known_input_gives_exact_rollups() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    let ff = win("firefox", "Mail");
    let ff2 = win("Firefox", "Docs"); // same app, other spelling and window
    let term = win("xterm", "bash");
    let ex = Arc::new(Window::excluded());
    let t = DAY;
    store.append(vec![
        ev(&ff, t, mv(0, 0)),
        ev(&ff, t + S / 2, mv(3, 4)),
        ev(&term, t + S, typed("h")),
        ev(&term, t + S + 1, Stored::KeyUp { key: Key::KeyH }),
        ev(
            &ff2,
            t + 2 * S,
            Stored::ButtonDown {
                button: Button::Left,
                x: 3,
                y: 8,
            },
        ),
        ev(
            &ff2,
            t + 2 * S + 10,
            Stored::ButtonUp {
                button: Button::Left,
                x: 3,
                y: 8,
            },
        ),
        ev(&ff, t + 3 * S, Stored::Wheel { dx: 0, dy: -3 }),
        ev(&ff, t + 3 * S, Stored::Wheel { dx: 2, dy: 0 }),
        ev(&ex, t + 4 * S, Stored::Excluded),
        ev(&ex, t + 5 * S, Stored::Excluded),
        // Next minute: the first position of a minute adds no distance.
        ev(&ff, t + M, mv(100, 100)),
        ev(
            &term,
            t + M + S,
            Stored::KeyDownCategory(KeyCategory::Digit),
        ),
        ev(&term, t + M + S, Stored::KeyPress),
        // Next hour.
        ev(
            &term,
            t + H + 59 * S,
            Stored::KeyUpCategory(KeyCategory::Letter),
        ),
    ]);
    store.flush().unwrap();
    let r = store.reader().unwrap();
    let c = |keys, clicks, scroll_steps, distance_px, active_secs, events| Counts {
        keys,
        clicks,
        scroll_steps,
        distance_px,
        active_secs,
        events,
    };
    let minutes: Vec<(Micros, String, Counts)> = r
        .minute_rollups(t, t + 2 * H)
        .unwrap()
        .into_iter()
        .map(|m| (m.minute - t, m.app, m.counts))
        .collect();
    assert_eq!(
        minutes,
        vec![
            (0, Window::EXCLUDED_APP.into(), c(0, 0, 0, 0, 2, 2)),
            // 5 px, then 4 px to the click; positions at 0 s, 0.5 s (same second), 2 s, 3 s.
            (0, "firefox".into(), c(0, 1, 5, 9, 3, 6)),
            (0, "xterm".into(), c(1, 0, 0, 0, 1, 2)),
            (M, "firefox".into(), c(0, 0, 0, 0, 1, 1)),
            (M, "xterm".into(), c(2, 0, 0, 0, 1, 2)),
            (H, "xterm".into(), c(0, 0, 0, 0, 1, 1)),
        ]
    );
    let hours: Vec<(Micros, String, Counts)> = r
        .hour_rollups(t, t + 2 * H)
        .unwrap()
        .into_iter()
        .map(|h| (h.hour - t, h.app, h.counts))
        .collect();
    assert_eq!(
        hours,
        vec![
            (0, Window::EXCLUDED_APP.into(), c(0, 0, 0, 0, 2, 2)),
            (0, "firefox".into(), c(0, 1, 5, 9, 4, 7)),
            (0, "xterm".into(), c(3, 0, 0, 0, 2, 4)),
            (H, "xterm".into(), c(0, 0, 0, 0, 1, 1)),
        ]
    );
    let totals = r.totals(t, t + H).unwrap();
    // Seconds 0,1,2,3 of the first minute (xterm's second 1 overlaps nothing of firefox's
    // 0,2,3) and second 0 and 1 of the next: 6 distinct seconds.
    assert_eq!(totals.counts, c(3, 1, 5, 9, 6, 11));
    assert_eq!(totals.excluded_secs, 2);
    assert_eq!(
        totals.per_app,
        vec![
            ("firefox".to_owned(), c(0, 1, 5, 9, 4, 7)),
            ("xterm".to_owned(), c(3, 0, 0, 0, 2, 4)),
        ]
    );
    // A range inside one minute still counts that whole minute.
    assert_eq!(r.totals(t + 10 * S, t + 11 * S).unwrap().counts.events, 8);
    let apps: Vec<(String, Micros, u64)> = r
        .apps()
        .unwrap()
        .into_iter()
        .map(|a| (a.app, a.last_seen - t, a.events))
        .collect();
    assert_eq!(
        apps,
        vec![("xterm".into(), H + 59 * S, 5), ("firefox".into(), M, 7)]
    );
    assert_eq!(r.event_count().unwrap(), 14);
    check_rollups(&r);
    store.close().unwrap();
}

#[test]
fn export_gives_back_exactly_what_was_stored_in_time_order() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    let a = win("a", "A title");
    let b = win("b", "");
    let ex = Arc::new(Window::excluded());
    // Appended out of order and across minutes and windows.
    let events = [
        ev(&a, DAY + 61 * S, typed("x")),
        ev(&b, DAY + 5, mv(-5, 7)),
        ev(&ex, DAY + 30 * S, Stored::Excluded),
        ev(
            &a,
            DAY,
            Stored::KeyDown {
                key: Key::Unknown(8),
                text: None,
            },
        ),
        ev(&b, DAY + 59 * S, Stored::Wheel { dx: 1, dy: -1 }),
    ];
    store.append(events[..2].to_vec());
    store.flush().unwrap();
    store.append(events[2..].to_vec());
    store.flush().unwrap();
    let r = store.reader().unwrap();
    let got: Vec<(Micros, String, String, Stored)> = export_all(&r)
        .into_iter()
        .map(|e| (e.ts - DAY, e.app, e.title, e.event))
        .collect();
    let want = vec![
        (
            0,
            "a".into(),
            "A title".into(),
            Stored::KeyDown {
                key: Key::Unknown(8),
                text: None,
            },
        ),
        (5, "b".into(), String::new(), mv(-5, 7)),
        (
            30 * S,
            Window::EXCLUDED_APP.into(),
            String::new(),
            Stored::Excluded,
        ),
        (
            59 * S,
            "b".into(),
            String::new(),
            Stored::Wheel { dx: 1, dy: -1 },
        ),
        (61 * S, "a".into(), "A title".into(), typed("x")),
    ];
    assert_eq!(got, want);
    let only_a = export(
        &r,
        &ExportFilter {
            app: Some("A".into()),
            ..Default::default()
        },
    );
    assert_eq!(only_a.len(), 2);
    let window = export(
        &r,
        &ExportFilter {
            since: Some(DAY + 5),
            until: Some(DAY + 59 * S),
            app: None,
        },
    );
    assert_eq!(
        window.iter().map(|e| e.ts - DAY).collect::<Vec<_>>(),
        vec![5, 30 * S]
    );
    check_rollups(&r);
}

#[test]
fn rollups_after_deletes_equal_a_recomputation() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    let mut day = synth::workday(DAY, 3, 0.03);
    // The synthetic day types at the full level: add keys stored at the other levels, and
    // clicks off the left and top edges.
    let other = win("editor", "notes");
    for i in 0..40 {
        let t = DAY + i * 47 * S + 11;
        day.push(ev(
            &other,
            t,
            Stored::KeyDownCategory(KeyCategory::ALL[i as usize % 8]),
        ));
        day.push(ev(&other, t + 1, Stored::KeyPress));
        day.push(ev(
            &other,
            t + 2,
            Stored::ButtonDown {
                button: Button::Middle,
                x: -(i as i32),
                y: 30 - i as i32,
            },
        ));
    }
    day.sort_by_key(|e| e.1.ts);
    // Small steps exercise incremental counting, segments and their merging.
    append_in_steps(&store, &day, 2 * S);
    let r = store.reader().unwrap();
    check_rollups(&r);
    let total = r.event_count().unwrap();
    assert_eq!(total, day.len() as u64);

    // A range with ragged edges, spanning an hour boundary.
    let (since, until) = (DAY + 7 * M + 13 * S + 5, DAY + 12 * M + 41 * S);
    let in_range = day
        .iter()
        .filter(|e| since <= e.1.ts && e.1.ts < until)
        .count() as u64;
    assert_eq!(
        r.count(&Selection::Range { since, until }).unwrap(),
        in_range
    );
    let report = store.delete(Selection::Range { since, until }).unwrap();
    assert_eq!(report.events, in_range);
    assert_eq!((report.since, report.until), (Some(since), Some(until)));
    check_rollups(&r);
    assert!(export_all(&r).iter().all(|e| e.ts < since || e.ts >= until));

    // A range inside one minute.
    let report = store
        .delete(Selection::Range {
            since: DAY + 3 * M + S,
            until: DAY + 3 * M + 2 * S,
        })
        .unwrap();
    check_rollups(&r);
    assert_eq!(r.event_count().unwrap(), total - in_range - report.events);

    // An app, case-insensitively.
    let victim = r.apps().unwrap()[0].clone();
    let report = store
        .delete(Selection::App(victim.app.to_uppercase()))
        .unwrap();
    assert_eq!(report.events, victim.events);
    check_rollups(&r);
    assert!(export_all(&r).iter().all(|e| e.app != victim.app));
    assert!(r.apps().unwrap().iter().all(|a| a.app != victim.app));

    // Data added after deletes is counted as before.
    let more = synth::workday(DAY + 2 * H, 4, 0.005);
    append_in_steps(&store, &more, 10 * S);
    check_rollups(&r);

    let report = store.delete(Selection::All).unwrap();
    assert!(report.events > 0);
    assert_eq!(r.event_count().unwrap(), 0);
    assert!(r.apps().unwrap().is_empty());
    assert!(export_all(&r).is_empty());
    check_rollups(&r);
    let log = r.activity(10).unwrap();
    assert_eq!(log.len(), 4);
    assert!(log.iter().all(|e| e.kind == ActivityKind::Delete));
    assert!(
        log[0].detail.starts_with("deleted all "),
        "{}",
        log[0].detail
    );
    let of_app = format!("of app {}", victim.app.to_uppercase());
    assert!(log[1].detail.ends_with(&of_app), "{}", log[1].detail);
    store.close().unwrap();
}

/// Stores a canary as a window title and as typed text, deletes it with `sel`, and checks the
/// raw bytes of the database and its WAL: present before, absent after (while open and closed).
fn check_canary_is_gone(sel: impl Fn(Micros) -> Selection, label: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = Store::open(&path, &key()).unwrap();
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let title_canary = format!("TitleCanary{seed:x}");
    let text_canary = format!("TypedCanary{seed:x}");
    let secret = win("secretapp", &title_canary);
    let other = win("editor", "notes.txt");
    let t = DAY + 30 * M;
    // Enough surrounding data that pages are shared, overflow pages exist and a checkpoint ran.
    let before = synth::workday(DAY, 9, 0.02);
    append_in_steps(&store, &before, 60 * S);
    store.append(vec![
        ev(&other, t - S, typed("q")),
        ev(&secret, t, mv(1, 1)),
        ev(&secret, t + S, typed(&text_canary)),
        ev(&secret, t + 2 * S, Stored::KeyUp { key: Key::KeyA }),
        ev(&other, t + 3 * S, typed("w")),
    ]);
    store.flush().unwrap();
    let after = synth::workday(DAY + H, 10, 0.02);
    append_in_steps(&store, &after, 60 * S);
    let bytes = raw_bytes(&path);
    assert!(
        contains(&bytes, &title_canary),
        "{label}: control: title stored"
    );
    assert!(
        contains(&bytes, &text_canary),
        "{label}: control: typed text stored"
    );

    let report = store.delete(sel(t)).unwrap();
    assert!(report.events >= 3, "{label}: {report:?}");
    let bytes = raw_bytes(&path);
    assert!(
        !contains(&bytes, &title_canary),
        "{label}: title still on disk while open"
    );
    assert!(
        !contains(&bytes, &text_canary),
        "{label}: typed text still on disk while open"
    );
    assert!(report.wal_cleared, "{label}: {report:?}");
    assert!(!store.wal_pending());
    let r = store.reader().unwrap();
    check_rollups(&r);
    let log = r.activity(1).unwrap();
    assert!(!log[0].detail.contains(&title_canary) && !log[0].detail.contains(&text_canary));
    drop(r);
    store.close().unwrap();
    let bytes = raw_bytes(&path);
    assert!(
        !contains(&bytes, &title_canary),
        "{label}: title on disk after close"
    );
    assert!(
        !contains(&bytes, &text_canary),
        "{label}: typed text on disk after close"
    );
}

#[test]
fn deleted_by_app_is_gone_from_the_files() {
    check_canary_is_gone(|_| Selection::App("SecretApp".into()), "app");
}

#[test]
fn deleted_by_range_is_gone_from_the_files() {
    check_canary_is_gone(
        |t| Selection::Range {
            since: t - 500_000,
            until: t + 2 * S + 1,
        },
        "range",
    );
}

#[test]
fn deleted_all_is_gone_from_the_files() {
    check_canary_is_gone(|_| Selection::All, "all");
}

#[test]
fn events_deleted_before_their_commit_never_reach_the_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = Store::open(&path, &key()).unwrap();
    let kept = win("editor", "kept");
    store.append(vec![ev(&kept, DAY, typed("k"))]);
    store.flush().unwrap();
    let secret = win("oops", "NeverStoredTitle");
    store.append(vec![ev(&secret, DAY + S, typed("NeverStoredText"))]);
    let report = store.delete(Selection::App("oops".into())).unwrap();
    assert_eq!(report.events, 1);
    store.close().unwrap();
    let bytes = raw_bytes(&path);
    assert!(contains(&bytes, "kept"));
    assert!(!contains(&bytes, "NeverStoredTitle"));
    assert!(!contains(&bytes, "NeverStoredText"));
}

#[test]
fn retention_deletes_what_is_older() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    let w = win("editor", "doc");
    let day = 24 * H;
    let now = DAY + 30 * day;
    store.append(vec![
        ev(&w, now - 10 * day, typed("a")),
        ev(&w, now - 8 * day, typed("b")),
        ev(&w, now - 7 * day + S, typed("c")),
        ev(&w, now - day, typed("d")),
    ]);
    let report = store.apply_retention(7, now).unwrap();
    assert_eq!(report.events, 2);
    let r = store.reader().unwrap();
    let left: Vec<Micros> = export_all(&r).iter().map(|e| e.ts).collect();
    assert_eq!(left, vec![now - 7 * day + S, now - day]);
    assert_eq!(
        r.minute_rollups(Micros::MIN, now - 7 * day).unwrap(),
        vec![]
    );
    check_rollups(&r);
    let log = r.activity(5).unwrap();
    assert_eq!(log[0].kind, ActivityKind::Retention);
    assert!(
        log[0].detail.starts_with("deleted 2 events older than"),
        "{}",
        log[0].detail
    );
    assert!(
        log[0].detail.ends_with("(keeping 7 days)"),
        "{}",
        log[0].detail
    );
    store.close().unwrap();
}

#[test]
fn pauses_are_upserted_and_found_by_overlap() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    store.record_pause(100, None).unwrap();
    store.record_pause(300, Some(400)).unwrap();
    store.record_pause(100, Some(200)).unwrap();
    store.record_pause(1000, None).unwrap();
    let r = store.reader().unwrap();
    let p = |since, until| PauseInterval {
        since,
        until,
        reason: PauseReason::User,
    };
    assert_eq!(
        r.pauses(0, 2000).unwrap(),
        vec![p(100, Some(200)), p(300, Some(400)), p(1000, None)]
    );
    assert_eq!(r.pauses(200, 300).unwrap(), vec![]);
    assert_eq!(r.pauses(399, 401).unwrap(), vec![p(300, Some(400))]);
    assert_eq!(r.pauses(5000, 6000).unwrap(), vec![p(1000, None)]);
    // Deleting everything keeps pauses: they are not input.
    store.delete(Selection::All).unwrap();
    assert_eq!(r.pauses(0, 2000).unwrap().len(), 3);
    // A screen-lock pause keeps its reason; updating its end keeps it too.
    store
        .record_pause_for(3000, None, PauseReason::ScreenLocked)
        .unwrap();
    store
        .record_pause_for(3000, Some(3500), PauseReason::ScreenLocked)
        .unwrap();
    assert_eq!(
        r.pauses(2999, 3001).unwrap().pop(),
        Some(PauseInterval {
            since: 3000,
            until: Some(3500),
            reason: PauseReason::ScreenLocked,
        })
    );
}

#[test]
fn activity_log_is_newest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    for (i, kind) in ActivityKind::ALL.into_iter().enumerate() {
        store.log(kind, &format!("entry {i}")).unwrap();
    }
    let r = store.reader().unwrap();
    let log = r.activity(100).unwrap();
    let details: Vec<&str> = log.iter().map(|e| e.detail.as_str()).collect();
    assert_eq!(
        details,
        vec![
            "entry 8", "entry 7", "entry 6", "entry 5", "entry 4", "entry 3", "entry 2", "entry 1",
            "entry 0"
        ]
    );
    assert_eq!(log[0].kind, ActivityKind::Storage);
    assert!(log.windows(2).all(|w| w[0].ts >= w[1].ts));
    assert_eq!(r.activity(2).unwrap().len(), 2);
    for k in ActivityKind::ALL {
        assert_eq!(ActivityKind::from_name(k.name()), Some(k));
        assert_eq!(
            serde_json::to_string(&k).unwrap(),
            format!("\"{}\"", k.name())
        );
    }
}

fn fingerprint(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap()
}

/// Opening `path` (as a store and as a reader) fails with an error naming the file, matching
/// `what`, and leaves the file's bytes as they were.
fn check_refused(path: &Path, what: fn(&StoreError) -> bool) {
    let before = fingerprint(path);
    for attempt in ["store", "reader"] {
        let err = match attempt {
            "store" => Store::open(path, &key()).map(drop).unwrap_err(),
            _ => Reader::open(path, &key()).map(drop).unwrap_err(),
        };
        assert!(what(&err), "{attempt}: unexpected error {err:?}");
        let msg = err.to_string();
        assert!(msg.contains("glasshouse.db at "), "{msg}");
        assert!(msg.contains(&path.display().to_string()), "{msg}");
        assert!(msg.contains("untouched"), "{msg}");
        assert_eq!(fingerprint(path), before, "{attempt} changed the file");
    }
}

#[test]
fn files_that_are_not_ours_are_refused_and_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("glasshouse.db");

    // Random bytes.
    let noise: Vec<u8> = (0..10_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &noise).unwrap();
    check_refused(&path, |e| matches!(e, StoreError::WrongKey { .. }));

    // Another application's SQLite database.
    std::fs::remove_file(&path).unwrap();
    {
        let c = keyed(&path);
        c.execute_batch("CREATE TABLE notes (t TEXT); INSERT INTO notes VALUES ('mine');")
            .unwrap();
    }
    check_refused(&path, |e| matches!(e, StoreError::Foreign { .. }));
    assert!(
        Store::open(&path, &key())
            .unwrap_err()
            .to_string()
            .contains("SQLite database without the Glasshouse mark")
    );

    // Ours, but cut off.
    std::fs::remove_file(&path).unwrap();
    let store = Store::open(&path, &key()).unwrap();
    store.append(synth::workday(DAY, 5, 0.005));
    store.close().unwrap();
    let full = std::fs::read(&path).unwrap();
    std::fs::write(&path, &full[..full.len() / 2 + 100]).unwrap();
    check_refused(&path, |e| matches!(e, StoreError::Corrupt { .. }));
    std::fs::write(&path, &full[..4096 * 3]).unwrap();
    check_refused(&path, |e| matches!(e, StoreError::Corrupt { .. }));

    // Ours, from a newer version.
    std::fs::write(&path, &full).unwrap();
    {
        let c = keyed(&path);
        c.pragma_update(None, "user_version", 99).unwrap();
    }
    check_refused(&path, |e| matches!(e, StoreError::TooNew { found: 99, .. }));
}

#[test]
fn a_missing_file_is_a_clear_error_for_readers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("glasshouse.db");
    let err = Reader::open(&path, &key()).unwrap_err();
    assert!(matches!(err, StoreError::Missing { .. }), "{err:?}");
    assert!(!path.exists(), "a reader must not create the file");
}

#[test]
fn reopening_keeps_everything_and_the_folder_is_private() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let day = synth::workday(DAY, 6, 0.01);
    let store = Store::open(&path, &key()).unwrap();
    append_in_steps(&store, &day, 30 * S);
    store.record_pause(DAY, Some(DAY + M)).unwrap();
    store
        .log(ActivityKind::Settings, "capture level full")
        .unwrap();
    let r = store.reader().unwrap();
    let rows = export_all(&r);
    let minutes = r.minute_rollups(Micros::MIN, Micros::MAX).unwrap();
    drop(r);
    store.close().unwrap();

    let r = Reader::open(&path, &key()).unwrap();
    assert_eq!(export_all(&r), rows);
    assert_eq!(r.minute_rollups(Micros::MIN, Micros::MAX).unwrap(), minutes);
    assert_eq!(r.pauses(Micros::MIN, Micros::MAX).unwrap().len(), 1);
    assert_eq!(r.activity(5).unwrap()[0].detail, "capture level full");
    drop(r);

    // Appending after a reopen continues the same minutes and counts correctly.
    let store = Store::open(&path, &key()).unwrap();
    let w = win("late", "t");
    store.append(vec![ev(&w, day[100].1.ts, mv(5, 5))]);
    drop(store); // dropping the last handle commits too
    let r = Reader::open(&path, &key()).unwrap();
    assert_eq!(r.event_count().unwrap(), rows.len() as u64 + 1);
    check_rollups(&r);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(mode(&path), 0o600);
    }
}

#[test]
fn appends_are_committed_without_a_flush() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    let r = store.reader().unwrap();
    store.append(vec![ev(&win("a", "b"), DAY, typed("x"))]);
    let start = std::time::Instant::now();
    while r.event_count().unwrap() == 0 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(2),
            "not committed"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(
        start.elapsed() < std::time::Duration::from_millis(400),
        "{:?}",
        start.elapsed()
    );
    let other = store.clone();
    store.close().unwrap();
    assert!(matches!(other.flush(), Err(StoreError::Closed)));
}

/// Bytes on disk per stored event for a busy stretch of a workday, committed as a recorder would.
fn check_bytes_per_event(scale: f64, step: Micros) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = Store::open(&path, &key()).unwrap();
    let day = synth::workday(DAY, 42, scale);
    let start = std::time::Instant::now();
    append_in_steps(&store, &day, step);
    let elapsed = start.elapsed();
    let r = store.reader().unwrap();
    assert_eq!(r.event_count().unwrap(), day.len() as u64);
    let t = std::time::Instant::now();
    let totals = r.totals(DAY, DAY + 24 * H).unwrap();
    let totals_time = t.elapsed();
    assert_eq!(
        totals.counts.events + totals.excluded_secs,
        day.len() as u64
    );
    let t = std::time::Instant::now();
    let exported = r.export(&ExportFilter::default(), |_| Ok(())).unwrap();
    let export_time = t.elapsed();
    assert_eq!(exported, day.len() as u64);
    eprintln!("totals of the day: {totals_time:?}; export of all events: {export_time:?}");
    let t = std::time::Instant::now();
    let keys = r.key_counts(DAY, DAY + 24 * H).unwrap();
    let cells = r.click_cells(DAY, DAY + 24 * H).unwrap();
    let extent = r.pointer_extent(DAY, DAY + 24 * H).unwrap();
    let hourly_time = t.elapsed();
    assert_eq!(
        keys.by_category.iter().map(|c| c.1).sum::<u64>(),
        totals.counts.keys
    );
    assert_eq!(
        cells.iter().map(|c| c.clicks).sum::<u64>(),
        totals.counts.clicks
    );
    assert!(extent.is_some());
    let t = std::time::Instant::now();
    let feed = r.recent(200).unwrap();
    let recent_time = t.elapsed();
    assert_eq!(feed.len(), 200);
    let ragged = Selection::Range {
        since: DAY + 17 * M + 3 * S + 7,
        until: DAY + 5 * H + 41 * M + 59 * S,
    };
    let t = std::time::Instant::now();
    let n = r.count(&ragged).unwrap();
    let count_time = t.elapsed();
    let t = std::time::Instant::now();
    let n_app = r.count(&Selection::App("firefox".into())).unwrap();
    let count_app_time = t.elapsed();
    assert!(n > 0 && n_app > 0);
    eprintln!(
        "key counts + click cells ({} cells) + extent of the day: {hourly_time:?}; recent(200): {recent_time:?}; \
         count(range cutting two minutes, {n} events): {count_time:?}; count(app): {count_app_time:?}",
        cells.len()
    );
    drop(r);
    store.close().unwrap();
    let bytes = std::fs::metadata(&path).unwrap().len();
    let per_event = bytes as f64 / day.len() as f64;
    eprintln!(
        "{} events, {bytes} bytes on disk: {per_event:.2} bytes/event; ingest {:.0} events/s",
        day.len(),
        day.len() as f64 / elapsed.as_secs_f64()
    );
    per_event
}

#[test]
fn a_busy_day_takes_few_bytes_per_event() {
    let per_event = check_bytes_per_event(0.05, 10 * S);
    assert!(per_event < 20.0, "{per_event:.2} bytes/event");
}

/// The full heavy workday; run with `cargo test --release -- --ignored --nocapture`.
#[test]
#[ignore]
fn heavy_workday_bytes_and_speed() {
    let per_event = check_bytes_per_event(1.0, 60 * S);
    assert!(per_event < 16.0, "{per_event:.2} bytes/event");
}

/// The same, committed every simulated second: many segments, merged as minutes end.
#[test]
#[ignore]
fn heavy_workday_committed_every_second() {
    let per_event = check_bytes_per_event(1.0, S);
    assert!(per_event < 16.0, "{per_event:.2} bytes/event");
}

#[test]
fn a_reader_holding_up_the_checkpoint_only_delays_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = Store::open(&path, &key()).unwrap();
    let secret = win("secretapp", "HeldUpCanaryTitle");
    store.append(synth::workday(DAY, 12, 0.005));
    store.append(vec![ev(&secret, DAY + 5 * M, typed("HeldUpCanaryText"))]);
    store.flush().unwrap();
    let r = store.reader().unwrap();
    // The delete runs while the export holds a read transaction open.
    let mut report = None;
    let res = r.export(&ExportFilter::default(), |_| {
        if report.is_none() {
            report = Some(store.delete(Selection::App("secretapp".into())).unwrap());
        }
        Err(StoreError::Closed)
    });
    assert!(matches!(res, Err(StoreError::Closed)), "{res:?}");
    assert_eq!(report.unwrap().events, 1);
    // Once the reader is done, the writer retries the checkpoint by itself.
    let start = std::time::Instant::now();
    while contains(&raw_bytes(&path), "HeldUpCanary") {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(10),
            "deleted bytes stayed in the WAL"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    drop(r);
    store.close().unwrap();
}

#[test]
fn handles_can_cross_threads() {
    fn shared<T: Send + Sync + Clone>() {}
    fn sent<T: Send>() {}
    shared::<Store>();
    sent::<Reader>();
}

#[test]
fn keys_clicks_and_pointer_extent_of_known_input() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    let ed = win("editor", "a");
    let term = win("xterm", "b");
    let ex = Arc::new(Window::excluded());
    let t = DAY;
    let key = |key, text: Option<&str>| Stored::KeyDown {
        key,
        text: text.map(str::to_owned),
    };
    let down = |button, x, y| Stored::ButtonDown { button, x, y };
    store.append(vec![
        ev(&ed, t, key(Key::KeyA, Some("a"))),
        ev(&ed, t + 1, Stored::KeyUp { key: Key::KeyA }),
        ev(&ed, t + S, key(Key::KeyA, None)),
        ev(&ed, t + 2 * S, key(Key::Space, Some(" "))),
        ev(&ex, t + 2 * S, Stored::Excluded),
        ev(&term, t + 3 * S, key(Key::ShiftLeft, None)),
        ev(
            &term,
            t + 4 * S,
            Stored::KeyDownCategory(KeyCategory::Letter),
        ),
        ev(
            &term,
            t + 4 * S + 1,
            Stored::KeyDownCategory(KeyCategory::Digit),
        ),
        // The counts level has no key identity nor category.
        ev(&term, t + 5 * S, Stored::KeyPress),
        ev(
            &term,
            t + 5 * S + 1,
            Stored::KeyUpCategory(KeyCategory::Letter),
        ),
        ev(&ed, t + 6 * S, down(Button::Left, 0, 0)),
        ev(&ed, t + 7 * S, down(Button::Left, 19, 19)),
        ev(
            &ed,
            t + 8 * S,
            Stored::ButtonUp {
                button: Button::Left,
                x: 19,
                y: 19,
            },
        ),
        ev(&term, t + 9 * S, down(Button::Right, 20, 39)),
        ev(&term, t + 10 * S, down(Button::Left, -7, 45)),
        ev(&ed, t + 11 * S, mv(1919, 3)),
        ev(&ed, t + 12 * S, mv(-100, 1079)),
        // The next hour.
        ev(&ed, t + H + S, key(Key::KeyA, Some("a"))),
        ev(&ed, t + H + 2 * S, down(Button::Left, 1000, 500)),
        ev(&ed, t + H + 3 * S, mv(2500, 10)),
    ]);
    store.flush().unwrap();
    let r = store.reader().unwrap();
    let cell = |x, y, clicks| ClickCell { x, y, clicks };

    let first = r.key_counts(t, t + H).unwrap();
    assert_eq!(
        first.by_key,
        vec![(Key::KeyA, 2), (Key::Space, 1), (Key::ShiftLeft, 1)]
    );
    assert_eq!(
        first.by_category,
        vec![
            (KeyCategory::Letter, 3),
            (KeyCategory::Digit, 1),
            (KeyCategory::Space, 1),
            (KeyCategory::Modifier, 1),
        ]
    );
    assert_eq!(
        r.click_cells(t, t + H).unwrap(),
        vec![cell(0, 0, 2), cell(1, 1, 1), cell(0, 2, 1)]
    );
    assert_eq!(r.pointer_extent(t, t + H).unwrap(), Some((1919, 1079)));

    // Any range inside the second hour gives that whole hour.
    let second = r.key_counts(t + H + 59 * M, t + 2 * H).unwrap();
    assert_eq!(second.by_key, vec![(Key::KeyA, 1)]);
    assert_eq!(second.by_category, vec![(KeyCategory::Letter, 1)]);
    assert_eq!(
        r.click_cells(t + H + 30 * M, t + H + 30 * M + 1).unwrap(),
        vec![cell(50, 25, 1)]
    );
    assert_eq!(
        r.pointer_extent(t + H, t + H + 1).unwrap(),
        Some((2500, 500))
    );

    // Both hours.
    let both = r.key_counts(t, t + 2 * H).unwrap();
    assert_eq!(
        both.by_key,
        vec![(Key::KeyA, 3), (Key::Space, 1), (Key::ShiftLeft, 1)]
    );
    assert_eq!(
        both.by_category,
        vec![
            (KeyCategory::Letter, 4),
            (KeyCategory::Digit, 1),
            (KeyCategory::Space, 1),
            (KeyCategory::Modifier, 1),
        ]
    );
    assert_eq!(
        r.click_cells(t, t + 2 * H).unwrap(),
        vec![cell(0, 0, 2), cell(1, 1, 1), cell(0, 2, 1), cell(50, 25, 1)]
    );
    assert_eq!(r.pointer_extent(t, t + 2 * H).unwrap(), Some((2500, 1079)));

    // Empty ranges and hours without input.
    assert_eq!(r.key_counts(t, t).unwrap(), KeyCounts::default());
    assert_eq!(r.click_cells(t + 2 * H, t + 3 * H).unwrap(), vec![]);
    assert_eq!(r.pointer_extent(t - H, t).unwrap(), None);

    // Serialised with key names, and back.
    let json = serde_json::to_string(&second).unwrap();
    assert_eq!(
        json,
        r#"{"by_key":[["KeyA",1]],"by_category":[["letter",1]]}"#
    );
    assert_eq!(serde_json::from_str::<KeyCounts>(&json).unwrap(), second);
    let unknown = r#"{"by_key":[["NoSuchKey",1]],"by_category":[]}"#;
    assert!(serde_json::from_str::<KeyCounts>(unknown).is_err());
    assert_eq!(
        serde_json::to_string(&cell(50, 25, 1)).unwrap(),
        r#"{"x":50,"y":25,"clicks":1}"#
    );
    check_rollups(&r);

    // Deleting an application takes its keys, clicks and positions with it.
    store.delete(Selection::App("XTERM".into())).unwrap();
    let first = r.key_counts(t, t + H).unwrap();
    assert_eq!(first.by_key, vec![(Key::KeyA, 2), (Key::Space, 1)]);
    assert_eq!(
        first.by_category,
        vec![(KeyCategory::Letter, 2), (KeyCategory::Space, 1)]
    );
    assert_eq!(r.click_cells(t, t + H).unwrap(), vec![cell(0, 0, 2)]);
    assert_eq!(r.pointer_extent(t, t + H).unwrap(), Some((1919, 1079)));
    check_rollups(&r);

    // Deleting a range inside an hour rebuilds that hour from what is left.
    store
        .delete(Selection::Range {
            since: t + 6 * S,
            until: t + 11 * S + 1,
        })
        .unwrap();
    assert_eq!(r.click_cells(t, t + H).unwrap(), vec![]);
    assert_eq!(r.pointer_extent(t, t + H).unwrap(), Some((-100, 1079)));
    check_rollups(&r);
    store.close().unwrap();
}

#[test]
fn count_previews_exactly_what_a_delete_removes() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    let w = win("Editor", "doc");
    let other = win("mail", "inbox");
    let ex = Arc::new(Window::excluded());
    let t = DAY; // the start of an hour
    let offsets = [
        0,
        10 * S,
        59 * S + 999_999,
        M,
        M + 30 * S,
        M + 30 * S,
        2 * M + S,
        59 * M + 59 * S,
        H,
        H + 5 * S,
        2 * H + M,
    ];
    let mut events: Vec<Emitted> = offsets.iter().map(|&o| ev(&w, t + o, typed("x"))).collect();
    events.push(ev(&other, t + 10 * S, mv(1, 2)));
    events.push(ev(&ex, t + H + 20 * M, Stored::Excluded));
    store.append(events);
    store.flush().unwrap();
    let r = store.reader().unwrap();
    let range = |since, until| Selection::Range {
        since: t + since,
        until: t + until,
    };
    let cases = [
        (range(0, M), 4),
        (range(5 * S, M + 30 * S), 4),
        (range(5 * S, M + 30 * S + 1), 6),
        (range(10 * S, 10 * S + 1), 2),
        (range(11 * S, 12 * S), 0),
        (range(M, M), 0),
        (range(M, 0), 0),
        (range(-H, 3 * H), 13),
        // Whole hour 1 from the hour rollups, whole minutes around it, and a cut minute.
        (range(S, 2 * H + M), 11),
        (range(S, 2 * H + M + 1), 12),
        (
            Selection::Range {
                since: Micros::MIN,
                until: t + H,
            },
            9,
        ),
        (Selection::App("editor".into()), 11),
        (Selection::App("MAIL".into()), 1),
        (Selection::App("nothing".into()), 0),
        (Selection::All, 13),
    ];
    for (sel, want) in &cases {
        assert_eq!(r.count(sel).unwrap(), *want, "{sel:?}");
    }
    // And a delete removes what the preview said, after which the preview is empty.
    for sel in [range(5 * S, M + 30 * S + 1), range(S, 2 * H + M)] {
        let n = r.count(&sel).unwrap();
        assert_eq!(store.delete(sel.clone()).unwrap().events, n);
        assert_eq!(r.count(&sel).unwrap(), 0);
    }
    assert_eq!(r.count(&Selection::All).unwrap(), 13 - 6 - 5);
    check_rollups(&r);
    store.close().unwrap();
}

#[test]
fn recent_gives_the_newest_events_oldest_first() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    let r = store.reader().unwrap();
    assert_eq!(r.recent(10).unwrap(), vec![]);
    let a = win("a", "one");
    let b = win("b", "two");
    store.append(vec![
        ev(&a, DAY, typed("1")),
        ev(&b, DAY + 5, mv(1, 1)),
        ev(&a, DAY + M + S, typed("2")),
    ]);
    store.flush().unwrap();
    // Committed separately: a second segment of the same minute, with a tie in time.
    store.append(vec![
        ev(&b, DAY + M + S, mv(2, 2)),
        ev(&a, DAY + M + 2 * S, typed("3")),
    ]);
    store.flush().unwrap();
    let got: Vec<(Micros, String, Stored)> = r
        .recent(3)
        .unwrap()
        .into_iter()
        .map(|e| (e.ts - DAY, e.app, e.event))
        .collect();
    assert_eq!(
        got,
        vec![
            (M + S, "a".into(), typed("2")),
            (M + S, "b".into(), mv(2, 2)),
            (M + 2 * S, "a".into(), typed("3")),
        ]
    );
    assert_eq!(r.recent(0).unwrap(), vec![]);
    assert_eq!(r.recent(1).unwrap()[0].title, "one");

    // On a busier day, it is always the tail of the export.
    store.append(synth::workday(DAY + H, 8, 0.01));
    store.flush().unwrap();
    let all = export_all(&r);
    for n in [1, 2, 7, 100, 5000, all.len() - 1, all.len(), all.len() + 5] {
        assert_eq!(
            r.recent(n).unwrap(),
            all[all.len().saturating_sub(n)..].to_vec(),
            "limit {n}"
        );
    }
    store.close().unwrap();
}

#[test]
fn a_version_1_database_is_upgraded_and_its_new_rollups_filled() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = Store::open(&path, &key()).unwrap();
    let w = win("editor", "doc");
    let mut day = synth::workday(DAY, 21, 0.02);
    day.push(ev(
        &w,
        DAY + 3 * H,
        Stored::KeyDownCategory(KeyCategory::Punctuation),
    ));
    day.push(ev(
        &w,
        DAY + 3 * H + S,
        Stored::ButtonDown {
            button: Button::Left,
            x: 4000,
            y: -3,
        },
    ));
    append_in_steps(&store, &day, 30 * S);
    store.close().unwrap();
    let r = Reader::open(&path, &key()).unwrap();
    let rows = export_all(&r);
    let keys = r.key_counts(Micros::MIN, Micros::MAX).unwrap();
    let cells = r.click_cells(Micros::MIN, Micros::MAX).unwrap();
    assert!(keys.by_key.len() > 5 && cells.len() > 5);
    drop(r);

    // Turn it into what version 1 left: the same tables, without those version 2 added.
    let tables = |c: &rusqlite::Connection| -> Vec<String> {
        let mut s = c
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
            .unwrap();
        s.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    };
    {
        let c = keyed(&path);
        c.execute_batch(
            "DROP TABLE key_rollups; DROP TABLE click_rollups; DROP TABLE pointer_rollups;
             DROP TABLE batches; DROP TABLE audit_anchor; DROP INDEX IF EXISTS activity_by_seq;
             ALTER TABLE activity DROP COLUMN seq; ALTER TABLE activity DROP COLUMN prev;
             ALTER TABLE activity DROP COLUMN hash; ALTER TABLE pauses DROP COLUMN reason;
             PRAGMA user_version = 1;",
        )
        .unwrap();
        assert_eq!(
            tables(&c),
            [
                "activity",
                "apps",
                "blocks",
                "hour_rollups",
                "minute_rollups",
                "pauses",
                "windows"
            ]
        );
    }
    // A reader does not upgrade; it says what to do.
    let err = Reader::open(&path, &key()).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Outdated {
                found: 1,
                known: 5,
                ..
            }
        ),
        "{err:?}"
    );

    let store = Store::open(&path, &key()).unwrap();
    let r = store.reader().unwrap();
    assert_eq!(export_all(&r), rows);
    assert_eq!(r.key_counts(Micros::MIN, Micros::MAX).unwrap(), keys);
    assert_eq!(r.click_cells(Micros::MIN, Micros::MAX).unwrap(), cells);
    assert_eq!(
        r.pointer_extent(DAY + 3 * H, DAY + 3 * H + 1)
            .unwrap()
            .map(|p| p.0),
        Some(4000)
    );
    check_rollups(&r);
    // And it keeps counting after the upgrade.
    store.append(vec![ev(&w, DAY + 5 * H, typed("z"))]);
    store.flush().unwrap();
    check_rollups(&r);
    drop(r);
    store.close().unwrap();
    let c = keyed(&path);
    let version: i64 = c
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap();
    assert_eq!(version, 5);
    assert_eq!(tables(&c).len(), 12);
    drop(c);
    // The activity log of the old file is chained by the upgrade and verifies.
    assert!(
        Reader::open(&path, &key())
            .unwrap()
            .verify_audit()
            .unwrap()
            .is_intact()
    );
}

fn wal_of(path: &Path) -> PathBuf {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    PathBuf::from(wal)
}

/// A reader that holds up the checkpoint after a delete must not leave the deleted bytes in the
/// WAL for as long as input keeps coming (the writer is never idle then).
#[test]
fn a_held_up_checkpoint_completes_while_input_never_stops() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = Store::open(&path, &key()).unwrap();
    let secret = win("secretapp", "BusyCanaryTitle");
    // Little data, so that SQLite's own automatic checkpoint (at 1,000 pages of WAL) is not what
    // removes the bytes.
    store.append(synth::workday(DAY, 12, 0.0002));
    store.append(vec![ev(&secret, DAY + 5 * M, typed("BusyCanaryText"))]);
    store.flush().unwrap();
    assert!(contains(&raw_bytes(&path), "BusyCanary"), "control");

    // Continuous input from another thread, as from the recorder: a commit every 200 ms.
    let stop = Arc::new(AtomicBool::new(false));
    let appender = {
        let (store, stop) = (store.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            let w = win("editor", "busy");
            let mut ts = DAY + 2 * H;
            while !stop.load(Ordering::Relaxed) {
                store.append(vec![ev(&w, ts, mv(1, 2))]);
                ts += 10_000;
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    // A reader (a dashboard, say) holds a read transaction open across the delete.
    let held = keyed(&path);
    held.execute_batch("BEGIN").unwrap();
    let _: i64 = held
        .query_row("SELECT count(*) FROM blocks", [], |r| r.get(0))
        .unwrap();
    let report = store.delete(Selection::App("secretapp".into())).unwrap();
    assert_eq!(report.events, 1);
    assert!(!report.wal_cleared, "{report:?}");
    assert!(store.wal_pending());
    // Longer than the delete's own patience: the writer gives up waiting and carries on.
    std::thread::sleep(Duration::from_secs(3));
    held.execute_batch("COMMIT").unwrap();
    drop(held);

    let start = Instant::now();
    while contains(&raw_bytes(&path), "BusyCanary") {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "deleted bytes stayed in the WAL while input kept coming"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!store.wal_pending());
    stop.store(true, Ordering::Relaxed);
    appender.join().unwrap();
    store.close().unwrap();
    assert!(!contains(&raw_bytes(&path), "BusyCanary"));
}

/// A WAL whose database is gone holds someone's input and belongs to no database: creating a new
/// database next to it would replay it into the new file. It is refused, named, and kept as is.
#[test]
fn a_stale_wal_without_its_database_is_refused_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("glasshouse.db");
    let wal = wal_of(&path);
    let store = Store::open(&path, &key()).unwrap();
    store.append(vec![ev(&win("a", "b"), DAY, typed("StaleWalCanary"))]);
    store.flush().unwrap();
    let wal_bytes = std::fs::read(&wal).unwrap();
    store.close().unwrap();
    std::fs::remove_file(&path).unwrap();
    let _ = std::fs::remove_file(&wal);
    std::fs::write(&wal, &wal_bytes).unwrap();
    // With the database gone, the decrypted pages are the WAL's alone.
    assert!(contains(&raw_bytes(&path), "StaleWalCanary"), "control");

    for db_file in [None, Some(&b""[..])] {
        if let Some(bytes) = db_file {
            std::fs::write(&path, bytes).unwrap();
        }
        let err = Store::open(&path, &key()).map(drop).unwrap_err();
        assert!(
            matches!(&err, StoreError::StaleWal { wal: w } if *w == wal),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&format!(
                "{} is left from a database that is gone; move it away (or delete it) to start a new database",
                wal.display()
            )),
            "{msg}"
        );
        assert_eq!(
            std::fs::read(&wal).unwrap(),
            wal_bytes,
            "the WAL was changed"
        );
        assert_eq!(
            std::fs::read(&path).ok().filter(|b| !b.is_empty()),
            None,
            "a database was made next to the stale WAL"
        );
        let _ = std::fs::remove_file(&path);
    }
    // Moved away, the way is free.
    std::fs::rename(&wal, dir.path().join("old-wal")).unwrap();
    let store = Store::open(&path, &key()).unwrap();
    assert_eq!(store.reader().unwrap().event_count().unwrap(), 0);
    store.close().unwrap();
    assert!(!contains(&raw_bytes(&path), "StaleWalCanary"));
}

#[test]
fn retention_that_deletes_nothing_logs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&db(&dir), &key()).unwrap();
    let now = DAY + 30 * 24 * H;
    store.append(vec![ev(&win("editor", "doc"), now - H, typed("a"))]);
    let report = store.apply_retention(7, now).unwrap();
    assert_eq!(report.events, 0);
    assert!(report.wal_cleared, "{report:?}");
    let log = store.reader().unwrap().activity(10).unwrap();
    assert!(
        log.iter().all(|e| e.kind != ActivityKind::Retention),
        "{log:?}"
    );
    store.close().unwrap();
}

/// After `close`, the WAL holds nothing, even while a reader (a dashboard) still has the file
/// open, which stops SQLite from checkpointing and removing the WAL by itself.
#[test]
fn close_leaves_an_empty_wal_even_with_a_reader_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = db(&dir);
    let store = Store::open(&path, &key()).unwrap();
    store.append(synth::workday(DAY, 3, 0.005));
    store.flush().unwrap();
    let r = store.reader().unwrap();
    let n = r.event_count().unwrap();
    let wal_len = || std::fs::metadata(wal_of(&path)).map_or(0, |m| m.len());
    assert!(wal_len() > 0, "control: the WAL holds the commits");
    store.close().unwrap();
    assert_eq!(wal_len(), 0, "close left content in the WAL");
    assert_eq!(r.event_count().unwrap(), n);
    drop(r);
    assert_eq!(wal_len(), 0);
}

#[test]
fn delete_reports_from_before_wal_cleared_read_as_cleared() {
    let old: glasshouse_store::DeleteReport =
        serde_json::from_str(r#"{"events":3,"since":null,"until":null}"#).unwrap();
    assert!(old.wal_cleared);
    assert_eq!(old.events, 3);
    assert!(glasshouse_store::DeleteReport::default().wal_cleared);
    let held_up = glasshouse_store::DeleteReport {
        wal_cleared: false,
        ..old
    };
    let json = serde_json::to_string(&held_up).unwrap();
    assert!(json.contains(r#""wal_cleared":false"#), "{json}");
    assert_eq!(
        serde_json::from_str::<glasshouse_store::DeleteReport>(&json).unwrap(),
        held_up
    );
}
