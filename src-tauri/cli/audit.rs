//! `glasshouse audit verify`: checks that the activity log is still what Glasshouse wrote. Each
//! entry is chained to the one before it by a SHA-256 hash and the newest one is also recorded
//! next to the database (see `glasshouse_store::audit`), so an edited, removed, reordered or
//! cut-off entry is found and named. Exit status 0 when the log is intact, 1 when it is not (one
//! line per problem), and the usual codes when the database cannot be read.

use std::io::Write;

use glasshouse_core::paths::Paths;
use glasshouse_store::Reader;
use glasshouse_store::audit::head_file;

use super::key::KeySource;
use crate::error::AppError;

/// What `glasshouse audit` can do.
#[derive(Debug, clap::Subcommand)]
pub enum AuditCommand {
    /// Check that no entry of the activity log was edited, removed or reordered: exit status 0
    /// when it is intact, 1 with one line per problem when it is not.
    Verify,
}

pub fn run(paths: &Paths, keys: &KeySource, cmd: &AuditCommand) -> Result<(), AppError> {
    match cmd {
        AuditCommand::Verify => verify(paths, keys),
    }
}

fn verify(paths: &Paths, keys: &KeySource) -> Result<(), AppError> {
    let db = paths.database();
    // A head file without its database means the database went; the reader says so below.
    if !db.exists() && !head_file(&db).exists() {
        println!("The activity log is empty: nothing has been recorded yet.");
        return Ok(());
    }
    let report = Reader::open(&db, &keys.existing_key(paths)?)?.verify_audit()?;
    let mut out = std::io::stdout().lock();
    let entries = match report.entries {
        1 => "1 entry".to_owned(),
        n => format!("{n} entries"),
    };
    let print = |out: &mut std::io::StdoutLock<'_>, line: String| {
        writeln!(out, "{line}").map_err(AppError::Output)
    };
    if !report.is_intact() {
        let problems = match report.problems.len() {
            1 => "1 problem".to_owned(),
            n => format!("{n} problems"),
        };
        print(
            &mut out,
            format!("The activity log was tampered with: {problems} in {entries}."),
        )?;
        for p in &report.problems {
            print(&mut out, capitalised(&p.to_string()))?;
        }
        out.flush().map_err(AppError::Output)?;
        // The answer to the question asked, with its own status (1) and a one-line reason.
        return Err(AppError::Tampered(format!(
            "the activity log failed verification ({problems})"
        )));
    }
    let Some(newest) = report.newest else {
        return print(
            &mut out,
            "The activity log is intact: it is empty.".to_owned(),
        );
    };
    print(
        &mut out,
        format!(
            "The activity log is intact: {entries} checked, none edited, removed or reordered."
        ),
    )?;
    if let Some(anchor) = report.anchor {
        print(
            &mut out,
            format!(
                "Entries up to #{} were pruned; the chain continues from the last of them.",
                anchor.seq
            ),
        )?;
    }
    if report.unrecorded() > 0 {
        print(
            &mut out,
            format!(
                "The newest {} were written after {} was last updated (a crash, or a change \
                 being saved right now): the chain checks them, the head file cannot.",
                match report.unrecorded() {
                    1 => "entry".to_owned(),
                    n => format!("{n} entries"),
                },
                report.head_file.display()
            ),
        )?;
    }
    print(
        &mut out,
        format!("Newest entry: #{}, hash {}", newest.seq, newest.hash_hex()),
    )?;
    print(
        &mut out,
        "Anyone who can write the database and the head file next to it can rewrite the whole \
         log; note this hash somewhere else to be able to show later that it was not."
            .to_owned(),
    )
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}
