//! The Glasshouse core: what an input event is, what the privacy policy does to it before it is
//! stored, the settings a person controls, and how they write times and durations.
//!
//! ## Privacy
//! Everything the recorder keeps passes through [`policy::Policy`] first:
//! - while paused, an event whose timestamp falls inside the pause is dropped, even if it was
//!   already in flight when the pause began;
//! - in an excluded application nothing of the input is kept, not even the window title: only a
//!   marker, at most one per second, that time passed in *an* excluded app;
//! - key identity and typed text are kept only at the `full` capture level; `categories` keeps the
//!   kind of key, `counts` keeps only that a key was pressed;
//! - in a sensitive window (password, login, sudo… in the title, app or class: the
//!   `sensitive_patterns` setting) keys are kept only as counts, whatever the capture level.
//!
//! This crate performs no capture, no storage and no networking, and it never depends on a UI
//! toolkit: the desktop shell and the CLI are thin layers over it.

pub mod error;
pub mod human;
pub mod keys;
pub mod model;
pub mod paths;
pub mod policy;
pub mod settings;
pub mod time;

pub use error::CoreError;
