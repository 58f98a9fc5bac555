//! The store's key for one run of the program: from `--passphrase-file` (or
//! `GLASSHOUSE_PASSPHRASE_FILE`), else from the desktop keyring (`glasshouse-vault`). Looked up
//! only by the commands that open the database themselves; commands that ask a running recorder
//! need no key.

use std::path::{Path, PathBuf};

use glasshouse_core::paths::Paths;
use glasshouse_store::DbKey;
use glasshouse_vault::{Passphrase, Unlocked, VaultError};

use crate::error::AppError;

/// Where this run may get the passphrase from.
#[derive(Debug, Clone, Default)]
pub struct KeySource {
    passphrase_file: Option<PathBuf>,
}

impl KeySource {
    /// `--passphrase-file`, else `GLASSHOUSE_PASSPHRASE_FILE`.
    pub fn new(flag: Option<&Path>) -> KeySource {
        let passphrase_file = flag.map(Path::to_owned).or_else(|| {
            std::env::var_os("GLASSHOUSE_PASSPHRASE_FILE")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        KeySource { passphrase_file }
    }

    /// The passphrase given to this run, if any.
    pub fn passphrase(&self) -> Result<Option<Passphrase>, AppError> {
        self.passphrase_file
            .as_deref()
            .map(Passphrase::from_file)
            .transpose()
            .map_err(AppError::from)
    }

    /// The key of `paths`' database (choosing one on the first run).
    pub fn unlock(&self, paths: &Paths) -> Result<Unlocked, AppError> {
        unlock_with(paths, self.passphrase()?.as_ref())
    }

    /// The key of `paths`' database, choosing one if it has none: for the commands that record.
    pub fn key(&self, paths: &Paths) -> Result<DbKey, AppError> {
        Ok(self.unlock(paths)?.key)
    }

    /// The key of `paths`' existing database, for commands that only read: never chooses one.
    pub fn existing_key(&self, paths: &Paths) -> Result<DbKey, AppError> {
        let db = paths.database();
        if glasshouse_vault::state(&paths.data_dir, &db)? == glasshouse_vault::KeyState::New {
            use glasshouse_store::StoreError;
            return Err(if !db.exists() {
                StoreError::Missing { path: db }.into()
            } else if glasshouse_store::holds_encrypted_database(&db)? {
                StoreError::Foreign {
                    path: db,
                    reason: "it is not an SQLite database, and there is no key.json for an encrypted one"
                        .into(),
                }
                .into()
            } else {
                // An unencrypted database of an earlier version: the writer encrypts it.
                StoreError::NotEncrypted { path: db }.into()
            });
        }
        self.key(paths)
    }
}

/// The key of `paths`' database with `passphrase` (or the keyring).
pub fn unlock_with(paths: &Paths, passphrase: Option<&Passphrase>) -> Result<Unlocked, AppError> {
    let keyring = glasshouse_vault::system_keyring();
    glasshouse_vault::unlock(
        &paths.data_dir,
        &paths.database(),
        passphrase,
        keyring.as_ref(),
    )
    .map_err(AppError::from)
}

/// Whether `e` only means that the key is not at hand (no passphrase given, no keyring): the
/// data is fine, this run just cannot read it.
pub fn is_locked(e: &AppError) -> bool {
    needs_passphrase(e) || matches!(e, AppError::Vault(VaultError::KeyringUnavailable { .. }))
}

/// Whether `e` only means that a passphrase is needed (so the tray app asks for one).
pub fn needs_passphrase(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Vault(VaultError::NeedPassphrase { .. } | VaultError::NoKeyring { .. })
    )
}
