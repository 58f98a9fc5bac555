//! Where Glasshouse keeps things: the XDG data dir for the database, the XDG config dir for the
//! settings, or one directory for both when the user (or a test) names it.

use std::path::{Path, PathBuf};

use crate::CoreError;

/// The environment variable that overrides the data and config locations.
pub const DATA_DIR_ENV: &str = "GLASSHOUSE_DATA_DIR";

/// The resolved locations of one Glasshouse profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub data_dir: PathBuf,
    pub settings_file: PathBuf,
}

impl Paths {
    /// One directory holds everything (`--data-dir DIR` or `GLASSHOUSE_DATA_DIR`).
    pub fn in_dir(dir: impl Into<PathBuf>) -> Paths {
        let data_dir = dir.into();
        Paths {
            settings_file: data_dir.join("settings.toml"),
            data_dir,
        }
    }

    /// Resolves the locations: an explicit directory wins, then `GLASSHOUSE_DATA_DIR`, then XDG.
    pub fn resolve(explicit: Option<&Path>) -> Result<Paths, CoreError> {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        if let Some(dir) = explicit
            .map(Path::to_path_buf)
            .or_else(|| env(DATA_DIR_ENV))
        {
            return Ok(Paths::in_dir(absolute(dir)));
        }
        let home = env("HOME");
        let data_home = env("XDG_DATA_HOME")
            .or_else(|| home.as_ref().map(|h| h.join(".local/share")))
            .ok_or(CoreError::NoDataDir)?;
        let config_home = env("XDG_CONFIG_HOME")
            .or_else(|| home.as_ref().map(|h| h.join(".config")))
            .ok_or(CoreError::NoDataDir)?;
        Ok(Paths {
            data_dir: data_home.join("glasshouse"),
            settings_file: config_home.join("glasshouse").join("settings.toml"),
        })
    }

    /// The SQLite database of recorded input.
    pub fn database(&self) -> PathBuf {
        self.data_dir.join("glasshouse.db")
    }

    /// The lock file that makes one recorder per data directory.
    pub fn lock_file(&self) -> PathBuf {
        self.data_dir.join("instance.lock")
    }
}

fn absolute(dir: PathBuf) -> PathBuf {
    std::path::absolute(&dir).unwrap_or(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn explicit_dir_holds_everything() {
        let p = Paths::resolve(Some(Path::new("/tmp/gh-test"))).unwrap();
        assert_eq!(p.data_dir, PathBuf::from("/tmp/gh-test"));
        assert_eq!(p.settings_file, PathBuf::from("/tmp/gh-test/settings.toml"));
        assert_eq!(p.database(), PathBuf::from("/tmp/gh-test/glasshouse.db"));
    }
}
