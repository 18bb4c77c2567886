//! The create / update / delete shape the kinds addressed by `Name` share (delivery sources and
//! destinations): find the name, then by whose it is adopt, converge, create or refuse. A Put is
//! not idempotent: when an attempt that timed out had in fact succeeded, the retry meets a
//! conflict ("Tags can only be provided when a resource is being created", "already exists"), so
//! on a conflict the resource is read again and adopted if its ownership tags say it is ours.

use std::collections::HashMap;
use std::future::Future;

use super::owner::{delete_if_ours, refuse_or_adopt, Existing, Found};
use super::plan::{self, Before, Change, Decide, Decision, Facts};
use super::{tags, Ctx, Location, Operations, Outcome, Resource};
use crate::props::{is_valid_name, Tags};
use crate::Error;

/// What a kind addressed by its Name supplies; [`create`], [`update`] and [`delete`] do the rest.
pub trait Named: Resource {
    /// For messages: "delivery source".
    const KIND: &'static str;
    /// The call that creates it (for the log line of an adopted conflict).
    const PUT: &'static str;
    /// The call that deletes it (named when the service refuses a delete).
    const DELETE: &'static str;
    /// The resource as the service reports it.
    type Live: Send;

    fn name(&self) -> &str;
    /// The template's tags.
    fn tags(&self) -> &Tags;
    /// The resource of that name and whose it is (Get, then ListTagsForResource).
    fn find(ctx: &Ctx, name: &str) -> impl Future<Output = Result<Found<Self::Live>, Error>> + Send;
    /// The Put of this resource: with `tags` to create it, without to change it in place (the
    /// service takes tags only on create).
    fn put(
        &self,
        ctx: &Ctx,
        tags: Option<HashMap<String, String>>,
    ) -> impl Future<Output = Result<Self::Live, Error>> + Send;
    /// What follows a successful Put (a destination's policy) and the answer.
    fn finish_new(&self, ctx: &Ctx, live: Self::Live) -> impl Future<Output = Result<Outcome, Error>> + Send;
    /// Brings an existing resource in line: create-only properties must match, the rest changes in
    /// place. `old`: the template's previous properties, on Update.
    fn converge(
        &self,
        ctx: &Ctx,
        existing: Existing<Self::Live>,
        old: Option<&Self>,
    ) -> impl Future<Output = Result<Outcome, Error>> + Send;
    fn delete_call(ctx: &Ctx, name: &str) -> impl Future<Output = Result<(), Error>> + Send;
    /// The in-place changes from the template's `old` properties (same name and place), tags and
    /// shared properties aside; `Err`: a create-only property changes ([`Named::create_only`]).
    fn changes_from(&self, old: &Self) -> Result<Vec<Change>, Error>;

    /// A rename the service could not carry out (checked before any call); by default any is fine.
    fn check_rename(&self, _old_name: &str, _old: Option<&Self>) -> Result<(), Error> {
        Ok(())
    }

    /// The error for a Put conflict when nothing of that name exists; by default the refusal itself.
    fn explain_conflict(&self, refusal: Error) -> Error {
        refusal
    }

    /// The refusal of an Update that would change `property`, which the service cannot change in place.
    fn create_only(property: &'static str, current: impl Into<String>, desired: impl Into<String>) -> Error {
        Error::CreateOnlyChange {
            kind: Self::KIND,
            property,
            current: current.into(),
            desired: desired.into(),
        }
    }
}

/// A value the template states, to be changed in place when it differs from what the template said
/// before (`old`, on Update) or from what the service reports (`live`, when it reports one). An
/// unstated one is left as it is: the service's APIs have no reset.
pub fn changed<T: PartialEq + ?Sized>(desired: Option<&T>, old: Option<Option<&T>>, live: Option<&T>) -> bool {
    old.is_some_and(|old| plan::differs(old, desired)) || live.is_some_and(|live| plan::differs(Some(live), desired))
}

/// A new place or Name is a replacement (a rename the service could not carry out is refused);
/// otherwise what changed since the old properties changes in place.
impl<R: Named> Decide for R {
    fn decide(&self, before: &Before<'_, Self>, at: &Location, _facts: &Facts) -> Decision {
        if let Some(moved) = plan::moved(R::KIND, before.at, at) {
            return moved;
        }
        if self.name() != before.id {
            if let Err(refusal) = self.check_rename(before.id, before.props) {
                return Decision::Refused(refusal);
            }
            let why = format!("Name changes ('{}' -> '{}')", before.id, self.name());
            return Decision::replaced(R::KIND, why);
        }
        let Some(old) = before.props else {
            return Decision::Unchanged; // nothing to compare with but the live resource
        };
        let mut changes = match self.changes_from(old) {
            Ok(changes) => changes,
            Err(refusal) => return Decision::Refused(refusal),
        };
        changes.extend(plan::tag_change(old.tags(), self.tags()));
        plan::common_changes(old.common(), self.common(), &mut changes);
        Decision::in_place(changes)
    }

    fn id_in_properties(&self) -> String {
        self.name().to_owned()
    }
}

impl<R: Named> Operations for R {
    async fn create(&self, ctx: &Ctx) -> Result<Outcome, Error> {
        create(self, ctx).await
    }

    async fn update(&self, ctx: &Ctx, physical_id: &str, old: Option<&Self>) -> Result<Outcome, Error> {
        update(self, ctx, physical_id, old).await
    }

    async fn delete(ctx: &Ctx, physical_id: &str) -> Result<(), Error> {
        delete::<Self>(ctx, physical_id).await
    }
}

/// The answer names the resource by its physical id where it is (its name at home, else its ARN).
pub async fn create<R: Named>(desired: &R, ctx: &Ctx) -> Result<Outcome, Error> {
    let outcome = match R::find(ctx, desired.name()).await? {
        Found::Nothing => put_new(desired, ctx).await,
        Found::Ours(existing) => adopt_ours(desired, ctx, existing).await,
        Found::Foreign(existing) => take_over(desired, ctx, existing).await,
    };
    outcome.map(|o| placed::<R>(ctx, o))
}

/// As the plan decides ([`Decide`]): a replacement creates the new resource and CloudFormation
/// deletes the old id afterwards (where that id says it is); a refusal is answered before any call.
/// Otherwise converge what is there (drift included), or recreate it if it was deleted outside.
pub async fn update<R: Named>(desired: &R, ctx: &Ctx, physical_id: &str, old: Option<&R>) -> Result<Outcome, Error> {
    let (was_at, old_name) = ctx.locate(R::ARN_TYPE, physical_id);
    let before = Before {
        at: &was_at,
        id: old_name,
        props: old,
    };
    match desired.decide(&before, &ctx.at, &Facts::default()) {
        Decision::Refused(refusal) => return Err(refusal),
        Decision::Replaced(_) => return create(desired, ctx).await,
        Decision::Unchanged | Decision::InPlace(_) => {}
    }
    let outcome = match R::find(ctx, desired.name()).await? {
        Found::Ours(existing) => desired.converge(ctx, existing, old).await,
        Found::Foreign(..) => Err(Error::NotOurs {
            kind: R::KIND,
            id: desired.name().to_owned(),
        }),
        Found::Nothing => {
            tracing::warn!(name = %desired.name(), "{} was deleted outside CloudFormation; recreating it", R::KIND);
            put_new(desired, ctx).await
        }
    };
    outcome.map(|o| placed::<R>(ctx, o))
}

/// `ctx` is where `physical_id` says the resource is.
pub async fn delete<R: Named>(ctx: &Ctx, physical_id: &str) -> Result<(), Error> {
    let (_, name) = ctx.locate(R::ARN_TYPE, physical_id);
    if !is_valid_name(name) {
        return Ok(()); // not a name the service accepts, so nothing of that name exists
    }
    let found = R::find(ctx, name).await?;
    delete_if_ours(found, R::KIND, physical_id, R::DELETE, || R::delete_call(ctx, name)).await
}

/// The Put with the ownership tags; on a conflict, the resource read again and adopted if it is ours.
async fn put_new<R: Named>(desired: &R, ctx: &Ctx) -> Result<Outcome, Error> {
    let refusal = match desired
        .put(ctx, Some(tags::on_create(desired.tags(), &ctx.owner)))
        .await
    {
        Ok(live) => return desired.finish_new(ctx, live).await,
        Err(e) if e.is_conflict() => e,
        Err(e) => return Err(e),
    };
    tracing::info!(name = %desired.name(), error = %refusal, "{} conflicted; reading the {} again", R::PUT, R::KIND);
    match R::find(ctx, desired.name()).await? {
        Found::Nothing => Err(desired.explain_conflict(refusal)),
        Found::Ours(existing) => adopt_ours(desired, ctx, existing).await,
        Found::Foreign(existing) => take_over(desired, ctx, existing).await,
    }
}

/// Made earlier by this stack resource (a redelivered event, a retried Put that had succeeded, a
/// rollback): adopted and brought in line.
async fn adopt_ours<R: Named>(desired: &R, ctx: &Ctx, existing: Existing<R::Live>) -> Result<Outcome, Error> {
    tracing::info!(name = %desired.name(), "{} was created earlier by this stack resource; adopting it", R::KIND);
    desired.converge(ctx, existing, None).await
}

/// Someone else's: taken over only with `AdoptExisting` and when no other stack resource owns it;
/// converging it adds the ownership tags.
async fn take_over<R: Named>(desired: &R, ctx: &Ctx, existing: Existing<R::Live>) -> Result<Outcome, Error> {
    refuse_or_adopt(desired.common(), &existing.tags, R::KIND, desired.name(), "Name")?;
    tracing::info!(name = %desired.name(), "taking over the existing {} (AdoptExisting)", R::KIND);
    desired.converge(ctx, existing, None).await
}

fn placed<R: Named>(ctx: &Ctx, outcome: Outcome) -> Outcome {
    Outcome {
        physical_id: ctx.physical_id(R::ARN_TYPE, &outcome.physical_id),
        ..outcome
    }
}
