//! `glasshouse enroll`, `participate` and `uploads ...`: joining a team's collector, the choice
//! to take part, and reviewing batches before anything is sent.
//!
//! Reading (list, show) works from the store directly. Decisions go to the running recorder
//! (which also runs the uploader) through the control socket; with none running they are made in
//! the store directly, and the uploader sends approved batches when the app next runs.

use std::io::Write;

use glasshouse_core::paths::Paths;
use glasshouse_core::time::{format_local_span, format_rfc3339};
use glasshouse_recorder::instance::InstanceLock;
use glasshouse_recorder::{RecorderError, Request, Response, control};
use glasshouse_store::{BatchState, Store};
use glasshouse_uploads::{BatchSummary, Done, Review, Uploads, UploadsOp};

use super::format::{bytes, thousands};
use super::key::KeySource;
use crate::error::AppError;

#[derive(Debug, clap::Args)]
pub struct EnrollArgs {
    /// The collector's address, e.g. https://collector.example.com.
    #[arg(long, value_name = "URL")]
    collector: String,
    /// The enrollment token your team was given.
    #[arg(long, value_name = "TOKEN")]
    token: String,
}

#[derive(Debug, clap::Args)]
pub struct ParticipateArgs {
    /// `yes` to take part (batches are offered for your review), `no` to stop.
    #[arg(value_parser = ["yes", "no"])]
    choice: String,
}

#[derive(Debug, clap::Subcommand)]
pub enum UploadsCommand {
    /// Every batch: window, state, events, size, what was scrubbed, apps.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One batch: its summary and the readable document of the exact bytes.
    Show {
        id: i64,
        /// Write the exact bytes that would be (or were approved to be) sent to stdout.
        #[arg(long, conflicts_with = "json")]
        raw: bool,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Approve batches for upload, exactly as they are now.
    Approve {
        /// Batch ids.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<i64>,
        /// Approve every batch waiting for review.
        #[arg(long)]
        all: bool,
        /// Approve only if the batch's bytes still have this SHA-256 (as shown by `show`).
        #[arg(long, value_name = "HEX", conflicts_with = "all")]
        sha256: Option<String>,
    },
    /// Reject batches: they are never sent.
    Reject {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Ask the collector to delete uploaded batches (it answers with a deletion receipt).
    Withdraw {
        #[arg(required = true)]
        ids: Vec<i64>,
    },
    /// Leave an app's events out of a batch waiting for review (or put them back with --undo).
    DropApp {
        id: i64,
        app: String,
        #[arg(long)]
        undo: bool,
    },
    /// Seal everything recorded since the last batch into batches now, for review.
    Seal,
}

pub fn enroll(paths: &Paths, keys: &KeySource, args: &EnrollArgs) -> Result<(), AppError> {
    let done = decide(
        paths,
        keys,
        UploadsOp::Enroll {
            collector: args.collector.clone(),
            token: args.token.clone(),
        },
    )?;
    println!("{}", done.message);
    println!(
        "Taking part sends the collector only this device's yes or no. To take part: glasshouse participate yes"
    );
    Ok(())
}

pub fn participate(
    paths: &Paths,
    keys: &KeySource,
    args: &ParticipateArgs,
) -> Result<(), AppError> {
    let done = decide(
        paths,
        keys,
        UploadsOp::Participate {
            participating: args.choice == "yes",
        },
    )?;
    println!("{}", done.message);
    Ok(())
}

pub fn run(paths: &Paths, keys: &KeySource, cmd: &UploadsCommand) -> Result<(), AppError> {
    match cmd {
        UploadsCommand::List { json } => list(paths, keys, *json),
        UploadsCommand::Show { id, raw, json } => show(paths, keys, *id, *raw, *json),
        UploadsCommand::Approve { ids, all, sha256 } => {
            if *all {
                return say(decide(paths, keys, UploadsOp::ApproveAll)?);
            }
            if sha256.is_some() && ids.len() != 1 {
                return Err(AppError::Usage(
                    "--sha256 pins one batch: give exactly one id with it".into(),
                ));
            }
            for id in ids {
                let op = UploadsOp::Approve {
                    id: *id,
                    sha256: sha256.clone(),
                };
                say(decide(paths, keys, op)?)?;
            }
            Ok(())
        }
        UploadsCommand::Reject { ids } => {
            for id in ids {
                say(decide(paths, keys, UploadsOp::Reject { id: *id })?)?;
            }
            Ok(())
        }
        UploadsCommand::Withdraw { ids } => {
            for id in ids {
                say(decide(paths, keys, UploadsOp::Withdraw { id: *id })?)?;
            }
            Ok(())
        }
        UploadsCommand::DropApp { id, app, undo } => say(decide(
            paths,
            keys,
            UploadsOp::DropApp {
                id: *id,
                app: app.clone(),
                dropped: !undo,
            },
        )?),
        UploadsCommand::Seal => say(decide(paths, keys, UploadsOp::Seal)?),
    }
}

fn say(done: Done) -> Result<(), AppError> {
    println!("{}", done.message);
    Ok(())
}

/// Makes a decision through the running recorder, or in the store when none runs.
pub fn decide(paths: &Paths, keys: &KeySource, op: UploadsOp) -> Result<Done, AppError> {
    match control::request(paths, &Request::Uploads { op: op.clone() }) {
        Ok(Response::Uploads(done)) => Ok(done),
        Ok(other) => Err(RecorderError::Protocol(format!("unexpected answer {other:?}")).into()),
        Err(RecorderError::NotRunning { .. }) => {
            let _lock = InstanceLock::acquire(paths)?;
            let store = Store::open(&paths.database(), &keys.key(paths)?)?;
            let done = Uploads::new(paths, store.clone(), None).apply(op);
            store.close()?;
            Ok(done?)
        }
        Err(e) => Err(e.into()),
    }
}

fn list(paths: &Paths, keys: &KeySource, json: bool) -> Result<(), AppError> {
    let o = review(paths, keys)?.overview()?;
    if json {
        return print_json(&o);
    }
    match &o.enrollment {
        None => println!(
            "Not enrolled with a collector: nothing is offered or sent. (glasshouse enroll --collector URL --token TOKEN)"
        ),
        Some(e) => println!(
            "Enrolled in team \"{}\" at {} as {}; {}.",
            e.team,
            e.collector,
            e.device_id,
            if o.participating {
                "taking part: batches are offered for your review"
            } else {
                "not taking part: nothing is offered or sent"
            }
        ),
    }
    if o.batches.is_empty() {
        println!("No batches yet.");
        return Ok(());
    }
    println!(
        "{} waiting for review. Batches, newest first:",
        match o.pending {
            1 => "1 batch is".to_owned(),
            n => format!("{n} batches are"),
        }
    );
    let mut out = format!(
        "{:>5}  {:<30}  {:<11}  {:>8}  {:>9}  {:<22}  {}\n",
        "ID", "WINDOW", "STATE", "EVENTS", "SIZE", "SCRUBBED", "APPS"
    );
    for b in &o.batches {
        out.push_str(&format!(
            "{:>5}  {:<30}  {:<11}  {:>8}  {:>9}  {:<22}  {}\n",
            b.id,
            window(b),
            state(b),
            thousands(b.events),
            b.bytes.map_or_else(|| "-".to_owned(), bytes),
            scrubbed(b),
            apps(b)
        ));
    }
    print!("{out}");
    Ok(())
}

fn show(paths: &Paths, keys: &KeySource, id: i64, raw: bool, json: bool) -> Result<(), AppError> {
    let review = review(paths, keys)?;
    if raw {
        let bytes = review.raw(id)?.ok_or_else(|| {
            AppError::Usage(format!(
                "batch {id} has no bytes on this device any more (it was sent, rejected or withdrawn)"
            ))
        })?;
        let mut out = std::io::stdout().lock();
        out.write_all(&bytes).map_err(AppError::Output)?;
        return out.flush().map_err(AppError::Output);
    }
    let v = review.show(id)?;
    if json {
        return print_json(&v);
    }
    let b = &v.summary;
    println!("Batch {}: {}, {}", b.id, window(b), state(b));
    println!(
        "  {} events; apps: {}",
        thousands(b.events),
        if b.apps.is_empty() {
            "none".into()
        } else {
            apps(b)
        }
    );
    if !b.dropped_apps.is_empty() {
        println!("  left out by you: {}", b.dropped_apps.join(", "));
    }
    println!("  scrubbed: {}", scrubbed(b));
    if let (Some(size), Some(sha)) = (b.bytes, &b.sha256) {
        println!("  exact bytes: {} (SHA-256 {sha})", bytes(size));
    }
    if let Some(r) = &b.receipt {
        println!("  upload receipt: {r}");
    }
    if let Some(w) = &b.withdrawal {
        println!("  withdrawal receipt: {w}");
    }
    if let Some(e) = &b.last_error {
        println!(
            "  last attempt failed: {e}{}",
            b.next_attempt.map_or_else(String::new, |t| format!(
                " (next try {})",
                format_rfc3339(t)
            ))
        );
    }
    match &v.readable {
        Some(doc) => {
            println!(
                "\nThe document those bytes hold (zstd-compressed JSON; `glasshouse uploads show {id} --raw` writes the bytes):\n"
            );
            println!("{doc}");
        }
        None => println!("\nThis device keeps no copy of its bytes any more."),
    }
    Ok(())
}

fn window(b: &BatchSummary) -> String {
    format_local_span(b.window_start, b.window_end)
}

fn state(b: &BatchSummary) -> String {
    match b.state {
        BatchState::Uploaded if b.withdraw_requested => "withdrawing".into(),
        BatchState::Approved if b.attempts > 0 => "retrying".into(),
        s => s.name().into(),
    }
}

fn scrubbed(b: &BatchSummary) -> String {
    if b.scrubbed.is_empty() {
        return "nothing".into();
    }
    b.scrubbed
        .iter()
        .map(|(k, n)| format!("{n} {}", k.replace('_', " ")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn apps(b: &BatchSummary) -> String {
    b.apps.join(", ")
}

fn print_json<T: serde::Serialize>(v: &T) -> Result<(), AppError> {
    let text = serde_json::to_string_pretty(v).map_err(|e| AppError::Usage(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// The review of `paths`' batches, reading the store with its key (none needed before anything
/// was recorded).
fn review(paths: &Paths, keys: &KeySource) -> Result<Review, AppError> {
    let key = if paths.database().exists() {
        keys.existing_key(paths)?
    } else {
        // Nothing to read: the review only looks at the enrollment; the key is never used.
        glasshouse_store::DbKey::from_bytes([0; 32])
    };
    Ok(Review::new(paths, key))
}
