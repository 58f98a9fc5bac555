//! The running recorder: owns the policy, the store, the capture supervisor and the control
//! socket, and moves events from the first to the second.
//!
//! Threads: the *pipeline* thread owns the [`Policy`]; it drains capture events every
//! [`TICK`] (batching keeps the cost of wake-ups flat however fast the user types) and answers
//! commands at once. The store has its own writer thread; the control socket its own listener;
//! [`Live`] its notifier, which wakes only while someone subscribes.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use glasshouse_capture::{
    CaptureMsg, CaptureStatus, Supervisor, SupervisorConfig, SupervisorEvent,
};
use glasshouse_core::model::Window;
use glasshouse_core::model::{MICROS_PER_SEC, Micros, now_micros};
use glasshouse_core::paths::Paths;
use glasshouse_core::policy::{Emitted, Forget, Policy, RECORDER_HOLD};
use glasshouse_core::settings::Settings;
use glasshouse_core::time::format_local_short;
use glasshouse_store::{ActivityKind, DbKey, PauseReason, Reader, Store};
use glasshouse_uploads::Uploads;

use crate::RecorderError;
use crate::control::Server;
use crate::instance::InstanceLock;
use crate::live::Live;
use crate::pausing::Pausing;
use crate::protocol::{DeleteWhat, Push, Request, Response, State, Status};

/// How often the pipeline drains captured input into the store. Events are held back for
/// `RECORDER_HOLD` anyway, so a longer tick costs no freshness and saves wake-ups.
const TICK: Duration = Duration::from_millis(100);
/// How often old events are deleted under the retention setting.
const RETENTION_EVERY: Duration = Duration::from_secs(3600);
/// How often the settings file is checked for changes made while recording.
const SETTINGS_EVERY: Duration = Duration::from_secs(2);
/// How long a command may take (a delete of months of data takes a while).
pub const ANSWER_WITHIN: Duration = Duration::from_secs(300);
/// At most this many captured events are handled before commands get a look in.
const DRAIN_LIMIT: usize = 50_000;

/// How to start a recorder.
#[derive(Clone)]
pub struct RecorderOptions {
    pub paths: Paths,
    /// The key of the encrypted store (from `glasshouse-vault`).
    pub key: DbKey,
    /// How to run the capture worker; `None` records nothing (for tests of the rest).
    pub worker: Option<SupervisorConfig>,
    /// Who is told about what happens (the desktop app's window and tray); `None` for the CLI.
    pub observer: Option<Arc<dyn Observer>>,
}

impl std::fmt::Debug for RecorderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecorderOptions")
            .field("paths", &self.paths)
            .field("worker", &self.worker)
            .field("observer", &self.observer.is_some())
            .finish()
    }
}

/// Hooks through which a shell (the tray app) follows the recorder. Called on the pipeline
/// thread: implementations must return quickly (hand work to another thread).
pub trait Observer: Send + Sync + 'static {
    /// Events the policy let through, handed to the store (committed within 250 ms).
    fn stored(&self, _events: &[Emitted]) {}
    /// The state changed: paused, resumed, a timed pause ended, capture lost or back, settings.
    fn state_changed(&self, _status: &Status) {}
    /// Stored data changed other than by recording: a delete or the retention clean-up.
    fn data_changed(&self) {}
    /// Someone asked for the dashboard (a second launch) and no subscriber shows one. Returns
    /// whether one is being shown (the tray app starts `glasshouse dashboard`).
    fn show(&self) -> bool {
        false
    }
    /// Like [`Observer::show`], opening the dashboard at one view.
    fn show_view(&self, _view: &str) -> bool {
        self.show()
    }
    /// Upload batches changed; `pending` wait for review. Called on the uploader's thread.
    fn uploads_changed(&self, _pending: usize) {}
}

type Command = (Request, Sender<Response>);

/// A running recorder. Stop it with [`Recorder::shutdown`] (dropping it also stops it).
#[derive(Debug)]
pub struct Recorder {
    paths: Paths,
    capture: Sender<SupervisorEvent>,
    commands: Sender<Command>,
    stop: Arc<AtomicBool>,
    pipeline: Option<JoinHandle<Result<(), RecorderError>>>,
    supervisor: Option<Supervisor>,
    server: Option<Server>,
    live: Arc<Live>,
    uploads: Arc<Uploads>,
    uploader: Option<JoinHandle<()>>,
    _lock: InstanceLock,
}

impl Recorder {
    /// Takes the data directory's instance lock, opens the store, starts capture and the socket.
    pub fn start(opts: RecorderOptions) -> Result<Recorder, RecorderError> {
        let paths = opts.paths;
        let lock = InstanceLock::acquire(&paths)?;
        let settings = Settings::load(&paths.settings_file)?;
        let store = Store::open(&paths.database(), &opts.key)?;
        let reader = store.reader()?;
        let now = now_micros();
        store.apply_retention(settings.retention_days, now)?;

        let mut policy = Policy::new(&settings).with_hold(RECORDER_HOLD);
        let mut pausing = Pausing::default();
        for p in reader.pauses(now - 3650 * 86_400 * MICROS_PER_SEC, Micros::MAX)? {
            match p.reason {
                // A pause outlives a restart: the user asked for it, not the process.
                PauseReason::User => {
                    if p.until.is_none_or(|u| u > now) && p.since <= now {
                        pausing.user_pause(&mut policy, p.since, p.until, &mut Vec::new());
                    }
                }
                // A lock the last run never saw end: nothing was recorded since anyway, and
                // capture reports whether the screen is locked now once it starts.
                PauseReason::ScreenLocked => {
                    if p.until.is_none() {
                        store.record_pause_for(
                            p.since,
                            Some(now.max(p.since)),
                            PauseReason::ScreenLocked,
                        )?;
                    }
                }
            }
        }

        let (capture_tx, capture_rx) = mpsc::channel();
        let initial_capture = match (&opts.worker, glasshouse_capture::preflight()) {
            (None, _) => Some("capture is turned off for this recorder".to_owned()),
            (Some(_), Err(e)) => Some(e.to_string()),
            (Some(_), Ok(())) => Some("capture is starting".to_owned()),
        };
        let supervisor = opts
            .worker
            .map(|cfg| Supervisor::spawn(cfg, capture_tx.clone()));

        let live = Live::start(paths.database(), opts.key.clone());
        live.rebuild(&reader);
        let uploads = {
            let (live, observer) = (live.clone(), opts.observer.clone());
            let on_change = move |pending: usize| {
                live.publish(&Push::Uploads { pending });
                if let Some(o) = &observer {
                    o.uploads_changed(pending);
                }
            };
            Arc::new(Uploads::new(
                &paths,
                store.clone(),
                Some(Box::new(on_change)),
            ))
        };
        let (commands, command_rx) = mpsc::channel::<Command>();
        let stop = Arc::new(AtomicBool::new(false));
        let mut pipeline = Pipeline {
            observer: opts.observer,
            live: live.clone(),
            paths: paths.clone(),
            settings,
            policy,
            pausing,
            store,
            reader,
            capture_rx,
            _capture_tx: capture_tx.clone(),
            capture_error: initial_capture,
            out: Vec::new(),
            last_retention: Instant::now(),
            last_settings_check: Instant::now(),
            settings_mtime: mtime(&paths.settings_file),
            store_health: glasshouse_store::WriteHealth::default(),
        };
        let stop_flag = stop.clone();
        let pipeline = std::thread::Builder::new()
            .name("pipeline".into())
            .spawn(move || pipeline.run(&command_rx, &stop_flag))
            .map_err(RecorderError::io(&paths.data_dir))?;

        let socket_commands = commands.clone();
        let socket_uploads = uploads.clone();
        let server = Server::start(
            &paths,
            move |req| route(&socket_commands, &socket_uploads, req),
            Some(live.clone()),
        )?;
        let uploader = uploads
            .start()
            .map_err(RecorderError::io(&paths.data_dir))?;
        Ok(Recorder {
            paths,
            capture: capture_tx,
            commands,
            stop,
            pipeline: Some(pipeline),
            supervisor,
            server: Some(server),
            live,
            uploads,
            uploader: Some(uploader),
            _lock: lock,
        })
    }

    /// Handles a request in-process, exactly as the control socket would.
    pub fn request(&self, req: Request) -> Response {
        route(&self.commands, &self.uploads, req)
    }

    pub fn paths(&self) -> &Paths {
        &self.paths
    }

    /// Where capture events go: the supervisor's channel. Another capture source (or a test)
    /// can feed the pipeline through it.
    pub fn capture_sender(&self) -> Sender<SupervisorEvent> {
        self.capture.clone()
    }

    /// Whether the pipeline still runs (it stops only on shutdown or when the store fails).
    pub fn is_alive(&self) -> bool {
        self.pipeline.as_ref().is_some_and(|h| !h.is_finished())
    }

    /// Stops capture, stores everything captured so far, and releases the data directory.
    pub fn shutdown(mut self) -> Result<(), RecorderError> {
        self.stop_all()
    }

    fn stop_all(&mut self) -> Result<(), RecorderError> {
        // Stop answering first, then stop capture, then let the pipeline drain what is left.
        self.server.take();
        if let Some(s) = self.supervisor.take() {
            s.stop();
        }
        self.stop.store(true, Ordering::SeqCst);
        // The uploader finishes the request it is in (bounded by its timeout) and stops; it is
        // not waited for longer than a moment, since nothing it holds is lost by stopping.
        self.uploads.stop();
        if let Some(h) = self.uploader.take() {
            let deadline = Instant::now() + UPLOADER_STOP_WAIT;
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            if h.is_finished() {
                let _ = h.join();
            } else {
                tracing::warn!(
                    "the uploader is still waiting for the collector; not waiting for it"
                );
            }
        }
        let result = match self.pipeline.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(RecorderError::Protocol(
                "the pipeline thread panicked".into(),
            )),
            None => Ok(()),
        };
        // Subscribers (a dashboard) are told last, once everything is stored.
        self.live.close();
        result
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if let Err(e) = self.stop_all() {
            tracing::error!("while stopping the recorder: {e}");
        }
    }
}

/// How long stopping waits for the uploader's request in flight.
const UPLOADER_STOP_WAIT: Duration = Duration::from_secs(3);

/// Upload decisions go to the uploads (they may wait on the collector, never on the pipeline);
/// everything else to the pipeline.
fn route(commands: &Sender<Command>, uploads: &Uploads, req: Request) -> Response {
    match req {
        Request::Uploads { op } => match uploads.apply(op) {
            Ok(done) => Response::Uploads(done),
            Err(e) => Response::Error {
                kind: e.kind().into(),
                message: e.to_string(),
            },
        },
        other => {
            // A delete can send approved batches back to review.
            let deletes = matches!(other, Request::Delete { .. });
            let answer = ask(commands, other);
            if deletes {
                uploads.refresh();
            }
            answer
        }
    }
}

fn ask(commands: &Sender<Command>, req: Request) -> Response {
    let (tx, rx) = mpsc::channel();
    if commands.send((req, tx)).is_err() {
        return Response::Error {
            kind: "stopping".into(),
            message: "the recorder is shutting down".into(),
        };
    }
    rx.recv_timeout(ANSWER_WITHIN)
        .unwrap_or_else(|_| Response::Error {
            kind: "timeout".into(),
            message: "the recorder did not answer in time".into(),
        })
}

struct Pipeline {
    observer: Option<Arc<dyn Observer>>,
    live: Arc<Live>,
    paths: Paths,
    settings: Settings,
    policy: Policy,
    /// Why the policy's pause gate is shut: the person's pause, the screen lock, or both.
    pausing: Pausing,
    store: Store,
    reader: Reader,
    capture_rx: Receiver<SupervisorEvent>,
    // Keeps the capture channel open when no supervisor runs.
    _capture_tx: Sender<SupervisorEvent>,
    capture_error: Option<String>,
    out: Vec<Emitted>,
    last_retention: Instant,
    last_settings_check: Instant,
    /// The store writer's health as last seen ([`Pipeline::watch_store`]).
    store_health: glasshouse_store::WriteHealth,
    settings_mtime: Option<std::time::SystemTime>,
}

fn mtime(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl Pipeline {
    fn run(
        &mut self,
        commands: &Receiver<Command>,
        stop: &AtomicBool,
    ) -> Result<(), RecorderError> {
        let mut next_tick = Instant::now() + TICK;
        loop {
            let wait = next_tick.saturating_duration_since(Instant::now());
            match commands.recv_timeout(wait) {
                Ok((req, reply)) => {
                    self.drain_capture();
                    let _ = reply.send(self.handle(req));
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => std::thread::sleep(wait),
            }
            if Instant::now() >= next_tick {
                self.tick(now_micros());
                next_tick = Instant::now() + TICK;
            }
            if stop.load(Ordering::SeqCst) {
                break;
            }
        }
        // Answer whatever is still queued, then store everything that was let through.
        while let Ok((req, reply)) = commands.try_recv() {
            let _ = reply.send(self.handle(req));
        }
        self.drain_capture();
        self.policy.flush(Micros::MAX, &mut self.out);
        self.push();
        self.store.flush()?;
        Ok(())
    }

    fn tick(&mut self, now: Micros) {
        self.watch_store(now);
        self.drain_capture();
        self.policy.flush(now, &mut self.out);
        if let Some((since, until)) = self.pausing.tick(&mut self.policy, now) {
            self.note(self.store.record_pause(since, Some(until)));
            let mut detail = format!("timed pause ended at {}", format_local_short(until));
            if self.pausing.locked_since().is_some() {
                detail.push_str("; recording resumes when the screen is unlocked");
            }
            self.note(self.store.log(ActivityKind::Resume, &detail));
            self.state_changed(now);
        }
        if self.last_settings_check.elapsed() >= SETTINGS_EVERY {
            self.last_settings_check = Instant::now();
            let m = mtime(&self.paths.settings_file);
            if m != self.settings_mtime {
                self.settings_mtime = m;
                // A file being edited may be invalid for a moment: keep the settings in force
                // and say why, rather than guess.
                match self.reload_settings() {
                    Ok(true) => self.state_changed(now),
                    Ok(false) => {}
                    Err(e) => tracing::error!("settings not applied: {e}"),
                }
            }
        }
        if self.last_retention.elapsed() >= RETENTION_EVERY {
            self.last_retention = Instant::now();
            let report = self
                .store
                .apply_retention(self.settings.retention_days, now);
            if report.as_ref().is_ok_and(|r| r.events > 0) {
                self.data_changed();
            }
            self.note(report.map(drop));
        }
        self.push();
    }

    fn push(&mut self) {
        if !self.out.is_empty() {
            if let Some(o) = &self.observer {
                o.stored(&self.out);
            }
            self.live.stored(&self.out);
            self.store.append(std::mem::take(&mut self.out));
        }
    }

    fn note<T>(&self, r: Result<T, glasshouse_store::StoreError>) {
        if let Err(e) = r {
            tracing::error!("store: {e}");
        }
    }

    fn drain_capture(&mut self) {
        for _ in 0..DRAIN_LIMIT {
            match self.capture_rx.try_recv() {
                Ok(SupervisorEvent::Msg(CaptureMsg::Input(ev))) => {
                    self.policy.apply(ev, &mut self.out)
                }
                Ok(SupervisorEvent::Msg(CaptureMsg::Focus { ts, window })) => {
                    self.policy.set_focus(window, ts, &mut self.out);
                }
                Ok(SupervisorEvent::Msg(CaptureMsg::ScreenLock { ts, locked })) => {
                    self.screen_lock(ts, locked);
                }
                Ok(SupervisorEvent::Status(status)) => self.capture_status(status),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
    }

    /// The screen was locked or unlocked at `ts`: pause from that moment on, or resume unless
    /// the person's own pause is in force.
    fn screen_lock(&mut self, ts: Micros, locked: bool) {
        if locked {
            let Some(since) = self.pausing.lock(&mut self.policy, ts, &mut self.out) else {
                return;
            };
            self.note(
                self.store
                    .record_pause_for(since, None, PauseReason::ScreenLocked),
            );
            self.note(self.store.log(
                ActivityKind::Pause,
                "screen locked: paused until it is unlocked",
            ));
        } else {
            let Some((since, until)) = self.pausing.unlock(&mut self.policy, ts) else {
                return;
            };
            self.note(
                self.store
                    .record_pause_for(since, Some(until), PauseReason::ScreenLocked),
            );
            let (kind, detail) = match self.pausing.user() {
                None => (
                    ActivityKind::Resume,
                    "screen unlocked: recording resumed".to_owned(),
                ),
                Some(p) => (
                    ActivityKind::Pause,
                    match p.until {
                        Some(u) => format!(
                            "screen unlocked: still paused until {}, as you asked",
                            format_local_short(u)
                        ),
                        None => "screen unlocked: still paused until you resume".to_owned(),
                    },
                ),
            };
            self.note(self.store.log(kind, &detail));
        }
        self.state_changed(now_micros());
    }

    fn capture_status(&mut self, status: CaptureStatus) {
        let error = match status {
            CaptureStatus::Running => None,
            CaptureStatus::Unavailable { reason } => Some(reason),
        };
        if error == self.capture_error {
            return;
        }
        let was_starting = self.capture_error.as_deref() == Some("capture is starting");
        let detail = match &error {
            Some(reason) => format!("capture unavailable: {reason}"),
            None if was_starting => String::new(),
            None => "capture running again".to_owned(),
        };
        if !detail.is_empty() {
            tracing::warn!("{detail}");
            self.note(self.store.log(ActivityKind::Capture, &detail));
        }
        if error.is_some() {
            // Whatever a restarted capture sees first belongs to no window we know yet.
            self.policy
                .set_focus(Window::unknown(), now_micros(), &mut self.out);
        }
        self.capture_error = error;
        self.state_changed(now_micros());
    }

    fn state_changed(&self, now: Micros) {
        if self.observer.is_none() && !self.live.has_subscribers() {
            return;
        }
        match self.status(now) {
            Ok(status) => {
                if let Some(o) = &self.observer {
                    o.state_changed(&status);
                }
                self.live.publish(&Push::Status(Box::new(status)));
            }
            Err(e) => tracing::error!("status: {e}"),
        }
    }

    /// Stored data changed other than by recording (a delete, retention): the feed is rebuilt
    /// from what is left, and everyone who shows data is told.
    fn data_changed(&self) {
        self.live.rebuild(&self.reader);
        self.live.publish(&Push::DataChanged);
        if let Some(o) = &self.observer {
            o.data_changed();
        }
    }

    fn handle(&mut self, req: Request) -> Response {
        let changes_state = matches!(
            req,
            Request::Pause { .. } | Request::Resume | Request::ReloadSettings
        );
        let changes_data = matches!(req, Request::Delete { .. });
        let response = self.try_handle(req);
        if response.is_ok() {
            if changes_state {
                self.state_changed(now_micros());
            }
            if changes_data {
                self.data_changed();
            }
        }
        match response {
            Ok(r) => r,
            Err(e) => Response::Error {
                kind: e.kind().into(),
                message: e.to_string(),
            },
        }
    }

    fn try_handle(&mut self, req: Request) -> Result<Response, RecorderError> {
        let now = now_micros();
        match req {
            Request::Status => Ok(Response::Status(Box::new(self.status(now)?))),
            Request::Pause { until } => {
                if until.is_some_and(|u| u <= now) {
                    return Err(RecorderError::Invalid(
                        "a pause must end in the future".into(),
                    ));
                }
                let pause = self
                    .pausing
                    .user_pause(&mut self.policy, now, until, &mut self.out);
                self.push();
                self.store.record_pause(pause.since, pause.until)?;
                let detail = match until {
                    Some(u) => format!("paused until {}", format_local_short(u)),
                    None => "paused until resumed".to_owned(),
                };
                self.store.log(ActivityKind::Pause, &detail)?;
                Ok(Response::Status(Box::new(self.status(now)?)))
            }
            Request::Resume => {
                if let Some((since, until)) = self.pausing.user_resume(&mut self.policy, now) {
                    self.store.record_pause(since, Some(until))?;
                    let detail = if self.pausing.locked_since().is_some() {
                        "your pause ended; recording resumes when the screen is unlocked"
                    } else {
                        "resumed recording"
                    };
                    self.store.log(ActivityKind::Resume, detail)?;
                }
                Ok(Response::Status(Box::new(self.status(now)?)))
            }
            Request::Delete { what } => {
                // Everything captured so far goes to the store first, so the delete sees it; what
                // is still on its way is forgotten as it arrives.
                self.policy.flush(Micros::MAX, &mut self.out);
                self.push();
                self.policy.forget(match &what {
                    DeleteWhat::Range { since, until } => Forget::Range {
                        since: *since,
                        until: *until,
                    },
                    DeleteWhat::App { app } => Forget::App {
                        app: app.clone(),
                        until: now,
                    },
                    DeleteWhat::All => Forget::Everything { until: now },
                });
                Ok(Response::Deleted(self.store.delete(what.into())?))
            }
            Request::Flush => {
                // Events are held back briefly (a late focus report may still exclude them):
                // wait that out, so everything captured up to the request is stored.
                std::thread::sleep(Duration::from_micros(RECORDER_HOLD.unsigned_abs()));
                self.drain_capture();
                // `flush(t)` lets go of what was captured up to `t - hold`: here, up to `now`.
                self.policy.flush(now + RECORDER_HOLD, &mut self.out);
                self.push();
                self.store.flush()?;
                Ok(Response::Ok)
            }
            Request::ReloadSettings => {
                let _changed = self.reload_settings()?;
                Ok(Response::Status(Box::new(self.status(now)?)))
            }
            Request::Show => match &self.observer {
                _ if self.live.focus_window() => {
                    tracing::debug!("show: a subscribed dashboard window was asked to come forward");
                    Ok(Response::Ok)
                }
                Some(o) if o.show() => Ok(Response::Ok),
                _ => Err(RecorderError::Protocol(
                    "this is the headless recorder (`glasshouse record`); it opens no window, but `glasshouse dashboard` shows it"
                        .into(),
                )),
            },
            Request::ShowView { view } => {
                if !crate::protocol::VIEWS.contains(&view.as_str()) {
                    return Err(RecorderError::Invalid(format!(
                        "there is no dashboard view \"{view}\" (views: {})",
                        crate::protocol::VIEWS.join(", ")
                    )));
                }
                match &self.observer {
                    _ if self.live.focus_view(&view) => Ok(Response::Ok),
                    Some(o) if o.show_view(&view) => Ok(Response::Ok),
                    _ => Err(RecorderError::Protocol(
                        "this is the headless recorder (`glasshouse record`); it opens no window, but `glasshouse dashboard` shows it"
                            .into(),
                    )),
                }
            }
            Request::Feed => Ok(Response::Feed {
                items: self.live.feed(),
            }),
            Request::Subscribe { .. } => Err(RecorderError::Invalid(
                "subscribe over the control socket (`control::subscribe`)".into(),
            )),
            // Routed to the uploads before the pipeline (see `route`).
            Request::Uploads { .. } => Err(RecorderError::Invalid(
                "upload decisions are not handled by the pipeline".into(),
            )),
        }
    }

    /// Re-reads the settings file; returns whether anything changed.
    fn reload_settings(&mut self) -> Result<bool, RecorderError> {
        let settings = Settings::load(&self.paths.settings_file)?;
        if settings == self.settings {
            return Ok(false);
        }
        self.policy.update_settings(&settings);
        self.store
            .log(ActivityKind::Settings, &describe_settings(&settings))?;
        self.settings = settings;
        // The next look at the file's modification time must not reload it again.
        self.settings_mtime = mtime(&self.paths.settings_file);
        Ok(true)
    }

    fn status(&self, now: Micros) -> Result<Status, RecorderError> {
        let pause = self.pausing.user();
        let locked = self.pausing.locked_since().is_some();
        let state = match (pause.is_some() || locked, &self.capture_error) {
            (true, _) => State::Paused,
            // Nothing can be stored: that matters more than whether capture works.
            (false, _) if self.store_health.disk_full => State::DiskFull,
            (false, Some(_)) => State::Unavailable,
            (false, None) => State::Recording,
        };
        let pause_reason = if locked {
            Some(PauseReason::ScreenLocked)
        } else {
            pause.map(|_| PauseReason::User)
        };
        let mut status = status_from_store(
            &self.paths,
            &self.reader,
            StatusParts {
                state,
                pid: Some(std::process::id()),
                paused_since: pause.map(|p| p.since),
                paused_until: pause.and_then(|p| p.until),
                pause_reason,
                capture_error: self.capture_error.clone(),
                settings: &self.settings,
            },
            now,
        )?;
        status.store_error = self.store_health.error.clone();
        status.events_waiting = self.store_health.buffered;
        status.events_dropped = self.store_health.dropped;
        Ok(status)
    }

    /// Follows the store writer's health: a full disk (and its end) changes the state, which is
    /// pushed to the tray and the dashboard; the writer logs the episode when writing resumes.
    fn watch_store(&mut self, now: Micros) {
        let health = self.store.health();
        let was = &self.store_health;
        let changed = health.disk_full != was.disk_full
            || health.error.is_some() != was.error.is_some()
            || (health.dropped != was.dropped && was.dropped == 0);
        if health.disk_full && !was.disk_full {
            tracing::error!(
                "recording stopped: {}",
                health.error.as_deref().unwrap_or("the disk is full")
            );
        } else if was.error.is_some() && health.error.is_none() {
            tracing::info!("the database can be written again; recording goes on");
        }
        self.store_health = health;
        if changed {
            self.state_changed(now);
        }
    }
}

/// The live part of a [`Status`]; the rest is read from the store.
#[derive(Debug)]
pub struct StatusParts<'a> {
    pub state: State,
    pub pid: Option<u32>,
    pub paused_since: Option<Micros>,
    pub paused_until: Option<Micros>,
    pub pause_reason: Option<PauseReason>,
    pub capture_error: Option<String>,
    pub settings: &'a Settings,
}

/// Builds a [`Status`], reading today's figures and the database size from `reader`.
pub fn status_from_store(
    paths: &Paths,
    reader: &Reader,
    parts: StatusParts<'_>,
    now: Micros,
) -> Result<Status, glasshouse_store::StoreError> {
    let today = chrono::Local::now().date_naive();
    let (start, _) = glasshouse_core::time::local_day_bounds(today);
    let totals = reader.totals(start, now + 1)?;
    Ok(Status {
        state: parts.state,
        pid: parts.pid,
        paused_since: parts.paused_since,
        paused_until: parts.paused_until,
        pause_reason: parts.pause_reason,
        capture_error: parts.capture_error,
        store_error: None,
        events_waiting: 0,
        events_dropped: 0,
        capture_level: parts.settings.capture_level,
        excluded_apps: parts.settings.excluded_apps.clone(),
        sensitive_windows: parts.settings.sensitive_windows,
        data_dir: paths.data_dir.clone(),
        database_bytes: reader.size_on_disk()?,
        today: totals.counts,
        today_excluded_secs: totals.excluded_secs,
    })
}

/// One line for the activity log when settings change.
pub fn describe_settings(s: &Settings) -> String {
    let sensitive = if s.sensitive_windows {
        format!(
            "sensitive windows counted only ({} patterns)",
            s.sensitive_patterns.len()
        )
    } else {
        "sensitive windows off".to_owned()
    };
    format!(
        "settings: capture level {}, {} excluded apps, {sensitive}, mouse rate {}/s, retention {} days",
        s.capture_level.name(),
        s.excluded_apps.len(),
        s.mouse_rate,
        s.retention_days
    )
}
