//! `glasshouse delete`: removes events for good, through the running recorder when there is one
//! (so nothing it still holds in memory survives), or directly in the store otherwise.

use std::io::{BufRead, IsTerminal, Write};

use glasshouse_core::model::now_micros;
use glasshouse_core::paths::Paths;
use glasshouse_core::time::{format_local_short, parse_duration, parse_time};
use glasshouse_recorder::instance::InstanceLock;
use glasshouse_recorder::protocol::DeleteWhat;
use glasshouse_recorder::{RecorderError, Request, Response, control};
use glasshouse_store::{DeleteReport, Store};

use super::format::thousands;
use super::key::KeySource;
use crate::error::AppError;

#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["since", "last", "app", "all"])))]
pub struct DeleteArgs {
    /// Delete events from this time (with --until; RFC 3339 or a date).
    #[arg(long, value_name = "TIME")]
    since: Option<String>,
    /// Delete events before this time (default: now).
    #[arg(long, value_name = "TIME", requires = "since")]
    until: Option<String>,
    /// Delete the last DURATION of events, e.g. 15m or 1h.
    #[arg(long, value_name = "DURATION")]
    last: Option<String>,
    /// Delete every event of this app, with its window titles (case-insensitive).
    #[arg(long, value_name = "NAME")]
    app: Option<String>,
    /// Delete everything recorded.
    #[arg(long)]
    all: bool,
    /// Do not ask for confirmation.
    #[arg(long, short)]
    yes: bool,
}

fn selection(args: &DeleteArgs) -> Result<DeleteWhat, AppError> {
    let now = now_micros();
    if args.all {
        return Ok(DeleteWhat::All);
    }
    if let Some(app) = &args.app {
        return Ok(DeleteWhat::App { app: app.clone() });
    }
    if let Some(last) = &args.last {
        // Up to the moment of asking: what was captured by then but is still on its way is
        // dropped by the recorder as it arrives.
        return Ok(DeleteWhat::Range {
            since: now - parse_duration(last)?,
            until: now,
        });
    }
    let since = parse_time(args.since.as_deref().unwrap_or("now"))?;
    let until = args
        .until
        .as_deref()
        .map(parse_time)
        .transpose()?
        .unwrap_or(now + 1_000_000);
    if until <= since {
        return Err(AppError::Usage("--until must be later than --since".into()));
    }
    Ok(DeleteWhat::Range { since, until })
}

fn describe(what: &DeleteWhat) -> String {
    match what {
        DeleteWhat::All => "everything recorded".into(),
        DeleteWhat::App { app } => {
            format!("every event of the app \"{app}\", with its window titles")
        }
        DeleteWhat::Range { since, until } => format!(
            "every event from {} to {}",
            format_local_short(*since),
            format_local_short(*until)
        ),
    }
}

pub fn run(paths: &Paths, keys: &KeySource, args: &DeleteArgs) -> Result<(), AppError> {
    let what = selection(args)?;
    if !args.yes {
        confirm(&format!(
            "Delete {}? This cannot be undone.",
            describe(&what)
        ))?;
    }
    let report = match control::request(paths, &Request::Delete { what: what.clone() }) {
        Ok(Response::Deleted(report)) => report,
        Ok(other) => {
            return Err(RecorderError::Protocol(format!("unexpected answer {other:?}")).into());
        }
        Err(RecorderError::NotRunning { .. }) => delete_offline(paths, keys, what)?,
        Err(e) => return Err(e.into()),
    };
    let where_gone = if report.wal_cleared {
        "They are gone from the database file and its write-ahead log."
    } else {
        "They are gone from the database file; a program reading the database kept its \
         write-ahead log from being emptied, and it will be emptied as soon as that program is done."
    };
    println!(
        "Deleted {} events ({}). {where_gone}",
        thousands(report.events),
        describe_what_went(&report, args)
    );
    Ok(())
}

fn describe_what_went(report: &DeleteReport, args: &DeleteArgs) -> String {
    if args.all {
        return "everything".into();
    }
    if let Some(app) = &args.app {
        return format!("app \"{app}\"");
    }
    match (report.since, report.until) {
        (Some(s), Some(u)) => format!(
            "from {} to {}",
            format_local_short(s),
            format_local_short(u)
        ),
        _ => "the range you gave".into(),
    }
}

fn delete_offline(
    paths: &Paths,
    keys: &KeySource,
    what: DeleteWhat,
) -> Result<DeleteReport, AppError> {
    if !paths.database().exists() {
        return Ok(DeleteReport::default());
    }
    // The key first: a wrong passphrase leaves the data folder exactly as it was.
    let key = keys.existing_key(paths)?;
    // Hold the instance lock so no recorder starts writing while we delete.
    let _lock = InstanceLock::acquire(paths)?;
    let store = Store::open(&paths.database(), &key)?;
    let report = store.delete(what.into())?;
    store.close()?;
    Ok(report)
}

fn confirm(question: &str) -> Result<(), AppError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        return Err(AppError::Usage(format!(
            "{question} Add --yes to confirm (no terminal to ask on)."
        )));
    }
    print!("{question} [y/N] ");
    std::io::stdout().flush().map_err(AppError::Output)?;
    let mut answer = String::new();
    stdin
        .lock()
        .read_line(&mut answer)
        .map_err(AppError::Output)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        Ok(())
    } else {
        Err(AppError::Declined)
    }
}
