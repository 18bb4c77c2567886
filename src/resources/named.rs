//! The create / update / delete shape the kinds addressed by `Name` share (delivery sources and
//! destinations): find the name, then by whose it is adopt, converge, create or refuse. A Put is
//! not idempotent: when an attempt that timed out had in fact succeeded, the retry meets a
//! conflict ("Tags can only be provided when a resource is being created", "already exists"), so
//! on a conflict the resource is read again and adopted if its ownership tags say it is ours.

use std::future::Future;

use super::owner::{delete_if_ours, Found};
use super::{Ctx, LiveTags, Outcome, Resource};
use crate::props::is_valid_name;
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
    /// The resource of that name and whose it is (Get, then ListTagsForResource).
    fn find(ctx: &Ctx, name: &str) -> impl Future<Output = Result<Found<Self::Live>, Error>> + Send;
    /// The Put that creates it with the ownership tags.
    fn put_new(&self, ctx: &Ctx) -> impl Future<Output = Result<Self::Live, Error>> + Send;
    /// What follows a successful Put (a destination's policy) and the answer.
    fn finish_new(&self, ctx: &Ctx, live: Self::Live) -> impl Future<Output = Result<Outcome, Error>> + Send;
    /// Brings an existing resource in line: create-only properties must match, the rest changes in
    /// place. `old`: the template's previous properties, on Update.
    fn converge(
        &self,
        ctx: &Ctx,
        live: Self::Live,
        live_tags: &LiveTags,
        old: Option<&Self>,
    ) -> impl Future<Output = Result<Outcome, Error>> + Send;
    fn delete_call(ctx: &Ctx, name: &str) -> impl Future<Output = Result<(), Error>> + Send;

    /// A rename the service could not carry out (checked before any call); by default any is fine.
    fn check_rename(&self, _old_name: &str, _old: Option<&Self>) -> Result<(), Error> {
        Ok(())
    }

    /// The error for a Put conflict when nothing of that name exists; by default the refusal itself.
    fn explain_conflict(&self, refusal: Error) -> Error {
        refusal
    }
}

pub async fn create<R: Named>(desired: &R, ctx: &Ctx) -> Result<Outcome, Error> {
    match R::find(ctx, desired.name()).await? {
        Found::Nothing => put_new(desired, ctx).await,
        Found::Ours(live, tags) => {
            tracing::info!(name = %desired.name(), "{} was created earlier by this stack resource; adopting it", R::KIND);
            desired.converge(ctx, live, &tags, None).await
        }
        Found::Foreign(_) => Err(already_exists(desired)),
    }
}

/// A new Name is a replacement: the new resource is created and CloudFormation deletes the old id
/// afterwards. Same Name: converge what is there, or recreate it if it was deleted outside.
pub async fn update<R: Named>(desired: &R, ctx: &Ctx, physical_id: &str, old: Option<&R>) -> Result<Outcome, Error> {
    if desired.name() != physical_id {
        desired.check_rename(physical_id, old)?;
        return create(desired, ctx).await;
    }
    match R::find(ctx, desired.name()).await? {
        Found::Ours(live, tags) => desired.converge(ctx, live, &tags, old).await,
        Found::Foreign(_) => Err(Error::NotOurs { kind: R::KIND, id: desired.name().to_owned() }),
        Found::Nothing => {
            tracing::warn!(name = %desired.name(), "{} was deleted outside CloudFormation; recreating it", R::KIND);
            put_new(desired, ctx).await
        }
    }
}

pub async fn delete<R: Named>(ctx: &Ctx, physical_id: &str) -> Result<(), Error> {
    if !is_valid_name(physical_id) {
        return Ok(()); // not a name the service accepts, so nothing of that name exists
    }
    let found = R::find(ctx, physical_id).await?;
    delete_if_ours(found, R::KIND, physical_id, R::DELETE, || R::delete_call(ctx, physical_id)).await
}

/// The Put; on a conflict, the resource read again and adopted if it is ours.
async fn put_new<R: Named>(desired: &R, ctx: &Ctx) -> Result<Outcome, Error> {
    let refusal = match desired.put_new(ctx).await {
        Ok(live) => return desired.finish_new(ctx, live).await,
        Err(e) if e.is_conflict() => e,
        Err(e) => return Err(e),
    };
    match R::find(ctx, desired.name()).await? {
        Found::Ours(live, tags) => {
            tracing::info!(name = %desired.name(), error = %refusal, "{} conflicted, but the {} is ours (an earlier attempt made it); adopting it", R::PUT, R::KIND);
            desired.converge(ctx, live, &tags, None).await
        }
        Found::Foreign(_) => Err(already_exists(desired)),
        Found::Nothing => Err(desired.explain_conflict(refusal)),
    }
}

fn already_exists<R: Named>(desired: &R) -> Error {
    Error::AlreadyExists { kind: R::KIND, id: desired.name().to_owned(), property: "Name" }
}
