//! `glasshouse-bench`: the figures the recorder is held to, measured on this machine.
//!
//! ```text
//! cargo build --release --bins && target/release/glasshouse-bench all
//! ```
//! Subcommands: `ingest`, `size`, `queries [--days N]`, `cpu [--seconds N] [--rate N]`,
//! `app [--cycles N] [--days N]` (the desktop app: memory, launch time, chart rendering), `batch`
//! (the upload payload of a heavy-workday hour, zstd levels, scrub throughput), `collector
//! [--batches N] [--clients N] [--devices N] [--collector PATH]` (the collector's ingest rate over
//! loopback), `crash [--kills N] [--rate N]` (kill -9 during heavy input, checks after each),
//! `all`.

mod app;
mod batch;
mod collector;
mod cpu;
mod crash;
mod procfs;
mod workday;

use std::time::Instant;

use glasshouse_core::model::{MICROS_PER_SEC, Micros};
use glasshouse_core::policy::Policy;
use glasshouse_core::settings::Settings;
use glasshouse_store::Store;

use workday::{Item, heavy_workday};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let flag = |name: &str, default: u64| -> u64 {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let what = args.first().map_or("all", String::as_str);
    if what == "crash-child" {
        if let Err(e) = crash::child(&args[1..]) {
            eprintln!("glasshouse-bench crash-child: {e}");
            std::process::exit(2);
        }
        return;
    }
    let collector = collector::Options {
        batches: flag("--batches", 400) as usize,
        clients: flag("--clients", 8) as usize,
        devices: flag("--devices", 8) as usize,
        collector: args
            .iter()
            .position(|a| a == "--collector")
            .and_then(|i| args.get(i + 1))
            .map(std::path::PathBuf::from),
    };
    println!("machine: {}", machine());
    let result = match what {
        "ingest" => ingest(),
        "size" => size(),
        "queries" => queries(flag("--days", 90)),
        "cpu" => cpu::run(flag("--seconds", 20), flag("--rate", 1000)),
        "app" => app::run(flag("--cycles", 10), flag("--days", 90)),
        "batch" => batch::run(),
        "collector" => collector::run(&collector),
        "crash" => crash::run(flag("--kills", 1000), flag("--rate", 3000)),
        "all" => ingest()
            .and_then(|()| size())
            .and_then(|()| queries(flag("--days", 90)))
            .and_then(|()| cpu::run(flag("--seconds", 20), flag("--rate", 1000)))
            .and_then(|()| app::run(flag("--cycles", 10), flag("--days", 90)))
            .and_then(|()| batch::run())
            .and_then(|()| collector::run(&collector))
            .and_then(|()| crash::run(flag("--kills", 1000), flag("--rate", 3000))),
        other => Err(format!(
            "unknown benchmark `{other}` (ingest, size, queries, cpu, app, batch, collector, crash, all)"
        )),
    };
    if let Err(e) = result {
        eprintln!("glasshouse-bench: {e}");
        std::process::exit(1);
    }
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|s| s.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    format!("{cpu}, {cores} cores")
}

/// Feeds `items` through a policy into `store`, in batches as the recorder's pipeline does.
/// Returns the number of input events fed.
fn feed(store: &Store, items: impl Iterator<Item = Item>) -> u64 {
    let mut policy = Policy::new(&Settings::default());
    let mut out = Vec::with_capacity(4096);
    let mut n = 0u64;
    let mut last_ts = 0;
    for item in items {
        match item {
            Item::Focus(w) => policy.set_focus(w, last_ts, &mut out),
            Item::Input(ev) => {
                n += 1;
                last_ts = ev.ts;
                policy.apply(ev, &mut out);
            }
        }
        if out.len() >= 2048 {
            store.append(std::mem::take(&mut out));
        }
    }
    policy.flush(Micros::MAX, &mut out);
    store.append(out);
    n
}

fn day_start(days_ago: i64) -> Micros {
    let today = chrono::Local::now().date_naive();
    let day = today - chrono::Duration::days(days_ago);
    glasshouse_core::time::local_midnight(day) + 9 * 3600 * MICROS_PER_SEC
}

fn ingest() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store =
        Store::open(&dir.path().join("glasshouse.db"), &bench_key()).map_err(|e| e.to_string())?;
    let items: Vec<Item> = heavy_workday(day_start(0), 1).collect();
    let start = Instant::now();
    let n = feed(&store, items.into_iter());
    store.flush().map_err(|e| e.to_string())?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "ingest: {n} events through policy and store in {secs:.2} s = {:.0} events/s (aim: >= 500,000)",
        n as f64 / secs
    );
    store.close().map_err(|e| e.to_string())
}

fn size() -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("glasshouse.db");
    let store = Store::open(&path, &bench_key()).map_err(|e| e.to_string())?;
    feed(&store, heavy_workday(day_start(0), 2));
    store.flush().map_err(|e| e.to_string())?;
    let stored = store
        .reader()
        .and_then(|r| r.event_count())
        .map_err(|e| e.to_string())?;
    store.close().map_err(|e| e.to_string())?;
    let bytes: u64 = std::fs::read_dir(dir.path())
        .map_err(|e| e.to_string())?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "size: heavy workday, {stored} stored events, {bytes} bytes on disk (db + wal, rollups and indexes included) = {:.2} bytes/event (aim: <= 16)",
        bytes as f64 / stored as f64
    );
    Ok(())
}

fn queries(days: u64) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let store =
        Store::open(&dir.path().join("glasshouse.db"), &bench_key()).map_err(|e| e.to_string())?;
    let start = Instant::now();
    let mut n = 0;
    for d in (0..days as i64).rev() {
        n += feed(&store, heavy_workday(day_start(d), d as u64 + 10));
    }
    store.flush().map_err(|e| e.to_string())?;
    println!(
        "queries: loaded {days} heavy workdays ({n} events) in {:.0} s",
        start.elapsed().as_secs_f64()
    );
    let reader = store.reader().map_err(|e| e.to_string())?;
    let (today_start, today_end) =
        glasshouse_core::time::local_day_bounds(chrono::Local::now().date_naive());
    let now = today_end;
    let month_ago = now - 30 * 86_400 * MICROS_PER_SEC;
    let mut per_minute = Vec::new();
    let mut per_app = Vec::new();
    for _ in 0..200 {
        let t = Instant::now();
        let rows = reader
            .minute_rollups(today_start, today_end)
            .map_err(|e| e.to_string())?;
        per_minute.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!rows.is_empty());
        let t = Instant::now();
        let mut apps = std::collections::HashMap::<String, u64>::new();
        for r in reader
            .hour_rollups(month_ago, now)
            .map_err(|e| e.to_string())?
        {
            *apps.entry(r.app).or_default() += r.counts.keys;
        }
        per_app.push(t.elapsed().as_secs_f64() * 1000.0);
        assert!(!apps.is_empty());
    }
    for (name, mut v) in [
        ("today per minute", per_minute),
        ("per app over 30 days", per_app),
    ] {
        v.sort_by(f64::total_cmp);
        println!(
            "queries: {name}: p50 {:.2} ms, p95 {:.2} ms (aim: p95 < 10 ms)",
            v[v.len() / 2],
            v[v.len() * 95 / 100]
        );
    }
    drop(reader);
    store.close().map_err(|e| e.to_string())
}

/// The key of the benchmarks' throwaway databases.
pub(crate) fn bench_key() -> glasshouse_store::DbKey {
    glasshouse_store::DbKey::from_bytes([7; 32])
}
