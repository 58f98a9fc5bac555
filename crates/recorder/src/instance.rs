//! One recorder per data directory: an advisory lock on `instance.lock` that also names the pid of
//! its holder, so a second `record` can say which process it would collide with.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;

use glasshouse_core::paths::Paths;

use crate::RecorderError;

/// Held for as long as this process is the data directory's recorder. Dropping it releases the lock.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Takes the lock, creating the data directory (mode 0700) if needed.
    pub fn acquire(paths: &Paths) -> Result<InstanceLock, RecorderError> {
        ensure_private_dir(&paths.data_dir)?;
        let path = paths.lock_file();
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(RecorderError::io(&path))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut text = String::new();
                let _ = file.read_to_string(&mut text);
                return Err(RecorderError::AlreadyRunning {
                    data_dir: paths.data_dir.clone(),
                    pid: text.trim().parse().unwrap_or(0),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(RecorderError::io(&path)(e)),
        }
        let write = |f: &mut File| -> std::io::Result<()> {
            f.set_len(0)?;
            f.seek(SeekFrom::Start(0))?;
            writeln!(f, "{}", std::process::id())?;
            f.flush()
        };
        write(&mut file).map_err(RecorderError::io(&path))?;
        Ok(InstanceLock { _file: file })
    }

    /// The pid of the running recorder, if one holds the lock.
    pub fn holder(paths: &Paths) -> Option<u32> {
        let mut file = File::open(paths.lock_file()).ok()?;
        if file.try_lock_shared().is_ok() {
            return None;
        }
        let mut text = String::new();
        file.read_to_string(&mut text).ok()?;
        text.trim().parse().ok()
    }
}

/// Creates `dir` (and parents) with mode 0700 if it is missing.
pub fn ensure_private_dir(dir: &std::path::Path) -> Result<(), RecorderError> {
    use std::os::unix::fs::DirBuilderExt;
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(RecorderError::io(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_instance_is_refused_with_the_first_ones_pid() {
        let dir = tempfile::tempdir().unwrap();
        let paths = Paths::in_dir(dir.path().join("data"));
        assert_eq!(InstanceLock::holder(&paths), None);
        let first = InstanceLock::acquire(&paths).unwrap();
        assert_eq!(InstanceLock::holder(&paths), Some(std::process::id()));
        match InstanceLock::acquire(&paths) {
            Err(RecorderError::AlreadyRunning { pid, .. }) => assert_eq!(pid, std::process::id()),
            other => panic!("expected AlreadyRunning, got {other:?}"),
        }
        drop(first);
        assert_eq!(InstanceLock::holder(&paths), None);
        InstanceLock::acquire(&paths).unwrap();
    }
}
