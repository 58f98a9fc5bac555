//! The recorder runtime: capture -> policy -> store, the pause state, and the local control socket
//! through which the CLI and the dashboard process drive a running instance (and through which
//! the dashboard subscribes to live updates: [`live`], with the live [`feed`]).
//!
//! One recorder runs per data directory ([`instance::InstanceLock`]); its control socket lives in
//! `$XDG_RUNTIME_DIR` under a name derived from that directory, so two profiles (or two test runs)
//! can run side by side.
//!
//! **Invariant:** every event reaches the store through [`glasshouse_core::policy::Policy`].
//! **Invariant:** the control socket answers only its own user (checked with `SO_PEERCRED`).

pub mod control;
pub mod error;
pub mod feed;
pub mod instance;
pub mod live;
mod pausing;
pub mod protocol;
pub mod runtime;
pub mod signals;

pub use error::RecorderError;
pub use protocol::{Push, Request, Response, State, Status};
pub use runtime::{Observer, Recorder, RecorderOptions};
