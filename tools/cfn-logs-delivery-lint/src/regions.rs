//! Where each custom resource will be made, as the template says: its `Region`, else the
//! provider's (`--region`, when known). The handler's own place checks then run on that, with
//! `!Ref` / `!GetAtt` between the template's resources followed, so the lint says what the deploy
//! would answer: a CloudFront source outside us-east-1, a delivery in another region than its
//! destination or its source.

use std::collections::HashMap;

use serde_json::json;

use crate::check::{Finding, Resource, Severity};
use crate::yaml::Node;
use cfn_logs_delivery::resources::Kind;

const SOURCE: &str = "Custom::DeliverySource";
const DELIVERY: &str = "Custom::Delivery";
/// A stand-in account for the ARNs the checks are given (the lint knows no account).
const ACCOUNT: &str = "123456789012";

/// Where a resource is made.
#[derive(Clone, Debug, PartialEq)]
enum Place {
    /// `Region: NAME` (and its line).
    Given(String, usize),
    /// No `Region`: the provider's.
    Default,
    /// Decided at deploy time.
    Unknown,
}

impl Place {
    fn of(r: &Resource) -> Place {
        match r.node.get("Properties").and_then(|p| p.entry("Region")) {
            None => Place::Default,
            Some(e) if e.value.is_no_value() => Place::Default,
            Some(e) => e
                .value
                .as_str()
                .map_or(Place::Unknown, |region| Place::Given(region.to_owned(), e.line)),
        }
    }

    /// The region name, `function_region` for the default; `None` when not known.
    fn region<'a>(&'a self, function_region: Option<&'a str>) -> Option<&'a str> {
        match self {
            Place::Given(region, _) => Some(region),
            Place::Default => function_region,
            Place::Unknown => None,
        }
    }

    /// The `Region` property as the handler would get it.
    fn property(&self) -> serde_json::Value {
        match self {
            Place::Given(region, _) => json!(region),
            _ => serde_json::Value::Null,
        }
    }
}

/// The place problems of the template's custom resources (`resources`; `all`: every resource of the
/// template), at the line of `Region` (or of the property that names the other resource).
pub fn check(resources: &[&Resource], all: &[Resource], function_region: Option<&str>) -> Vec<Finding> {
    let places: HashMap<&str, Place> = resources.iter().map(|r| (r.logical_id, Place::of(r))).collect();
    let mut out = Vec::new();
    for r in resources {
        let place = &places[r.logical_id];
        let Some(props) = r.node.get("Properties") else {
            continue;
        };
        let problem = match r.type_name() {
            SOURCE if is_cloudfront(props.get("ResourceArn")) => {
                let at = place.region(function_region).filter(|_| *place != Place::Unknown);
                at.and_then(|at| {
                    let checked = json!({"Name": "s", "ResourceArn": format!("arn:aws:cloudfront::{ACCOUNT}:distribution/E1"),
                        "LogType": "ACCESS_LOGS", "Region": place.property()});
                    Some((line_of(r, place), Kind::of_type(SOURCE)?.place_problem(&strip_null(checked), at)?))
                })
            }
            DELIVERY => delivery_problem(place, props, &places, function_region)
                .or_else(|| cross_account_problem(r, props, all)),
            _ => None,
        };
        if let Some((line, problem)) = problem {
            let (property, message) = split(&problem.to_string());
            out.push(r.finding(line, property, message, Severity::Error));
        }
    }
    out
}

/// A delivery whose destination or source (a resource of this template, or a literal ARN) is in
/// another region than the delivery.
fn delivery_problem(
    place: &Place,
    props: &Node,
    places: &HashMap<&str, Place>,
    function_region: Option<&str>,
) -> Option<(usize, cfn_logs_delivery::Error)> {
    for property in ["DeliveryDestinationArn", "DeliverySourceName"] {
        let entry = props.entry(property)?;
        let other = match referenced(&entry.value) {
            Some(id) => places.get(id)?.clone(),
            None => arn_region(entry.value.as_str()?).map_or(Place::Unknown, |region| Place::Given(region, entry.line)),
        };
        if other == *place {
            continue; // the same Region, or both the provider's: whatever that is
        }
        let (Some(at), Some(there)) = (place.region(function_region), other.region(function_region)) else {
            continue;
        };
        let destination_region = if property == "DeliveryDestinationArn" {
            there
        } else {
            at
        };
        let mut checked = json!({"DeliverySourceName": "s", "Region": place.property(),
            "DeliveryDestinationArn": format!("arn:aws:logs:{destination_region}:{ACCOUNT}:delivery-destination:d")});
        if property == "DeliverySourceName" {
            checked["DeliverySourceName"] = json!(format!("arn:aws:logs:{there}:{ACCOUNT}:delivery-source:s"));
        }
        if let Some(problem) = Kind::of_type(DELIVERY)?.place_problem(&strip_null(checked), at) {
            return Some((entry.line, problem));
        }
    }
    None
}

/// Whose account a resource is made in: its `AssumeRoleArn`'s, or the stack's (`None`: decided at
/// deploy time).
fn account_of(r: &Resource) -> Option<String> {
    match r.node.get("Properties").and_then(|p| p.entry("AssumeRoleArn")) {
        None => Some("the stack's account".to_owned()),
        Some(e) if e.value.is_no_value() => Some("the stack's account".to_owned()),
        Some(e) => e
            .value
            .as_str()
            .and_then(|arn| cfn_logs_delivery::props::check_arn("x", arn).ok())
            .map(|a| format!("account {}", a.account)),
    }
}

/// A destination's type as the template states or implies it: `DeliveryDestinationType`, else the
/// service of a literal `DestinationResourceArn` or the type of the resource its `!GetAtt` names.
fn destination_type(r: &Resource, all: &[Resource]) -> Option<String> {
    let props = r.node.get("Properties")?;
    if let Some(given) = props.get("DeliveryDestinationType").and_then(Node::as_str) {
        return Some(given.to_owned());
    }
    let arn = props.get("DestinationResourceArn")?;
    let service = match (arn.as_str(), referenced(arn)) {
        (Some(literal), _) => cfn_logs_delivery::props::check_arn("x", literal)
            .ok()?
            .service
            .to_owned(),
        (None, Some(id)) => match all.iter().find(|o| o.logical_id == id)?.type_name() {
            "AWS::Logs::LogGroup" => "logs".to_owned(),
            "AWS::S3::Bucket" => "s3".to_owned(),
            "AWS::KinesisFirehose::DeliveryStream" => "firehose".to_owned(),
            _ => return None,
        },
        _ => return None,
    };
    match service.as_str() {
        "logs" => Some("CWL".into()),
        "s3" => Some("S3".into()),
        "firehose" => Some("FH".into()),
        _ => None,
    }
}

/// A delivery made in another account than its destination (a resource of this template) whose
/// type cannot take another account's deliveries: only S3 and Firehose can (aws-cdk PR #36827).
fn cross_account_problem(r: &Resource, props: &Node, all: &[Resource]) -> Option<(usize, cfn_logs_delivery::Error)> {
    let entry = props.entry("DeliveryDestinationArn")?;
    let destination = all
        .iter()
        .find(|o| Some(o.logical_id) == referenced(&entry.value) && o.type_name() == "Custom::DeliveryDestination")?;
    let (here, there) = (account_of(r)?, account_of(destination)?);
    let kind = destination_type(destination, all)?;
    if here == there || !matches!(kind.as_str(), "CWL" | "XRAY") {
        return None;
    }
    let message = format!(
        "names {}, a {kind} destination in {there}, but this delivery is made in {here}: CloudWatch Logs delivers to \
         another account's destination only when it is S3 or Firehose (FH); use such a destination, or make the delivery \
         in the destination's account (the same AssumeRoleArn)",
        destination.logical_id
    );
    Some((
        entry.line,
        cfn_logs_delivery::Error::invalid("DeliveryDestinationArn", message),
    ))
}

/// The logical id a `!Ref X` / `!GetAtt X.Attr` names.
fn referenced(node: &Node) -> Option<&str> {
    match node.intrinsic()? {
        ("Ref", arg) => arg.as_str(),
        ("Fn::GetAtt", arg) => match &arg.value {
            crate::yaml::Value::Str(s) => s.split('.').next(),
            crate::yaml::Value::Seq(items) => items.first()?.as_str(),
            _ => None,
        },
        _ => None,
    }
}

/// A literal ARN's region.
fn arn_region(arn: &str) -> Option<String> {
    cfn_logs_delivery::props::check_arn("x", arn)
        .ok()
        .map(|a| a.region.to_owned())
        .filter(|r| !r.is_empty())
}

/// Whether a ResourceArn (literal or `!Sub`) names a CloudFront distribution.
fn is_cloudfront(node: Option<&Node>) -> bool {
    let text = match node.map(|n| (n.as_str(), n.intrinsic())) {
        Some((Some(text), _)) => text,
        Some((None, Some(("Fn::Sub", arg)))) => match &arg.value {
            crate::yaml::Value::Str(text) => text,
            crate::yaml::Value::Seq(items) => items.first().and_then(Node::as_str).unwrap_or_default(),
            _ => "",
        },
        _ => "",
    };
    text.split(':').nth(2) == Some("cloudfront")
}

fn line_of(r: &Resource, place: &Place) -> usize {
    match place {
        Place::Given(_, line) => *line,
        _ => r.node.entry("Properties").map_or(r.line, |e| e.line),
    }
}

fn strip_null(mut props: serde_json::Value) -> serde_json::Value {
    if let Some(map) = props.as_object_mut() {
        map.retain(|_, v| !v.is_null());
    }
    props
}

/// A Reason `Property: message` as the lint prints it.
fn split(reason: &str) -> (String, String) {
    match reason.split_once(": ") {
        Some((property, message)) => (property.to_owned(), message.to_owned()),
        None => (String::new(), reason.to_owned()),
    }
}
