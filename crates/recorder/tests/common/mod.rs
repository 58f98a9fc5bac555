//! What the recorder's integration tests share: a recorder without capture, on a private
//! runtime directory.

use std::sync::OnceLock;

use glasshouse_core::paths::Paths;
use glasshouse_recorder::{Recorder, RecorderOptions};

/// One runtime directory for the whole test binary (the variable is process-wide).
fn runtime_dir() {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| tempfile::tempdir().unwrap());
    // SAFETY: set once, before any recorder starts, to the same value in every test.
    unsafe { std::env::set_var("XDG_RUNTIME_DIR", dir.path()) };
}

/// The key of every test database.
pub fn key() -> glasshouse_store::DbKey {
    glasshouse_store::DbKey::from_bytes([7; 32])
}

/// The text typed and stored in the database of `paths`, in order.
// Not every test binary that includes this module reads typed text.
#[allow(dead_code)]
pub fn stored_text(paths: &Paths) -> String {
    use glasshouse_core::model::Stored;
    let reader = glasshouse_store::Reader::open(&paths.database(), &key()).unwrap();
    let mut text = String::new();
    reader
        .export(&glasshouse_store::ExportFilter::default(), |row| {
            if let Stored::KeyDown { text: Some(t), .. } = row.event {
                text.push_str(&t);
            }
            Ok(())
        })
        .unwrap();
    text
}

/// A recorder for `dir` with capture turned off (tests feed its capture channel).
pub fn start(dir: &std::path::Path) -> Recorder {
    runtime_dir();
    Recorder::start(RecorderOptions {
        paths: Paths::in_dir(dir),
        key: key(),
        worker: None,
        observer: None,
    })
    .unwrap()
}
