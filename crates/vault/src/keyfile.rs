//! `key.json`: how the data folder's key is made. It holds no secret: the source, for a
//! passphrase the Argon2id salt and cost, and a check value of the key.

use std::io::Write;
use std::path::Path;

use glasshouse_store::DbKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::VaultError;
use crate::passphrase::{Kdf, KdfParams};

/// The file's name in the data folder.
pub const KEY_FILE: &str = "key.json";

const VERSION: u32 = 1;

/// Where the key is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A random key in the desktop keyring.
    Keyring,
    /// A key derived from the person's passphrase.
    Passphrase,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct KeyFile {
    version: u32,
    pub(crate) source: Source,
    /// Hex SHA-256 of a label and the key: tells a wrong key from a damaged database.
    check: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<Kdf>,
}

impl KeyFile {
    pub(crate) fn keyring(key: &DbKey) -> KeyFile {
        KeyFile {
            version: VERSION,
            source: Source::Keyring,
            check: check_value(key),
            kdf: None,
        }
    }

    pub(crate) fn passphrase(key: &DbKey, kdf: Kdf) -> KeyFile {
        KeyFile {
            version: VERSION,
            source: Source::Passphrase,
            check: check_value(key),
            kdf: Some(kdf),
        }
    }

    /// Whether `key` is the key this file describes.
    pub(crate) fn checks(&self, key: &DbKey) -> bool {
        // Not secret (it is on disk), so an ordinary comparison is fine.
        self.check == check_value(key)
    }

    pub(crate) fn kdf(&self, dir: &Path) -> Result<KdfParams, VaultError> {
        match &self.kdf {
            Some(k) => k.params(dir),
            None => Err(bad(dir, "it names a passphrase but no key derivation")),
        }
    }
}

fn check_value(key: &DbKey) -> String {
    let mut h = Sha256::new();
    h.update(b"glasshouse key check v1\0");
    h.update(key.as_bytes());
    hex(&h.finalize())
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn bad(dir: &Path, reason: &str) -> VaultError {
    VaultError::BadKeyFile {
        path: dir.join(KEY_FILE),
        reason: reason.to_owned(),
    }
}

/// Reads `key.json` of `dir`; `None` when there is none.
pub(crate) fn read(dir: &Path) -> Result<Option<KeyFile>, VaultError> {
    let path = dir.join(KEY_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(VaultError::io(&path, e)),
    };
    let kf: KeyFile = serde_json::from_str(&text).map_err(|e| bad(dir, &e.to_string()))?;
    if kf.version != VERSION {
        return Err(bad(
            dir,
            &format!(
                "it is version {}, this Glasshouse knows {VERSION}",
                kf.version
            ),
        ));
    }
    if kf.check.len() != 64 {
        return Err(bad(dir, "its check value is not a SHA-256"));
    }
    Ok(Some(kf))
}

/// Writes `key.json` into `dir` (created private if missing) atomically, readable by its owner only.
pub(crate) fn write(dir: &Path, kf: &KeyFile) -> Result<(), VaultError> {
    write_as(dir, kf, KEY_FILE)
}

/// Writes `kf` as the file `name` in `dir`, atomically (a whole file or none), synced.
pub(crate) fn write_as(dir: &Path, kf: &KeyFile, name: &str) -> Result<(), VaultError> {
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    if !dir.is_dir() {
        b.create(dir).map_err(|e| VaultError::io(dir, e))?;
    }
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&tmp).map_err(|e| VaultError::io(&tmp, e))?;
    let text = serde_json::to_string_pretty(kf).map_err(|e| bad(dir, &e.to_string()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .and_then(|()| f.sync_all())
        .map_err(|e| VaultError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| VaultError::io(&path, e))?;
    sync_dir(dir)
}

pub(crate) fn sync_dir(dir: &Path) -> Result<(), VaultError> {
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| VaultError::io(dir, e))
}
