//! What subscribers of the control socket are told as it happens (the dashboard's live updates):
//! the state, the live feed, today's counters, "stored data changed", "bring your window to the
//! front" and "the recorder is stopping".
//!
//! One [`Live`] per recorder. The pipeline hands it what it stores and what changes; a notifier
//! thread paces the feed and the counters (at most four pushes a second while input arrives, and
//! no wake-ups at all while nobody listens). Each subscriber has a bounded queue: one that falls
//! behind or goes away is dropped, never waited for, so a subscriber cannot hold up the recorder.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use glasshouse_core::model::{Window, now_micros};
use glasshouse_core::policy::Emitted;
use glasshouse_store::{DbKey, Reader, StoreError};

use crate::feed::{Feed, FeedItem};
use crate::protocol::{Counters, Envelope, PROTOCOL_VERSION, Push};

/// Lines a subscriber may have waiting; one more and it is dropped (its stream ends).
pub const QUEUE: usize = 64;
/// How often the notifier looks for a changed feed and new counters while someone listens.
const PACE: Duration = Duration::from_millis(250);
/// Counters are pushed while events were stored this recently (the last commit trails a little).
const COUNTERS_AFTER_INPUT: Duration = Duration::from_millis(1500);
/// How long [`Live::close`] waits for subscribers to be sent the closing line.
const CLOSE_WAIT: Duration = Duration::from_secs(1);
/// How many stored events the feed is rebuilt from (it shows at most 50 items).
const REBUILD_FROM: usize = 400;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Today's counters, read from the rollups.
pub fn counters(reader: &Reader) -> Result<Counters, StoreError> {
    let today = chrono::Local::now().date_naive();
    let (start, _) = glasshouse_core::time::local_day_bounds(today);
    let totals = reader.totals(start, now_micros() + 1)?;
    Ok(Counters {
        counts: totals.counts,
        excluded_secs: totals.excluded_secs,
    })
}

struct Subscriber {
    tx: SyncSender<Arc<str>>,
    window: bool,
    /// Whether the client has gone (its connection is closed), asked without waiting.
    gone: Box<dyn Fn() -> bool + Send>,
}

#[derive(Default)]
struct Hub {
    subscribers: Vec<Subscriber>,
    /// Subscribed connections still being served (they may outlive their place in the list).
    connections: usize,
    closed: bool,
}

/// The live state a recorder shares with its subscribers.
pub struct Live {
    database: PathBuf,
    key: DbKey,
    hub: Mutex<Hub>,
    /// Signalled when subscribers come, connections end, or the recorder stops.
    changed: Condvar,
    feed: Mutex<Feed>,
    feed_dirty: AtomicBool,
    last_stored: Mutex<Option<Instant>>,
    notifier: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Live {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let hub = lock(&self.hub);
        f.debug_struct("Live")
            .field("subscribers", &hub.subscribers.len())
            .field("closed", &hub.closed)
            .finish()
    }
}

/// A subscriber's end inside the recorder: the lines to send. Dropping it ends the connection's
/// count in [`Live`].
#[derive(Debug)]
pub struct Subscription {
    pub lines: Receiver<Arc<str>>,
    live: Arc<Live>,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        lock(&self.live.hub).connections -= 1;
        self.live.changed.notify_all();
    }
}

impl Live {
    /// Starts the notifier for the store at `database` (read only when someone listens).
    pub fn start(database: PathBuf, key: DbKey) -> Arc<Live> {
        let live = Arc::new(Live {
            database,
            key,
            hub: Mutex::new(Hub::default()),
            changed: Condvar::new(),
            feed: Mutex::new(Feed::default()),
            feed_dirty: AtomicBool::new(false),
            last_stored: Mutex::new(None),
            notifier: Mutex::new(None),
        });
        let me = live.clone();
        match std::thread::Builder::new()
            .name("live-notifier".into())
            .spawn(move || me.notify_loop())
        {
            Ok(handle) => *lock(&live.notifier) = Some(handle),
            Err(e) => tracing::error!("cannot start the live notifier: {e}"),
        }
        live
    }

    /// Events the policy let through, on their way to the store.
    pub fn stored(&self, events: &[Emitted]) {
        let mut feed = lock(&self.feed);
        for (window, e) in events {
            feed.push(window, e.ts, &e.event);
        }
        drop(feed);
        self.feed_dirty.store(true, Ordering::SeqCst);
        *lock(&self.last_stored) = Some(Instant::now());
    }

    /// Refills the feed from the store (at start, and after a delete took events away).
    pub fn rebuild(&self, reader: &Reader) {
        let recent = reader.recent(REBUILD_FROM);
        let mut feed = lock(&self.feed);
        feed.clear();
        match recent {
            Ok(rows) => {
                for row in rows {
                    let window = Window {
                        app: row.app,
                        class: String::new(),
                        title: row.title,
                    };
                    feed.push(&window, row.ts, &row.event);
                }
            }
            Err(e) => tracing::error!("live feed: {e}"),
        }
        drop(feed);
        self.feed_dirty.store(true, Ordering::SeqCst);
    }

    /// The live feed now, oldest item first.
    pub fn feed(&self) -> Vec<FeedItem> {
        lock(&self.feed).items()
    }

    /// Whether anyone listens (the pipeline skips work nobody would see).
    pub fn has_subscribers(&self) -> bool {
        !lock(&self.hub).subscribers.is_empty()
    }

    /// Tells every subscriber; drops those whose queue is full or whose connection is gone.
    pub fn publish(&self, push: &Push) {
        let mut hub = lock(&self.hub);
        if hub.subscribers.is_empty() {
            return;
        }
        let line = match serde_json::to_string(&Envelope {
            v: PROTOCOL_VERSION,
            body: push,
        }) {
            Ok(mut l) => {
                l.push('\n');
                Arc::<str>::from(l)
            }
            Err(e) => {
                tracing::error!("live: cannot encode a push: {e}");
                return;
            }
        };
        hub.subscribers
            .retain(|s| match s.tx.try_send(line.clone()) {
                Ok(()) => true,
                Err(mpsc::TrySendError::Full(_)) => {
                    tracing::warn!("live: a subscriber fell behind; its stream ends");
                    false
                }
                Err(mpsc::TrySendError::Disconnected(_)) => false,
            });
    }

    /// Asks subscribers with a window to bring it to the front. Returns whether there was one:
    /// a window closed a moment ago (its connection closed, but not yet noticed) does not count.
    pub fn focus_window(&self) -> bool {
        self.focus_with(Push::Focus)
    }

    /// Like [`Live::focus_window`], showing `view`.
    pub fn focus_view(&self, view: &str) -> bool {
        self.focus_with(Push::FocusView {
            view: view.to_owned(),
        })
    }

    fn focus_with(&self, push: Push) -> bool {
        let mut hub = lock(&self.hub);
        hub.subscribers.retain(|s| !(s.gone)());
        let any = hub.subscribers.iter().any(|s| s.window);
        drop(hub);
        if any {
            self.publish(&push);
        }
        // One whose queue was full has just been dropped: it will not come forward either.
        any && lock(&self.hub).subscribers.iter().any(|s| s.window)
    }

    /// Adds a subscriber (`gone` says, without waiting, whether its client went away); `None`
    /// once the recorder is stopping.
    pub fn subscribe(
        self: &Arc<Self>,
        window: bool,
        gone: impl Fn() -> bool + Send + 'static,
    ) -> Option<Subscription> {
        let (tx, lines) = mpsc::sync_channel(QUEUE);
        let mut hub = lock(&self.hub);
        if hub.closed {
            return None;
        }
        hub.subscribers.push(Subscriber {
            tx,
            window,
            gone: Box::new(gone),
        });
        hub.connections += 1;
        drop(hub);
        self.changed.notify_all();
        Some(Subscription {
            lines,
            live: self.clone(),
        })
    }

    /// Tells subscribers the recorder is stopping, ends their streams (waiting up to a second for
    /// the last line to go out) and stops the notifier. Safe to call twice.
    pub fn close(&self) {
        if lock(&self.hub).closed {
            return;
        }
        self.publish(&Push::Closing);
        let mut hub = lock(&self.hub);
        hub.closed = true;
        hub.subscribers.clear();
        self.changed.notify_all();
        let deadline = Instant::now() + CLOSE_WAIT;
        while hub.connections > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            hub = self
                .changed
                .wait_timeout(hub, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        drop(hub);
        if let Some(t) = lock(&self.notifier).take() {
            let _ = t.join();
        }
    }

    /// Pushes the feed and the counters while input arrives (at most four times a second, and
    /// once more after input stops so the last commit is shown), and `data-changed` when a minute
    /// ends (the charts show whole minutes). Sleeps without waking while nobody listens.
    fn notify_loop(&self) {
        let mut reader: Option<Reader> = None;
        let mut minute = now_micros() / 60_000_000;
        loop {
            let mut hub = lock(&self.hub);
            if hub.subscribers.is_empty() && !hub.closed {
                // Nobody listens: let go of the store and wait for someone.
                reader = None;
                hub = self
                    .changed
                    .wait_while(hub, |h| h.subscribers.is_empty() && !h.closed)
                    .unwrap_or_else(|e| e.into_inner());
                minute = now_micros() / 60_000_000;
            }
            let (hub, _) = self
                .changed
                .wait_timeout_while(hub, PACE, |h| !h.closed)
                .unwrap_or_else(|e| e.into_inner());
            if hub.closed {
                return;
            }
            drop(hub);
            if self.feed_dirty.swap(false, Ordering::SeqCst) {
                self.publish(&Push::Feed(self.feed()));
            }
            let recent =
                lock(&self.last_stored).is_some_and(|t| t.elapsed() < COUNTERS_AFTER_INPUT);
            if recent {
                if reader.is_none() {
                    reader = Reader::open(&self.database, &self.key).ok();
                }
                if let Some(r) = &reader {
                    match counters(r) {
                        Ok(c) => self.publish(&Push::Counters(c)),
                        Err(_) => reader = None,
                    }
                }
            }
            let m = now_micros() / 60_000_000;
            if m != minute {
                minute = m;
                self.publish(&Push::DataChanged);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscriber_that_falls_behind_is_dropped_without_waiting() {
        let dir = tempfile::tempdir().unwrap();
        let live = Live::start(dir.path().join("none.db"), DbKey::from_bytes([7; 32]));
        let slow = live.subscribe(true, || false).unwrap();
        let reading = live.subscribe(false, || false).unwrap();
        let started = Instant::now();
        for _ in 1..QUEUE {
            live.publish(&Push::DataChanged);
            assert!(reading.lines.try_recv().is_ok());
        }
        assert!(live.focus_window(), "the window is still there");
        assert!(reading.lines.try_recv().is_ok());
        // The slow one's queue was full: it is gone, the other one is not.
        assert!(!live.focus_window());
        assert!(live.has_subscribers());
        assert!(started.elapsed() < Duration::from_secs(1));
        let got = slow.lines.try_iter().count();
        assert_eq!(got, QUEUE);
        assert!(matches!(
            slow.lines.try_recv(),
            Err(mpsc::TryRecvError::Disconnected)
        ));
        drop(slow);
        // Closing tells the rest, ends their streams and stops the notifier.
        live.close();
        let last: Vec<Arc<str>> = reading.lines.try_iter().collect();
        assert!(last.iter().any(|l| l.contains("\"closing\"")), "{last:?}");
        assert!(live.subscribe(false, || false).is_none());
        // A window whose client went away does not count, even before anything was pushed.
        let closed = Live::start(dir.path().join("none.db"), DbKey::from_bytes([7; 32]));
        let _gone = closed.subscribe(true, || true).unwrap();
        assert!(!closed.focus_window());
        closed.close();
        drop(reading);
        live.close();
    }
}
