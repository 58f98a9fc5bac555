//! Desktop notifications for what happens while the dashboard is closed: a timed pause ended,
//! capture became unavailable, capture came back, the disk became full and space came back,
//! upload batches wait for review.

use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::NotificationExt;

use glasshouse_core::model::{MICROS_PER_SEC, Micros, now_micros};
use glasshouse_recorder::State;

/// The part of the status that notifications follow: state, capture error, end of a timed pause.
pub type Seen = (State, Option<String>, Option<Micros>);

/// What to tell the person about a change from `before` to `now`, if anything.
pub fn message(before: Option<&Seen>, now: &Seen) -> Option<String> {
    let before = before?;
    match (before.0 == State::DiskFull, now.0 == State::DiskFull) {
        (false, true) => {
            return Some(
                "The disk is full: Glasshouse has stopped recording. What you do now waits in memory and is written, and recording goes on by itself, once you free some space."
                    .into(),
            );
        }
        (true, false) if now.0 != State::NotRunning => {
            return Some(
                "Disk space is back: Glasshouse records again, and what waited in memory has been written."
                    .into(),
            );
        }
        _ => {}
    }
    let starting = |e: &Option<String>| e.as_deref() == Some("capture is starting");
    match (&before.1, &now.1) {
        (None, Some(reason)) if !starting(&now.1) => {
            return Some(format!(
                "Capture unavailable: {reason}. Nothing is being recorded."
            ));
        }
        (Some(_), None) if !starting(&before.1) => return Some("Capture is working again.".into()),
        _ => {}
    }
    // Only a timed pause ending by itself is news; a resume the person asked for is not.
    let timed_out = before
        .2
        .is_some_and(|until| now_micros() >= until - 2 * MICROS_PER_SEC);
    (before.0 == State::Paused && now.0 != State::Paused && timed_out)
        .then(|| "Recording again: your timed pause has ended.".into())
}

/// Shows a notification for the change, if it deserves one.
pub fn on_change<R: Runtime>(app: &AppHandle<R>, before: Option<&Seen>, now: &Seen) {
    if let Some(body) = message(before, now) {
        show(app, body);
    }
}

/// What to say when the number of batches waiting for review went from `before` to `now`: only
/// new batches are news (approving or rejecting one is the person's own doing).
pub fn pending_message(before: Option<usize>, now: usize) -> Option<String> {
    let before = before?;
    (now > before).then(|| match now {
        1 => "An upload batch waits for your review. Nothing is sent until you approve it.".into(),
        n => format!(
            "{n} upload batches wait for your review. Nothing is sent until you approve them."
        ),
    })
}

/// Shows a notification when new batches wait for review.
pub fn on_pending<R: Runtime>(app: &AppHandle<R>, before: Option<usize>, now: usize) {
    if let Some(body) = pending_message(before, now) {
        show(app, body);
    }
}

fn show<R: Runtime>(app: &AppHandle<R>, body: String) {
    if let Err(e) = app
        .notification()
        .builder()
        .title("Glasshouse")
        .body(body)
        .show()
    {
        tracing::warn!("cannot show a notification: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_new_batches_waiting_for_review_are_news() {
        assert_eq!(pending_message(None, 2), None, "not at start");
        assert_eq!(pending_message(Some(2), 1), None);
        assert_eq!(pending_message(Some(1), 1), None);
        assert!(
            pending_message(Some(0), 1)
                .unwrap()
                .starts_with("An upload batch waits")
        );
        assert!(
            pending_message(Some(1), 3)
                .unwrap()
                .starts_with("3 upload batches")
        );
    }

    #[test]
    fn notifications_follow_what_a_person_needs_to_know() {
        let rec = (State::Recording, None, None);
        let paused = (State::Paused, None, None);
        let timed = (State::Paused, None, Some(now_micros()));
        let later = (
            State::Paused,
            None,
            Some(now_micros() + 600 * MICROS_PER_SEC),
        );
        let lost = (
            State::Unavailable,
            Some("lost the X server".to_owned()),
            None,
        );
        let starting = (
            State::Unavailable,
            Some("capture is starting".to_owned()),
            None,
        );
        let full = (State::DiskFull, None, None);
        assert!(message(Some(&rec), &full).unwrap().contains("disk is full"));
        assert!(
            message(Some(&full), &rec)
                .unwrap()
                .contains("space is back")
        );
        assert_eq!(message(Some(&full), &full), None);
        assert_eq!(message(None, &rec), None);
        assert_eq!(message(Some(&starting), &rec), None);
        assert_eq!(message(Some(&rec), &paused), None);
        assert_eq!(
            message(Some(&paused), &rec),
            None,
            "a resume the person asked for"
        );
        assert_eq!(
            message(Some(&later), &rec),
            None,
            "resumed before the time was up"
        );
        assert!(
            message(Some(&timed), &rec)
                .unwrap()
                .contains("timed pause has ended")
        );
        assert!(
            message(Some(&rec), &lost)
                .unwrap()
                .contains("lost the X server")
        );
        assert!(
            message(Some(&lost), &rec)
                .unwrap()
                .contains("working again")
        );
    }
}
