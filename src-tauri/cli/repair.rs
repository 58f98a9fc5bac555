//! `glasshouse repair`: salvages what can still be read of a damaged database into a new file
//! that takes its place, keeps the damaged one next to it under a timestamped name, and says
//! what was saved and what was lost. Refuses while a recorder uses the data directory.

use glasshouse_core::model::now_micros;
use glasshouse_core::paths::Paths;
use glasshouse_recorder::RecorderError;
use glasshouse_recorder::instance::InstanceLock;
use glasshouse_store::repair;

use super::key::KeySource;
use crate::error::AppError;

#[derive(Debug, clap::Args)]
pub struct RepairArgs {
    /// Repair even when the database passes its checks (rebuilds it from what it holds).
    #[arg(long)]
    force: bool,
}

pub fn run(paths: &Paths, keys: &KeySource, args: &RepairArgs) -> Result<(), AppError> {
    let db = paths.database();
    if !db.exists() {
        println!("There is no database at {} to repair.", db.display());
        return Ok(());
    }
    // Held until the repair is done: no recorder may start on the file meanwhile.
    let _lock = match InstanceLock::acquire(paths) {
        Ok(lock) => lock,
        Err(RecorderError::AlreadyRunning { pid, .. }) => {
            return Err(AppError::Usage(format!(
                "Glasshouse is recording into this database (pid {pid}): quit the tray app or stop `glasshouse record` first, then repair; nothing was changed"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let key = keys.existing_key(paths)?;
    if !args.force {
        // A sound database is left alone; `check` fails on a file it cannot read at all, in
        // which case the repair below says what it can do.
        if let Ok(report) = repair::check(&db, &key)
            && report.is_ok()
        {
            println!(
                "{} passed its checks (SQLite's integrity check, and every count equals the events): nothing to repair. `glasshouse repair --force` rebuilds it anyway.",
                db.display()
            );
            return Ok(());
        }
    }
    let report = repair::repair(&db, &key, now_micros())?;
    println!("Repaired {}.", db.display());
    println!(
        "  saved          {} events; every count was rebuilt from them",
        report.events_saved
    );
    for t in &report.tables {
        let mut line = format!("  {:<14} {} rows saved", t.table, t.saved);
        if t.lost_rows > 0 {
            line.push_str(&format!(", {} unreadable rows skipped", t.lost_rows));
        }
        if !t.lost_ranges.is_empty() {
            line.push_str(&format!(
                ", {} damaged stretches skipped (how many rows they held is unknown)",
                t.lost_ranges.len()
            ));
        }
        if let Some(why) = &t.unreadable {
            line.push_str(&format!(", could not be read at all ({why})"));
        }
        println!("{line}");
    }
    if report.placeholders > 0 {
        println!(
            "  placeholders   saved events whose window or application was lost are shown under \"{}\"",
            repair::RECOVERED_APP
        );
    }
    let spans = repair::describe_spans(&report.lost_spans);
    if spans.is_empty() && report.lossless() {
        println!("  lost           nothing");
    } else if spans.is_empty() {
        println!("  lost           no input; only the rows listed above");
    } else {
        println!("  lost input     {}", spans.join("; "));
    }
    println!("  new file       passes SQLite's integrity check and the count check");
    println!(
        "  damaged file   kept unchanged as {} (delete it yourself once you no longer need it)",
        report.original.display()
    );
    Ok(())
}
