//! The Glasshouse desktop app and CLI. This crate only wires: the recorder, store, capture and
//! policy live in `crates/`, and each command here converts arguments and delegates.

pub mod app;
pub mod cli;
pub mod error;
