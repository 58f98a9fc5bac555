//! The command line: `glasshouse <command>`. Each subcommand lives in its own module and only
//! converts arguments, delegates to the crates, and prints.

mod audit;
mod delete;
mod export;
mod format;
pub mod key;
mod log;
mod passphrase;
mod record;
pub use record::worker_config;
mod repair;
mod stats;
mod status;
mod uploads;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use glasshouse_core::paths::Paths;

use crate::error::AppError;

/// Glasshouse records your own keyboard and mouse input on this machine, shows you what was
/// captured, and lets you pause and delete it. Nothing leaves the machine.
#[derive(Debug, Parser)]
#[command(name = "glasshouse", version, about, long_about = None)]
pub struct Cli {
    /// Keep the database and settings in DIR instead of the XDG directories
    /// (also: GLASSHOUSE_DATA_DIR).
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,

    /// Read the passphrase of the encrypted data from the first line of FILE, for the commands
    /// that open it themselves (also: GLASSHOUSE_PASSPHRASE_FILE). Without it the key comes from
    /// the desktop keyring, or the tray app asks.
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,

    /// With no command: open the dashboard as soon as the tray app starts.
    #[arg(long)]
    show: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Record input headless (no window) until Ctrl-C or SIGTERM.
    Record {
        /// Stop after this long, e.g. 30s, 15m, 2h.
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
    },
    /// Show whether recording is on, where the data is, and today's counts.
    Status {
        /// Print the status as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Pause the running recorder: nothing of your input is stored while paused.
    Pause {
        /// Resume by itself after this long, e.g. 15m or 1h (default: until `glasshouse resume`).
        #[arg(long = "for", value_name = "DURATION")]
        duration: Option<String>,
    },
    /// Resume recording after a pause.
    Resume,
    /// Print the stored events exactly as stored, one per line.
    Export(export::ExportArgs),
    /// Delete stored events for good (from the database file and its WAL).
    Delete(delete::DeleteArgs),
    /// Per-app and per-hour totals for a day.
    Stats(stats::StatsArgs),
    /// The activity log: every pause, resume, deletion and settings change, newest first.
    Log(log::LogArgs),
    /// Check the activity log's hash chain: `glasshouse audit verify`.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Salvage what can be read of a damaged database into a new file; the damaged one is kept.
    Repair(repair::RepairArgs),
    /// Change the passphrase the data is encrypted with: `glasshouse passphrase change`.
    #[command(subcommand)]
    Passphrase(passphrase::PassphraseCommand),
    /// Enroll this device with your team's collector (sends only the token).
    Enroll(uploads::EnrollArgs),
    /// Take part in uploads (yes) or stop (no). The collector learns only this yes or no.
    Participate(uploads::ParticipateArgs),
    /// Review upload batches: list, show the exact bytes, approve, reject, withdraw.
    #[command(subcommand)]
    Uploads(uploads::UploadsCommand),
    /// Open the dashboard window of the running recorder (the tray app runs this for you).
    ///
    /// The dashboard is a process of its own that ends when its window closes. The tray app starts
    /// it when you open its dashboard; run it yourself to see a `glasshouse record`.
    Dashboard {
        /// Open this view: today, feed, privacy, delete, uploads or log.
        #[arg(long, value_name = "VIEW", value_parser = glasshouse_recorder::protocol::VIEWS)]
        view: Option<String>,
        /// Read the database key from standard input (the tray app passes it this way).
        #[arg(long, hide = true)]
        key_from_stdin: bool,
    },
    /// The passphrase window (started by the tray app when there is no keyring).
    #[command(hide = true)]
    UnlockPrompt {
        /// No key yet: ask for a new passphrase, typed twice.
        #[arg(long)]
        first_run: bool,
        /// Why the last passphrase was refused.
        #[arg(long)]
        error: Option<String>,
    },
    /// The capture process (started by the recorder itself).
    #[command(hide = true)]
    CaptureWorker,
}

/// Parses the command line, runs it, prints errors as one line, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    if matches!(cli.command, Some(Command::CaptureWorker)) {
        let code = glasshouse_capture::worker::run();
        return ExitCode::from(u8::try_from(code).unwrap_or(1));
    }
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glasshouse: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter =
        EnvFilter::try_from_env("GLASSHOUSE_LOG").unwrap_or_else(|_| EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

fn run(cli: Cli) -> Result<(), AppError> {
    let paths = Paths::resolve(cli.data_dir.as_deref())?;
    let keys = key::KeySource::new(cli.passphrase_file.as_deref());
    match cli.command {
        None => crate::app::run(&paths, &keys, cli.show),
        Some(Command::Record { duration }) => record::run(&paths, &keys, duration.as_deref()),
        Some(Command::Status { json }) => status::run(&paths, &keys, json),
        Some(Command::Pause { duration }) => status::pause(&paths, duration.as_deref()),
        Some(Command::Resume) => status::resume(&paths),
        Some(Command::Export(args)) => export::run(&paths, &keys, &args),
        Some(Command::Delete(args)) => delete::run(&paths, &keys, &args),
        Some(Command::Stats(args)) => stats::run(&paths, &keys, &args),
        Some(Command::Log(args)) => log::run(&paths, &keys, &args),
        Some(Command::Audit(cmd)) => audit::run(&paths, &keys, &cmd),
        Some(Command::Repair(args)) => repair::run(&paths, &keys, &args),
        Some(Command::Passphrase(cmd)) => passphrase::run(&paths, &keys, &cmd),
        Some(Command::Enroll(args)) => uploads::enroll(&paths, &keys, &args),
        Some(Command::Participate(args)) => uploads::participate(&paths, &keys, &args),
        Some(Command::Uploads(cmd)) => uploads::run(&paths, &keys, &cmd),
        Some(Command::Dashboard {
            view,
            key_from_stdin,
        }) => crate::app::remote::run(&paths, &keys, view.as_deref(), key_from_stdin),
        Some(Command::UnlockPrompt { first_run, error }) => {
            crate::app::unlock::run_prompt(&paths, first_run, error)
        }
        Some(Command::CaptureWorker) => unreachable!("handled before logging starts"),
    }
}
