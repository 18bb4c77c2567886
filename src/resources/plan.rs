//! What an Update will do, decided from the template's old and new properties alone: the one
//! decision the handler's Update acts on and `cfn-logs-delivery-lint --previous` prints. CloudFormation's
//! change sets show a custom resource only as "Modify"; this says whether it changes in place (what,
//! through which call), is replaced (why, and what is deleted afterwards) or will be refused (the
//! Reason), before anything is deployed. What only the live resource can tell (drift, ownership,
//! the service's prefix on a suffix path) is the handler's to read afterwards.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use serde_json::Value;

use super::{Common, Location, Resource, TagDiff};
use crate::props::Tags;
use crate::Error;

/// The outcome of an Update of one resource.
#[derive(Debug)]
pub enum Decision {
    /// Nothing the provider would change.
    Unchanged,
    /// Changed where it stands; each change with the call that makes it.
    InPlace(Vec<Change>),
    /// A new physical id: the new resource is made, and CloudFormation deletes the old one afterwards.
    Replaced(Replacement),
    /// The handler answers FAILED with this Reason, before any call.
    Refused(Error),
}

/// One in-place change: which property, and the call that makes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub what: String,
    pub call: &'static str,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    /// Which property changes, with its old and new value.
    pub why: String,
    /// In what order the new resource is made and the old one deleted.
    pub order: String,
}

impl Decision {
    /// In place, or unchanged when there is nothing to do.
    pub fn in_place(changes: Vec<Change>) -> Decision {
        if changes.is_empty() {
            Decision::Unchanged
        } else {
            Decision::InPlace(changes)
        }
    }

    /// The usual replacement: the new resource first, the old one deleted by CloudFormation afterwards.
    pub fn replaced(kind: &str, why: String) -> Decision {
        Decision::Replaced(Replacement {
            why,
            order: format!("the new {kind} is created first; CloudFormation deletes the old one after the update"),
        })
    }

    /// The word the plan shows: `unchanged`, `in place`, `replaced`, `will be refused`.
    pub fn label(&self) -> &'static str {
        match self {
            Decision::Unchanged => "unchanged",
            Decision::InPlace(_) => "in place",
            Decision::Replaced(_) => "replaced",
            Decision::Refused(_) => "will be refused",
        }
    }
}

impl Decision {
    /// What follows the label: the changes with their calls, the replacement's why and order, or
    /// the Reason; empty when unchanged.
    pub fn detail(&self) -> String {
        match self {
            Decision::Unchanged => String::new(),
            Decision::InPlace(changes) => {
                let list: Vec<String> = changes.iter().map(|c| format!("{} ({})", c.what, c.call)).collect();
                list.join("; ")
            }
            Decision::Replaced(r) => format!("{}; {}", r.why, r.order),
            Decision::Refused(reason) => reason.to_string(),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.detail() {
            detail if detail.is_empty() => f.write_str(self.label()),
            detail => write!(f, "{}: {detail}", self.label()),
        }
    }
}

/// What the Update is from: where the resource is and its name or delivery id there (from its
/// physical id, or for the lint from the old properties), and the old properties when they are
/// known and valid.
pub struct Before<'a, R> {
    pub at: &'a Location,
    pub id: &'a str,
    pub props: Option<&'a R>,
}

/// A move to another region or account: the resource is made again there, whatever else changes.
pub fn moved(kind: &str, was: &Location, at: &Location) -> Option<Decision> {
    if was == at {
        return None;
    }
    let why = if was.region != at.region {
        format!(
            "Region changes ({} -> {})",
            or_provider(&was.region),
            or_provider(&at.region)
        )
    } else {
        format!(
            "its account changes ({} -> {}, AssumeRoleArn)",
            or_function(&was.account),
            or_function(&at.account)
        )
    };
    Some(Decision::replaced(kind, why))
}

/// The lint without `--region` knows no region for a resource without `Region`.
fn or_provider(region: &str) -> &str {
    if region.is_empty() {
        "the provider's region"
    } else {
        region
    }
}

fn or_function(account: &str) -> &str {
    if account.is_empty() {
        "the function's"
    } else {
        account
    }
}

/// The tag changes from the template's old tags to its new ones, as one change (`+key`, `~key`,
/// `-key`): the diff the handler makes against the live tags ([`TagDiff`]), here against the old ones.
pub fn tag_change(old: &Tags, new: &Tags) -> Option<Change> {
    let current: HashMap<String, String> = old.0.clone().into_iter().collect();
    let diff = TagDiff::between(&current, new);
    let set = diff.set.keys().map(|key| match old.0.contains_key(key) {
        true => format!("~{key}"),
        false => format!("+{key}"),
    });
    let parts: Vec<String> = set.chain(diff.remove.iter().map(|key| format!("-{key}"))).collect();
    let call = match (diff.set.is_empty(), diff.remove.is_empty()) {
        (true, true) => return None,
        (false, true) => "TagResource",
        (true, false) => "UntagResource",
        (false, false) => "TagResource, UntagResource",
    };
    Some(Change {
        what: format!("Tags {}", parts.join(" ")),
        call,
    })
}

/// The shared properties that change nothing on the resource itself: the role it is reached with
/// (same account) and AdoptExisting.
pub fn common_changes(old: &Common, new: &Common, changes: &mut Vec<Change>) {
    let role = |c: &Common| c.role.as_ref().map(|r| (r.arn.clone(), r.external_id.clone()));
    if role(old) != role(new) {
        changes.push(Change {
            what: "AssumeRoleArn / ExternalId (the same account: only how the resource is reached)".into(),
            call: "no call",
        });
    }
    if old.adopt_existing != new.adopt_existing {
        changes.push(Change {
            what: "AdoptExisting (read on create only)".into(),
            call: "no call",
        });
    }
}

/// A setting the template stated before and no longer states: the service has no reset, so it
/// keeps its value; said in the plan so nobody expects it back to the default.
pub fn left_as_is<T: PartialEq>(property: &str, old: Option<&T>, new: Option<&T>, changes: &mut Vec<Change>) {
    if old.is_some() && new.is_none() {
        changes.push(Change {
            what: format!("{property} removed from the template: the live value stays (the service has no reset)"),
            call: "no call",
        });
    }
}

/// A value the template states that differs from what it said before.
pub fn differs<T: PartialEq + ?Sized>(old: Option<&T>, new: Option<&T>) -> bool {
    new.is_some() && old != new
}

/// A map shown for a plan: `{a: 1, b: 2}`.
pub fn show_map(map: Option<&HashMap<String, String>>) -> String {
    let sorted: BTreeMap<_, _> = map.into_iter().flatten().collect();
    let items: Vec<String> = sorted.iter().map(|(k, v)| format!("{k}: {v}")).collect();
    format!("{{{}}}", items.join(", "))
}

/// How a kind decides its Update (written once for the named kinds, and by the delivery).
pub trait Decide: Resource {
    /// The Update from `before` to `self`, made at `at`; `facts`: what else is known of the
    /// template or the account. No call.
    fn decide(&self, before: &Before<'_, Self>, at: &Location, facts: &Facts) -> Decision;
    /// The name or id its physical id holds, as far as the properties say (the lint's `Before::id`).
    fn id_in_properties(&self) -> String;
}

/// Whatever is known of other resources for a delivery's decision: the destination types of the
/// old and new destination (one delivery per source and destination type decides the order).
#[derive(Debug, Default, Clone)]
pub struct Facts {
    pub old_destination_type: Option<String>,
    pub new_destination_type: Option<String>,
}

/// Parses the old and new properties of `R` and decides, as the handler would, with the function in
/// `home` (the lint: its region, no account). For the lint and tests; no call.
/// An unknown region (`home.region` empty) skips the checks of place.
pub fn decide_properties<R: Decide>(old: &Value, new: &Value, home: &Location, facts: &Facts) -> Decision {
    let desired = match R::parse(new) {
        Ok(desired) => desired,
        Err(problems) => return Decision::Refused(problems.into()),
    };
    let at = home.of(desired.common());
    if let Err(e) = Some(&at)
        .filter(|at| !at.region.is_empty())
        .map_or(Ok(()), |at| desired.check_place(at))
    {
        return Decision::Refused(e);
    }
    let Ok(old) = R::parse(old) else {
        return Decision::InPlace(vec![Change {
            what: "the previous properties do not validate, so the deploy compares the template with the live resource"
                .into(),
            call: "as the live resource needs",
        }]);
    };
    let (was_at, id) = (home.of(old.common()), old.id_in_properties());
    let before = Before {
        at: &was_at,
        id: &id,
        props: Some(&old),
    };
    desired.decide(&before, &at, facts)
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::{Decision, Facts};
    use crate::resources::Kind;

    const CF: &str = "arn:aws:cloudfront::123456789012:distribution/E1";

    fn plan(kind: &str, old: Value, new: Value) -> Decision {
        Kind::of_type(kind)
            .unwrap()
            .plan_update(&old, &new, "us-east-1", &Facts::default())
    }

    fn source(name: &str, arn: &str) -> Value {
        json!({"Name": name, "ResourceArn": arn, "LogType": "ACCESS_LOGS"})
    }

    #[test]
    fn a_source_rename_that_keeps_its_resource_is_refused_and_one_that_moves_it_is_replaced() {
        let refused = plan("Custom::DeliverySource", source("a", CF), source("b", CF));
        assert!(
            refused
                .to_string()
                .starts_with("will be refused: ResourceArn: renaming the delivery source 'a' to 'b'"),
            "{refused}"
        );
        let other = "arn:aws:cloudfront::123456789012:distribution/E2";
        let replaced = plan("Custom::DeliverySource", source("a", CF), source("b", other));
        assert_eq!(
            replaced.to_string(),
            "replaced: Name changes ('a' -> 'b'); the new delivery source is created first; CloudFormation deletes the old one after the update"
        );
        let refused = plan("Custom::DeliverySource", source("a", CF), source("a", other));
        assert!(
            refused
                .to_string()
                .starts_with("will be refused: ResourceArn cannot change on an existing delivery source"),
            "{refused}"
        );
    }

    #[test]
    fn in_place_changes_name_their_call() {
        let mut old = source("a", CF);
        old["Tags"] = json!([{"Key": "team", "Value": "a"}, {"Key": "gone", "Value": "x"}]);
        let mut new = source("a", CF);
        new["Tags"] = json!([{"Key": "team", "Value": "b"}, {"Key": "new", "Value": "y"}]);
        new["DeliverySourceConfiguration"] = json!({"samplingRate": "50"});
        assert_eq!(
            plan("Custom::DeliverySource", old.clone(), new).to_string(),
            "in place: DeliverySourceConfiguration {} -> {samplingRate: 50} (PutDeliverySource); \
             Tags +new ~team -gone (TagResource, UntagResource)"
        );
        assert!(matches!(
            plan("Custom::DeliverySource", old.clone(), old),
            Decision::Unchanged
        ));
        let dst = |format: &str, policy: Option<Value>| {
            let mut d = json!({"Name": "d", "DestinationResourceArn": "arn:aws:s3:::b", "OutputFormat": format});
            if let Some(policy) = policy {
                d["DeliveryDestinationPolicy"] = policy;
            }
            d
        };
        let policy = json!({"Version": "2012-10-17", "Statement": []});
        assert_eq!(
            plan(
                "Custom::DeliveryDestination",
                dst("json", Some(policy)),
                dst("json", None)
            )
            .to_string(),
            "in place: DeliveryDestinationPolicy removed (DeleteDeliveryDestinationPolicy)"
        );
        assert!(plan("Custom::DeliveryDestination", dst("json", None), dst("parquet", None))
            .to_string()
            .starts_with("will be refused: OutputFormat cannot change on an existing delivery destination ('json' -> 'parquet')"));
    }

    #[test]
    fn a_delivery_replacement_says_its_order_from_the_destination_types() {
        let arn = |name: &str| format!("arn:aws:logs:us-east-1:123456789012:delivery-destination:{name}");
        let delivery =
            |dst: &str| json!({"DeliverySourceName": "src", "DeliveryDestinationArn": arn(dst), "FieldDelimiter": ","});
        let kind = Kind::of_type("Custom::Delivery").unwrap();
        let facts = |old: &str, new: &str| Facts {
            old_destination_type: Some(old.into()),
            new_destination_type: Some(new.into()),
        };
        let same = kind.plan_update(&delivery("a"), &delivery("b"), "us-east-1", &facts("S3", "S3"));
        assert!(
            same.to_string().contains("the old delivery is deleted first (one delivery per source and destination type, and both destinations are S3)"),
            "{same}"
        );
        let other = kind.plan_update(&delivery("a"), &delivery("b"), "us-east-1", &facts("S3", "CWL"));
        assert!(
            other.to_string().contains("the new delivery is created first"),
            "{other}"
        );
        let mut new = delivery("a");
        new["FieldDelimiter"] = json!("|");
        new["RecordFields"] = json!(["date", "time"]);
        assert_eq!(
            kind.plan_update(&delivery("a"), &new, "us-east-1", &Facts::default()).to_string(),
            "in place: RecordFields '' -> 'date,time' (UpdateDeliveryConfiguration); FieldDelimiter ',' -> '|' (UpdateDeliveryConfiguration)"
        );
    }

    #[test]
    fn a_region_change_is_a_replacement_and_the_same_region_spelt_out_is_nothing() {
        let mut there = source("a", "arn:aws:logs:eu-west-1:123456789012:log-group:g");
        there["LogType"] = json!("APPLICATION_LOGS");
        let mut moved = there.clone();
        moved["Region"] = json!("eu-west-1");
        assert_eq!(
            plan("Custom::DeliverySource", there.clone(), moved).to_string(),
            "replaced: Region changes (us-east-1 -> eu-west-1); the new delivery source is created first; CloudFormation deletes the old one after the update"
        );
        let mut same = there.clone();
        same["Region"] = json!("us-east-1");
        assert!(matches!(
            plan("Custom::DeliverySource", there, same),
            Decision::Unchanged
        ));
    }
}
