//! Reading `ResourceProperties` strictly: unknown names, missing, empty or wrongly-typed values are
//! refused with an error that names the property as the template spells it, before any AWS call.
//! CloudFormation sends scalars as strings ("true", "5"), so that is what we accept.
//!
//! A problem is data ([`Problem`]): a structured [`Path`] and a [`Rank`] set where it is found. The
//! Reason is its text; the lint finds its line by the path's steps.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::LazyLock;

use regex_syntax::hir::{Class, HirKind};
use serde_json::{Map, Value};

use crate::text::shorten;

/// Properties CloudFormation itself adds; accepted and ignored.
const CLOUDFORMATION_PROPERTIES: &[&str] = &["ServiceToken", "ServiceTimeout"];
/// Tag keys we own (ownership markers) or AWS owns.
pub const RESERVED_TAG_PREFIXES: &[&str] = &["aws:", "cfn-logs-delivery:"];
/// 50 tags per resource, less the two ownership tags the handler adds.
pub const MAX_USER_TAGS: usize = 48;

/// The properties of one resource, checked against the names the resource kind knows. Problems
/// are collected, not returned one at a time: a user fixes every mistake after one failed deploy.
pub struct Props<'a> {
    map: &'a Map<String, Value>,
    problems: RefCell<Vec<Problem>>,
}

impl<'a> Props<'a> {
    /// Fails at once only on a non-object; property names outside `known` are recorded.
    pub fn new(value: &'a Value, known: &[&str]) -> Result<Self, Problems> {
        let map = value.as_object().ok_or_else(|| {
            Problem::value(
                "ResourceProperties",
                format!("must be an object, got {}", type_name(value)),
            )
        })?;
        let props = Props {
            map,
            problems: RefCell::new(Vec::new()),
        };
        for unknown in map
            .keys()
            .filter(|k| !known.contains(&k.as_str()) && !CLOUDFORMATION_PROPERTIES.contains(&k.as_str()))
        {
            let message = format!("unknown property; supported properties are {}", known.join(", "));
            props.record(Problem {
                path: Path::key(unknown),
                message,
                rank: Rank::Unknown,
            });
        }
        Ok(props)
    }

    /// Whether the template sets `key` (to anything but null).
    pub fn has(&self, key: &str) -> bool {
        self.map.get(key).is_some_and(|v| !v.is_null())
    }

    /// The value of a check, or `None` with its problems recorded.
    pub fn take<T>(&self, checked: Result<T, impl Into<Problems>>) -> Option<T> {
        match checked {
            Ok(v) => Some(v),
            Err(problems) => {
                problems.into().0.into_iter().for_each(|p| self.record(p));
                None
            }
        }
    }

    /// `value` if no problem was recorded, else every problem, most important first.
    pub fn finish<T>(self, value: impl FnOnce() -> T) -> Result<T, Problems> {
        let problems = self.problems.into_inner();
        if problems.is_empty() {
            Ok(value())
        } else {
            Err(Problems::new(problems))
        }
    }

    fn record(&self, problem: Problem) {
        self.problems.borrow_mut().push(problem);
    }

    pub fn required_str(&self, key: &str) -> Result<&'a str, Problem> {
        self.optional_str(key)?.ok_or_else(|| Problem::missing(key))
    }

    /// A non-empty string, or absent (JSON null counts as absent).
    pub fn optional_str(&self, key: &str) -> Result<Option<&'a str>, Problem> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Err(Problem::value(key, "must not be empty")),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(Problem::value(
                key,
                format!("must be a string, got {}", type_name(other)),
            )),
        }
    }

    /// "true"/"false" as CloudFormation sends them, or a JSON boolean.
    pub fn optional_bool(&self, key: &str) -> Result<Option<bool>, Problem> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
            Some(Value::String(s)) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
            Some(other) => Err(Problem::value(
                key,
                format!("must be \"true\" or \"false\", got {}", describe(other)),
            )),
        }
    }

    /// A list of at most `max_items` strings, each `1..=max_len` characters; every bad item is named.
    pub fn optional_str_list(
        &self,
        key: &str,
        max_items: usize,
        max_len: usize,
    ) -> Result<Option<Vec<String>>, Problems> {
        let items = match self.map.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(Problem::value(key, format!("must be a list of strings, got {}", type_name(other))).into())
            }
        };
        if items.len() > max_items {
            return Err(Problem::value(
                key,
                format!("at most {max_items} items are allowed, got {}", items.len()),
            )
            .into());
        }
        all_of(items.iter().enumerate().map(|(i, item)| {
            let at = Path::key(key).index(i);
            match item {
                Value::String(s) if s.is_empty() => Err(Problem::value(at, "must not be empty")),
                Value::String(s) => check_len(at, s, 1, max_len).map(drop),
                other => Err(Problem::value(
                    at,
                    format!("must be a string, got {}", type_name(other)),
                )),
            }
        }))?;
        Ok(Some(
            items
                .iter()
                .filter_map(|item| item.as_str().map(str::to_owned))
                .collect(),
        ))
    }

    /// A JSON document given either as an object or as a string holding one.
    pub fn optional_json_object(&self, key: &str) -> Result<Option<Value>, Problem> {
        match self.map.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(doc @ Value::Object(_)) => Ok(Some(doc.clone())),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(doc @ Value::Object(_)) => Ok(Some(doc)),
                Ok(other) => Err(Problem::value(
                    key,
                    format!("must be a JSON object, got {}", type_name(&other)),
                )),
                Err(e) => Err(Problem::value(key, format!("is not valid JSON: {e}"))),
            },
            Some(other) => Err(Problem::value(
                key,
                format!(
                    "must be a JSON object or a string holding one, got {}",
                    type_name(other)
                ),
            )),
        }
    }

    /// `Tags`: a list of `{Key, Value}`, validated as the Logs API would; every problem of every tag is named.
    pub fn tags(&self) -> Result<Tags, Problems> {
        let items = match self.map.get("Tags") {
            None | Some(Value::Null) => return Ok(Tags::default()),
            Some(Value::Array(items)) => items,
            Some(other) => {
                return Err(Problem::value(
                    "Tags",
                    format!("must be a list of {{Key, Value}}, got {}", type_name(other)),
                )
                .into())
            }
        };
        if items.len() > MAX_USER_TAGS {
            return Err(Problem::value(
                "Tags",
                format!("at most {MAX_USER_TAGS} tags are allowed, got {}", items.len()),
            )
            .into());
        }
        let mut tags = BTreeMap::new();
        let mut problems = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match tag_entry(i, item) {
                Ok((key, value)) => {
                    if tags.insert(key.to_owned(), value.to_owned()).is_some() {
                        let at = Path::key("Tags").index(i).key_in("Key");
                        problems.push(Problem::value(at, format!("duplicate tag key '{}'", shorten(key, 128))));
                    }
                }
                Err(more) => problems.extend(more),
            }
        }
        if problems.is_empty() {
            Ok(Tags(tags))
        } else {
            Err(Problems::new(problems))
        }
    }

    /// A map of strings given as a JSON object (e.g. `DeliverySourceConfiguration`), keys and
    /// values `min..=max` characters long.
    pub fn optional_str_map(
        &self,
        key: &str,
        min: usize,
        max: usize,
    ) -> Result<Option<HashMap<String, String>>, Problems> {
        let entries = match self.map.get(key) {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Object(entries)) => entries,
            Some(other) => {
                return Err(Problem::value(key, format!("must be a map of strings, got {}", type_name(other))).into())
            }
        };
        let mut map = HashMap::new();
        all_of(entries.iter().map(|(k, v)| {
            let at = Path::key(key).key_in(k);
            check_len(at.clone(), k, min, max).map_err(|_| {
                Problem::value(
                    at.clone(),
                    format!("keys must be {min} to {max} characters long, got {}", k.chars().count()),
                )
            })?;
            let Value::String(v) = v else {
                return Err(Problem::value(at, format!("must be a string, got {}", type_name(v))));
            };
            check_len(at, v, min, max)?;
            map.insert(k.clone(), v.clone());
            Ok(())
        }))?;
        Ok(Some(map))
    }
}

/// Every problem of several independent checks, as one (none: `Ok`).
pub fn all_of(checks: impl IntoIterator<Item = Result<(), Problem>>) -> Result<(), Problems> {
    let problems: Vec<Problem> = checks.into_iter().filter_map(Result::err).collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Problems::new(problems))
    }
}

/// "is required": the message of a missing value.
const IS_REQUIRED: &str = "is required";
/// At most this much of a Reason lists problems; the answer body must stay within 4096 bytes
/// with every id echoed.
const MAX_PROBLEMS_TEXT: usize = 2000;
/// At most this many characters of a key a path names (a template's unknown key may be long).
const MAX_KEY_CHARS: usize = 100;

/// One step into the properties: a mapping's key (a property, a tag field, a map key) or a list position.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// Where a problem is, step by step; shown as the template spells it: `Tags[1].Key`,
/// `DeliverySourceConfiguration.a.b` (a map key may hold dots: the steps, not the text, say where).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Path(pub Vec<Step>);

impl Path {
    /// The property `key`.
    pub fn key(key: &str) -> Path {
        Path(vec![Step::Key(key.to_owned())])
    }

    /// This path, then the mapping key `key`.
    #[must_use]
    pub fn key_in(mut self, key: &str) -> Path {
        self.0.push(Step::Key(key.to_owned()));
        self
    }

    /// This path, then list position `i`.
    #[must_use]
    pub fn index(mut self, i: usize) -> Path {
        self.0.push(Step::Index(i));
        self
    }

    /// Whether `self` is `other` or inside it.
    pub fn starts_with(&self, other: &Path) -> bool {
        self.0.starts_with(&other.0)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, step) in self.0.iter().enumerate() {
            match step {
                Step::Key(key) if i == 0 => f.write_str(&shorten(key, MAX_KEY_CHARS))?,
                Step::Key(key) => write!(f, ".{}", shorten(key, MAX_KEY_CHARS))?,
                Step::Index(i) => write!(f, "[{i}]")?,
            }
        }
        Ok(())
    }
}

impl From<&str> for Path {
    fn from(key: &str) -> Path {
        Path::key(key)
    }
}

/// How much a problem matters to the user, most first: a missing property, then an unknown one
/// (often the same typo), then a bad value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Rank {
    Missing,
    Unknown,
    Value,
}

/// One problem with one property, named as the template spells it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub path: Path,
    pub message: String,
    pub rank: Rank,
}

impl Problem {
    /// A bad value at `path`.
    pub fn value(path: impl Into<Path>, message: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            message: message.into(),
            rank: Rank::Value,
        }
    }

    /// A required property that is not there.
    pub fn missing(key: &str) -> Problem {
        Problem {
            path: Path::key(key),
            message: IS_REQUIRED.into(),
            rank: Rank::Missing,
        }
    }
}

impl fmt::Display for Problem {
    /// `Tags[1].Key: must be …`: the Reason of a single problem.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Every problem of one request, most important first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problems(pub Vec<Problem>);

impl Problems {
    fn new(mut problems: Vec<Problem>) -> Problems {
        problems.sort_by_key(|p| p.rank); // stable: template order within a rank
        Problems(problems)
    }
}

impl From<Problem> for Problems {
    fn from(problem: Problem) -> Problems {
        Problems(vec![problem])
    }
}

impl fmt::Display for Problems {
    /// One problem: `A: …`. More: `N problems: A: …; B: …` within [`MAX_PROBLEMS_TEXT`] bytes,
    /// then how many were left out.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let [only] = self.0.as_slice() {
            return only.fmt(f);
        }
        let mut text = format!("{} problems: ", self.0.len());
        let mut shown = 0;
        for (i, p) in self.0.iter().enumerate() {
            let item = format!("{}{p}", if i == 0 { "" } else { "; " });
            if text.len() + item.len() > MAX_PROBLEMS_TEXT && shown > 0 {
                break;
            }
            text.push_str(&item);
            shown += 1;
        }
        if shown < self.0.len() {
            text.push_str(&format!("; and {} more not shown", self.0.len() - shown));
        }
        f.write_str(&text)
    }
}

/// One tag, with every problem it has: a field it may not have, and the first problem of its Key
/// and of its Value (each one value to fix).
fn tag_entry(i: usize, item: &Value) -> Result<(&str, &str), Vec<Problem>> {
    let tag = Path::key("Tags").index(i);
    let Some(obj) = item.as_object() else {
        return Err(vec![Problem::value(
            tag,
            format!("must be an object with Key and Value, got {}", type_name(item)),
        )]);
    };
    let mut problems = Vec::new();
    if let Some(extra) = obj.keys().find(|k| *k != "Key" && *k != "Value") {
        problems.push(Problem::value(
            tag.clone(),
            format!("unknown field '{}'; a tag has only Key and Value", shorten(extra, 100)),
        ));
    }
    let field = |name: &str, min: usize, max: usize| -> Result<&str, Problem> {
        let at = tag.clone().key_in(name);
        let text = match obj.get(name) {
            Some(Value::String(text)) => text.as_str(),
            Some(other) => {
                return Err(Problem::value(
                    at,
                    format!("must be a string, got {}", type_name(other)),
                ))
            }
            None => return Err(Problem::value(at, IS_REQUIRED)),
        };
        check_len(at.clone(), text, min, max)?;
        check_tag_chars(at, text)
    };
    let key = field("Key", 1, 128).and_then(|key| {
        match RESERVED_TAG_PREFIXES
            .iter()
            .find(|p| key.to_ascii_lowercase().starts_with(*p))
        {
            Some(prefix) => Err(Problem::value(
                tag.clone().key_in("Key"),
                format!("keys starting with '{prefix}' are reserved"),
            )),
            None => Ok(key),
        }
    });
    let value = field("Value", 0, 256);
    match (key, value) {
        (Ok(key), Ok(value)) if problems.is_empty() => Ok((key, value)),
        (key, value) => {
            problems.extend(key.err());
            problems.extend(value.err());
            Err(problems)
        }
    }
}

/// Tag keys and values as the service model allows them: `^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$`
/// (docs/SERVICE-RULES.md#tag-patterns); the real API refuses anything else, moto does not check.
fn check_tag_chars(path: Path, text: &str) -> Result<&str, Problem> {
    let Some(bad) = text.chars().find(|&c| !is_tag_char(c)) else {
        return Ok(text);
    };
    Err(Problem::value(
        path,
        format!(
            "'{}' contains {bad:?}; tags allow only letters, digits, spaces and _ . : / = + - @",
            shorten(text, 80)
        ),
    ))
}

/// One character of that pattern, decided without compiling it: building a regex with these
/// Unicode classes took ~3 million instructions on the first event with tags, and its compiler's
/// code and automata ~0.3 MB of memory. ASCII (where \p{L} is A-Z a-z, \p{N} 0-9 and \p{Z} the
/// space) is decided here; other characters by the classes themselves, read once from regex-syntax's
/// Unicode tables (the ones the regex crate uses).
fn is_tag_char(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_alphanumeric() || " _.:/=+-@".contains(c);
    }
    static LETTERS_SPACES_NUMBERS: LazyLock<Vec<(char, char)>> = LazyLock::new(|| {
        let class = regex_syntax::parse(r"[\p{L}\p{Z}\p{N}]").expect("a valid class");
        let HirKind::Class(Class::Unicode(class)) = class.kind() else {
            unreachable!("a Unicode class parses to one")
        };
        class.ranges().iter().map(|r| (r.start(), r.end())).collect()
    });
    // The ranges are sorted and disjoint (regex-syntax keeps a class canonical).
    let after = LETTERS_SPACES_NUMBERS.partition_point(|&(_, end)| end < c);
    LETTERS_SPACES_NUMBERS.get(after).is_some_and(|&(start, _)| start <= c)
}

/// The user's tags (never the reserved ones), sorted for stable diffs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(pub BTreeMap<String, String>);

// ---- value checks shared by the resource kinds ----

/// Delivery source and destination names: 1–60 of `[A-Za-z0-9_-]`.
pub fn check_name(property: impl Into<Path>, name: &str) -> Result<&str, Problem> {
    let property = property.into();
    check_len(property.clone(), name, 1, 60)?;
    check_word_chars(property, name)
}

pub fn is_valid_name(name: &str) -> bool {
    check_name("", name).is_ok()
}

/// Letters, digits, `_` and `-`, as the API's `[\w-]*`.
pub fn check_word_chars(property: impl Into<Path>, value: &str) -> Result<&str, Problem> {
    match value
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        None => Ok(value),
        Some(bad) => Err(Problem::value(
            property,
            format!(
                "'{}' contains {bad:?}; only letters, digits, '_' and '-' are allowed",
                shorten(value, 80)
            ),
        )),
    }
}

/// Length in characters within `min..=max`.
pub fn check_len(property: impl Into<Path>, value: &str, min: usize, max: usize) -> Result<&str, Problem> {
    let n = value.chars().count();
    if n < min || n > max {
        let range = if min == 0 {
            format!("at most {max}")
        } else {
            format!("{min} to {max}")
        };
        return Err(Problem::value(
            property,
            format!("must be {range} characters long, got {n}"),
        ));
    }
    Ok(value)
}

/// One of `allowed`, compared exactly.
pub fn check_one_of<'v>(property: impl Into<Path>, value: &'v str, allowed: &[&str]) -> Result<&'v str, Problem> {
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(Problem::value(
            property,
            format!("'{}' is not one of {}", shorten(value, 80), allowed.join(", ")),
        ))
    }
}

/// An ARN: `arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE` with non-empty partition, service and
/// resource. Returns the parsed parts for further checks.
pub fn check_arn<'v>(property: &str, value: &'v str) -> Result<Arn<'v>, Problem> {
    let bad = |why: &str| {
        Problem::value(
            property,
            format!(
                "'{}' is not an ARN ({why}); expected arn:PARTITION:SERVICE:REGION:ACCOUNT:RESOURCE",
                shorten(value, 100)
            ),
        )
    };
    check_len(property, value, 1, 2048)?;
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    if parts.len() < 6 || parts[0] != "arn" {
        return Err(bad("wrong shape"));
    }
    let [_, partition, service, region, account, resource] =
        [parts[0], parts[1], parts[2], parts[3], parts[4], parts[5]];
    if !partition.starts_with("aws") || !is_arn_token(partition) {
        return Err(bad("unknown partition"));
    }
    if !is_arn_token(service) || service.is_empty() {
        return Err(bad("bad service"));
    }
    if !is_arn_token(region) {
        return Err(bad("bad region"));
    }
    if !account.chars().all(|c| c.is_ascii_digit()) || !(account.is_empty() || account.len() == 12) {
        return Err(bad("bad account id"));
    }
    if resource.is_empty() || resource.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(bad("bad resource part"));
    }
    Ok(Arn {
        service,
        region,
        account,
        resource,
    })
}

fn is_arn_token(s: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// The parts of an ARN the handler looks at.
#[derive(Debug, PartialEq, Eq)]
pub struct Arn<'v> {
    pub service: &'v str,
    pub region: &'v str,
    pub account: &'v str,
    pub resource: &'v str,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::String(s) => format!("'{}'", shorten(s, 40)),
        other => type_name(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const KNOWN: &[&str] = &["Name", "Flag", "List", "Doc", "Tags"];

    fn err_of(r: Result<impl fmt::Debug, impl fmt::Display>) -> String {
        r.expect_err("should fail").to_string()
    }

    #[test]
    fn unknown_property_is_named_and_cloudformation_ones_are_ignored() {
        let v = json!({"Name": "a", "ServiceToken": "arn:x", "ServiceTimeout": "60"});
        assert!(Props::new(&v, KNOWN).is_ok());
        let v = json!({"Name": "a", "Nmae": "b"});
        let msg = err_of(Props::new(&v, KNOWN).unwrap().finish(|| ()));
        assert!(msg.starts_with("Nmae: unknown property"), "{msg}");
    }

    #[test]
    fn every_problem_is_reported_most_important_first() {
        let v = json!({"Colour": "red", "Flag": "maybe", "Tags": [{"Key": "a#"}, {"Key": "ok", "Value": "x"}, {"Key": "", "Value": ""}]});
        let p = Props::new(&v, KNOWN).unwrap();
        assert_eq!(p.take(p.required_str("Name")), None);
        p.take(p.optional_bool("Flag"));
        p.take(p.tags());
        let msg = err_of(p.finish(|| ()));
        assert_eq!(
            msg,
            "6 problems: Name: is required; Colour: unknown property; supported properties are Name, Flag, List, Doc, Tags; \
             Flag: must be \"true\" or \"false\", got 'maybe'; \
             Tags[0].Key: 'a#' contains '#'; tags allow only letters, digits, spaces and _ . : / = + - @; Tags[0].Value: is required; \
             Tags[2].Key: must be 1 to 128 characters long, got 0"
        );
    }

    #[test]
    fn a_tag_reports_every_problem_with_its_path() {
        let v = json!({"Tags": [{"Key": "aws:x", "Value": 5, "Colour": "red"}]});
        let problems = Props::new(&v, KNOWN).unwrap().tags().unwrap_err();
        let tag = Path::key("Tags").index(0);
        let paths: Vec<&Path> = problems.0.iter().map(|p| &p.path).collect();
        assert_eq!(paths, [&tag, &tag.clone().key_in("Key"), &tag.clone().key_in("Value")]);
        assert_eq!(
            problems.to_string(),
            "3 problems: Tags[0]: unknown field 'Colour'; a tag has only Key and Value; Tags[0].Key: keys starting with 'aws:' are reserved; \
             Tags[0].Value: must be a string, got a number"
        );
    }

    #[test]
    fn a_long_list_of_problems_is_cut_with_a_count() {
        let v: Value = (0..200)
            .map(|i| (format!("Unknown{i}"), json!("x")))
            .collect::<Map<_, _>>()
            .into();
        let msg = err_of(Props::new(&v, KNOWN).unwrap().finish(|| ()));
        assert!(msg.starts_with("200 problems: Unknown0: unknown property"), "{msg}");
        assert!(msg.len() <= MAX_PROBLEMS_TEXT + 40, "{} bytes", msg.len());
        let shown = msg.matches("unknown property").count();
        assert!(msg.ends_with(&format!("; and {} more not shown", 200 - shown)), "{msg}");
    }

    #[test]
    fn strings_must_be_strings_and_not_empty() {
        let v = json!({"Name": 5});
        assert_eq!(
            err_of(Props::new(&v, KNOWN).unwrap().required_str("Name")),
            "Name: must be a string, got a number"
        );
        let v = json!({"Name": ""});
        assert_eq!(
            err_of(Props::new(&v, KNOWN).unwrap().required_str("Name")),
            "Name: must not be empty"
        );
        let v = json!({});
        assert_eq!(
            err_of(Props::new(&v, KNOWN).unwrap().required_str("Name")),
            "Name: is required"
        );
    }

    #[test]
    fn booleans_come_as_strings() {
        let v = json!({"Flag": "true"});
        assert_eq!(
            Props::new(&v, KNOWN).unwrap().optional_bool("Flag").unwrap(),
            Some(true)
        );
        let v = json!({"Flag": false});
        assert_eq!(
            Props::new(&v, KNOWN).unwrap().optional_bool("Flag").unwrap(),
            Some(false)
        );
        let v = json!({"Flag": "yes"});
        assert!(err_of(Props::new(&v, KNOWN).unwrap().optional_bool("Flag"))
            .starts_with("Flag: must be \"true\" or \"false\""));
    }

    #[test]
    fn lists_name_the_bad_item() {
        let v = json!({"List": ["a", 3]});
        assert_eq!(
            err_of(Props::new(&v, KNOWN).unwrap().optional_str_list("List", 5, 10)),
            "List[1]: must be a string, got a number"
        );
    }

    #[test]
    fn json_documents_as_object_or_string() {
        let v = json!({"Doc": {"Version": "2012-10-17"}});
        let a = Props::new(&v, KNOWN).unwrap().optional_json_object("Doc").unwrap();
        let v = json!({"Doc": "{\"Version\": \"2012-10-17\"}"});
        let b = Props::new(&v, KNOWN).unwrap().optional_json_object("Doc").unwrap();
        assert_eq!(a, b);
        let v = json!({"Doc": "{not json"});
        assert!(
            err_of(Props::new(&v, KNOWN).unwrap().optional_json_object("Doc")).starts_with("Doc: is not valid JSON")
        );
        let v = json!({"Doc": "[1]"});
        assert!(err_of(Props::new(&v, KNOWN).unwrap().optional_json_object("Doc"))
            .starts_with("Doc: must be a JSON object"));
    }

    #[test]
    fn tags_are_validated() {
        let v = json!({"Tags": [{"Key": "team", "Value": "a"}, {"Key": "env", "Value": ""}, {"Key": "Équipe 1/x:y=z+@-_.", "Value": "données ١٢"}]});
        let tags = Props::new(&v, KNOWN).unwrap().tags().unwrap();
        assert_eq!(tags.0.len(), 3);
        let cases = [
            (json!({"Tags": {"team": "a"}}), "Tags: must be a list"),
            (json!({"Tags": [{"Key": "a"}]}), "Tags[0].Value: is required"),
            (
                json!({"Tags": [{"Key": "", "Value": "x"}]}),
                "Tags[0].Key: must be 1 to 128",
            ),
            (
                json!({"Tags": [{"Key": "a", "Value": "x"}, {"Key": "a", "Value": "y"}]}),
                "Tags[1].Key: duplicate tag key 'a'",
            ),
            (
                json!({"Tags": [{"Key": "aws:x", "Value": "x"}]}),
                "Tags[0].Key: keys starting with 'aws:' are reserved",
            ),
            (
                json!({"Tags": [{"Key": "cfn-logs-delivery:stack-id", "Value": "x"}]}),
                "Tags[0].Key: keys starting with 'cfn-logs-delivery:'",
            ),
            (
                json!({"Tags": [{"Key": "a", "Value": 1}]}),
                "Tags[0].Value: must be a string",
            ),
            (
                json!({"Tags": [{"Key": "a", "Value": "b", "Extra": 1}]}),
                "Tags[0]: unknown field 'Extra'",
            ),
            (
                json!({"Tags": [{"Key": "team#1", "Value": "x"}]}),
                "Tags[0].Key: 'team#1' contains '#'",
            ),
            (
                json!({"Tags": [{"Key": "team", "Value": "a,b"}]}),
                "Tags[0].Value: 'a,b' contains ','",
            ),
            (
                json!({"Tags": [{"Key": "k", "Value": "line\nbreak"}]}),
                "Tags[0].Value: ",
            ),
            (json!({"Tags": [{"Key": "emoji😀", "Value": "x"}]}), "Tags[0].Key: "),
        ];
        for (v, want) in cases {
            let msg = err_of(Props::new(&v, KNOWN).unwrap().tags());
            assert!(msg.starts_with(want), "{msg} !~ {want}");
        }
        let many: Vec<Value> = (0..49).map(|i| json!({"Key": format!("k{i}"), "Value": "v"})).collect();
        let v = json!({ "Tags": many });
        assert!(err_of(Props::new(&v, KNOWN).unwrap().tags()).contains("at most 48"));
    }

    /// The per-character check is the service model's pattern, character for character (every
    /// Unicode scalar value), as the regex crate reads it.
    #[test]
    fn tag_chars_are_the_service_pattern() {
        let pattern = regex::Regex::new(r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]$").unwrap();
        let mut buf = [0; 4];
        for c in (0..=u32::from(char::MAX)).filter_map(char::from_u32) {
            assert_eq!(
                is_tag_char(c),
                pattern.is_match(c.encode_utf8(&mut buf)),
                "{c:?} (U+{:04X})",
                u32::from(c)
            );
        }
    }

    #[test]
    fn names_follow_the_api_pattern() {
        assert!(check_name("Name", "my-source_01").is_ok());
        assert!(check_name("Name", &"a".repeat(60)).is_ok());
        assert!(check_name("Name", &"a".repeat(61))
            .unwrap_err()
            .to_string()
            .contains("1 to 60"));
        assert!(check_name("Name", "has space").unwrap_err().to_string().contains("' '"));
        assert!(check_name("Name", "émoji").is_err());
    }

    #[test]
    fn arns_are_parsed() {
        let arn = check_arn("ResourceArn", "arn:aws:cloudfront::123456789012:distribution/E1").unwrap();
        assert_eq!(arn.service, "cloudfront");
        assert_eq!(check_arn("X", "arn:aws:s3:::bucket").unwrap().resource, "bucket");
        assert!(check_arn("X", "arn:aws-cn:logs:cn-north-1:123456789012:delivery-destination:d").is_ok());
        for bad in [
            "bucket",
            "arn:aws:s3",
            "arn:aws::::x",
            "arn:foo:s3:::b",
            "arn:aws:s3:::",
            "arn:aws:logs:us-east-1:12:x:y",
            "arn:aws:s3:::a b",
        ] {
            let msg = check_arn("X", bad).unwrap_err().to_string();
            assert!(msg.starts_with("X: "), "{bad}: {msg}");
        }
    }
}
