//! The one error type of the vault. Each message says what the person can do.

use std::path::{Path, PathBuf};

/// Everything that can keep the store's key from being found or chosen.
#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error(
        "the data in {} is encrypted with a passphrase: give it with --passphrase-file FILE (or GLASSHOUSE_PASSPHRASE_FILE), or start the tray app, which asks for it",
        .dir.display()
    )]
    NeedPassphrase { dir: PathBuf },
    #[error(
        "the passphrase is wrong: the data in {} was encrypted with another one; nothing was changed",
        .dir.display()
    )]
    WrongPassphrase { dir: PathBuf },
    #[error(
        "there is no desktop keyring (Secret Service) here to keep the key of {}: choose a passphrase instead (the tray app asks for one; on the command line use --passphrase-file FILE or GLASSHOUSE_PASSPHRASE_FILE). Glasshouse never stores your input unencrypted",
        .dir.display()
    )]
    NoKeyring { dir: PathBuf },
    #[error(
        "the key of {} is kept in your desktop keyring, which cannot be reached ({reason}): log in to your desktop session or unlock your keyring, then try again",
        .dir.display()
    )]
    KeyringUnavailable { dir: PathBuf, reason: String },
    #[error(
        "your desktop keyring has no Glasshouse key for {} any more (it was removed, or this is another keyring); without it the data there cannot be read",
        .dir.display()
    )]
    KeyringEntryMissing { dir: PathBuf },
    #[error(
        "the key in your desktop keyring is not the one the data in {} was encrypted with; nothing was changed",
        .dir.display()
    )]
    KeyringMismatch { dir: PathBuf },
    #[error(
        "{} is missing: the database next to it is encrypted and this file says how its key is made (it holds no secret); put it back from where it was",
        .path.display()
    )]
    KeyFileMissing { path: PathBuf },
    #[error("{} cannot be read ({reason}); put back the original", .path.display())]
    BadKeyFile { path: PathBuf, reason: String },
    #[error(
        "the key of {} is kept in your desktop keyring: there is no passphrase to change",
        .dir.display()
    )]
    KeyInKeyring { dir: PathBuf },
    #[error(
        "{} has no key yet: the first start chooses one (and asks for the passphrase)",
        .dir.display()
    )]
    NoKeyYet { dir: PathBuf },
    #[error(transparent)]
    Store(#[from] glasshouse_store::StoreError),
    #[error("a passphrase needs at least {min} characters")]
    WeakPassphrase { min: usize },
    #[error("the passphrase file {} is empty", .path.display())]
    EmptyPassphrase { path: PathBuf },
    #[error("cannot use {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the system's random number generator failed: {0}")]
    Random(String),
    #[error("deriving the key from the passphrase failed: {0}")]
    Kdf(String),
}

impl VaultError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> VaultError {
        VaultError::Io {
            path: path.to_owned(),
            source,
        }
    }
}
