//! Why recording is paused: the person's own pause, the locked screen, or both at once.
//!
//! The policy has one pause gate ([`Pauses`](glasshouse_core::policy::Pauses)): input stamped
//! inside it is never stored, whenever it arrives. [`Pausing`] keeps the two reasons apart and
//! keeps the gate shut while either holds:
//!
//! - A lock shuts the gate from the moment capture saw it (input captured before it still goes
//!   through; input captured after it, even if still on its way, does not).
//! - An unlock opens the gate only if the person has no pause of their own: a pause set before
//!   the lock, or during it, stays in force afterwards. Ending the person's pause (or its time
//!   running out) during a lock leaves the gate shut until the unlock.
//! - Each reason is its own row in the store's `pauses` table, so the dashboard draws a locked
//!   gap apart from a pause the person asked for.

use glasshouse_core::model::Micros;
use glasshouse_core::policy::{Emitted, Pause, Policy};

/// The reasons recording is paused right now.
#[derive(Debug, Default)]
pub(crate) struct Pausing {
    /// The person's own pause.
    user: Option<Pause>,
    /// Since when the screen is locked.
    locked: Option<Micros>,
}

impl Pausing {
    /// The person's pause, if one is in force.
    pub(crate) fn user(&self) -> Option<Pause> {
        self.user
    }

    /// Since when the screen is locked, if it is.
    pub(crate) fn locked_since(&self) -> Option<Micros> {
        self.locked
    }

    /// Starts (or changes the end of) the person's pause at `now`; a pause already running keeps
    /// its start. Returns it.
    pub(crate) fn user_pause(
        &mut self,
        policy: &mut Policy,
        now: Micros,
        until: Option<Micros>,
        out: &mut Vec<Emitted>,
    ) -> Pause {
        let since = self.user.map_or(now, |p| p.since);
        let pause = Pause { since, until };
        self.user = Some(pause);
        self.sync(policy, now, out);
        pause
    }

    /// Ends the person's pause at `now`; returns the closed interval. Recording resumes unless
    /// the screen is locked.
    pub(crate) fn user_resume(
        &mut self,
        policy: &mut Policy,
        now: Micros,
    ) -> Option<(Micros, Micros)> {
        let pause = self.user.take()?;
        let end = now.max(pause.since);
        self.sync(policy, end, &mut Vec::new());
        Some((pause.since, end))
    }

    /// Ends the person's timed pause once its time has come; returns the closed interval.
    pub(crate) fn tick(&mut self, policy: &mut Policy, now: Micros) -> Option<(Micros, Micros)> {
        let pause = self.user?;
        let until = pause.until.filter(|u| now >= *u)?;
        self.user = None;
        let end = until.max(pause.since);
        self.sync(policy, end, &mut Vec::new());
        Some((pause.since, end))
    }

    /// The screen was locked at `ts`. Returns the lock's start if it is new.
    pub(crate) fn lock(
        &mut self,
        policy: &mut Policy,
        ts: Micros,
        out: &mut Vec<Emitted>,
    ) -> Option<Micros> {
        if self.locked.is_some() {
            return None;
        }
        self.locked = Some(ts);
        // A gate opened after the lock's moment (the person paused a moment after the lock was
        // seen but before it was reported) would let the input in between through: reopen it
        // from the lock on. The closed sliver stays remembered, so nothing in it gets in either.
        if policy.pauses().current().is_some_and(|p| p.since > ts) {
            policy.pauses_mut().resume(ts);
        }
        self.sync(policy, ts, out);
        Some(ts)
    }

    /// The screen was unlocked at `ts`. Returns the closed lock interval if there was one.
    pub(crate) fn unlock(&mut self, policy: &mut Policy, ts: Micros) -> Option<(Micros, Micros)> {
        let since = self.locked.take()?;
        let end = ts.max(since);
        self.sync(policy, end, &mut Vec::new());
        Some((since, end))
    }

    /// Makes the policy's gate match the reasons: shut (open-ended while locked, else until the
    /// person's pause ends) while any holds, open from `at` when none does.
    fn sync(&self, policy: &mut Policy, at: Micros, out: &mut Vec<Emitted>) {
        if self.user.is_none() && self.locked.is_none() {
            policy.pauses_mut().resume(at);
            return;
        }
        let until = match self.locked {
            Some(_) => None,
            None => self.user.and_then(|p| p.until),
        };
        policy.pause(at, until, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use glasshouse_core::keys::Key;
    use glasshouse_core::model::{Input, MICROS_PER_SEC, RawEvent, Stored};
    use glasshouse_core::policy::RECORDER_HOLD;
    use glasshouse_core::settings::Settings;

    const S: Micros = MICROS_PER_SEC;

    /// A policy as the recorder runs it (events held back), and the reasons.
    struct Check {
        policy: Policy,
        pausing: Pausing,
        out: Vec<Emitted>,
    }

    impl Check {
        fn new() -> Check {
            Check {
                policy: Policy::new(&Settings::default()).with_hold(RECORDER_HOLD),
                pausing: Pausing::default(),
                out: Vec::new(),
            }
        }

        /// A key typed at `at` (seconds), delivered now.
        fn key(&mut self, at: Micros, c: char) {
            let ev = RawEvent {
                ts: at,
                input: Input::KeyDown {
                    key: Key::KeyA,
                    text: Some(c.to_string()),
                },
            };
            self.policy.apply(ev, &mut self.out);
        }

        fn lock(&mut self, at: Micros) {
            self.pausing.lock(&mut self.policy, at, &mut self.out);
        }

        fn unlock(&mut self, at: Micros) {
            self.pausing.unlock(&mut self.policy, at);
        }

        fn pause(&mut self, at: Micros, until: Option<Micros>) {
            self.pausing
                .user_pause(&mut self.policy, at, until, &mut self.out);
        }

        /// Everything let through so far, as typed text.
        fn stored(&mut self) -> String {
            self.policy.flush(Micros::MAX, &mut self.out);
            self.out
                .iter()
                .filter_map(|(_, e)| match &e.event {
                    Stored::KeyDown { text, .. } => text.clone(),
                    _ => None,
                })
                .collect()
        }

        fn paused(&self) -> bool {
            self.policy.pauses().current().is_some()
        }
    }

    #[test]
    fn nothing_typed_while_locked_is_stored_even_if_it_arrives_late() {
        let mut c = Check::new();
        c.key(S, 'a');
        c.lock(10 * S);
        // Captured before the lock, delivered after it: stored. Captured after: not.
        c.key(10 * S - 1, 'b');
        c.key(10 * S, 'x');
        c.key(12 * S, 'y');
        c.unlock(20 * S);
        // Still on its way from inside the lock after the unlock: not stored either.
        c.key(19 * S, 'z');
        c.key(20 * S, 'c');
        assert!(!c.paused(), "an unlock resumes by itself");
        assert_eq!(c.stored(), "abc");
    }

    #[test]
    fn a_pause_set_before_the_lock_stays_after_the_unlock() {
        let mut c = Check::new();
        c.pause(5 * S, None);
        c.lock(10 * S);
        c.unlock(20 * S);
        c.key(21 * S, 'x');
        assert!(c.paused());
        assert!(c.pausing.locked_since().is_none());
        assert_eq!(c.pausing.user().map(|p| p.since), Some(5 * S));
        assert_eq!(
            c.pausing.user_resume(&mut c.policy, 30 * S),
            Some((5 * S, 30 * S))
        );
        c.key(31 * S, 'c');
        assert_eq!(c.stored(), "c");
    }

    #[test]
    fn a_pause_set_during_the_lock_stays_after_the_unlock() {
        let mut c = Check::new();
        c.lock(10 * S);
        c.pause(12 * S, Some(100 * S));
        c.unlock(20 * S);
        c.key(21 * S, 'x');
        assert!(c.paused());
        // The person's timed pause ends at its time, not at the unlock.
        assert_eq!(c.pausing.tick(&mut c.policy, 99 * S), None);
        assert_eq!(
            c.pausing.tick(&mut c.policy, 101 * S),
            Some((12 * S, 100 * S))
        );
        c.key(100 * S, 'c');
        assert_eq!(c.stored(), "c");
    }

    #[test]
    fn a_pause_ending_during_the_lock_leaves_it_locked() {
        let mut c = Check::new();
        c.pause(5 * S, Some(15 * S));
        c.lock(10 * S);
        // The timed pause ran out while the screen was locked.
        assert_eq!(c.pausing.tick(&mut c.policy, 16 * S), Some((5 * S, 15 * S)));
        c.key(17 * S, 'x');
        assert!(c.paused());
        // So did a resume asked for over the socket during the lock.
        c.pause(18 * S, None);
        assert_eq!(
            c.pausing.user_resume(&mut c.policy, 19 * S),
            Some((18 * S, 19 * S))
        );
        c.key(19 * S, 'y');
        assert!(c.paused());
        c.unlock(20 * S);
        c.key(20 * S, 'c');
        assert_eq!(c.stored(), "c");
    }

    #[test]
    fn a_lock_seen_before_a_pause_reported_first_still_covers_the_gap() {
        let mut c = Check::new();
        c.pause(12 * S, None);
        c.lock(10 * S);
        c.key(11 * S, 'x');
        c.key(9 * S, 'a');
        assert_eq!(c.stored(), "a");
    }

    #[test]
    fn repeated_reports_change_nothing() {
        let mut c = Check::new();
        assert_eq!(c.pausing.unlock(&mut c.policy, 5 * S), None);
        c.lock(10 * S);
        assert_eq!(c.pausing.lock(&mut c.policy, 11 * S, &mut Vec::new()), None);
        assert_eq!(c.pausing.locked_since(), Some(10 * S));
        assert_eq!(
            c.pausing.unlock(&mut c.policy, 20 * S),
            Some((10 * S, 20 * S))
        );
        assert!(!c.paused());
    }
}
