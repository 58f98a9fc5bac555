//! The privacy policy: what of the captured input may be stored. Every event passes through
//! [`Policy::apply`] before it reaches the store, so the rules here are the product's promises.
//!
//! **Invariant:** an event whose timestamp falls inside a pause is never emitted, whenever it
//! arrives. **Invariant:** nothing of an excluded application's input or window is emitted, only
//! [`Stored::Excluded`] markers under [`Window::excluded`].

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Input, MICROS_PER_SEC, Micros, RawEvent, Stored, StoredEvent, Window};
use crate::settings::{CaptureLevel, Settings};

/// An event the policy lets through, with the window it is attributed to.
pub type Emitted = (Arc<Window>, StoredEvent);

/// How long closed pauses are remembered, to catch events that were in flight when they began.
const PAUSE_MEMORY: Micros = 10 * 60 * MICROS_PER_SEC;

/// A pause: from `since`, until `until` or until resumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pause {
    pub since: Micros,
    pub until: Option<Micros>,
}

/// The current pause (if any) and recently ended ones.
#[derive(Debug, Default)]
pub struct Pauses {
    current: Option<Pause>,
    recent: VecDeque<(Micros, Micros)>,
}

impl Pauses {
    /// Starts (or changes) a pause at `now`. A pause already running keeps its start.
    pub fn pause(&mut self, now: Micros, until: Option<Micros>) -> Pause {
        let since = self.current.map_or(now, |p| p.since);
        let p = Pause { since, until };
        self.current = Some(p);
        p
    }

    /// Ends the current pause at `now`; returns the closed interval.
    pub fn resume(&mut self, now: Micros) -> Option<(Micros, Micros)> {
        let p = self.current.take()?;
        Some(self.close(p.since, now.max(p.since)))
    }

    /// Ends a timed pause whose time has come; returns the closed interval.
    pub fn tick(&mut self, now: Micros) -> Option<(Micros, Micros)> {
        let p = self.current?;
        let until = p.until?;
        if now < until {
            return None;
        }
        self.current = None;
        Some(self.close(p.since, until))
    }

    fn close(&mut self, since: Micros, end: Micros) -> (Micros, Micros) {
        self.recent.push_back((since, end));
        while self
            .recent
            .front()
            .is_some_and(|&(_, e)| e < end - PAUSE_MEMORY)
        {
            self.recent.pop_front();
        }
        (since, end)
    }

    pub fn current(&self) -> Option<Pause> {
        self.current
    }

    /// Whether `ts` falls inside the current pause or a recently closed one.
    pub fn covers(&self, ts: Micros) -> bool {
        if let Some(p) = self.current
            && ts >= p.since
            && p.until.is_none_or(|u| ts < u)
        {
            return true;
        }
        self.recent.iter().any(|&(s, e)| ts >= s && ts < e)
    }
}

/// Applies the settings and pauses to captured input.
#[derive(Debug)]
pub struct Policy {
    level: CaptureLevel,
    excluded_apps: Vec<String>,
    move_interval: Micros,
    focus: Arc<Window>,
    focus_excluded: bool,
    excluded_window: Arc<Window>,
    pauses: Pauses,
    pending_move: Option<(Arc<Window>, Micros, i32, i32)>,
    last_move_emit: Micros,
    last_excluded_sec: Micros,
}

impl Policy {
    pub fn new(settings: &Settings) -> Policy {
        let mut p = Policy {
            level: settings.capture_level,
            excluded_apps: Vec::new(),
            move_interval: 0,
            focus: Arc::new(Window::unknown()),
            focus_excluded: false,
            excluded_window: Arc::new(Window::excluded()),
            pauses: Pauses::default(),
            pending_move: None,
            last_move_emit: Micros::MIN,
            last_excluded_sec: Micros::MIN,
        };
        p.update_settings(settings);
        p
    }

    /// Applies changed settings to events from now on.
    pub fn update_settings(&mut self, settings: &Settings) {
        self.level = settings.capture_level;
        self.excluded_apps = settings.excluded_apps.clone();
        self.move_interval = MICROS_PER_SEC / Micros::from(settings.mouse_rate.max(1));
        self.focus_excluded = self.is_excluded(&self.focus);
    }

    pub fn level(&self) -> CaptureLevel {
        self.level
    }

    pub fn pauses(&self) -> &Pauses {
        &self.pauses
    }

    pub fn pauses_mut(&mut self) -> &mut Pauses {
        &mut self.pauses
    }

    /// The window that has the focus now.
    pub fn focus(&self) -> &Arc<Window> {
        &self.focus
    }

    fn is_excluded(&self, w: &Window) -> bool {
        self.excluded_apps.iter().any(|e| {
            e.eq_ignore_ascii_case(&w.app)
                || (!w.class.is_empty() && e.eq_ignore_ascii_case(&w.class))
        })
    }

    /// The focus moved to `window`. A held-back mouse movement is emitted first, in its old window.
    pub fn set_focus(&mut self, window: Window, out: &mut Vec<Emitted>) {
        if *self.focus == window {
            return;
        }
        self.emit_pending(out);
        self.focus_excluded = self.is_excluded(&window);
        self.focus = Arc::new(window);
    }

    /// Decides what of `ev` is stored, pushing it (and any movement held back before it) to `out`.
    pub fn apply(&mut self, ev: RawEvent, out: &mut Vec<Emitted>) {
        if self.pauses.covers(ev.ts) {
            return;
        }
        if self.focus_excluded {
            self.pending_move = None;
            let sec = ev.ts.div_euclid(MICROS_PER_SEC);
            if sec != self.last_excluded_sec {
                self.last_excluded_sec = sec;
                out.push((
                    self.excluded_window.clone(),
                    StoredEvent {
                        ts: ev.ts,
                        event: Stored::Excluded,
                    },
                ));
            }
            return;
        }
        let event = match ev.input {
            Input::Move { x, y } => {
                if ev.ts.saturating_sub(self.last_move_emit) >= self.move_interval {
                    self.pending_move = None;
                    self.last_move_emit = ev.ts;
                    Stored::Move { x, y }
                } else {
                    self.pending_move = Some((self.focus.clone(), ev.ts, x, y));
                    return;
                }
            }
            other => {
                self.emit_pending(out);
                match (other, self.level) {
                    (Input::KeyDown { key, text }, CaptureLevel::Full) => {
                        Stored::KeyDown { key, text }
                    }
                    (Input::KeyUp { key }, CaptureLevel::Full) => Stored::KeyUp { key },
                    (Input::KeyDown { key, .. }, CaptureLevel::Categories) => {
                        Stored::KeyDownCategory(key.category())
                    }
                    (Input::KeyUp { key }, CaptureLevel::Categories) => {
                        Stored::KeyUpCategory(key.category())
                    }
                    (Input::KeyDown { .. }, CaptureLevel::Counts) => Stored::KeyPress,
                    (Input::KeyUp { .. }, CaptureLevel::Counts) => return,
                    (Input::ButtonDown { button, x, y }, _) => Stored::ButtonDown { button, x, y },
                    (Input::ButtonUp { button, x, y }, _) => Stored::ButtonUp { button, x, y },
                    (Input::Wheel { dx, dy }, _) => Stored::Wheel { dx, dy },
                    (Input::Move { .. }, _) => unreachable!("handled above"),
                }
            }
        };
        out.push((self.focus.clone(), StoredEvent { ts: ev.ts, event }));
    }

    /// Emits a held-back movement once the rate allows it (call on a timer, e.g. before a commit).
    pub fn flush(&mut self, now: Micros, out: &mut Vec<Emitted>) {
        if now.saturating_sub(self.last_move_emit) >= self.move_interval {
            self.emit_pending(out);
        }
    }

    /// Starts a pause at `now`; movement held back from before it is still emitted.
    pub fn pause(&mut self, now: Micros, until: Option<Micros>, out: &mut Vec<Emitted>) -> Pause {
        self.emit_pending(out);
        self.pauses.pause(now, until)
    }

    fn emit_pending(&mut self, out: &mut Vec<Emitted>) {
        if let Some((window, ts, x, y)) = self.pending_move.take()
            && !self.pauses.covers(ts)
        {
            self.last_move_emit = ts;
            out.push((
                window,
                StoredEvent {
                    ts,
                    event: Stored::Move { x, y },
                },
            ));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{Key, KeyCategory};
    use crate::model::Button;

    const S: Micros = MICROS_PER_SEC;

    fn window(app: &str, title: &str) -> Window {
        Window {
            app: app.into(),
            class: String::new(),
            title: title.into(),
        }
    }

    fn key(ts: Micros, c: char) -> RawEvent {
        RawEvent {
            ts,
            input: Input::KeyDown {
                key: Key::KeyA,
                text: Some(c.to_string()),
            },
        }
    }

    fn moved(ts: Micros, x: i32) -> RawEvent {
        RawEvent {
            ts,
            input: Input::Move { x, y: 0 },
        }
    }

    /// Runs `events` through a policy and returns (app, ts, event) of what would be stored.
    fn run(policy: &mut Policy, events: Vec<RawEvent>) -> Vec<(String, Micros, Stored)> {
        let mut out = Vec::new();
        for ev in events {
            policy.apply(ev, &mut out);
        }
        out.into_iter()
            .map(|(w, e)| (w.app.clone(), e.ts, e.event))
            .collect()
    }

    #[test]
    fn nothing_inside_a_pause_is_stored_even_if_it_arrives_late() {
        let mut p = Policy::new(&Settings::default());
        let mut out = Vec::new();
        p.pause(10 * S, None, &mut out);
        // In flight: captured before the pause, delivered after it began.
        let stored = run(
            &mut p,
            vec![key(9 * S, 'a'), key(10 * S, 'b'), key(11 * S, 'c')],
        );
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].1, 9 * S);
        p.pauses_mut().resume(20 * S);
        // Late arrivals from inside the closed pause are still dropped.
        let stored = run(&mut p, vec![key(19 * S, 'd'), key(20 * S, 'e')]);
        assert_eq!(stored.iter().map(|s| s.1).collect::<Vec<_>>(), vec![20 * S]);
    }

    #[test]
    fn a_timed_pause_ends_by_itself() {
        let mut p = Policy::new(&Settings::default());
        let mut out = Vec::new();
        p.pause(0, Some(15 * 60 * S), &mut out);
        assert_eq!(p.pauses_mut().tick(60 * S), None);
        assert_eq!(p.pauses_mut().tick(15 * 60 * S), Some((0, 15 * 60 * S)));
        assert!(p.pauses().current().is_none());
        assert_eq!(run(&mut p, vec![key(15 * 60 * S, 'x')]).len(), 1);
        assert!(run(&mut p, vec![key(14 * 60 * S, 'x')]).is_empty());
    }

    #[test]
    fn excluded_apps_leave_only_a_marker_per_second() {
        let mut p = Policy::new(&Settings::default());
        let mut out = Vec::new();
        p.set_focus(window("KeePassXC", "Passwords.kdbx"), &mut out);
        let stored = run(
            &mut p,
            vec![
                key(S, 'h'),
                key(S + 10, 'u'),
                moved(S + 20, 5),
                key(2 * S, 'n'),
            ],
        );
        assert_eq!(
            stored,
            vec![
                (Window::EXCLUDED_APP.into(), S, Stored::Excluded),
                (Window::EXCLUDED_APP.into(), 2 * S, Stored::Excluded)
            ]
        );
        // WM_CLASS matches too.
        let mut w = window("java", "Vault");
        w.class = "Bitwarden".into();
        p.set_focus(w, &mut out);
        assert_eq!(run(&mut p, vec![key(5 * S, 'z')])[0].2, Stored::Excluded);
    }

    #[test]
    fn capture_levels() {
        let down = |key| RawEvent {
            ts: 0,
            input: Input::KeyDown {
                key,
                text: Some("1".into()),
            },
        };
        let up = |key| RawEvent {
            ts: 1,
            input: Input::KeyUp { key },
        };
        let levels = [
            (
                CaptureLevel::Full,
                vec![
                    Stored::KeyDown {
                        key: Key::Num1,
                        text: Some("1".into()),
                    },
                    Stored::KeyUp { key: Key::Num1 },
                ],
            ),
            (
                CaptureLevel::Categories,
                vec![
                    Stored::KeyDownCategory(KeyCategory::Digit),
                    Stored::KeyUpCategory(KeyCategory::Digit),
                ],
            ),
            (CaptureLevel::Counts, vec![Stored::KeyPress]),
        ];
        for (level, want) in levels {
            let settings = Settings {
                capture_level: level,
                ..Settings::default()
            };
            let mut p = Policy::new(&settings);
            let got: Vec<_> = run(&mut p, vec![down(Key::Num1), up(Key::Num1)])
                .into_iter()
                .map(|s| s.2)
                .collect();
            assert_eq!(got, want, "{level:?}");
        }
    }

    #[test]
    fn mouse_moves_are_coalesced_but_clicks_never_dropped() {
        let settings = Settings {
            mouse_rate: 100,
            ..Settings::default()
        };
        let mut p = Policy::new(&settings);
        // 1000 moves per second for one second, with a click in the middle.
        let mut events: Vec<_> = (0..1000).map(|i| moved(i * 1000, i as i32)).collect();
        events.insert(
            500,
            RawEvent {
                ts: 499_500,
                input: Input::ButtonDown {
                    button: Button::Left,
                    x: 499,
                    y: 0,
                },
            },
        );
        let stored = run(&mut p, events);
        let moves = stored
            .iter()
            .filter(|s| matches!(s.2, Stored::Move { .. }))
            .count();
        assert!((100..=102).contains(&moves), "{moves} moves kept");
        assert_eq!(
            stored
                .iter()
                .filter(|s| matches!(s.2, Stored::ButtonDown { .. }))
                .count(),
            1
        );
        // Order is kept.
        assert!(stored.windows(2).all(|w| w[0].1 <= w[1].1));
        // The last position is not lost: a flush emits the held-back movement.
        p.apply(moved(S + 1000, 7), &mut Vec::new());
        let mut out = Vec::new();
        p.apply(moved(S + 2000, 8), &mut out);
        assert!(
            out.is_empty(),
            "a move 1 ms after the last one is held back"
        );
        p.flush(2 * S, &mut out);
        assert_eq!(out[0].1.event, Stored::Move { x: 8, y: 0 });
    }

    #[test]
    fn held_back_movement_keeps_its_window() {
        let mut p = Policy::new(&Settings::default());
        let mut out = Vec::new();
        p.set_focus(window("a", "A"), &mut out);
        p.apply(moved(0, 1), &mut out);
        p.apply(moved(10, 2), &mut out);
        p.set_focus(window("b", "B"), &mut out);
        p.apply(key(20, 'k'), &mut out);
        let apps: Vec<_> = out.iter().map(|(w, e)| (w.app.as_str(), e.ts)).collect();
        assert_eq!(apps, vec![("a", 0), ("a", 10), ("b", 20)]);
    }
}
