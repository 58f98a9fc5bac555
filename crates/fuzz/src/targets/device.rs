//! `Device::load`, the enrollment file `device.json` (any program of the user's can write it).
//! Checked: a device that loads survives `save` and `load` unchanged.

use glasshouse_core::paths::Paths;
use glasshouse_uploads::device::Device;

use super::{Target, Verdict, refused};
use crate::{FuzzError, Rng};

const DICT: &[&str] = &[
    "collector",
    "device_id",
    "secret",
    "team",
    "enrolled_at",
    "participating",
    "participating_since",
    "participation_synced",
    "https://collector.example.com",
];

pub struct DeviceTarget {
    _dir: tempfile::TempDir,
    paths: Paths,
    seeds: Vec<Vec<u8>>,
}

impl DeviceTarget {
    pub fn new() -> Result<DeviceTarget, FuzzError> {
        let dir = tempfile::tempdir().map_err(|e| FuzzError::setup("device", e))?;
        let paths = Paths::in_dir(dir.path());
        let mut seeds = Vec::new();
        for (participating, since) in [(false, None), (true, Some(1_772_442_000_000_000))] {
            let d = Device {
                collector: "https://collector.example.com".into(),
                device_id: "dev_0123456789abcdef".into(),
                secret: "0f".repeat(32),
                team: "platform".into(),
                enrolled_at: 1_772_440_000_000_000,
                participating,
                participating_since: since,
                participation_synced: !participating,
            };
            d.save(&paths).map_err(|e| FuzzError::setup("device", e))?;
            let file = Device::path(&paths);
            seeds.push(std::fs::read(&file).map_err(FuzzError::io(&file))?);
        }
        Ok(DeviceTarget {
            _dir: dir,
            paths,
            seeds,
        })
    }
}

impl Target for DeviceTarget {
    fn name(&self) -> &'static str {
        "device"
    }

    fn seeds(&mut self) -> Vec<Vec<u8>> {
        self.seeds.clone()
    }

    fn max_len(&self) -> usize {
        1 << 18
    }

    fn generate(&mut self, rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
        let from = corpus[rng.below(corpus.len())].clone();
        super::mutate_json(rng, &from, DICT)
    }

    fn execute(&mut self, input: &[u8]) -> Verdict {
        let file = Device::path(&self.paths);
        if let Err(e) = std::fs::write(&file, input) {
            return Verdict::Violation(format!("cannot write {}: {e}", file.display()));
        }
        let d = match Device::load(&self.paths) {
            Ok(Some(d)) => d,
            Ok(None) => {
                return Verdict::Violation("a device file that exists loaded as none".into());
            }
            Err(e) => return refused(e),
        };
        if let Err(e) = d.save(&self.paths) {
            return Verdict::Violation(format!("a device that loads cannot be saved: {e}"));
        }
        match Device::load(&self.paths) {
            Ok(Some(back)) if back == d => Verdict::Ok("ok".into()),
            other => Verdict::Violation(format!(
                "a device changed through save and load: {d:?} became {other:?}"
            )),
        }
    }
}
