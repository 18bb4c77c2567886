//! The checks of one template: every `Custom::DeliverySource`, `Custom::DeliveryDestination` and
//! `Custom::Delivery` resource, with the handler's own validation
//! ([`cfn_logs_delivery::property_problems`]), plus what CloudFormation itself would refuse.
//!
//! The properties are turned into the `ResourceProperties` CloudFormation would send (every
//! scalar a string). A value that is an intrinsic function is decided at deploy time: it is sent
//! to the validator as a placeholder that every check refuses (so no check that depends on it
//! runs: the validator reports no problem twice), and the problems reported at its path are
//! dropped. Everything else is checked as it stands. Each `Fn::If` is checked once more per branch
//! (the other intrinsics still placeholders), and what only that branch gets wrong is reported
//! with the condition that chooses it.

use std::collections::HashMap;

use serde_json::{Map, Value as Json};

use crate::yaml::{Entry, Node, Value};
use cfn_logs_delivery::props::{Path, Step as PathStep};
use cfn_logs_delivery::{attributes, known_properties, property_problems};

/// CloudFormation's bounds for `ServiceTimeout`, in seconds.
const SERVICE_TIMEOUT: std::ops::RangeInclusive<u32> = 1..=3600;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One problem: where, in what, with which property, what.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub line: usize,
    pub logical_id: String,
    #[serde(rename = "type")]
    pub resource_type: String,
    pub property: String,
    pub message: String,
    pub severity: Severity,
}

/// What one template came to.
#[derive(Debug, Default)]
pub struct Report {
    /// How many resources of the provider's types were checked.
    pub resources: usize,
    /// In line order.
    pub findings: Vec<Finding>,
}

/// Checks a parsed template. `Err`: it is not a CloudFormation template (no `Resources` mapping).
/// `function_region`: where the provider runs, if known (the place of resources without `Region`).
pub fn lint(doc: &Node, function_region: Option<&str>) -> Result<Report, (Option<usize>, String)> {
    let all = template_resources(doc)?;
    let mut report = Report::default();
    let ours: Vec<&Resource> = all
        .iter()
        .filter(|r| known_properties(r.type_name()).is_some())
        .collect();
    for r in &ours {
        report.resources += 1;
        report.findings.extend(check_resource(r));
    }
    let tokens: Vec<String> = ours
        .iter()
        .filter_map(|r| r.node.get("Properties")?.get("ServiceToken"))
        .map(Node::shape)
        .collect();
    for r in all.iter().filter(|r| known_properties(r.type_name()).is_none()) {
        report.findings.extend(check_other_type(r, &tokens));
    }
    report
        .findings
        .extend(crate::regions::check(&ours, &all, function_region));
    report.findings.extend(crate::order::check(&ours, &all));
    let types: HashMap<&str, &str> = ours.iter().map(|r| (r.logical_id, r.type_name())).collect();
    report.findings.extend(check_get_atts(doc, &types));
    report.findings.sort_by_key(|f| f.line); // stable: each resource's problems in the validator's order
    Ok(report)
}

/// Every resource of a template. `Err`: it is not a CloudFormation template (no `Resources` mapping).
pub fn template_resources(doc: &Node) -> Result<Vec<Resource<'_>>, (Option<usize>, String)> {
    let Value::Map(_) = &doc.value else {
        return Err((
            Some(doc.line),
            "not a CloudFormation template: the document is not a mapping".into(),
        ));
    };
    match doc.entry("Resources") {
        Some(e) if matches!(e.value.value, Value::Map(_) | Value::Intrinsic { .. }) => Ok(resources(&e.value)),
        Some(e) => Err((
            Some(e.line),
            "not a CloudFormation template: Resources is not a mapping".into(),
        )),
        None => Err((
            None,
            "not a CloudFormation template: it has no Resources section".into(),
        )),
    }
}

/// A resource of the template: its logical id, the line of that key, its definition.
pub struct Resource<'a> {
    pub logical_id: &'a str,
    pub line: usize,
    pub node: &'a Node,
}

impl Resource<'_> {
    pub fn type_name(&self) -> &str {
        self.node.get("Type").and_then(Node::as_str).unwrap_or_default()
    }

    pub fn finding(
        &self,
        line: usize,
        property: impl Into<String>,
        message: impl Into<String>,
        severity: Severity,
    ) -> Finding {
        Finding {
            line,
            logical_id: self.logical_id.to_owned(),
            resource_type: self.type_name().to_owned(),
            property: property.into(),
            message: message.into(),
            severity,
        }
    }
}

/// The resources of a `Resources` section, including those of `Fn::ForEach::*` fragments
/// (AWS::LanguageExtensions), whose logical ids keep their `${Identifier}`.
fn resources(section: &Node) -> Vec<Resource<'_>> {
    let mut out = Vec::new();
    for (key, line, value) in entries(section) {
        if key.starts_with("Fn::ForEach::") {
            if let Value::Seq(items) = &value.value {
                if let Some(fragment) = items.get(2) {
                    out.extend(resources(fragment));
                }
            }
        } else if let Value::Map(_) = value.value {
            out.push(Resource {
                logical_id: key,
                line,
                node: value,
            });
        }
    }
    out
}

/// A mapping's entries; a one-entry mapping read as an intrinsic (`{"Fn::ForEach::X": …}`) too.
fn entries(node: &Node) -> Vec<(&str, usize, &Node)> {
    match &node.value {
        Value::Map(entries) => entries.iter().map(|e| (e.key.as_str(), e.line, &e.value)).collect(),
        Value::Intrinsic { name, arg } => vec![(name.as_str(), node.line, arg.as_ref())],
        _ => Vec::new(),
    }
}

fn check_resource(r: &Resource) -> Vec<Finding> {
    let resource_type = r.type_name();
    let known = known_properties(resource_type).unwrap_or_default();
    let (props_line, props) = match r.node.entry("Properties") {
        None => (
            r.line,
            Node {
                line: r.line,
                value: Value::Map(Vec::new()),
            },
        ),
        Some(e) => match &e.value.value {
            Value::Map(_) => (e.line, e.value.clone()),
            Value::Intrinsic { .. } => return Vec::new(), // all of it decided at deploy time
            Value::Null => {
                return vec![r.finding(
                    e.line,
                    "Properties",
                    "is empty (null); CloudFormation refuses null values in templates",
                    Severity::Error,
                )]
            }
            _ => {
                return vec![r.finding(
                    e.line,
                    "Properties",
                    "must be a mapping of property names to values",
                    Severity::Error,
                )]
            }
        },
    };
    let mut findings = Vec::new();

    // What CloudFormation refuses before the provider sees anything.
    let mut structural = Vec::new();
    structure(&props, "", &mut structural);
    for (line, property, message) in structural {
        findings.push(r.finding(line, property, message, Severity::Error));
    }
    findings.extend(service_properties(r, &props, props_line));

    // The handler's validation, with intrinsics decided at deploy time.
    let base = validate(resource_type, known, &props, props_line);
    let conditional = if_branches(resource_type, known, &props, props_line, &base);
    for (path, message, line) in base.into_iter().chain(conditional) {
        findings.push(r.finding(line, path.to_string(), message, Severity::Error));
    }
    findings
}

/// Nulls and duplicate keys: CloudFormation refuses the template ("'null' values are not allowed
/// in templates"; a key given twice). Arguments of intrinsics are CloudFormation's to check.
fn structure(node: &Node, path: &str, out: &mut Vec<(usize, String, String)>) {
    match &node.value {
        Value::Null => out.push((
            node.line,
            path.to_owned(),
            "is empty (null); CloudFormation refuses null values in templates: give it a value or remove it".into(),
        )),
        Value::Map(entries) => {
            let mut seen: HashMap<&str, usize> = HashMap::new();
            for e in entries {
                let at = child(path, &e.key);
                if let Some(first) = seen.insert(&e.key, e.line) {
                    out.push((
                        e.line,
                        at.clone(),
                        format!("is given twice in this mapping (also on line {first}); CloudFormation refuses duplicate keys"),
                    ));
                }
                match e.value.value {
                    // An empty property's line is its key's (the null itself may sit on the next line).
                    Value::Null => structure(
                        &Node {
                            line: e.line,
                            value: Value::Null,
                        },
                        &at,
                        out,
                    ),
                    _ => structure(&e.value, &at, out),
                }
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                structure(item, &format!("{path}[{i}]"), out);
            }
        }
        Value::Str(_) | Value::Intrinsic { .. } => {}
    }
}

fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// `ServiceToken` (required by CloudFormation: where the events go) and `ServiceTimeout`.
fn service_properties(r: &Resource, props: &Node, props_line: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    match props.entry("ServiceToken").filter(|e| !e.value.is_no_value()) {
        None => out.push(r.finding(
            props_line,
            "ServiceToken",
            "is required: the provider function's ARN, where CloudFormation sends the events (e.g. !GetAtt DeliveryProviderFunction.Arn, or !ImportValue of the provider stack's FunctionArn export)",
            Severity::Error,
        )),
        Some(Entry { line, value: Node { value: Value::Str(token), .. }, .. }) => {
            let is_target = cfn_logs_delivery::props::check_arn("ServiceToken", token)
                .map(|arn| matches!(arn.service, "lambda" | "sns"))
                .unwrap_or(false);
            if !is_target {
                out.push(r.finding(
                    *line,
                    "ServiceToken",
                    format!(
                        "'{}' is not a Lambda function or SNS topic ARN; use the provider function's ARN (e.g. !GetAtt DeliveryProviderFunction.Arn)",
                        cfn_logs_delivery::text::shorten(token, 100)
                    ),
                    Severity::Error,
                ));
            }
        }
        Some(_) => {} // intrinsic: decided at deploy time (null: reported already)
    }
    match props.entry("ServiceTimeout").filter(|e| !e.value.is_no_value()) {
        None => out.push(r.finding(
            props_line,
            "ServiceTimeout",
            "not set: if no answer ever comes (the function cannot be invoked, say), CloudFormation waits its default of an hour before failing the resource; e.g. ServiceTimeout: 600 gives up after 10 minutes",
            Severity::Warning,
        )),
        Some(Entry { line, value: Node { value: Value::Str(timeout), .. }, .. }) => {
            if !timeout.parse::<u32>().is_ok_and(|t| SERVICE_TIMEOUT.contains(&t)) {
                out.push(r.finding(
                    *line,
                    "ServiceTimeout",
                    format!(
                        "must be a whole number of seconds from {} to {}, got '{}'",
                        SERVICE_TIMEOUT.start(),
                        SERVICE_TIMEOUT.end(),
                        cfn_logs_delivery::text::shorten(timeout, 40)
                    ),
                    Severity::Error,
                ));
            }
        }
        Some(_) => {}
    }
    out
}

/// A problem of the handler's validation: where (its structured path), what, and its line.
type Located = (Path, String, usize);

/// The handler's problems with `props`, minus those at a value decided at deploy time.
fn validate(resource_type: &str, known: &[&str], props: &Node, props_line: usize) -> Vec<Located> {
    let mut conv = Conv {
        known,
        opaque: Vec::new(),
    };
    let json = conv
        .json(props, &Path::default())
        .unwrap_or_else(|| Json::Object(Map::new()));
    let problems = property_problems(resource_type, &json).unwrap_or_default();
    problems
        .into_iter()
        .filter(|p| !conv.is_opaque(&p.path))
        .map(|p| {
            let line = locate(props, &p.path).0.unwrap_or(props_line);
            (p.path, p.message, line)
        })
        .collect()
}

/// Turns the template's properties into the `ResourceProperties` CloudFormation would send,
/// noting which paths hold a value decided at deploy time (or a null, reported already).
struct Conv<'k> {
    known: &'k [&'k str],
    opaque: Vec<Path>,
}

impl Conv<'_> {
    /// `None`: the value is `!Ref AWS::NoValue`, which removes it.
    fn json(&mut self, node: &Node, path: &Path) -> Option<Json> {
        Some(match &node.value {
            Value::Null => {
                self.mark(path);
                Json::Null
            }
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => {
                let mut out = Vec::new();
                for item in items {
                    let at = path.clone().index(out.len());
                    out.extend(self.json(item, &at));
                }
                Json::Array(out)
            }
            Value::Map(entries) => {
                let mut out = Map::new();
                for e in entries {
                    if let Some(v) = self.json(&e.value, &path.clone().key_in(&e.key)) {
                        out.insert(e.key.clone(), v);
                    }
                }
                Json::Object(out)
            }
            Value::Intrinsic { .. } if node.is_no_value() => return None,
            Value::Intrinsic { name, arg } => match literal_sub(name, arg) {
                Some(text) => Json::String(text),
                None => {
                    self.mark(path);
                    // A value every check refuses, so no check that depends on it runs.
                    Json::String(String::new())
                }
            },
        })
    }

    /// Problems at `path` (or under it) are not reported: unless it is under a property the kind
    /// does not know, whose "unknown property" must still be said.
    fn mark(&mut self, path: &Path) {
        if matches!(path.0.first(), Some(PathStep::Key(top)) if self.known.contains(&top.as_str())) {
            self.opaque.push(path.clone());
        }
    }

    fn is_opaque(&self, path: &Path) -> bool {
        self.opaque.iter().any(|o| path.starts_with(o))
    }
}

/// `!Sub "text"` without `${…}` is just that text (`${!x}` is the literal `${x}`).
fn literal_sub(name: &str, arg: &Node) -> Option<String> {
    let text = arg.as_str().filter(|_| name == "Fn::Sub")?;
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        if !rest[at + 2..].starts_with('!') {
            return None;
        }
        rest = &rest[at + 2..];
    }
    Some(text.replace("${!", "${"))
}

/// Where the validator's `path` is in `root`: the line of the deepest step found, and whether all
/// of it was found. Items removed by `!Ref AWS::NoValue` do not count, as in the properties
/// CloudFormation sends; of a key given twice, the last counts.
fn locate(root: &Node, path: &Path) -> (Option<usize>, bool) {
    let (mut node, mut line) = (root, None);
    for step in &path.0 {
        let next = match (&node.value, step) {
            (Value::Map(entries), PathStep::Key(key)) => entries
                .iter()
                .rfind(|e| !e.value.is_no_value() && e.key == *key)
                .map(|e| (e.line, &e.value)),
            (Value::Seq(items), PathStep::Index(i)) => items
                .iter()
                .filter(|it| !it.is_no_value())
                .nth(*i)
                .map(|it| (it.line, it)),
            _ => None,
        };
        let Some((at, inner)) = next else { return (line, false) };
        line = Some(at);
        node = inner;
    }
    (line, true)
}

/// A step into a tree: a mapping key or a raw sequence position.
#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// One `Fn::If` among the properties (not inside another intrinsic).
struct IfSite {
    steps: Vec<Step>,
    line: usize,
    condition: Option<String>,
    branches: [Node; 2],
    in_list: bool,
}

/// Each `Fn::If` with each of its branches in place (every other intrinsic still decided at
/// deploy time): the problems that branch brings (those `base`, the check with the `Fn::If`
/// undecided, does not have), with the condition that leads there (none when both branches have
/// it). A problem at the `Fn::If`'s path is on its branch's line; one elsewhere (a property the
/// branch makes required, say) where the validator puts it.
fn if_branches(resource_type: &str, known: &[&str], props: &Node, props_line: usize, base: &[Located]) -> Vec<Located> {
    let mut sites = Vec::new();
    find_ifs(props, &mut Vec::new(), false, &mut sites);
    let mut out: Vec<Located> = Vec::new();
    for site in sites {
        let top = match site.steps.first() {
            Some(Step::Key(k)) => k.as_str(),
            _ => continue,
        };
        if !known.contains(&top) {
            continue; // an unknown property: reported as such, its value is not checked
        }
        // Each problem a branch brings, with its line and which branches have it.
        let mut seen: Vec<(Path, String, usize, [bool; 2])> = Vec::new();
        for (b, branch) in site.branches.iter().enumerate() {
            if site.in_list && branch.is_no_value() {
                continue; // the item is gone; what follows moves up and is checked as it stands
            }
            let mut tree = props.clone();
            replace(&mut tree, &site.steps, branch.clone());
            let Some(path) = path_of(&tree, &site.steps) else {
                continue;
            };
            for (problem, message, line) in validate(resource_type, known, &tree, props_line) {
                if base.iter().any(|(p, m, _)| *p == problem && *m == message) {
                    continue;
                }
                let line = if problem.starts_with(&path) {
                    match locate(&tree, &problem) {
                        (Some(line), true) => line,
                        _ => site.line, // removed by !Ref AWS::NoValue: the Fn::If's line
                    }
                } else {
                    line
                };
                match seen.iter_mut().find(|(p, m, ..)| *p == problem && *m == message) {
                    Some(entry) => entry.3[b] = true,
                    None => {
                        let mut branches = [false; 2];
                        branches[b] = true;
                        seen.push((problem, message, line, branches));
                    }
                }
            }
        }
        for (problem, message, line, branches) in seen {
            let message = match (branches, &site.condition) {
                ([true, true], _) => message,
                ([first, _], Some(c)) => format!("{message} (when condition {c} is {first})"),
                ([first, _], None) => format!(
                    "{message} (in the {} branch of Fn::If)",
                    if first { "first" } else { "second" }
                ),
            };
            if !out.iter().any(|(p, m, _)| *p == problem && *m == message) {
                out.push((problem, message, line));
            }
        }
    }
    out
}

fn find_ifs(node: &Node, steps: &mut Vec<Step>, in_list: bool, out: &mut Vec<IfSite>) {
    match &node.value {
        Value::Map(entries) => {
            for e in entries {
                steps.push(Step::Key(e.key.clone()));
                find_ifs(&e.value, steps, false, out);
                steps.pop();
            }
        }
        Value::Seq(items) => {
            for (i, item) in items.iter().enumerate() {
                steps.push(Step::Index(i));
                find_ifs(item, steps, true, out);
                steps.pop();
            }
        }
        Value::Intrinsic { name, arg } if name == "Fn::If" => {
            if let Value::Seq(args) = &arg.value {
                if let [condition, yes, no] = args.as_slice() {
                    out.push(IfSite {
                        steps: steps.clone(),
                        line: node.line,
                        condition: condition.as_str().map(str::to_owned),
                        branches: [yes.clone(), no.clone()],
                        in_list,
                    });
                }
            }
        }
        _ => {}
    }
}

fn replace(node: &mut Node, steps: &[Step], with: Node) {
    let Some((first, rest)) = steps.split_first() else {
        *node = with;
        return;
    };
    let next = match (&mut node.value, first) {
        (Value::Map(entries), Step::Key(k)) => entries.iter_mut().rev().find(|e| &e.key == k).map(|e| &mut e.value),
        (Value::Seq(items), Step::Index(i)) => items.get_mut(*i),
        _ => None,
    };
    if let Some(next) = next {
        replace(next, rest, with);
    }
}

/// The validator's path of what `steps` lead to in `root` (list positions as CloudFormation sends
/// them, after `!Ref AWS::NoValue` items are gone).
fn path_of(root: &Node, steps: &[Step]) -> Option<Path> {
    let mut path = Path::default();
    let mut node = root;
    for step in steps {
        match (&node.value, step) {
            (Value::Map(entries), Step::Key(k)) => {
                path = path.key_in(k);
                node = &entries.iter().rev().find(|e| &e.key == k)?.value;
            }
            (Value::Seq(items), Step::Index(i)) => {
                let kept = items[..*i].iter().filter(|it| !it.is_no_value()).count();
                path = path.index(kept);
                node = items.get(*i)?;
            }
            _ => return None,
        }
    }
    Some(path)
}

/// A resource whose type the provider does not handle but whose ServiceToken is the provider's
/// (an error: the provider refuses it), or whose type looks like a misspelt one of ours (a warning).
fn check_other_type(r: &Resource, our_tokens: &[String]) -> Vec<Finding> {
    let given = r.type_name();
    let is_custom = given.starts_with("Custom::") || given == "AWS::CloudFormation::CustomResource";
    if !is_custom {
        return Vec::new();
    }
    let line = r.node.entry("Type").map_or(r.line, |e| e.line);
    let supported = cfn_logs_delivery::resources::SUPPORTED_TYPES;
    let suggestion = supported
        .iter()
        .map(|t| (distance(&given.to_ascii_lowercase(), &t.to_ascii_lowercase()), *t))
        .min()
        .filter(|(d, _)| *d <= 3)
        .map(|(_, t)| t);
    let token = r
        .node
        .get("Properties")
        .and_then(|p| p.get("ServiceToken"))
        .map(Node::shape);
    let hint = suggestion.map(|t| format!("; did you mean {t}?")).unwrap_or_default();
    if token.is_some_and(|t| our_tokens.contains(&t)) {
        let message = format!(
            "'{given}' is not a type this provider handles ({}), but its ServiceToken is the one this template's provider resources use: the provider would answer FAILED{hint}",
            supported.join(", ")
        );
        vec![r.finding(line, "Type", message, Severity::Error)]
    } else if let Some(t) = suggestion {
        let message =
            format!("'{given}' looks like {t}, a type of this provider; if that is meant, correct it (this resource was not checked)");
        vec![r.finding(line, "Type", message, Severity::Warning)]
    } else {
        Vec::new()
    }
}

/// Levenshtein distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (diagonal + usize::from(ca != *cb)).min(row[j] + 1).min(above + 1);
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `Fn::GetAtt` (and `${X.Y}` in `Fn::Sub`) anywhere in the template naming an attribute one of
/// our resources does not answer: CloudFormation fails the stack when it resolves it.
fn check_get_atts(doc: &Node, types: &HashMap<&str, &str>) -> Vec<Finding> {
    let mut out = Vec::new();
    let Value::Map(sections) = &doc.value else { return out };
    for section in sections {
        let (kind, singular) = match section.key.as_str() {
            "Resources" => (Section::Resources, ""),
            "Outputs" => (Section::Named, "Output"),
            _ => continue,
        };
        for (name, _, item) in entries(&section.value) {
            let item_type = match kind {
                Section::Resources => item.get("Type").and_then(Node::as_str).unwrap_or_default(),
                Section::Named => singular,
            };
            for (key, _, value) in entries(item) {
                // Resource properties are named by property; anything else by its own key.
                let parts: Vec<(&str, &Node)> = match (kind, key) {
                    (Section::Resources, "Properties") => entries(value).into_iter().map(|(k, _, v)| (k, v)).collect(),
                    _ => vec![(key, value)],
                };
                for (property, value) in parts {
                    let mut refs = Vec::new();
                    get_atts(value, &mut refs);
                    for (line, target, attribute, written) in refs {
                        let Some(target_type) = types.get(target.as_str()) else {
                            continue;
                        };
                        let answered = attributes(target_type).unwrap_or_default();
                        if !answered.contains(&attribute.as_str()) {
                            out.push(Finding {
                                line,
                                logical_id: name.to_owned(),
                                resource_type: item_type.to_owned(),
                                property: property.to_owned(),
                                message: format!(
                                    "{written}: {target} is a {target_type}, which answers no attribute '{attribute}' (it answers {}); CloudFormation would fail the stack resolving it",
                                    answered.join(", ")
                                ),
                                severity: Severity::Error,
                            });
                        }
                    }
                }
            }
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Section {
    Resources,
    Named,
}

/// Every literal `Fn::GetAtt` in `node`: (line, logical id, attribute, as written).
fn get_atts(node: &Node, out: &mut Vec<(usize, String, String, String)>) {
    match &node.value {
        Value::Null | Value::Str(_) => {}
        Value::Seq(items) => items.iter().for_each(|item| get_atts(item, out)),
        Value::Map(entries) => entries.iter().for_each(|e| get_atts(&e.value, out)),
        Value::Intrinsic { name, arg } => {
            match (name.as_str(), &arg.value) {
                ("Fn::GetAtt", Value::Str(dotted)) => {
                    if let Some((target, attribute)) = dotted.split_once('.') {
                        out.push((node.line, target.into(), attribute.into(), format!("!GetAtt {dotted}")));
                    }
                }
                ("Fn::GetAtt", Value::Seq(items)) => {
                    if let [Some(target), Some(attribute)] = [
                        items.first().and_then(Node::as_str),
                        items.get(1).and_then(Node::as_str),
                    ] {
                        out.push((
                            node.line,
                            target.into(),
                            attribute.into(),
                            format!("Fn::GetAtt [{target}, {attribute}]"),
                        ));
                    }
                }
                ("Fn::Sub", _) => {
                    let (text, defined) = match &arg.value {
                        Value::Str(text) => (Some(text.as_str()), Vec::new()),
                        Value::Seq(items) => (
                            items.first().and_then(Node::as_str),
                            items
                                .get(1)
                                .map(|vars| entries(vars).into_iter().map(|(k, _, _)| k.to_owned()).collect())
                                .unwrap_or_default(),
                        ),
                        _ => (None, Vec::new()),
                    };
                    for variable in text.map(sub_variables).unwrap_or_default() {
                        if let Some((target, attribute)) = variable.split_once('.') {
                            if !defined.iter().any(|d| d == variable) {
                                out.push((node.line, target.into(), attribute.into(), format!("${{{variable}}}")));
                            }
                        }
                    }
                }
                _ => {}
            }
            get_atts(arg, out);
        }
    }
}

/// The `${NAME}` variables of a `Fn::Sub` string (not the literal `${!NAME}`).
fn sub_variables(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("${") {
        rest = &rest[at + 2..];
        let Some(end) = rest.find('}') else { break };
        if !rest.starts_with('!') {
            out.push(rest[..end].trim());
        }
        rest = &rest[end + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse;

    fn findings(yaml: &str) -> Vec<String> {
        let report = lint(&parse(yaml).unwrap(), None).unwrap();
        report
            .findings
            .iter()
            .map(|f| format!("{}: {}: {}", f.line, f.property, f.message))
            .collect()
    }

    #[test]
    fn paths_are_located() {
        let doc = parse("Name: x\nTags:\n  - !Ref AWS::NoValue\n  - Key: a\n    Value: b\nConf:\n  a.b: c\n").unwrap();
        let at = |key: &str| Path::key(key);
        assert_eq!(locate(&doc, &at("Name")), (Some(1), true));
        assert_eq!(
            locate(&doc, &at("Tags").index(0).key_in("Value")),
            (Some(5), true),
            "NoValue items do not count"
        );
        assert_eq!(locate(&doc, &at("Tags").index(1)), (Some(2), false));
        assert_eq!(
            locate(&doc, &at("Conf").key_in("a.b")),
            (Some(7), true),
            "a map key with a dot is one step"
        );
        assert_eq!(locate(&doc, &at("Missing")), (None, false));
    }

    #[test]
    fn literal_subs_are_literals() {
        let s = |t: &str| Node {
            line: 1,
            value: Value::Str(t.into()),
        };
        assert_eq!(literal_sub("Fn::Sub", &s("plain")), Some("plain".into()));
        assert_eq!(literal_sub("Fn::Sub", &s("a-${!Literal}")), Some("a-${Literal}".into()));
        assert_eq!(literal_sub("Fn::Sub", &s("${AWS::StackName}-x")), None);
        assert_eq!(literal_sub("Fn::Join", &s("plain")), None);
        assert_eq!(sub_variables("${A.Arn}/${!B.C}/${ D.E }"), vec!["A.Arn", "D.E"]);
    }

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("custom::deliverysorce", "custom::deliverysource"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn a_list_item_if_is_checked_per_branch() {
        let got = findings(
            "Resources:\n  S:\n    Type: Custom::DeliverySource\n    Properties:\n      ServiceToken: !ImportValue p\n      ServiceTimeout: 60\n      Name: n\n      ResourceArn: !Ref R\n      LogType: L\n      Tags:\n        - !If [C, {Key: 'a#', Value: v}, !Ref AWS::NoValue]\n        - Key: b\n          Value: !If [D, 'x,y', 'z,w']\n",
        );
        assert_eq!(
            got,
            vec![
                "11: Tags[0].Key: 'a#' contains '#'; tags allow only letters, digits, spaces and _ . : / = + - @ (when condition C is true)",
                "13: Tags[1].Value: 'x,y' contains ','; tags allow only letters, digits, spaces and _ . : / = + - @ (when condition D is true)",
                "13: Tags[1].Value: 'z,w' contains ','; tags allow only letters, digits, spaces and _ . : / = + - @ (when condition D is false)",
            ]
        );
    }

    #[test]
    fn a_branch_can_make_another_property_required_but_branches_are_never_combined() {
        let destination = |props: &str| {
            format!("Resources:\n  D:\n    Type: Custom::DeliveryDestination\n    Properties:\n      ServiceToken: !ImportValue p\n      ServiceTimeout: 60\n      Name: d\n{props}")
        };
        let got = findings(&destination("      DeliveryDestinationType: !If [IsXray, XRAY, S3]\n"));
        assert_eq!(
            got,
            vec!["4: DestinationResourceArn: is required (unless DeliveryDestinationType is XRAY) (when condition IsXray is false)"]
        );
        // The same condition on both: each Fn::If alone is fine with the other undecided.
        let got = findings(&destination(
            "      DeliveryDestinationType: !If [IsX, XRAY, !Ref AWS::NoValue]\n      DestinationResourceArn: !If [IsX, !Ref AWS::NoValue, arn:aws:s3:::b]\n",
        ));
        assert_eq!(got, Vec::<String>::new());
    }

    #[test]
    fn the_resource_docs_list_the_same_attributes() {
        let doc = include_str!("../../../docs/RESOURCES.md");
        let table = doc
            .split("## Ref and Fn::GetAtt")
            .nth(1)
            .expect("docs/RESOURCES.md has the Ref and Fn::GetAtt table");
        for kind in cfn_logs_delivery::resources::KINDS {
            let (resource_type, attributes) = (kind.type_name, kind.attributes);
            let row = table
                .lines()
                .find(|l| l.starts_with(&format!("| `{resource_type}` |")))
                .expect("a row of the Ref and Fn::GetAtt table");
            let get_att = row.trim_end_matches('|').rsplit('|').next().unwrap();
            let named: Vec<&str> = get_att
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|w| w.chars().all(|c| c.is_ascii_alphanumeric()) && !w.is_empty())
                .collect();
            assert_eq!(&named, attributes, "{resource_type}");
        }
    }
}
