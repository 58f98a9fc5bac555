//! Where the key of the encrypted store comes from.
//!
//! The store ([`glasshouse_store`]) is an SQLCipher file opened with a 32-byte [`DbKey`]. That key
//! comes from one of two places, chosen once, when the data folder gets its first key:
//!
//! - **The desktop keyring** (the Secret Service: GNOME Keyring, KWallet...), where there is one:
//!   a random key, kept in the keyring under the data folder's path. Nothing to type; the key is
//!   as safe as the person's login keyring.
//! - **A passphrase** the person chooses, where there is no keyring or when they give one (the
//!   dashboard asks; `--passphrase-file` for the command line): the key is derived with Argon2id
//!   from the passphrase and a random salt.
//!
//! Either way the key itself is never written to disk. The data folder keeps only `key.json`,
//! which says which of the two it is, the Argon2id salt and cost, and a check value (a SHA-256 of
//! the key, not the key) so that a wrong passphrase is told apart from a damaged database before
//! the database is touched. There is no third way: without a keyring and without a passphrase,
//! nothing is recorded ([`VaultError::NoKeyring`]).

mod change;
mod error;
mod keyfile;
mod keyring_store;
mod passphrase;

use std::path::Path;

use glasshouse_store::DbKey;
use zeroize::Zeroizing;

pub use change::change_passphrase;
pub use error::VaultError;
pub use keyfile::{KEY_FILE, Source};
pub use keyring_store::{Keyring, KeyringError, NoKeyring, SecretService, system_keyring};
pub use passphrase::{MIN_PASSPHRASE_CHARS, Passphrase};

/// What the data folder says about its key, before any is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    /// No key yet: the first start will choose one (the keyring, or a new passphrase).
    New,
    /// The key is in the desktop keyring.
    Keyring,
    /// The key is derived from a passphrase the person chose.
    Passphrase,
}

/// A key found (or made) for a data folder.
#[derive(Debug)]
pub struct Unlocked {
    pub key: DbKey,
    pub source: Source,
    /// Whether this call chose the key (the data folder had none).
    pub created: bool,
}

/// What `key.json` in `data_dir` says.
///
/// A passphrase change that a crash interrupted is finished (or dropped) first.
pub fn state(data_dir: &Path, database: &Path) -> Result<KeyState, VaultError> {
    change::finish_interrupted(data_dir, database)?;
    Ok(match keyfile::read(data_dir)? {
        None => KeyState::New,
        Some(kf) if kf.source == Source::Keyring => KeyState::Keyring,
        Some(_) => KeyState::Passphrase,
    })
}

/// Finds the key of the data folder `data_dir` (whose database is `database`), or chooses one if
/// it has none yet: from `passphrase` if given, else a random key kept in `keyring`.
///
/// A wrong passphrase, a keyring that lost the key, or a database with no `key.json` beside it
/// is an error that changes nothing.
pub fn unlock(
    data_dir: &Path,
    database: &Path,
    passphrase: Option<&Passphrase>,
    keyring: &dyn Keyring,
) -> Result<Unlocked, VaultError> {
    change::finish_interrupted(data_dir, database)?;
    match keyfile::read(data_dir)? {
        Some(kf) => {
            let key = match kf.source {
                Source::Passphrase => {
                    let p = passphrase.ok_or_else(|| VaultError::NeedPassphrase {
                        dir: data_dir.to_owned(),
                    })?;
                    let key = passphrase::derive(p, kf.kdf(data_dir)?)?;
                    if !kf.checks(&key) {
                        return Err(VaultError::WrongPassphrase {
                            dir: data_dir.to_owned(),
                        });
                    }
                    key
                }
                Source::Keyring => {
                    let key = keyring_store::load(keyring, data_dir)?;
                    if !kf.checks(&key) {
                        return Err(VaultError::KeyringMismatch {
                            dir: data_dir.to_owned(),
                        });
                    }
                    key
                }
            };
            Ok(Unlocked {
                key,
                source: kf.source,
                created: false,
            })
        }
        None => {
            // Its key was made before: a new one must not be chosen.
            if glasshouse_store::holds_encrypted_database(database)? {
                return Err(VaultError::KeyFileMissing {
                    path: data_dir.join(KEY_FILE),
                });
            }
            let (key, kf) = match passphrase {
                Some(p) => {
                    p.check_strength()?;
                    let kdf = passphrase::Kdf::new()?;
                    let key = passphrase::derive(p, kdf.params(data_dir)?)?;
                    let kf = keyfile::KeyFile::passphrase(&key, kdf);
                    (key, kf)
                }
                None => {
                    let key = random_key()?;
                    keyring_store::store(keyring, data_dir, &key)?;
                    (key.clone(), keyfile::KeyFile::keyring(&key))
                }
            };
            keyfile::write(data_dir, &kf)?;
            tracing::info!(dir = %data_dir.display(), source = ?kf.source, "a new key was chosen for the data folder");
            Ok(Unlocked {
                key,
                source: kf.source,
                created: true,
            })
        }
    }
}

fn random_key() -> Result<DbKey, VaultError> {
    let mut bytes = Zeroizing::new([0u8; 32]);
    getrandom::fill(bytes.as_mut()).map_err(|e| VaultError::Random(e.to_string()))?;
    Ok(DbKey::from_bytes(*bytes))
}

#[cfg(test)]
mod tests;
