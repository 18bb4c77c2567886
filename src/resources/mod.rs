//! The resource kinds behind one small trait, and the one table ([`KINDS`]) that dispatches a
//! request to one of them, for validation and for running alike.
//! Answering, deadlines and panics are not its concern (it knows the [`Request`], not the event or
//! the answer); this is only "what does Create / Update / Delete of this kind do against CloudWatch Logs".

mod config_template;
mod delivery;
mod destination;
mod named;
mod owner;
pub mod place;
pub mod plan;
mod source;
mod tags;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use serde_json::Value;

use crate::clients::Clients;
use crate::logs::Logs;
use crate::props::Problems;
use crate::request::{Action, Outcome, Request};
use crate::text::shorten;
use crate::Error;

pub use delivery::Delivery;
pub use destination::DeliveryDestination;
pub use owner::{LiveTags, Owner};
pub use place::{Common, Location};
pub use plan::{Decision, Facts};
pub use source::DeliverySource;
pub use tags::TagDiff;

/// Every kind the provider handles: the one table that validation, running and the lint read.
pub const KINDS: &[Kind] = &[
    Kind::of::<DeliverySource>(),
    Kind::of::<DeliveryDestination>(),
    Kind::of::<Delivery>(),
];

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

/// What one request runs with: the process's Logs clients, the deadline, who is asking and
/// where the function runs. [`Env::ctx`] makes the [`Ctx`] of one resource's place from it.
pub struct Env {
    pub clients: Arc<Clients>,
    pub deadline: Instant,
    pub owner: Owner,
    /// The function's region, the stack's partition and account.
    pub home: Location,
    /// The AssumeRole session name for this stack resource.
    pub session: String,
}

impl Env {
    pub fn new(clients: Arc<Clients>, deadline: Instant, request: &Request) -> Env {
        let home = Location::home(clients.home_region(), &request.stack_id);
        Env {
            clients,
            deadline,
            owner: Owner {
                stack_id: request.stack_id.clone(),
                logical_id: request.logical_id.clone(),
            },
            home,
            session: place::session_name(&request.stack_id, &request.logical_id),
        }
    }

    /// The context for a resource at `at`, its calls made with `role` (none: the function's own
    /// credentials). Builds nothing for the function's own place; makes no call.
    pub async fn ctx(&self, at: Location, role: Option<&place::Role>) -> Result<Ctx, Error> {
        let client = self
            .clients
            .get(&at.region, role, &self.session)
            .await
            .map_err(|why| Error::invalid("AssumeRoleArn", format!("cannot be assumed: {why}")))?;
        let logs = Logs::new(client, self.deadline)
            .with_role(role.map(|r| r.arn.clone()))
            .with_unavailable(self.clients.unavailable_reason());
        Ok(Ctx {
            logs,
            owner: self.owner.clone(),
            at,
            home: self.home.clone(),
        })
    }
}

/// What an operation gets to work with: Logs (with the deadline) for the resource's place, who is
/// asking, and where the resource is (`at`) as against where the function runs (`home`).
pub struct Ctx {
    pub logs: Logs,
    pub owner: Owner,
    pub at: Location,
    pub home: Location,
}

impl Ctx {
    /// The physical id of `id` (a name or delivery id) of `arn_type` here: see [`place`].
    pub fn physical_id(&self, arn_type: &str, id: &str) -> String {
        place::physical_id(&self.home, &self.at, arn_type, id)
    }

    /// Where the resource known by `physical_id` is, and its name or id there.
    pub fn locate<'a>(&self, arn_type: &str, physical_id: &'a str) -> (Location, &'a str) {
        place::locate(&self.home, arn_type, physical_id)
    }
}

/// One resource kind. `parse` validates the desired properties without any AWS call.
pub trait Resource: Sized + Send + Sync + 'static {
    const TYPE: &'static str;
    /// The property names the template may use (besides CloudFormation's ServiceToken/ServiceTimeout),
    /// [`place::COMMON_PROPERTIES`] included (written with [`place::properties`]).
    const PROPERTIES: &'static [&'static str];
    /// The `Fn::GetAtt` attributes a SUCCESS answers, in the order of its Data: the one list the
    /// answer ([`data`]), the lint, the demo and the README test read.
    const ATTRIBUTES: &'static [&'static str];
    /// The resource type in its ARN (`arn:…:logs:REGION:ACCOUNT:<ARN_TYPE>:<id>`).
    const ARN_TYPE: &'static str;
    fn parse(properties: &Value) -> Result<Self, Problems>;
    /// The properties every kind shares (Region, AssumeRoleArn, AdoptExisting).
    fn common(&self) -> &Common;
    /// What must hold where the resource will be (`at`), checked before any call.
    fn check_place(&self, _at: &Location) -> Result<(), Error> {
        Ok(())
    }
}

/// What Create, Update and Delete of a kind do against CloudWatch Logs: written once for the kinds
/// addressed by their Name ([`named`]), and by the delivery for itself.
pub trait Operations: Resource {
    fn create(&self, ctx: &Ctx) -> impl Future<Output = Result<Outcome, Error>> + Send;
    /// Update the resource known as `physical_id` towards `self`; a different physical id in the
    /// outcome means replacement. `old` is what the template asked for before
    /// (`OldResourceProperties`), when it is there and still valid.
    fn update(
        &self,
        ctx: &Ctx,
        physical_id: &str,
        old: Option<&Self>,
    ) -> impl Future<Output = Result<Outcome, Error>> + Send;
    fn delete(ctx: &Ctx, physical_id: &str) -> impl Future<Output = Result<(), Error>> + Send;
}

type Running<'a> = Pin<Box<dyn Future<Output = Result<Outcome, Error>> + Send + 'a>>;

/// One row of [`KINDS`]: a kind's names and its operations, without its type.
pub struct Kind {
    pub type_name: &'static str,
    pub properties: &'static [&'static str],
    /// The `Fn::GetAtt` attributes it answers ([`Resource::ATTRIBUTES`]).
    pub attributes: &'static [&'static str],
    /// The resource type in its ARN ([`Resource::ARN_TYPE`]).
    pub arn_type: &'static str,
    /// Checks `ResourceProperties` as Create and Update do, without any AWS call.
    pub validate: fn(&Value) -> Result<(), Problems>,
    run: for<'a> fn(&'a Env, &'a Request) -> Running<'a>,
    check_place: fn(&Value, &Location) -> Result<(), Error>,
    decide: fn(&Value, &Value, &Location, &Facts) -> Decision,
}

impl Kind {
    const fn of<R: Operations + plan::Decide>() -> Kind {
        Kind {
            type_name: R::TYPE,
            properties: R::PROPERTIES,
            attributes: R::ATTRIBUTES,
            arn_type: R::ARN_TYPE,
            validate: validate_kind::<R>,
            run: boxed_run_kind::<R>,
            check_place: check_place_of::<R>,
            decide: plan::decide_properties::<R>,
        }
    }

    /// What an Update from `old` to `new` properties will do when the function runs in
    /// `function_region` (empty: unknown, place not checked), as the handler decides it ([`plan`]);
    /// no AWS call. For the lint's `--previous` plan.
    pub fn plan_update(&self, old: &Value, new: &Value, function_region: &str, facts: &Facts) -> Decision {
        (self.decide)(old, new, &Location::lint_home(function_region), facts)
    }

    /// The problems of valid `properties` that depend on where the resource would be made when the
    /// function runs in `function_region` (a CloudFront source outside us-east-1, a delivery and its
    /// destination in two regions); no AWS call. For the lint, which knows no stack.
    pub fn place_problem(&self, properties: &Value, function_region: &str) -> Option<Error> {
        (self.check_place)(properties, &Location::lint_home(function_region)).err()
    }

    /// The kind of `resource_type`, if the provider handles it.
    pub fn of_type(resource_type: &str) -> Option<&'static Kind> {
        KINDS.iter().find(|k| k.type_name == resource_type)
    }
}

/// The Data of `R`'s answer: `values` named by [`Resource::ATTRIBUTES`], in that order (one value
/// per attribute, checked at compile time); an absent value (`None`) is left out.
pub fn data<R: Resource, const N: usize>(values: [Option<String>; N]) -> Vec<(&'static str, String)> {
    const { assert!(R::ATTRIBUTES.len() == N, "one value per attribute") };
    R::ATTRIBUTES
        .iter()
        .copied()
        .zip(values)
        .filter_map(|(name, value)| Some((name, value?)))
        .collect()
}

fn unsupported(resource_type: &str) -> Error {
    Error::UnsupportedResourceType {
        resource_type: shorten(resource_type, 100),
        supported: &SUPPORTED_TYPES,
    }
}

/// Checks a request the way `run` would, without touching AWS.
pub fn validate(request: &Request) -> Result<(), Error> {
    if matches!(request.action, Action::Delete { .. }) {
        return Ok(());
    }
    let kind = Kind::of_type(&request.resource_type).ok_or_else(|| unsupported(&request.resource_type))?;
    Ok((kind.validate)(&request.properties)?)
}

/// Runs the request against CloudWatch Logs.
pub async fn run(env: &Env, request: &Request) -> Result<Outcome, Error> {
    match (Kind::of_type(&request.resource_type), &request.action) {
        (Some(kind), _) => (kind.run)(env, request).await,
        (None, Action::Delete { physical_id }) => {
            // A type we never create cannot have left anything behind; refusing would wedge the stack.
            tracing::warn!(resource_type = %shorten(&request.resource_type, 100), "Delete of an unsupported ResourceType answered SUCCESS without any call");
            Ok(Outcome {
                physical_id: physical_id.clone(),
                data: Vec::new(),
            })
        }
        (None, _) => Err(unsupported(&request.resource_type)),
    }
}

fn validate_kind<R: Resource>(properties: &Value) -> Result<(), Problems> {
    R::parse(properties).map(drop)
}

/// `home`: the function's place (the lint's: its region, no account).
fn check_place_of<R: Resource>(properties: &Value, home: &Location) -> Result<(), Error> {
    let desired = R::parse(properties)?;
    desired.check_place(&home.of(desired.common()))
}

fn boxed_run_kind<'a, R: Operations>(env: &'a Env, request: &'a Request) -> Running<'a> {
    Box::pin(run_kind::<R>(env, request))
}

/// Create and Update work where the new properties place the resource; Delete where its physical
/// id says it is (see [`place`]), with the event's role if that reaches the resource's account.
async fn run_kind<R: Operations>(env: &Env, request: &Request) -> Result<Outcome, Error> {
    match &request.action {
        Action::Create | Action::Update { .. } => {
            let desired = R::parse(&request.properties)?;
            let at = env.home.of(desired.common());
            desired.check_place(&at)?;
            let ctx = env.ctx(at, desired.common().role.as_ref()).await?;
            match &request.action {
                Action::Update { physical_id } => {
                    let old = request.old_properties.as_ref().and_then(|p| R::parse(p).ok());
                    desired.update(&ctx, physical_id, old.as_ref()).await
                }
                _ => desired.create(&ctx).await,
            }
        }
        Action::Delete { physical_id } => {
            let (at, _) = place::locate(&env.home, R::ARN_TYPE, physical_id);
            let role = Common::lenient(&request.properties)
                .role
                .filter(|role| role.account == at.account);
            if role.is_none() && at.account != env.home.account {
                return Err(Error::invalid(
                    "AssumeRoleArn",
                    format!(
                        "'{physical_id}' is in account {}, and the event names no role in that account to delete it with; \
                         nothing was deleted (set AssumeRoleArn to a role of account {} and delete again, or delete it by hand)",
                        at.account, at.account
                    ),
                ));
            }
            let ctx = env.ctx(at, role.as_ref()).await?;
            R::delete(&ctx, physical_id).await?;
            Ok(Outcome {
                physical_id: physical_id.clone(),
                data: Vec::new(),
            })
        }
    }
}
