//! cfn-logs-delivery: a CloudFormation custom-resource provider for CloudWatch Logs delivery
//! sources, delivery destinations and deliveries.
//!
//! - [`protocol`]: event in → exactly one answer out (deadline, panics, PUT retries, redaction),
//!   and the failsafe answer to Lambda's on-failure records.
//! - [`startup`]: the clients, built so that no start-up failure loses an event.
//! - [`resources`]: one module per resource kind behind the [`resources::Resource`] trait.
//! - [`logs`]: every CloudWatch Logs call, with the retry policy.
//! - [`Error`]: the one error type; its text is the Reason CloudFormation shows.

pub mod backoff;
mod error;
pub mod logs;
pub mod props;
pub mod protocol;
pub mod resources;
pub mod startup;

pub use error::{Error, OrAbsent};
pub use protocol::Handler;

/// Checks an event exactly as the handler would before calling AWS: the request envelope and,
/// for Create and Update, every property. Used by tests and tooling on `events/`.
pub fn validate_event(event: &serde_json::Value) -> Result<(), Error> {
    let request = protocol::parse_request(event.clone())?;
    resources::validate(&request)
}

/// The property names a resource type of this provider accepts (besides CloudFormation's
/// `ServiceToken` and `ServiceTimeout`); `None` for a type it does not handle.
pub fn known_properties(resource_type: &str) -> Option<&'static [&'static str]> {
    use resources::{Delivery, DeliveryDestination, DeliverySource, Resource};
    match resource_type {
        DeliverySource::TYPE => Some(DeliverySource::PROPERTIES),
        DeliveryDestination::TYPE => Some(DeliveryDestination::PROPERTIES),
        Delivery::TYPE => Some(Delivery::PROPERTIES),
        _ => None,
    }
}

/// Every problem the handler's validation finds in the `ResourceProperties` of a Create of
/// `resource_type`, as (property as the template spells it, message), most important first; empty
/// when it would be accepted. `None` for a type the provider does not handle. No AWS call: this is
/// what the `cfn-logs-delivery-lint` command checks templates with.
pub fn property_problems(resource_type: &str, properties: &serde_json::Value) -> Option<Vec<(String, String)>> {
    use resources::{Delivery, DeliveryDestination, DeliverySource, Resource};
    let checked = match resource_type {
        DeliverySource::TYPE => DeliverySource::parse(properties).map(drop),
        DeliveryDestination::TYPE => DeliveryDestination::parse(properties).map(drop),
        Delivery::TYPE => Delivery::parse(properties).map(drop),
        _ => return None,
    };
    Some(match checked {
        Ok(()) => Vec::new(),
        Err(Error::InvalidProperty { property, message }) => vec![(property, message)],
        Err(Error::InvalidProperties(problems)) => problems.0.into_iter().map(|p| (p.property, p.message)).collect(),
        Err(other) => vec![("ResourceProperties".to_owned(), other.to_string())],
    })
}
