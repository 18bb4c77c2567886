//! cfn-logs-delivery: a CloudFormation custom-resource provider for CloudWatch Logs delivery
//! sources, delivery destinations and deliveries.
//!
//! - [`protocol`]: event in → exactly one answer out (deadline, panics, PUT retries, redaction),
//!   and the failsafe answer to Lambda's on-failure records.
//! - [`startup`]: the clients, built so that no start-up failure loses an event.
//! - [`resources`]: one module per resource kind behind the [`resources::Resource`] trait, and
//!   the one table ([`resources::KINDS`]) that validates and runs them.
//! - [`request`]: the [`request::Request`] and its [`request::Outcome`], the vocabulary `protocol`
//!   and `resources` share; neither imports the other.
//! - `provider`: the one place joining the two: the [`Handler`] that runs `resources` under `protocol`.
//! - [`props`] reads properties strictly; [`text`] holds the message helpers every layer uses.
//! - [`logs`]: every CloudWatch Logs call, with the retry policy.
//! - [`Error`]: the one error type; its text is the Reason CloudFormation shows.

pub mod backoff;
pub mod clients;
mod error;
pub mod logs;
pub mod props;
pub mod protocol;
mod provider;
pub mod request;
pub mod resources;
pub mod startup;
pub mod text;

pub use error::{Error, OrAbsent};
pub use provider::LogsProvider;

/// The Lambda's handler: the protocol around the resource kinds run against CloudWatch Logs.
pub type Handler = protocol::Handler<LogsProvider>;

/// Checks an event exactly as the handler would before calling AWS: the request envelope and,
/// for Create and Update, every property. Used by tests and tooling on `events/`.
pub fn validate_event(event: &serde_json::Value) -> Result<(), Error> {
    let request = protocol::parse_request(event.clone())?;
    resources::validate(&request)
}

/// The property names a resource type of this provider accepts (besides CloudFormation's
/// `ServiceToken` and `ServiceTimeout`); `None` for a type it does not handle.
pub fn known_properties(resource_type: &str) -> Option<&'static [&'static str]> {
    resources::Kind::of_type(resource_type).map(|kind| kind.properties)
}

/// The `Fn::GetAtt` attributes a resource type of this provider answers; `None` for a type it
/// does not handle.
pub fn attributes(resource_type: &str) -> Option<&'static [&'static str]> {
    resources::Kind::of_type(resource_type).map(|kind| kind.attributes)
}

/// Every problem the handler's validation finds in the `ResourceProperties` of a Create of
/// `resource_type`, most important first, each with its structured path; empty when it would be
/// accepted. `None` for a type the provider does not handle. No AWS call: this is what the
/// `cfn-logs-delivery-lint` command checks templates with.
pub fn property_problems(resource_type: &str, properties: &serde_json::Value) -> Option<Vec<props::Problem>> {
    let checked = (resources::Kind::of_type(resource_type)?.validate)(properties);
    Some(checked.err().map(|problems| problems.0).unwrap_or_default())
}
