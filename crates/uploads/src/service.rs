//! The write side of uploads, run by the recorder: the person's decisions (approve, reject, drop
//! an app, withdraw, take part or not, enroll) and the uploader thread that seals batches and
//! sends approved ones, retrying with backoff through collector downtime and restarts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use glasshouse_core::human::thousands;
use glasshouse_core::model::{MICROS_PER_MINUTE, MICROS_PER_SEC, Micros, now_micros};
use glasshouse_core::paths::Paths;
use glasshouse_core::settings::Settings;
use glasshouse_core::time::format_local_span;
use glasshouse_store::{ActivityKind, BatchOp, BatchRecord, BatchState, Reader, Selection, Store};
use serde::{Deserialize, Serialize};

use crate::review::{Kept, Review};
use crate::{Collector, Device, UploadError};

/// A window is sealed this long after it ends, so input still on its way is in it.
const SEAL_GRACE: Micros = 5 * MICROS_PER_SEC;
/// "Seal now" leaves out the last moments, whose input may not be stored yet.
const SEAL_NOW_LAG: Micros = 2 * MICROS_PER_SEC;
/// The uploader looks for due work at least this often.
const IDLE_CHECK: Micros = 30 * MICROS_PER_SEC;
/// Backoff after a failed attempt: 2 s, 4 s, 8 s, ... at most this.
const MAX_BACKOFF: Micros = 5 * MICROS_PER_MINUTE;
/// After the collector refused a batch outright (not a transient failure).
const REFUSED_RETRY: Micros = 60 * MICROS_PER_MINUTE;
/// How long a withdrawal request waits for the collector's answer before it returns.
const WITHDRAW_WAIT: Duration = Duration::from_secs(5);

/// What the person (or a test) asks of the uploads, over the control socket or in-process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum UploadsOp {
    /// Approve a pending batch. With `sha256`, only if it is still exactly what was shown.
    Approve {
        id: i64,
        sha256: Option<String>,
    },
    /// Approve every pending batch as it is now.
    ApproveAll,
    Reject {
        id: i64,
    },
    /// Leave an application out of a pending batch (or put it back).
    DropApp {
        id: i64,
        app: String,
        dropped: bool,
    },
    /// Ask the collector to delete an uploaded batch.
    Withdraw {
        id: i64,
    },
    /// Seal what was recorded since the last batch into batches now, without waiting for the
    /// window to end.
    Seal,
    Enroll {
        collector: String,
        token: String,
    },
    Participate {
        participating: bool,
    },
}

/// The answer to an [`UploadsOp`]: a sentence for the person and the batches it changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Done {
    pub message: String,
    pub changed: Vec<i64>,
}

type OnChange = Box<dyn Fn(usize) + Send + Sync>;

/// The uploads of one data directory, shared by the recorder's threads.
pub struct Uploads {
    review: Review,
    store: Store,
    /// Serialises the person's decisions (approve checks what it approves; see `approve`).
    ops: Mutex<()>,
    wake: Mutex<u64>,
    cond: Condvar,
    stop: AtomicBool,
    on_change: Option<OnChange>,
    /// Backoff for telling the collector about a changed choice.
    sync_retry: Mutex<(u32, Micros)>,
}

impl std::fmt::Debug for Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploads")
            .field("paths", self.review.paths())
            .finish()
    }
}

fn window_text(record: &BatchRecord) -> String {
    format_local_span(record.window_start, record.window_end)
}

fn short_sha(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

fn backoff(attempts: u32) -> Micros {
    (MICROS_PER_SEC << attempts.min(20)).min(MAX_BACKOFF)
}

impl Uploads {
    /// `on_change` is told the number of batches waiting for review whenever batches change.
    pub fn new(paths: &Paths, store: Store, on_change: Option<OnChange>) -> Uploads {
        Uploads {
            review: Review::new(paths, store.key().clone()),
            store,
            ops: Mutex::new(()),
            wake: Mutex::new(0),
            cond: Condvar::new(),
            stop: AtomicBool::new(false),
            on_change,
            sync_retry: Mutex::new((0, 0)),
        }
    }

    pub fn review(&self) -> &Review {
        &self.review
    }

    fn paths(&self) -> &Paths {
        self.review.paths()
    }

    fn reader(&self) -> Result<Reader, UploadError> {
        Ok(self.store.reader()?)
    }

    fn record(&self, reader: &Reader, id: i64) -> Result<BatchRecord, UploadError> {
        reader.batch(id)?.ok_or(UploadError::NoSuchBatch { id })
    }

    /// The batch, which must be waiting for review for `what` to be done to it.
    fn pending(&self, reader: &Reader, id: i64, what: &str) -> Result<BatchRecord, UploadError> {
        let record = self.record(reader, id)?;
        if record.state != BatchState::Pending {
            return Err(UploadError::WrongState {
                id,
                state: record.state.name(),
                what: what.into(),
            });
        }
        Ok(record)
    }

    fn participating_device(&self) -> Result<Device, UploadError> {
        let device = Device::load(self.paths())?.ok_or(UploadError::NotEnrolled)?;
        if !device.participating {
            return Err(UploadError::NotParticipating);
        }
        Ok(device)
    }

    /// Applies the person's decision.
    pub fn apply(&self, op: UploadsOp) -> Result<Done, UploadError> {
        let guard = self.ops.lock().unwrap_or_else(|e| e.into_inner());
        if let UploadsOp::Withdraw { id } = op {
            // The uploader makes the request; it needs `ops` to seal, so wait without it.
            let requested = self.request_withdraw(id);
            drop(guard);
            self.changed();
            return self.await_withdrawal(requested?);
        }
        let done = match op {
            UploadsOp::Approve { id, sha256 } => self.approve(id, sha256.as_deref()),
            UploadsOp::ApproveAll => self.approve_all(),
            UploadsOp::Reject { id } => self.reject(id),
            UploadsOp::DropApp { id, app, dropped } => self.drop_app(id, &app, dropped),
            UploadsOp::Withdraw { .. } => unreachable!("handled above"),
            UploadsOp::Seal => self.seal_now(now_micros()),
            UploadsOp::Enroll { collector, token } => self.enroll(&collector, &token),
            UploadsOp::Participate { participating } => self.participate(participating),
        };
        self.changed();
        self.kick();
        done
    }

    fn approve(&self, id: i64, expected: Option<&str>) -> Result<Done, UploadError> {
        let device = self.participating_device()?;
        let settings = Settings::load(&self.paths().settings_file)?;
        let reader = self.reader()?;
        let record = self.pending(
            &reader,
            id,
            "only a batch waiting for review can be approved",
        )?;
        let window_events = |r: &Reader| {
            r.count(&Selection::Range {
                since: record.window_start,
                until: record.window_end,
            })
        };
        let before = window_events(&reader)?;
        let built = self.review.built(&reader, &record, &device, &settings)?;
        if expected.is_some_and(|sha| sha != built.sha256) {
            return Err(UploadError::Changed { id });
        }
        if built.events == 0 {
            return Err(UploadError::WrongState {
                id,
                state: "empty",
                what: "it holds no events (every app in it was dropped); reject it instead".into(),
            });
        }
        let kept = Kept {
            apps: built.apps.clone(),
            scrubbed: built.scrubbed.clone(),
        };
        self.store.batch(BatchOp::Approve {
            id,
            sha256: built.sha256.clone(),
            payload: built.bytes.clone(),
            events: built.events,
            summary: serde_json::to_string(&kept).unwrap_or_default(),
            detail: format!(
                "approved the batch {} for upload ({} events, {} bytes, SHA-256 {}…)",
                window_text(&record),
                thousands(built.events),
                thousands(built.bytes.len() as u64),
                short_sha(&built.sha256)
            ),
        })?;
        self.review.forget(id);
        // A delete that landed between building and approving would not have found this batch
        // approved; then the bytes may hold deleted input: take the approval back.
        if window_events(&self.reader()?)? != before {
            self.store.batch(BatchOp::Reopen { id })?;
            return Err(UploadError::Changed { id });
        }
        Ok(Done {
            message: format!(
                "Approved the batch {} ({} events, SHA-256 {}). It will be uploaded in the background.",
                window_text(&record),
                thousands(built.events),
                built.sha256
            ),
            changed: vec![id],
        })
    }

    fn approve_all(&self) -> Result<Done, UploadError> {
        self.participating_device()?;
        let pending = self.reader()?.batches(&[BatchState::Pending])?;
        let mut changed = Vec::new();
        let mut skipped = Vec::new();
        for b in pending {
            match self.approve(b.id, None) {
                Ok(d) => changed.extend(d.changed),
                Err(e @ (UploadError::WrongState { .. } | UploadError::Changed { .. })) => {
                    skipped.push(format!("batch {}: {e}", b.id));
                }
                Err(e) => return Err(e),
            }
        }
        let mut message = match changed.len() {
            0 => "There was no batch waiting for review.".to_owned(),
            1 => "Approved 1 batch; it will be uploaded in the background.".to_owned(),
            n => format!("Approved {n} batches; they will be uploaded in the background."),
        };
        if !skipped.is_empty() {
            message.push_str(&format!(" Not approved: {}.", skipped.join("; ")));
        }
        Ok(Done { message, changed })
    }

    fn reject(&self, id: i64) -> Result<Done, UploadError> {
        let reader = self.reader()?;
        let record = self.record(&reader, id)?;
        if !matches!(record.state, BatchState::Pending | BatchState::Approved) {
            return Err(UploadError::WrongState {
                id,
                state: record.state.name(),
                what: "only a batch not yet sent can be rejected (withdraw an uploaded one)".into(),
            });
        }
        self.store.batch(BatchOp::Reject {
            id,
            detail: format!(
                "rejected the batch {}: it will never be sent",
                window_text(&record)
            ),
        })?;
        self.review.forget(id);
        Ok(Done {
            message: format!(
                "Rejected the batch {}. It will never be sent.",
                window_text(&record)
            ),
            changed: vec![id],
        })
    }

    fn drop_app(&self, id: i64, app: &str, dropped: bool) -> Result<Done, UploadError> {
        let reader = self.reader()?;
        let record = self.pending(
            &reader,
            id,
            "apps can be left out only of a batch waiting for review",
        )?;
        let mut apps: Vec<String> = record
            .dropped_apps
            .iter()
            .filter(|a| !a.eq_ignore_ascii_case(app))
            .cloned()
            .collect();
        if dropped {
            apps.push(app.to_owned());
        }
        self.store.batch(BatchOp::SetDroppedApps { id, apps })?;
        self.review.forget(id);
        Ok(Done {
            message: if dropped {
                format!(
                    "\"{app}\" is left out of the batch {}.",
                    window_text(&record)
                )
            } else {
                format!("\"{app}\" is back in the batch {}.", window_text(&record))
            },
            changed: vec![id],
        })
    }

    /// Marks an uploaded batch for withdrawal (nothing to do when it is withdrawn already).
    fn request_withdraw(&self, id: i64) -> Result<BatchRecord, UploadError> {
        let reader = self.reader()?;
        let record = self.record(&reader, id)?;
        if record.state == BatchState::Withdrawn {
            return Ok(record);
        }
        if record.state != BatchState::Uploaded {
            return Err(UploadError::WrongState {
                id,
                state: record.state.name(),
                what: "only an uploaded batch can be withdrawn (reject one not yet sent)".into(),
            });
        }
        if !record.withdraw_requested {
            self.store.batch(BatchOp::RequestWithdraw {
                id,
                detail: format!(
                    "asked to withdraw the uploaded batch {} (SHA-256 {}…)",
                    window_text(&record),
                    short_sha(record.sha256.as_deref().unwrap_or(""))
                ),
            })?;
        }
        self.kick();
        Ok(record)
    }

    /// Waits briefly for the uploader's answer, so the person usually learns the outcome now.
    fn await_withdrawal(&self, record: BatchRecord) -> Result<Done, UploadError> {
        let id = record.id;
        if record.state == BatchState::Withdrawn {
            return Ok(Done {
                message: format!("The batch {} was already withdrawn.", window_text(&record)),
                changed: vec![],
            });
        }
        let reader = self.reader()?;
        let deadline = std::time::Instant::now() + WITHDRAW_WAIT;
        loop {
            let now = self.record(&reader, id)?;
            if now.state == BatchState::Withdrawn {
                return Ok(Done {
                    message: format!(
                        "Withdrawn: the collector deleted the batch {} and sent a deletion receipt.",
                        window_text(&record)
                    ),
                    changed: vec![id],
                });
            }
            if now.attempts > 0 || std::time::Instant::now() >= deadline {
                let why = now
                    .last_error
                    .map_or_else(String::new, |e| format!(" ({e})"));
                return Ok(Done {
                    message: format!(
                        "Withdrawal requested for the batch {}; the collector has not confirmed it yet{why}. Glasshouse keeps asking until it does.",
                        window_text(&record)
                    ),
                    changed: vec![id],
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn enroll(&self, collector: &str, token: &str) -> Result<Done, UploadError> {
        if let Some(d) = Device::load(self.paths())? {
            return Err(UploadError::AlreadyEnrolled {
                team: d.team,
                collector: d.collector,
            });
        }
        let client = Collector::new(collector)?;
        let token = token.trim();
        if token.is_empty() {
            return Err(UploadError::Refused {
                status: 400,
                message: "the enrollment token is empty".into(),
            });
        }
        let e = client.enroll(token)?;
        let device = Device {
            collector: client.url().to_owned(),
            device_id: e.device_id,
            secret: e.device_secret,
            team: e.team,
            enrolled_at: now_micros(),
            participating: false,
            participating_since: None,
            participation_synced: true,
        };
        device.save(self.paths())?;
        self.store.log(
            ActivityKind::Participation,
            &format!(
                "enrolled this device in team \"{}\" at {} (pseudonymous id {}); not taking part until you turn it on",
                device.team, device.collector, device.device_id
            ),
        )?;
        Ok(Done {
            message: format!(
                "Enrolled in team \"{}\" at {}. You are not taking part yet: nothing is offered or sent until you turn it on.",
                device.team, device.collector
            ),
            changed: vec![],
        })
    }

    fn participate(&self, participating: bool) -> Result<Done, UploadError> {
        let mut device = Device::load(self.paths())?.ok_or(UploadError::NotEnrolled)?;
        if device.participating == participating && device.participation_synced {
            return Ok(Done {
                message: if participating {
                    "You already take part in uploads.".into()
                } else {
                    "You already do not take part in uploads.".into()
                },
                changed: vec![],
            });
        }
        // The choice takes effect here first: stopping must not depend on the collector.
        device.participating = participating;
        device.participating_since = participating.then(now_micros);
        device.participation_synced = false;
        device.save(self.paths())?;
        let mut changed = Vec::new();
        if participating {
            self.store.log(
                ActivityKind::Participation,
                "started taking part: batches will be offered for your review; nothing is sent without your approval",
            )?;
        } else {
            changed = self
                .store
                .batch(BatchOp::DiscardUnsent {
                    detail: "stopped taking part: every batch not yet sent was removed".into(),
                })?
                .changed;
            self.review.forget_all();
        }
        *self.sync_retry.lock().unwrap_or_else(|e| e.into_inner()) = (0, 0);
        let told = match self.sync_participation(&mut device) {
            Ok(()) => "The collector was told.".to_owned(),
            Err(e) => format!(
                "The collector was not told yet ({e}); Glasshouse tells it as soon as it can."
            ),
        };
        let what = if participating {
            "You now take part: batches of your input will be offered for review, and only those you approve are sent."
        } else {
            "You no longer take part: no batch will be offered or sent, and batches not yet sent were removed."
        };
        Ok(Done {
            message: format!("{what} {told}"),
            changed,
        })
    }

    fn sync_participation(&self, device: &mut Device) -> Result<(), UploadError> {
        Collector::new(&device.collector)?.participation(&device.secret, device.participating)?;
        device.participation_synced = true;
        device.save(self.paths())
    }

    /// Seals every whole window that ended before `now` (less a grace period).
    pub fn seal_due(&self, now: Micros) -> Result<Vec<i64>, UploadError> {
        self.seal(now - SEAL_GRACE, false)
    }

    fn seal_now(&self, now: Micros) -> Result<Done, UploadError> {
        self.participating_device()?;
        let ids = self.seal(now - SEAL_NOW_LAG, true)?;
        Ok(Done {
            message: match ids.len() {
                0 => "Nothing new was recorded since the last batch.".into(),
                1 => "Sealed 1 new batch; it waits for your review.".into(),
                n => format!("Sealed {n} new batches; they wait for your review."),
            },
            changed: ids,
        })
    }

    fn seal(&self, until: Micros, partial: bool) -> Result<Vec<i64>, UploadError> {
        let Some(device) = Device::load(self.paths())? else {
            return Ok(vec![]);
        };
        let Some(since) = device.participating_since.filter(|_| device.participating) else {
            return Ok(vec![]);
        };
        let settings = Settings::load(&self.paths().settings_file)?;
        let len = Micros::from(settings.batch_minutes.max(1)) * MICROS_PER_MINUTE;
        let reader = self.reader()?;
        let mut start = reader.sealed_until()?.unwrap_or(since).max(since);
        let mut windows = Vec::new();
        while start < until {
            let aligned_end = (start.div_euclid(len) + 1) * len;
            let end = match (aligned_end <= until, partial) {
                (true, _) => aligned_end,
                (false, true) => until,
                (false, false) => break,
            };
            if reader.count(&Selection::Range {
                since: start,
                until: end,
            })? > 0
            {
                windows.push((start, end));
            }
            start = end;
        }
        if windows.is_empty() {
            return Ok(vec![]);
        }
        Ok(self.store.batch(BatchOp::Seal(windows))?.changed)
    }

    /// Tells the observer how many batches wait for review (after a change made elsewhere,
    /// such as a delete).
    pub fn refresh(&self) {
        self.changed();
    }

    /// Tells the observer how many batches wait for review.
    fn changed(&self) {
        if let Some(f) = &self.on_change
            && let Ok(r) = self.reader()
            && let Ok(pending) = r.batches(&[BatchState::Pending])
        {
            f(pending.len());
        }
    }

    /// Wakes the uploader thread.
    pub fn kick(&self) {
        let mut g = self.wake.lock().unwrap_or_else(|e| e.into_inner());
        *g += 1;
        self.cond.notify_all();
    }

    /// One round of the uploader: tell the collector a changed choice, seal due windows, send
    /// approved batches and withdrawals that are due. Returns when to look again.
    pub fn work(&self, now: Micros) -> Result<Micros, UploadError> {
        let mut next = now + IDLE_CHECK;
        let Some(mut device) = Device::load(self.paths())? else {
            return Ok(next);
        };
        if !device.participation_synced {
            let mut retry = self.sync_retry.lock().unwrap_or_else(|e| e.into_inner());
            if retry.1 <= now {
                match self.sync_participation(&mut device) {
                    Ok(()) => *retry = (0, 0),
                    Err(e) => {
                        tracing::warn!("telling the collector about taking part failed: {e}");
                        *retry = (retry.0 + 1, now + backoff(retry.0 + 1));
                    }
                }
            }
            next = next.min(retry.1.max(now + MICROS_PER_SEC));
        }
        if device.participating {
            let sealed = {
                let _guard = self.ops.lock().unwrap_or_else(|e| e.into_inner());
                self.seal_due(now)?
            };
            if !sealed.is_empty() {
                tracing::info!(batches = sealed.len(), "sealed batches for review");
                self.changed();
            }
        }
        let reader = self.reader()?;
        let client = Collector::new(&device.collector)?;
        if device.participating && device.participation_synced {
            for b in reader.batches(&[BatchState::Approved])? {
                if self.stop.load(Ordering::Relaxed) {
                    break;
                }
                match b.next_attempt {
                    Some(t) if t > now => next = next.min(t),
                    _ => next = next.min(self.upload(&reader, &client, &device, &b)?),
                }
            }
        }
        for b in reader.batches(&[BatchState::Uploaded])? {
            if !b.withdraw_requested || self.stop.load(Ordering::Relaxed) {
                continue;
            }
            match b.next_attempt {
                Some(t) if t > now => next = next.min(t),
                _ => next = next.min(self.withdraw_now(&client, &device, &b)?),
            }
        }
        Ok(next)
    }

    fn upload(
        &self,
        reader: &Reader,
        client: &Collector,
        device: &Device,
        b: &BatchRecord,
    ) -> Result<Micros, UploadError> {
        let now = now_micros();
        let (Some(payload), Some(sha)) = (reader.batch_payload(b.id)?, b.sha256.as_deref()) else {
            return Ok(now + IDLE_CHECK);
        };
        // The bytes sent are the bytes approved: checked once more right before they leave.
        if glasshouse_batch::sha256_hex(&payload) != sha {
            self.store.batch(BatchOp::Reopen { id: b.id })?;
            tracing::error!(
                id = b.id,
                "an approved batch's bytes no longer match what was approved; it went back to review"
            );
            return Ok(now + IDLE_CHECK);
        }
        match client.upload(&device.secret, &payload, sha) {
            Ok(receipt) => {
                self.store.batch(BatchOp::Uploaded {
                    id: b.id,
                    receipt: receipt.to_string(),
                    detail: format!(
                        "uploaded the batch {} to {} ({} bytes, SHA-256 {}… confirmed by the collector's receipt)",
                        window_text(b),
                        device.collector,
                        thousands(payload.len() as u64),
                        short_sha(sha)
                    ),
                })?;
                self.changed();
                Ok(now + IDLE_CHECK)
            }
            Err(e) => self.failed(b, &e, now),
        }
    }

    fn withdraw_now(
        &self,
        client: &Collector,
        device: &Device,
        b: &BatchRecord,
    ) -> Result<Micros, UploadError> {
        let now = now_micros();
        let sha = b.sha256.as_deref().unwrap_or("");
        let receipt = match client.withdraw(&device.secret, sha) {
            Ok(r) => r,
            // The collector holds no such batch: nothing is left to delete there.
            Err(UploadError::Refused {
                status: 404,
                message,
            }) => serde_json::json!({
                "sha256": sha,
                "status": "not_found",
                "message": message,
            }),
            Err(e) => return self.failed(b, &e, now),
        };
        self.store.batch(BatchOp::Withdrawn {
            id: b.id,
            receipt: receipt.to_string(),
            detail: format!(
                "withdrew the batch {}: the collector at {} deleted it (SHA-256 {}…)",
                window_text(b),
                device.collector,
                short_sha(sha)
            ),
        })?;
        self.changed();
        Ok(now + IDLE_CHECK)
    }

    fn failed(&self, b: &BatchRecord, e: &UploadError, now: Micros) -> Result<Micros, UploadError> {
        let delay = if e.is_transient() {
            backoff(b.attempts + 1)
        } else {
            REFUSED_RETRY
        };
        tracing::warn!(
            id = b.id,
            attempts = b.attempts + 1,
            "upload attempt failed: {e}"
        );
        self.store.batch(BatchOp::Failed {
            id: b.id,
            error: e.to_string(),
            next_attempt: now + delay,
        })?;
        Ok(now + delay)
    }

    /// Starts the uploader thread; it stops when [`Uploads::stop`] is called.
    pub fn start(self: &Arc<Self>) -> std::io::Result<JoinHandle<()>> {
        let me = Arc::clone(self);
        std::thread::Builder::new()
            .name("uploads".into())
            .spawn(move || me.run())
    }

    fn run(&self) {
        self.changed();
        while !self.stop.load(Ordering::Relaxed) {
            let now = now_micros();
            let next = self.work(now).unwrap_or_else(|e| {
                tracing::warn!("uploads: {e}");
                now + IDLE_CHECK
            });
            let wait =
                Duration::from_micros(u64::try_from((next - now_micros()).max(0)).unwrap_or(0));
            let g = self.wake.lock().unwrap_or_else(|e| e.into_inner());
            let seen = *g;
            if self.stop.load(Ordering::Relaxed) {
                break;
            }
            let _ = self.cond.wait_timeout_while(
                g,
                wait.min(Duration::from_micros(IDLE_CHECK as u64)),
                |n| *n == seen && !self.stop.load(Ordering::Relaxed),
            );
        }
    }

    /// Asks the uploader thread to stop (a request in flight finishes or times out first).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
        self.kick();
    }
}
