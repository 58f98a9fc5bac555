//! Per-minute counts of one application, computed from its events.
//!
//! **Invariant:** a minute row depends only on the events of that application in that minute, in
//! the order (timestamp, window id) with ties kept in storage order. Computing it incrementally at
//! ingest and recomputing it from the remaining events after a delete therefore give the same
//! numbers, and deleting one minute never changes another.
//!
//! Pointer distance is the sum, over consecutive pointer positions (moves and button presses and
//! releases) of the application inside the minute, of the euclidean distance between them, each
//! step rounded to a thousandth of a pixel. The first position of the application in a minute
//! adds nothing. Rows keep thousandths; whole pixels are given out, rounded down.

use glasshouse_core::model::{MICROS_PER_MINUTE, MICROS_PER_SEC, Micros, Stored};

use crate::types::Counts;

/// The running counts of one (minute, application).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Acc {
    pub keys: u64,
    pub clicks: u64,
    pub scroll: u64,
    pub distance_mpx: u64,
    pub events: u64,
    /// Bit `s` is set when second `s` of the minute had an event.
    pub mask: u64,
    pub last_ts: Micros,
    pub last_pos: Option<(i32, i32)>,
}

impl Acc {
    /// Adds one event at `ts` (inside the minute starting at `minute_start`, not before `last_ts`).
    pub fn push(&mut self, minute_start: Micros, ts: Micros, event: &Stored) {
        self.events += 1;
        self.last_ts = ts;
        let sec = ((ts - minute_start) / MICROS_PER_SEC).clamp(0, 59);
        self.mask |= 1 << sec;
        if event.is_key_press() {
            self.keys += 1;
        }
        let pos = match *event {
            Stored::ButtonDown { x, y, .. } => {
                self.clicks += 1;
                Some((x, y))
            }
            Stored::ButtonUp { x, y, .. } | Stored::Move { x, y } => Some((x, y)),
            Stored::Wheel { dx, dy } => {
                self.scroll += u64::from(dx.unsigned_abs()) + u64::from(dy.unsigned_abs());
                None
            }
            _ => None,
        };
        if let Some((x, y)) = pos {
            if let Some((lx, ly)) = self.last_pos {
                let dx = f64::from(x) - f64::from(lx);
                let dy = f64::from(y) - f64::from(ly);
                self.distance_mpx += (dx.hypot(dy) * 1000.0).round() as u64;
            }
            self.last_pos = Some((x, y));
        }
    }

    pub fn active_secs(&self) -> u64 {
        u64::from(self.mask.count_ones())
    }
}

/// Counts as handed out, from a row's stored columns.
pub(crate) fn counts(
    keys: i64,
    clicks: i64,
    scroll: i64,
    distance_mpx: i64,
    active: i64,
    events: i64,
) -> Counts {
    let u = |v: i64| u64::try_from(v).unwrap_or(0);
    Counts {
        keys: u(keys),
        clicks: u(clicks),
        scroll_steps: u(scroll),
        distance_px: u(distance_mpx) / 1000,
        active_secs: u(active),
        events: u(events),
    }
}

/// `a / b` rounded up (towards positive infinity), for `b > 0`.
pub(crate) fn ceil_div(a: i64, b: i64) -> i64 {
    a.div_euclid(b) + i64::from(a.rem_euclid(b) != 0)
}

pub(crate) fn minute_of(ts: Micros) -> i64 {
    ts.div_euclid(MICROS_PER_MINUTE)
}

pub(crate) fn hour_of_minute(minute: i64) -> i64 {
    minute.div_euclid(60)
}

/// The minute indexes overlapping `[since, until)`: `lo..hi`.
pub(crate) fn overlapping_minutes(since: Micros, until: Micros) -> (i64, i64) {
    let lo = minute_of(since);
    let hi =
        until.div_euclid(MICROS_PER_MINUTE) + i64::from(until.rem_euclid(MICROS_PER_MINUTE) != 0);
    (lo, hi.max(lo))
}

/// The hour indexes (UTC) overlapping `[since, until)`: `lo..hi`.
pub(crate) fn overlapping_hours(since: Micros, until: Micros) -> (i64, i64) {
    let per_hour = 60 * MICROS_PER_MINUTE;
    let lo = since.div_euclid(per_hour);
    (lo, ceil_div(until, per_hour).max(lo))
}

#[cfg(test)]
mod tests {
    use super::*;
    use glasshouse_core::model::Button;

    #[test]
    fn known_input_gives_known_counts() {
        let mut a = Acc::default();
        let s = MICROS_PER_SEC;
        a.push(0, 0, &Stored::Move { x: 0, y: 0 });
        a.push(0, s / 2, &Stored::Move { x: 3, y: 4 });
        a.push(
            0,
            s,
            &Stored::ButtonDown {
                button: Button::Left,
                x: 3,
                y: 4,
            },
        );
        a.push(0, 5 * s, &Stored::Move { x: 4, y: 5 });
        a.push(0, 5 * s, &Stored::Wheel { dx: -1, dy: 3 });
        a.push(0, 59 * s + 999_999, &Stored::KeyPress);
        assert_eq!(a.keys, 1);
        assert_eq!(a.clicks, 1);
        assert_eq!(a.scroll, 4);
        assert_eq!(a.distance_mpx, 5000 + 1414);
        assert_eq!(a.events, 6);
        assert_eq!(a.active_secs(), 4);
        assert_eq!(a.mask, 1 | 2 | 1 << 5 | 1 << 59);
    }

    #[test]
    fn overlapping_minutes_are_half_open() {
        let m = MICROS_PER_MINUTE;
        assert_eq!(overlapping_minutes(0, m), (0, 1));
        assert_eq!(overlapping_minutes(1, m + 1), (0, 2));
        assert_eq!(overlapping_minutes(-1, 0), (-1, 0));
        assert_eq!(overlapping_minutes(5 * m, 5 * m), (5, 5));
        let h = 60 * m;
        assert_eq!(overlapping_hours(0, h), (0, 1));
        assert_eq!(overlapping_hours(h - 1, h + 1), (0, 2));
        assert_eq!(overlapping_hours(-1, 0), (-1, 0));
        assert_eq!(
            overlapping_hours(Micros::MIN, Micros::MAX).0,
            Micros::MIN / h - 1
        );
        assert_eq!(ceil_div(-7, 2), -3);
        assert_eq!(ceil_div(7, 2), 4);
    }
}
