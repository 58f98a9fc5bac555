//! `glasshouse log`: the activity log (pauses, resumes, deletions, settings changes, capture
//! problems), newest first. It holds what the app did on your behalf, never your input.

use chrono::{DateTime, Local};

use glasshouse_core::paths::Paths;
use glasshouse_store::Reader;

use super::key::KeySource;
use crate::error::AppError;

#[derive(Debug, clap::Args)]
pub struct LogArgs {
    /// How many entries to show.
    #[arg(long, short = 'n', default_value_t = 50)]
    limit: usize,
    /// Print JSON Lines instead of text.
    #[arg(long)]
    json: bool,
}

pub fn run(paths: &Paths, keys: &KeySource, args: &LogArgs) -> Result<(), AppError> {
    let db = paths.database();
    if !db.exists() {
        println!("The activity log is empty: nothing has been recorded yet.");
        return Ok(());
    }
    let entries = Reader::open(&db, &keys.existing_key(paths)?)?.activity(args.limit)?;
    if entries.is_empty() && !args.json {
        println!("The activity log is empty.");
    }
    for e in entries {
        if args.json {
            println!(
                "{}",
                serde_json::to_string(&e).map_err(|e| AppError::Usage(e.to_string()))?
            );
        } else {
            let when = DateTime::from_timestamp_micros(e.ts)
                .map(|t| {
                    t.with_timezone(&Local)
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_default();
            println!("{when}  {:<9}  {}", e.kind.name(), e.detail);
        }
    }
    Ok(())
}
