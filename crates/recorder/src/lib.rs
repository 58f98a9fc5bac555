//! The recorder runtime: capture -> policy -> store, the pause state, and the local control socket
//! through which the CLI (and, later, the tray app) drives a running instance.
//!
//! One recorder runs per data directory ([`instance::InstanceLock`]); its control socket lives in
//! `$XDG_RUNTIME_DIR` under a name derived from that directory, so two profiles (or two test runs)
//! can run side by side.
//!
//! **Invariant:** every event reaches the store through [`glasshouse_core::policy::Policy`].
//! **Invariant:** the control socket answers only its own user (checked with `SO_PEERCRED`).

pub mod control;
pub mod error;
pub mod instance;
pub mod protocol;
pub mod runtime;
pub mod signals;

pub use error::RecorderError;
pub use protocol::{Request, Response, State, Status};
pub use runtime::{Observer, Recorder, RecorderOptions};
