//! Uploads, the device side: enrollment with a collector, the person's choice to take part,
//! sealing the recorded stream into batches, the review (exact bytes, readable view, what was
//! scrubbed), and the uploader that sends approved batches only.
//!
//! **Invariant:** nothing is sent to the collector but (a) the enrollment, (b) the yes/no of
//! taking part, and (c) batches in the `approved` state, as exactly the bytes that were approved
//! (their SHA-256 is checked against the collector's receipt).

pub mod client;
pub mod device;
mod error;
pub mod review;
pub mod service;

pub use client::Collector;
pub use device::Device;
pub use error::UploadError;
pub use review::{BatchSummary, BatchView, EnrollmentView, Overview, Review};
pub use service::{Done, Uploads, UploadsOp};
