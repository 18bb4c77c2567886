//! cfn-logs-delivery: a CloudFormation custom-resource provider for CloudWatch Logs delivery
//! sources, delivery destinations and deliveries.
//!
//! - [`protocol`]: event in → exactly one answer out (deadline, panics, PUT retries, redaction).
//! - [`resources`]: one module per resource kind behind the [`resources::Resource`] trait.
//! - [`logs`]: every CloudWatch Logs call, with the retry policy.
//! - [`Error`]: the one error type; its text is the Reason CloudFormation shows.

pub mod backoff;
mod error;
pub mod logs;
pub mod props;
pub mod protocol;
pub mod resources;

pub use error::{Error, OrAbsent};
pub use protocol::Handler;

/// Checks an event exactly as the handler would before calling AWS: the request envelope and,
/// for Create and Update, every property. Used by tests and tooling on `events/`.
pub fn validate_event(event: &serde_json::Value) -> Result<(), Error> {
    let request = protocol::parse_request(event.clone())?;
    resources::validate(&request)
}
