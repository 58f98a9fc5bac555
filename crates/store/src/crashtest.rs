//! The crash test's two halves, shared by `crates/store/tests/crash.rs` and
//! `glasshouse-bench crash`: a child process that writes heavy synthetic input through the real
//! store writer and prints what it has handed over and what is acknowledged as committed, and a
//! parent that kills it with SIGKILL at random moments and checks the database after each kill.
//!
//! Child protocol (stdout, one line each, flushed at once):
//! - `GHCRASH open`: the store is open (write-ahead log recovery done).
//! - `GHCRASH append <n> <ts>`: printed *before* events are handed to the store: after this,
//!   at most `n` events of this run exist, the newest with timestamp `ts`.
//! - `GHCRASH committed <n>`: printed after [`crate::Store::committed`] reached `n`: the first
//!   `n` events of this run are committed and must survive the kill.
//!
//! After each kill the parent (1) opens the store the way the recorder does (replaying the
//! write-ahead log, `quick_check` before the first write) and closes it, (2) runs
//! [`crate::repair::check`] (`integrity_check` and every rollup against a recomputation from the
//! events), and (3) reads this run's events back: at least the acknowledged ones, at most the
//! announced ones, exactly the synthetic sequence (application, title, event) in order. What is
//! lost is the announced events that are not there: counted in events and in milliseconds of input.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use glasshouse_core::model::{MICROS_PER_MINUTE, Micros, now_micros};
use glasshouse_core::policy::Emitted;

use crate::synth::Rng;
use crate::{ActivityKind, DbKey, ExportFilter, Reader, Store, StoreError};

/// The key of crash-test databases (test data only).
pub fn test_key() -> DbKey {
    DbKey::from_bytes(*b"glasshouse crash test, test data")
}

/// What one child run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildArgs {
    /// The synthetic sequence's seed.
    pub seed: u64,
    /// Timestamp of the run's first event; later ones follow the wall clock from there.
    pub start: Micros,
    /// Events per second handed to the store.
    pub rate: u32,
}

impl ChildArgs {
    /// As command-line arguments (`seed start rate`).
    pub fn to_args(&self) -> [String; 3] {
        [
            self.seed.to_string(),
            self.start.to_string(),
            self.rate.to_string(),
        ]
    }

    /// From [`ChildArgs::to_args`]'s form.
    pub fn parse(args: &[String]) -> Option<ChildArgs> {
        match args {
            [seed, start, rate] => Some(ChildArgs {
                seed: seed.parse().ok()?,
                start: start.parse().ok()?,
                rate: rate.parse().ok()?,
            }),
            _ => None,
        }
    }
}

/// The events of a run, in order, before their timestamps are set: a slice of the synthetic
/// workday (moves, typing with text, clicks, wheel, excluded markers; 11 windows in 5 apps).
pub fn sequence(seed: u64) -> Vec<Emitted> {
    crate::synth::workday(0, seed, 0.02)
}

/// How often the child hands events over (the recorder's pipeline hands them every 100 ms; a
/// shorter interval makes the kill land between more appends).
const CHUNK_EVERY: Duration = Duration::from_millis(10);

/// The child: writes until killed (or for at most a minute). Returns an error only if the store
/// cannot be opened or written.
pub fn child(path: &Path, args: ChildArgs) -> Result<(), StoreError> {
    let mut out = std::io::stdout().lock();
    let mut say = |line: String| {
        let _ = writeln!(out, "GHCRASH {line}");
        let _ = out.flush();
    };
    let store = Store::open(path, &test_key())?;
    say("open".into());
    let seq = sequence(args.seed);
    let per_chunk = (args.rate as usize / 100).max(1);
    let spacing = (CHUNK_EVERY.as_micros() as Micros / per_chunk as Micros).max(1);
    let begun = Instant::now();
    let mut rng = Rng(args.seed);
    let (mut sent, mut acked) = (0usize, 0u64);
    let mut ts = args.start;
    while begun.elapsed() < Duration::from_secs(60) {
        let tick_start = Instant::now();
        let committed = store.committed();
        if committed != acked {
            acked = committed;
            say(format!("committed {acked}"));
        }
        // Timestamps follow the wall clock from `start`, strictly increasing.
        let wall = args.start + begun.elapsed().as_micros() as Micros;
        ts = ts.max(wall - spacing * per_chunk as Micros);
        let mut chunk = Vec::with_capacity(per_chunk);
        for _ in 0..per_chunk {
            let (window, mut ev) = seq[sent % seq.len()].clone();
            ts += spacing;
            ev.ts = ts;
            chunk.push((window, ev));
            sent += 1;
        }
        say(format!("append {sent} {ts}"));
        store.append(chunk);
        // Small writes now and then, as the recorder makes them (pauses, the activity log).
        match rng.below(200) {
            0 => store.log(ActivityKind::Settings, "crash test: a log entry")?,
            1 => store.record_pause(ts - 500, Some(ts - 400))?,
            _ => {}
        }
        std::thread::sleep(CHUNK_EVERY.saturating_sub(tick_start.elapsed()));
    }
    store.close()
}

/// What the parent measured over all kills.
#[derive(Debug, Clone, Default)]
pub struct CrashReport {
    /// Children killed with SIGKILL.
    pub kills: u32,
    /// Kills that landed before the child had opened the store (during recovery or opening).
    pub kills_while_opening: u32,
    /// Checks run (one per kill) and how many failed: `integrity_check`, the rollups, the
    /// recorder's own open (its `quick_check`).
    pub checks: u32,
    pub integrity_failures: u32,
    pub rollup_failures: u32,
    pub open_failures: u32,
    /// Kills after which an acknowledged event was missing (must be 0).
    pub acknowledged_lost: u32,
    /// Kills after which the stored events were not the written sequence, in order (must be 0).
    pub sequence_mismatches: u32,
    /// Events handed to the store and acknowledged as committed, over all runs.
    pub events_announced: u64,
    pub events_acknowledged: u64,
    /// Events found after the kills (the committed ones).
    pub events_kept: u64,
    /// The most events lost by one kill (announced but not committed), and the same in
    /// milliseconds of input (the newest announced timestamp minus the newest kept one).
    pub max_lost_events: u64,
    pub max_lost_ms: f64,
    /// Mean lost per kill.
    pub mean_lost_events: f64,
    /// The first few problems, in words.
    pub problems: Vec<String>,
    /// Wall time of the whole run.
    pub elapsed: Duration,
}

impl CrashReport {
    /// Whether every check passed and nothing acknowledged was lost.
    pub fn passed(&self) -> bool {
        self.integrity_failures == 0
            && self.rollup_failures == 0
            && self.open_failures == 0
            && self.acknowledged_lost == 0
            && self.sequence_mismatches == 0
    }
}

/// How the parent runs.
#[derive(Debug, Clone)]
pub struct CrashPlan {
    /// The database (created by the first child).
    pub path: PathBuf,
    pub kills: u32,
    pub seed: u64,
    /// Events per second each child writes.
    pub rate: u32,
    /// The kill lands uniformly at random this long after the child was started.
    pub kill_after: (Duration, Duration),
}

/// Runs `plan.kills` children made by `spawn` (which must run [`child`] with the given
/// arguments, stdout piped), kills each at a random moment, and checks the database after each.
pub fn run(
    plan: &CrashPlan,
    mut spawn: impl FnMut(&ChildArgs) -> Command,
) -> Result<CrashReport, StoreError> {
    let key = test_key();
    let begun = Instant::now();
    let mut rng = Rng(plan.seed ^ 0xc0ff_ee00);
    let mut report = CrashReport::default();
    // Far in the past, so nothing of the test looks like today's input; whole minutes apart.
    let mut next_start: Micros = now_micros() - 400 * 86_400 * 1_000_000;
    let mut lost_sum = 0u64;
    let (lo, hi) = plan.kill_after;
    for run in 0..plan.kills {
        let delay = lo + Duration::from_micros(rng.below((hi - lo).as_micros() as u64 + 1));
        // Start a little before a minute boundary, so most runs cross one while being killed:
        // the commit after it merges the finished minute (compaction).
        let boundary = (next_start / MICROS_PER_MINUTE + 1) * MICROS_PER_MINUTE;
        let start = boundary - rng.below(delay.as_micros() as u64 + 1) as Micros;
        let args = ChildArgs {
            seed: plan.seed.wrapping_add(u64::from(run)),
            start,
            rate: plan.rate,
        };
        let mut cmd = spawn(&args);
        cmd.stdout(Stdio::piped()).stdin(Stdio::null());
        let spawned = Instant::now();
        let mut child = cmd.spawn().map_err(|e| StoreError::io(&plan.path, e))?;
        std::thread::sleep(delay.saturating_sub(spawned.elapsed()));
        // `Child::kill` is SIGKILL on Unix.
        let _ = child.kill();
        let _ = child.wait();
        report.kills += 1;
        let (mut opened, mut announced, mut last_ts, mut acked) = (false, 0u64, start, 0u64);
        if let Some(stdout) = child.stdout.take() {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // A test harness may print its own text before ours on the first line.
                let Some(at) = line.find("GHCRASH ") else {
                    continue;
                };
                let mut w = line[at..].split_whitespace().skip(1);
                match (w.next(), w.next(), w.next()) {
                    (Some("open"), _, _) => opened = true,
                    (Some("append"), Some(n), Some(ts)) => {
                        announced = n.parse().unwrap_or(announced);
                        last_ts = ts.parse().unwrap_or(last_ts);
                    }
                    (Some("committed"), Some(n), _) => acked = n.parse().unwrap_or(acked),
                    _ => {}
                }
            }
        }
        if !opened {
            report.kills_while_opening += 1;
        }
        report.events_announced += announced;
        report.events_acknowledged += acked;
        let problem = |report: &mut CrashReport, what: String| {
            if report.problems.len() < 10 {
                report.problems.push(format!("kill {run}: {what}"));
            }
        };
        // 1. The recorder's own open: WAL replay, quick_check, then a clean close.
        report.checks += 1;
        match Store::open(&plan.path, &key).and_then(Store::close) {
            Ok(()) => {}
            Err(StoreError::Missing { .. }) if !opened => {}
            Err(e) => {
                report.open_failures += 1;
                problem(&mut report, format!("reopening failed: {e}"));
                continue;
            }
        }
        // 2. integrity_check and rollups = events.
        let check = crate::repair::check(&plan.path, &key)?;
        if !check.integrity.is_empty() {
            report.integrity_failures += 1;
            problem(
                &mut report,
                format!("integrity_check: {:?}", check.integrity),
            );
        }
        if !check.rollups.is_empty() {
            report.rollup_failures += 1;
            problem(&mut report, format!("rollups differ: {:?}", check.rollups));
        }
        // 3. This run's events: the acknowledged ones at least, exactly the sequence.
        let reader = Reader::open(&plan.path, &key)?;
        let seq = sequence(args.seed);
        let (mut kept, mut newest, mut in_order) = (0u64, None, true);
        reader.export(
            &ExportFilter {
                since: Some(start),
                ..ExportFilter::default()
            },
            |row| {
                let (w, e) = &seq[kept as usize % seq.len()];
                in_order &= row.app == w.app
                    && row.title == w.title
                    && row.event == e.event
                    && newest.is_none_or(|n| row.ts > n);
                newest = Some(row.ts);
                kept += 1;
                Ok(())
            },
        )?;
        drop(reader);
        if !in_order {
            report.sequence_mismatches += 1;
            problem(
                &mut report,
                "the stored events are not the written sequence".into(),
            );
        }
        if kept < acked {
            report.acknowledged_lost += 1;
            problem(
                &mut report,
                format!("{acked} events were acknowledged as committed, {kept} are there"),
            );
        }
        if kept > announced {
            report.sequence_mismatches += 1;
            problem(
                &mut report,
                format!("{kept} events are there, only {announced} were written"),
            );
        }
        report.events_kept += kept;
        let lost = announced.saturating_sub(kept);
        lost_sum += lost;
        report.max_lost_events = report.max_lost_events.max(lost);
        if lost > 0 {
            let newest_kept = newest.unwrap_or(start);
            let ms = (last_ts - newest_kept) as f64 / 1000.0;
            report.max_lost_ms = report.max_lost_ms.max(ms);
        }
        next_start = newest.unwrap_or(start).max(last_ts) + 1_000_000;
    }
    report.mean_lost_events = lost_sum as f64 / f64::from(report.kills.max(1));
    report.elapsed = begun.elapsed();
    Ok(report)
}
