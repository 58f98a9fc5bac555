//! Changing the passphrase: the database is re-encrypted with a key from the new passphrase,
//! and what the old key encrypted is overwritten, so a passphrase that leaked stops opening the
//! data.
//!
//! The database and `key.json` must change together, and a crash can come between any two
//! steps. The order makes each state either "not changed" or "changed, to be finished":
//!
//! 1. the database is copied, encrypted with the new key, to `glasshouse.db.rekeyed`, checked
//!    and synced (the old key still opens everything);
//! 2. the new `key.json` is written as `key.json.new`: **the change is decided** once this file
//!    exists (its rename is atomic);
//! 3. the copy takes the database's place and the old file is zeroed;
//! 4. `key.json.new` becomes `key.json`.
//!
//! [`finish_interrupted`] runs before any key is looked up: with `key.json.new` present it
//! does 3 and 4 (whatever of them is left), and nothing otherwise. A copy left by step 1 of a
//! change that was never decided is removed by the next change only (it holds the instance lock,
//! so no other change is writing that copy at the time).

use std::path::{Path, PathBuf};

use crate::keyfile::{self, KEY_FILE, KeyFile, Source};
use crate::passphrase::{self, Kdf, Passphrase};
use crate::{NoKeyring, VaultError};

/// `key.json` of a change that is decided but not finished.
const PENDING: &str = "key.json.new";

fn staged_copy(database: &Path) -> PathBuf {
    let mut s = database.as_os_str().to_owned();
    s.push(".rekeyed");
    s.into()
}

/// Changes the passphrase of the data folder `data_dir` (database `database`) from `old` to
/// `new`. No recorder may use the database meanwhile (the caller holds its instance lock).
/// A wrong `old`, a too-short `new`, or a key kept in the keyring changes nothing.
pub fn change_passphrase(
    data_dir: &Path,
    database: &Path,
    old: &Passphrase,
    new: &Passphrase,
) -> Result<(), VaultError> {
    finish_interrupted(data_dir, database)?;
    match keyfile::read(data_dir)? {
        None => {
            return Err(VaultError::NoKeyYet {
                dir: data_dir.to_owned(),
            });
        }
        Some(kf) if kf.source == Source::Keyring => {
            return Err(VaultError::KeyInKeyring {
                dir: data_dir.to_owned(),
            });
        }
        Some(_) => {}
    }
    let old_key = crate::unlock(data_dir, database, Some(old), &NoKeyring)?.key;
    remove_staged(database)?;
    new.check_strength()?;
    let kdf = Kdf::new()?;
    let new_key = passphrase::derive(new, kdf.params(data_dir)?)?;
    let new_file = KeyFile::passphrase(&new_key, kdf);
    if database.exists() {
        glasshouse_store::reencrypt(database, &old_key, &new_key, &staged_copy(database))?;
    }
    keyfile::write_as(data_dir, &new_file, PENDING)?;
    tracing::info!(dir = %data_dir.display(), "the passphrase change is decided");
    finish_interrupted(data_dir, database)
}

/// Finishes a passphrase change that was decided, or drops one that was not (see the module's
/// doc). Nothing to do in the usual case.
pub(crate) fn finish_interrupted(data_dir: &Path, database: &Path) -> Result<(), VaultError> {
    let pending = data_dir.join(PENDING);
    if !pending.exists() {
        return Ok(());
    }
    let staged = staged_copy(database);
    if staged.exists() {
        glasshouse_store::replace_wiping(database, &staged)?;
    }
    let key_file = data_dir.join(KEY_FILE);
    match std::fs::rename(&pending, &key_file) {
        Ok(()) => {}
        // Another process finished it meanwhile.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(VaultError::io(&key_file, e)),
    }
    keyfile::sync_dir(data_dir)?;
    tracing::info!(dir = %data_dir.display(), "the passphrase was changed");
    Ok(())
}

/// Removes the copy of a change that was never decided.
fn remove_staged(database: &Path) -> Result<(), VaultError> {
    let staged = staged_copy(database);
    for suffix in ["", "-wal", "-shm"] {
        let mut p = staged.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        match std::fs::remove_file(&p) {
            Ok(()) => {
                tracing::warn!(path = %p.display(), "removed the copy of a passphrase change that was never decided")
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(VaultError::io(&p, e)),
        }
    }
    Ok(())
}
