//! The device's enrollment: which collector, which team, the pseudonymous device id and its
//! secret, and whether the person takes part. Kept in `device.json` in the data directory,
//! readable by the person only (mode 0600), written atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use glasshouse_core::model::Micros;
use glasshouse_core::paths::Paths;
use serde::{Deserialize, Serialize};

use crate::UploadError;

/// The enrollment, as stored.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// The collector's base URL, e.g. `https://collector.example.com`.
    pub collector: String,
    /// The pseudonymous id the collector gave this device (`dev_…`): never a host or user name.
    pub device_id: String,
    /// The device's credential. Never logged, never shown.
    pub secret: String,
    pub team: String,
    pub enrolled_at: Micros,
    /// The person's choice: take part in uploads or not. Off until they turn it on.
    pub participating: bool,
    /// When they last turned taking part on: no batch covers time before it.
    pub participating_since: Option<Micros>,
    /// Whether the collector has been told the current choice (it is told again until it is).
    #[serde(default = "yes")]
    pub participation_synced: bool,
}

fn yes() -> bool {
    true
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("collector", &self.collector)
            .field("device_id", &self.device_id)
            .field("secret", &"<hidden>")
            .field("team", &self.team)
            .field("participating", &self.participating)
            .finish()
    }
}

impl Device {
    pub fn path(paths: &Paths) -> PathBuf {
        paths.data_dir.join("device.json")
    }

    /// The enrollment, or `None` when the device was never enrolled.
    pub fn load(paths: &Paths) -> Result<Option<Device>, UploadError> {
        let path = Self::path(paths);
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(UploadError::io(&path)(e)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| UploadError::BadDeviceFile {
                path,
                reason: e.to_string(),
            })
    }

    /// Writes the file atomically, private to the person (it holds the device's secret).
    pub fn save(&self, paths: &Paths) -> Result<(), UploadError> {
        let path = Self::path(paths);
        write_private(&path, &serde_json::to_vec_pretty(self).unwrap_or_default())
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> Result<(), UploadError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(UploadError::io(dir))?;
    let tmp = path.with_extension("json.tmp");
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
    let mut f = o.open(&tmp).map_err(UploadError::io(&tmp))?;
    // An older file may have been created with other permissions: make sure.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        f.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(UploadError::io(&tmp))?;
    }
    f.write_all(bytes).map_err(UploadError::io(&tmp))?;
    f.sync_all().map_err(UploadError::io(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(UploadError::io(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_file_is_private_and_round_trips_and_debug_hides_the_secret() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::in_dir(dir.path().join("data"));
        assert!(Device::load(&paths).unwrap().is_none());
        let d = Device {
            collector: "http://127.0.0.1:8750".into(),
            device_id: "dev_0123".into(),
            secret: "s3cr3t-value".into(),
            team: "support".into(),
            enrolled_at: 1,
            participating: false,
            participating_since: None,
            participation_synced: true,
        };
        d.save(&paths).unwrap();
        assert_eq!(Device::load(&paths).unwrap(), Some(d.clone()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(Device::path(&paths))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(!format!("{d:?}").contains("s3cr3t"));
        std::fs::write(Device::path(&paths), "{not json").unwrap();
        let err = Device::load(&paths).unwrap_err().to_string();
        assert!(
            err.contains("device.json") && err.contains("enroll again"),
            "{err}"
        );
    }
}
