//! A deterministic synthetic workday, for benchmarks and size tests. No real input is involved.
//!
//! [`heavy_workday`] produces, over about 8 hours with idle gaps, in 5 applications with a few
//! window titles each:
//! - about 1.1 million mouse moves at 125 per second (the policy's default ceiling) in bursts;
//! - 45,000 key presses with single-character text, each a `KeyDown` and a `KeyUp` (90,000 key
//!   events);
//! - 5,000 clicks, each a `ButtonDown` and a `ButtonUp` (10,000 button events);
//! - 10,000 wheel steps, one `Wheel` event of one step each;
//! - a few minutes in an excluded application (one `Excluded` marker per second).
//!
//! Events come out in time order. The same seed always gives the same day.

use std::sync::Arc;

use glasshouse_core::keys::Key;
use glasshouse_core::model::{Button, MICROS_PER_SEC, Micros, Stored, StoredEvent, Window};
use glasshouse_core::policy::Emitted;

const HOURS: f64 = 8.0;
const MOVES: f64 = 1_100_000.0;
const KEY_PRESSES: f64 = 45_000.0;
const CLICKS: f64 = 5_000.0;
const WHEEL_STEPS: f64 = 10_000.0;
const MOVE_INTERVAL: Micros = 8_000;

/// The heavy workday described in the module documentation, starting at `day_start`.
pub fn heavy_workday(day_start: Micros, seed: u64) -> Vec<Emitted> {
    workday(day_start, seed, 1.0)
}

/// A workday scaled by `scale` (0.1 gives about 48 minutes and a tenth of every count).
pub fn workday(day_start: Micros, seed: u64, scale: f64) -> Vec<Emitted> {
    let scale = scale.max(0.0);
    let mut g = Gen {
        rng: Rng(seed ^ 0x5eed_0f9a_u64),
        out: Vec::with_capacity((MOVES * scale * 1.2) as usize),
        t: day_start,
        x: 960,
        y: 540,
        window: Arc::new(Window::unknown()),
    };
    let windows = windows();
    let excluded = Arc::new(Window::excluded());
    let end = day_start + (HOURS * scale * 3600.0) as Micros * MICROS_PER_SEC;
    let mut moves = (MOVES * scale) as u64;
    let mut keys = (KEY_PRESSES * scale) as u64;
    let mut clicks = (CLICKS * scale) as u64;
    let mut wheels = (WHEEL_STEPS * scale) as u64;
    let mut excluded_secs = (300.0 * scale) as u64;
    g.window = windows[0].clone();
    while moves + keys + wheels + excluded_secs > 0 {
        // Seconds of activity still to come, to spread the idle time over what is left.
        let active_left =
            moves as f64 / 125.0 + keys as f64 * 0.3 + wheels as f64 * 0.1 + excluded_secs as f64;
        let burst_secs = 5 + g.rng.below(55);
        if g.rng.below(100) < 35 {
            g.window = windows[g.rng.below(windows.len() as u64) as usize].clone();
        }
        let pick = g.rng.below((active_left * 10.0) as u64 + 1) as f64 / 10.0;
        if excluded_secs > 0 && g.rng.below(40) == 0 {
            let n = burst_secs.min(excluded_secs);
            excluded_secs -= n;
            let w = excluded.clone();
            for _ in 0..n {
                g.t += MICROS_PER_SEC;
                g.out.push((
                    w.clone(),
                    StoredEvent {
                        ts: g.t,
                        event: Stored::Excluded,
                    },
                ));
            }
        } else if pick < moves as f64 / 125.0 {
            let n = (burst_secs * 125).min(moves);
            moves -= n;
            g.mouse(n, &mut clicks, moves + n);
        } else if pick < moves as f64 / 125.0 + keys as f64 * 0.3 && keys > 0 {
            let n = (burst_secs * 4).min(keys);
            keys -= n;
            g.typing(n);
        } else if wheels > 0 {
            let n = (burst_secs * 10).min(wheels);
            wheels -= n;
            g.scroll(n);
        } else if excluded_secs > 0 {
            excluded_secs -= 1;
        } else if keys > 0 {
            let n = (burst_secs * 4).min(keys);
            keys -= n;
            g.typing(n);
        } else {
            let n = (burst_secs * 125).min(moves);
            moves -= n;
            g.mouse(n, &mut clicks, moves + n);
        }
        // Idle until the next burst: the remaining idle time spread over the remaining bursts.
        let bursts_left = (active_left / 32.0).max(1.0);
        let idle_left = ((end - g.t) as f64 / MICROS_PER_SEC as f64 - active_left).max(0.0);
        let mean = idle_left / bursts_left;
        g.t += (mean * (g.rng.below(2001) as f64 / 1000.0) * MICROS_PER_SEC as f64) as Micros;
    }
    g.out
}

fn windows() -> Vec<Arc<Window>> {
    let w = |app: &str, title: &str| {
        Arc::new(Window {
            app: app.into(),
            class: String::new(),
            title: title.into(),
        })
    };
    vec![
        w("firefox", "Inbox - Mail"),
        w("firefox", "std::collections - Rust"),
        w("firefox", "Weather forecast"),
        w("code", "main.rs - glasshouse"),
        w("code", "lib.rs - glasshouse"),
        w("code", "Cargo.toml - glasshouse"),
        w("xterm", "bash"),
        w("xterm", "cargo test"),
        w("slack", "#general"),
        w("slack", "#random"),
        w("evince", "paper.pdf"),
    ]
}

struct Gen {
    rng: Rng,
    out: Vec<Emitted>,
    t: Micros,
    x: i32,
    y: i32,
    window: Arc<Window>,
}

impl Gen {
    fn push(&mut self, event: Stored) {
        self.out
            .push((self.window.clone(), StoredEvent { ts: self.t, event }));
    }

    /// `n` moves; clicks are spread so that all `clicks` happen over `moves_left` moves.
    fn mouse(&mut self, n: u64, clicks: &mut u64, moves_left: u64) {
        let (mut vx, mut vy) = (0i32, 0i32);
        for i in 0..n {
            if i % 16 == 0 {
                vx = self.rng.below(13) as i32 - 6;
                vy = self.rng.below(9) as i32 - 4;
            }
            self.x = (self.x + vx).clamp(0, 1919);
            self.y = (self.y + vy).clamp(0, 1079);
            self.t += MOVE_INTERVAL + self.rng.below(400) as Micros;
            self.push(Stored::Move {
                x: self.x,
                y: self.y,
            });
            if *clicks > 0 && self.rng.below(moves_left.max(1)) < *clicks {
                *clicks -= 1;
                let button = if self.rng.below(10) == 0 {
                    Button::Right
                } else {
                    Button::Left
                };
                let (x, y) = (self.x, self.y);
                self.t += 2_000;
                self.push(Stored::ButtonDown { button, x, y });
                self.t += 80_000 + self.rng.below(40_000) as Micros;
                self.push(Stored::ButtonUp { button, x, y });
            }
        }
    }

    fn typing(&mut self, n: u64) {
        for _ in 0..n {
            let (key, text) = if self.rng.below(6) == 0 {
                (Key::Space, " ".to_owned())
            } else {
                let i = self.rng.below(26) as u8;
                (
                    Key::from_code(1 + u16::from(i)),
                    char::from(b'a' + i).to_string(),
                )
            };
            self.t += 80_000 + self.rng.below(120_000) as Micros;
            self.push(Stored::KeyDown {
                key,
                text: Some(text),
            });
            self.t += 50_000 + self.rng.below(50_000) as Micros;
            self.push(Stored::KeyUp { key });
        }
    }

    fn scroll(&mut self, n: u64) {
        let dir = if self.rng.below(3) == 0 { 1 } else { -1 };
        for _ in 0..n {
            self.t += 30_000 + self.rng.below(120_000) as Micros;
            self.push(Stored::Wheel { dx: 0, dy: dir });
        }
    }
}

/// splitmix64: small, fast and the same everywhere (also the crate's tests' PRNG).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub(crate) fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scaled_day_has_the_promised_shape() {
        let day = workday(0, 1, 0.1);
        let count = |f: fn(&Stored) -> bool| day.iter().filter(|(_, e)| f(&e.event)).count();
        assert_eq!(count(|e| matches!(e, Stored::Move { .. })), 110_000);
        assert_eq!(count(|e| matches!(e, Stored::KeyDown { .. })), 4_500);
        assert_eq!(count(|e| matches!(e, Stored::KeyUp { .. })), 4_500);
        assert_eq!(count(|e| matches!(e, Stored::Wheel { .. })), 1_000);
        let clicks = count(|e| matches!(e, Stored::ButtonDown { .. }));
        assert!((450..=500).contains(&clicks), "{clicks} clicks");
        assert!(
            day.windows(2).all(|w| w[0].1.ts <= w[1].1.ts),
            "in time order"
        );
        let hours = (day.last().unwrap().1.ts - day[0].1.ts) as f64 / 3.6e9;
        assert!((0.5..1.2).contains(&hours), "{hours} h");
        assert_eq!(workday(0, 1, 0.1).len(), day.len(), "deterministic");
    }
}
