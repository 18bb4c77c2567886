//! Ownership tags: every resource the handler creates carries the stack and logical id that
//! created it. That is how a Create tells "ours from an earlier attempt of this very request or a
//! rollback" (adopt) from "someone else's" (refuse), and how Delete avoids removing a resource it
//! did not create (for example under a placeholder PhysicalResourceId after a cancelled Create).

use std::collections::HashMap;
use std::future::Future;

use crate::{Error, OrAbsent};

pub const STACK_TAG: &str = "cfn-logs-delivery:stack-id";
pub const LOGICAL_ID_TAG: &str = "cfn-logs-delivery:logical-id";

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
    pub fn owns(&self, tags: Option<&HashMap<String, String>>) -> bool {
        let Some(tags) = tags else { return false };
        tags.get(STACK_TAG) == Some(&self.stack_id) && tags.get(LOGICAL_ID_TAG) == Some(&self.logical_id)
    }
}

/// What Create (or Delete) found under the name it was given.
pub enum Found<T> {
    Nothing,
    /// Created earlier by this same stack resource (a retried event, a rollback): safe to adopt.
    Ours(T),
    /// Someone else's: never adopted, overwritten or deleted.
    Foreign(T),
}

impl<T> Found<T> {
    pub fn classify(owner: &Owner, existing: Option<T>, tags: impl Fn(&T) -> Option<&HashMap<String, String>>) -> Self {
        match existing {
            None => Found::Nothing,
            Some(r) if owner.owns(tags(&r)) => Found::Ours(r),
            Some(r) => Found::Foreign(r),
        }
    }
}

/// Delete as the kinds share it: already gone is done; someone else's is left in place; ours is
/// deleted (and gone by the time of the call counts as done too).
pub async fn delete_if_ours<T, Fut>(found: Found<T>, kind: &str, id: &str, delete: impl FnOnce() -> Fut) -> Result<(), Error>
where
    Fut: Future<Output = Result<(), Error>>,
{
    match found {
        Found::Nothing => Ok(()),
        Found::Foreign(_) => {
            tracing::warn!(kind, id, "not created by this stack resource; left in place");
            Ok(())
        }
        Found::Ours(_) => delete().await.or_absent().map(drop),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owns_needs_both_tags_to_match() {
        let owner = Owner { stack_id: "arn:stack/a".into(), logical_id: "Src".into() };
        let tags: HashMap<String, String> = owner.tags().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert!(owner.owns(Some(&tags)));
        let other = Owner { stack_id: "arn:stack/b".into(), logical_id: "Src".into() };
        assert!(!other.owns(Some(&tags)));
        let other = Owner { stack_id: "arn:stack/a".into(), logical_id: "Other".into() };
        assert!(!other.owns(Some(&tags)));
        assert!(!owner.owns(None));
        assert!(!owner.owns(Some(&HashMap::new())));
    }
}
