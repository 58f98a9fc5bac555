//! `glasshouse-fuzz <target>|all [--seconds N] [--seed S]`: fuzzes each target for N seconds and
//! prints executions, crashes and the slowest input. Exit code 1 when anything was found.
//! `glasshouse-fuzz <target> --replay FILE...` runs saved inputs once each.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use glasshouse_fuzz::{Options, TARGETS, make, run};

#[derive(Debug, Parser)]
#[command(name = "glasshouse-fuzz", version, about)]
struct Args {
    /// A target (batch, collector, control, protocol, settings, device) or `all`.
    target: String,
    /// How long to fuzz each target.
    #[arg(long, default_value_t = 60.0)]
    seconds: f64,
    /// The generator's seed (printed, so a run can be repeated); the time when not given.
    #[arg(long)]
    seed: Option<u64>,
    /// Where inputs that fail are saved (a folder per target); by default `fuzz` in the cargo
    /// target directory.
    #[arg(long)]
    out: Option<PathBuf>,
    /// An input slower than this many milliseconds is a finding.
    #[arg(long, default_value_t = 1000)]
    slow_ms: u64,
    /// Run these saved inputs once each (what came of each, and how long it took) instead.
    #[arg(long, num_args = 1..)]
    replay: Vec<PathBuf>,
}

/// Runs saved inputs once each; false when one of them fails.
fn replay(name: &str, files: &[PathBuf]) -> Result<bool, glasshouse_fuzz::FuzzError> {
    let mut target = make(name)?;
    let mut clean = true;
    for file in files {
        let input = std::fs::read(file).map_err(|source| glasshouse_fuzz::FuzzError::Io {
            path: file.clone(),
            source,
        })?;
        let start = std::time::Instant::now();
        let verdict = target.execute(&input);
        let took = start.elapsed();
        clean &= matches!(verdict, glasshouse_fuzz::Verdict::Ok(_));
        println!(
            "{}: {} bytes, {:.1} ms: {verdict:?}",
            file.display(),
            input.len(),
            took.as_secs_f64() * 1000.0
        );
    }
    Ok(clean)
}

fn default_out() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"))
        .join("fuzz")
}

fn main() -> ExitCode {
    let args = Args::parse();
    if !args.replay.is_empty() {
        return match replay(&args.target, &args.replay) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::FAILURE,
            Err(e) => {
                eprintln!("glasshouse-fuzz: {e}");
                ExitCode::from(2)
            }
        };
    }
    let names: Vec<&str> = if args.target == "all" {
        TARGETS.to_vec()
    } else {
        vec![args.target.as_str()]
    };
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        eprintln!("glasshouse-fuzz: --seconds must be a positive number");
        return ExitCode::from(2);
    }
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64)
    });
    let options = Options {
        duration: Duration::from_secs_f64(args.seconds),
        seed,
        out_dir: args.out.unwrap_or_else(default_out),
        slow: Duration::from_millis(args.slow_ms),
    };
    println!(
        "glasshouse-fuzz: seed {seed}, {} s per target, findings in {}",
        args.seconds,
        options.out_dir.display()
    );
    let mut clean = true;
    for name in names {
        let mut target = match make(name) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("glasshouse-fuzz: {e}");
                return ExitCode::from(2);
            }
        };
        match run(target.as_mut(), &options) {
            Ok(report) => {
                clean &= report.is_clean();
                println!("{report}");
            }
            Err(e) => {
                eprintln!("glasshouse-fuzz: {e}");
                return ExitCode::from(2);
            }
        }
    }
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
