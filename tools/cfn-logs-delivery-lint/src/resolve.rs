//! The values a template's intrinsics will have, as far as the template itself says, for the
//! update plan: `Ref` and `Fn::GetAtt` of the provider's resources give what the provider answers
//! (a name, or an ARN built from the resource's Name, Region and account); of other resources, a
//! stand-in of the right shape (an S3 bucket's ARN, a log group's ARN …) named by the logical id;
//! a parameter its Default; `Fn::Sub`, `Fn::Join` and `Fn::If` (on a chosen condition value) are
//! worked out. Anything else (`Fn::ImportValue`, `Fn::Select`, …) is decided at deploy time: it
//! becomes a token made from the expression, the same in both templates when the expression is.
//!
//! Stand-ins are the same for the old and the new template, so a value changes in the plan only
//! when what the template writes changes. Parameter values given at deploy time are not known.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value as Json};

use crate::check::Resource;
use crate::yaml::{Node, Value};

/// The account the plan's ARNs use for the stack's own account (the lint knows no stack).
pub const STACK_ACCOUNT: &str = "123456789012";

/// What `Ref` and `Fn::GetAtt` of one of the provider's resources give.
#[derive(Clone, Debug, Default)]
pub struct Answers {
    pub reference: String,
    pub attributes: HashMap<String, String>,
}

pub struct Resolver<'a> {
    parameters: Option<&'a Node>,
    all: &'a [Resource<'a>],
    /// The function's region (a stand-in when the lint is not told it).
    pub region: String,
    /// The value each `Fn::If` condition is taken to have (absent: true).
    pub conditions: HashMap<String, bool>,
    /// The provider's resources resolved so far (dependencies first).
    pub answers: HashMap<String, Answers>,
    /// Expressions decided at deploy time met while resolving the last value.
    pub opaque: BTreeSet<String>,
    /// Mixed into the tokens of those expressions: a decision that reads the same with another
    /// salt does not depend on them.
    salt: u32,
}

impl<'a> Resolver<'a> {
    pub fn new(doc: &'a Node, all: &'a [Resource<'a>], region: &str) -> Self {
        Resolver {
            parameters: doc.get("Parameters"),
            all,
            region: region.to_owned(),
            conditions: HashMap::new(),
            answers: HashMap::new(),
            opaque: BTreeSet::new(),
            salt: 0,
        }
    }

    /// The same template and answers, with `conditions` chosen, nothing opaque met yet, and
    /// deploy-time values given tokens salted with `salt`.
    pub fn with_conditions(&self, conditions: &HashMap<String, bool>, salt: u32) -> Resolver<'a> {
        Resolver {
            parameters: self.parameters,
            all: self.all,
            region: self.region.clone(),
            conditions: conditions.clone(),
            answers: self.answers.clone(),
            opaque: BTreeSet::new(),
            salt,
        }
    }

    /// The `ResourceProperties` CloudFormation would send for `props`.
    pub fn properties(&mut self, props: Option<&Node>) -> Json {
        props
            .and_then(|p| self.json(p))
            .filter(Json::is_object)
            .unwrap_or_else(|| Json::Object(Map::new()))
    }

    /// `None`: `!Ref AWS::NoValue`, which removes the value.
    fn json(&mut self, node: &Node) -> Option<Json> {
        Some(match &node.value {
            Value::Null => Json::Null,
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().filter_map(|i| self.json(i)).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .filter_map(|e| Some((e.key.clone(), self.json(&e.value)?)))
                    .collect(),
            ),
            Value::Intrinsic { .. } if node.is_no_value() => return None,
            Value::Intrinsic { name, arg } if name == "Fn::If" => {
                let Value::Seq(parts) = &arg.value else {
                    return Some(Json::String(self.opaque(node)));
                };
                let chosen = match parts.as_slice() {
                    [cond, yes, no] => match self.condition(cond.as_str().unwrap_or_default()) {
                        true => yes,
                        false => no,
                    },
                    _ => return Some(Json::String(self.opaque(node))),
                };
                return self.json(chosen);
            }
            Value::Intrinsic { .. } => Json::String(self.text(node)),
        })
    }

    fn condition(&self, name: &str) -> bool {
        self.conditions.get(name).copied().unwrap_or(true)
    }

    /// A scalar's value.
    fn text(&mut self, node: &Node) -> String {
        match &node.value {
            Value::Str(s) => s.clone(),
            Value::Intrinsic { name, arg } => match (name.as_str(), &arg.value) {
                ("Ref", Value::Str(id)) => self.reference(id),
                ("Fn::GetAtt", Value::Str(path)) => match path.split_once('.') {
                    Some((id, attribute)) => self.attribute(id, attribute),
                    None => self.opaque(node),
                },
                ("Fn::GetAtt", Value::Seq(parts)) => match (parts.first(), parts.get(1)) {
                    (Some(id), Some(attribute)) if id.as_str().is_some() && attribute.as_str().is_some() => {
                        self.attribute(id.as_str().unwrap_or_default(), attribute.as_str().unwrap_or_default())
                    }
                    _ => self.opaque(node),
                },
                ("Fn::Sub", Value::Str(text)) => self.sub(text, &HashMap::new()),
                ("Fn::Sub", Value::Seq(parts)) => match parts.as_slice() {
                    [text, vars] if text.as_str().is_some() => {
                        let vars: HashMap<String, String> = match &vars.value {
                            Value::Map(entries) => {
                                entries.iter().map(|e| (e.key.clone(), self.text(&e.value))).collect()
                            }
                            _ => HashMap::new(),
                        };
                        self.sub(text.as_str().unwrap_or_default(), &vars)
                    }
                    _ => self.opaque(node),
                },
                ("Fn::Join", Value::Seq(parts)) => match parts.as_slice() {
                    [delimiter, Node {
                        value: Value::Seq(items),
                        ..
                    }] if delimiter.as_str().is_some() => {
                        let items: Vec<String> = items
                            .iter()
                            .filter(|i| !i.is_no_value())
                            .map(|i| self.text(i))
                            .collect();
                        items.join(delimiter.as_str().unwrap_or_default())
                    }
                    _ => self.opaque(node),
                },
                ("Fn::If", _) => match self.json(node) {
                    Some(Json::String(s)) => s,
                    _ => self.opaque(node),
                },
                _ => self.opaque(node),
            },
            _ => self.opaque(node),
        }
    }

    fn sub(&mut self, text: &str, vars: &HashMap<String, String>) -> String {
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let Some((variable, after)) = rest[at + 2..].split_once('}') else {
                out.push_str(&rest[at..]);
                return out;
            };
            match variable.strip_prefix('!') {
                Some(literal) => out.push_str(&format!("${{{literal}}}")),
                None => out.push_str(&match (vars.get(variable), variable.split_once('.')) {
                    (Some(value), _) => value.clone(),
                    (None, Some((id, attribute))) => self.attribute(id, attribute),
                    (None, None) => self.reference(variable),
                }),
            }
            rest = after;
        }
        out.push_str(rest);
        out
    }

    /// `Ref`: a pseudo parameter, a parameter's Default, or a resource's stand-in.
    fn reference(&mut self, id: &str) -> String {
        match id {
            "AWS::AccountId" => return STACK_ACCOUNT.into(),
            "AWS::Region" => return self.region.clone(),
            "AWS::Partition" => return "aws".into(),
            "AWS::URLSuffix" => return "amazonaws.com".into(),
            "AWS::StackName" => return "stack".into(),
            _ => {}
        }
        if let Some(answers) = self.answers.get(id) {
            return answers.reference.clone();
        }
        if let Some(parameter) = self.parameters.and_then(|p| p.get(id)) {
            return match parameter.get("Default").and_then(Node::as_str) {
                Some(default) => default.to_owned(),
                None => self.opaque_named(&format!("the parameter {id}")),
            };
        }
        match self.type_of(id).as_deref() {
            Some("AWS::S3::Bucket") | Some("AWS::Logs::LogGroup") | Some("AWS::KinesisFirehose::DeliveryStream") => {
                stand_in_name(id)
            }
            Some("AWS::CloudFront::Distribution") => format!("E{}", id.to_ascii_uppercase()),
            Some(_) => stand_in_name(id),
            None => self.opaque_named(&format!("Ref {id}")),
        }
    }

    /// `Fn::GetAtt`: the provider's answer, or a stand-in ARN of the resource's type.
    fn attribute(&mut self, id: &str, attribute: &str) -> String {
        if let Some(value) = self.answers.get(id).and_then(|a| a.attributes.get(attribute)) {
            return value.clone();
        }
        let name = stand_in_name(id);
        let (region, account) = (self.region.clone(), STACK_ACCOUNT);
        match (self.type_of(id).as_deref(), attribute) {
            (Some("AWS::S3::Bucket"), "Arn") => format!("arn:aws:s3:::{name}"),
            (Some("AWS::Logs::LogGroup"), "Arn") => format!("arn:aws:logs:{region}:{account}:log-group:{name}:*"),
            (Some("AWS::KinesisFirehose::DeliveryStream"), "Arn") => {
                format!("arn:aws:firehose:{region}:{account}:deliverystream/{name}")
            }
            (Some("AWS::IAM::Role"), "Arn") => format!("arn:aws:iam::{account}:role/{name}"),
            (Some(_), "Arn") => format!(
                "arn:aws:{}:{region}:{account}:{name}",
                service_of(&self.type_of(id).unwrap_or_default())
            ),
            _ => self.opaque_named(&format!("Fn::GetAtt {id}.{attribute}")),
        }
    }

    fn type_of(&self, id: &str) -> Option<String> {
        self.all
            .iter()
            .find(|r| r.logical_id == id)
            .map(|r| r.type_name().to_owned())
    }

    fn opaque(&mut self, node: &Node) -> String {
        let what = match &node.value {
            Value::Intrinsic { name, .. } => name.clone(),
            _ => "a value".into(),
        };
        let token = format!("deploy-time-{:08x}", fnv(&node.shape()) ^ self.salt);
        self.opaque.insert(what);
        token
    }

    fn opaque_named(&mut self, what: &str) -> String {
        self.opaque.insert(what.to_owned());
        format!("deploy-time-{:08x}", fnv(what) ^ self.salt)
    }
}

/// A stand-in physical name from a logical id, valid as a bucket, log group or stream name.
fn stand_in_name(id: &str) -> String {
    id.to_ascii_lowercase()
}

/// `AWS::SQS::Queue` → `sqs`.
fn service_of(resource_type: &str) -> String {
    resource_type
        .split("::")
        .nth(1)
        .unwrap_or("unknown")
        .to_ascii_lowercase()
}

/// A short stable hash (FNV-1a) of an expression, so equal expressions give equal tokens.
fn fnv(text: &str) -> u32 {
    text.bytes()
        .fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// The condition names the `Fn::If`s under `node` choose by.
pub fn conditions_in(node: &Node, out: &mut BTreeSet<String>) {
    match &node.value {
        Value::Intrinsic { name, arg } => {
            if name == "Fn::If" {
                if let Value::Seq(parts) = &arg.value {
                    out.extend(parts.first().and_then(Node::as_str).map(str::to_owned));
                }
            }
            conditions_in(arg, out);
        }
        Value::Seq(items) => items.iter().for_each(|i| conditions_in(i, out)),
        Value::Map(entries) => entries.iter().for_each(|e| conditions_in(&e.value, out)),
        Value::Null | Value::Str(_) => {}
    }
}
