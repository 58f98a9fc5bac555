//! Passphrases, and the key derived from one (Argon2id).

use std::path::Path;

use argon2::{Algorithm, Argon2, Params, Version};
use glasshouse_store::DbKey;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::VaultError;
use crate::keyfile::{bad, hex};

/// The shortest passphrase accepted for a new key, in characters.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// Argon2id cost for new keys: 19 MiB, 2 passes, 1 lane (OWASP's recommended minimum; tens of
/// milliseconds here, paid once per process). Kept in `key.json`, so it can be raised later.
const MEMORY_KIB: u32 = 19 * 1024;
const ITERATIONS: u32 = 2;
const PARALLELISM: u32 = 1;

/// A passphrase, wiped from memory when dropped; never printed.
pub struct Passphrase(Zeroizing<String>);

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

impl Passphrase {
    /// A passphrase as typed.
    pub fn new(text: String) -> Passphrase {
        Passphrase(Zeroizing::new(text))
    }

    /// The first line of the file at `path` (without its line ending).
    pub fn from_file(path: &Path) -> Result<Passphrase, VaultError> {
        let text =
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| VaultError::io(path, e))?);
        let line = text.lines().next().unwrap_or("");
        if line.is_empty() {
            return Err(VaultError::EmptyPassphrase {
                path: path.to_owned(),
            });
        }
        Ok(Passphrase::new(line.to_owned()))
    }

    /// Refuses a passphrase too short to choose for a new key.
    pub fn check_strength(&self) -> Result<(), VaultError> {
        if self.0.chars().count() < MIN_PASSPHRASE_CHARS {
            return Err(VaultError::WeakPassphrase {
                min: MIN_PASSPHRASE_CHARS,
            });
        }
        Ok(())
    }
}

/// The key derivation as recorded in `key.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Kdf {
    algorithm: String,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    /// Hex, 16 random bytes.
    salt: String,
}

/// A [`Kdf`] checked and ready to run.
pub(crate) struct KdfParams {
    params: Params,
    salt: Vec<u8>,
}

impl Kdf {
    /// Today's cost with a new random salt.
    pub(crate) fn new() -> Result<Kdf, VaultError> {
        let mut salt = [0u8; 16];
        getrandom::fill(&mut salt).map_err(|e| VaultError::Random(e.to_string()))?;
        Ok(Kdf {
            algorithm: "argon2id".to_owned(),
            memory_kib: MEMORY_KIB,
            iterations: ITERATIONS,
            parallelism: PARALLELISM,
            salt: hex(&salt),
        })
    }

    pub(crate) fn params(&self, dir: &Path) -> Result<KdfParams, VaultError> {
        if self.algorithm != "argon2id" {
            return Err(bad(
                dir,
                &format!("unknown key derivation {:?}", self.algorithm),
            ));
        }
        // Bounds that keep a tampered file from making every start take minutes or gigabytes.
        if !(8 * 1024..=1024 * 1024).contains(&self.memory_kib)
            || !(1..=16).contains(&self.iterations)
            || !(1..=8).contains(&self.parallelism)
        {
            return Err(bad(dir, "its key derivation cost is out of range"));
        }
        let salt = unhex(&self.salt).ok_or_else(|| bad(dir, "its salt is not hex"))?;
        if salt.len() < 16 {
            return Err(bad(dir, "its salt is too short"));
        }
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(32))
            .map_err(|e| bad(dir, &e.to_string()))?;
        Ok(KdfParams { params, salt })
    }
}

/// The key for `passphrase` under `kdf`.
pub(crate) fn derive(passphrase: &Passphrase, kdf: KdfParams) -> Result<DbKey, VaultError> {
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, kdf.params);
    let mut out = Zeroizing::new([0u8; 32]);
    argon
        .hash_password_into(passphrase.0.as_bytes(), &kdf.salt, out.as_mut())
        .map_err(|e| VaultError::Kdf(e.to_string()))?;
    Ok(DbKey::from_bytes(*out))
}

pub(crate) fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}
