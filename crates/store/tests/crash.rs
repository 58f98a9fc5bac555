//! kill -9 during heavy input, 100 times: the database always passes `integrity_check` and the
//! rollup check, nothing acknowledged as committed is lost, and what is lost is bounded by the
//! commit interval. The child is this test binary again, running `crash_child` (ignored unless
//! started by the parent with `GLASSHOUSE_CRASH_CHILD` set).

use std::process::Command;
use std::time::Duration;

use glasshouse_store::crashtest::{self, ChildArgs, CrashPlan};

const CHILD_ENV: &str = "GLASSHOUSE_CRASH_CHILD";

/// The child: not a test of its own; does nothing unless the parent started it.
#[test]
#[ignore = "the crash test's child process; started by `kill_9_at_random_moments`"]
fn crash_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else {
        return;
    };
    let parts: Vec<String> = spec.split(' ').map(str::to_owned).collect();
    let (path, args) = parts.split_first().expect("path and arguments");
    let args = ChildArgs::parse(args).expect("seed, start and rate");
    if let Err(e) = crashtest::child(std::path::Path::new(path), args) {
        eprintln!("crash child: {e}");
        std::process::exit(2);
    }
}

#[test]
fn kill_9_at_random_moments_loses_nothing_committed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("glasshouse.db");
    let exe = std::env::current_exe().unwrap();
    let kills: u32 = std::env::var("GLASSHOUSE_CRASH_KILLS")
        .ok()
        .and_then(|k| k.parse().ok())
        .unwrap_or(100);
    let plan = CrashPlan {
        path: path.clone(),
        kills,
        seed: 5,
        rate: 3000,
        kill_after: (Duration::from_millis(5), Duration::from_millis(450)),
    };
    let report = crashtest::run(&plan, |args| {
        let mut cmd = Command::new(&exe);
        let spec = std::iter::once(path.display().to_string())
            .chain(args.to_args())
            .collect::<Vec<_>>()
            .join(" ");
        cmd.env(CHILD_ENV, spec).args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ]);
        cmd
    })
    .unwrap();
    eprintln!("{report:#?}");
    assert!(report.passed(), "{:#?}", report.problems);
    assert_eq!(report.checks, kills);
    assert!(
        report.events_acknowledged > 0 && report.events_kept >= report.events_acknowledged,
        "input was committed and kept: {report:?}"
    );
    assert!(
        report.kills_while_opening < kills / 2,
        "most kills land while input is written: {report:?}"
    );
    // The writer commits within 200 ms of the first uncommitted event; with the time a commit
    // takes under a debug build on a busy machine, a kill never loses more than a second.
    assert!(
        report.max_lost_ms < 1000.0,
        "lost at most the commit interval: {report:?}"
    );
}
