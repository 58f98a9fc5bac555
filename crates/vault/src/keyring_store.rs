//! The desktop keyring, behind a small trait so the logic around it is tested without one.

use std::path::Path;

use glasshouse_store::DbKey;
use zeroize::Zeroizing;

use crate::VaultError;

/// The keyring's service name for Glasshouse's entries; the account is the data folder's path.
const SERVICE: &str = "Glasshouse database key";

/// Why the keyring could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    /// There is no keyring (no session bus, no Secret Service), or it refused.
    #[error("{0}")]
    Unavailable(String),
}

/// A place that keeps secrets for the person, such as the Secret Service.
pub trait Keyring {
    /// The secret of `account`, or `None` if the keyring has none.
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, KeyringError>;
    /// Keeps `secret` for `account`, replacing what was there.
    fn set(&self, account: &str, secret: &str) -> Result<(), KeyringError>;
}

/// No keyring at all (`GLASSHOUSE_KEYRING=off`, or no session bus).
#[derive(Debug, Default)]
pub struct NoKeyring;

impl Keyring for NoKeyring {
    fn get(&self, _: &str) -> Result<Option<Zeroizing<String>>, KeyringError> {
        Err(KeyringError::Unavailable(
            "no desktop keyring is in use".into(),
        ))
    }
    fn set(&self, _: &str, _: &str) -> Result<(), KeyringError> {
        Err(KeyringError::Unavailable(
            "no desktop keyring is in use".into(),
        ))
    }
}

/// The freedesktop Secret Service (GNOME Keyring, KWallet, KeePassXC...) on the session bus.
#[derive(Debug, Default)]
pub struct SecretService;

impl SecretService {
    fn entry(account: &str) -> Result<keyring::Entry, KeyringError> {
        keyring::Entry::new(SERVICE, account).map_err(|e| KeyringError::Unavailable(e.to_string()))
    }
}

impl Keyring for SecretService {
    fn get(&self, account: &str) -> Result<Option<Zeroizing<String>>, KeyringError> {
        match Self::entry(account)?.get_password() {
            Ok(s) => Ok(Some(Zeroizing::new(s))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(KeyringError::Unavailable(e.to_string())),
        }
    }
    fn set(&self, account: &str, secret: &str) -> Result<(), KeyringError> {
        Self::entry(account)?
            .set_password(secret)
            .map_err(|e| KeyringError::Unavailable(e.to_string()))
    }
}

/// The keyring of this session: the Secret Service when there is a session bus to reach it,
/// none with `GLASSHOUSE_KEYRING=off` or without a session bus (asking D-Bus then would start a
/// bus of its own for the X display and leave it running).
pub fn system_keyring() -> Box<dyn Keyring> {
    if std::env::var("GLASSHOUSE_KEYRING").is_ok_and(|v| v == "off") || !session_bus_exists() {
        Box::new(NoKeyring)
    } else {
        Box::new(SecretService)
    }
}

fn session_bus_exists() -> bool {
    if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some_and(|a| !a.is_empty()) {
        return true;
    }
    std::env::var_os("XDG_RUNTIME_DIR").is_some_and(|d| Path::new(&d).join("bus").exists())
}

fn account(dir: &Path) -> String {
    std::path::absolute(dir)
        .unwrap_or_else(|_| dir.to_owned())
        .to_string_lossy()
        .into_owned()
}

/// The key of `dir` from the keyring.
pub(crate) fn load(keyring: &dyn Keyring, dir: &Path) -> Result<DbKey, VaultError> {
    let secret = keyring
        .get(&account(dir))
        .map_err(
            |KeyringError::Unavailable(reason)| VaultError::KeyringUnavailable {
                dir: dir.to_owned(),
                reason,
            },
        )?
        .ok_or_else(|| VaultError::KeyringEntryMissing {
            dir: dir.to_owned(),
        })?;
    DbKey::from_hex(secret.trim()).ok_or_else(|| VaultError::KeyringMismatch {
        dir: dir.to_owned(),
    })
}

/// Keeps the key of `dir` in the keyring and reads it back (some keyrings accept and drop).
pub(crate) fn store(keyring: &dyn Keyring, dir: &Path, key: &DbKey) -> Result<(), VaultError> {
    let hex = key.to_hex();
    let no_keyring = || VaultError::NoKeyring {
        dir: dir.to_owned(),
    };
    keyring.set(&account(dir), &hex).map_err(|e| {
        tracing::info!("the desktop keyring cannot keep the key: {e}");
        no_keyring()
    })?;
    match load(keyring, dir) {
        Ok(back) if back.as_bytes() == key.as_bytes() => Ok(()),
        _ => Err(no_keyring()),
    }
}
