//! Order mistakes: a delivery that names a source or destination of the same template by its
//! name or ARN (a literal, or a `!Sub` of the same text) instead of `!Ref` / `!GetAtt`.
//!
//! CloudFormation orders resources only by `Ref`, `Fn::GetAtt`, `Fn::Sub` variables and
//! `DependsOn` ("DependsOn attribute", CloudFormation user guide). Without one of them the source,
//! the destination and the delivery are created together: the delivery races its source and fails
//! at random (CreateDelivery: "Requested Delivery Source does not exist in this account."). They
//! are deleted together too, and the service refuses to delete a source or destination a delivery
//! still uses (docs/SERVICE-RULES.md#in-use-cannot-be-deleted).

use std::collections::{HashMap, HashSet};

use crate::check::{Finding, Resource, Severity};
use crate::yaml::{Node, Value};

const SOURCE: &str = "Custom::DeliverySource";
const DESTINATION: &str = "Custom::DeliveryDestination";
const DELIVERY: &str = "Custom::Delivery";

/// What a delivery property names, and how to name it so that CloudFormation orders the two.
struct Link {
    property: &'static str,
    /// The kind of resource it names.
    kind: &'static str,
    /// The ARN resource type of that kind (`…:delivery-source:NAME`).
    arn_type: &'static str,
    /// The intrinsic that gives the value, for a logical id.
    fix: fn(&str) -> String,
}

const LINKS: [Link; 2] = [
    Link {
        property: "DeliverySourceName",
        kind: SOURCE,
        arn_type: "delivery-source",
        fix: |id| format!("!Ref {id}"),
    },
    Link {
        property: "DeliveryDestinationArn",
        kind: DESTINATION,
        arn_type: "delivery-destination",
        fix: |id| format!("!GetAtt {id}.Arn"),
    },
];

/// Every delivery of `ours` that names a source or destination of the template by text, without
/// a dependency on it (direct or through other resources of `all`).
pub fn check(ours: &[&Resource], all: &[Resource]) -> Vec<Finding> {
    let depends = dependencies(all);
    let mut out = Vec::new();
    for delivery in ours.iter().filter(|r| r.type_name() == DELIVERY) {
        let Some(props) = delivery.node.get("Properties") else {
            continue;
        };
        for link in &LINKS {
            let Some(entry) = props.entry(link.property) else {
                continue;
            };
            let Some(named) = text(&entry.value).map(|t| name_in(t, link.arn_type)) else {
                continue;
            };
            let target = ours
                .iter()
                .find(|r| r.type_name() == link.kind && resource_name(r) == Some(named));
            let Some(target) = target else { continue };
            if !reaches(&depends, delivery.logical_id, target.logical_id) {
                out.push(delivery.finding(entry.line, link.property, message(link, named, target), Severity::Error));
            }
        }
    }
    out
}

fn message(link: &Link, named: &str, target: &Resource) -> String {
    let id = target.logical_id;
    format!(
        "names {id} (line {}) by its name '{named}', which gives CloudFormation no order between them: it would create the \
         delivery and {id} at the same time (the delivery fails when it comes first) and delete them at the same time (the \
         service refuses to delete a {} a delivery still uses); use `{}: {}` (or add `DependsOn: {id}`)",
        target.line,
        if link.kind == SOURCE { "source" } else { "destination" },
        link.property,
        (link.fix)(id),
    )
}

/// The text of a literal or of a `!Sub` (its `${…}` left as written): what names are compared by.
fn text(node: &Node) -> Option<&str> {
    match node.intrinsic() {
        None => node.as_str(),
        Some(("Fn::Sub", arg)) => match &arg.value {
            Value::Str(text) => Some(text),
            Value::Seq(items) => items.first()?.as_str(),
            _ => None,
        },
        Some(_) => None,
    }
}

/// The name an ARN of `arn_type` ends in, or the text itself when it is no such ARN.
fn name_in<'a>(text: &'a str, arn_type: &str) -> &'a str {
    match text.split_once(&format!(":{arn_type}:")) {
        Some((arn, name)) if arn.starts_with("arn:") => name,
        _ => text,
    }
}

/// A source's or destination's `Name`, as text.
fn resource_name<'a>(r: &'a Resource) -> Option<&'a str> {
    text(r.node.get("Properties")?.get("Name")?)
}

/// Each resource's direct dependencies: `DependsOn`, and every `Ref`, `Fn::GetAtt` and `Fn::Sub`
/// variable in its definition.
pub(crate) fn dependencies<'a>(all: &'a [Resource]) -> HashMap<&'a str, HashSet<String>> {
    all.iter()
        .map(|r| {
            let mut names = HashSet::new();
            referenced(r.node, &mut names);
            match r.node.get("DependsOn").map(|d| &d.value) {
                Some(Value::Str(one)) => drop(names.insert(one.clone())),
                Some(Value::Seq(many)) => names.extend(many.iter().filter_map(Node::as_str).map(str::to_owned)),
                _ => {}
            }
            (r.logical_id, names)
        })
        .collect()
}

pub(crate) fn referenced(node: &Node, out: &mut HashSet<String>) {
    match &node.value {
        Value::Intrinsic { name, arg } => {
            match (name.as_str(), &arg.value) {
                ("Ref", Value::Str(id)) => drop(out.insert(id.clone())),
                ("Fn::GetAtt", Value::Str(path)) => drop(out.insert(path.split('.').next().unwrap_or(path).to_owned())),
                ("Fn::GetAtt", Value::Seq(parts)) => {
                    out.extend(parts.first().and_then(Node::as_str).map(str::to_owned))
                }
                ("Fn::Sub", _) => out.extend(text(node).map(sub_variables).unwrap_or_default()),
                _ => {}
            }
            referenced(arg, out);
        }
        Value::Seq(items) => items.iter().for_each(|item| referenced(item, out)),
        Value::Map(entries) => entries.iter().for_each(|e| referenced(&e.value, out)),
        Value::Null | Value::Str(_) => {}
    }
}

/// The logical ids a `Fn::Sub` text names: `${Id}` and `${Id.Attribute}` (not `${!Literal}`).
fn sub_variables(text: &str) -> Vec<String> {
    text.split("${")
        .skip(1)
        .filter_map(|rest| Some(rest.split_once('}')?.0))
        .filter(|v| !v.starts_with('!'))
        .map(|v| v.split('.').next().unwrap_or(v).to_owned())
        .collect()
}

/// Whether `from` depends on `to`, directly or through other resources.
fn reaches(depends: &HashMap<&str, HashSet<String>>, from: &str, to: &str) -> bool {
    let mut seen = HashSet::new();
    let mut next = vec![from.to_owned()];
    while let Some(id) = next.pop() {
        for dep in depends.get(id.as_str()).into_iter().flatten() {
            if dep == to {
                return true;
            }
            if seen.insert(dep.clone()) {
                next.push(dep.clone());
            }
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_read_from_arns_and_sub_texts() {
        assert_eq!(
            name_in(
                "arn:aws:logs:us-east-1:1:delivery-destination:dst",
                "delivery-destination"
            ),
            "dst"
        );
        assert_eq!(
            name_in(
                "arn:${AWS::Partition}:logs:x:y:delivery-source:${AWS::StackName}-s",
                "delivery-source"
            ),
            "${AWS::StackName}-s"
        );
        assert_eq!(name_in("my-src", "delivery-source"), "my-src");
        assert_eq!(
            sub_variables("${A}-${B.Arn}-${!C}-${AWS::Region}"),
            ["A", "B", "AWS::Region"]
        );
    }
}
