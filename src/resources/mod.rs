//! The resource kinds behind one small trait, and the one table ([`KINDS`]) that dispatches a
//! request to one of them, for validation and for running alike.
//! Protocol concerns (answering, deadlines, panics) live in `protocol`; this is only
//! "what does Create / Update / Delete of this kind do against CloudWatch Logs".

mod config_template;
mod delivery;
mod destination;
mod named;
mod owner;
mod source;
mod tags;

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::logs::Logs;
use crate::protocol::{Action, Request};
use crate::text::shorten;
use crate::Error;

pub use crate::protocol::Outcome;
pub use delivery::Delivery;
pub use destination::DeliveryDestination;
pub use owner::{LiveTags, Owner};
pub use source::DeliverySource;
pub use tags::TagDiff;

/// Every kind the provider handles: the one table that validation, running and the lint read.
pub const KINDS: &[Kind] = &[Kind::of::<DeliverySource>(), Kind::of::<DeliveryDestination>(), Kind::of::<Delivery>()];

/// The `ResourceType` of every kind, in table order.
pub const SUPPORTED_TYPES: [&str; KINDS.len()] = {
    let mut names = [""; KINDS.len()];
    let mut i = 0;
    while i < KINDS.len() {
        names[i] = KINDS[i].type_name;
        i += 1;
    }
    names
};

/// What an operation gets to work with: Logs (with the deadline) and who is asking.
pub struct Ctx {
    pub logs: Logs,
    pub owner: Owner,
}

/// One resource kind. `parse` validates the desired properties without any AWS call.
pub trait Resource: Sized + Send + Sync + 'static {
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

type Running<'a> = Pin<Box<dyn Future<Output = Result<Outcome, Error>> + Send + 'a>>;

/// One row of [`KINDS`]: a kind's names and its operations, without its type.
pub struct Kind {
    pub type_name: &'static str,
    pub properties: &'static [&'static str],
    /// Checks `ResourceProperties` as Create and Update do, without any AWS call.
    pub validate: fn(&Value) -> Result<(), Error>,
    run: for<'a> fn(&'a Ctx, &'a Request) -> Running<'a>,
}

impl Kind {
    const fn of<R: Resource>() -> Kind {
        Kind { type_name: R::TYPE, properties: R::PROPERTIES, validate: validate_kind::<R>, run: boxed_run_kind::<R> }
    }

    /// The kind of `resource_type`, if the provider handles it.
    pub fn of_type(resource_type: &str) -> Option<&'static Kind> {
        KINDS.iter().find(|k| k.type_name == resource_type)
    }
}

fn unsupported(resource_type: &str) -> Error {
    Error::UnsupportedResourceType { resource_type: shorten(resource_type, 100), supported: &SUPPORTED_TYPES }
}

/// Checks a request the way `run` would, without touching AWS.
pub fn validate(request: &Request) -> Result<(), Error> {
    if matches!(request.action, Action::Delete { .. }) {
        return Ok(());
    }
    let kind = Kind::of_type(&request.resource_type).ok_or_else(|| unsupported(&request.resource_type))?;
    (kind.validate)(&request.properties)
}

/// Runs the request against CloudWatch Logs.
pub async fn run(ctx: &Ctx, request: &Request) -> Result<Outcome, Error> {
    match (Kind::of_type(&request.resource_type), &request.action) {
        (Some(kind), _) => (kind.run)(ctx, request).await,
        (None, Action::Delete { physical_id }) => {
            // A type we never create cannot have left anything behind; refusing would wedge the stack.
            tracing::warn!(resource_type = %shorten(&request.resource_type, 100), "Delete of an unsupported ResourceType answered SUCCESS without any call");
            Ok(Outcome { physical_id: physical_id.clone(), data: Vec::new() })
        }
        (None, _) => Err(unsupported(&request.resource_type)),
    }
}

fn validate_kind<R: Resource>(properties: &Value) -> Result<(), Error> {
    R::parse(properties).map(drop)
}

fn boxed_run_kind<'a, R: Resource>(ctx: &'a Ctx, request: &'a Request) -> Running<'a> {
    Box::pin(run_kind::<R>(ctx, request))
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
