//! The loop: pick or make an input, run it under `catch_unwind` and a stopwatch, keep what is new,
//! save what fails.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Once};
use std::time::{Duration, Instant};

use crate::mutate::{mutate, splice};
use crate::targets::{Target, Verdict};
use crate::{FuzzError, Rng};

/// One input running longer than this is a hang: the watchdog aborts the process (the input is
/// in `current.bin`). Far above the slow limit, so a debug build under load does not trip it.
pub const HANG_LIMIT: Duration = Duration::from_secs(120);

/// The corpus stops growing here (new outcomes are still counted).
const MAX_CORPUS: usize = 4096;
/// Inputs larger than this do not join the corpus (the seeds may be larger).
const MAX_CORPUS_INPUT: usize = 1 << 20;

/// How a run goes.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long to run.
    pub duration: Duration,
    /// The generator's seed: the same seed gives the same inputs in the same order.
    pub seed: u64,
    /// Where findings are saved, in a folder per target.
    pub out_dir: PathBuf,
    /// An input that takes longer than this is a finding.
    pub slow: Duration,
}

/// What kind of failure a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FindingKind {
    /// The code under test panicked.
    Panic,
    /// The target's check failed: a 5xx answer, a round trip that changed the value, no answer.
    Violation,
    /// The input took longer than [`Options::slow`].
    Slow,
}

impl FindingKind {
    pub fn name(self) -> &'static str {
        match self {
            FindingKind::Panic => "panic",
            FindingKind::Violation => "violation",
            FindingKind::Slow => "slow",
        }
    }
}

/// One distinct failure, with the first input that showed it.
#[derive(Debug, Clone)]
pub struct Finding {
    pub kind: FindingKind,
    pub message: String,
    /// The saved input (the message is next to it, in a `.txt`).
    pub path: PathBuf,
    /// How many inputs failed this way.
    pub count: u64,
}

/// What a run did.
#[derive(Debug, Clone)]
pub struct Report {
    pub target: &'static str,
    pub seed: u64,
    pub execs: u64,
    pub elapsed: Duration,
    pub findings: Vec<Finding>,
    pub slowest: Duration,
    pub slowest_len: usize,
    /// The slowest input, saved.
    pub slowest_path: Option<PathBuf>,
    /// Distinct outcomes seen (error sentences with their numbers blanked, `ok`, ...).
    pub outcomes: usize,
    pub corpus: usize,
    /// A `current.bin` left by an earlier run that died (a stack overflow, an abort, a hang).
    pub died_earlier: Option<PathBuf>,
}

impl Report {
    /// Panics and broken checks.
    pub fn crashes(&self) -> u64 {
        self.findings
            .iter()
            .filter(|f| f.kind != FindingKind::Slow)
            .map(|f| f.count)
            .sum()
    }

    /// Inputs over the slow limit.
    pub fn slow(&self) -> u64 {
        self.findings
            .iter()
            .filter(|f| f.kind == FindingKind::Slow)
            .map(|f| f.count)
            .sum()
    }

    pub fn is_clean(&self) -> bool {
        self.findings.is_empty()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secs = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "{}: {} executions in {:.1} s ({:.0}/s), seed {}, {} crashes, {} slow, {} outcomes, corpus {}",
            self.target,
            self.execs,
            secs,
            self.execs as f64 / secs.max(1e-9),
            self.seed,
            self.crashes(),
            self.slow(),
            self.outcomes,
            self.corpus,
        )?;
        write!(
            f,
            "  slowest input: {:.1} ms ({} bytes)",
            self.slowest.as_secs_f64() * 1000.0,
            self.slowest_len
        )?;
        if let Some(p) = &self.slowest_path {
            write!(f, ", saved in {}", p.display())?;
        }
        for finding in &self.findings {
            write!(
                f,
                "\n  {} ×{}: {}\n    input: {}",
                finding.kind.name(),
                finding.count,
                finding.message.lines().next().unwrap_or_default(),
                finding.path.display()
            )?;
        }
        if let Some(p) = &self.died_earlier {
            write!(
                f,
                "\n  an earlier run died while running the input now in {}",
                p.display()
            )?;
        }
        Ok(())
    }
}

thread_local! {
    /// Set on the thread that runs inputs: its panics are expected findings, not noise.
    static QUIET: Cell<bool> = const { Cell::new(false) };
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Panics of other threads (the collector's blocking pool, the recorder's connection threads)
/// while inputs run, so a 5xx or a lost answer can name its cause.
static OTHER_PANICS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Installs, once, a panic hook that records every panic's message and keeps the fuzzing
/// thread's own panics off the terminal (they are reported as findings instead).
fn install_panic_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let payload = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(a panic without a message)".into());
            let at = info
                .location()
                .map(|l| format!(" at {}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let message = format!("{payload}{at}");
            if QUIET.with(Cell::get) {
                LAST_PANIC.with(|p| *p.borrow_mut() = Some(message));
                return;
            }
            let name = std::thread::current().name().unwrap_or("").to_owned();
            if let Ok(mut list) = OTHER_PANICS.lock() {
                list.push(format!("thread {name}: {message}"));
            }
            if !name.starts_with("fuzz-") {
                default(info);
            }
        }));
    });
}

/// The panics other threads had since the last call (for a target's message).
pub(crate) fn take_other_panics() -> Vec<String> {
    OTHER_PANICS
        .lock()
        .map(|mut l| std::mem::take(&mut *l))
        .unwrap_or_default()
}

/// Numbers blanked and the length capped, so "at offset 17" and "at offset 18" are one outcome.
fn outcome_class(s: &str) -> String {
    let mut out = String::new();
    let mut digits = false;
    for c in s.chars().take(120) {
        if c.is_ascii_digit() {
            if !digits {
                out.push('#');
            }
            digits = true;
        } else {
            digits = false;
            out.push(c);
        }
    }
    out
}

/// Aborts the process when one input runs past [`HANG_LIMIT`].
struct Watchdog {
    started_ms: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
    epoch: Instant,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Watchdog {
    fn start(target: &'static str, current: PathBuf) -> Watchdog {
        let started_ms = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let epoch = Instant::now();
        let (s, st) = (started_ms.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("fuzz-watchdog".into())
            .spawn(move || {
                while !st.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(200));
                    let started = s.load(Ordering::Relaxed);
                    let now = epoch.elapsed().as_millis() as u64;
                    if started != 0 && now.saturating_sub(started) > HANG_LIMIT.as_millis() as u64 {
                        eprintln!(
                            "glasshouse-fuzz: {target}: one input has run for over {} s; \
                             aborting. The input is in {}",
                            HANG_LIMIT.as_secs(),
                            current.display()
                        );
                        std::process::abort();
                    }
                }
            })
            .ok();
        Watchdog {
            started_ms,
            stop,
            epoch,
            thread,
        }
    }

    fn arm(&self) {
        let now = (self.epoch.elapsed().as_millis() as u64).max(1);
        self.started_ms.store(now, Ordering::Relaxed);
    }

    fn disarm(&self) {
        self.started_ms.store(0, Ordering::Relaxed);
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn save(dir: &Path, name: &str, input: &[u8], note: &str) -> Result<PathBuf, FuzzError> {
    let path = dir.join(format!("{name}.bin"));
    std::fs::write(&path, input).map_err(FuzzError::io(&path))?;
    let txt = dir.join(format!("{name}.txt"));
    std::fs::write(&txt, note).map_err(FuzzError::io(&txt))?;
    Ok(path)
}

/// Runs `target` for `options.duration` and reports.
pub fn run(target: &mut dyn Target, options: &Options) -> Result<Report, FuzzError> {
    install_panic_hook();
    let name = target.name();
    let dir = options.out_dir.join(name);
    std::fs::create_dir_all(&dir).map_err(FuzzError::io(&dir))?;
    let current_path = dir.join("current.bin");
    let died_earlier = if current_path.exists() {
        let kept = dir.join(format!(
            "died-{}.bin",
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs())
        ));
        std::fs::rename(&current_path, &kept).map_err(FuzzError::io(&kept))?;
        Some(kept)
    } else {
        None
    };
    let current = File::create(&current_path).map_err(FuzzError::io(&current_path))?;

    let mut rng = Rng::new(options.seed);
    let mut corpus: Vec<Vec<u8>> = Vec::new();
    let mut seen_inputs = HashSet::new();
    for s in target.seeds() {
        if seen_inputs.insert(s.clone()) {
            corpus.push(s);
        }
    }
    drop(seen_inputs);
    let dict: Vec<&'static [u8]> = target.dictionary().to_vec();
    let max_len = target.max_len();
    let mut outcomes = HashSet::new();
    let mut findings: Vec<Finding> = Vec::new();
    let mut finding_index: HashMap<(FindingKind, String), usize> = HashMap::new();
    let (mut slowest, mut slowest_input) = (Duration::ZERO, Vec::new());

    let watchdog = Watchdog::start(name, current_path.clone());
    QUIET.with(|q| q.set(true));
    let start = Instant::now();
    let mut execs = 0u64;
    // Seeds first, each as it is; then the mix.
    let mut seed_cursor = 0;
    while start.elapsed() < options.duration {
        let input = if seed_cursor < corpus.len() {
            seed_cursor += 1;
            corpus[seed_cursor - 1].clone()
        } else {
            match rng.below(20) {
                0 | 1 => {
                    let n = rng.len(4096);
                    rng.bytes(n)
                }
                2..=8 if !corpus.is_empty() => {
                    let mut v = corpus[rng.below(corpus.len())].clone();
                    mutate(&mut rng, &mut v, &dict, max_len);
                    v
                }
                9 if !corpus.is_empty() => {
                    let a = corpus[rng.below(corpus.len())].clone();
                    let b = corpus[rng.below(corpus.len())].clone();
                    splice(&mut rng, &a, &b)
                }
                _ => target.generate(&mut rng, &corpus),
            }
        };
        // Kept on disk before it runs, for the one failure catch_unwind cannot see: the process
        // dying (stack overflow, abort, the watchdog).
        current
            .write_all_at(&input, 0)
            .and_then(|()| current.set_len(input.len() as u64))
            .map_err(FuzzError::io(&current_path))?;
        LAST_PANIC.with(|p| p.borrow_mut().take());
        watchdog.arm();
        let t0 = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| target.execute(&input)));
        let took = t0.elapsed();
        watchdog.disarm();
        execs += 1;

        let mut failures = Vec::new();
        match result {
            Ok(Verdict::Ok(outcome)) => {
                if outcomes.insert(outcome_class(&outcome))
                    && corpus.len() < MAX_CORPUS
                    && input.len() <= MAX_CORPUS_INPUT
                {
                    corpus.push(input.clone());
                }
            }
            Ok(Verdict::Violation(message)) => failures.push((FindingKind::Violation, message)),
            Err(_) => {
                let message = LAST_PANIC
                    .with(|p| p.borrow_mut().take())
                    .unwrap_or_else(|| "a panic without a message".into());
                failures.push((FindingKind::Panic, message));
            }
        }
        if took > options.slow {
            failures.push((
                FindingKind::Slow,
                format!(
                    "took {:.2} s (limit {:.2} s)",
                    took.as_secs_f64(),
                    options.slow.as_secs_f64()
                ),
            ));
        }
        for (kind, message) in failures {
            // Slow inputs are one finding whatever their time; others one per distinct message.
            let key = match kind {
                FindingKind::Slow => String::new(),
                _ => outcome_class(message.lines().next().unwrap_or_default()),
            };
            if let Some(&i) = finding_index.get(&(kind, key.clone())) {
                findings[i].count += 1;
                continue;
            }
            let file = format!(
                "{}-{}",
                kind.name(),
                &glasshouse_batch::sha256_hex(&input)[..12]
            );
            let note = format!(
                "target {name}, seed {}, execution {execs}: {message}\n",
                options.seed
            );
            let path = save(&dir, &file, &input, &note)?;
            finding_index.insert((kind, key), findings.len());
            findings.push(Finding {
                kind,
                message,
                path,
                count: 1,
            });
        }
        if took > slowest {
            slowest = took;
            slowest_input = input;
        }
    }
    QUIET.with(|q| q.set(false));
    drop(watchdog);
    drop(current);
    let _ = std::fs::remove_file(&current_path);
    let slowest_path = if execs > 0 {
        Some(save(
            &dir,
            "slowest",
            &slowest_input,
            &format!(
                "target {name}, seed {}: the slowest input, {:.1} ms\n",
                options.seed,
                slowest.as_secs_f64() * 1000.0
            ),
        )?)
    } else {
        None
    };
    Ok(Report {
        target: name,
        seed: options.seed,
        execs,
        elapsed: start.elapsed(),
        findings,
        slowest,
        slowest_len: slowest_input.len(),
        slowest_path,
        outcomes: outcomes.len(),
        corpus: corpus.len(),
        died_earlier,
    })
}
