//! The Glasshouse collector: the company's side of Glasshouse.
//!
//! Employees record their own input locally; a device enrolls with a token from its team, opts in
//! or out, and uploads only the batches its person approved (and may withdraw them). Managers see
//! opt-in rates per team, never of a group smaller than k (at least 5), never a person.
//!
//! - [`store`]: the data directory: SQLite (`collector.db`) and content-addressed batch files.
//! - [`api`]: the HTTP API ([`api::router`], [`api::serve`]) and its limits.
//! - `manager`, `charts`: the manager page and its SVG charts.
//! - `aggregates`: the k-anonymous figures (see there for what is and is not guarded).
//! - [`net`]: idle timeouts, the per-address rate limit, the request log.

pub mod aggregates;
pub mod api;
mod charts;
mod db;
pub mod error;
mod manager;
pub mod net;
pub mod store;

pub use api::{AppState, Config, router, serve};
pub use db::TeamInfo;
pub use error::CollectorError;
pub use store::{Collector, Failpoint};
