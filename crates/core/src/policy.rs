//! The privacy policy: what of the captured input may be stored. Every event passes through
//! [`Policy::apply`] before it reaches the store, so the rules here are the product's promises.
//!
//! **Invariant:** an event whose timestamp falls inside a pause is never emitted, whenever it
//! arrives. **Invariant:** nothing of an excluded application's input or window is emitted, only
//! [`Stored::Excluded`] markers under [`Window::excluded`]. **Invariant:** a key typed into a
//! sensitive window (a title or app matching a sensitive pattern, see [`crate::settings`]) is
//! emitted only as [`Stored::KeyPress`], whatever the capture level, and so is a key typed up to
//! [`FOCUS_GRACE`] before such a window's focus report arrived.
//!
//! Mouse input in a sensitive window is kept as configured: a password is typed, not clicked,
//! and the pointer's path over a login form says nothing about what was entered in it. (An
//! on-screen keyboard is the exception; exclude such an app to keep its clicks out.)

use std::collections::VecDeque;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::model::{Input, MICROS_PER_SEC, Micros, RawEvent, Stored, StoredEvent, Window};
use crate::settings::{CaptureLevel, PatternProblem, Settings};

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

/// This program's own name: its windows are always excluded.
pub const SELF_APP: &str = "glasshouse";

/// How far back a switch to an excluded app reaches: input captured this long before the focus
/// change was reported is treated as the excluded app's. The report trails the switch by a few
/// X round trips (and, without a window manager, by up to one key press).
pub const FOCUS_GRACE: Micros = 200_000;

/// How long the recorder holds events back before the store sees them, so that a late focus
/// report can still turn them into "time in an excluded app". Must exceed [`FOCUS_GRACE`].
pub const RECORDER_HOLD: Micros = 300_000;

/// The longest an event can take from capture to the policy; older arrivals during a pause mean
/// the clock moved, not that the event was in flight.
const MAX_IN_FLIGHT: Micros = 5 * MICROS_PER_SEC;

/// How long deletions are remembered, to catch events that were in flight when they ran.
const FORGET_MEMORY: Micros = 10 * MICROS_PER_SEC;

/// Input that was deleted while it may still have been on its way: it must not be stored late.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Forget {
    Range {
        since: Micros,
        until: Micros,
    },
    /// Everything of an app (matched case-insensitively) captured before `until`.
    App {
        app: String,
        until: Micros,
    },
    /// Everything captured before `until`.
    Everything {
        until: Micros,
    },
}

impl Forget {
    fn covers(&self, app: &str, ts: Micros) -> bool {
        match self {
            Forget::Range { since, until } => ts >= *since && ts < *until,
            Forget::App { app: a, until } => ts < *until && a.eq_ignore_ascii_case(app),
            Forget::Everything { until } => ts < *until,
        }
    }

    fn until(&self) -> Micros {
        match self {
            Forget::Range { until, .. }
            | Forget::App { until, .. }
            | Forget::Everything { until } => *until,
        }
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
    /// The sensitive patterns in force (none while the setting is off).
    sensitive: Vec<SensitivePattern>,
    focus_sensitive: bool,
    excluded_window: Arc<Window>,
    pauses: Pauses,
    pending_move: Option<(Arc<Window>, Micros, i32, i32)>,
    last_move_emit: Micros,
    last_excluded_sec: Micros,
    hold: Micros,
    held: VecDeque<Emitted>,
    forgotten: Vec<Forget>,
}

impl Policy {
    /// A policy that emits events as soon as it has decided on them.
    pub fn new(settings: &Settings) -> Policy {
        let mut p = Policy {
            level: settings.capture_level,
            excluded_apps: Vec::new(),
            move_interval: 0,
            focus: Arc::new(Window::unknown()),
            focus_excluded: false,
            sensitive: Vec::new(),
            focus_sensitive: false,
            excluded_window: Arc::new(Window::excluded()),
            pauses: Pauses::default(),
            pending_move: None,
            last_move_emit: Micros::MIN,
            last_excluded_sec: Micros::MIN,
            hold: 0,
            held: VecDeque::new(),
            forgotten: Vec::new(),
        };
        p.update_settings(settings);
        p
    }

    /// Holds events back for `hold` before [`Policy::flush`] lets them go (see [`RECORDER_HOLD`]).
    pub fn with_hold(mut self, hold: Micros) -> Policy {
        self.hold = hold.max(0);
        self
    }

    /// Applies changed settings to events from now on.
    pub fn update_settings(&mut self, settings: &Settings) {
        self.level = settings.capture_level;
        self.excluded_apps = settings.excluded_apps.clone();
        self.move_interval = MICROS_PER_SEC / Micros::from(settings.mouse_rate.max(1));
        // The settings parser refuses a bad pattern, so none is skipped here but one built in code.
        self.sensitive = if settings.sensitive_windows {
            settings
                .sensitive_patterns
                .iter()
                .filter_map(|p| SensitivePattern::parse(p).ok())
                .collect()
        } else {
            Vec::new()
        };
        self.focus_excluded = self.is_excluded(&self.focus);
        self.focus_sensitive = !self.focus_excluded && self.is_sensitive(&self.focus);
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
        // Glasshouse's own dashboard is never recorded: what a person types into its privacy
        // settings is about their privacy, not their work.
        app_matches(SELF_APP, &w.app)
            || app_matches(SELF_APP, &w.class)
            || self
                .excluded_apps
                .iter()
                .any(|e| app_matches(e, &w.app) || app_matches(e, &w.class))
    }

    /// Whether keys typed into the focused window are kept only as counts because it is a
    /// sensitive window.
    pub fn focus_is_sensitive(&self) -> bool {
        self.focus_sensitive
    }

    fn is_sensitive(&self, w: &Window) -> bool {
        if self.sensitive.is_empty() {
            return false;
        }
        [&w.title, &w.app, &w.class].into_iter().any(|text| {
            let text = words(text);
            self.sensitive.iter().any(|p| p.matches(&text))
        })
    }

    fn dropped(&self, app: &str, ts: Micros) -> bool {
        self.pauses.covers(ts) || self.forgotten.iter().any(|f| f.covers(app, ts))
    }

    fn emit(&mut self, item: Emitted, out: &mut Vec<Emitted>) {
        if self.hold == 0 {
            out.push(item);
        } else {
            self.held.push_back(item);
        }
    }

    /// The focus moved to `window` (or its title changed), as reported at `ts`. A held-back mouse
    /// movement is emitted first, in its old window. When the new window is excluded, input held
    /// back from the last [`FOCUS_GRACE`] before `ts` is treated as the excluded app's: the report
    /// may trail the first keys typed into it. When it is sensitive, keys held back from that
    /// time are counted as its keys and lose their identity the same way.
    pub fn set_focus(&mut self, window: Window, ts: Micros, out: &mut Vec<Emitted>) {
        if *self.focus == window {
            return;
        }
        self.emit_pending(out);
        self.focus_excluded = self.is_excluded(&window);
        self.focus_sensitive = !self.focus_excluded && self.is_sensitive(&window);
        self.focus = Arc::new(window);
        let from = ts.saturating_sub(FOCUS_GRACE);
        if self.focus_excluded {
            self.scrub_since(from);
        } else if self.focus_sensitive {
            self.count_keys_since(from);
        }
    }

    /// Turns held keys from `from` on into key presses of the focused window; key releases go,
    /// as at the `counts` level. Mouse input keeps its window.
    fn count_keys_since(&mut self, from: Micros) {
        for (w, e) in std::mem::take(&mut self.held) {
            if e.ts < from {
                self.held.push_back((w, e));
                continue;
            }
            match e.event {
                Stored::KeyDown { .. } | Stored::KeyDownCategory(_) | Stored::KeyPress => {
                    let press = StoredEvent {
                        ts: e.ts,
                        event: Stored::KeyPress,
                    };
                    self.held.push_back((self.focus.clone(), press));
                }
                Stored::KeyUp { .. } | Stored::KeyUpCategory(_) => {}
                _ => self.held.push_back((w, e)),
            }
        }
    }

    /// Replaces held events from `from` on with excluded-app markers (one per second).
    fn scrub_since(&mut self, from: Micros) {
        let mut last_sec = Micros::MIN;
        for (w, e) in std::mem::take(&mut self.held) {
            let marker = Arc::ptr_eq(&w, &self.excluded_window);
            if e.ts < from || marker {
                if marker {
                    last_sec = e.ts.div_euclid(MICROS_PER_SEC);
                }
                self.held.push_back((w, e));
                continue;
            }
            let sec = e.ts.div_euclid(MICROS_PER_SEC);
            if sec != last_sec {
                last_sec = sec;
                self.held.push_back((
                    self.excluded_window.clone(),
                    StoredEvent {
                        ts: e.ts,
                        event: Stored::Excluded,
                    },
                ));
            }
        }
        self.last_excluded_sec = self.last_excluded_sec.max(last_sec);
    }

    /// Decides what of `ev` is stored, pushing it (and any movement held back before it) to `out`
    /// (or holding it, see [`Policy::with_hold`]).
    pub fn apply(&mut self, ev: RawEvent, out: &mut Vec<Emitted>) {
        if self.dropped(&self.focus.app, ev.ts) {
            return;
        }
        // While paused, an event stamped long before the pause cannot still be on its way: the
        // wall clock was stepped back (NTP, resume from suspend). Drop it rather than trust it.
        if self
            .pauses
            .current()
            .is_some_and(|p| ev.ts < p.since - MAX_IN_FLIGHT)
        {
            return;
        }
        if self.focus_excluded {
            self.pending_move = None;
            let sec = ev.ts.div_euclid(MICROS_PER_SEC);
            if sec != self.last_excluded_sec {
                self.last_excluded_sec = sec;
                let marker = (
                    self.excluded_window.clone(),
                    StoredEvent {
                        ts: ev.ts,
                        event: Stored::Excluded,
                    },
                );
                self.emit(marker, out);
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
                let level = if self.focus_sensitive {
                    CaptureLevel::Counts
                } else {
                    self.level
                };
                match (other, level) {
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
        let item = (self.focus.clone(), StoredEvent { ts: ev.ts, event });
        self.emit(item, out);
    }

    /// Lets go of what is due at `now`: a held-back movement once the rate allows it, and held
    /// events older than the hold. `flush(Micros::MAX, ..)` lets go of everything.
    pub fn flush(&mut self, now: Micros, out: &mut Vec<Emitted>) {
        if now.saturating_sub(self.last_move_emit) >= self.move_interval {
            self.emit_pending(out);
        }
        let cutoff = now.saturating_sub(self.hold);
        while self.held.front().is_some_and(|(_, e)| e.ts <= cutoff) {
            if let Some((w, e)) = self.held.pop_front()
                && !self.dropped(&w.app, e.ts)
            {
                out.push((w, e));
            }
        }
    }

    /// Starts a pause at `now`; movement held back from before it is still emitted.
    pub fn pause(&mut self, now: Micros, until: Option<Micros>, out: &mut Vec<Emitted>) -> Pause {
        self.emit_pending(out);
        self.pauses.pause(now, until)
    }

    /// Input covered by `f` is never emitted, even if it is still on its way or held back.
    /// Remembered for a few seconds past the deletion.
    pub fn forget(&mut self, f: Forget) {
        let newest = f.until();
        self.held.retain(|(w, e)| !f.covers(&w.app, e.ts));
        if self
            .pending_move
            .as_ref()
            .is_some_and(|(w, ts, _, _)| f.covers(&w.app, *ts))
        {
            self.pending_move = None;
        }
        self.forgotten.push(f);
        self.forgotten
            .retain(|g| g.until() >= newest.saturating_sub(FORGET_MEMORY));
    }

    fn emit_pending(&mut self, out: &mut Vec<Emitted>) {
        if let Some((window, ts, x, y)) = self.pending_move.take()
            && !self.dropped(&window.app, ts)
        {
            self.last_move_emit = ts;
            let item = (
                window,
                StoredEvent {
                    ts,
                    event: Stored::Move { x, y },
                },
            );
            self.emit(item, out);
        }
    }
}

/// Whether an exclusion entry matches an app or class name: case-insensitive, and a trailing `*`
/// matches any ending (`pinentry*` covers `pinentry-gtk-2` and `pinentry-qt`).
pub fn app_matches(pattern: &str, name: &str) -> bool {
    if name.is_empty() || pattern.is_empty() {
        return false;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) => name
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix)),
        None => pattern.eq_ignore_ascii_case(name),
    }
}

/// A sensitive-window pattern, read once: its lowercase words, and whether the first word may
/// begin and the last may end inside a longer word (a `*` at that end). Matching rules: the
/// module docs of [`crate::settings`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SensitivePattern {
    words: Vec<String>,
    open_start: bool,
    open_end: bool,
}

impl SensitivePattern {
    /// Reads a pattern such as `sign in` or `password*`.
    pub fn parse(pattern: &str) -> Result<SensitivePattern, PatternProblem> {
        let p = pattern.trim();
        let (p, open_start) = p.strip_prefix('*').map_or((p, false), |r| (r, true));
        let (p, open_end) = p.strip_suffix('*').map_or((p, false), |r| (r, true));
        if p.contains('*') {
            return Err(PatternProblem::InnerStar);
        }
        let words = words(p);
        if words.is_empty() {
            return Err(PatternProblem::NoWord);
        }
        Ok(SensitivePattern {
            words,
            open_start,
            open_end,
        })
    }

    /// Whether the pattern's words occur next to each other, in order, among `text` (the words
    /// of a title or name, from [`words`]).
    pub fn matches(&self, text: &[String]) -> bool {
        let last = self.words.len() - 1;
        text.windows(self.words.len()).any(|run| {
            run.iter().zip(&self.words).enumerate().all(|(i, (t, p))| {
                match (i == 0 && self.open_start, i == last && self.open_end) {
                    (true, true) => t.contains(p.as_str()),
                    (true, false) => t.ends_with(p.as_str()),
                    (false, true) => t.starts_with(p.as_str()),
                    (false, false) => t == p,
                }
            })
        })
    }
}

/// The words of `text` as sensitive patterns see them: runs of letters and digits, lowercased.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
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
    fn a_clock_stepped_back_during_a_pause_does_not_let_input_through() {
        let mut p = Policy::new(&Settings::default());
        let mut out = Vec::new();
        p.pause(1000 * S, None, &mut out);
        // Typed while paused, but the clock now reads ten minutes earlier.
        assert!(run(&mut p, vec![key(400 * S, 's')]).is_empty());
        // Genuinely in flight: captured just before the pause.
        assert_eq!(run(&mut p, vec![key(1000 * S - 1000, 'k')]).len(), 1);
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
        p.set_focus(window("KeePassXC", "Passwords.kdbx"), 0, &mut out);
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
        p.set_focus(w, 0, &mut out);
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
        p.set_focus(window("a", "A"), 0, &mut out);
        p.apply(moved(0, 1), &mut out);
        p.apply(moved(10, 2), &mut out);
        p.set_focus(window("b", "B"), 15, &mut out);
        p.apply(key(20, 'k'), &mut out);
        let apps: Vec<_> = out.iter().map(|(w, e)| (w.app.as_str(), e.ts)).collect();
        assert_eq!(apps, vec![("a", 0), ("a", 10), ("b", 20)]);
    }

    #[test]
    fn keys_typed_just_before_a_late_focus_report_count_as_the_excluded_app() {
        let mut p = Policy::new(&Settings::default()).with_hold(RECORDER_HOLD);
        let mut out = Vec::new();
        p.set_focus(window("xterm", "notes"), 0, &mut out);
        p.apply(key(S, 'n'), &mut out);
        // The password prompt got the focus at about 2 s; its report arrives after two keys.
        p.apply(key(2 * S + 10_000, 'p'), &mut out);
        p.apply(key(2 * S + 50_000, 'w'), &mut out);
        p.set_focus(
            window("pinentry-gtk-2", "Passphrase"),
            2 * S + 60_000,
            &mut out,
        );
        p.apply(key(2 * S + 90_000, 'd'), &mut out);
        assert!(out.is_empty(), "everything is held back first");
        p.flush(Micros::MAX, &mut out);
        let stored: Vec<_> = out
            .iter()
            .map(|(w, e)| (w.app.as_str(), e.event.clone()))
            .collect();
        assert_eq!(
            stored,
            vec![
                (
                    "xterm",
                    Stored::KeyDown {
                        key: Key::KeyA,
                        text: Some("n".into())
                    }
                ),
                (Window::EXCLUDED_APP, Stored::Excluded),
            ]
        );
    }

    #[test]
    fn held_events_are_released_after_the_hold() {
        let mut p = Policy::new(&Settings::default()).with_hold(RECORDER_HOLD);
        let mut out = Vec::new();
        p.apply(key(S, 'a'), &mut out);
        p.flush(S + RECORDER_HOLD - 1, &mut out);
        assert!(out.is_empty());
        p.flush(S + RECORDER_HOLD, &mut out);
        assert_eq!(out.len(), 1);
        // A pause that began before release still drops a held event from inside it.
        p.apply(key(2 * S, 'b'), &mut out);
        p.pause(2 * S - 1, None, &mut out);
        p.flush(Micros::MAX, &mut out);
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn deleted_input_still_on_its_way_is_never_stored() {
        let mut p = Policy::new(&Settings::default()).with_hold(RECORDER_HOLD);
        let mut out = Vec::new();
        p.set_focus(window("xterm", "t"), 0, &mut out);
        p.apply(key(10 * S, 'a'), &mut out);
        p.forget(Forget::Range {
            since: 5 * S,
            until: 20 * S,
        });
        // In flight when the delete ran: captured inside the range, delivered after it.
        p.apply(key(19 * S, 'b'), &mut out);
        p.apply(key(20 * S, 'c'), &mut out);
        p.forget(Forget::App {
            app: "XTERM".into(),
            until: 21 * S,
        });
        p.apply(key(20 * S + 1, 'd'), &mut out);
        p.apply(key(21 * S, 'e'), &mut out);
        p.flush(Micros::MAX, &mut out);
        let texts: Vec<_> = out
            .iter()
            .filter_map(|(_, e)| match &e.event {
                Stored::KeyDown { text, .. } => text.clone(),
                _ => None,
            })
            .collect();
        assert_eq!(texts, vec!["e".to_owned()]);
    }

    #[test]
    fn the_dashboard_itself_is_never_recorded() {
        let settings = Settings {
            excluded_apps: Vec::new(),
            ..Settings::default()
        };
        let mut p = Policy::new(&settings);
        let mut out = Vec::new();
        p.set_focus(window("glasshouse", "Glasshouse"), 0, &mut out);
        p.apply(key(S, 'x'), &mut out);
        assert_eq!(out[0].1.event, Stored::Excluded);
    }

    /// The stored form of `events` typed into `w` under `settings` (app, event).
    fn typed_into(settings: &Settings, w: Window, events: Vec<RawEvent>) -> Vec<(String, Stored)> {
        let mut p = Policy::new(settings);
        p.set_focus(w, 0, &mut Vec::new());
        run(&mut p, events)
            .into_iter()
            .map(|(app, _, e)| (app, e))
            .collect()
    }

    fn key_up(ts: Micros) -> RawEvent {
        RawEvent {
            ts,
            input: Input::KeyUp { key: Key::KeyA },
        }
    }

    fn click(ts: Micros) -> RawEvent {
        RawEvent {
            ts,
            input: Input::ButtonDown {
                button: Button::Left,
                x: 3,
                y: 4,
            },
        }
    }

    #[test]
    fn keys_in_a_sensitive_window_are_only_counted_at_any_level() {
        let typing = || vec![key(S, 's'), key_up(S + 1), click(S + 2), moved(S + 3, 9)];
        for level in [CaptureLevel::Full, CaptureLevel::Categories] {
            let settings = Settings {
                capture_level: level,
                ..Settings::default()
            };
            let stored = typed_into(&settings, window("xterm", "Enter password"), typing());
            let events: Vec<_> = stored.iter().map(|s| s.1.clone()).collect();
            assert_eq!(
                events,
                vec![
                    Stored::KeyPress,
                    Stored::ButtonDown {
                        button: Button::Left,
                        x: 3,
                        y: 4
                    },
                    Stored::Move { x: 9, y: 0 },
                ],
                "{level:?}: no identity, no release; the mouse as configured"
            );
            assert!(stored.iter().all(|s| s.0 == "xterm"), "still the xterm's");
        }
        // Control: the same window without the setting keeps the key and its text.
        let off = Settings {
            sensitive_windows: false,
            ..Settings::default()
        };
        let stored = typed_into(&off, window("xterm", "Enter password"), typing());
        assert_eq!(
            stored[0].1,
            Stored::KeyDown {
                key: Key::KeyA,
                text: Some("s".into())
            }
        );
        // An ordinary window keeps the configured level.
        let stored = typed_into(&Settings::default(), window("xterm", "notes"), typing());
        assert!(matches!(stored[0].1, Stored::KeyDown { .. }));
    }

    #[test]
    fn leaving_and_switching_off_take_effect_at_once() {
        let mut p = Policy::new(&Settings::default());
        let mut out = Vec::new();
        p.set_focus(window("firefox", "Sign in – Google Accounts"), 0, &mut out);
        assert!(p.focus_is_sensitive());
        p.apply(key(S, 'a'), &mut out);
        // The same browser window navigates on: the title change is a focus report.
        p.set_focus(window("firefox", "Inbox – Mail"), 2 * S, &mut out);
        assert!(!p.focus_is_sensitive());
        p.apply(key(3 * S, 'b'), &mut out);
        p.set_focus(
            window("firefox", "Sign in – Google Accounts"),
            4 * S,
            &mut out,
        );
        p.update_settings(&Settings {
            sensitive_windows: false,
            ..Settings::default()
        });
        assert!(!p.focus_is_sensitive());
        p.apply(key(5 * S, 'c'), &mut out);
        let texts: Vec<_> = out
            .iter()
            .map(|(_, e)| match &e.event {
                Stored::KeyDown { text, .. } => text.clone().unwrap_or_default(),
                other => format!("{other:?}"),
            })
            .collect();
        assert_eq!(texts, vec!["KeyPress", "b", "c"]);
    }

    #[test]
    fn an_excluded_app_stays_excluded_when_it_also_looks_sensitive() {
        let stored = typed_into(
            &Settings::default(),
            window("keepassxc", "Unlock Database - KeePassXC"),
            vec![key(S, 'x')],
        );
        assert_eq!(
            stored,
            vec![(Window::EXCLUDED_APP.into(), Stored::Excluded)]
        );
    }

    #[test]
    fn keys_typed_just_before_a_sensitive_title_arrives_lose_their_identity() {
        let mut p = Policy::new(&Settings::default()).with_hold(RECORDER_HOLD);
        let mut out = Vec::new();
        p.set_focus(window("xterm", "notes"), 0, &mut out);
        p.apply(key(S, 'n'), &mut out);
        p.apply(key_up(S + 1), &mut out);
        // A password dialog appears at about 2 s; its focus report trails three key events and
        // a movement.
        p.apply(key(2 * S + 10_000, 'p'), &mut out);
        p.apply(key_up(2 * S + 20_000), &mut out);
        p.apply(moved(2 * S + 30_000, 5), &mut out);
        p.apply(key(2 * S + 50_000, 'w'), &mut out);
        p.set_focus(
            window("zenity", "Authentication: enter your PIN"),
            2 * S + 60_000,
            &mut out,
        );
        p.apply(key(2 * S + 90_000, 'd'), &mut out);
        p.apply(key_up(2 * S + 95_000), &mut out);
        assert!(out.is_empty(), "everything is held back first");
        p.flush(Micros::MAX, &mut out);
        let stored: Vec<_> = out
            .iter()
            .map(|(w, e)| (w.app.as_str(), e.event.clone()))
            .collect();
        let n = Stored::KeyDown {
            key: Key::KeyA,
            text: Some("n".into()),
        };
        assert_eq!(
            stored,
            vec![
                ("xterm", n),
                ("xterm", Stored::KeyUp { key: Key::KeyA }),
                ("zenity", Stored::KeyPress),
                ("xterm", Stored::Move { x: 5, y: 0 }),
                ("zenity", Stored::KeyPress),
                ("zenity", Stored::KeyPress),
            ]
        );
        // Control: without the setting the keys in the grace keep their text.
        let mut p = Policy::new(&Settings {
            sensitive_windows: false,
            ..Settings::default()
        })
        .with_hold(RECORDER_HOLD);
        let mut out = Vec::new();
        p.set_focus(window("xterm", "notes"), 0, &mut out);
        p.apply(key(2 * S + 10_000, 'p'), &mut out);
        p.set_focus(window("zenity", "PIN"), 2 * S + 60_000, &mut out);
        p.flush(Micros::MAX, &mut out);
        assert!(matches!(out[0].1.event, Stored::KeyDown { .. }));
    }

    /// Whether a window titled `title` (of app `app`) is sensitive under the default patterns.
    fn sensitive(app: &str, title: &str) -> bool {
        let mut p = Policy::new(&Settings::default());
        p.set_focus(window(app, title), 0, &mut Vec::new());
        p.focus_is_sensitive()
    }

    #[test]
    fn default_patterns_match_whole_words() {
        for title in [
            "Enter password",
            "[sudo] password for ana",
            "Passwords and Keys",
            "password:",
            "Sign in to GitHub · GitHub",
            "Sign-in – Microsoft",
            "sign_in",
            "Log in | Example",
            "Login",
            "ana@host: sudo apt upgrade",
            "Unlock Login Keyring",
            "Enter your PIN",
            "Two-Factor Authentication",
            "Enter the one-time code",
            "2FA",
            "OTP verification",
            "Your recovery codes",
            "Export private key",
            "Enter passphrase for key '/home/ana/.ssh/id_ed25519':",
        ] {
            assert!(sensitive("xterm", title), "{title:?} should be sensitive");
        }
        for title in [
            "Logbook",
            "Unlocking achievements",
            "Blog index",
            "Design interface",
            "pseudocode.rs - editor",
            "Spinner demo",
            "Shopping list",
            "hotpot recipes",
            "Pinned tabs",
            "Passover menu",
            "Signing key rotation notes",
            "",
        ] {
            assert!(
                !sensitive("xterm", title),
                "{title:?} should not be sensitive"
            );
        }
        // The app name and WM_CLASS count as well as the title.
        assert!(sensitive("sudo", "terminal"));
        let mut w = window("java", "Vault");
        w.class = "Login-dialog".into();
        let mut p = Policy::new(&Settings::default());
        p.set_focus(w, 0, &mut Vec::new());
        assert!(p.focus_is_sensitive());
    }

    #[test]
    fn sensitive_pattern_stars() {
        let check = |pattern: &str, title: &str| {
            SensitivePattern::parse(pattern)
                .unwrap()
                .matches(&words(title))
        };
        assert!(check("password*", "PASSWORDS"));
        assert!(!check("password", "passwords"));
        assert!(check("*word", "Password"));
        assert!(!check("*word", "Wordsmith"));
        assert!(check("*密码*", "请输入密码"));
        assert!(check("sign in", "SIGN   IN now"));
        assert!(!check("sign in", "in sign"));
        assert!(check("recovery code*", "recovery codes"));
        assert!(!check("recovery code*", "recovery"));
        assert_eq!(
            SensitivePattern::parse("pass*word"),
            Err(PatternProblem::InnerStar)
        );
        assert_eq!(SensitivePattern::parse("*"), Err(PatternProblem::NoWord));
        assert_eq!(SensitivePattern::parse(" - "), Err(PatternProblem::NoWord));
    }

    #[test]
    fn exclusion_patterns() {
        assert!(app_matches("pinentry*", "pinentry-qt"));
        assert!(app_matches("PINENTRY*", "Pinentry"));
        assert!(app_matches("xterm", "XTerm"));
        assert!(!app_matches("xterm", "xterm2"));
        assert!(!app_matches("pinentry*", "pin"));
        assert!(!app_matches("x", ""));
        assert!(!app_matches("é*", "e"));
    }
}
