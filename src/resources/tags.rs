//! Tags on existing resources change only through TagResource / UntagResource (Put with tags on an
//! existing resource is refused by the service). The live tags are diffed against the template's,
//! so tags changed outside CloudFormation are brought back too. Reserved keys (ours, AWS's) are
//! never touched.

use std::collections::{BTreeMap, HashMap};

use super::owner::LiveTags;
use super::{Ctx, Owner};
use crate::props::{Tags, RESERVED_TAG_PREFIXES};
use crate::Error;

/// What to change to go from the live tags to the desired ones.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TagDiff {
    pub set: BTreeMap<String, String>,
    pub remove: Vec<String>,
}

impl TagDiff {
    pub fn between(current: &HashMap<String, String>, desired: &Tags) -> TagDiff {
        let set = desired
            .0
            .iter()
            .filter(|(k, v)| current.get(*k) != Some(*v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut remove: Vec<String> = current
            .keys()
            .filter(|k| !is_reserved(k) && !desired.0.contains_key(*k))
            .cloned()
            .collect();
        remove.sort();
        TagDiff { set, remove }
    }

    pub fn is_empty(&self) -> bool {
        self.set.is_empty() && self.remove.is_empty()
    }
}

fn is_reserved(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    RESERVED_TAG_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// The tags to pass when creating: the user's plus the ownership tags.
pub fn on_create(desired: &Tags, owner: &Owner) -> HashMap<String, String> {
    let mut all: HashMap<String, String> = desired.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    all.extend(owner.tags().iter().map(|(k, v)| (k.to_string(), v.to_string())));
    all
}

/// Brings the tags of `arn` from `live` (as ListTagsForResource reported them when ownership was
/// checked) to `desired` plus the ownership tags (missing only on a resource being taken over),
/// with UntagResource / TagResource only where they differ.
pub async fn sync(ctx: &Ctx, arn: &str, live: &LiveTags, desired: &Tags) -> Result<(), Error> {
    let client = &ctx.logs.client;
    let mut diff = TagDiff::between(live, desired);
    for (key, value) in ctx.owner.tags() {
        if live.get(key).map(String::as_str) != Some(value) {
            diff.set.insert(key.to_owned(), value.to_owned());
        }
    }
    if !diff.remove.is_empty() {
        ctx.logs
            .call("UntagResource", || {
                client
                    .untag_resource()
                    .resource_arn(arn)
                    .set_tag_keys(Some(diff.remove.clone()))
                    .send()
            })
            .await?;
    }
    if !diff.set.is_empty() {
        let set: HashMap<String, String> = diff.set.clone().into_iter().collect();
        ctx.logs
            .call("TagResource", || {
                client
                    .tag_resource()
                    .resource_arn(arn)
                    .set_tags(Some(set.clone()))
                    .send()
            })
            .await?;
    }
    if !diff.is_empty() {
        tracing::info!(
            arn,
            set = diff.set.len(),
            removed = diff.remove.len(),
            "tags brought in line with the template"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(pairs: &[(&str, &str)]) -> Tags {
        Tags(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    fn live(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn diff_sets_changed_and_new_and_removes_dropped() {
        let current = live(&[("team", "a"), ("env", "dev"), ("old", "x")]);
        let diff = TagDiff::between(&current, &tags(&[("team", "b"), ("env", "dev"), ("new", "y")]));
        assert_eq!(diff.set, tags(&[("team", "b"), ("new", "y")]).0);
        assert_eq!(diff.remove, vec!["old".to_string()]);
    }

    #[test]
    fn diff_never_touches_reserved_keys() {
        let current = live(&[
            ("cfn-logs-delivery:stack-id", "s"),
            ("aws:cloudformation:stack-name", "n"),
            ("team", "a"),
        ]);
        let diff = TagDiff::between(&current, &Tags::default());
        assert_eq!(diff.remove, vec!["team".to_string()]);
        assert!(diff.set.is_empty());
    }

    #[test]
    fn identical_tags_mean_no_calls() {
        let current = live(&[("team", "a"), ("cfn-logs-delivery:logical-id", "L")]);
        assert!(TagDiff::between(&current, &tags(&[("team", "a")])).is_empty());
    }

    #[test]
    fn create_tags_carry_ownership() {
        let owner = Owner {
            stack_id: "s".into(),
            logical_id: "L".into(),
        };
        let all = on_create(&tags(&[("team", "a")]), &owner);
        assert_eq!(all.len(), 3);
        assert!(owner.owns(&all));
    }
}
