//! `glasshouse-collector`: the server (`serve`) and the admin commands, which work directly on the
//! data directory (safe while `serve` runs: SQLite in WAL mode with a busy timeout).

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

use glasshouse_collector::api::MIN_GROUP;
use glasshouse_collector::{AppState, Collector, CollectorError, Config, Failpoint};

/// The Glasshouse collector: receives the batches employees approved, and shows managers
/// opt-in rates of groups of at least k people.
#[derive(Debug, Parser)]
#[command(name = "glasshouse-collector", version, about, long_about = None)]
struct Cli {
    /// The data directory: collector.db, batches/ and requests.jsonl.
    #[arg(long, global = true, value_name = "DIR")]
    data: Option<PathBuf>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the HTTP API and the manager page until Ctrl-C or SIGTERM.
    Serve {
        /// The address to listen on (port 0: any free port; the URL is logged).
        #[arg(long, default_value = "127.0.0.1:8750", value_name = "ADDR")]
        listen: SocketAddr,
        /// k: the smallest group whose figures managers see (5 or more).
        #[arg(long, default_value_t = MIN_GROUP, value_parser = clap::value_parser!(u32).range(i64::from(MIN_GROUP)..=1000))]
        min_group: u32,
        /// Requests per second allowed per client address (0: no limit).
        #[arg(long, default_value_t = 50.0, value_name = "N")]
        rate_per_sec: f64,
        /// Requests a client address may make at once before the rate applies.
        #[arg(long, default_value_t = 500.0, value_name = "N")]
        rate_burst: f64,
    },
    /// Add or list teams.
    Team {
        #[command(subcommand)]
        command: TeamCommand,
    },
    /// Create tokens (printed on standard output, stored only as hashes).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Print every stored batch as one JSON line: sha256, team, device, received_at, document.
    Export {
        /// Only batches received at or after this time (RFC 3339, e.g. 2026-11-30T00:00:00Z).
        #[arg(long, value_name = "TIME")]
        since: Option<String>,
        /// Only this team's batches.
        #[arg(long, value_name = "NAME")]
        team: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
enum TeamCommand {
    /// Add a team.
    Add { name: String },
    /// List teams with their numbers of enrolled and participating devices.
    List,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// A token that enrolls devices into a team.
    Enroll {
        #[arg(long, value_name = "NAME")]
        team: String,
        /// How many devices it may enroll.
        #[arg(long, default_value_t = 1, value_name = "N")]
        uses: u32,
    },
    /// A token for the manager page and the aggregates API.
    Manager {
        /// A note on whom it was given to.
        #[arg(long, default_value = "", value_name = "LABEL")]
        label: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("glasshouse-collector: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("GLASSHOUSE_COLLECTOR_LOG")
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}

fn run(cli: Cli) -> Result<(), CollectorError> {
    let data = cli
        .data
        .ok_or_else(|| CollectorError::Usage("--data DIR is required".into()))?;
    match cli.command {
        Command::Serve {
            listen,
            min_group,
            rate_per_sec,
            rate_burst,
        } => {
            let config = Config {
                min_group,
                rate_per_sec,
                rate_burst,
                ..Config::default()
            };
            serve(&data, listen, config)
        }
        Command::Team { command } => {
            let collector = Collector::open(&data)?;
            match command {
                TeamCommand::Add { name } => {
                    collector.add_team(&name)?;
                    eprintln!("added team \"{name}\"");
                }
                TeamCommand::List => {
                    let mut out = String::new();
                    for t in collector.teams()? {
                        out.push_str(&format!(
                            "{}\t{} enrolled\t{} participating\n",
                            t.name, t.devices, t.participating
                        ));
                    }
                    print(&out)?;
                }
            }
            Ok(())
        }
        Command::Token { command } => {
            let collector = Collector::open(&data)?;
            let token = match command {
                TokenCommand::Enroll { team, uses } => {
                    collector.new_enrollment_token(&team, uses)?
                }
                TokenCommand::Manager { label } => collector.new_manager_token(&label)?,
            };
            print(&format!("{token}\n"))
        }
        Command::Export { since, team } => {
            let since = since
                .map(|s| {
                    chrono::DateTime::parse_from_rfc3339(&s)
                        .map(|t| t.timestamp_micros())
                        .map_err(|_| {
                            CollectorError::Usage(format!(
                                "--since takes an RFC 3339 time such as 2026-11-30T00:00:00Z, not \"{s}\""
                            ))
                        })
                })
                .transpose()?;
            let collector = Collector::open(&data)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            collector.export(since, team.as_deref(), &mut out)?;
            Ok(())
        }
    }
}

fn print(text: &str) -> Result<(), CollectorError> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| CollectorError::Io {
            path: PathBuf::from("standard output"),
            source: e,
        })
}

fn serve(data: &Path, listen: SocketAddr, config: Config) -> Result<(), CollectorError> {
    let mut collector = Collector::open(data)?;
    // One server per data directory: the sweep below must not race another server's uploads.
    let lock_path = data.join("serve.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| CollectorError::Io {
            path: lock_path.clone(),
            source: e,
        })?;
    if lock.try_lock().is_err() {
        return Err(CollectorError::Usage(format!(
            "another glasshouse-collector is already serving {}",
            data.display()
        )));
    }
    if let Ok(fp) = std::env::var("GLASSHOUSE_COLLECTOR_FAILPOINT") {
        collector.set_failpoint(Some(fp.parse::<Failpoint>()?));
    }
    let swept = collector.sweep()?;
    if swept.temp_files + swept.orphan_files > 0 {
        tracing::info!(
            "removed {} unfinished upload file(s) and {} batch file(s) without a record",
            swept.temp_files,
            swept.orphan_files
        );
    }
    let k = config.min_group;
    let state = AppState::new(collector, config)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CollectorError::Internal(format!("cannot start the runtime: {e}")))?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(listen)
                .await
                .map_err(|e| CollectorError::Io {
                    path: PathBuf::from(listen.to_string()),
                    source: e,
                })?;
        let local = listener
            .local_addr()
            .map_err(|e| CollectorError::Internal(e.to_string()))?;
        tracing::info!(
            "listening on http://{local} (data {}, k = {k}; managers: http://{local}/manager)",
            data.display()
        );
        glasshouse_collector::serve(listener, state, shutdown_signal())
            .await
            .map_err(|e| CollectorError::Internal(format!("the server stopped: {e}")))
    })?;
    // Requests in flight were answered; blocking tasks finish within the runtime's drop.
    runtime.shutdown_timeout(Duration::from_secs(10));
    drop(lock);
    tracing::info!("stopped");
    Ok(())
}

/// Completes on Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!("cannot watch for SIGTERM: {e}");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tracing::info!("shutting down: finishing requests in flight");
}
