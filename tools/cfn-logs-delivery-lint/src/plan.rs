//! `--previous OLD NEW`: what deploying NEW over OLD will do to each of the provider's resources,
//! decided by the provider's own update decision ([`Kind::plan_update`]) on the properties
//! CloudFormation will send, in the order CloudFormation works: creates and updates with every
//! resource after those it references, then the removals, dependants first.
//!
//! `Ref` and `Fn::GetAtt` between the provider's resources carry through: a replaced destination
//! has a new Arn, so a delivery naming it is replaced too. Values the template cannot tell
//! ([`resolve`](crate::resolve)) are decided at deploy time; a resource whose properties choose by
//! `Fn::If` is planned once per condition value, and its line names each outcome when they differ.

use std::collections::{BTreeSet, HashMap, HashSet};

use serde_json::Value as Json;

use crate::check::{self, template_resources, Resource, Severity};
use crate::resolve::{Answers, Resolver, STACK_ACCOUNT};
use crate::yaml::Node;
use cfn_logs_delivery::resources::{
    place, Common, Decision, DeliveryDestination, Facts, Kind, Location, Resource as _,
};

/// One line of the plan.
#[derive(Debug, serde::Serialize)]
pub struct Step {
    /// Which template the line is in: the old one only for a removed resource.
    #[serde(skip)]
    pub in_old: bool,
    pub line: usize,
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    /// `added`, `removed`, `unchanged`, `in place`, `replaced`, `will be refused`, or
    /// `decided at deploy time`.
    pub outcome: String,
    pub detail: String,
    /// The `OldResourceProperties` and `ResourceProperties` CloudFormation will send, as far as the
    /// templates tell (stand-ins elsewhere): what the plan decided on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_properties: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Json>,
}

/// More conditions than this in one resource are all taken as true (2^3 plans at most).
const MAX_CONDITIONS: usize = 3;

/// The plan of deploying `new` over `old`; `function_region`: where the provider runs, if known.
pub fn plan(old: &Node, new: &Node, function_region: Option<&str>) -> Result<Vec<Step>, (bool, Option<usize>, String)> {
    let old_all = template_resources(old).map_err(|(line, m)| (true, line, m))?;
    let new_all = template_resources(new).map_err(|(line, m)| (false, line, m))?;
    // The plan's ARNs need a region; an unknown one leaves the place checks out (Kind::plan_update).
    let region = function_region.unwrap_or("us-east-1");
    let problems = check::lint(new, function_region).map_err(|(line, m)| (false, line, m))?;
    let mut old_values = Resolver::new(old, &old_all, region);
    let mut new_values = Resolver::new(new, &new_all, region);
    let old_by_id: HashMap<&str, &Resource> = old_all.iter().map(|r| (r.logical_id, r)).collect();
    for r in in_order(&old_all) {
        if let Some(kind) = Kind::of_type(r.type_name()) {
            let props = old_values.properties(r.node.get("Properties"));
            let answers = answers(kind, r.logical_id, &props, &old_values, false);
            old_values.answers.insert(r.logical_id.to_owned(), answers);
        }
    }
    let mut replaced: HashSet<String> = HashSet::new();
    let mut steps = Vec::new();

    for r in in_order(&new_all)
        .into_iter()
        .filter(|r| Kind::of_type(r.type_name()).is_some())
    {
        let kind = Kind::of_type(r.type_name()).expect("ours");
        let new_props = new_values.properties(r.node.get("Properties"));
        let old_r = old_by_id.get(r.logical_id);
        let old_props = old_r
            .filter(|o| o.type_name() == r.type_name())
            .map(|o| old_values.properties(o.node.get("Properties")));
        let step = |outcome: &str, detail: String| Step {
            in_old: false,
            line: r.line,
            logical_id: r.logical_id.to_owned(),
            resource_type: r.type_name().to_owned(),
            outcome: outcome.to_owned(),
            detail,
            previous_properties: old_props.clone(),
            properties: Some(new_props.clone()),
        };
        let errors: Vec<String> = problems
            .findings
            .iter()
            .filter(|f| f.logical_id == r.logical_id && f.severity == Severity::Error)
            .map(|f| format!("{}: {}", f.property, f.message))
            .collect();
        let outcome = match (old_r, &old_props) {
            (Some(o), _) if o.type_name() != r.type_name() => {
                step("will be refused", type_change("from", o.type_name()))
            }
            _ if !errors.is_empty() => step("will be refused", errors.join("; ")),
            (Some(o), Some(_)) => {
                let follows = follows_replaced(r.node, &replaced);
                let (outcome, detail) = decide(kind, o, r, (&old_values, &new_values), function_region, &follows);
                step(&outcome, detail)
            }
            _ => step("added", "created".to_owned()),
        };
        if outcome.outcome == "replaced" {
            replaced.insert(r.logical_id.to_owned());
        }
        let answers = answers(
            kind,
            r.logical_id,
            &new_props,
            &new_values,
            replaced.contains(r.logical_id),
        );
        new_values.answers.insert(r.logical_id.to_owned(), answers);
        steps.push(outcome);
    }

    let new_by_id: HashMap<&str, &Resource> = new_all.iter().map(|r| (r.logical_id, r)).collect();
    let mut removed: Vec<&Resource> = in_order(&old_all)
        .into_iter()
        .filter(|r| Kind::of_type(r.type_name()).is_some())
        .filter(|r| {
            new_by_id
                .get(r.logical_id)
                .is_none_or(|n| n.type_name() != r.type_name())
        })
        .collect();
    removed.reverse(); // CloudFormation deletes dependants first
    for r in removed {
        let (outcome, detail) = match new_by_id.get(r.logical_id) {
            Some(n) => ("will be refused", type_change("to", n.type_name())),
            None => ("removed", "deleted after the update".to_owned()),
        };
        steps.push(Step {
            in_old: true,
            line: r.line,
            logical_id: r.logical_id.to_owned(),
            resource_type: r.type_name().to_owned(),
            outcome: outcome.into(),
            detail,
            previous_properties: Some(old_values.properties(r.node.get("Properties"))),
            properties: None,
        });
    }
    Ok(steps)
}

/// CloudFormation's own refusal: "Update of resource type is not permitted" (e.g. from the native
/// `AWS::Logs::DeliverySource` to `Custom::DeliverySource` under the same logical id).
fn type_change(direction: &str, other: &str) -> String {
    format!(
        "CloudFormation refuses to change a resource's Type ({direction} {other}) under the same logical id; give the \
         new resource another logical id (and, to keep what exists, AdoptExisting)"
    )
}

/// Every resource after those it depends on (Ref, Fn::GetAtt, Fn::Sub, DependsOn), otherwise in
/// template order. A cycle (which CloudFormation refuses) keeps template order.
fn in_order<'r, 'a>(all: &'r [Resource<'a>]) -> Vec<&'r Resource<'a>> {
    let depends = crate::order::dependencies(all);
    let mut done: HashSet<&str> = HashSet::new();
    let mut out = Vec::new();
    while out.len() < all.len() {
        let ready = all.iter().find(|r| {
            !done.contains(r.logical_id)
                && depends[r.logical_id]
                    .iter()
                    .all(|d| done.contains(d.as_str()) || !all.iter().any(|o| o.logical_id == d))
        });
        let next = ready.unwrap_or_else(|| all.iter().find(|r| !done.contains(r.logical_id)).expect("one left"));
        done.insert(next.logical_id);
        out.push(next);
    }
    out
}

/// The decision, once per value of the conditions the resource's properties choose by.
/// `follows`: the replaced resources it references, named in a replacement's reason.
fn decide(
    kind: &Kind,
    old: &Resource,
    new: &Resource,
    (old_values, new_values): (&Resolver, &Resolver),
    function_region: Option<&str>,
    follows: &Option<String>,
) -> (String, String) {
    let mut names = BTreeSet::new();
    crate::resolve::conditions_in(old.node, &mut names);
    crate::resolve::conditions_in(new.node, &mut names);
    let names: Vec<String> = names.into_iter().take(MAX_CONDITIONS).collect();
    // Without --region, whether a stated Region moves the resource depends on where the provider
    // runs: planned for each Region the resource names, and for "elsewhere".
    let regions: Vec<Option<String>> = match function_region {
        Some(region) => vec![Some(region.to_owned())],
        None => {
            let mut named = BTreeSet::new();
            for r in [old, new] {
                named.extend(region_of(r));
            }
            named.into_iter().map(Some).chain([None]).collect()
        }
    };
    let mut outcomes: Vec<(String, Decision, BTreeSet<String>)> = Vec::new();
    for (region, bits) in regions
        .iter()
        .flat_map(|r| (0..(1u32 << names.len())).map(move |b| (r, b)))
    {
        let conditions: HashMap<String, bool> = names
            .iter()
            .enumerate()
            .map(|(i, n)| (n.clone(), bits & (1 << i) == 0))
            .collect();
        let run = |salt: u32| {
            let mut old_values = old_values.with_conditions(&conditions, salt);
            let mut new_values = new_values.with_conditions(&conditions, salt);
            let old_props = old_values.properties(old.node.get("Properties"));
            let new_props = new_values.properties(new.node.get("Properties"));
            let facts = Facts {
                old_destination_type: destination_type(&old_props, &old_values),
                new_destination_type: destination_type(&new_props, &new_values),
            };
            let decision = kind.plan_update(&old_props, &new_props, region.as_deref().unwrap_or_default(), &facts);
            let mut opaque = old_values.opaque;
            opaque.extend(new_values.opaque);
            (decision, opaque)
        };
        let (decision, mut opaque) = run(0);
        // A refusal that reads the same whatever the deploy-time values are is certain.
        if matches!(decision, Decision::Refused(_)) && run(1).0.to_string() == decision.to_string() {
            opaque.clear();
        }
        let mut label: Vec<String> = conditions
            .iter()
            .map(|(n, v)| if *v { n.clone() } else { format!("not {n}") })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if regions.len() > 1 {
            label.insert(
                0,
                match region {
                    Some(region) => format!("the provider runs in {region}"),
                    None => "it runs elsewhere".to_owned(),
                },
            );
        }
        let label = label.join(", ");
        outcomes.push((label, decision, opaque));
    }
    let shown: Vec<(String, String, String)> = outcomes
        .iter()
        .map(|(label, decision, opaque)| {
            let (outcome, detail) = shown(decision, opaque, follows);
            (label.clone(), outcome, detail)
        })
        .collect();
    if shown.iter().all(|(_, o, d)| (o, d) == (&shown[0].1, &shown[0].2)) {
        return (shown[0].1.clone(), shown[0].2.clone());
    }
    let each: Vec<String> = shown
        .iter()
        .map(|(label, o, d)| match d.is_empty() {
            true => format!("if {label}: {o}"),
            false => format!("if {label}: {o}: {d}"),
        })
        .collect();
    ("decided at deploy time".into(), each.join(" | "))
}

/// A literal `Region` of the resource, if it states one.
fn region_of(r: &Resource) -> Option<String> {
    r.node.get("Properties")?.get("Region")?.as_str().map(str::to_owned)
}

/// The outcome word and its detail; a refusal caused by a value only the deploy can tell is not
/// a refusal the plan can promise.
fn shown(decision: &Decision, opaque: &BTreeSet<String>, follows: &Option<String>) -> (String, String) {
    let detail = decision.detail();
    match decision {
        Decision::Refused(_) if !opaque.is_empty() => (
            "decided at deploy time".into(),
            format!(
                "values given by {} are known only then (with stand-ins the provider would refuse: {detail})",
                opaque.iter().cloned().collect::<Vec<_>>().join(", ")
            ),
        ),
        Decision::Replaced(r) => {
            let follows = follows
                .as_ref()
                .map(|ids| format!(" (it follows the replacement of {ids})"));
            (
                decision.label().to_owned(),
                format!("{}{}; {}", r.why, follows.unwrap_or_default(), r.order),
            )
        }
        _ => (decision.label().to_owned(), detail),
    }
}

/// The type of the destination a delivery's properties name, when it is one of the template's.
fn destination_type(delivery: &Json, values: &Resolver) -> Option<String> {
    let arn = delivery.get("DeliveryDestinationArn")?.as_str()?;
    values
        .answers
        .values()
        .find(|a| a.attributes.get("Arn").map(String::as_str) == Some(arn))
        .and_then(|a| a.attributes.get("DeliveryDestinationType").cloned())
}

/// What `Ref` and `Fn::GetAtt` of this resource give: its Name (or a stand-in delivery id) at its
/// place, as the provider answers.
fn answers(kind: &Kind, logical_id: &str, props: &Json, values: &Resolver, replaced: bool) -> Answers {
    let text = |key: &str| props.get(key).and_then(Json::as_str).map(str::to_owned);
    // Where the handler would put it, and the physical id it would answer there.
    let home = Location {
        account: STACK_ACCOUNT.to_owned(),
        ..Location::lint_home(&values.region)
    };
    let at = home.of(&Common::lenient(props));
    let id = match text("Name") {
        Some(name) => name,
        None if replaced => format!("{logical_id}new"),
        None => logical_id.to_owned(),
    };
    let arn = at.arn(kind.arn_type, &id);
    let mut attributes: HashMap<String, String> = kind
        .attributes
        .iter()
        .filter_map(|a| Some((a.to_string(), text(a)?)))
        .collect();
    attributes.insert("Arn".into(), arn.clone());
    if text("Name").is_some() {
        attributes.insert("Name".into(), id.clone());
    } else {
        attributes.insert("DeliveryId".into(), id.clone());
    }
    if let Ok(destination) = DeliveryDestination::parse(props) {
        attributes.insert("DeliveryDestinationType".into(), destination.destination_type);
    }
    Answers {
        reference: place::physical_id(&home, &at, kind.arn_type, &id),
        attributes,
    }
}

/// The replaced resources `node` references, if any ("Dst, Src").
fn follows_replaced(node: &Node, replaced: &HashSet<String>) -> Option<String> {
    let mut referenced = HashSet::new();
    crate::order::referenced(node, &mut referenced);
    let mut ids: Vec<&String> = referenced.iter().filter(|id| replaced.contains(*id)).collect();
    ids.sort();
    (!ids.is_empty()).then(|| ids.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::plan;
    use crate::yaml::parse;

    const OLD: &str = "Resources:
  Logs:
    Type: AWS::Logs::DeliveryDestination
    Properties: {Name: logs, DestinationResourceArn: 'arn:aws:s3:::b'}
  Broken:
    Type: Custom::DeliverySource
    Properties: {ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:p', ServiceTimeout: 60, Name: 'bad name', ResourceArn: 'arn:aws:cloudfront::123456789012:distribution/E1', LogType: ACCESS_LOGS}
";

    #[test]
    fn a_native_resource_turned_custom_is_refused_by_cloudformation_and_an_invalid_old_one_compares_live() {
        let new = OLD
            .replace("AWS::Logs::DeliveryDestination", "Custom::DeliveryDestination")
            .replace("{Name: logs,", "{ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:p', ServiceTimeout: 60, ServiceTimeout: 60, Name: logs,")
            .replace("'bad name'", "good-name");
        let steps = plan(&parse(OLD).unwrap(), &parse(&new).unwrap(), Some("us-east-1")).unwrap();
        let lines: Vec<String> = steps
            .iter()
            .map(|s| format!("{} {}: {}", s.logical_id, s.outcome, s.detail))
            .collect();
        assert!(
            lines[0].starts_with("Logs will be refused: CloudFormation refuses to change a resource's Type (from AWS::Logs::DeliveryDestination)"),
            "{lines:?}"
        );
        assert_eq!(
            lines[1],
            "Broken in place: the previous properties do not validate, so the deploy compares the template with the live \
             resource (as the live resource needs)"
        );
    }

    /// A value only the deploy knows makes a refusal uncertain only when the refusal depends on it.
    #[test]
    fn a_refusal_is_promised_unless_it_depends_on_a_deploy_time_value() {
        let template = |format: &str, arn: &str| {
            format!(
                "Resources:
  Dst:
    Type: Custom::DeliveryDestination
    Properties:
      ServiceToken: !ImportValue provider-arn
      ServiceTimeout: 60
      Name: d
      DestinationResourceArn: {arn}
      OutputFormat: {format}
"
            )
        };
        let decide = |old: String, new: String| {
            let steps = plan(&parse(&old).unwrap(), &parse(&new).unwrap(), Some("us-east-1")).unwrap();
            format!("{}: {}", steps[0].outcome, steps[0].detail)
        };
        let bucket = "'arn:aws:s3:::b'";
        let certain = decide(template("json", bucket), template("parquet", bucket));
        assert!(
            certain.starts_with("will be refused: OutputFormat cannot change"),
            "{certain}"
        );
        let imported = "!ImportValue bucket-arn";
        let uncertain = decide(template("json", bucket), template("json", imported));
        assert!(
            uncertain.starts_with("decided at deploy time: values given by Fn::ImportValue are known only then"),
            "{uncertain}"
        );
    }

    /// Without `--region`, a Region newly stated moves the resource only if the provider runs elsewhere.
    #[test]
    fn a_stated_region_is_decided_by_where_the_provider_runs_when_the_lint_is_not_told() {
        let old = "Resources:
  Dst:
    Type: Custom::DeliveryDestination
    Properties: {ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:p', ServiceTimeout: 60, Name: d, DestinationResourceArn: 'arn:aws:s3:::b'}
";
        let new = old.replace("Name: d,", "Name: d, Region: eu-west-1,");
        let steps = plan(&parse(old).unwrap(), &parse(&new).unwrap(), None).unwrap();
        assert_eq!(steps[0].outcome, "decided at deploy time");
        assert!(
            steps[0].detail.starts_with(
                "if the provider runs in eu-west-1: unchanged | if it runs elsewhere: replaced: Region changes (the provider's region -> eu-west-1)"
            ),
            "{}",
            steps[0].detail
        );
        let told = plan(&parse(old).unwrap(), &parse(&new).unwrap(), Some("eu-west-1")).unwrap();
        assert_eq!(told[0].outcome, "unchanged");
    }
}
