//! The short run of every fuzz target that `cargo test` (and so `.ci/run`) includes: a few
//! seconds each, with a fixed seed so a failure here repeats. The long runs are
//! `glasshouse-fuzz all --seconds 600` (README).

use std::time::Duration;

use glasshouse_fuzz::{Options, make, run};

/// Fixed, so a failure in CI is the same inputs here.
const SEED: u64 = 0x5eed_2026;

fn short_run(name: &str) {
    let out = std::env::var_os("CARGO_TARGET_TMPDIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join("fuzz");
    let options = Options {
        duration: Duration::from_secs(5),
        seed: SEED,
        out_dir: out,
        // An unoptimised build under a busy CI machine: the 1 s aim is for the release runs;
        // here anything this slow is a pathology.
        slow: Duration::from_secs(20),
    };
    let mut target = make(name).unwrap();
    let report = run(target.as_mut(), &options).unwrap();
    eprintln!("{report}");
    assert!(report.execs > 0, "{name}: nothing ran");
    assert!(report.is_clean(), "{report}");
}

#[test]
fn batch() {
    short_run("batch");
}

#[test]
fn collector() {
    short_run("collector");
}

#[test]
fn control() {
    short_run("control");
}

#[test]
fn protocol() {
    short_run("protocol");
}

#[test]
fn settings() {
    short_run("settings");
}

#[test]
fn device() {
    short_run("device");
}
