//! The resource kinds behind one small trait, and the dispatch from a request to one of them.
//! Protocol concerns (answering, deadlines, panics) live in `protocol`; this is only
//! "what does Create / Update / Delete of this kind do against CloudWatch Logs".

mod delivery;
mod destination;
mod owner;
mod source;
mod tags;

use std::future::Future;

use serde_json::Value;

use crate::logs::Logs;
use crate::protocol::{Action, Request};
use crate::Error;

pub use delivery::Delivery;
pub use destination::DeliveryDestination;
pub use owner::{LiveTags, Owner};
pub use source::DeliverySource;
pub use tags::TagDiff;

pub const SUPPORTED_TYPES: &[&str] = &[DeliverySource::TYPE, DeliveryDestination::TYPE, Delivery::TYPE];

/// Prefix of the PhysicalResourceId answered for a failed Create. `:` can appear neither in a
/// source/destination name nor in a delivery id, so a marker never names a real resource.
pub const FAILED_CREATE_MARKER: &str = "cfn-logs-delivery:failed-create:";

/// What a successful Create or Update answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub physical_id: String,
    /// Fn::GetAtt attributes; every value a string.
    pub data: Vec<(&'static str, String)>,
}

/// What an operation gets to work with: Logs (with the deadline) and who is asking.
pub struct Ctx {
    pub logs: Logs,
    pub owner: Owner,
}

/// One resource kind. `parse` validates the desired properties without any AWS call.
pub trait Resource: Sized + Send + Sync {
    const TYPE: &'static str;
    /// The property names the template may use (besides CloudFormation's ServiceToken/ServiceTimeout).
    const PROPERTIES: &'static [&'static str];
    fn parse(properties: &Value) -> Result<Self, Error>;
    fn create(&self, ctx: &Ctx) -> impl Future<Output = Result<Outcome, Error>> + Send;
    /// Update the resource known as `physical_id` towards `self`; a different physical id in the
    /// outcome means replacement. `old` is what the template asked for before
    /// (`OldResourceProperties`), when it is there and still valid.
    fn update(&self, ctx: &Ctx, physical_id: &str, old: Option<&Self>) -> impl Future<Output = Result<Outcome, Error>> + Send;
    fn delete(ctx: &Ctx, physical_id: &str) -> impl Future<Output = Result<(), Error>> + Send;
}

/// Checks a request the way `run` would, without touching AWS.
pub fn validate(request: &Request) -> Result<(), Error> {
    if matches!(request.action, Action::Delete { .. }) {
        return Ok(());
    }
    match request.resource_type.as_str() {
        DeliverySource::TYPE => DeliverySource::parse(&request.properties).map(drop),
        DeliveryDestination::TYPE => DeliveryDestination::parse(&request.properties).map(drop),
        Delivery::TYPE => Delivery::parse(&request.properties).map(drop),
        other => Err(Error::UnsupportedResourceType(crate::props::shorten(other, 100))),
    }
}

/// Runs the request against CloudWatch Logs.
pub async fn run(ctx: &Ctx, request: &Request) -> Result<Outcome, Error> {
    if let Action::Delete { physical_id } = &request.action {
        // Our own marker for a Create that failed: nothing was created, nothing to call.
        if physical_id.starts_with(FAILED_CREATE_MARKER) {
            return Ok(Outcome { physical_id: physical_id.clone(), data: Vec::new() });
        }
        if !SUPPORTED_TYPES.contains(&request.resource_type.as_str()) {
            // A type we never create cannot have left anything behind; refusing would wedge the stack.
            tracing::warn!(resource_type = %crate::props::shorten(&request.resource_type, 100), "Delete of an unsupported ResourceType answered SUCCESS without any call");
            return Ok(Outcome { physical_id: physical_id.clone(), data: Vec::new() });
        }
    }
    match request.resource_type.as_str() {
        DeliverySource::TYPE => run_kind::<DeliverySource>(ctx, request).await,
        DeliveryDestination::TYPE => run_kind::<DeliveryDestination>(ctx, request).await,
        Delivery::TYPE => run_kind::<Delivery>(ctx, request).await,
        other => Err(Error::UnsupportedResourceType(crate::props::shorten(other, 100))),
    }
}

async fn run_kind<R: Resource>(ctx: &Ctx, request: &Request) -> Result<Outcome, Error> {
    match &request.action {
        Action::Create => R::parse(&request.properties)?.create(ctx).await,
        Action::Update { physical_id } => {
            let desired = R::parse(&request.properties)?;
            let old = request.old_properties.as_ref().and_then(|p| R::parse(p).ok());
            desired.update(ctx, physical_id, old.as_ref()).await
        }
        Action::Delete { physical_id } => {
            R::delete(ctx, physical_id).await?;
            Ok(Outcome { physical_id: physical_id.clone(), data: Vec::new() })
        }
    }
}
