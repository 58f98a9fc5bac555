//! One target per parser that reads bytes from outside: what it runs, the seeds it starts from,
//! and how it makes structured inputs.

mod batch;
mod collector;
mod control;
mod device;
mod protocol;
mod settings;

use crate::{FuzzError, Rng};

/// Every target, in the order `all` runs them.
pub const TARGETS: [&str; 6] = [
    "batch",
    "collector",
    "control",
    "protocol",
    "settings",
    "device",
];

/// What came of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Handled as the code means to: `ok`, or the refusal (its sentence). New outcomes grow the
    /// corpus.
    Ok(String),
    /// A property broke: a 5xx for a bad request, a value that does not survive a round trip, an
    /// answer missing or malformed.
    Violation(String),
}

/// A parser under fuzzing.
pub trait Target {
    /// The name on the command line.
    fn name(&self) -> &'static str;
    /// Valid inputs made by the real encoders.
    fn seeds(&mut self) -> Vec<Vec<u8>>;
    /// Tokens the byte-level mutator inserts (field names, keywords).
    fn dictionary(&self) -> &[&'static [u8]] {
        &[]
    }
    /// The longest input the byte-level mutator makes.
    fn max_len(&self) -> usize {
        1 << 20
    }
    /// A structure-aware input: a valid document changed in one or a few places, or a new one.
    fn generate(&mut self, rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8>;
    /// Runs the real code on `input`.
    fn execute(&mut self, input: &[u8]) -> Verdict;
}

/// The target named `name`, set up (a collector, a recorder, seed batches...).
pub fn make(name: &str) -> Result<Box<dyn Target>, FuzzError> {
    Ok(match name {
        "batch" => Box::new(batch::BatchTarget::new()?),
        "collector" => Box::new(collector::CollectorTarget::new()?),
        "control" => Box::new(control::ControlTarget::new()?),
        "protocol" => Box::new(protocol::ProtocolTarget::new()),
        "settings" => Box::new(settings::SettingsTarget::new()?),
        "device" => Box::new(device::DeviceTarget::new()?),
        other => return Err(FuzzError::UnknownTarget(other.to_owned())),
    })
}

/// The error sentence of `e`, as an outcome.
fn refused(e: impl std::fmt::Display) -> Verdict {
    Verdict::Ok(format!("refused: {e}"))
}

/// Parses `input` as JSON, mutates it node by node, and writes it back (compact, or sometimes
/// pretty); input that is not JSON gets a random document instead.
fn mutate_json(rng: &mut Rng, input: &[u8], dict: &[&str]) -> Vec<u8> {
    let mut v =
        serde_json::from_slice(input).unwrap_or_else(|_| crate::json::random_value(rng, 3, dict));
    crate::json::mutate_value(rng, &mut v, dict);
    if rng.one_in(4) {
        serde_json::to_vec_pretty(&v).unwrap_or_default()
    } else {
        serde_json::to_vec(&v).unwrap_or_default()
    }
}
