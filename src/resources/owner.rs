//! Ownership tags: every resource the handler creates carries the stack and logical id that
//! created it. That is how a Create tells "ours from an earlier attempt of this very request or a
//! rollback" (adopt) from "someone else's" (refuse), and how Delete avoids removing a resource it
//! did not create (for example under a placeholder PhysicalResourceId after a cancelled Create).
//!
//! The tags are read with ListTagsForResource, the one API that reports them: the real
//! GetDeliverySource / GetDeliveryDestination / GetDelivery answers carry no `tags`, and
//! DescribeDeliveries lists four fields only (docs/SERVICE-RULES.md#no-tags-in-get-answers: terraform-provider-aws reads tags
//! with ListTagsForResource for all three kinds; aws/aws-cli#10002). moto fills `tags` in; never
//! trust that field.

use std::collections::HashMap;
use std::future::Future;

use super::{tags, Common, Ctx};
use crate::props::Tags;
use crate::{Error, OrAbsent};

pub const STACK_TAG: &str = "cfn-logs-delivery:stack-id";
pub const LOGICAL_ID_TAG: &str = "cfn-logs-delivery:logical-id";

/// A resource's tags as ListTagsForResource reports them.
pub type LiveTags = HashMap<String, String>;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owner {
    pub stack_id: String,
    pub logical_id: String,
}

impl Owner {
    pub fn tags(&self) -> [(&'static str, &str); 2] {
        [(STACK_TAG, &self.stack_id), (LOGICAL_ID_TAG, &self.logical_id)]
    }

    /// True only when both ownership tags name this stack resource.
    pub fn owns(&self, tags: &LiveTags) -> bool {
        tags.get(STACK_TAG) == Some(&self.stack_id) && tags.get(LOGICAL_ID_TAG) == Some(&self.logical_id)
    }
}

/// What Create, Update or Delete found under the name or id it was given.
#[derive(Debug)]
pub enum Found<T> {
    Nothing,
    /// Created earlier by this same stack resource (a retried event, a rollback): safe to adopt.
    Ours(Existing<T>),
    /// Someone else's: never overwritten or deleted; adopted only by a Create with `AdoptExisting`
    /// (see [`refuse_or_adopt`]). Its live tags say whose it is.
    Foreign(Existing<T>),
}

/// A resource found, with what reading its ownership learnt: its ARN (checked present once, here)
/// and its live tags (so the tag diff needs no second read).
#[derive(Debug)]
pub struct Existing<T> {
    pub live: T,
    pub arn: String,
    pub tags: LiveTags,
}

impl<T> Existing<T> {
    /// Brings its tags to `desired` plus the ownership tags ([`tags::sync`]).
    pub async fn sync_tags(&self, ctx: &Ctx, desired: &Tags) -> Result<(), Error> {
        tags::sync(ctx, &self.arn, &self.tags, desired).await
    }
}

impl<T> Found<T> {
    /// Reads the ownership of `existing` from ListTagsForResource on the ARN `arn_of` gives.
    /// A resource that vanishes between the two reads is `Nothing`; any other failure to read
    /// the tags is an error naming the call, never "not ours".
    pub async fn classify(
        ctx: &Ctx,
        existing: Option<T>,
        operation: &'static str,
        arn_of: impl Fn(&T) -> Option<&str>,
    ) -> Result<Self, Error> {
        let Some(resource) = existing else {
            return Ok(Found::Nothing);
        };
        let arn = arn_of(&resource)
            .ok_or(Error::Incomplete {
                operation,
                what: "the resource's arn",
            })?
            .to_owned();
        let Some(tags) = live_tags(ctx, &arn).await? else {
            return Ok(Found::Nothing);
        };
        let ours = ctx.owner.owns(&tags);
        let existing = Existing {
            live: resource,
            arn,
            tags,
        };
        Ok(if ours {
            Found::Ours(existing)
        } else {
            Found::Foreign(existing)
        })
    }
}

/// Whether a Create may take over a resource it found with these tags: only with `AdoptExisting`,
/// and never one whose ownership tags name another stack resource. `Err`: the refusal, saying which.
pub fn refuse_or_adopt(
    common: &Common,
    tags: &LiveTags,
    kind: &'static str,
    id: &str,
    property: &'static str,
) -> Result<(), Error> {
    let owner = match (tags.get(STACK_TAG), tags.get(LOGICAL_ID_TAG)) {
        (None, None) if common.adopt_existing => return Ok(()),
        (None, None) => None,
        (stack, logical) => Some(format!(
            "stack resource '{}' of stack {}",
            logical.map_or("?", String::as_str),
            stack.map_or("?", String::as_str)
        )),
    };
    Err(Error::AlreadyExists {
        kind,
        id: id.to_owned(),
        property,
        owner,
    })
}

/// The tags of `arn`; `None` if the resource is gone.
pub async fn live_tags(ctx: &Ctx, arn: &str) -> Result<Option<LiveTags>, Error> {
    let client = &ctx.logs.client;
    let out = ctx
        .logs
        .call("ListTagsForResource", || {
            client.list_tags_for_resource().resource_arn(arn).send()
        })
        .await
        .or_absent()?;
    Ok(out.map(|o| o.tags.unwrap_or_default()))
}

/// Delete as the kinds share it: already gone is done; someone else's is left in place; ours is
/// deleted (and gone by the time of the call counts as done too). A refusal because a delivery
/// still uses it is explained as such.
pub async fn delete_if_ours<T, Fut>(
    found: Found<T>,
    kind: &'static str,
    id: &str,
    operation: &'static str,
    delete: impl FnOnce() -> Fut,
) -> Result<(), Error>
where
    Fut: Future<Output = Result<(), Error>>,
{
    match found {
        Found::Nothing => Ok(()),
        Found::Foreign(..) => {
            tracing::warn!(kind, id, "not created by this stack resource; left in place");
            Ok(())
        }
        Found::Ours(..) => match delete().await.or_absent() {
            Ok(_) => Ok(()),
            Err(e) if e.is_conflict() && !crate::logs::is_transient_conflict(e.service_message()) => {
                Err(Error::InUse {
                    kind,
                    id: id.to_owned(),
                    operation,
                    message: e.service_message().to_owned(),
                })
            }
            Err(e) => Err(e),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owns_needs_both_tags_to_match() {
        let owner = Owner {
            stack_id: "arn:stack/a".into(),
            logical_id: "Src".into(),
        };
        let tags: LiveTags = owner
            .tags()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(owner.owns(&tags));
        let other = Owner {
            stack_id: "arn:stack/b".into(),
            logical_id: "Src".into(),
        };
        assert!(!other.owns(&tags));
        let other = Owner {
            stack_id: "arn:stack/a".into(),
            logical_id: "Other".into(),
        };
        assert!(!other.owns(&tags));
        assert!(!owner.owns(&LiveTags::new()));
    }
}
