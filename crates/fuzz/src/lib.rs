//! Fuzzing of every parser that reads bytes someone else chose: the collector's batch decoder and
//! its HTTP request path, the recorder's control socket, the settings file and `device.json`.
//!
//! A self-contained, time-boxed fuzzer rather than cargo-fuzz (which needs a nightly compiler; CI
//! has only stable) or proptest (whose unit is a fixed number of cases with shrinking, not a
//! run of N seconds over a seed corpus). Each [`Target`] runs the real code on one input and says
//! what came of it. The engine ([`run`]) feeds it, for as long as asked:
//! - the seed corpus: valid documents made by the real encoders (batches from
//!   `glasshouse_batch::build`, requests serialised from the protocol types, settings written by
//!   `Settings::save`),
//! - byte-level mutations and splices of the corpus ([`mutate`]),
//! - the target's own structure-aware generator (JSON trees mutated node by node, TOML of the
//!   known keys with edge values, HTTP requests with real credentials),
//! - plain random bytes.
//!
//! There is no coverage instrumentation; as a cheap stand-in, an input whose outcome (the error
//! sentence with its numbers blanked, or `ok`) was not seen before joins the corpus.
//!
//! Every input runs under `catch_unwind` and a stopwatch: a panic, a broken property (the target
//! returns [`Verdict::Violation`]) or an input slower than the limit is a finding, saved to a file
//! with its message. A watchdog aborts the process when one input runs for over
//! [`HANG_LIMIT`]; the input being run is always in `<out>/<target>/current.bin`, so even a
//! stack overflow or an abort leaves it behind.

mod engine;
mod error;
pub mod json;
pub mod mutate;
mod rng;
pub mod targets;

pub use engine::{Finding, FindingKind, HANG_LIMIT, Options, Report, run};
pub use error::FuzzError;
pub use rng::Rng;
pub use targets::{TARGETS, Target, Verdict, make};
