//! `glasshouse-bench crash [--kills N] [--rate N]`: kill -9 the store writer's process at random
//! moments during heavy synthetic input, N times (default 1000), checking the database after each
//! kill (see `glasshouse_store::crashtest`). The children are this binary again
//! (`glasshouse-bench crash-child PATH SEED START RATE`).

use std::process::Command;
use std::time::Duration;

use glasshouse_store::crashtest::{self, ChildArgs, CrashPlan};

/// The child half: writes until killed.
pub fn child(args: &[String]) -> Result<(), String> {
    let (path, rest) = args
        .split_first()
        .ok_or("crash-child needs PATH SEED START RATE")?;
    let parsed = ChildArgs::parse(rest).ok_or("crash-child needs PATH SEED START RATE")?;
    crashtest::child(std::path::Path::new(path), parsed).map_err(|e| e.to_string())
}

pub fn run(kills: u64, rate: u64) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("glasshouse.db");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let plan = CrashPlan {
        path: path.clone(),
        kills: u32::try_from(kills).unwrap_or(u32::MAX),
        seed: 11,
        rate: u32::try_from(rate).unwrap_or(u32::MAX),
        kill_after: (Duration::from_millis(5), Duration::from_millis(600)),
    };
    println!(
        "crash: {} kills (SIGKILL) of a child writing {} events/s through the store, killed 5-600 ms after it starts",
        plan.kills, plan.rate
    );
    let r = crashtest::run(&plan, |a| {
        let mut cmd = Command::new(&exe);
        cmd.arg("crash-child").arg(&path).args(a.to_args());
        cmd
    })
    .map_err(|e| e.to_string())?;
    let failed = r.integrity_failures + r.rollup_failures + r.open_failures;
    println!(
        "  checks passed / crashes injected: {}/{} (integrity_check failures {}, rollup mismatches {}, refused reopen {}); {} kills landed while the store was opening",
        r.checks - failed.min(r.checks),
        r.kills,
        r.integrity_failures,
        r.rollup_failures,
        r.open_failures,
        r.kills_while_opening
    );
    println!(
        "  acknowledged events lost: {} kills; sequence mismatches: {}",
        r.acknowledged_lost, r.sequence_mismatches
    );
    println!(
        "  events written {}, acknowledged {}, kept {}",
        r.events_announced, r.events_acknowledged, r.events_kept
    );
    println!(
        "  lost per crash (announced but not committed): max {} events = {:.0} ms of input, mean {:.0} events",
        r.max_lost_events, r.max_lost_ms, r.mean_lost_events
    );
    println!("  took {:.1} s", r.elapsed.as_secs_f64());
    for p in &r.problems {
        println!("  problem: {p}");
    }
    if r.passed() {
        Ok(())
    } else {
        Err("the crash benchmark found problems (above)".into())
    }
}
