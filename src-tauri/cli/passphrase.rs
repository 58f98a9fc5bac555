//! `glasshouse passphrase change`: re-encrypts the data with a key from a new passphrase. The
//! old passphrase stops opening anything in the data folder (`glasshouse-vault`'s `change`
//! module says how, crash-safely). Refuses while a recorder uses the data directory.

use std::path::PathBuf;

use glasshouse_core::paths::Paths;
use glasshouse_recorder::RecorderError;
use glasshouse_recorder::instance::InstanceLock;
use glasshouse_store::{ActivityKind, Store};
use glasshouse_vault::Passphrase;

use super::key::{KeySource, unlock_with};
use crate::error::AppError;

#[derive(Debug, clap::Subcommand)]
pub enum PassphraseCommand {
    /// Choose a new passphrase: the current one comes from --passphrase-file (or
    /// GLASSHOUSE_PASSPHRASE_FILE), the new one from --new-passphrase-file.
    Change {
        /// Read the new passphrase (at least 8 characters) from the first line of FILE.
        #[arg(long, value_name = "FILE")]
        new_passphrase_file: PathBuf,
    },
}

pub fn run(paths: &Paths, keys: &KeySource, cmd: &PassphraseCommand) -> Result<(), AppError> {
    match cmd {
        PassphraseCommand::Change {
            new_passphrase_file,
        } => change(paths, keys, new_passphrase_file),
    }
}

fn change(paths: &Paths, keys: &KeySource, new_file: &std::path::Path) -> Result<(), AppError> {
    // Held until the change is done: no recorder may open the database meanwhile.
    let _lock = match InstanceLock::acquire(paths) {
        Ok(lock) => lock,
        Err(RecorderError::AlreadyRunning { pid, .. }) => {
            return Err(AppError::Usage(format!(
                "Glasshouse is recording into this database (pid {pid}): quit the tray app or stop `glasshouse record` first, then change the passphrase; nothing was changed"
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let old = keys.passphrase()?.ok_or_else(|| {
        AppError::Usage(
            "give the current passphrase with --passphrase-file FILE (or GLASSHOUSE_PASSPHRASE_FILE); nothing was changed"
                .into(),
        )
    })?;
    let new = Passphrase::from_file(new_file)?;
    let db = paths.database();
    glasshouse_vault::change_passphrase(&paths.data_dir, &db, &old, &new)?;
    if db.exists() {
        let key = unlock_with(paths, Some(&new))?.key;
        let store = Store::open(&db, &key)?;
        store.log(
            ActivityKind::Settings,
            "passphrase changed: the data was encrypted again with a key from the new passphrase",
        )?;
        store.close()?;
    }
    println!(
        "Passphrase changed. Your data in {} is now encrypted with a key from the new passphrase; the old one no longer opens it, and what it encrypted was overwritten.",
        paths.data_dir.display()
    );
    println!(
        "Keep the new passphrase safe: without it the data cannot be read. The tray app asks for it at its next start."
    );
    Ok(())
}
